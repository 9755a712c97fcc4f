//! The data fix-ups: Bungie files some playlists under the wrong mode, or under none; the dcli
//! family repairs them before storing so the readers can filter by mode. The fix-ups are rules,
//! written as data in a small TOML format: the built-in ones (the reference tool's, so both tools
//! store the same modes for a match) are embedded from `fixups/builtin.toml`, and a user's own
//! rules file, in the same format, runs after them. This module reads rules files and applies
//! rules; which file to read, and reading it, is the shell's.
//!
//! An activity has a primary mode and a list of modes ([`Modes`], each mode listed once). Three
//! actions change them:
//! - *drop M*: M is removed from the list; the primary mode stays;
//! - *set M*: M becomes the primary mode, and is added to the list if missing;
//! - *add M*: M is added to the list if missing; the primary mode stays.
//!
//! A rules file is a list of `[[rule]]` tables. Each has match keys and actions:
//! - match keys `director_activity_hash`, `reference_id` and `mode` (the primary mode as the
//!   rules before left it), each a number or a list of numbers: the activity's value must be one
//!   of them; and `private` (true or false): whether the report says `isPrivate`, or mode 32 is
//!   among the modes the rules before left. Every key a rule gives must match;
//! - actions `drop` and `add` (a number or a list) and `set` (one number), run in the order
//!   drop, set, add.
//!
//! A rule needs at least one match key and at least one action. An unknown key, a value that is
//! not a whole number from 0 to 4294967295 (the range of Bungie's hashes), an empty list to match
//! on, or a rule without a key or an action is an error that names the file and the line.
//!
//! [`Rules::apply`] runs every rule once, in order (the built-in ones first, then the user's in
//! file order); each rule sees what the ones before it left. The built-in rules are written so
//! that running them twice changes nothing (fixing a fixed activity changes nothing).

use std::fmt;
use std::sync::LazyLock;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;

/// The text of the embedded built-in rules.
pub const BUILTIN_SOURCE: &str = include_str!("fixups/builtin.toml");
/// How the built-in rules are named in messages and in `--fixups-check`.
pub const BUILTIN_NAME: &str = "built-in rules";
/// Mode 32: private matches, one of the two things `private = true` looks at.
const MODE_PRIVATE: i64 = 32;
/// The largest number a rule may name: Bungie's hashes are unsigned 32-bit numbers.
const MAX_RULE_NUMBER: i64 = u32::MAX as i64;

static BUILTIN: LazyLock<Rules> = LazyLock::new(|| Rules {
    rules: parse(BUILTIN_NAME, BUILTIN_SOURCE).expect("the embedded rules parse, as a unit test checks"),
});

/// Where a rule was written: the file (or [`BUILTIN_NAME`]) and the line of its `[[rule]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub file: String,
    pub line: usize,
}

/// One fix-up rule: when every match key it gives matches, its actions run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub origin: Origin,
    pub director_activity_hash: Option<Vec<i64>>,
    pub reference_id: Option<Vec<i64>>,
    pub mode: Option<Vec<i64>>,
    pub private: Option<bool>,
    pub drop: Vec<i64>,
    pub set: Option<i64>,
    pub add: Vec<i64>,
}

/// What rules match on besides the modes: the report's fixed facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Activity {
    pub director_activity_hash: i64,
    pub reference_id: i64,
    /// The report's `activityDetails.isPrivate`.
    pub is_private: bool,
}

impl Rule {
    fn matches(&self, activity: &Activity, modes: &Modes) -> bool {
        let one_of = |key: &Option<Vec<i64>>, value: i64| key.as_ref().is_none_or(|values| values.contains(&value));
        let private = activity.is_private || modes.modes.contains(&MODE_PRIVATE);
        one_of(&self.director_activity_hash, activity.director_activity_hash)
            && one_of(&self.reference_id, activity.reference_id)
            && one_of(&self.mode, modes.mode)
            && self.private.is_none_or(|p| p == private)
    }

    fn run(&self, modes: &mut Modes) {
        modes.modes.retain(|m| !self.drop.contains(m));
        if let Some(m) = self.set {
            modes.mode = m;
            modes.add(m);
        }
        for &m in &self.add {
            modes.add(m);
        }
    }
}

