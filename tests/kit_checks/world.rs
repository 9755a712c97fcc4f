//! The generated world is deterministic and has every feature the end-to-end tests rely on.

use dclisync_testkit::world::*;

#[test]
fn the_same_seed_generates_the_same_world() {
    let a = World::generate(&WorldConfig::small());
    let b = World::generate(&WorldConfig::small());
    assert_eq!(a.matches.len(), b.matches.len());
    for (x, y) in a.matches.iter().zip(&b.matches) {
        assert_eq!(x.pgcr, y.pgcr);
    }
    assert_eq!(a.expected_activity_ids(), b.expected_activity_ids());
    let c = World::generate(&WorldConfig { seed: 7, ..WorldConfig::small() });
    assert_ne!(a.expected_activity_ids(), c.expected_activity_ids());
}

#[test]
fn the_default_world_has_every_feature_the_tests_rely_on() {
    let world = World::generate(&WorldConfig::default());
    let busiest = &world.players[0].characters[0].character_id;
    assert!(
        world.history(busiest, MODE_ALL_PVP).len() > 2 * HISTORY_PAGE_SIZE,
        "one character's history spans three pages"
    );
    let ids = world.expected_activity_ids();
    assert!((600..=800).contains(&ids.len()), "{} reports", ids.len());
    assert!(!world.gambit_private_ids().is_empty());
    assert!(world.gambit_private_ids().is_disjoint(&ids));
    assert!(!world.shared_activity_ids().is_empty());
    assert!(!world.players[0].name.is_ascii());
    assert!(world.players[2].bungie_name().contains("#00"));
    assert!(world.players.iter().any(|p| p.characters.iter().any(|c| c.deleted)));
    let pgcrs: Vec<&Match> = world.matches.iter().collect();
    assert!(pgcrs.iter().any(|m| m.pgcr["teams"].as_array().is_some_and(Vec::is_empty)));
    assert!(pgcrs.iter().flat_map(|m| m.entries()).any(|e| {
        e["player"]["destinyUserInfo"]["membershipType"] == 0
            && e["player"]["destinyUserInfo"]["bungieGlobalDisplayName"] == ""
    }));
    assert!(pgcrs.iter().any(|m| m.distinct_characters().len() < m.entries().len()));
    assert!(pgcrs.iter().flat_map(|m| m.entries()).any(|e| e.get("extended").is_none()));
    assert!(world.expected_stats_rows() > ids.len() * 4);
    assert!(world.clan.nameless_members().count() >= 1);
    assert_eq!(world.clan.pages.len(), 2);
}

#[test]
fn every_shared_match_is_in_both_players_histories_and_reports() {
    let world = World::generate(&WorldConfig::small());
    for id in world.shared_activity_ids() {
        let m = world.pgcr(&id.to_string()).unwrap();
        for &(p, c) in &m.tracked {
            let ch = &world.players[p].characters[c];
            assert!(world
                .history(&ch.character_id, m.kind.history_mode())
                .iter()
                .any(|item| item["activityDetails"]["instanceId"] == m.instance_id.as_str()));
            assert!(m.distinct_characters().contains(&ch.character_id.parse().unwrap()));
        }
    }
}

#[test]
fn histories_are_newest_first() {
    let world = World::generate(&WorldConfig::small());
    for p in &world.players {
        for c in &p.characters {
            for mode in [MODE_ALL_PVP, MODE_PRIVATE] {
                let periods: Vec<&str> =
                    world.history(&c.character_id, mode).iter().map(|i| i["period"].as_str().unwrap()).collect();
                let mut sorted = periods.clone();
                sorted.sort_by(|a, b| b.cmp(a));
                assert_eq!(periods, sorted);
            }
        }
    }
}

#[test]
fn times_are_formatted_like_bungie_and_dcli() {
    assert_eq!(format_bungie_time(1_704_512_980), "2024-01-06T03:49:40Z");
    assert_eq!(format_period_stored(0), "1970-01-01T00:00:00+00:00");
    assert_eq!(format_period_stored(951_782_400), "2000-02-29T00:00:00+00:00");
}

/// A move adds what its documentation says, the same for the same world, and moves the dates of
/// the characters that played, and of no other.
#[test]
fn a_world_moves_on_deterministically_with_new_matches_a_late_one_and_a_new_character() {
    let before = World::generate(&WorldConfig::small());
    let mut world = before.clone();
    let moved = world.move_on();
    let mut again = before.clone();
    assert_eq!(again.move_on(), moved, "the same world moves the same way");

    let newest_before = before.matches.iter().map(|m| m.period_unix).max().unwrap();
    for id in &moved.on_top {
        assert!(before.pgcr(id).is_none() && world.pgcr(id).unwrap().period_unix > newest_before);
    }
    assert_eq!(world.pgcr(&moved.gambit_private).unwrap().kind, MatchKind::GambitPrivate);
    let kinds: Vec<MatchKind> = moved.on_top.iter().map(|id| world.pgcr(id).unwrap().kind).collect();
    assert!(kinds.contains(&MatchKind::Private), "{kinds:?}");
    let shared = moved.on_top.iter().filter(|id| world.shared_activity_ids().contains(&id.parse().unwrap()));
    assert!(shared.count() >= 1, "a new match of two tracked players");

    // The late match: new, in its character's history below a match that was there before.
    let late = world.pgcr(&moved.late).unwrap();
    assert!(before.pgcr(&moved.late).is_none() && late.period_unix < newest_before);
    let (p, c) = moved.late_character;
    let listed: Vec<&str> = world
        .history(&world.players[p].characters[c].character_id, MODE_ALL_PVP)
        .iter()
        .map(|item| item["activityDetails"]["instanceId"].as_str().unwrap())
        .collect();
    let at = listed.iter().position(|id| *id == moved.late).expect("the late match is listed");
    assert!(listed[..at].iter().any(|id| before.pgcr(id).is_some()), "below a match listed before the move");
    assert!(listed[..at].iter().any(|id| moved.on_top.iter().any(|n| n == id)), "and below new ones");

    // The new character: live, with matches of its own, played last.
    let (p, c) = moved.new_character;
    let player = &world.players[p];
    let new = &player.characters[c];
    assert!(!new.deleted && player.live_characters().any(|ch| ch.character_id == new.character_id));
    assert!(!world.history(&new.character_id, MODE_ALL_PVP).is_empty());
    assert!(before.players[p].characters.iter().all(|ch| ch.character_id != new.character_id));
    assert_eq!(player.primary.date_last_played, new.date_last_played, "the profile's date is its last play");

    // Dates move forward for the characters that played, and only for them.
    for (q, player) in before.players.iter().enumerate() {
        assert!(world.players[q].primary.date_last_played > player.primary.date_last_played, "player {q}");
        for ch in &player.characters {
            let now = world.players[q].characters.iter().find(|n| n.character_id == ch.character_id).unwrap();
            let played = world.matches.iter().any(|m| {
                moved.on_top.contains(&m.instance_id)
                    && m.tracked
                        .iter()
                        .any(|&(tp, tc)| world.players[tp].characters[tc].character_id == ch.character_id)
            });
            assert_eq!(now.date_last_played > ch.date_last_played, played, "{}", ch.character_id);
            assert!(now.date_last_played >= ch.date_last_played);
        }
    }
    assert!(world.expected_activity_ids().is_superset(&before.expected_activity_ids()));
}
