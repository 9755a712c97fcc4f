//! The archive and `--reparse`: every downloaded report is kept, a new rule reaches the stored
//! rows with no key and no request, a second reparse writes nothing, a reparse never runs
//! beside a sync (it refuses while one holds the database), a killed reparse finishes on the
//! rerun as if never stopped, and a report whose copy is kept is never downloaded again (with
//! DCLI_FIX_DATA, its nameless players are still looked up).

use std::path::Path;
use std::time::Duration;

use dclisync_testkit::fake::FaultKind;
use dclisync_testkit::oracle::expected_tables;

use crate::common::{add_all, data_dir, db_path, Db, Dclisync, FakeBungie, World, WorldConfig, API_KEY};

/// Every public match stored as a made-up mode 999.
const PUBLIC_AS_999: &str = "[[rule]]\nprivate = false\nset = 999\n";

fn sync_all(dir: &Path, fake: &FakeBungie, extra: &[&str]) {
    add_all(dir, fake);
    Dclisync::new(dir).api(fake).args(["--sync", "--max-rps", "0"]).args(extra).run().assert_success();
}

fn reparse(dir: &Path) -> crate::common::Output {
    let out = Dclisync::new(dir).arg("--reparse").run();
    out.assert_success();
    out
}

/// The database's bytes: the file and its write-ahead log.
fn database_bytes(dir: &Path) -> Vec<Vec<u8>> {
    let db = db_path(dir);
    let wal = db.with_file_name("dcli.sqlite3-wal");
    [db, wal].iter().map(|p| std::fs::read(p).unwrap_or_default()).collect()
}

fn public_count(db: &Db) -> i64 {
    db.scalar("SELECT COUNT(*) FROM activity WHERE activity_id NOT IN (SELECT activity FROM modes WHERE mode = 32)")
}

#[test]
fn a_new_rule_reaches_stored_rows_by_reparse_without_bungie_and_a_second_reparse_writes_nothing() {
    let fake = FakeBungie::start(World::generate(&WorldConfig::tiny()), API_KEY);
    let dir = data_dir();
    sync_all(dir.path(), &fake, &[]);
    let db = Db::open(dir.path());
    let stored = db.count("activity");
    assert_eq!(db.scalar("SELECT COUNT(*) FROM dclisync_archive"), stored, "every report archived");
    let public = public_count(&db);
    assert_eq!(db.scalar("SELECT COUNT(*) FROM activity WHERE mode = 999"), 0);
    drop(db);

    std::fs::write(dir.path().join("fixups.toml"), PUBLIC_AS_999).expect("write rules");
    let mark = fake.mark();
    let first = reparse(dir.path());
    assert_eq!(fake.requests_since(mark).len(), 0, "a reparse asks Bungie nothing");
    assert!(
        first
            .stdout
            .contains(&format!("{stored} reports reparsed, {public} changed, 0 stored without an archive copy")),
        "{first}"
    );
    let db = Db::open(dir.path());
    assert_eq!(
        db.scalar("SELECT COUNT(*) FROM activity WHERE mode = 999"),
        public,
        "the rule reached every public match"
    );
    drop(db);

    let before = database_bytes(dir.path());
    let second = reparse(dir.path());
    assert!(second.stdout.contains(&format!("{stored} reports reparsed, 0 changed")), "{second}");
    assert!(database_bytes(dir.path()) == before, "a second reparse leaves the database's bytes as they were");
}

#[test]
fn a_reparse_refuses_while_a_sync_holds_the_database_and_changes_nothing() {
    let fake = FakeBungie::start(World::generate(&WorldConfig::tiny()), API_KEY);
    let dir = data_dir();
    sync_all(dir.path(), &fake, &[]);
    std::fs::write(dir.path().join("fixups.toml"), PUBLIC_AS_999).expect("write rules");
    // The lock a running sync holds.
    let holder = std::fs::File::create(dir.path().join("dcli.sqlite3.lock")).expect("lock file");
    holder.try_lock().expect("the test holds the lock");
    let before = Db::open(dir.path()).dump();
    let out = Dclisync::new(dir.path()).arg("--reparse").run();
    out.assert_code(1);
    assert!(out.stderr.contains("dcli.sqlite3.lock") && out.stderr_lower().contains("another dclisync"), "{out}");
    assert_eq!(Db::open(dir.path()).dump().diff(&before), None, "nothing reparsed while the lock is held");
    drop(holder);
    reparse(dir.path());
    assert!(Db::open(dir.path()).scalar("SELECT COUNT(*) FROM activity WHERE mode = 999") > 0, "reparsed once free");
}

