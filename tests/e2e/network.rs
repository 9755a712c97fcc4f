//! Faults around the network and the process: one sync per database, kill -9 at any point, and
//! every kind of failing answer, each ending in a complete database with nothing lost and
//! nothing stored twice.

use std::collections::BTreeSet;
use std::fs::File;
use std::time::{Duration, Instant};

use crate::common::fake::FakeOptions;
use crate::common::{
    add_all, clean_run, data_dir, sync, Checks, Db, Dclisync, FakeBungie, World, WorldConfig, API_KEY,
};

/// Waits until `ready` holds or the run ends; false when it ran out of time.
fn wait_for(running: &mut crate::common::Running, mut ready: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ready() {
        if running.has_exited() || Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    true
}

#[test]
fn a_second_sync_of_the_same_database_stops_naming_the_lock_and_changes_nothing() {
    let fake = FakeBungie::start(World::generate(&WorldConfig::tiny()), API_KEY);
    let dir = data_dir();
    add_all(dir.path(), &fake);
    let lock_file = dir.path().join("dcli.sqlite3.lock");
    let holder = File::create(&lock_file).expect("lock file");
    holder.try_lock().expect("the test holds the lock");

    let mark = fake.mark();
    let out = sync(dir.path(), &fake);
    out.assert_code(1);
    assert!(out.stderr.contains("dcli.sqlite3.lock") && out.stderr_lower().contains("another dclisync"), "{out}");
    assert!(fake.requests_since(mark).is_empty(), "a locked-out sync must not talk to Bungie\n{out}");
    assert_eq!(Db::open(dir.path()).activity_ids().len(), 0);

    // Listing and adding never need the lock.
    Dclisync::new(dir.path()).arg("--list").run().assert_success();
    drop(holder);
    sync(dir.path(), &fake).assert_success();
    assert_eq!(Db::open(dir.path()).activity_ids(), fake.world().expected_activity_ids());
}

#[test]
fn two_syncs_started_together_fetch_every_report_once() {
    let fake = FakeBungie::start(World::generate(&WorldConfig::small()), API_KEY);
    let dir = data_dir();
    add_all(dir.path(), &fake);
    let mut first = Dclisync::new(dir.path()).api(&fake).arg("--sync").spawn();
    assert!(wait_for(&mut first, || fake.pgcrs_served() > 0), "the first sync never started downloading");
    let second = sync(dir.path(), &fake);
    let first = first.wait();
    first.assert_success();
    second.assert_code(1);
    assert!(second.stderr.contains("dcli.sqlite3.lock"), "{second}");

    let requested = fake.pgcr_ids_requested();
    let unique: BTreeSet<&String> = requested.iter().collect();
    assert_eq!(unique.len(), requested.len(), "a report was fetched twice");
    assert_eq!(Db::open(dir.path()).activity_ids(), fake.world().expected_activity_ids());
}

/// kill -9 during the history walk, right after the first report, a third of the way and two
/// thirds of the way; then one run to the end. The database equals one clean run's, and no
/// report stored by an earlier run is fetched again.
#[test]
fn kill_9_at_several_points_then_a_rerun_ends_in_the_same_database_as_one_clean_run() {
    let config = WorldConfig::small();
    let (clean_dir, _clean_fake) = clean_run(&config);
    let reference = Db::open(clean_dir.path()).dump();

    let fake = FakeBungie::start(World::generate(&config), API_KEY);
    let total = fake.world().expected_activity_ids().len();
    let dir = data_dir();
    add_all(dir.path(), &fake);
    let points: [(&str, usize); 4] = [
        ("during the history walk", 0),
        ("after the first report", 1),
        ("a third in", total / 3),
        ("two thirds in", total * 2 / 3),
    ];
    let mut checks = Checks::new();
    let mut log = String::new();
    for (what, served) in points {
        let already = Db::open(dir.path()).activity_ids();
        let mark = fake.mark();
        let start_served = fake.pgcrs_served();
        let mut running = Dclisync::new(dir.path()).api(&fake).arg("--sync").spawn();
        let reached = if served == 0 {
            wait_for(&mut running, || fake.requests_since(mark).iter().any(|r| r.is_history()))
        } else {
            // Reports served in all runs so far; every run must get at least one further.
            wait_for(&mut running, || fake.pgcrs_served() >= served.max(start_served + 1))
        };
        let out = running.kill();
        checks.that(&format!("killed {what}"), reached && out.killed, || format!("{out}"));
        let refetched: Vec<String> = fake
            .requests_since(mark)
            .iter()
            .filter(|r| r.is_pgcr() && already.iter().any(|id| r.path.contains(&format!("/{id}/"))))
            .map(|r| r.path.clone())
            .collect();
        checks.that(&format!("no stored report fetched again ({what})"), refetched.is_empty(), || {
            format!("{refetched:?}")
        });
        let db = Db::open(dir.path());
        log.push_str(&format!("{what}: {} stored, {} queued\n", db.activity_ids().len(), db.unsynced_queue_rows()));
    }
    let last = sync(dir.path(), &fake);
    last.assert_success();
    let resumed = Db::open(dir.path()).dump();
    checks.that("the database equals one clean run", reference == resumed, || {
        reference.diff(&resumed).unwrap_or_default()
    });
    checks.eq("unsynced queue rows", Db::open(dir.path()).unsynced_queue_rows(), 0);
    checks.finish(format!("{log}\n{last}"));
}

/// The dcli tables whose rows belong to one activity, each read with the activity first.
const ACTIVITY_TABLES: [&str; 6] =
    ["activity", "modes", "team_result", "character_activity_stats", "weapon_result", "medal_result"];

/// The rows of [`ACTIVITY_TABLES`] that belong to the activities `ids`, as (table, row).
fn rows_of(dump: &dclisync_testkit::db::Dump, ids: &BTreeSet<i64>) -> BTreeSet<(&'static str, String)> {
    let activity = |row: &str| row.split(" | ").next().and_then(|c| c.strip_prefix("i:")?.parse::<i64>().ok());
    ACTIVITY_TABLES
        .iter()
        .flat_map(|table| {
            dump.rows(table)
                .iter()
                .filter(|row| activity(row).is_some_and(|id| ids.contains(&id)))
                .map(|row| (*table, row.clone()))
        })
        .collect()
}

/// Checks that every report of the database at `dir` is stored whole or not at all: a stored
/// report has every row a clean run gives it, its queue rows marked synced, its archive copy
/// and its fetch record; a report not stored has no queue row marked synced.
fn check_whole_or_queued(
    checks: &mut Checks,
    what: &str,
    dir: &std::path::Path,
    reference: &dclisync_testkit::db::Dump,
) {
    let db = Db::open(dir);
    let stored = db.activity_ids();
    let unmarked = db.i64s(
        "SELECT DISTINCT q.activity_id FROM activity_queue q JOIN activity a ON a.activity_id = q.activity_id
          WHERE q.synced = 0",
    );
    checks.that(&format!("{what}: stored reports have their queue marks"), unmarked.is_empty(), || {
        format!("stored, yet still queued: {unmarked:?}")
    });
    let marked_not_stored = db.i64s(
        "SELECT DISTINCT activity_id FROM activity_queue q
          WHERE synced = 1 AND NOT EXISTS (SELECT 1 FROM activity a WHERE a.activity_id = q.activity_id)",
    );
    checks.that(&format!("{what}: no queue mark without its report"), marked_not_stored.is_empty(), || {
        format!("marked synced, not stored: {marked_not_stored:?}")
    });
    let no_copy = db.i64s(
        "SELECT activity_id FROM activity a
          WHERE NOT EXISTS (SELECT 1 FROM dclisync_archive z WHERE z.activity_id = a.activity_id)
             OR NOT EXISTS (SELECT 1 FROM dclisync_report r WHERE r.activity_id = a.activity_id)",
    );
    checks.that(&format!("{what}: stored reports have their archive copy and fetch"), no_copy.is_empty(), || {
        format!("without: {no_copy:?}")
    });
    let (have, want) = (rows_of(&db.dump(), &stored), rows_of(reference, &stored));
    checks.that(&format!("{what}: stored reports have all their rows"), have == want, || {
        let missing: Vec<_> = want.difference(&have).take(3).collect();
        let extra: Vec<_> = have.difference(&want).take(3).collect();
        format!("missing {missing:?}, not expected {extra:?}")
    });
}

/// kill -9 during batches of downloaded reports, four times over: as soon as a batch of the
/// run is seen committed, and once more reports have been downloaded after it and are held.
/// At every kill each report is stored whole (rows, queue marks, archive copy, fetch record)
/// or not at all and still queued; the reports downloaded but not yet committed are lost and
/// fetched again. Then one run to the end equals one clean run.
#[test]
fn kill_9_during_a_batch_leaves_every_report_stored_whole_or_queued() {
    let config = WorldConfig { public_matches_per_character: 25, ..WorldConfig::small() };
    let (clean_dir, _clean_fake) = clean_run(&config);
    let reference = Db::open(clean_dir.path()).dump();

    // Answers slow enough, and a world big enough (some 330 reports), that every run still has
    // most of its reports to go when it is killed, on a loaded machine too; four requests in
    // flight, so that a batch holds a score of reports (a commit takes long enough to be hit).
    let options = FakeOptions { latency: Duration::from_millis(25), ..FakeOptions::default() };
    let fake = FakeBungie::start_with(World::generate(&config), API_KEY, 0, options);
    let dir = data_dir();
    add_all(dir.path(), &fake);
    let mut checks = Checks::new();
    let mut log = String::new();
    // Killed as soon as a batch of the run is seen committed, or once more reports have been
    // downloaded after it and are held for the next batch.
    let kills: [(&str, usize); 4] =
        [("as a batch lands", 0), ("with reports held", 3), ("as a batch lands", 0), ("with reports held", 3)];
    for (kill, (what, more)) in kills.into_iter().enumerate() {
        let what = format!("kill {} ({what})", kill + 1);
        let stored_before = Db::open(dir.path()).activity_ids().len();
        let mut running = Dclisync::new(dir.path()).api(&fake).args(["--concurrency", "4", "--sync"]).spawn();
        let committed = wait_for(&mut running, || Db::open(dir.path()).activity_ids().len() > stored_before);
        let served = fake.pgcrs_served();
        let reached = committed && wait_for(&mut running, || fake.pgcrs_served() >= served + more);
        let out = running.kill();
        checks.that(&format!("{what} came during the run"), reached && out.killed, || format!("{out}"));
        check_whole_or_queued(&mut checks, &what, dir.path(), &reference);
        let db = Db::open(dir.path());
        log.push_str(&format!(
            "{what}: {} stored, {} queue rows unsynced, {} reports served so far\n",
            db.activity_ids().len(),
            db.unsynced_queue_rows(),
            fake.pgcrs_served()
        ));
    }
    let stored = Db::open(dir.path()).activity_ids();
    checks.that("the kills left reports queued", stored.len() < fake.world().expected_activity_ids().len(), || {
        format!("{} stored", stored.len())
    });
    let last = sync(dir.path(), &fake);
    last.assert_success();
    let resumed = Db::open(dir.path()).dump();
    checks.that("the database equals one clean run", reference == resumed, || {
        reference.diff(&resumed).unwrap_or_default()
    });
    checks.finish(format!("{log}\n{last}"));
}
