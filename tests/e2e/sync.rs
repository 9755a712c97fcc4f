//! `--sync`: a complete first sync, an idle second one, and runs stopped half-way that must end
//! in the same database as one clean run.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use crate::common::{
    add_all, clean_run, data_dir, sync, Checks, Db, Dclisync, FakeBungie, World, WorldConfig, API_KEY,
};

#[test]
fn a_full_sync_stores_every_listed_match_once_and_never_a_gambit_private_match() {
    let fake = FakeBungie::start(World::generate(&WorldConfig::default()), API_KEY);
    let world = fake.world();
    let dir = data_dir();
    add_all(dir.path(), &fake);

    let out = sync(dir.path(), &fake);
    out.assert_success();

    let db = Db::open(dir.path());
    let mut checks = Checks::new();
    let expected_ids = world.expected_activity_ids();
    let stored_ids = db.activity_ids();
    checks.same_set("activity ids", &stored_ids, &expected_ids);
    checks.eq("character_activity_stats rows", db.stats_rows(), world.expected_stats_rows() as i64);
    let gambit_stored: Vec<i64> = stored_ids.intersection(&world.gambit_private_ids()).copied().collect();
    checks.that("no Gambit private match stored", gambit_stored.is_empty(), || format!("{gambit_stored:?}"));
    let requested = fake.pgcr_ids_requested();
    let gambit_requested: Vec<&String> =
        requested.iter().filter(|id| world.gambit_private_ids().contains(&id.parse().unwrap())).collect();
    checks.that("no Gambit private report requested", gambit_requested.is_empty(), || format!("{gambit_requested:?}"));
    let shared = world.shared_activity_ids();
    checks.that("every shared match stored", shared.is_subset(&stored_ids), || {
        format!("{} of {} missing", shared.difference(&stored_ids).count(), shared.len())
    });
    let mut times_requested: BTreeMap<&str, usize> = BTreeMap::new();
    for id in &requested {
        *times_requested.entry(id).or_default() += 1;
    }
    let refetched: Vec<_> = times_requested.iter().filter(|(_, n)| **n > 1).collect();
    checks.that("every report fetched once (shared ones too)", refetched.is_empty(), || {
        format!("{} fetched more than once, e.g. {:?}", refetched.len(), &refetched[..refetched.len().min(5)])
    });
    checks.eq("version table", db.version_values(), vec![10]);
    checks.eq("unsynced activity_queue rows", db.unsynced_queue_rows(), 0);
    checks.same_set("member ids", &db.member_ids(), &world.expected_members());
    checks.same_set("character ids", &db.character_ids(), &world.expected_characters());
    let tracked: BTreeSet<i64> = world.players.iter().map(|p| p.member_id()).collect();
    checks.same_set("sync list (sync.member)", &db.sync_members(), &tracked);

    let expected_activities = world.expected_activities();
    let wrong_rows: Vec<_> = db
        .activities()
        .into_iter()
        .filter(|(id, row)| expected_activities.get(id).is_some_and(|e| e != row))
        .map(|(id, row)| (id, row, expected_activities[&id].clone()))
        .collect();
    checks.that("activity rows (period as YYYY-MM-DDTHH:MM:SS+00:00, platform, hashes)", wrong_rows.is_empty(), || {
        format!("{} differ, e.g. (id, stored, expected) {:?}", wrong_rows.len(), wrong_rows.first())
    });
    let expected_fireteams = world.expected_fireteams();
    let wrong_fireteams: Vec<_> = db
        .fireteams()
        .into_iter()
        .filter(|(key, text)| expected_fireteams.get(key).is_some_and(|e| e != text))
        .map(|(key, text)| (key, text, expected_fireteams[&key].clone()))
        .collect();
    checks.that("fireteam_id is the float's integer part as plain text", wrong_fireteams.is_empty(), || {
        format!("{} differ, e.g. (key, stored, expected) {:?}", wrong_fireteams.len(), wrong_fireteams.first())
    });

    let requests = fake.requests();
    let bad_agents: BTreeSet<Option<String>> = requests
        .iter()
        .filter(|r| !r.user_agent.as_deref().is_some_and(|ua| ua.to_lowercase().contains("dclisync")))
        .map(|r| r.user_agent.clone())
        .collect();
    checks.that("every request's User-Agent names dclisync", bad_agents.is_empty(), || format!("{bad_agents:?}"));
    checks.finish(format!("{} requests ({} PGCR) in {:.1?}\n{out}", requests.len(), requested.len(), out.elapsed));
}

#[test]
fn a_second_sync_right_after_the_first_requests_no_report() {
    let (dir, fake) = clean_run(&WorldConfig::small());
    let before = Db::open(dir.path()).dump();
    let mark = fake.mark();

    let out = sync(dir.path(), &fake);
    out.assert_success();

    let since = fake.requests_since(mark);
    let pgcrs: Vec<String> = since.iter().filter(|r| r.is_pgcr()).map(|r| r.path.clone()).collect();
    assert!(pgcrs.is_empty(), "second sync fetched {} reports: {pgcrs:?}\n{out}", pgcrs.len());
    let after = Db::open(dir.path()).dump();
    assert_eq!(before.diff(&after), None, "an idle sync changed stored data");
}

