//! Reading the database a dclisync run left behind: read-only, with the column names of dcli's
//! schema, so a misnamed column fails loudly. [`Db::dump`] renders every dcli table canonically
//! (no autoincrement ids, sorted rows) so two databases can be compared for equality.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OpenFlags};

use crate::oracle::{is_rfc3339, Cell, Tables, WALL_CLOCK};
use crate::world::ExpectedActivity;

/// File name of the database inside the data dir.
pub const DB_FILE: &str = "dcli.sqlite3";

/// The tables the dcli readers know, in the order dcli's schema creates them.
pub const DCLI_TABLES: [&str; 11] = [
    "version",
    "member",
    "sync",
    "character",
    "activity",
    "modes",
    "team_result",
    "activity_queue",
    "character_activity_stats",
    "weapon_result",
    "medal_result",
];

/// Per dcli table, a SELECT of its whole rows in the oracle's shape
/// ([`crate::oracle::TABLE_COLUMNS`]): every column but autoincrement ids, a row that points at
/// a statistics row naming its activity and character instead.
const ROW_QUERIES: [(&str, &str); 11] = [
    ("version", "SELECT version FROM version"),
    (
        "member",
        "SELECT member_id, platform_id, display_name, bungie_display_name, bungie_display_name_code FROM member",
    ),
    ("sync", "SELECT member, last_sync FROM sync"),
    ("character", "SELECT character_id, member, class FROM character"),
    ("activity", "SELECT activity_id, period, mode, platform, director_activity_hash, reference_id FROM activity"),
    ("modes", "SELECT activity, mode FROM modes"),
    ("team_result", "SELECT activity, team_id, score, standing FROM team_result"),
    ("activity_queue", "SELECT activity_id, character, synced FROM activity_queue"),
    (
        "character_activity_stats",
        "SELECT activity, character, assists, score, kills, deaths, average_score_per_kill, \
         average_score_per_life, completed, opponents_defeated, activity_duration_seconds, \
         standing, team, completion_reason, start_seconds, time_played_seconds, player_count, \
         team_score, precision_kills, weapon_kills_ability, weapon_kills_grenade, \
         weapon_kills_melee, weapon_kills_super, all_medals_earned, light_level, emblem_hash, \
         fireteam_id FROM character_activity_stats",
    ),
    (
        "weapon_result",
        "SELECT s.activity, s.character, w.reference_id, w.kills, w.precision_kills, \
         w.kills_precision_kills_ratio FROM weapon_result w \
         JOIN character_activity_stats s ON s.id = w.character_activity_stats",
    ),
    (
        "medal_result",
        "SELECT s.activity, s.character, m.reference_id, m.count FROM medal_result m \
         JOIN character_activity_stats s ON s.id = m.character_activity_stats",
    ),
];

pub fn db_path(data_dir: &Path) -> PathBuf {
    data_dir.join(DB_FILE)
}

pub struct Db {
    conn: Connection,
    path: PathBuf,
}

impl Db {
    /// Open `<data_dir>/dcli.sqlite3` read-only; panics (failing the test) when it cannot.
    pub fn open(data_dir: &Path) -> Db {
        let path = db_path(data_dir);
        assert!(path.is_file(), "no database at {}", path.display());
        let conn =
            Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
                .unwrap_or_else(|e| panic!("open {} read-only: {e}", path.display()));
        Db { conn, path }
    }

    fn query(&self, sql: &str) -> Vec<Vec<SqlValue>> {
        let mut stmt = self.conn.prepare(sql).unwrap_or_else(|e| panic!("{}: {sql}: {e}", self.path.display()));
        let n = stmt.column_count();
        stmt.query_map([], |row| (0..n).map(|i| row.get::<_, SqlValue>(i)).collect())
            .and_then(Iterator::collect)
            .unwrap_or_else(|e| panic!("{}: {sql}: {e}", self.path.display()))
    }

    /// The first column of every row, as integers.
    pub fn i64s(&self, sql: &str) -> Vec<i64> {
        self.query(sql)
            .into_iter()
            .map(|row| match &row[0] {
                SqlValue::Integer(i) => *i,
                other => panic!("{sql}: expected an integer, got {other:?}"),
            })
            .collect()
    }

