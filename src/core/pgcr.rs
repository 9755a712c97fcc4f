//! A post-game carnage report as the rows the dcli tables hold.
//!
//! [`normalize`] is pure: it takes the parsed report and gives a [`PgcrRows`] with every rule
//! below applied; the store writes these rows as they are. The rules follow the reference tool's,
//! so that the dcli readers (and SQL written for either tool) see the same rows whichever tool
//! stored a match.
//!
//! # The activity
//!
//! - `activity_id` is the instance id that was asked for. A report that names another instance
//!   is refused ([`NormalizeError::WrongInstance`]): storing it under the asked id would file one
//!   match under another. A report that names none is taken as the one asked for. A report with
//!   neither `activityDetails` nor `entries` is refused as empty, so the activity stays queued
//!   and is asked for again.
//! - `period` is stored as `YYYY-MM-DDTHH:MM:SS+00:00` in UTC, fractions dropped and offsets
//!   folded in ([`normalize_period`]): the readers compare periods as text, which orders them
//!   only if every row is written in this one form. Text that is not a timestamp is stored as it
//!   came; a report without a period gets the Unix epoch.
//! - `mode` and the `modes` rows are `activityDetails.mode` and `modes[]` (each mode once) after
//!   the fix-ups of [`crate::core::fixups`]; `platform` is `activityDetails.membershipType`;
//!   `director_activity_hash` and `reference_id` are stored as sent.
//!
//! # Teams
//!
//! One `team_result` row per `teams[]` entry that has a `teamId` (the first of a repeated id
//! wins): the integer part of `score.basic.value`, and of `standing.basic.value`, or
//! [`STANDING_UNKNOWN`] when the team has none. Rumble has no teams, so no rows.
//!
//! # Entries
//!
//! Each `entries[]` entry gives one member row, one character row and one stats row:
//! - the member comes from `player.destinyUserInfo`: `platform_id` is its `membershipType`, the
//!   Bungie name is kept only together with a code from 0 to 9999, and the code is stored
//!   zero-padded to four digits (42 → `"0042"`), as Bungie shows it; an empty name is no name.
//! - the character is `characterId`, of the class [`class_of_hash`] reads from
//!   `player.classHash`: 3655393761 Titan (0), 671679327 Hunter (1), 2271682572 Warlock (2),
//!   anything else [`CLASS_UNKNOWN`] (255). The store lets a known class repair a stored 255 and
//!   never lets 255 replace a known class, so a report that lost the class costs nothing.
//! - the stats row holds the integer part of `values.<key>.basic.value` for `assists`, `score`,
//!   `kills`, `deaths`, `completed`, `opponentsDefeated`, `activityDurationSeconds`,
//!   `standing`, `team`, `completionReason`, `startSeconds`, `timePlayedSeconds`,
//!   `playerCount` and `teamScore`; `averageScorePerKill` and `averageScorePerLife` as floats;
//!   `player.lightLevel` and `player.emblemHash`; the fireteam id as text (below); and from
//!   `extended.values` the integer part of `precisionKills`, `weaponKillsAbility`,
//!   `weaponKillsGrenade`, `weaponKillsMelee`, `weaponKillsSuper` and `allMedalsEarned`.
//! - every `extended.values` key, those six included, is one `medal_result` row: the key as
//!   text (in a column the schema declares INTEGER, as the reference tool does) and its count.
//! - every `extended.weapons[]` entry with a `referenceId` is one `weapon_result` row:
//!   `uniqueWeaponKills`, `uniqueWeaponPrecisionKills` and the float
//!   `uniqueWeaponKillsPrecisionKills` (the first of a repeated weapon wins). A `weapons` list
//!   holding anything but objects is read as no list at all.
//!
//! An entry without a membership id or a character id cannot be tied to a member or character
//! row, and a second entry for the same character (a player who left and rejoined) would break
//! the one-row-per-character-and-activity key: both are left out and counted in
//! [`PgcrRows::skipped_entries`].
//!
//! # Missing values
//!
//! A missing or malformed value never makes a report unstorable. `standing` becomes
//! [`STANDING_UNKNOWN`] (2325); every other missing number becomes 0 (`team`, the averages, a
//! platform, a hash); an entry without `extended` gets zeros in the six columns above and no
//! medal or weapon rows. Mode and platform numbers dclisync does not know are stored as they
//! come, so the readers can make sense of them later.
//!
//! # Fireteam ids
//!
//! Bungie sends `fireteamId` only as a float `value`; its `displayValue` is a 32-bit number
//! clamped to "-2147483648", the same for everyone, and useless. [`fireteam_text`] writes the
//! float's integer part in plain decimal, with no exponent and no ".0", in the shortest digits
//! that identify the float (1.2740764323870416e17 → "127407643238704160"; "0" when missing):
//! the text the reference tool stores, so fireteams compare equal across rows of both tools.
//!
//! # Member rows
//!
//! A report is a snapshot of its match, and an entry may list a player without a Bungie name or
//! with platform 0. So the store lets a report's member row only fill in what the stored row
//! lacks: it never overwrites a stored platform, display name or Bungie name, and a nameless
//! entry never blanks a known player (see [`crate::shell::store`]). With `DCLI_FIX_DATA`, such
//! entries of players not stored yet are first repaired from Bungie
//! ([`crate::core::plan::member_lookups`]).