#[test]
fn a_second_sync_of_idle_players_asks_for_no_history() {
    let (dir, fake) = clean_run(&WorldConfig::small());
    let mark = fake.mark();

    let out = sync(dir.path(), &fake);
    out.assert_success();

    // No character played since, so nothing new can be listed: no history page is needed.
    let since = fake.requests_since(mark);
    let history: Vec<String> = since.iter().filter(|r| r.is_history()).map(|r| r.path_and_query()).collect();
    assert!(
        history.is_empty(),
        "{} history requests for idle players ({} requests in all), e.g. {:?}\n{out}",
        history.len(),
        since.len(),
        history.first()
    );
}

/// Sync until the fake has served about half the reports, stop the run with `stop`, heal, sync
/// again, and compare with one clean run of an identical world.
fn resume_matches_a_clean_run(
    config: &WorldConfig,
    stop: impl FnOnce(&FakeBungie, &std::path::Path, usize) -> crate::common::Output,
) {
    let (clean_dir, _clean_fake) = clean_run(config);
    let reference = Db::open(clean_dir.path()).dump();

    let fake = FakeBungie::start(World::generate(config), API_KEY);
    let expected = fake.world().expected_activity_ids();
    let dir = data_dir();
    add_all(dir.path(), &fake);
    let half = expected.len() / 2;

    let first = stop(&fake, dir.path(), half);
    let served_first = fake.pgcrs_served();
    let stored_first = Db::open(dir.path()).activity_ids();
    assert!(
        !stored_first.is_empty() && stored_first.len() < expected.len(),
        "the first run was not stopped half-way: {} of {} stored\n{first}",
        stored_first.len(),
        expected.len()
    );

    fake.heal();
    let mark = fake.mark();
    let second = sync(dir.path(), &fake);
    second.assert_success();

    let resumed = Db::open(dir.path()).dump();
    let mut checks = Checks::new();
    checks.that("resumed database equals one clean run", reference == resumed, || {
        reference.diff(&resumed).unwrap_or_default()
    });
    let refetched: Vec<String> = fake
        .requests_since(mark)
        .iter()
        .filter(|r| r.is_pgcr())
        .map(|r| r.path.clone())
        .filter(|p| stored_first.iter().any(|id| p.contains(&format!("/{id}/"))))
        .collect();
    checks.that("reports stored by the first run are not fetched again", refetched.is_empty(), || {
        format!("{} refetched, e.g. {:?}", refetched.len(), refetched.first())
    });
    checks.finish(format!(
        "first run stored {} of {} ({} served):\n{first}\n\nsecond run:\n{second}",
        stored_first.len(),
        expected.len(),
        served_first
    ));
}

#[test]
fn a_sync_stopped_half_way_by_a_failing_server_resumes_to_the_same_database_as_one_clean_run() {
    resume_matches_a_clean_run(&WorldConfig::small(), |fake, dir, half| {
        fake.fail_pgcrs_after(half);
        // As many reports in flight as failures in a row mean "Bungie.net is down": the run
        // gives up after one wave of retries instead of two.
        let out = Dclisync::new(dir).api(fake).args(["--sync", "--concurrency", "16"]).run();
        // Either "some left queued" (0) or "API down in a one-off run" (1) is acceptable.
        assert!(
            matches!(out.code, Some(0) | Some(1)) && !out.timed_out,
            "a run against a failing server must end with 0 or 1\n{out}"
        );
        eprintln!(
            "failing-server run: exit {:?} after {:.1?}, {} PGCR requests",
            out.code,
            out.elapsed,
            fake.pgcr_requests()
        );
        out
    });
}

#[test]
fn a_sync_killed_mid_run_resumes_to_the_same_database_as_one_clean_run() {
    resume_matches_a_clean_run(&WorldConfig::small(), |fake, dir, half| {
        let mut running = Dclisync::new(dir).api(fake).arg("--sync").spawn();
        let deadline = Instant::now() + Duration::from_secs(30);
        while fake.pgcrs_served() < half && !running.has_exited() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
        let out = running.kill();
        assert!(out.killed, "the run ended before it could be killed\n{out}");
        out
    });
}

#[test]
fn with_dcli_fix_data_nameless_players_are_stored_under_their_real_names() {
    let fake = FakeBungie::start(World::generate(&WorldConfig::small()), API_KEY);
    let world = fake.world();
    let dir = data_dir();
    add_all(dir.path(), &fake);

    let out = Dclisync::new(dir.path()).api(&fake).env("DCLI_FIX_DATA", "True").arg("--sync").run();
    out.assert_success();

    let stored = world.expected_members();
    let nameless: Vec<_> = world
        .opponents
        .iter()
        .filter(|o| o.nameless_in_reports && stored.contains(&o.membership_id.parse().unwrap()))
        .collect();
    assert!(!nameless.is_empty(), "the world should put nameless players in reports");
    let db = Db::open(dir.path());
    let mut checks = Checks::new();
    for o in nameless {
        let row = db.member(o.membership_id.parse().unwrap());
        let expected = [o.membership_type.to_string(), o.name.clone(), o.name.clone(), format!("{:04}", o.code)];
        // display_name may be whatever the platform calls them; the rest is from Bungie.
        checks.that(
            &format!("member {}", o.membership_id),
            row.as_ref().is_some_and(|r| r[0] == expected[0] && r[2] == expected[2] && r[3] == expected[3]),
            || format!("stored {row:?}, expected platform/name/code {expected:?}"),
        );
    }
    checks.finish(&out);
}

#[test]
fn without_dcli_fix_data_no_membership_is_looked_up() {
    let (_dir, fake) = clean_run(&WorldConfig::small());
    let lookups = fake.request_count_matching("/Platform/User/GetMembershipsById/");
    assert_eq!(lookups, 0, "GetMembershipsById called without DCLI_FIX_DATA");
}