#[test]
fn a_reparsed_database_equals_one_synced_with_the_rules_in_force() {
    let fake = FakeBungie::start(World::generate(&WorldConfig::tiny()), API_KEY);
    // A new primary mode for public matches, and one mode fewer for private ones: the reparse
    // writes again only the activity and modes rows, and they must come out as a sync makes them.
    let rules = format!("{PUBLIC_AS_999}[[rule]]\nprivate = true\ndrop = [32]\nadd = [998]\n");
    let reparsed = data_dir();
    sync_all(reparsed.path(), &fake, &[]);
    std::fs::write(reparsed.path().join("fixups.toml"), &rules).expect("write rules");
    reparse(reparsed.path());
    let synced = data_dir();
    std::fs::write(synced.path().join("fixups.toml"), &rules).expect("write rules");
    sync_all(synced.path(), &fake, &[]);
    let (reparsed, synced) = (Db::open(reparsed.path()), Db::open(synced.path()));
    assert!(synced.scalar("SELECT COUNT(*) FROM modes WHERE mode = 998") > 0, "the private rule matched");
    assert_eq!(reparsed.dump().diff(&synced.dump()), None, "reparsed = synced today");
}

#[test]
fn a_reparse_killed_midway_then_rerun_equals_one_never_stopped() {
    let fake = FakeBungie::start(
        World::generate(&WorldConfig { public_matches_per_character: 80, ..WorldConfig::small() }),
        API_KEY,
    );
    let killed = data_dir();
    sync_all(killed.path(), &fake, &[]);
    std::fs::write(killed.path().join("fixups.toml"), PUBLIC_AS_999).expect("write rules");
    let whole = data_dir();
    std::fs::copy(killed.path().join("fixups.toml"), whole.path().join("fixups.toml")).expect("copy the rules");
    rusqlite::Connection::open(db_path(killed.path()))
        .and_then(|c| c.execute("VACUUM INTO ?1", [db_path(whole.path()).to_string_lossy()]))
        .expect("copy the database");
    reparse(whole.path());

    let public = public_count(&Db::open(killed.path()));
    let reparsed = |dir: &Path| Db::open(dir).scalar("SELECT COUNT(*) FROM activity WHERE mode = 999");
    let copies = Db::open(killed.path()).scalar("SELECT COUNT(*) FROM dclisync_archive");
    assert!(copies > 600, "{copies} copies: too few for a reparse of several transactions (500 copies each)");

    // Killed as soon as its first transaction is seen committed: part way through the run.
    let mut running = Dclisync::new(killed.path()).arg("--reparse").spawn();
    let part_way = running.wait_for(Duration::from_secs(30), |_, _| reparsed(killed.path()) > 0);
    let out = running.kill();
    assert!(part_way && out.killed, "the reparse was still running when killed: {out}");
    let at_kill = reparsed(killed.path());
    assert!(at_kill > 0 && at_kill < public, "killed part way: {at_kill} of {public} public matches rewritten");
    reparse(killed.path());
    assert_eq!(Db::open(killed.path()).dump().diff(&Db::open(whole.path()).dump()), None, "killed and rerun = whole");
}

