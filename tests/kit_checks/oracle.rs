//! The oracle of stored rows: its own pieces (wall-clock shapes, the fix-up steps), and the
//! small world it is run on holds everything the value rules and fix-ups act on, so a broken rule
//! shows in some row.

use std::collections::BTreeSet;

use dclisync_testkit::oracle::{fix_modes, is_rfc3339};
use dclisync_testkit::world::{MatchKind, World, WorldConfig};

#[test]
fn wall_clock_shapes() {
    for good in ["2024-06-01T12:00:00Z", "2024-06-01T12:00:00+00:00", "2024-06-01T12:00:00.123456789+02:00"] {
        assert!(is_rfc3339(good), "{good}");
    }
    for bad in ["", "2024-06-01", "2024-06-01 12:00:00Z", "2024-06-01T12:00:00", "2024-06-01T12:00:00.Z", "1717243200"]
    {
        assert!(!is_rfc3339(bad), "{bad}");
    }
}

#[test]
fn fix_modes_follows_the_steps_in_order() {
    assert_eq!(fix_modes(2607135461, 71, &[5, 71, 70]), (72, vec![5, 69, 72]));
    assert_eq!(fix_modes(903584917, 0, &[5]), (25, vec![5, 25]));
    assert_eq!(fix_modes(480175362, 10, &[5, 10, 70, 73]), (711, vec![5, 10, 710, 711]));
    assert_eq!(fix_modes(3767360267, 32, &[32, 32]), (54, vec![32, 38, 54]));
    assert_eq!(fix_modes(2303927902, 10, &[5, 10, 73]), (10, vec![5, 10, 73]));
}

#[test]
fn the_small_world_exercises_every_rule_the_oracle_checks() {
    let world = World::generate(&WorldConfig::small());
    assert_the_world_exercises_the_rules(&world);
}

/// The small world has what the rules act on, so a rule that broke would show in some row.
fn assert_the_world_exercises_the_rules(world: &World) {
    let stored: Vec<_> = world.matches.iter().filter(|m| m.kind != MatchKind::GambitPrivate).collect();
    let entries = || stored.iter().flat_map(|m| m.entries().iter());
    let mut fixed_hashes = BTreeSet::new();
    for m in &stored {
        let d = &m.pgcr["activityDetails"];
        let hash = d["directorActivityHash"].as_i64().unwrap();
        let mode = d["mode"].as_i64().unwrap();
        if fix_modes(hash, mode, &[]).0 != mode {
            fixed_hashes.insert(hash);
        }
    }
    for (hash, what) in [
        (2_754_695_317, "competitive survival"),
        (2_607_135_461, "competitive clash"),
        (2_955_009_825, "Iron Banner"),
        (480_175_362, "Checkmate control"),
        (903_584_917, "no mode: elimination"),
    ] {
        assert!(fixed_hashes.contains(&hash), "no {what} match ({hash}) in the world");
    }
    assert!(fixed_hashes.len() >= 8, "private playlists fixed too: {fixed_hashes:?}");
    assert!(stored.iter().any(|m| m.pgcr["teams"].as_array().unwrap().is_empty()), "no rumble (no teams)");
    assert!(entries().any(|e| e.get("extended").is_none()), "no entry without extended");
    assert!(entries().any(|e| e["player"]["destinyUserInfo"]["membershipType"] == 0), "no nameless opponent");
    assert!(
        stored.iter().any(|m| m.distinct_characters().len() < m.entries().len()),
        "no report listing a character twice"
    );
    let renamed = |card: &serde_json::Value| {
        card["displayName"]
            .as_str()
            .is_some_and(|d| !d.is_empty() && Some(d) != card["bungieGlobalDisplayName"].as_str())
    };
    assert!(world.players.iter().any(|p| renamed(&p.card(&p.primary))), "no player with a platform name of their own");
    assert!(
        entries().any(|e| renamed(&e["player"]["destinyUserInfo"])),
        "no opponent with a platform name of their own"
    );
}