impl fmt::Display for Rule {
    /// One line: where the rule is, what it matches, what it does.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |values: &[i64]| match values {
            [one] => one.to_string(),
            many => format!("[{}]", many.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")),
        };
        let mut when = Vec::new();
        for (key, values) in [
            ("director_activity_hash", &self.director_activity_hash),
            ("reference_id", &self.reference_id),
            ("mode", &self.mode),
        ] {
            if let Some(values) = values {
                when.push(format!("{key} = {}", list(values)));
            }
        }
        if let Some(private) = self.private {
            when.push(format!("private = {private}"));
        }
        let mut then = Vec::new();
        if !self.drop.is_empty() {
            then.push(format!("drop {}", list(&self.drop)));
        }
        if let Some(m) = self.set {
            then.push(format!("set {m}"));
        }
        if !self.add.is_empty() {
            then.push(format!("add {}", list(&self.add)));
        }
        write!(f, "{}, line {}: {} -> {}", self.origin.file, self.origin.line, when.join(", "), then.join(", "))
    }
}

/// The rules in force, in the order they run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    rules: Vec<Rule>,
}

impl Rules {
    /// The built-in rules alone.
    pub fn builtin() -> &'static Rules {
        &BUILTIN
    }

    /// The built-in rules followed by the rules of the user's file `file` (its text `text`).
    pub fn with_user(file: &str, text: &str) -> Result<Rules, RulesError> {
        let mut rules = BUILTIN.rules.clone();
        rules.extend(parse(file, text)?);
        Ok(Rules { rules })
    }

    /// Every rule in force, in the order they run.
    pub fn iter(&self) -> impl Iterator<Item = &Rule> {
        self.rules.iter()
    }

    /// What `--fixups-check` prints: how many rules come from where, then each rule on a line.
    /// `user_file` is the user's rules file, if one was read.
    pub fn check_lines(&self, user_file: Option<&str>) -> Vec<String> {
        let builtin = self.rules.iter().filter(|r| r.origin.file == BUILTIN_NAME).count();
        let mut lines = vec![format!("built-in rules: {builtin}")];
        let user = self.rules.len() - builtin;
        lines.push(match user_file {
            Some(file) => format!("your rules: {user}, from {file}"),
            None => "your rules: none (no fix-up rules file)".to_string(),
        });
        lines.extend(self.rules.iter().map(|r| format!("  {r}")));
        lines
    }

    /// Runs every rule, in order, on an activity's modes.
    pub fn apply(&self, activity: &Activity, mut modes: Modes) -> Modes {
        for rule in &self.rules {
            if rule.matches(activity, &modes) {
                rule.run(&mut modes);
            }
        }
        modes
    }
}

/// A rules file that cannot be used: which file, which line, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for RulesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "fix-up rules file {}, line {}: {}; fix the rule (see `dclisync --fixups-check` and the README's fix-up rules)",
            self.file, self.line, self.message
        )
    }
}

impl std::error::Error for RulesError {}

/// The line (from 1) of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes().iter().take(offset).filter(|&&b| b == b'\n').count() + 1
}

/// Reads the rules of one file, `file` naming it in errors.
pub fn parse(file: &str, text: &str) -> Result<Vec<Rule>, RulesError> {
    let error =
        |offset: usize, message: String| RulesError { file: file.to_string(), line: line_of(text, offset), message };
    let raw: RawFile =
        toml::from_str(text).map_err(|e| error(e.span().map_or(0, |s| s.start), e.message().trim_end().to_string()))?;
    let mut rules = Vec::with_capacity(raw.rule.len());
    for spanned in raw.rule {
        let start = spanned.span().start;
        let raw = spanned.into_inner();
        let nonempty = |v: Option<Numbers>| v.map(|n| n.0).filter(|n| !n.is_empty());
        for (key, values) in [
            ("director_activity_hash", &raw.director_activity_hash),
            ("reference_id", &raw.reference_id),
            ("mode", &raw.mode),
        ] {
            if values.as_ref().is_some_and(|n| n.0.is_empty()) {
                return Err(error(start, format!("`{key} = []` matches nothing; give at least one number")));
            }
        }
        let rule = Rule {
            origin: Origin { file: file.to_string(), line: line_of(text, start) },
            director_activity_hash: raw.director_activity_hash.map(|n| n.0),
            reference_id: raw.reference_id.map(|n| n.0),
            mode: raw.mode.map(|n| n.0),
            private: raw.private,
            drop: nonempty(raw.drop).unwrap_or_default(),
            set: raw.set.map(|n| n.0),
            add: nonempty(raw.add).unwrap_or_default(),
        };
        if rule.director_activity_hash.is_none()
            && rule.reference_id.is_none()
            && rule.mode.is_none()
            && rule.private.is_none()
        {
            return Err(error(
                start,
                "the rule has no match key; give director_activity_hash, reference_id, mode or private".to_string(),
            ));
        }
        if rule.drop.is_empty() && rule.set.is_none() && rule.add.is_empty() {
            return Err(error(start, "the rule has no action; give drop, set or add".to_string()));
        }
        rules.push(rule);
    }
    Ok(rules)
}

