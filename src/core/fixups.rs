//! The data fix-ups: Bungie files some playlists under the wrong mode, or under none; the dcli
//! family repairs them before storing so the readers can filter by mode. The rules are the
//! reference tool's, so both tools store the same modes for a match.
//!
//! An activity has a primary mode and a list of modes ([`Modes`], each mode listed once). Three
//! operations change them:
//! - *set M*: M becomes the primary mode, and is added to the list if missing;
//! - *add M*: M is added to the list if missing; the primary mode stays;
//! - *drop M*: M is removed from the list; the primary mode stays.
//!
//! [`apply`] runs five steps in this order, each seeing what the previous ones left (step 2
//! matches on the primary mode step 1 may have set, step 5 only sees a primary mode 32 that no
//! earlier step replaced). Within a step at most one rule matches, and its operations run in the
//! order written:
//! 1. Primary mode 0 (Bungie gave none), by director activity hash: 2259621230 → set 48;
//!    903584917 or 3847433434 → set 25; 1113451448 → set 88.
//! 2. The competitive playlists (hash 2754695317 or 2607135461), by primary mode: 89 → set 704,
//!    add 69; 71 → drop 71, drop 70, set 72, add 69; 88 → set 700; 59 → set 701; 37 → set 702;
//!    38 → set 703, add 69.
//! 3. Iron Banner, by hash: 2955009825 → set 800, drop 45; 2888503916 → set 801, drop 91.
//! 4. Checkmate, by hash: 480175362 → set 711, add 710, drop 70, drop 73; 2461220411 → set 713,
//!    add 710, drop 70; 1251966208 → set 714, add 710, drop 71, drop 70; 2344293485 → set 715,
//!    add 710, drop 70; 3876264582 → set 712, add 710, drop 69.
//! 5. Private matches (primary mode 32), by hash: 4242525388 or 559852413 → set 51, add 12;
//!    1859507212 or 3959500077 → set 52, add 10; 2491884566 or 3076038389 → set 57, add 48;
//!    29726492 or 1543557109 → set 56, add 25; 2143799792 or 2903879783 → set 55, add 37;
//!    2923123473 → set 80; 3530889940 → set 81; 84526555 → set 62, add 61; 3344441646 → set 61;
//!    1887396202 → set 59; 1978116819 → set 88; 2404525917 → set 65; 1218001922 → set 53,
//!    add 31; 3767360267 → set 54, add 38.
//!
//! Modes 700–715 and 800–801 are the dcli family's own numbers for playlists Bungie gives no
//! mode of their own. Every rule is data, in the tables below, one table per step; the
//! fix-ups are idempotent, so fixing a fixed activity changes nothing.

/// Hashes of the competitive playlists (pre-Season 25 and freelance).
const COMPETITIVE_HASHES: [i64; 2] = [2_754_695_317, 2_607_135_461];
/// Mode 0: Bungie gave no mode at all.
const MODE_NONE: i64 = 0;
/// Mode 32: private matches.
const MODE_PRIVATE: i64 = 32;

/// One change to an activity's modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// Make the mode primary and add it to the list.
    Set(i64),
    /// Add the mode to the list if it is missing.
    Add(i64),
    /// Remove the mode from the list.
    Drop(i64),
}

use Op::{Add, Drop, Set};

/// Step 1: activities Bungie gave primary mode 0, by director activity hash.
const MODE_NONE_RULES: &[(i64, &[Op])] =
    &[(2_259_621_230, &[Set(48)]), (903_584_917, &[Set(25)]), (3_847_433_434, &[Set(25)]), (1_113_451_448, &[Set(88)])];

/// Step 2: activities of the [`COMPETITIVE_HASHES`] playlists, by primary mode (the game type
/// Bungie filed them under).
const COMPETITIVE_RULES: &[(i64, &[Op])] = &[
    (89, &[Set(704), Add(69)]),
    (71, &[Drop(71), Drop(70), Set(72), Add(69)]),
    (88, &[Set(700)]),
    (59, &[Set(701)]),
    (37, &[Set(702)]),
    (38, &[Set(703), Add(69)]),
];

