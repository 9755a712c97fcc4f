//! Every built-in fix-up rule, key by key, through the normalizer.
//!
//! The hand table below is written from the fix-ups as the dcli family defines them (five steps:
//! mode-0 playlists, the competitive playlists by game type, Iron Banner, Checkmate, private
//! matches), not from the embedded rules file. The test walks every rule of the embedded file and
//! every value of each of its match keys (each director activity hash × each mode it names),
//! builds a report for that key, runs it through [`normalize`] and compares the stored mode and
//! modes with the hand table. A rule key the table lacks fails as "untested rule", so a rule
//! cannot be added untested; a table row no rule has fails too, so the table cannot drift.

use std::collections::BTreeMap;

use serde_json::json;

use super::{Rule, Rules};
use crate::core::bungie::model::Pgcr;
use crate::core::ids::ActivityId;
use crate::core::pgcr::normalize;

/// What one rule key matches on: a director activity hash, and the mode the rule names (`None`
/// for rules that match any mode). A reference id or `private` key would need its own column;
/// no built-in rule has one, and a rule that had one is reported untested.
type Key = (i64, Option<i64>);

/// One hand-table row: the key, what Bungie sent (mode, modes), what must be stored.
struct Case {
    key: Key,
    sent: (i64, &'static [i64]),
    stored: (i64, &'static [i64]),
}

const fn case(hash: i64, mode: Option<i64>, sent: (i64, &'static [i64]), stored: (i64, &'static [i64])) -> Case {
    Case { key: (hash, mode), sent, stored }
}

/// The competitive playlists (before Season 25, and freelance).
const COMPETITIVE: [i64; 2] = [2_754_695_317, 2_607_135_461];

/// The fix-ups by hand: every key, a report that reaches it, and the modes it must leave.
fn hand_table() -> Vec<Case> {
    let mut cases = vec![
        // Bungie gave no mode at all (0).
        case(2_259_621_230, Some(0), (0, &[5]), (48, &[5, 48])),
        case(903_584_917, Some(0), (0, &[5]), (25, &[5, 25])),
        case(3_847_433_434, Some(0), (0, &[5]), (25, &[5, 25])),
        case(1_113_451_448, Some(0), (0, &[5]), (88, &[5, 88])),
        // Iron Banner: Tribute, Fortress.
        case(2_955_009_825, None, (19, &[5, 19, 45]), (800, &[5, 19, 800])),
        case(2_888_503_916, None, (90, &[5, 90, 91]), (801, &[5, 90, 801])),
        // Checkmate: Control, Clash, Countdown, Rumble, Survival.
        case(480_175_362, None, (10, &[5, 10, 70, 73]), (711, &[5, 10, 710, 711])),
        case(2_461_220_411, None, (71, &[5, 71, 70]), (713, &[5, 71, 710, 713])),
        case(1_251_966_208, None, (38, &[5, 38, 71, 70]), (714, &[5, 38, 710, 714])),
        case(2_344_293_485, None, (48, &[5, 48, 70]), (715, &[5, 48, 710, 715])),
        case(3_876_264_582, None, (37, &[5, 37, 69]), (712, &[5, 37, 710, 712])),
        // Private matches (mode 32), by playlist.
        case(4_242_525_388, Some(32), (32, &[32]), (51, &[12, 32, 51])),
        case(559_852_413, Some(32), (32, &[32]), (51, &[12, 32, 51])),
        case(1_859_507_212, Some(32), (32, &[32]), (52, &[10, 32, 52])),
        case(3_959_500_077, Some(32), (32, &[32]), (52, &[10, 32, 52])),
        case(2_491_884_566, Some(32), (32, &[32]), (57, &[32, 48, 57])),
        case(3_076_038_389, Some(32), (32, &[32]), (57, &[32, 48, 57])),
        case(29_726_492, Some(32), (32, &[32]), (56, &[25, 32, 56])),
        case(1_543_557_109, Some(32), (32, &[32]), (56, &[25, 32, 56])),
        case(2_143_799_792, Some(32), (32, &[32]), (55, &[32, 37, 55])),
        case(2_903_879_783, Some(32), (32, &[32]), (55, &[32, 37, 55])),
        case(2_923_123_473, Some(32), (32, &[32]), (80, &[32, 80])),
        case(3_530_889_940, Some(32), (32, &[32]), (81, &[32, 81])),
        case(84_526_555, Some(32), (32, &[32]), (62, &[32, 61, 62])),
        case(3_344_441_646, Some(32), (32, &[32]), (61, &[32, 61])),
        case(1_887_396_202, Some(32), (32, &[32]), (59, &[32, 59])),
        case(1_978_116_819, Some(32), (32, &[32]), (88, &[32, 88])),
        case(2_404_525_917, Some(32), (32, &[32]), (65, &[32, 65])),
        case(1_218_001_922, Some(32), (32, &[32]), (53, &[31, 32, 53])),
        case(3_767_360_267, Some(32), (32, &[32]), (54, &[32, 38, 54])),
    ];
    // The competitive playlists, by the game type Bungie filed them under.
    for hash in COMPETITIVE {
        cases.extend([
            case(hash, Some(89), (89, &[5, 89]), (704, &[5, 69, 89, 704])),
            case(hash, Some(71), (71, &[5, 71, 70]), (72, &[5, 69, 72])),
            case(hash, Some(88), (88, &[5, 88]), (700, &[5, 88, 700])),
            case(hash, Some(59), (59, &[5, 59]), (701, &[5, 59, 701])),
            case(hash, Some(37), (37, &[5, 37, 69]), (702, &[5, 37, 69, 702])),
            case(hash, Some(38), (38, &[5, 38]), (703, &[5, 38, 69, 703])),
        ]);
    }
    cases
}

/// Every key of a rule: each hash it names × each mode it names (or any mode). A rule that
/// matches on something else, or on no hash, has no key this table can test.
fn keys_of(rule: &Rule) -> Result<Vec<Key>, String> {
    if rule.reference_id.is_some() || rule.private.is_some() {
        return Err(format!("untested rule {rule}: the hand table has no column for its reference_id or private key"));
    }
    let Some(hashes) = &rule.director_activity_hash else {
        return Err(format!("untested rule {rule}: it names no director activity hash"));
    };
    let modes: Vec<Option<i64>> = rule.mode.as_ref().map_or(vec![None], |m| m.iter().copied().map(Some).collect());
    Ok(hashes.iter().flat_map(|&h| modes.iter().map(move |&m| (h, m))).collect())
}

/// What is wrong between `rules` and `table`: rule keys without a row ("untested rule …"), rows
/// without a rule, and rows whose report is stored with other modes than the row says.
fn failures(rules: &Rules, table: &[Case]) -> Vec<String> {
    let mut out = Vec::new();
    let rows: BTreeMap<Key, &Case> = table.iter().map(|c| (c.key, c)).collect();
    assert_eq!(rows.len(), table.len(), "the hand table lists a key twice");
    let mut covered = Vec::new();
    for rule in rules.iter() {
        match keys_of(rule) {
            Err(message) => out.push(message),
            Ok(keys) => {
                for key in keys {
                    if rows.contains_key(&key) {
                        covered.push(key);
                    } else {
                        out.push(format!(
                            "untested rule {rule}: no hand-table row for hash {} mode {:?}",
                            key.0, key.1
                        ));
                    }
                }
            }
        }
    }
    for case in table {
        if !covered.contains(&case.key) {
            out.push(format!("hand-table row for hash {} mode {:?} matches no rule", case.key.0, case.key.1));
            continue;
        }
        let stored = stored_modes(rules, case);
        let expected = (case.stored.0, sorted(case.stored.1));
        if stored != expected {
            out.push(format!(
                "hash {} mode {:?}: sent {:?}, stored {stored:?}, expected {expected:?}",
                case.key.0, case.key.1, case.sent
            ));
        }
    }
    out
}

fn sorted(modes: &[i64]) -> Vec<i64> {
    let mut modes = modes.to_vec();
    modes.sort_unstable();
    modes
}

/// The stored (mode, sorted modes) of a report for `case`, as the normalizer gives them.
fn stored_modes(rules: &Rules, case: &Case) -> (i64, Vec<i64>) {
    let report: Pgcr = serde_json::from_value(json!({
        "period": "2024-03-01T20:00:00Z",
        "activityDetails": {
            "instanceId": "14000000001",
            "directorActivityHash": case.key.0,
            "referenceId": 750_001_803,
            "mode": case.sent.0,
            "modes": case.sent.1,
            "isPrivate": case.sent.0 == 32,
            "membershipType": 3,
        },
        "entries": [],
        "teams": [],
    }))
    .expect("a report");
    let rows = normalize(ActivityId(14_000_000_001), &report, rules).expect("storable");
    (rows.activity.mode, sorted(&rows.modes))
}

#[test]
fn every_builtin_rule_key_stores_the_hand_tables_modes() {
    let failures = failures(Rules::builtin(), &hand_table());
    assert!(failures.is_empty(), "{} failure(s):\n  {}", failures.len(), failures.join("\n  "));
}

#[test]
fn a_rule_or_a_row_the_other_side_lacks_fails() {
    let extra =
        Rules::with_user("fixups.toml", "[[rule]]\ndirector_activity_hash = 7\nmode = 10\nset = 900\n").expect("valid");
    let found = failures(&extra, &hand_table());
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("untested rule fixups.toml, line 1"), "{found:?}");

    let mut short = hand_table();
    short.retain(|c| c.key != (3_767_360_267, Some(32)));
    short.push(case(1, Some(2), (2, &[2]), (2, &[2])));
    let found = failures(Rules::builtin(), &short);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found[0].starts_with("untested rule built-in rules") && found[0].contains("3767360267"), "{found:?}");
    assert!(found[1].contains("hash 1 mode Some(2)") && found[1].ends_with("matches no rule"), "{found:?}");
}
