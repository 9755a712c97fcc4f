//! Bungie's limit on: answers with every throttle code, with and without `ThrottleSeconds`. (The
//! fake's own limiter against dclisync's own pace is `sync.rs`'s pacing test.)
//!
//! What dclisync promises when Bungie throttles a request (codes 31, 35, 36, 37, 51, 54–57 and
//! 1672, whatever the HTTP status):
//! - that request is asked again only once the wait the answer named is over: `ThrottleSeconds`
//!   when above 0, else Bungie's usual 10 s;
//! - with a pace on (any `--max-rps` but 0), the answer also pauses every other request of the
//!   run for that wait, from when the answer came back: a request sent after it goes only once
//!   the pause is over. Requests already sent are not called back, and an answer that comes back
//!   while a pause is in force starts no new one (its own request still keeps its own wait).
//!   With the pace lifted (`--max-rps 0`) only the throttled request waits;
//! - the sync goes on and stores every report.
//!
//! The throttle runs use a pace far above Bungie's, so that the shared pause is in force but no
//! test waits on the pace itself, and one tracked player, so that the reports are the only
//! requests of the downloads.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::common::fake::{FakeOptions, FaultKind, LoggedRequest, PGCR_PATH_PREFIX, THROTTLE_CODES};
use crate::common::{data_dir, Checks, Db, Dclisync, FakeBungie, Output, World, WorldConfig, API_KEY};

/// Bungie's usual throttle wait, which dclisync keeps when a throttle answer names none.
const USUAL_WAIT: Duration = Duration::from_secs(10);
/// A pace far above Bungie's: on, so that a throttle pauses everyone, yet never waited on here.
const FAST_PACE: &str = "1000";
/// Requests in flight: more than the throttled reports, so that other reports are ready to go
/// while the throttled ones wait.
const CONCURRENCY: &str = "12";
/// Latency of every answer, so that all the throttled reports (the first ones fetched, sent a
/// pace's spacing apart) are on their way before the first throttle answer comes back.
const LATENCY: Duration = Duration::from_millis(50);
/// How long after a throttle answer left the fake a request sent before dclisync read that
/// answer may still arrive: the latency, and scheduling on a loaded machine.
const IN_FLIGHT_GRACE: Duration = Duration::from_millis(300);

/// The wait a throttle answer of the fake named, as dclisync must keep it.
fn wait_named(kind: Option<FaultKind>) -> Option<Duration> {
    match kind {
        Some(FaultKind::Throttle { seconds: 0, .. }) => Some(USUAL_WAIT),
        Some(FaultKind::Throttle { seconds, .. }) => Some(Duration::from_secs(seconds)),
        _ => None,
    }
}

/// One tracked player of the small world; its first reports fetched (newest first) are each
/// answered once with one of the throttle codes, whose `ThrottleSeconds` is `seconds(code)`.
/// Returns the fake, the data dir, the sync's output and the reports the player must have.
fn sync_through_throttles(seconds: impl Fn(i64) -> u64) -> (FakeBungie, tempfile::TempDir, Output, BTreeSet<i64>) {
    let options = FakeOptions { latency: LATENCY, ..FakeOptions::default() };
    let fake = FakeBungie::start_with(World::generate(&WorldConfig::small()), API_KEY, 0, options);
    let world = fake.world();
    let dir = data_dir();
    Dclisync::new(dir.path()).api(&fake).arg("-A").arg(world.players[0].bungie_name()).run().assert_success();
    let expected = world.expected_activity_ids_for(&[0]);
    for ((code, _, _), id) in THROTTLE_CODES.iter().zip(expected.iter().rev()) {
        let kind = FaultKind::Throttle { code: *code, seconds: seconds(*code) };
        fake.fail_next(kind, 1, &format!("{PGCR_PATH_PREFIX}{id}/"));
    }
    let out = Dclisync::new(dir.path())
        .api(&fake)
        .env("DCLISYNC_MAX_RPS", FAST_PACE)
        .env("DCLISYNC_CONCURRENCY", CONCURRENCY)
        .arg("--sync")
        .run();
    (fake, dir, out, expected)
}