/// Step 3: Iron Banner, by hash.
const IRON_BANNER_RULES: &[(i64, &[Op])] =
    &[(2_955_009_825, &[Set(800), Drop(45)]), (2_888_503_916, &[Set(801), Drop(91)])];

/// Step 4: Checkmate, by hash.
const CHECKMATE_RULES: &[(i64, &[Op])] = &[
    (480_175_362, &[Set(711), Add(710), Drop(70), Drop(73)]),
    (2_461_220_411, &[Set(713), Add(710), Drop(70)]),
    (1_251_966_208, &[Set(714), Add(710), Drop(71), Drop(70)]),
    (2_344_293_485, &[Set(715), Add(710), Drop(70)]),
    (3_876_264_582, &[Set(712), Add(710), Drop(69)]),
];

/// Step 5: private matches (primary mode 32), by hash.
const PRIVATE_RULES: &[(i64, &[Op])] = &[
    (4_242_525_388, &[Set(51), Add(12)]),
    (559_852_413, &[Set(51), Add(12)]),
    (1_859_507_212, &[Set(52), Add(10)]),
    (3_959_500_077, &[Set(52), Add(10)]),
    (2_491_884_566, &[Set(57), Add(48)]),
    (3_076_038_389, &[Set(57), Add(48)]),
    (29_726_492, &[Set(56), Add(25)]),
    (1_543_557_109, &[Set(56), Add(25)]),
    (2_143_799_792, &[Set(55), Add(37)]),
    (2_903_879_783, &[Set(55), Add(37)]),
    (2_923_123_473, &[Set(80)]),
    (3_530_889_940, &[Set(81)]),
    (84_526_555, &[Set(62), Add(61)]),
    (3_344_441_646, &[Set(61)]),
    (1_887_396_202, &[Set(59)]),
    (1_978_116_819, &[Set(88)]),
    (2_404_525_917, &[Set(65)]),
    (1_218_001_922, &[Set(53), Add(31)]),
    (3_767_360_267, &[Set(54), Add(38)]),
];

/// An activity's primary mode and mode list.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Modes {
    pub mode: i64,
    pub modes: Vec<i64>,
}

impl Modes {
    /// Builds the modes as Bungie sent them, dropping repeated entries.
    pub fn new(mode: i64, modes: &[i64]) -> Self {
        let mut unique = Vec::with_capacity(modes.len());
        let mut seen = std::collections::HashSet::with_capacity(modes.len());
        for &m in modes {
            if seen.insert(m) {
                unique.push(m);
            }
        }
        Modes { mode, modes: unique }
    }

    fn run(&mut self, ops: &[Op]) {
        for op in ops {
            match *op {
                Set(m) => {
                    self.mode = m;
                    self.add(m);
                }
                Add(m) => self.add(m),
                Drop(m) => self.modes.retain(|&x| x != m),
            }
        }
    }

    fn add(&mut self, m: i64) {
        if !self.modes.contains(&m) {
            self.modes.push(m);
        }
    }
}

fn rule(rules: &'static [(i64, &'static [Op])], key: i64) -> Option<&'static [Op]> {
    rules.iter().find(|(k, _)| *k == key).map(|(_, ops)| *ops)
}

