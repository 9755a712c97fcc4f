//! Every kind of fault Bungie.net shows (timeouts, 5xx, HTML pages, broken JSON, throttling,
//! maintenance, a private player, a missing report) against the fake Bungie: each run ends with
//! the exit code and message that fault calls for, and the database is complete (after a rerun
//! where the fault stops the round), with nothing stored twice.

use std::time::Duration;

use crate::common::fake::{FakeOptions, FaultKind, PGCR_PATH_PREFIX};
use crate::common::{add_all, data_dir, sync, Checks, Db, Dclisync, FakeBungie, World, WorldConfig, API_KEY};

/// Every request under this prefix but the reports: profiles, account stats, histories.
const DESTINY_PREFIX: &str = "/Platform/Destiny2/";

fn tiny_fake(options: FakeOptions) -> (FakeBungie, tempfile::TempDir) {
    let fake = FakeBungie::start_with(World::generate(&WorldConfig::tiny()), API_KEY, 0, options);
    let dir = data_dir();
    add_all(dir.path(), &fake);
    (fake, dir)
}

/// The next request for the report of a match only one tracked player played gets 1653 (not
/// available); a shared match would be asked for again for the other player in the same run.
fn withhold_once(fake: &FakeBungie) {
    let world = fake.world();
    let shared = world.shared_activity_ids();
    let id = world.expected_activity_ids().into_iter().find(|id| !shared.contains(id)).expect("an unshared match");
    fake.fail_next(FaultKind::PgcrNotFound, 1, &format!("{PGCR_PATH_PREFIX}{id}/"));
}

/// Lines of stderr that contain `words` (any case).
fn lines_saying(out: &crate::common::Output, words: &str) -> usize {
    out.stderr.lines().filter(|l| l.to_lowercase().contains(words)).count()
}

/// The database holds every listed match once, and the queue is empty.
fn assert_complete(fake: &FakeBungie, dir: &std::path::Path, context: impl std::fmt::Display) {
    let world = fake.world();
    let db = Db::open(dir);
    let mut checks = Checks::new();
    checks.same_set("activity ids", &db.activity_ids(), &world.expected_activity_ids());
    checks.eq("character_activity_stats rows", db.stats_rows(), world.expected_stats_rows() as i64);
    checks.eq("unsynced queue rows", db.unsynced_queue_rows(), 0);
    checks.finish(context);
}

/// A passing fault, twice in a row on the first two reports and on the first two other
/// Destiny requests (a profile, then account stats or a history page): retried, and the run
/// completes with exit 0 and nothing said about it.
fn a_passing_fault_is_retried_and_the_run_completes(kind: FaultKind) {
    let options = FakeOptions { slow_delay: Duration::from_millis(1500), ..FakeOptions::default() };
    let (fake, dir) = tiny_fake(options);
    fake.fail_next(kind, 2, PGCR_PATH_PREFIX);
    fake.fail_next(kind, 2, DESTINY_PREFIX);
    let out = sync(dir.path(), &fake);
    out.assert_success();
    assert_eq!(fake.faults_by_kind().get(&kind), Some(&4), "the fake answered with {kind:?} four times\n{out}");
    assert!(!out.stderr_lower().contains("left queued for the next run"), "{out}");
    assert_complete(&fake, dir.path(), &out);
}

macro_rules! passing_fault_tests {
    ($($name:ident: $kind:expr,)*) => {$(
        #[test]
        fn $name() {
            a_passing_fault_is_retried_and_the_run_completes($kind);
        }
    )*};
}

passing_fault_tests! {
    html_500_is_retried: FaultKind::Html500,
    html_502_is_retried: FaultKind::Html502,
    html_503_is_retried: FaultKind::Html503,
    html_504_is_retried: FaultKind::Html504,
    http_503_with_retry_after_is_retried: FaultKind::Unavailable503RetryAfter,
    truncated_json_is_retried: FaultKind::TruncatedJson,
    invalid_json_is_retried: FaultKind::InvalidJson,
    error_1618_is_retried: FaultKind::Unexpected1618,
    another_throttle_code_is_waited_out_and_retried: FaultKind::Throttle36,
    a_slow_answer_is_waited_for: FaultKind::Slow,
}