/// Every code answered once, every report stored, nothing left queued.
fn check_completed(checks: &mut Checks, fake: &FakeBungie, dir: &std::path::Path, expected: &BTreeSet<i64>) {
    let throttles: usize =
        fake.faults_by_kind().iter().filter(|(k, _)| matches!(k, FaultKind::Throttle { .. })).map(|(_, n)| n).sum();
    checks.eq("throttle answers, one per code", throttles, THROTTLE_CODES.len());
    let db = Db::open(dir);
    checks.same_set("reports stored", &db.activity_ids(), expected);
    checks.eq("unsynced queue rows", db.unsynced_queue_rows(), 0);
}

/// Each throttled request is asked again, and not before its wait is over.
fn check_each_request_keeps_its_wait(checks: &mut Checks, log: &[LoggedRequest]) {
    for (i, throttled) in log.iter().enumerate() {
        let Some(wait) = wait_named(throttled.fault) else { continue };
        let again = log[i + 1..].iter().find(|r| r.path == throttled.path);
        let what = format!("{:?} on {}", throttled.fault, throttled.path);
        match again {
            None => checks.that(&what, false, || "never asked again".to_string()),
            Some(r) => checks.that(&what, r.at >= throttled.at + wait, || {
                format!("asked again {:?} after the answer; its wait was {wait:?}", r.at - throttled.at)
            }),
        }
    }
}

/// A throttle answer that comes back outside any pause starts one, as long as the shortest wait
/// named by the answers to the requests sent with it (those arriving within the grace); past
/// the grace, no request arrives before that pause is over.
fn check_everyone_pauses(checks: &mut Checks, log: &[LoggedRequest]) {
    let mut pause: Option<(Duration, Duration)> = None;
    let mut pauses = 0;
    for (i, r) in log.iter().enumerate() {
        if let Some((start, end)) = pause {
            let early = r.at >= start + IN_FLIGHT_GRACE && r.at < end;
            checks.that(&format!("nothing sent during the pause from {start:?}"), !early, || {
                format!("{} arrived at {:?}, {:?} before the pause ended", r.path_and_query(), r.at, end - r.at)
            });
        }
        if wait_named(r.fault).is_none() || pause.is_some_and(|(_, end)| r.at < end) {
            continue;
        }
        let shortest = log[i..]
            .iter()
            .take_while(|n| n.at < r.at + IN_FLIGHT_GRACE)
            .filter_map(|n| wait_named(n.fault))
            .min()
            .unwrap_or_default();
        pause = Some((r.at, r.at + shortest));
        pauses += 1;
    }
    checks.that("a throttle answer paused the run", pauses > 0, String::new);
}

/// A sync through one throttle answer of each code, `seconds(code)` its `ThrottleSeconds`: it
/// succeeds, every wait is kept, everyone pauses, and every report is stored.
fn every_wait_is_kept(seconds: impl Fn(i64) -> u64) {
    let (fake, dir, out, expected) = sync_through_throttles(seconds);
    out.assert_success();
    let log = fake.requests();
    let mut checks = Checks::new();
    check_each_request_keeps_its_wait(&mut checks, &log);
    check_everyone_pauses(&mut checks, &log);
    check_completed(&mut checks, &fake, dir.path(), &expected);
    checks.finish(&out);
}

#[test]
fn each_throttle_code_with_throttle_seconds_holds_back_its_request_and_pauses_everyone_for_that_long() {
    // 1 or 2 s by code, so that each request is seen to keep its own wait.
    every_wait_is_kept(|code| 1 + code as u64 % 2);
}

#[test]
fn each_throttle_code_without_throttle_seconds_is_waited_out_for_bungies_usual_wait() {
    every_wait_is_kept(|_| 0);
}