/// A rules file as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    rule: Vec<toml::Spanned<RawRule>>,
}

/// One `[[rule]]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    director_activity_hash: Option<Numbers>,
    reference_id: Option<Numbers>,
    mode: Option<Numbers>,
    private: Option<bool>,
    drop: Option<Numbers>,
    set: Option<Number>,
    add: Option<Numbers>,
}

/// A number a rule names: 0 to [`MAX_RULE_NUMBER`].
struct Number(i64);

/// A number or a list of numbers.
struct Numbers(Vec<i64>);

fn checked<E: de::Error>(v: i64) -> Result<i64, E> {
    if (0..=MAX_RULE_NUMBER).contains(&v) {
        Ok(v)
    } else {
        Err(E::custom(format!("{v} is out of range: a mode or hash is a whole number from 0 to {MAX_RULE_NUMBER}")))
    }
}

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Number;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a whole number (a mode or a hash)")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Number, E> {
                checked(v).map(Number)
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Numbers {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Numbers;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a whole number (a mode or a hash) or a list of them")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Numbers, E> {
                checked(v).map(|v| Numbers(vec![v]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Numbers, A::Error> {
                let mut values = Vec::new();
                while let Some(Number(v)) = seq.next_element()? {
                    values.push(v);
                }
                Ok(Numbers(values))
            }
        }
        d.deserialize_any(V)
    }
}

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

    fn add(&mut self, m: i64) {
        if !self.modes.contains(&m) {
            self.modes.push(m);
        }
    }
}

