//! Every row a sync stores, column by column: a complete sync of the small world is compared,
//! table by table, with the rows the test kit's oracle derives from the world's own JSON (its
//! value rules and fix-ups written from the contract, not taken from dclisync). Without
//! DCLI_FIX_DATA the database holds what the reports say; with it, nameless opponents are stored
//! as their accounts really are. A tiny world's whole database is also kept as a snapshot, to be
//! read as a story of what one sync stores.

use dclisync_testkit::oracle::{expected_tables, Cell, Tables};

use crate::common::{add_all, data_dir, Checks, Db, Dclisync, FakeBungie, Output, World, WorldConfig, API_KEY};

/// Differing rows shown per table.
const SHOWN: usize = 3;

/// Adds and syncs every player of `world` (DCLI_FIX_DATA on when `fix_data`); the database rows
/// and the sync's output.
fn synced(world: World, fix_data: bool) -> (Tables, Output) {
    let fake = FakeBungie::start(world, API_KEY);
    let dir = data_dir();
    add_all(dir.path(), &fake);
    let mut run = Dclisync::new(dir.path()).api(&fake);
    if fix_data {
        run = run.env("DCLI_FIX_DATA", "true");
    }
    let out = run.arg("--sync").run();
    out.assert_success();
    (Db::open(dir.path()).rows(), out)
}

/// One check per table: the rows stored equal the rows expected.
fn compare(checks: &mut Checks, stored: &Tables, expected: &Tables) {
    let diffs = stored.diff(expected, SHOWN);
    for (table, rows) in &expected.tables {
        checks.that(&format!("{table} ({} rows expected)", rows.rows.len()), !rows.rows.is_empty(), || {
            "the oracle expects no row; the world does not exercise this table".to_string()
        });
    }
    for diff in diffs {
        checks.that(diff.table, false, || diff.to_string());
    }
}

#[test]
fn a_complete_sync_stores_every_row_the_reports_imply() {
    let world = World::generate(&WorldConfig::small());
    let expected = expected_tables(&world, false);
    let (stored, out) = synced(world, false);
    let mut checks = Checks::new();
    compare(&mut checks, &stored, &expected);
    checks.finish(&out);
}

#[test]
fn with_dcli_fix_data_nameless_opponents_are_stored_as_their_accounts_are() {
    let world = World::generate(&WorldConfig::small());
    let expected = expected_tables(&world, true);
    let plain = expected_tables(&world, false);
    assert_ne!(expected.rows("member"), plain.rows("member"), "DCLI_FIX_DATA should change some member rows");
    let (stored, out) = synced(world, true);
    let mut checks = Checks::new();
    compare(&mut checks, &stored, &expected);
    checks.finish(&out);
}

#[test]
fn a_tiny_worlds_whole_database() {
    let world = World::generate(&WorldConfig::tiny());
    let (stored, _) = synced(world, false);
    assert!(stored.rows("sync").iter().all(|r| matches!(&r[1], Cell::Text(t) if t.starts_with('<'))), "last_sync");
    insta::with_settings!({snapshot_path => "../../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("e2e_tiny_world_database", stored.render());
    });
}
