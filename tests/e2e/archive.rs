//! The archive and `--reparse`: every downloaded report is kept, a new rule reaches the stored
//! rows with no key and no request, a second reparse writes nothing, a killed reparse finishes
//! on the rerun as if never stopped, and a report whose copy is kept is never downloaded again.

use std::path::Path;
use std::time::Duration;

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
fn a_reparse_killed_midway_then_rerun_equals_one_never_stopped() {
    let fake = FakeBungie::start(World::generate(&WorldConfig::small()), API_KEY);
    let killed = data_dir();
    sync_all(killed.path(), &fake, &[]);
    std::fs::write(killed.path().join("fixups.toml"), PUBLIC_AS_999).expect("write rules");
    let whole = data_dir();
    std::fs::copy(killed.path().join("fixups.toml"), whole.path().join("fixups.toml")).expect("copy the rules");
    rusqlite::Connection::open(db_path(killed.path()))
        .and_then(|c| c.execute("VACUUM INTO ?1", [db_path(whole.path()).to_string_lossy()]))
        .expect("copy the database");
    reparse(whole.path());

    let running = Dclisync::new(killed.path()).arg("--reparse").spawn();
    std::thread::sleep(Duration::from_millis(40));
    running.signal(libc::SIGKILL);
    // Cut somewhere: before, inside or between transactions; the rerun must end the same.
    let _ = running.wait();
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
    let pgcrs = fake.requests_since(mark).iter().filter(|r| r.path.contains("PostGameCarnageReport")).count();
    assert_eq!(pgcrs, 0, "no report downloaded again");
    assert_eq!(Db::open(dir.path()).dump().diff(&before), None, "every row back, from the archive");
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
    let pgcrs = fake.requests_since(mark).iter().filter(|r| r.path.contains("PostGameCarnageReport")).count();
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
