//! The oracle of stored data: every row of every dcli table that a complete sync of a generated
//! world must leave, computed from the world's JSON alone (the reports, user cards and profiles
//! the fake Bungie serves), with the value rules and the mode fix-ups written here again from the
//! contract, not taken from dclisync. [`crate::db::Db::rows`] reads a database into the same
//! shape, and [`Tables::diff`] says, table by table, which rows differ.
//!
//! # The shape of a row
//!
//! Each table is a list of rows of [`Cell`]s, sorted, in the column order of [`TABLE_COLUMNS`].
//! Autoincrement ids are left out: a row that points at a statistics row names its activity and
//! character instead, so rows compare by what they mean. Numbers are compared as sqlite stores
//! them: integers as integers, floats as the exact double (the one the JSON text parses to),
//! text as text, so `5` and `'5'` differ. The first columns of each table (its
//! [`Table::key_columns`]) identify a row; the diff pairs stored and expected rows by them.
//!
//! `sync.last_sync` is a wall-clock time: it is checked for its shape (RFC 3339, seconds and a
//! UTC offset), not its value, and holds [`WALL_CLOCK`] in both the expected and the read rows
//! when the shape is right.
//!
//! # The rules the oracle applies
//!
//! - activity: the instance id, the period as `YYYY-MM-DDTHH:MM:SS+00:00`, the mode and modes
//!   after the fix-ups ([`fix_modes`]), `membershipType`, `directorActivityHash`, `referenceId`;
//! - team_result: one row per team, its score and standing;
//! - per entry, the first listing of a character only (a player who left and rejoined is listed
//!   twice): the member from `destinyUserInfo`, the character with the class its hash names
//!   (255 for an unknown one), one statistics row (standing 2325 and team 0 when missing, the
//!   extended counts 0 without `extended`), one medal row per `extended.values` key and one
//!   weapon row per weapon;
//! - member: tracked players as their search and profile cards show them; everyone else as the
//!   reports show them (every report of the world shows a member the same way), so a nameless
//!   opponent keeps its empty name and platform 0 — unless DCLI_FIX_DATA is on, where it is
//!   stored as its real account is;
//! - character: the tracked players' live characters, and every character of a stored report;
//! - activity_queue: each stored match once per tracked character that played it, synced;
//! - sync: one row per tracked player; version: 10.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write as _};

use serde_json::Value;

use crate::world::{MatchKind, World};

/// What a wall-clock column holds in both the expected and the read rows, once its shape is
/// checked.
pub const WALL_CLOCK: &str = "<wall clock, RFC 3339>";

/// `standing` when Bungie gives none.
const STANDING_UNKNOWN: i64 = 2325;
/// `class` when the class hash is none of the three.
const CLASS_UNKNOWN: i64 = 255;
/// The version the dcli readers expect.
const DCLI_VERSION: i64 = 10;

/// Every dcli table as the oracle and the reader shape it: name, how many leading columns
/// identify a row, and the columns.
pub const TABLE_COLUMNS: [(&str, usize, &[&str]); 11] = [
    ("version", 1, &["version"]),
    ("member", 1, &["member_id", "platform_id", "display_name", "bungie_display_name", "bungie_display_name_code"]),
    ("sync", 1, &["member", "last_sync"]),
    ("character", 1, &["character_id", "member", "class"]),
    ("activity", 1, &["activity_id", "period", "mode", "platform", "director_activity_hash", "reference_id"]),
    ("modes", 2, &["activity", "mode"]),
    ("team_result", 2, &["activity", "team_id", "score", "standing"]),
    ("activity_queue", 2, &["activity_id", "character", "synced"]),
    ("character_activity_stats", 2, &STATS_COLUMNS),
    (
        "weapon_result",
        3,
        &["activity", "character", "reference_id", "kills", "precision_kills", "kills_precision_kills_ratio"],
    ),
    ("medal_result", 3, &["activity", "character", "reference_id", "count"]),
];