use std::collections::HashSet;

use serde::Serialize;

use crate::core::bungie::model::{stat, ActivityDetails, Entry, EntryPlayer, Extended, Pgcr, UserCard};
use crate::core::fixups::{Activity, Modes, Rules};
use crate::core::ids::{ActivityId, CharacterId, MemberId, Membership};
use crate::core::name::format_code;
use crate::core::time::{format_utc, normalize_period};

/// `standing` when Bungie gives none (rumble, or a player who left).
pub const STANDING_UNKNOWN: i64 = 2325;
/// `class` when the class hash is not one of the three classes.
pub const CLASS_UNKNOWN: i64 = 255;
/// Class hashes of Titan, Hunter and Warlock, and the class number the dcli tables use.
const CLASS_HASHES: [(i64, i64); 3] = [(3_655_393_761, 0), (671_679_327, 1), (2_271_682_572, 2)];

/// Everything one PGCR contributes to the database.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PgcrRows {
    pub activity: ActivityRow,
    /// The activity's modes after fix-ups, primary mode included.
    pub modes: Vec<i64>,
    pub teams: Vec<TeamRow>,
    pub players: Vec<PlayerRows>,
    /// Entries that could not be stored (no character id or no membership id).
    pub skipped_entries: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActivityRow {
    pub activity_id: ActivityId,
    pub period: String,
    pub mode: i64,
    pub platform: i64,
    pub director_activity_hash: i64,
    pub reference_id: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TeamRow {
    pub team_id: i64,
    pub score: i64,
    pub standing: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberRow {
    pub member_id: MemberId,
    pub platform_id: i64,
    pub display_name: Option<String>,
    pub bungie_display_name: Option<String>,
    pub bungie_display_name_code: Option<String>,
}

impl MemberRow {
    /// A member row from a user card; `None` when the card has no membership id. Names are
    /// stored as Bungie sent them: an empty name (common for players who left a match early)
    /// is stored as an empty string, not as NULL, as the earlier dclisync stored it. A whole
    /// Bungie name (name and valid code) is stored as a pair; a code outside 0–9999 is not.
    pub fn from_card(card: &UserCard) -> Option<MemberRow> {
        let (name, code) = match card.bungie_name() {
            Some((name, code)) => (Some(name.to_string()), Some(format_code(code))),
            None => (card.bungie_global_display_name.clone(), None),
        };
        Some(MemberRow {
            member_id: MemberId(card.membership_id?),
            platform_id: card.membership_type.unwrap_or(0),
            display_name: card.display_name.clone(),
            bungie_display_name: name,
            bungie_display_name_code: code,
        })
    }

    /// The membership Bungie's player endpoints address: this row's platform and id.
    pub fn membership(&self) -> Membership {
        Membership { platform: self.platform_id, id: self.member_id }
    }

    /// How the member is named in messages: the Bungie name, or the platform name, or the id.
    pub fn label(&self) -> String {
        match (named(&self.bungie_display_name), &self.bungie_display_name_code) {
            (Some(name), Some(code)) => format!("{name}#{code}"),
            _ => named(&self.display_name).map_or_else(|| format!("member {}", self.member_id), str::to_string),
        }
    }

    /// Whether this row lacks what DCLI_FIX_DATA repairs: a Bungie name and code, or a
    /// platform. An empty name counts as no name.
    pub fn is_incomplete(&self) -> bool {
        !self.has_bungie_name() || self.platform_id == 0
    }

    /// Whether the row holds a Bungie name: a name that is not blank, and a code.
    pub fn has_bungie_name(&self) -> bool {
        named(&self.bungie_display_name).is_some() && self.bungie_display_name_code.is_some()
    }
}

/// A stored name, unless it is missing or blank.
pub fn named(name: &Option<String>) -> Option<&str> {
    name.as_deref().filter(|n| !n.trim().is_empty())
}

impl MemberRow {}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CharacterRow {
    pub character_id: CharacterId,
    pub member_id: MemberId,
    pub class: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatsRow {
    pub assists: i64,
    pub score: i64,
    pub kills: i64,
    pub deaths: i64,
    pub average_score_per_kill: f64,
    pub average_score_per_life: f64,
    pub completed: i64,
    pub opponents_defeated: i64,
    pub activity_duration_seconds: i64,
    pub standing: i64,
    pub team: i64,
    pub completion_reason: i64,
    pub start_seconds: i64,
    pub time_played_seconds: i64,
    pub player_count: i64,
    pub team_score: i64,
    pub precision_kills: i64,
    pub weapon_kills_ability: i64,
    pub weapon_kills_grenade: i64,
    pub weapon_kills_melee: i64,
    pub weapon_kills_super: i64,
    pub all_medals_earned: i64,
    pub light_level: i64,
    pub emblem_hash: i64,
    pub fireteam_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MedalRow {
    pub reference_id: String,
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeaponRow {
    pub reference_id: i64,
    pub kills: i64,
    pub precision_kills: i64,
    pub kills_precision_kills_ratio: f64,
}

/// One entry of the report: the player, their character, and their stats.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlayerRows {
    pub member: MemberRow,
    pub character: CharacterRow,
    pub stats: StatsRow,
    pub medals: Vec<MedalRow>,
    pub weapons: Vec<WeaponRow>,
}

/// Why a report cannot be stored at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NormalizeError {
    /// The report is for a different match than the one asked for.
    WrongInstance { asked: ActivityId, got: ActivityId },
    /// The report has neither activity details nor entries (Bungie sent an empty response).
    Empty { asked: ActivityId },
}

impl std::fmt::Display for NormalizeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NormalizeError::WrongInstance { asked, got } => {
                write!(f, "asked for match {asked} but Bungie.net sent match {got}")
            }
            NormalizeError::Empty { asked } => write!(f, "Bungie.net sent an empty report for match {asked}"),
        }
    }
}