/// Applies the five fix-up steps, in order, to an activity with director activity hash `hash`.
pub fn apply(hash: i64, mut modes: Modes) -> Modes {
    if modes.mode == MODE_NONE {
        if let Some(ops) = rule(MODE_NONE_RULES, hash) {
            modes.run(ops);
        }
    }
    if COMPETITIVE_HASHES.contains(&hash) {
        if let Some(ops) = rule(COMPETITIVE_RULES, modes.mode) {
            modes.run(ops);
        }
    }
    if let Some(ops) = rule(IRON_BANNER_RULES, hash) {
        modes.run(ops);
    }
    if let Some(ops) = rule(CHECKMATE_RULES, hash) {
        modes.run(ops);
    }
    if modes.mode == MODE_PRIVATE {
        if let Some(ops) = rule(PRIVATE_RULES, hash) {
            modes.run(ops);
        }
    }
    modes
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every hash any rule names, plus a few that no rule names.
    fn interesting_hashes() -> Vec<i64> {
        let mut hashes: Vec<i64> = [MODE_NONE_RULES, IRON_BANNER_RULES, CHECKMATE_RULES, PRIVATE_RULES]
            .iter()
            .flat_map(|rules| rules.iter().map(|(h, _)| *h))
            .chain(COMPETITIVE_HASHES)
            .collect();
        hashes.extend([0, 1, 2_259_621_231, 2_526_740_498]);
        hashes
    }

    #[test]
    fn fixups_snapshot() {
        // One story per rule family: what Bungie sent, and what dclisync stores.
        let cases: Vec<(&str, i64, i64, Vec<i64>)> = vec![
            ("rumble with no mode", 2_259_621_230, 0, vec![5]),
            ("no mode, hash 1113451448", 1_113_451_448, 0, vec![]),
            ("mode 0 with an unknown hash stays 0", 42, 0, vec![5]),
            ("competitive collision", 2_754_695_317, 89, vec![5, 89, 69]),
            ("competitive clash", 2_607_135_461, 71, vec![5, 71, 70]),
            ("competitive elimination", 2_754_695_317, 88, vec![5, 88]),
            ("competitive survival", 2_607_135_461, 37, vec![5, 37, 69]),
            ("competitive countdown", 2_754_695_317, 38, vec![5, 38]),
            ("competitive hash, other mode untouched", 2_754_695_317, 10, vec![5, 10]),
            ("iron banner tribute", 2_955_009_825, 19, vec![5, 19, 45]),
            ("iron banner fortress", 2_888_503_916, 90, vec![5, 90, 91]),
            ("checkmate control", 480_175_362, 10, vec![5, 10, 70, 73]),
            ("checkmate survival", 3_876_264_582, 37, vec![5, 37, 69]),
            ("private clash", 4_242_525_388, 32, vec![32]),
            ("private countdown", 3_767_360_267, 32, vec![32]),
            ("private rift", 84_526_555, 32, vec![32]),
            ("private hash but public mode untouched", 4_242_525_388, 10, vec![5, 10]),
            ("plain control untouched", 2_259_621_231, 10, vec![5, 10, 73, 10]),
        ];
        let results: Vec<(String, Modes)> = cases
            .into_iter()
            .map(|(name, hash, mode, list)| {
                (format!("{name} (hash {hash}, mode {mode}, modes {list:?})"), apply(hash, Modes::new(mode, &list)))
            })
            .collect();
        insta::with_settings!({snapshot_path => "../../snapshots", prepend_module_to_snapshot => false}, {
            insta::assert_yaml_snapshot!("fixups", results);
        });
    }

    #[test]
    fn set_makes_primary_and_lists_it() {
        let fixed = apply(2_259_621_230, Modes::new(0, &[5]));
        assert_eq!(fixed, Modes { mode: 48, modes: vec![5, 48] });
    }

    proptest! {
        /// Fix-ups are idempotent: fixing an already fixed activity changes nothing.
        #[test]
        fn fixups_are_idempotent(
            hash in prop::sample::select(interesting_hashes()),
            mode in prop::sample::select(vec![0i64, 5, 10, 19, 32, 37, 38, 48, 59, 69, 70, 71, 73, 84, 88, 89, 91]),
            list in prop::collection::vec(0i64..100, 0..8),
        ) {
            let once = apply(hash, Modes::new(mode, &list));
            let twice = apply(hash, once.clone());
            prop_assert_eq!(twice, once);
        }

        /// The primary mode is always listed among the modes after a fix-up that set it, and
        /// fix-ups never list a mode twice.
        #[test]
        fn modes_stay_a_set(hash in prop::sample::select(interesting_hashes()), mode in 0i64..100, list in prop::collection::vec(0i64..100, 0..8)) {
            let fixed = apply(hash, Modes::new(mode, &list));
            let mut sorted = fixed.modes.clone();
            sorted.sort_unstable();
            sorted.dedup();
            prop_assert_eq!(sorted.len(), fixed.modes.len());
            if fixed.mode != mode {
                prop_assert!(fixed.modes.contains(&fixed.mode));
            }
        }
    }
}