#[test]
fn a_server_that_never_answers_times_out_and_the_request_is_retried() {
    let (fake, dir) = tiny_fake(FakeOptions::default());
    fake.fail_next(FaultKind::Hang, 1, PGCR_PATH_PREFIX);
    fake.fail_next(FaultKind::Hang, 1, DESTINY_PREFIX);
    let out = Dclisync::new(dir.path()).api(&fake).args(["--sync", "--timeout", "1"]).run();
    out.assert_success();
    assert!(out.elapsed < Duration::from_secs(20), "two timeouts of 1 s took {:?}", out.elapsed);
    assert_eq!(fake.faults_by_kind().get(&FaultKind::Hang), Some(&2));
    assert_complete(&fake, dir.path(), &out);
}

#[test]
fn an_unreachable_bungie_stops_the_round_quickly_with_one_message() {
    let (fake, dir) = tiny_fake(FakeOptions::default());
    // Nothing listens on the fake's port once it is gone.
    let root = fake.uri();
    drop(fake);
    let out = Dclisync::new(dir.path()).api_root(&root).key(API_KEY).arg("--sync").run();
    out.assert_code(1);
    let lower = out.stderr_lower();
    assert!(lower.contains("could not reach bungie.net"), "{out}");
    assert_eq!(lines_saying(&out, "could not reach"), 1, "one message, not one per player\n{out}");
    assert!(out.elapsed < Duration::from_secs(15), "gave up after {:?}", out.elapsed);
}

#[test]
fn maintenance_during_the_downloads_stops_the_round_with_one_message_and_a_rerun_completes() {
    let (fake, dir) = tiny_fake(FakeOptions::default());
    fake.fail_next(FaultKind::Maintenance, 10_000, PGCR_PATH_PREFIX);
    let out = sync(dir.path(), &fake);
    out.assert_code(1);
    assert_eq!(lines_saying(&out, "maintenance"), 1, "one message\n{out}");
    let requested = fake.pgcr_requests();
    assert!(requested <= 12, "the round stopped at once, not after {requested} report requests\n{out}");
    let db = Db::open(dir.path());
    assert_eq!(db.scalar("SELECT COUNT(*) FROM dclisync_attempt"), 0, "maintenance is not a failure of a match");
    assert!(db.unsynced_queue_rows() > 0);

    fake.heal();
    sync(dir.path(), &fake).assert_success();
    assert_complete(&fake, dir.path(), &out);
}

#[test]
fn when_a_round_stops_the_walk_run_ahead_for_the_next_player_is_not_recorded() {
    let (fake, dir) = tiny_fake(FakeOptions::default());
    assert!(fake.world().players.len() >= 2, "the round needs a next player");
    // The next player's history is walked while the first player's reports download; those
    // downloads meet maintenance, so the round ends and that walk must leave nothing behind.
    fake.fail_next(FaultKind::Maintenance, 10_000, PGCR_PATH_PREFIX);
    let out = sync(dir.path(), &fake);
    out.assert_code(1);
    let db = Db::open(dir.path());
    let players_queued = db.scalar(
        "SELECT COUNT(DISTINCT c.member_id) FROM activity_queue q
         JOIN dclisync_character c ON c.character_id = q.character",
    );
    assert_eq!(players_queued, 1, "only the first player's walk is recorded\n{out}");
    let players_walked =
        db.scalar("SELECT COUNT(DISTINCT member_id) FROM dclisync_character WHERE history_marker IS NOT NULL");
    assert!(players_walked <= 1, "no other player has a walk marker\n{out}");

    fake.heal();
    sync(dir.path(), &fake).assert_success();
    assert_complete(&fake, dir.path(), &out);
}

#[test]
fn maintenance_at_the_first_request_stops_the_round() {
    let (fake, dir) = tiny_fake(FakeOptions::default());
    fake.fail_next(FaultKind::Maintenance, 10_000, DESTINY_PREFIX);
    let out = sync(dir.path(), &fake);
    out.assert_code(1);
    assert_eq!(lines_saying(&out, "maintenance"), 1, "one message\n{out}");
    assert_eq!(fake.requests().iter().filter(|r| r.fault == Some(FaultKind::Maintenance)).count(), 1, "{out}");
}

