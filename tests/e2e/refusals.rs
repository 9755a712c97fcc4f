//! What dclisync refuses, and how: usage errors (exit 2), failures the user must act on (exit 1),
//! secrets never printed, and databases that are not its own left untouched.

use std::time::Duration;

use crate::common::world::SplitMix64;
use crate::common::{data_dir, db_path, Dclisync, FakeBungie, Output, World, WorldConfig, API_KEY};

const WRONG_KEY: &str = "wr0ng-k3y-77e1d0c5aa";

fn tiny_fake() -> FakeBungie {
    FakeBungie::start(World::generate(&WorldConfig::tiny()), API_KEY)
}

/// Whether a message says the file is not a usable dcli database.
fn says_not_a_dcli_database(out: &Output) -> bool {
    let s = out.stderr_lower();
    ["not a dcli", "not a valid dcli", "corrupt", "not a database", "not a sqlite", "unrecogni"]
        .iter()
        .any(|k| s.contains(k))
}

#[test]
fn malformed_player_names_are_usage_errors_that_name_the_argument() {
    let fake = tiny_fake();
    let dir = data_dir();
    for bad in ["NoCode", "Name#12345", "#1234", "Name#", "Name#12a4"] {
        let out = Dclisync::new(dir.path()).api(&fake).args(["-A", bad]).run();
        out.assert_code(2);
        assert!(out.stderr.contains(bad), "stderr should name {bad:?}\n{out}");
    }
    assert!(
        fake.requests().is_empty(),
        "usage errors must not reach the network: {:?}",
        fake.requests().iter().map(|r| r.path.clone()).collect::<Vec<_>>()
    );
}

#[test]
fn adding_an_unknown_player_fails_naming_the_player() {
    let fake = tiny_fake();
    let dir = data_dir();
    let out = Dclisync::new(dir.path()).api(&fake).args(["-A", "Nobody#0001"]).run();
    out.assert_code(1);
    assert!(out.stderr.contains("Nobody#0001"), "stderr should name the player\n{out}");
    assert!(out.stderr_lower().contains("not found"), "stderr should say \"not found\"\n{out}");
}

#[test]
fn a_rejected_api_key_fails_with_a_hint_and_is_never_printed() {
    let fake = tiny_fake();
    let player = fake.world().players[0].bungie_name();
    let dir = data_dir();

    let out = Dclisync::new(dir.path()).api_root(&fake.uri()).key(WRONG_KEY).args(["-A", &player]).run();
    out.assert_code(1);
    assert!(out.stderr_lower().contains("api key"), "stderr should mention the API key\n{out}");
    assert!(!out.all().contains(WRONG_KEY), "the key was printed\n{out}");

    let verbose = Dclisync::new(dir.path())
        .api_root(&fake.uri())
        .key(WRONG_KEY)
        .env("RUST_LOG", "trace")
        .args(["-v", "-A", &player, "--sync"])
        .run();
    verbose.assert_code(1);
    assert!(!verbose.all().contains(WRONG_KEY), "the key was printed with -v and RUST_LOG=trace\n{verbose}");
}

#[test]
fn the_api_key_never_appears_in_verbose_trace_or_help_output() {
    let fake = tiny_fake();
    let dir = data_dir();
    let names: Vec<String> = fake.world().players.iter().map(|p| p.bungie_name()).collect();

    let traced = Dclisync::new(dir.path())
        .api(&fake)
        .env("RUST_LOG", "trace")
        .arg("-v")
        .arg("-A")
        .args(&names)
        .arg("--sync")
        .run();
    assert!(!traced.all().contains(API_KEY), "key printed with RUST_LOG=trace -v\n{traced}");
    traced.assert_success();

    let flagged = Dclisync::new(dir.path())
        .api_root(&fake.uri())
        .env("RUST_LOG", "debug")
        .args(["-v", "-k", API_KEY, "--sync"])
        .run();
    assert!(!flagged.all().contains(API_KEY), "key given with -k was printed\n{flagged}");
    flagged.assert_success();

    // clap shows `[env: NAME=value]` in help unless told to hide the value.
    let help = Dclisync::new(dir.path()).key(API_KEY).arg("--help").run();
    help.assert_success();
    assert!(!help.all().contains(API_KEY), "key printed by --help\n{help}");
}

#[test]
fn actions_that_need_the_api_without_a_key_are_usage_errors_naming_destiny_api_key() {
    let fake = tiny_fake();
    let dir = data_dir();
    let player = fake.world().players[0].bungie_name();
    let group = fake.world().clan.group_id.clone();
    for args in [vec!["--sync"], vec!["-A", &player], vec!["-i", &group]] {
        let out = Dclisync::new(dir.path()).api_root(&fake.uri()).no_key().args(&args).run();
        out.assert_code(2);
        assert!(out.stderr.contains("DESTINY_API_KEY"), "stderr should say to set DESTINY_API_KEY\n{out}");
    }
    assert!(fake.requests().is_empty(), "no request without a key");
}

#[test]
fn a_data_dir_that_is_a_regular_file_fails_naming_the_path() {
    let sandbox = data_dir();
    let file = sandbox.path().join("not-a-directory");
    std::fs::write(&file, b"just a file\n").unwrap();

    let out = Dclisync::new(&file).arg("--list").run();
    out.assert_code(1);
    assert!(out.stderr.contains(&file.display().to_string()), "stderr should name {}\n{out}", file.display());
    assert_eq!(std::fs::read(&file).unwrap(), b"just a file\n");
}

#[test]
fn a_corrupt_database_file_is_refused_and_left_untouched() {
    let dir = data_dir();
    let path = db_path(dir.path());
    let mut rng = SplitMix64::new(0x0BAD_0DB0);
    let junk: Vec<u8> = (0..4096).map(|_| rng.next_u64() as u8).collect();
    std::fs::write(&path, &junk).unwrap();

    let out = Dclisync::new(dir.path()).arg("--list").run();
    out.assert_code(1);
    assert!(says_not_a_dcli_database(&out), "stderr should say the file is corrupt or not a dcli database\n{out}");
    assert!(out.stderr.contains(&dir.path().display().to_string()), "stderr should name the path\n{out}");
    assert!(std::fs::read(&path).unwrap() == junk, "the corrupt file was modified");
}

#[test]
fn a_sqlite_file_that_is_not_a_dcli_database_is_refused_and_left_untouched() {
    let dir = data_dir();
    let path = db_path(dir.path());
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE foo (id INTEGER PRIMARY KEY, bar TEXT);
             INSERT INTO foo (bar) VALUES ('somebody else''s data');",
        )
        .unwrap();
    }
    let before = std::fs::read(&path).unwrap();

    let out = Dclisync::new(dir.path()).arg("--list").run();
    out.assert_code(1);
    assert!(says_not_a_dcli_database(&out), "stderr should say this is not a dcli database\n{out}");
    assert!(out.stderr.contains(&dir.path().display().to_string()), "stderr should name the path\n{out}");
    assert!(std::fs::read(&path).unwrap() == before, "the foreign database was modified");
    let conn = rusqlite::Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(tables, vec!["foo".to_owned()]);
}

#[test]
fn a_daemon_interval_below_thirty_seconds_is_a_usage_error_naming_the_minimum() {
    let fake = tiny_fake();
    let dir = data_dir();
    let out = Dclisync::new(dir.path())
        .api(&fake)
        .args(["--interval", "10", "--sync", "--daemon"])
        .timeout(Duration::from_secs(15))
        .run();
    out.assert_code(2);
    assert!(out.stderr.contains("30"), "stderr should name the minimum, 30\n{out}");
}
