//! `--list` and `--list --json` after a sync that left reports queued, one of them stuck: the
//! whole output as snapshots, in a fixed time zone (TZ=UTC) with the last sync time pinned.

use crate::common::world::MatchKind;
use crate::common::{add_all, data_dir, db_path, sync, Dclisync, FakeBungie, World, WorldConfig, API_KEY};

/// When every player "last synced" in the snapshots.
const PINNED_LAST_SYNC: &str = "2024-06-01T10:30:00+00:00";

fn snapshot(name: &str, text: &str) {
    insta::with_settings!({snapshot_path => "../../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!(name, text);
    });
}

#[test]
fn the_list_shows_counts_deleted_characters_and_local_times_as_columns_and_as_json() {
    let fake = FakeBungie::start(World::generate(&WorldConfig::small()), API_KEY);
    let world = fake.world();
    let withheld: Vec<i64> = world
        .matches
        .iter()
        .filter(|m| m.kind == MatchKind::Public && m.tracked.len() == 1 && m.tracked[0].0 == 0)
        .take(2)
        .map(|m| m.id())
        .collect();
    for id in &withheld {
        fake.withhold_report(&id.to_string());
    }
    let dir = data_dir();
    add_all(dir.path(), &fake);
    let synced = sync(dir.path(), &fake);
    synced.assert_success();
    assert!(synced.stdout.contains("2 left queued for retry"), "{synced}");

    // Pretend the first withheld report failed in nine earlier runs too, and pin the sync time.
    let conn = rusqlite::Connection::open(db_path(dir.path())).expect("open the database");
    conn.execute("UPDATE dclisync_attempt SET attempts = 10 WHERE activity_id = ?1", [withheld[0]]).expect("stuck");
    conn.execute("UPDATE dclisync_player SET last_success = ?1", [PINNED_LAST_SYNC]).expect("pin");
    drop(conn);

    let table = Dclisync::new(dir.path()).env("TZ", "UTC").arg("--list").run();
    table.assert_success();
    snapshot("e2e_list_table", &table.stdout);

    let json = Dclisync::new(dir.path()).env("TZ", "UTC").args(["--list", "--json"]).run();
    json.assert_success();
    assert_eq!(json.stderr, "", "nothing but the JSON\n{json}");
    let parsed: serde_json::Value = serde_json::from_str(&json.stdout).expect("stdout is JSON");
    assert_eq!(parsed.as_array().map(Vec::len), Some(world.players.len()));
    snapshot("e2e_list_json", &json.stdout);
}

#[test]
fn json_needs_list_and_keeps_stdout_for_the_list_alone() {
    let fake = FakeBungie::start(World::generate(&WorldConfig::tiny()), API_KEY);
    let dir = data_dir();
    let alone = Dclisync::new(dir.path()).arg("--json").run();
    alone.assert_code(2);
    assert!(alone.stderr.contains("--list"), "the usage error names --list\n{alone}");

    add_all(dir.path(), &fake);
    let out = Dclisync::new(dir.path()).api(&fake).args(["--sync", "--list", "--json"]).run();
    out.assert_success();
    let parsed: serde_json::Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}\n{out}"));
    assert_eq!(parsed.as_array().map(Vec::len), Some(fake.world().players.len()));
    assert!(out.stderr.contains("new"), "the sync's results went to stderr\n{out}");
}

/// After an imported clan's idle round, the list names the clan and what the roster gate did.
#[test]
fn the_list_shows_remembered_clans_and_the_last_rounds_gate() {
    let fake = FakeBungie::start(World::generate(&WorldConfig::tiny()), API_KEY);
    let group = fake.world().clan.group_id.clone();
    let dir = data_dir();
    Dclisync::new(dir.path()).api(&fake).args(["--import-group", &group, "--sync"]).run().assert_success();
    sync(dir.path(), &fake).assert_success();

    // Pin every time the list shows (1717237800 is 2024-06-01T10:30:00Z).
    let conn = rusqlite::Connection::open(db_path(dir.path())).expect("open the database");
    conn.execute("UPDATE dclisync_player SET last_success = ?1", [PINNED_LAST_SYNC]).expect("pin");
    conn.execute("UPDATE dclisync_group SET roster_read_at = 1717237800", []).expect("pin");
    conn.execute("UPDATE dclisync_gate_round SET at = 1717237800", []).expect("pin");
    drop(conn);

    let table = Dclisync::new(dir.path()).env("TZ", "UTC").arg("--list").run();
    table.assert_success();
    snapshot("e2e_list_with_clan", &table.stdout.replace(&group, "GROUP"));
}