    pub fn scalar(&self, sql: &str) -> i64 {
        let values = self.i64s(sql);
        assert_eq!(values.len(), 1, "{sql}: expected one row");
        values[0]
    }

    pub fn tables(&self) -> BTreeSet<String> {
        self.query("SELECT name FROM sqlite_master WHERE type = 'table'")
            .into_iter()
            .map(|row| render(&row[0]))
            .collect()
    }

    pub fn count(&self, table: &str) -> i64 {
        self.scalar(&format!("SELECT COUNT(*) FROM \"{table}\""))
    }

    /// Rows per dcli table.
    pub fn counts(&self) -> BTreeMap<&'static str, i64> {
        DCLI_TABLES.iter().map(|t| (*t, self.count(t))).collect()
    }

    pub fn activity_ids(&self) -> BTreeSet<i64> {
        self.i64s("SELECT activity_id FROM activity").into_iter().collect()
    }

    pub fn version_values(&self) -> Vec<i64> {
        self.i64s("SELECT version FROM version")
    }

    pub fn unsynced_queue_rows(&self) -> i64 {
        self.scalar("SELECT COUNT(*) FROM activity_queue WHERE synced = 0")
    }

    pub fn stats_rows(&self) -> i64 {
        self.count("character_activity_stats")
    }

    pub fn member_ids(&self) -> BTreeSet<i64> {
        self.i64s("SELECT member_id FROM member").into_iter().collect()
    }

    pub fn character_ids(&self) -> BTreeSet<i64> {
        self.i64s("SELECT character_id FROM character").into_iter().collect()
    }

    /// One `member` row as (platform_id, display_name, bungie_display_name,
    /// bungie_display_name_code), each rendered as text ("NULL" for null).
    pub fn member(&self, member_id: i64) -> Option<[String; 4]> {
        self.query(&format!(
            "SELECT platform_id, display_name, bungie_display_name, bungie_display_name_code \
             FROM member WHERE member_id = {member_id}"
        ))
        .first()
        .map(|row| [render(&row[0]), render(&row[1]), render(&row[2]), render(&row[3])])
    }

    /// Members on the sync list (the `sync` table).
    pub fn sync_members(&self) -> BTreeSet<i64> {
        self.i64s("SELECT member FROM sync").into_iter().collect()
    }

    /// Activity rows in the shape the world predicts them.
    pub fn activities(&self) -> BTreeMap<i64, ExpectedActivity> {
        self.query(
            "SELECT activity_id, period, platform, director_activity_hash, reference_id \
             FROM activity",
        )
        .into_iter()
        .map(|row| {
            let int = |v: &SqlValue| match v {
                SqlValue::Integer(i) => *i,
                other => panic!("activity: expected an integer, got {other:?}"),
            };
            (
                int(&row[0]),
                ExpectedActivity {
                    period: render(&row[1]),
                    platform: int(&row[2]),
                    director_activity_hash: int(&row[3]),
                    reference_id: int(&row[4]),
                },
            )
        })
        .collect()
    }

    /// `fireteam_id` per (activity, character), rendered with its storage type.
    pub fn fireteams(&self) -> BTreeMap<(i64, i64), String> {
        self.query("SELECT activity, character, fireteam_id FROM character_activity_stats")
            .into_iter()
            .map(|row| match (&row[0], &row[1], &row[2]) {
                (SqlValue::Integer(a), SqlValue::Integer(c), SqlValue::Text(f)) => ((*a, *c), f.clone()),
                (a, c, f) => ((int_or_panic(a), int_or_panic(c)), format!("{f:?}")),
            })
            .collect()
    }

    /// Every dcli table's whole rows, as [`ROW_QUERIES`] reads them. `sync.last_sync`, a
    /// wall-clock time, is checked for its shape only: a well-formed time reads as
    /// [`WALL_CLOCK`], anything else as itself (and so differs from what is expected of it).
    fn table_rows(&self) -> impl Iterator<Item = (&'static str, Vec<Vec<SqlValue>>)> + '_ {
        ROW_QUERIES.iter().map(|(table, sql)| {
            let mut rows = self.query(sql);
            if *table == "sync" {
                for row in &mut rows {
                    if let Some(SqlValue::Text(t)) =
                        row.get_mut(1).filter(|c| matches!(c, SqlValue::Text(t) if is_rfc3339(t)))
                    {
                        *t = WALL_CLOCK.to_string();
                    }
                }
            }
            (*table, rows)
        })
    }

    /// Every dcli table's whole rows in the oracle's shape, sorted.
    pub fn rows(&self) -> Tables {
        let rows = self
            .table_rows()
            .map(|(table, rows)| (table, rows.iter().map(|row| row.iter().map(cell).collect()).collect()))
            .collect();
        Tables::from_rows(rows)
    }

    /// Every dcli table, canonically: rows rendered with their storage types, sorted.
    pub fn dump(&self) -> Dump {
        let tables = self
            .table_rows()
            .map(|(table, rows)| {
                let mut rows: Vec<String> =
                    rows.iter().map(|row| row.iter().map(render_typed).collect::<Vec<_>>().join(" | ")).collect();
                rows.sort();
                (table, rows)
            })
            .collect();
        Dump { tables }
    }
}