/// The class number for a class hash: 0 Titan, 1 Hunter, 2 Warlock, 255 anything else.
pub fn class_of_hash(hash: Option<i64>) -> i64 {
    hash.and_then(|h| CLASS_HASHES.iter().find(|(ch, _)| *ch == h).map(|(_, c)| *c)).unwrap_or(CLASS_UNKNOWN)
}

/// A fireteam id as the reference tool stores it: the float's integer part in plain decimal,
/// no exponent and no ".0", written with the shortest digits that identify the float (Rust's
/// `Display`), so 1.2740764323870416e17 → "127407643238704160". Bungie sends fireteam ids only as
/// floats (their `displayValue` is a clamped 32-bit number and useless); writing them exactly as
/// the reference tool does makes fireteams compare equal across both tools.
pub fn fireteam_text(value: f64) -> String {
    let whole = value.trunc();
    if whole == 0.0 {
        return "0".to_string();
    }
    format!("{whole}")
}

fn int_stat(values: &std::collections::BTreeMap<String, crate::core::bungie::model::Stat>, key: &str) -> Option<i64> {
    stat(values, key).map(|v| v.trunc() as i64)
}

/// Turns a report into rows, its modes fixed by `rules`. `asked` is the instance id that was
/// requested: a report for another match is refused, and a report that does not say its id is
/// taken as the one asked for.
pub fn normalize(asked: ActivityId, pgcr: &Pgcr, rules: &Rules) -> Result<PgcrRows, NormalizeError> {
    if pgcr.activity_details.is_none() && pgcr.entries.is_empty() {
        return Err(NormalizeError::Empty { asked });
    }
    let no_details = ActivityDetails::default();
    let details = pgcr.activity_details.as_ref().unwrap_or(&no_details);
    if let Some(got) = details.instance_id.map(ActivityId).filter(|id| *id != asked) {
        return Err(NormalizeError::WrongInstance { asked, got });
    }
    let hash = details.director_activity_hash.unwrap_or(0);
    let reference_id = details.reference_id.unwrap_or(0);
    let facts =
        Activity { director_activity_hash: hash, reference_id, is_private: details.is_private.unwrap_or(false) };
    let fixed = rules.apply(&facts, Modes::new(details.mode.unwrap_or(0), &details.modes));
    let period = match pgcr.period.as_deref() {
        Some(p) => normalize_period(p),
        None => format_utc(0),
    };
    let activity = ActivityRow {
        activity_id: asked,
        period,
        mode: fixed.mode,
        platform: details.membership_type.unwrap_or(0),
        director_activity_hash: hash,
        reference_id,
    };

    let mut teams: Vec<TeamRow> = Vec::new();
    // First listing wins, in listed order; the sets keep every check constant-time.
    let mut team_ids = HashSet::new();
    for team in &pgcr.teams {
        let Some(team_id) = team.team_id else { continue };
        if !team_ids.insert(team_id) {
            continue;
        }
        teams.push(TeamRow {
            team_id,
            score: team.score.as_ref().and_then(|s| s.value()).map_or(0, |v| v.trunc() as i64),
            standing: team.standing.as_ref().and_then(|s| s.value()).map_or(STANDING_UNKNOWN, |v| v.trunc() as i64),
        });
    }

    let mut players: Vec<PlayerRows> = Vec::with_capacity(pgcr.entries.len());
    let mut skipped_entries = 0;
    let mut character_ids = HashSet::new();
    for entry in &pgcr.entries {
        match player_rows(entry) {
            // A player who left and rejoined can be listed twice; the first listing wins, as the
            // table holds one row per (activity, character).
            Some(rows) if !character_ids.insert(rows.character.character_id) => {
                skipped_entries += 1;
            }
            Some(rows) => players.push(rows),
            None => skipped_entries += 1,
        }
    }

    Ok(PgcrRows { activity, modes: fixed.modes, teams, players, skipped_entries })
}