/// The statistics row: activity and character, then the value columns in the schema's order.
pub const STATS_COLUMNS: [&str; 27] = [
    "activity",
    "character",
    "assists",
    "score",
    "kills",
    "deaths",
    "average_score_per_kill",
    "average_score_per_life",
    "completed",
    "opponents_defeated",
    "activity_duration_seconds",
    "standing",
    "team",
    "completion_reason",
    "start_seconds",
    "time_played_seconds",
    "player_count",
    "team_score",
    "precision_kills",
    "weapon_kills_ability",
    "weapon_kills_grenade",
    "weapon_kills_melee",
    "weapon_kills_super",
    "all_medals_earned",
    "light_level",
    "emblem_hash",
    "fireteam_id",
];

/// One stored value, with its sqlite storage class. A float is kept as its shortest round-trip
/// text, which is equal exactly when the doubles are.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cell {
    Null,
    Int(i64),
    Real(String),
    Text(String),
}

impl Cell {
    pub fn real(value: f64) -> Cell {
        Cell::Real(format!("{value:?}"))
    }

    pub fn text(value: &str) -> Cell {
        Cell::Text(value.to_string())
    }

    fn opt_text(value: Option<&str>) -> Cell {
        value.map_or(Cell::Null, Cell::text)
    }
}

impl fmt::Display for Cell {
    /// Integers bare, floats with their point (`2.0`), text quoted, NULL as `NULL`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cell::Null => f.write_str("NULL"),
            Cell::Int(i) => write!(f, "{i}"),
            Cell::Real(r) => f.write_str(r),
            Cell::Text(t) => write!(f, "{t:?}"),
        }
    }
}

pub type Row = Vec<Cell>;

/// One table's rows, sorted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub columns: &'static [&'static str],
    pub key_columns: usize,
    pub rows: Vec<Row>,
}

/// Every dcli table by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tables {
    pub tables: BTreeMap<&'static str, Table>,
}

/// How one table differs: the number of rows (by key) that differ, and the first few.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDiff {
    pub table: &'static str,
    pub differing: usize,
    pub first: Vec<String>,
}

impl fmt::Display for TableDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "table {}: {} row(s) differ", self.table, self.differing)?;
        for line in &self.first {
            write!(f, "\n      {line}")?;
        }
        Ok(())
    }
}

fn render_row(row: &[Cell]) -> String {
    row.iter().map(ToString::to_string).collect::<Vec<_>>().join(" | ")
}

impl Tables {
    /// Tables in [`TABLE_COLUMNS`]'s shape from rows per table name (sorted here).
    pub fn from_rows(mut rows: BTreeMap<&'static str, Vec<Row>>) -> Tables {
        let tables = TABLE_COLUMNS
            .iter()
            .map(|&(name, key_columns, columns)| {
                let mut rows = rows.remove(name).unwrap_or_default();
                rows.sort();
                (name, Table { columns, key_columns, rows })
            })
            .collect();
        Tables { tables }
    }

    pub fn rows(&self, table: &str) -> &[Row] {
        self.tables.get(table).map_or(&[], |t| t.rows.as_slice())
    }

    /// Per table that differs: how many rows differ (paired by their key columns) and the first
    /// `shown` of them as `stored … / expected …`. `self` is what is stored.
    pub fn diff(&self, expected: &Tables, shown: usize) -> Vec<TableDiff> {
        let mut out = Vec::new();
        for (name, table) in &expected.tables {
            let keyed = |rows: &[Row]| {
                let mut map: BTreeMap<Row, Vec<Row>> = BTreeMap::new();
                for row in rows {
                    map.entry(row[..table.key_columns.min(row.len())].to_vec()).or_default().push(row.clone());
                }
                map
            };
            let stored = keyed(self.rows(name));
            let wanted = keyed(&table.rows);
            let keys: BTreeSet<&Row> = stored.keys().chain(wanted.keys()).collect();
            let mut differing = 0;
            let mut first = Vec::new();
            for key in keys {
                let (s, w) = (stored.get(key), wanted.get(key));
                if s == w {
                    continue;
                }
                differing += 1;
                if first.len() < shown {
                    let show = |rows: Option<&Vec<Row>>| {
                        rows.map_or("no row".to_string(), |rows| {
                            rows.iter().map(|r| render_row(r)).collect::<Vec<_>>().join(" ; ")
                        })
                    };
                    first.push(format!("stored   {}\n      expected {}", show(s), show(w)));
                }
            }
            if differing > 0 {
                out.push(TableDiff { table: name, differing, first });
            }
        }
        out
    }

