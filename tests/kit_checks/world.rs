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