fn int_or_panic(v: &SqlValue) -> i64 {
    match v {
        SqlValue::Integer(i) => *i,
        other => panic!("expected an integer, got {other:?}"),
    }
}

/// A stored value as the oracle writes it; a blob (no dcli column holds one) as its bytes in
/// text, so it differs from anything expected.
fn cell(v: &SqlValue) -> Cell {
    match v {
        SqlValue::Null => Cell::Null,
        SqlValue::Integer(i) => Cell::Int(*i),
        SqlValue::Real(f) => Cell::real(*f),
        SqlValue::Text(t) => Cell::Text(t.clone()),
        SqlValue::Blob(b) => Cell::Text(format!("blob:{b:02x?}")),
    }
}

fn render(v: &SqlValue) -> String {
    match v {
        SqlValue::Null => "NULL".into(),
        SqlValue::Integer(i) => i.to_string(),
        SqlValue::Real(f) => format!("{f:?}"),
        SqlValue::Text(t) => t.clone(),
        SqlValue::Blob(b) => format!("blob:{b:02x?}"),
    }
}

/// A value with its sqlite storage class, so `5` and `'5'` differ.
fn render_typed(v: &SqlValue) -> String {
    match v {
        SqlValue::Null => "null".into(),
        SqlValue::Integer(i) => format!("i:{i}"),
        SqlValue::Real(f) => format!("r:{f:?}"),
        SqlValue::Text(t) => format!("t:{t:?}"),
        SqlValue::Blob(b) => format!("b:{b:02x?}"),
    }
}

/// Canonical content of the dcli tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dump {
    pub tables: BTreeMap<&'static str, Vec<String>>,
}

impl Dump {
    pub fn rows(&self, table: &str) -> &[String] {
        self.tables.get(table).map(Vec::as_slice).unwrap_or(&[])
    }

    /// A readable account of how `other` differs, or `None` when equal.
    pub fn diff(&self, other: &Dump) -> Option<String> {
        const SHOWN: usize = 5;
        let mut out = String::new();
        for (table, mine) in &self.tables {
            let theirs = other.rows(table);
            if mine.as_slice() == theirs {
                continue;
            }
            let a: BTreeSet<&String> = mine.iter().collect();
            let b: BTreeSet<&String> = theirs.iter().collect();
            let _ = writeln!(out, "table {table}: {} rows vs {} rows", mine.len(), theirs.len());
            for row in a.difference(&b).take(SHOWN) {
                let _ = writeln!(out, "  - only left:  {row}");
            }
            for row in b.difference(&a).take(SHOWN) {
                let _ = writeln!(out, "  + only right: {row}");
            }
            if a == b {
                let _ = writeln!(out, "  (same rows, different multiplicities)");
            }
        }
        (!out.is_empty()).then_some(out)
    }
}
