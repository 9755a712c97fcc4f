//! What a round costs, counted at the fake: an idle round is one request per player, the account
//! stats are read once per player on a first sync; and a deleted character's matches are stored.

use std::collections::BTreeSet;

use crate::common::{add_all, clean_run, data_dir, sync, Checks, Db, FakeBungie, World, WorldConfig, API_KEY};

/// Path part of the account stats endpoint (`/Account/{id}/Stats/`), which the history endpoint
/// (`/Account/{id}/Character/{cid}/Stats/Activities/`) does not end with.
fn is_account_stats(path: &str) -> bool {
    path.contains("/Account/") && path.ends_with("/Stats/") && !path.contains("/Character/")
}

#[test]
fn an_idle_round_costs_exactly_one_request_per_player() {
    let (dir, fake) = clean_run(&WorldConfig::small());
    let players = fake.world().players.len();
    let mark = fake.mark();

    let out = sync(dir.path(), &fake);
    out.assert_success();

    let since = fake.requests_since(mark);
    let paths: Vec<String> = since.iter().map(|r| r.path_and_query()).collect();
    eprintln!("idle round of {players} players: {} requests: {paths:#?}", since.len());
    assert_eq!(since.len(), players, "an idle round must cost one request per player: {paths:#?}\n{out}");
    let profiled: BTreeSet<String> = since
        .iter()
        .filter(|r| r.path.contains("/Profile/") && r.query.contains("components="))
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(profiled.len(), players, "the one request is each player's profile: {paths:#?}");
}

#[test]
fn a_first_sync_reads_the_account_stats_once_per_player_and_a_second_not_at_all() {
    let fake = FakeBungie::start(World::generate(&WorldConfig::small()), API_KEY);
    let dir = data_dir();
    add_all(dir.path(), &fake);
    let mark = fake.mark();
    sync(dir.path(), &fake).assert_success();

    let first: Vec<String> =
        fake.requests_since(mark).iter().filter(|r| is_account_stats(&r.path)).map(|r| r.path.clone()).collect();
    eprintln!("first sync: {} account-stats requests: {first:#?}", first.len());
    let expected: BTreeSet<String> = fake
        .world()
        .players
        .iter()
        .map(|p| format!("/Platform/Destiny2/{}/Account/{}/Stats/", p.primary.membership_type, p.primary.membership_id))
        .collect();
    assert_eq!(first.len(), expected.len(), "one account-stats request per player: {first:#?}");
    assert_eq!(first.iter().cloned().collect::<BTreeSet<_>>(), expected);

    let mark = fake.mark();
    sync(dir.path(), &fake).assert_success();
    let again = fake.requests_since(mark).iter().filter(|r| is_account_stats(&r.path)).count();
    assert_eq!(again, 0, "the account stats are read again only a day later");
}

#[test]
fn a_deleted_characters_matches_are_stored_with_its_class_from_the_reports() {
    let (dir, fake) = clean_run(&WorldConfig::small());
    let world = fake.world();
    let owner = world.players.iter().find(|p| p.characters.iter().any(|c| c.deleted)).expect("a deleted character");
    let deleted = owner.characters.iter().find(|c| c.deleted).expect("a deleted character");
    let deleted_id: i64 = deleted.character_id.parse().expect("numeric id");
    // The profile never lists it: only the account stats know it.
    assert!(owner.live_characters().all(|c| c.character_id != deleted.character_id));

    let its_matches: BTreeSet<i64> = world
        .matches
        .iter()
        .filter(|m| m.kind != crate::common::world::MatchKind::GambitPrivate)
        .filter(|m| m.tracked.iter().any(|&(p, c)| world.players[p].characters[c].character_id == deleted.character_id))
        .map(|m| m.id())
        .collect();
    assert!(!its_matches.is_empty(), "the world gives the deleted character matches");

    let db = Db::open(dir.path());
    let mut checks = Checks::new();
    let stored: BTreeSet<i64> = db
        .i64s(&format!("SELECT activity FROM character_activity_stats WHERE character = {deleted_id}"))
        .into_iter()
        .collect();
    checks.same_set("the deleted character's matches", &stored, &its_matches);
    let class = db.scalar(&format!("SELECT class FROM character WHERE character_id = {deleted_id}"));
    checks.eq("its class, from its report entries", class, deleted.class_type);
    checks.eq(
        "marked deleted in dclisync_character",
        db.scalar(&format!("SELECT deleted FROM dclisync_character WHERE character_id = {deleted_id}")),
        1,
    );
    checks.finish(format!("deleted character {deleted_id}"));
}