#[test]
fn a_private_player_is_skipped_naming_the_setting_and_the_others_are_synced() {
    let (fake, dir) = tiny_fake(FakeOptions::default());
    // The first player's histories answer 1665, as Bungie does for a hidden activity feed.
    let world = fake.world();
    let first = &world.players[0];
    let histories = format!(
        "/Platform/Destiny2/{}/Account/{}/Character/",
        first.primary.membership_type, first.primary.membership_id
    );
    fake.fail_next(FaultKind::Privacy, 10_000, &histories);
    let out = sync(dir.path(), &fake);
    out.assert_code(1);
    let lower = out.stderr_lower();
    assert!(lower.contains("skipping") && lower.contains(&first.name.to_lowercase()), "{out}");
    assert!(out.stderr.contains("Show my Destiny game Activity feed on Bungie.net"), "{out}");
    let others: Vec<usize> = (1..fake.world().players.len()).collect();
    let stored = Db::open(dir.path()).activity_ids();
    let expected = fake.world().expected_activity_ids_for(&others);
    assert!(expected.is_subset(&stored), "the other players' matches are stored\n{out}");
}

#[test]
fn a_report_bungie_does_not_have_stays_queued_with_its_error_and_a_rerun_stores_it() {
    let (fake, dir) = tiny_fake(FakeOptions::default());
    withhold_once(&fake);
    let out = sync(dir.path(), &fake);
    out.assert_success();
    assert!(out.stderr_lower().contains("left queued"), "{out}");
    let db = Db::open(dir.path());
    assert_eq!(db.activity_ids().len() + 1, fake.world().expected_activity_ids().len());
    assert_eq!(
        db.scalar("SELECT COUNT(*) FROM dclisync_attempt WHERE attempts = 1 AND last_error LIKE '%match report%'"),
        1
    );
    assert_eq!(fake.faults_by_kind().get(&FaultKind::PgcrNotFound), Some(&1), "1653 is not retried in the same run");

    let rerun = sync(dir.path(), &fake);
    rerun.assert_success();
    assert_complete(&fake, dir.path(), &rerun);
    assert_eq!(
        Db::open(dir.path()).scalar("SELECT COUNT(*) FROM dclisync_attempt"),
        0,
        "a stored match has no attempts left"
    );
}

/// With 5 % of all requests failing at random, mixing every passing kind, one run stores all.
#[test]
fn with_five_percent_of_requests_failing_at_random_one_run_stores_everything() {
    let options = FakeOptions {
        fault_rate: 0.05,
        fault_seed: 11,
        slow_delay: Duration::from_millis(500),
        ..FakeOptions::default()
    };
    let fake = FakeBungie::start_with(World::generate(&WorldConfig::small()), API_KEY, 0, options);
    let dir = data_dir();
    add_all(dir.path(), &fake);
    let out = Dclisync::new(dir.path()).api(&fake).arg("--sync").timeout(Duration::from_secs(90)).run();
    out.assert_success();
    assert!(fake.faults_injected() > 5, "the fake injected only {} faults", fake.faults_injected());
    assert_complete(&fake, dir.path(), format!("{:?}\n{out}", fake.faults_by_kind()));
}

/// A match that failed in 10 runs is stuck: left queued and not asked for again within a day,
/// counted in the player's line; a day after its last try it is tried again and stored.
#[test]
fn a_stuck_match_is_tried_once_a_day_not_every_round() {
    let (fake, dir) = tiny_fake(FakeOptions::default());
    withhold_once(&fake);
    sync(dir.path(), &fake).assert_success();
    let stuck_id = Db::open(dir.path()).scalar("SELECT activity_id FROM dclisync_attempt");
    let conn = rusqlite::Connection::open(crate::common::db_path(dir.path())).expect("open the database");
    let failed_runs = |last_attempt: &str| {
        conn.execute("UPDATE dclisync_attempt SET attempts = 10, last_attempt = ?1", [last_attempt]).expect("update");
    };

    failed_runs(&dclisync::shell::clock::now_text());
    let mark = fake.mark();
    let out = sync(dir.path(), &fake);
    out.assert_success();
    let asked: Vec<String> = fake.requests_since(mark).iter().filter(|r| r.is_pgcr()).map(|r| r.path.clone()).collect();
    assert!(asked.is_empty(), "a stuck match tried less than a day after its last try: {asked:?}\n{out}");
    assert!(out.stdout.contains("1 stuck"), "the player's line counts it\n{out}");
    assert!(!Db::open(dir.path()).activity_ids().contains(&stuck_id));

    failed_runs(&dclisync::core::time::format_utc(
        dclisync::core::time::parse_rfc3339(&dclisync::shell::clock::now_text()).unwrap() - 86_401,
    ));
    let out = sync(dir.path(), &fake);
    out.assert_success();
    assert_complete(&fake, dir.path(), &out);
    assert_eq!(Db::open(dir.path()).scalar("SELECT COUNT(*) FROM dclisync_attempt"), 0, "{out}");
}