#[test]
fn a_report_with_an_archive_copy_is_rebuilt_from_it_not_downloaded() {
    let fake = FakeBungie::start(World::generate(&WorldConfig::tiny()), API_KEY);
    let dir = data_dir();
    sync_all(dir.path(), &fake, &[]);
    let before = Db::open(dir.path()).dump();
    {
        let conn = rusqlite::Connection::open(db_path(dir.path())).expect("open the database");
        conn.execute_batch("PRAGMA foreign_keys = ON; DELETE FROM activity; UPDATE activity_queue SET synced = 0;")
            .expect("forget the rows");
    }
    let mark = fake.mark();
    Dclisync::new(dir.path()).api(&fake).args(["--sync", "--max-rps", "0"]).run().assert_success();
    let pgcrs = fake.requests_since(mark).iter().filter(|r| r.is_pgcr()).count();
    assert_eq!(pgcrs, 0, "no report downloaded again");
    assert_eq!(Db::open(dir.path()).dump().diff(&before), None, "every row back, from the archive");
}

#[test]
fn with_dcli_fix_data_a_report_rebuilt_from_its_copy_is_repaired_and_a_failed_lookup_keeps_it_queued() {
    let world = World::generate(&WorldConfig::tiny());
    let expected = expected_tables(&world, true);
    assert_ne!(
        expected.rows("member"),
        expected_tables(&world, false).rows("member"),
        "the world has nameless members"
    );
    let fake = FakeBungie::start(world, API_KEY);
    let dir = data_dir();
    sync_all(dir.path(), &fake, &[]);
    {
        // The rows of every match gone, with every member but the tracked players, as after a
        // sync without DCLI_FIX_DATA whose rows were then dropped; the copies stay.
        let conn = rusqlite::Connection::open(db_path(dir.path())).expect("open the database");
        conn.execute_batch(
            "PRAGMA foreign_keys = ON; DELETE FROM activity;
             DELETE FROM member WHERE member_id NOT IN (SELECT member FROM sync);
             UPDATE activity_queue SET synced = 0;",
        )
        .expect("forget the rows");
    }
    let fix_data_sync = || Dclisync::new(dir.path()).api(&fake).env("DCLI_FIX_DATA", "true").arg("--sync").run();

    // Maintenance at the first lookup: the round ends, the report stays queued, no try counted.
    fake.fail_next(FaultKind::Maintenance, 1, "/Platform/User/GetMembershipsById/");
    let mark = fake.mark();
    let out = fix_data_sync();
    assert_eq!(fake.requests_since(mark).iter().filter(|r| r.is_pgcr()).count(), 0, "{out}");
    out.assert_code(1);
    assert!(out.stderr_lower().contains("maintenance"), "{out}");
    let db = Db::open(dir.path());
    assert!(db.unsynced_queue_rows() > 0, "the rest stays queued");
    assert_eq!(db.scalar("SELECT COUNT(*) FROM dclisync_attempt"), 0, "maintenance is not a failure of a match");
    drop(db);

    let mark = fake.mark();
    fix_data_sync().assert_success();
    let asked = fake.requests_since(mark);
    assert_eq!(asked.iter().filter(|r| r.is_pgcr()).count(), 0, "nothing downloaded");
    assert!(asked.iter().any(|r| r.path.contains("GetMembershipsById")), "the nameless members were looked up");
    let diffs = Db::open(dir.path()).rows().diff(&expected, 3);
    assert!(
        diffs.is_empty(),
        "rows as a sync with DCLI_FIX_DATA stores them:\n{}",
        diffs.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn archive_missing_fills_a_database_synced_with_the_archive_off_and_reparse_then_works() {
    let fake = FakeBungie::start(World::generate(&WorldConfig::tiny()), API_KEY);
    let dir = data_dir();
    sync_all(dir.path(), &fake, &["--no-archive"]);
    let db = Db::open(dir.path());
    let stored = db.count("activity");
    assert_eq!(db.scalar("SELECT COUNT(*) FROM dclisync_archive"), 0, "nothing archived with --no-archive");
    let before = db.dump();
    drop(db);
    let none = Dclisync::new(dir.path()).arg("--reparse").run();
    none.assert_success();
    assert!(
        none.stdout.contains(&format!("0 reports reparsed, 0 changed, {stored} stored without an archive copy")),
        "{none}"
    );

    let mark = fake.mark();
    let fill = Dclisync::new(dir.path()).api(&fake).args(["--archive-missing", "--max-rps", "0"]).run();
    fill.assert_success();
    assert!(fill.stdout.contains(&format!("{stored} stored reports have no archive copy")), "{fill}");
    assert!(fill.stdout.contains(&format!("archived {stored} report(s)")), "{fill}");
    let pgcrs = fake.requests_since(mark).iter().filter(|r| r.is_pgcr()).count();
    assert_eq!(pgcrs as i64, stored, "one request per missing copy");
    let db = Db::open(dir.path());
    assert_eq!(db.scalar("SELECT COUNT(*) FROM dclisync_archive"), stored, "every copy kept");
    assert_eq!(db.dump().diff(&before), None, "rows untouched");
    drop(db);
    let again = Dclisync::new(dir.path()).api(&fake).args(["--archive-missing", "--max-rps", "0"]).run();
    assert!(again.stdout.contains("nothing to fetch"), "{again}");

    std::fs::write(dir.path().join("fixups.toml"), PUBLIC_AS_999).expect("write rules");
    let first = reparse(dir.path());
    assert!(first.stdout.contains(&format!("{stored} reports reparsed")), "{first}");
    let db = Db::open(dir.path());
    assert_eq!(db.scalar("SELECT COUNT(*) FROM activity WHERE mode = 999"), public_count(&db), "the rule applied");
}

/// Archive copies kept so far, read while another process may be writing.
fn archived_ids(dir: &Path) -> std::collections::BTreeSet<i64> {
    Db::open(dir).i64s("SELECT activity_id FROM dclisync_archive").into_iter().collect()
}

#[test]
fn archive_missing_killed_part_way_resumes_fetching_only_what_is_still_missing() {
    let fake = FakeBungie::start(World::generate(&WorldConfig::small()), API_KEY);
    let dir = data_dir();
    sync_all(dir.path(), &fake, &["--no-archive"]);
    let stored: std::collections::BTreeSet<i64> = Db::open(dir.path()).activity_ids();

    // Slow answers, so the kill lands with some copies kept and others in flight.
    fake.delay_pgcrs(Duration::from_millis(30));
    let mut running = Dclisync::new(dir.path()).api(&fake).args(["--archive-missing", "--max-rps", "0"]).spawn();
    let part_way = running.wait_for(Duration::from_secs(20), |_, _| archived_ids(dir.path()).len() >= 20);
    let killed = running.kill();
    assert!(part_way, "some copies kept before the kill: {killed}");
    let kept = archived_ids(dir.path());
    assert!(kept.len() < stored.len(), "killed before the end ({} of {})", kept.len(), stored.len());

    // Answers the killed run was waiting for are let go (and logged) before the rerun starts.
    std::thread::sleep(Duration::from_millis(300));
    fake.heal();
    let before_rerun = fake.pgcr_ids_requested().len();
    let rerun = Dclisync::new(dir.path()).api(&fake).args(["--archive-missing", "--max-rps", "0"]).run();
    rerun.assert_success();
    let missing = stored.len() - kept.len();
    assert!(rerun.stdout.contains(&format!("{missing} stored reports have no archive copy")), "{rerun}");
    let refetched: Vec<i64> = fake.pgcr_ids_requested()[before_rerun..].iter().map(|id| id.parse().unwrap()).collect();
    let expected: Vec<i64> = stored.difference(&kept).copied().collect();
    let mut asked = refetched.clone();
    asked.sort_unstable();
    assert_eq!(asked, expected, "the rerun fetches each still-missing copy once, and no kept one");
    assert_eq!(archived_ids(dir.path()), stored, "every copy present");

    std::fs::write(dir.path().join("fixups.toml"), PUBLIC_AS_999).expect("write rules");
    let reparsed = reparse(dir.path());
    assert!(
        reparsed.stdout.contains(&format!("{} reports reparsed", stored.len()))
            && reparsed.stdout.contains("0 stored without"),
        "{reparsed}"
    );
    let db = Db::open(dir.path());
    assert_eq!(db.scalar("SELECT COUNT(*) FROM activity WHERE mode = 999"), public_count(&db), "the rule applied");
}
