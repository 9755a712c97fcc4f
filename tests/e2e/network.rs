//! Faults around the network and the process: one sync per database, kill -9 at any point, and
//! every kind of failing answer, each ending in a complete database with nothing lost and
//! nothing stored twice.

use std::collections::BTreeSet;
use std::fs::File;
use std::time::{Duration, Instant};

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