fn player_rows(entry: &Entry) -> Option<PlayerRows> {
    let no_player = EntryPlayer::default();
    let player = entry.player.as_ref().unwrap_or(&no_player);
    let no_card = UserCard::default();
    let member = MemberRow::from_card(player.destiny_user_info.as_ref().unwrap_or(&no_card))?;
    let character_id = CharacterId(entry.character_id?);
    let character = CharacterRow { character_id, member_id: member.member_id, class: class_of_hash(player.class_hash) };

    let v = &entry.values;
    let int = |key: &str| int_stat(v, key).unwrap_or(0);
    let no_extended = Extended::default();
    let extended = entry.extended.as_ref().unwrap_or(&no_extended);
    let ext = |key: &str| int_stat(&extended.values, key).unwrap_or(0);
    let stats = StatsRow {
        assists: int("assists"),
        score: int("score"),
        kills: int("kills"),
        deaths: int("deaths"),
        average_score_per_kill: stat(v, "averageScorePerKill").unwrap_or(0.0),
        average_score_per_life: stat(v, "averageScorePerLife").unwrap_or(0.0),
        completed: int("completed"),
        opponents_defeated: int("opponentsDefeated"),
        activity_duration_seconds: int("activityDurationSeconds"),
        standing: int_stat(v, "standing").unwrap_or(STANDING_UNKNOWN),
        team: int("team"),
        completion_reason: int("completionReason"),
        start_seconds: int("startSeconds"),
        time_played_seconds: int("timePlayedSeconds"),
        player_count: int("playerCount"),
        team_score: int("teamScore"),
        precision_kills: ext("precisionKills"),
        weapon_kills_ability: ext("weaponKillsAbility"),
        weapon_kills_grenade: ext("weaponKillsGrenade"),
        weapon_kills_melee: ext("weaponKillsMelee"),
        weapon_kills_super: ext("weaponKillsSuper"),
        all_medals_earned: ext("allMedalsEarned"),
        light_level: player.light_level.unwrap_or(0),
        emblem_hash: player.emblem_hash.unwrap_or(0),
        fireteam_id: fireteam_text(stat(v, "fireteamId").unwrap_or(0.0)),
    };
    let medals = extended
        .values
        .iter()
        .map(|(key, s)| MedalRow { reference_id: key.clone(), count: s.value().map_or(0, |c| c.trunc() as i64) })
        .collect();
    let mut weapons: Vec<WeaponRow> = Vec::new();
    let mut weapon_ids = HashSet::new();
    for w in extended.weapons.iter().flatten() {
        let Some(reference_id) = w.reference_id else { continue };
        if !weapon_ids.insert(reference_id) {
            continue;
        }
        weapons.push(WeaponRow {
            reference_id,
            kills: int_stat(&w.values, "uniqueWeaponKills").unwrap_or(0),
            precision_kills: int_stat(&w.values, "uniqueWeaponPrecisionKills").unwrap_or(0),
            kills_precision_kills_ratio: stat(&w.values, "uniqueWeaponKillsPrecisionKills").unwrap_or(0.0),
        });
    }
    Some(PlayerRows { member, character, stats, medals, weapons })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;
    use proptest::prelude::*;
    use serde_json::{json, Value};

    const FIXTURES: &[&str] = &[
        "control_6v6",
        "trials_3v3",
        "rumble_no_teams",
        "mode0_rumble_fixup",
        "mode0_elimination_fixup",
        "competitive_collision",
        "competitive_clash",
        "iron_banner",
        "checkmate_control",
        "private_clash",
        "private_rumble",
        "gambit_private",
        "nameless_entry",
        "no_extended",
        "no_weapons",
    ];

    fn fixture(name: &str) -> (ActivityId, Pgcr) {
        let report: Pgcr = testdata::response(&format!("pgcr/{name}.json"));
        let id = report.activity_details.as_ref().and_then(|d| d.instance_id).expect("fixture has an instance id");
        (ActivityId(id), report)
    }

    #[test]
    fn fixture_row_sets() {
        for name in FIXTURES {
            let (id, report) = fixture(name);
            let rows = normalize(id, &report, Rules::builtin()).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(rows.players.len() + rows.skipped_entries, report.entries.len(), "{name}");
            insta::with_settings!({snapshot_path => "../../snapshots", prepend_module_to_snapshot => false}, {
                insta::assert_yaml_snapshot!(format!("pgcr_{name}"), rows);
            });
        }
    }

    #[test]
    fn an_empty_name_is_stored_as_sent_but_counts_as_no_name() {
        let row = |name: Option<&str>, code: Option<&str>, platform| MemberRow {
            member_id: MemberId(1),
            platform_id: platform,
            display_name: Some(String::new()),
            bungie_display_name: name.map(str::to_string),
            bungie_display_name_code: code.map(str::to_string),
        };
        let cases = [
            ("a whole Bungie name", row(Some("Quill"), Some("0088"), 3), false, "Quill#0088"),
            ("an empty name with a code", row(Some(""), Some("0042"), 3), true, "member 1"),
            ("a blank name", row(Some("  "), Some("0042"), 3), true, "member 1"),
            ("no name", row(None, None, 3), true, "member 1"),
            ("platform 0", row(Some("Quill"), Some("0088"), 0), true, "Quill#0088"),
        ];
        for (name, member, incomplete, label) in cases {
            assert_eq!((member.is_incomplete(), member.label().as_str()), (incomplete, label), "{name}");
        }
    }

    #[test]
    fn value_rules() {
        let (id, rumble) = fixture("rumble_no_teams");
        let rows = normalize(id, &rumble, Rules::builtin()).unwrap();
        assert!(rows.teams.is_empty(), "rumble has no teams");
        assert!(rows.players.iter().all(|p| p.stats.team == 0), "no team value means team 0");
        assert!(rows.players.iter().any(|p| p.stats.standing == STANDING_UNKNOWN), "no standing means 2325");
        assert!(rows.activity.period.ends_with("+00:00"), "period in the readers' form");

        let (id, nameless) = fixture("nameless_entry");
        let rows = normalize(id, &nameless, Rules::builtin()).unwrap();
        let lumen = rows
            .players
            .iter()
            .find(|p| p.member.member_id == MemberId(4_611_686_018_400_001_040))
            .expect("nameless member");
        assert_eq!(
            (lumen.member.platform_id, lumen.member.bungie_display_name.as_deref()),
            (0, Some("")),
            "an empty name is stored as sent"
        );
        assert!(lumen.member.is_incomplete());
        let gravel = rows
            .players
            .iter()
            .find(|p| p.character.character_id == CharacterId(2_305_843_009_400_001_410))
            .expect("class 0");
        assert_eq!(gravel.character.class, CLASS_UNKNOWN);

        let (id, no_extended) = fixture("no_extended");
        let rows = normalize(id, &no_extended, Rules::builtin()).unwrap();
        let latch = rows
            .players
            .iter()
            .find(|p| p.character.character_id == CharacterId(2_305_843_009_400_001_190))
            .expect("latch");
        assert!(latch.medals.is_empty() && latch.weapons.is_empty());
        assert_eq!((latch.stats.precision_kills, latch.stats.all_medals_earned), (0, 0));
    }

    #[test]
    fn fireteam_ids_are_the_integer_part_as_text() {
        assert_eq!(fireteam_text(1.274_076_432_387_041_6e17), "127407643238704160");
        // Shortest round-trip digits, not the exact binary value (…776384): the reference's text.
        assert_eq!(fireteam_text(1.274_977_233_917_763_8e17), "127497723391776380");
        assert_eq!(fireteam_text(42.9), "42");
        assert_eq!(fireteam_text(0.0), "0");
        assert_eq!(fireteam_text(-3.5), "-3");
        assert_eq!(fireteam_text(-0.2), "0");
    }

    #[test]
    fn refuses_a_report_for_another_match() {
        let (id, report) = fixture("control_6v6");
        let other = ActivityId(id.0 + 1);
        assert_eq!(
            normalize(other, &report, Rules::builtin()),
            Err(NormalizeError::WrongInstance { asked: other, got: id })
        );
        assert_eq!(normalize(id, &Pgcr::default(), Rules::builtin()), Err(NormalizeError::Empty { asked: id }));
    }

    fn stat(value: f64) -> Value {
        json!({"basic": {"value": value, "displayValue": value.to_string()}})
    }

    fn entry(member: u64, character: u64, kills: f64) -> Value {
        json!({
            "player": {"destinyUserInfo": {"membershipId": member.to_string(), "membershipType": 3,
                        "bungieGlobalDisplayName": "p", "bungieGlobalDisplayNameCode": 7},
                       "classHash": 671_679_327u64, "lightLevel": 2000, "emblemHash": 1},
            "characterId": character.to_string(),
            "values": {"kills": stat(kills), "fireteamId": stat(1.5e17)},
            "extended": {"values": {"precisionKills": stat(1.0)}, "weapons": []}
        })
    }

    /// Arbitrary JSON, a few levels deep.
    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            "\\PC{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(
                    prop::sample::select(vec![
                        "activityDetails",
                        "entries",
                        "teams",
                        "period",
                        "instanceId",
                        "mode",
                        "modes",
                        "player",
                        "characterId",
                        "values",
                        "extended",
                        "weapons",
                        "basic",
                        "value",
                        "destinyUserInfo",
                        "membershipId",
                        "teamId",
                        "score",
                        "standing",
                        "x",
                    ])
                    .prop_map(str::to_string),
                    inner,
                    0..6
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// Replaces the value at a pseudo-random place in `doc` with `with` (or removes an object key).
    fn mutate(node: &mut Value, mut path: Vec<usize>, with: Value) {
        let Some(step) = path.pop() else {
            *node = with;
            return;
        };
        match node {
            Value::Object(map) if !map.is_empty() => {
                let Some(key) = map.keys().nth(step % map.len()).cloned() else { return };
                if path.is_empty() && step % 3 == 0 {
                    map.remove(&key);
                } else if let Some(child) = map.get_mut(&key) {
                    mutate(child, path, with);
                }
            }
            Value::Array(items) if !items.is_empty() => {
                let len = items.len();
                mutate(&mut items[step % len], path, with);
            }
            _ => *node = with,
        }
    }

    proptest! {
        /// Normalizing never panics on arbitrary JSON shaped roughly like a report.
        #[test]
        fn normalizing_arbitrary_json_never_panics(doc in any_json(), asked in any::<i64>()) {
            if let Ok(report) = serde_json::from_value::<Pgcr>(doc) {
                let _ = normalize(ActivityId(asked), &report, Rules::builtin());
            }
        }

        /// Normalizing never panics on a real-shaped report with parts removed or replaced, and
        /// such a report stays storable unless its instance id itself was changed.
        #[test]
        fn normalizing_mutated_reports_never_panics(
            which in prop::sample::select(FIXTURES.to_vec()),
            mutations in prop::collection::vec((prop::collection::vec(any::<usize>(), 1..7), any_json()), 1..5),
        ) {
            let mut doc = testdata::json(&format!("pgcr/{which}.json"))["Response"].clone();
            let id = doc["activityDetails"]["instanceId"].as_str().and_then(|s| s.parse::<i64>().ok()).unwrap_or(0);
            for (path, with) in mutations {
                mutate(&mut doc, path, with);
            }
            let report: Pgcr = serde_json::from_value(doc).expect("the lenient model reads any JSON object");
            let result = normalize(ActivityId(id), &report, Rules::builtin());
            let id_intact = report.activity_details.as_ref().and_then(|d| d.instance_id).is_none_or(|got| got == id);
            let has_something = report.activity_details.is_some() || !report.entries.is_empty();
            prop_assert_eq!(result.is_ok(), id_intact && has_something);
        }

        /// The client reads a report's bytes straight into the model; that gives the report (or
        /// the error) that reading the body as a `Value` first gives, whatever the body holds.
        #[test]
        fn bytes_read_as_the_value_reads(
            which in prop::sample::select(FIXTURES.to_vec()),
            mutations in prop::collection::vec((prop::collection::vec(any::<usize>(), 1..7), any_json()), 0..5),
            whole in any_json(),
            replace_whole in any::<bool>(),
        ) {
            use crate::core::bungie::envelope::{classify, classify_as, response_as};
            let mut doc = testdata::json(&format!("pgcr/{which}.json"))["Response"].clone();
            for (path, with) in mutations {
                mutate(&mut doc, path, with);
            }
            if replace_whole {
                doc = whole;
            }
            let body = json!({"Response": doc, "ErrorCode": 1, "ThrottleSeconds": 0, "ErrorStatus": "Success",
                              "Message": "Ok", "MessageData": {}}).to_string();
            let json = Some("application/json");
            let straight: Result<Pgcr, _> = classify_as(200, json, None, body.as_bytes());
            let via_value = classify(200, json, None, body.as_bytes()).and_then(response_as::<Pgcr>);
            prop_assert_eq!(straight, via_value);
        }

        /// Every entry of a report (with its own character) yields exactly one stats row, for
        /// that character, whatever else the report holds.
        #[test]
        fn every_entry_yields_one_stats_row(characters in prop::collection::hash_set(1u64..1_000_000, 0..16), kills in 0.0f64..60.0) {
            let entries: Vec<Value> = characters.iter().map(|&c| entry(4_611_686_018_400_000_000 + c, c, kills)).collect();
            let doc = json!({"period": "2024-01-01T00:00:00Z",
                             "activityDetails": {"instanceId": "77", "mode": 10, "modes": [5, 10]},
                             "entries": entries, "teams": []});
            let report: Pgcr = serde_json::from_value(doc).unwrap();
            let rows = normalize(ActivityId(77), &report, Rules::builtin()).unwrap();
            prop_assert_eq!(rows.players.len(), characters.len());
            prop_assert_eq!(rows.skipped_entries, 0);
            let got: std::collections::HashSet<u64> = rows.players.iter().map(|p| p.character.character_id.0 as u64).collect();
            prop_assert_eq!(got, characters);
            prop_assert!(rows.players.iter().all(|p| p.stats.kills == kills.trunc() as i64));
        }
    }
}