#[cfg(test)]
mod every_rule;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The fix-ups as they were before they became rules: five steps of tables, kept as the
    /// oracle the embedded rules file must agree with.
    mod oracle {
        use super::Modes;

        /// Hashes of the competitive playlists (pre-Season 25 and freelance).
        pub const COMPETITIVE_HASHES: [i64; 2] = [2_754_695_317, 2_607_135_461];
        /// Mode 0: Bungie gave no mode at all.
        const MODE_NONE: i64 = 0;
        /// Mode 32: private matches.
        const MODE_PRIVATE: i64 = 32;

        /// One change to an activity's modes.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Op {
            /// Make the mode primary and add it to the list.
            Set(i64),
            /// Add the mode to the list if it is missing.
            Add(i64),
            /// Remove the mode from the list.
            Drop(i64),
        }

        use Op::{Add, Drop, Set};

        /// Step 1: activities Bungie gave primary mode 0, by director activity hash.
        pub const MODE_NONE_RULES: &[(i64, &[Op])] = &[
            (2_259_621_230, &[Set(48)]),
            (903_584_917, &[Set(25)]),
            (3_847_433_434, &[Set(25)]),
            (1_113_451_448, &[Set(88)]),
        ];

        /// Step 2: activities of the [`COMPETITIVE_HASHES`] playlists, by primary mode (the game type
        /// Bungie filed them under).
        pub const COMPETITIVE_RULES: &[(i64, &[Op])] = &[
            (89, &[Set(704), Add(69)]),
            (71, &[Drop(71), Drop(70), Set(72), Add(69)]),
            (88, &[Set(700)]),
            (59, &[Set(701)]),
            (37, &[Set(702)]),
            (38, &[Set(703), Add(69)]),
        ];

        /// Step 3: Iron Banner, by hash.
        pub const IRON_BANNER_RULES: &[(i64, &[Op])] =
            &[(2_955_009_825, &[Set(800), Drop(45)]), (2_888_503_916, &[Set(801), Drop(91)])];

        /// Step 4: Checkmate, by hash.
        pub const CHECKMATE_RULES: &[(i64, &[Op])] = &[
            (480_175_362, &[Set(711), Add(710), Drop(70), Drop(73)]),
            (2_461_220_411, &[Set(713), Add(710), Drop(70)]),
            (1_251_966_208, &[Set(714), Add(710), Drop(71), Drop(70)]),
            (2_344_293_485, &[Set(715), Add(710), Drop(70)]),
            (3_876_264_582, &[Set(712), Add(710), Drop(69)]),
        ];

        /// Step 5: private matches (primary mode 32), by hash.
        pub const PRIVATE_RULES: &[(i64, &[Op])] = &[
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

        fn rule(rules: &'static [(i64, &'static [Op])], key: i64) -> Option<&'static [Op]> {
            rules.iter().find(|(k, _)| *k == key).map(|(_, ops)| *ops)
        }

        /// Applies the five fix-up steps, in order, to an activity with director activity hash `hash`.
        pub fn apply(hash: i64, mut modes: Modes) -> Modes {
            if modes.mode == MODE_NONE {
                if let Some(ops) = rule(MODE_NONE_RULES, hash) {
                    run(&mut modes, ops);
                }
            }
            if COMPETITIVE_HASHES.contains(&hash) {
                if let Some(ops) = rule(COMPETITIVE_RULES, modes.mode) {
                    run(&mut modes, ops);
                }
            }
            if let Some(ops) = rule(IRON_BANNER_RULES, hash) {
                run(&mut modes, ops);
            }
            if let Some(ops) = rule(CHECKMATE_RULES, hash) {
                run(&mut modes, ops);
            }
            if modes.mode == MODE_PRIVATE {
                if let Some(ops) = rule(PRIVATE_RULES, hash) {
                    run(&mut modes, ops);
                }
            }
            modes
        }

        fn run(modes: &mut Modes, ops: &[Op]) {
            for op in ops {
                match *op {
                    Set(m) => {
                        modes.mode = m;
                        if !modes.modes.contains(&m) {
                            modes.modes.push(m);
                        }
                    }
                    Add(m) => {
                        if !modes.modes.contains(&m) {
                            modes.modes.push(m);
                        }
                    }
                    Drop(m) => modes.modes.retain(|&x| x != m),
                }
            }
        }
    }

    /// The built-in rules applied to an activity known by its hash alone.
    fn apply(hash: i64, modes: Modes) -> Modes {
        Rules::builtin().apply(&Activity { director_activity_hash: hash, ..Activity::default() }, modes)
    }

    /// Every hash any rule names, plus a few that no rule names.
    fn interesting_hashes() -> Vec<i64> {
        let mut hashes: Vec<i64> =
            [oracle::MODE_NONE_RULES, oracle::IRON_BANNER_RULES, oracle::CHECKMATE_RULES, oracle::PRIVATE_RULES]
                .iter()
                .flat_map(|rules| rules.iter().map(|(h, _)| *h))
                .chain(oracle::COMPETITIVE_HASHES)
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

    /// The built-in rules as the user sees them, with the facts a report gives.
    fn facts(hash: i64, reference_id: i64, is_private: bool) -> Activity {
        Activity { director_activity_hash: hash, reference_id, is_private }
    }

    #[test]
    fn the_embedded_rules_parse_in_order() {
        let rules = parse(BUILTIN_NAME, BUILTIN_SOURCE).expect("the embedded rules parse");
        assert_eq!(rules.len(), 30);
        assert_eq!(rules[0].origin, Origin { file: BUILTIN_NAME.to_string(), line: 7 });
        assert_eq!(
            rules[0].to_string(),
            "built-in rules, line 7: director_activity_hash = 2259621230, mode = 0 -> set 48"
        );
    }

    #[test]
    fn the_embedded_rules_agree_with_the_old_tables_on_every_fixture() {
        let mut seen = 0;
        for name in crate::testdata::names("pgcr") {
            let report: crate::core::bungie::model::Pgcr = crate::testdata::response(&format!("pgcr/{name}"));
            let d = report.activity_details.unwrap_or_default();
            let hash = d.director_activity_hash.unwrap_or(0);
            let modes = Modes::new(d.mode.unwrap_or(0), &d.modes);
            let facts = facts(hash, d.reference_id.unwrap_or(0), d.is_private.unwrap_or(false));
            assert_eq!(Rules::builtin().apply(&facts, modes.clone()), oracle::apply(hash, modes), "{name}");
            seen += 1;
        }
        assert!(seen >= 15, "read {seen} fixtures");
    }

    #[test]
    fn user_rules_run_after_the_builtin_ones_in_file_order() {
        let text = "# clash tagged as quickplay\n[[rule]]\nmode = 71\nreference_id = [7]\ndrop = [70, 71]\nset = 72\nadd = 69\n\n[[rule]]\nmode = 72\nprivate = false\nadd = [900]\n";
        let rules = Rules::with_user("fixups.toml", text).expect("valid");
        let user: Vec<String> = rules.iter().skip(30).map(ToString::to_string).collect();
        assert_eq!(
            user,
            [
                "fixups.toml, line 2: reference_id = 7, mode = 71 -> drop [70, 71], set 72, add 69",
                "fixups.toml, line 9: mode = 72, private = false -> add 900",
            ]
        );
        let cases = [
            (
                "a matching quickplay clash",
                facts(1, 7, false),
                Modes::new(71, &[5, 71, 70, 12]),
                Modes { mode: 72, modes: vec![5, 12, 72, 69, 900] },
            ),
            ("another reference id", facts(1, 8, false), Modes::new(71, &[5, 71, 70]), Modes::new(71, &[5, 71, 70])),
            (
                "private by isPrivate",
                facts(1, 7, true),
                Modes::new(71, &[5, 71]),
                Modes { mode: 72, modes: vec![5, 72, 69] },
            ),
            (
                "private by mode 32 among the modes",
                facts(1, 7, false),
                Modes::new(71, &[32, 71]),
                Modes { mode: 72, modes: vec![32, 72, 69] },
            ),
        ];
        for (name, activity, sent, stored) in cases {
            assert_eq!(rules.apply(&activity, sent), stored, "{name}");
        }
        let check = rules.check_lines(Some("fixups.toml"));
        assert_eq!(check[..2], ["built-in rules: 30", "your rules: 2, from fixups.toml"]);
        assert_eq!(check.len(), 2 + 32, "one line per rule in force");
        assert_eq!(
            check.last().map(String::as_str),
            Some("  fixups.toml, line 9: mode = 72, private = false -> add 900")
        );
        assert_eq!(Rules::builtin().check_lines(None)[1], "your rules: none (no fix-up rules file)");
    }

    #[test]
    fn bad_rules_files_name_the_file_and_line() {
        let cases = [
            ("not toml", "[[rule]]\nmode = 71\nset = \n", 3, "string values must be quoted"),
            ("an unknown key", "[[rule]]\nmode = 71\nsett = 72\n", 3, "unknown field `sett`"),
            ("an unknown table", "[[rules]]\nmode = 71\nset = 72\n", 1, "unknown field `rules`"),
            ("a mode that is not a number", "\n[[rule]]\nmode = \"71\"\nset = 72\n", 3, "invalid type: string"),
            ("a fraction", "[[rule]]\nmode = 71\nadd = [1.5]\n", 3, "invalid type: floating point"),
            ("a negative number", "[[rule]]\nmode = -1\nset = 72\n", 2, "out of range"),
            ("a list for set", "[[rule]]\nmode = 1\nset = [72]\n", 3, "invalid type: sequence"),
            ("no match key", "[[rule]]\nmode = 1\nset = 2\n\n[[rule]]\nset = 72\n", 5, "no match key"),
            ("no action", "[[rule]]\nmode = 71\n", 1, "no action"),
            ("an empty rule", "\n\n[[rule]]\n", 3, "no match key"),
            ("an empty list to match", "[[rule]]\nmode = []\nset = 1\n", 1, "matches nothing"),
        ];
        for (name, text, line, message) in cases {
            let err = Rules::with_user("/data/fixups.toml", text).expect_err(name);
            assert_eq!((err.file.as_str(), err.line), ("/data/fixups.toml", line), "{name}: {err}");
            assert!(err.message.contains(message), "{name}: {}", err.message);
            assert!(err.to_string().starts_with("fix-up rules file /data/fixups.toml, line "), "{name}");
        }
    }

    #[test]
    fn an_empty_rules_file_adds_nothing() {
        let rules = Rules::with_user("fixups.toml", "# nothing yet\n").expect("valid");
        assert_eq!(&rules, Rules::builtin());
    }

    proptest! {

        /// The embedded rules file gives exactly what the five old tables gave, for any
        /// activity, so moving the tables into a file changed no stored row.
        #[test]
        fn the_embedded_rules_equal_the_old_tables(
            hash in prop::sample::select(interesting_hashes()),
            mode in prop::sample::select(vec![0i64, 5, 10, 12, 19, 25, 32, 37, 38, 45, 48, 59, 69, 70, 71, 72, 73, 84, 88, 89, 91, 700, 704, 710, 800]),
            list in prop::collection::vec(prop::sample::select(vec![0i64, 5, 10, 12, 32, 37, 38, 45, 48, 69, 70, 71, 73, 88, 89, 91, 710, 711]), 0..8),
            reference_id in 0i64..3,
            is_private: bool,
        ) {
            let modes = Modes::new(mode, &list);
            prop_assert_eq!(Rules::builtin().apply(&facts(hash, reference_id, is_private), modes.clone()), oracle::apply(hash, modes));
        }
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