    /// Every table as text: a header naming the columns, then one sorted row a line.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for &(name, _, _) in &TABLE_COLUMNS {
            let Some(table) = self.tables.get(name) else { continue };
            let _ = writeln!(out, "## {name} ({} rows): {}", table.rows.len(), table.columns.join(" | "));
            for row in &table.rows {
                let _ = writeln!(out, "{}", render_row(row));
            }
            out.push('\n');
        }
        out
    }
}

/// Whether `text` is an RFC 3339 time to the second with a UTC offset: `2024-06-01T12:00:00Z`,
/// `…+00:00`, with or without fractions.
pub fn is_rfc3339(text: &str) -> bool {
    let b = text.as_bytes();
    let digits = |r: std::ops::Range<usize>| r.clone().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    let fixed = digits(0..4)
        && b.get(4) == Some(&b'-')
        && digits(5..7)
        && b.get(7) == Some(&b'-')
        && digits(8..10)
        && b.get(10) == Some(&b'T')
        && digits(11..13)
        && b.get(13) == Some(&b':')
        && digits(14..16)
        && b.get(16) == Some(&b':')
        && digits(17..19);
    if !fixed {
        return false;
    }
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let n = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        rest = &fraction[n..];
    }
    let o = rest.as_bytes();
    rest == "Z"
        || (o.len() == 6
            && (o[0] == b'+' || o[0] == b'-')
            && o[1..3].iter().all(u8::is_ascii_digit)
            && o[3] == b':'
            && o[4..6].iter().all(u8::is_ascii_digit))
}

// ---------------------------------------------------------------------------------------------
// The fix-ups, as the dcli family defines them

/// One change to an activity's modes.
#[derive(Debug, Clone, Copy)]
enum Op {
    /// Make the mode primary and list it.
    Set(i64),
    /// List the mode if it is missing.
    Add(i64),
    /// Unlist the mode.
    Drop(i64),
}

use Op::{Add, Drop, Set};

/// Step 1: Bungie gave primary mode 0; by hash.
const NO_MODE: &[(&[i64], &[Op])] =
    &[(&[2259621230], &[Set(48)]), (&[903584917, 3847433434], &[Set(25)]), (&[1113451448], &[Set(88)])];
/// Step 2: the competitive playlists' hashes, then what each game type becomes.
const COMPETITIVE_HASHES: [i64; 2] = [2754695317, 2607135461];
const COMPETITIVE: &[(i64, &[Op])] = &[
    (89, &[Set(704), Add(69)]),
    (71, &[Drop(71), Drop(70), Set(72), Add(69)]),
    (88, &[Set(700)]),
    (59, &[Set(701)]),
    (37, &[Set(702)]),
    (38, &[Set(703), Add(69)]),
];
/// Steps 3 and 4: Iron Banner and Checkmate, by hash, whatever the mode.
const BY_HASH: &[(&[i64], &[Op])] = &[
    (&[2955009825], &[Set(800), Drop(45)]),
    (&[2888503916], &[Set(801), Drop(91)]),
    (&[480175362], &[Set(711), Add(710), Drop(70), Drop(73)]),
    (&[2461220411], &[Set(713), Add(710), Drop(70)]),
    (&[1251966208], &[Set(714), Add(710), Drop(71), Drop(70)]),
    (&[2344293485], &[Set(715), Add(710), Drop(70)]),
    (&[3876264582], &[Set(712), Add(710), Drop(69)]),
];
/// Step 5: private matches (primary mode 32), by hash.
const PRIVATE: &[(&[i64], &[Op])] = &[
    (&[4242525388, 559852413], &[Set(51), Add(12)]),
    (&[1859507212, 3959500077], &[Set(52), Add(10)]),
    (&[2491884566, 3076038389], &[Set(57), Add(48)]),
    (&[29726492, 1543557109], &[Set(56), Add(25)]),
    (&[2143799792, 2903879783], &[Set(55), Add(37)]),
    (&[2923123473], &[Set(80)]),
    (&[3530889940], &[Set(81)]),
    (&[84526555], &[Set(62), Add(61)]),
    (&[3344441646], &[Set(61)]),
    (&[1887396202], &[Set(59)]),
    (&[1978116819], &[Set(88)]),
    (&[2404525917], &[Set(65)]),
    (&[1218001922], &[Set(53), Add(31)]),
    (&[3767360267], &[Set(54), Add(38)]),
];

