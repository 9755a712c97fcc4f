//! The everyday sync: the world moves on between two syncs. After a first sync the players play
//! new matches (some together, one private, one Gambit private), Bungie lists one match late,
//! below matches already stored, and a player makes a new character.
//!
//! What a sync promises then: the next plain sync pages each history that may have changed back
//! to the newest match it knows, so it fetches exactly the new reports listed on top of the
//! histories, each once, never a report stored before and never a Gambit private one; the late
//! match lies below the newest known one, so only a whole-history walk (`--rescan`) finds it,
//! and fetches it alone. A round after that, with nothing new, costs one request per player.

use std::collections::{BTreeMap, BTreeSet};

use crate::common::fake::LoggedRequest;
use crate::common::{add_all, data_dir, sync, Checks, Db, Dclisync, FakeBungie, World, WorldConfig, API_KEY};

/// Instance id → times its report was asked for, among `requests`.
fn reports_asked(requests: &[LoggedRequest]) -> BTreeMap<i64, usize> {
    let mut asked = BTreeMap::new();
    for r in requests.iter().filter(|r| r.is_pgcr()) {
        let id = r.path.trim_end_matches('/').rsplit('/').next().and_then(|id| id.parse().ok()).expect("a report id");
        *asked.entry(id).or_default() += 1;
    }
    asked
}

/// The reports asked for since `mark`, each expected once and nothing else.
fn check_asked_once(checks: &mut Checks, what: &str, fake: &FakeBungie, mark: usize, expected: &BTreeSet<i64>) {
    let asked = reports_asked(&fake.requests_since(mark));
    let twice: Vec<_> = asked.iter().filter(|(_, n)| **n > 1).collect();
    checks.that(&format!("{what}: each report asked for once"), twice.is_empty(), || format!("{twice:?}"));
    checks.same_set(&format!("{what}: reports asked for"), &asked.keys().copied().collect(), expected);
}

#[test]
fn when_the_world_moves_a_sync_fetches_exactly_the_new_reports_and_a_rescan_the_late_one() {
    let fake =
        FakeBungie::start(World::generate(&WorldConfig { deleted_characters: 1, ..WorldConfig::tiny() }), API_KEY);
    let dir = data_dir();
    add_all(dir.path(), &fake);
    sync(dir.path(), &fake).assert_success();
    let first: BTreeSet<i64> = Db::open(dir.path()).activity_ids();

    let moved = fake.change_world(World::move_on);
    let world = fake.world();
    let on_top: BTreeSet<i64> = moved.on_top_to_store().into_iter().collect();
    let late: i64 = moved.late.parse().unwrap();
    let gambit: i64 = moved.gambit_private.parse().unwrap();
    let (p, c) = moved.new_character;
    let new_character: i64 = world.players[p].characters[c].character_id.parse().unwrap();

    let mut checks = Checks::new();
    let mark = fake.mark();
    let plain = sync(dir.path(), &fake);
    plain.assert_success();
    check_asked_once(&mut checks, "plain sync", &fake, mark, &on_top);
    let stored = Db::open(dir.path()).activity_ids();
    checks.same_set("stored after the plain sync", &stored, &first.union(&on_top).copied().collect());
    checks.that("the late match waits for a rescan", !stored.contains(&late), String::new);

    let mark = fake.mark();
    let rescan = Dclisync::new(dir.path()).api(&fake).args(["--sync", "--rescan"]).run();
    rescan.assert_success();
    check_asked_once(&mut checks, "rescan", &fake, mark, &[late].into());
    checks.that("the rescan says what it found", rescan.stdout.contains("rescan found 1 missed match(es)"), || {
        rescan.stdout.clone()
    });

    check_stored_world(&mut checks, &fake, dir.path(), gambit);
    checks.that("the new character is stored", Db::open(dir.path()).character_ids().contains(&new_character), || {
        format!("character {new_character}")
    });
    checks.finish(format!("plain sync:\n{plain}\n\nrescan:\n{rescan}"));

    let mark = fake.mark();
    let idle = sync(dir.path(), &fake);
    idle.assert_success();
    let since = fake.requests_since(mark);
    let paths: Vec<String> = since.iter().map(|r| r.path_and_query()).collect();
    let profiles = since.iter().filter(|r| r.path.contains("/Profile/") && r.query.contains("components=")).count();
    assert!(
        since.len() == world.players.len() && profiles == since.len(),
        "an idle round after the move costs one profile request per player: {paths:#?}\n{idle}"
    );
}

/// Everything the moved world lists is stored, row for row where the kit knows the rows.
fn check_stored_world(checks: &mut Checks, fake: &FakeBungie, dir: &std::path::Path, gambit: i64) {
    let world = fake.world();
    let db = Db::open(dir);
    checks.same_set("activity ids", &db.activity_ids(), &world.expected_activity_ids());
    checks.that("no Gambit private match", !db.activity_ids().contains(&gambit), String::new);
    checks.eq("character_activity_stats rows", db.stats_rows(), world.expected_stats_rows() as i64);
    checks.same_set("member ids", &db.member_ids(), &world.expected_members());
    checks.same_set("character ids", &db.character_ids(), &world.expected_characters());
    same_rows(checks, "activity rows (period, platform, hashes)", &db.activities(), &world.expected_activities());
    same_rows(checks, "fireteam ids", &db.fireteams(), &world.expected_fireteams());
    checks.eq("unsynced queue rows", db.unsynced_queue_rows(), 0);
}

/// Compares rows by key, reporting how many differ and the first that does.
fn same_rows<K: Ord + std::fmt::Debug, V: PartialEq + std::fmt::Debug>(
    checks: &mut Checks,
    what: &str,
    stored: &BTreeMap<K, V>,
    expected: &BTreeMap<K, V>,
) {
    let keys: BTreeSet<&K> = stored.keys().chain(expected.keys()).collect();
    let wrong: Vec<(&K, Option<&V>, Option<&V>)> =
        keys.into_iter().map(|k| (k, stored.get(k), expected.get(k))).filter(|(_, s, e)| s != e).collect();
    checks.that(what, wrong.is_empty(), || {
        format!("{} differ, e.g. (key, stored, expected) {:?}", wrong.len(), wrong.first())
    });
}