fn run(ops: &[Op], mode: &mut i64, modes: &mut Vec<i64>) {
    for op in ops {
        match *op {
            Set(m) => {
                *mode = m;
                if !modes.contains(&m) {
                    modes.push(m);
                }
            }
            Add(m) => {
                if !modes.contains(&m) {
                    modes.push(m);
                }
            }
            Drop(m) => modes.retain(|&x| x != m),
        }
    }
}

fn by_hash(table: &[(&[i64], &'static [Op])], hash: i64) -> Option<&'static [Op]> {
    table.iter().find(|(hashes, _)| hashes.contains(&hash)).map(|(_, ops)| *ops)
}

/// The stored (mode, modes) of an activity: the five fix-up steps in order, each seeing what the
/// one before left; modes listed once each, sorted.
pub fn fix_modes(hash: i64, mode: i64, sent: &[i64]) -> (i64, Vec<i64>) {
    let mut mode = mode;
    let mut modes: Vec<i64> = Vec::new();
    for &m in sent {
        if !modes.contains(&m) {
            modes.push(m);
        }
    }
    if mode == 0 {
        if let Some(ops) = by_hash(NO_MODE, hash) {
            run(ops, &mut mode, &mut modes);
        }
    }
    if COMPETITIVE_HASHES.contains(&hash) {
        if let Some((_, ops)) = COMPETITIVE.iter().find(|(m, _)| *m == mode) {
            run(ops, &mut mode, &mut modes);
        }
    }
    if let Some(ops) = by_hash(BY_HASH, hash) {
        run(ops, &mut mode, &mut modes);
    }
    if mode == 32 {
        if let Some(ops) = by_hash(PRIVATE, hash) {
            run(ops, &mut mode, &mut modes);
        }
    }
    modes.sort_unstable();
    (mode, modes)
}

// ---------------------------------------------------------------------------------------------
// Reading the JSON

fn id_of(v: &Value) -> Option<i64> {
    v.as_str().and_then(|s| s.parse().ok()).or_else(|| v.as_i64())
}

/// The float a JSON number is, read from its text as a reader of the served body reads it.
fn float_of(v: &Value) -> Option<f64> {
    v.is_number().then(|| serde_json::from_str::<f64>(&v.to_string()).ok()).flatten()
}

/// `values.<key>.basic.value`.
fn stat(values: &Value, key: &str) -> Option<f64> {
    float_of(&values[key]["basic"]["value"])
}

fn int_stat(values: &Value, key: &str) -> Option<i64> {
    stat(values, key).map(|v| v.trunc() as i64)
}

/// A fireteam id as text: the float's integer part in plain decimal (shortest round-trip
/// digits, no exponent, no ".0"), "0" when missing.
fn fireteam_text(value: Option<f64>) -> String {
    let whole = value.unwrap_or(0.0).trunc();
    if whole == 0.0 {
        "0".to_string()
    } else {
        format!("{whole}")
    }
}

/// The class number of a class hash.
fn class_of(hash: Option<i64>) -> i64 {
    match hash {
        Some(3655393761) => 0,
        Some(671679327) => 1,
        Some(2271682572) => 2,
        _ => CLASS_UNKNOWN,
    }
}

/// A member row from a user card: platform (0 when missing), platform name as sent, and the
/// Bungie name with its code zero-padded to four digits when the card has a code from 0 to 9999;
/// without one, the name as sent and no code.
fn member_row(card: &Value) -> Option<Row> {
    let id = id_of(&card["membershipId"])?;
    let code = card["bungieGlobalDisplayNameCode"].as_i64().filter(|c| (0..=9999).contains(c));
    let name = card["bungieGlobalDisplayName"].as_str();
    let (bungie, code) = match (name, code) {
        (Some(n), Some(c)) if !n.is_empty() => (Cell::text(n), Cell::Text(format!("{c:04}"))),
        _ => (Cell::opt_text(name), Cell::Null),
    };
    Some(vec![
        Cell::Int(id),
        Cell::Int(card["membershipType"].as_i64().unwrap_or(0)),
        Cell::opt_text(card["displayName"].as_str()),
        bungie,
        code,
    ])
}

/// Whether a report's card lacks what DCLI_FIX_DATA repairs: a Bungie name with a code, or a
/// platform.
fn is_incomplete(card: &Value) -> bool {
    let named = card["bungieGlobalDisplayName"].as_str().is_some_and(|n| !n.trim().is_empty());
    let coded = card["bungieGlobalDisplayNameCode"].as_i64().is_some();
    !named || !coded || card["membershipType"].as_i64().unwrap_or(0) == 0
}

/// Every row of every dcli table after a complete sync of every tracked player of `world`, with
/// DCLI_FIX_DATA on or off.
pub fn expected_tables(world: &World, fix_data: bool) -> Tables {
    let mut rows: BTreeMap<&'static str, Vec<Row>> = BTreeMap::new();
    let mut members: BTreeMap<i64, Row> = BTreeMap::new();
    let mut characters: BTreeMap<i64, Row> = BTreeMap::new();
    rows.insert("version", vec![vec![Cell::Int(DCLI_VERSION)]]);

    // Tracked players: as the search and profile show them, which overrides any report.
    for player in &world.players {
        let card = player.card(&player.primary);
        let row = member_row(&card).expect("a tracked player has an id");
        let member = player.member_id();
        members.insert(member, row);
        rows.entry("sync").or_default().push(vec![Cell::Int(member), Cell::text(WALL_CLOCK)]);
        for c in player.live_characters() {
            let id: i64 = c.character_id.parse().expect("character ids are numbers");
            characters.insert(id, vec![Cell::Int(id), Cell::Int(member), Cell::Int(class_of(Some(c.class_hash)))]);
        }
    }

    for m in world.matches.iter().filter(|m| m.kind != MatchKind::GambitPrivate) {
        let r = &m.pgcr;
        let details = &r["activityDetails"];
        let activity = id_of(&details["instanceId"]).expect("an instance id");
        let hash = details["directorActivityHash"].as_i64().unwrap_or(0);
        let sent: Vec<i64> =
            details["modes"].as_array().map(|a| a.iter().filter_map(Value::as_i64).collect()).unwrap_or_default();
        let (mode, modes) = fix_modes(hash, details["mode"].as_i64().unwrap_or(0), &sent);
        let period = r["period"].as_str().map(|p| p.strip_suffix('Z').map_or(p.to_string(), |t| format!("{t}+00:00")));
        rows.entry("activity").or_default().push(vec![
            Cell::Int(activity),
            Cell::Text(period.unwrap_or_default()),
            Cell::Int(mode),
            Cell::Int(details["membershipType"].as_i64().unwrap_or(0)),
            Cell::Int(hash),
            Cell::Int(details["referenceId"].as_i64().unwrap_or(0)),
        ]);
        rows.entry("modes").or_default().extend(modes.iter().map(|&m| vec![Cell::Int(activity), Cell::Int(m)]));

        let mut teams = BTreeSet::new();
        for team in r["teams"].as_array().into_iter().flatten() {
            let Some(team_id) = team["teamId"].as_i64() else { continue };
            if !teams.insert(team_id) {
                continue;
            }
            let value = |key: &str| float_of(&team[key]["basic"]["value"]).map(|v| v.trunc() as i64);
            rows.entry("team_result").or_default().push(vec![
                Cell::Int(activity),
                Cell::Int(team_id),
                Cell::Int(value("score").unwrap_or(0)),
                Cell::Int(value("standing").unwrap_or(STANDING_UNKNOWN)),
            ]);
        }

        let mut seen = BTreeSet::new();
        for entry in m.entries() {
            let player = &entry["player"];
            let card = &player["destinyUserInfo"];
            let (Some(member), Some(character)) = (id_of(&card["membershipId"]), id_of(&entry["characterId"])) else {
                continue;
            };
            // A character listed again (left and rejoined): the first listing is the row.
            if !seen.insert(character) {
                continue;
            }
            let real_card = world.opponent_by_membership(&member.to_string()).map(|o| o.card());
            let shown = match real_card {
                Some(real) if fix_data && is_incomplete(card) && !members.contains_key(&member) => real,
                _ => card.clone(),
            };
            if let Some(row) = member_row(&shown) {
                members.entry(member).or_insert(row);
            }
            let class = class_of(player["classHash"].as_i64());
            let known = characters
                .entry(character)
                .or_insert_with(|| vec![Cell::Int(character), Cell::Int(member), Cell::Int(class)]);
            if known[2] == Cell::Int(CLASS_UNKNOWN) {
                known[2] = Cell::Int(class);
            }

            let v = &entry["values"];
            let int = |key: &str| Cell::Int(int_stat(v, key).unwrap_or(0));
            let real = |key: &str| Cell::real(stat(v, key).unwrap_or(0.0));
            let ext = &entry["extended"]["values"];
            let ext_int = |key: &str| Cell::Int(int_stat(ext, key).unwrap_or(0));
            rows.entry("character_activity_stats").or_default().push(vec![
                Cell::Int(activity),
                Cell::Int(character),
                int("assists"),
                int("score"),
                int("kills"),
                int("deaths"),
                real("averageScorePerKill"),
                real("averageScorePerLife"),
                int("completed"),
                int("opponentsDefeated"),
                int("activityDurationSeconds"),
                Cell::Int(int_stat(v, "standing").unwrap_or(STANDING_UNKNOWN)),
                int("team"),
                int("completionReason"),
                int("startSeconds"),
                int("timePlayedSeconds"),
                int("playerCount"),
                int("teamScore"),
                ext_int("precisionKills"),
                ext_int("weaponKillsAbility"),
                ext_int("weaponKillsGrenade"),
                ext_int("weaponKillsMelee"),
                ext_int("weaponKillsSuper"),
                ext_int("allMedalsEarned"),
                Cell::Int(player["lightLevel"].as_i64().unwrap_or(0)),
                Cell::Int(player["emblemHash"].as_i64().unwrap_or(0)),
                Cell::Text(fireteam_text(stat(v, "fireteamId"))),
            ]);
            for (key, _) in ext.as_object().into_iter().flatten() {
                rows.entry("medal_result").or_default().push(vec![
                    Cell::Int(activity),
                    Cell::Int(character),
                    Cell::text(key),
                    Cell::Int(int_stat(ext, key).unwrap_or(0)),
                ]);
            }
            let mut weapons = BTreeSet::new();
            for w in entry["extended"]["weapons"].as_array().into_iter().flatten() {
                let Some(reference_id) = w["referenceId"].as_i64() else { continue };
                if !weapons.insert(reference_id) {
                    continue;
                }
                let wv = &w["values"];
                rows.entry("weapon_result").or_default().push(vec![
                    Cell::Int(activity),
                    Cell::Int(character),
                    Cell::Int(reference_id),
                    Cell::Int(int_stat(wv, "uniqueWeaponKills").unwrap_or(0)),
                    Cell::Int(int_stat(wv, "uniqueWeaponPrecisionKills").unwrap_or(0)),
                    Cell::real(stat(wv, "uniqueWeaponKillsPrecisionKills").unwrap_or(0.0)),
                ]);
            }
        }
        for &(p, c) in &m.tracked {
            let character: i64 =
                world.players[p].characters[c].character_id.parse().expect("character ids are numbers");
            rows.entry("activity_queue").or_default().push(vec![
                Cell::Int(activity),
                Cell::Int(character),
                Cell::Int(1),
            ]);
        }
    }
    rows.insert("member", members.into_values().collect());
    rows.insert("character", characters.into_values().collect());
    Tables::from_rows(rows)
}
