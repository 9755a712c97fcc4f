//! The store: the one owner of every SQL statement.
//!
//! The database is the product: players query it with SQL, and the dcli reader tools (dcliah,
//! dcliad, dclistat) open it directly. Its rules:
//! - It is the file [`DB_FILE_NAME`] (`dcli.sqlite3`) in the data folder, the name the readers
//!   look for; the folder and the file are created when missing.
//! - It runs in WAL mode, so readers can query while a sync writes, with `synchronous = NORMAL`
//!   (a power cut may lose the last commits, never the file's consistency) and foreign keys on,
//!   so that deleting an activity takes every row that hangs off it. A write waits up to 10 s
//!   for another connection's lock before it fails as busy.
//! - The dcli tables are created exactly as `dcli_schema_v10.sql` has them: names, columns,
//!   types, keys and indexes are what the readers expect, and that file is never edited. The
//!   `version` table holds [`DCLI_VERSION`] (10) and must keep holding it: the readers drop and
//!   recreate every table when it holds anything else, which would wipe the history.
//! - dclisync's own data lives in tables named `dclisync_*`, which the readers never look at,
//!   made by the files of `migrations/`. They are applied in order, in the transaction that
//!   opens the database, and `PRAGMA user_version` counts those applied. Migrations are
//!   append-only (a shipped file is never edited), so a database of any earlier dclisync, or of
//!   the reference tool (`user_version` 0), is brought forward in place without losing data. A
//!   `user_version` above the migrations this build knows is refused, the file left as it was:
//!   a newer dclisync wrote it, and this one cannot know what its tables now mean.
//! - A run that only reads (`--list` alone) opens an up-to-date database read-only
//!   ([`Store::open_read_only`]): it needs no write access and leaves no `-wal` or `-shm` file
//!   behind. A missing database, or one that needs a migration, is opened as for writing.
//! - Before anything is written, an existing file is inspected read-only, and refused, left as
//!   it was, when it is not an sqlite3 file, is an sqlite3 database without a `version` table
//!   (not a dcli database), has a `version` table that is empty or whose highest version is
//!   not 10, or when sqlite finds it corrupt. An empty file, or an sqlite3 file with no tables,
//!   is taken as new.
//! - Every public method that writes runs in one transaction. A report is stored, and its queue
//!   rows marked synced and its archive copy kept, in the same one: it is stored and done, or
//!   still queued. Several reports may share one transaction (a batch of a sync's downloads),
//!   each of them whole in it; a report is never split across two.
//! - Member rows from a search or a profile are current and replace what they have; member rows
//!   from a match report only fill in what the stored row lacks. A character's class other
//!   than 255 replaces the stored one, so a known class repairs an unknown one; 255 (unknown)
//!   never replaces a stored class.

mod archive;
mod groups;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Transaction};

use crate::core::archive::Archived;
use crate::core::ids::{ActivityId, CharacterId, MemberId};
use crate::core::listing::{ListedCharacter, ListedPlayer};
use crate::core::pgcr::{CharacterRow, MedalRow, MemberRow, PgcrRows, PlayerRows, WeaponRow, CLASS_UNKNOWN};
use crate::core::plan::{Failures, Queued};
use crate::core::refresh::{PendingRecheck, ReportFetch};

// The core's ids bind and read as SQL integers.
mod ids;

/// The database file name the dcli tools share.
pub const DB_FILE_NAME: &str = "dcli.sqlite3";
/// The dcli schema version the readers require; anything else makes them wipe the database.
pub const DCLI_VERSION: i64 = 10;
/// How long a write waits for another connection's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Prepared statements kept for reuse: every statement a sync runs over and over, the
/// multi-row inserts of each size included (rusqlite keeps 16 by default).
const PREPARED_STATEMENTS: usize = 64;
/// WAL pages after which a commit copies them back into the database (sqlite's default: 1,000).
/// One report dirties some 60 pages, so the default checkpointed every 15 or so reports, each
/// time rewriting the same hot index pages and waiting for two fsyncs (about 16 ms each on the
/// build machine); at 8,000 pages (32 MiB with 4 KiB pages) that happens an eighth as often.
/// The WAL file is removed when dclisync closes the database; the readers see the same data
/// either way. (Capping the file with `journal_size_limit` cost more than it saved.)
const WAL_CHECKPOINT_PAGES: i64 = 8000;
/// The first 16 bytes of every sqlite3 file.
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

const DCLI_SCHEMA: &str = include_str!("dcli_schema_v10.sql");
/// dclisync's own migrations, applied in order; `user_version` counts those applied.
/// Append new files; never edit one that has shipped.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_dclisync_base.sql"),
    include_str!("migrations/0002_reports_and_rescans.sql"),
    include_str!("migrations/0003_archive.sql"),
    include_str!("migrations/0004_archive_parts.sql"),
    include_str!("migrations/0005_clans_and_roster_gate.sql"),
];

/// Why the store could not be opened or used.
#[derive(Debug)]
pub enum StoreError {
    /// The data folder cannot be created or used.
    DataDir { path: PathBuf, source: std::io::Error },
    /// The file exists but is not an sqlite3 database.
    NotSqlite { path: PathBuf },
    /// An sqlite3 database, but not one of the dcli family.
    NotDcli { path: PathBuf },
    /// A dcli database of another schema version.
    WrongVersion { path: PathBuf, version: Option<i64> },
    /// A newer dclisync wrote it (`user_version` above the known migrations).
    Newer { path: PathBuf, version: i64 },
    /// The database is damaged.
    Corrupt { path: PathBuf, detail: String },
    /// The database file cannot be opened or written (permissions, read-only disk, disk full).
    Unwritable { path: PathBuf, detail: String },
    /// Any other sqlite failure.
    Sqlite { path: PathBuf, source: rusqlite::Error },
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::DataDir { path, source } => write!(
                f,
                "cannot use the data folder {}: {source}; pass a writable folder with --data-dir",
                path.display()
            ),
            StoreError::NotSqlite { path } => write!(
                f,
                "{} is not a dcli database (not an sqlite3 file, or corrupt); it was left untouched: \
                 move it away or pass another --data-dir",
                path.display()
            ),
            StoreError::NotDcli { path } => write!(
                f,
                "{} is an sqlite3 database but not a dcli database; it was left untouched: move it \
                 away or pass another --data-dir",
                path.display()
            ),
            StoreError::WrongVersion { path, version } => write!(
                f,
                "{} is a dcli database of version {}, but dclisync works with version {DCLI_VERSION}; \
                 it was left untouched: move it away to start a new one",
                path.display(),
                version.map_or_else(|| "unknown".to_string(), |v| v.to_string())
            ),
            StoreError::Newer { path, version } => write!(
                f,
                "{} was written by a newer dclisync (database format {version}; this one knows up to {}); \
                 it was left untouched: upgrade dclisync",
                path.display(),
                MIGRATIONS.len()
            ),
            StoreError::Corrupt { path, detail } => write!(
                f,
                "{} is corrupt ({detail}); it was left untouched: restore a backup or move it away",
                path.display()
            ),
            StoreError::Unwritable { path, detail } => write!(
                f,
                "cannot write the database {} ({detail}); check the folder's permissions and free space, \
                 or pass another --data-dir",
                path.display()
            ),
            StoreError::Sqlite { path, source } => write!(f, "database error in {}: {source}", path.display()),
        }
    }
}

impl std::error::Error for StoreError {}

impl StoreError {
    /// Whether another process held the database for longer than the busy timeout: the next
    /// try may well succeed, so a daemon carries on.
    pub fn is_busy(&self) -> bool {
        matches!(self, StoreError::Sqlite { source, .. }
            if matches!(source.sqlite_error_code(), Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)))
    }
}

/// A player on the sync list, with what `--list` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackedPlayer {
    pub member: MemberRow,
    /// When dclisync last finished a sync of this player (`None`: never); for a player added by
    /// the reference tool, the `sync` table's time.
    pub last_sync: Option<String>,
    pub activities: i64,
}

/// A downloaded report as the writer stores it: its rows, how it was fetched, and its archive
/// copy (none with the archive off).
#[derive(Debug, Clone, Copy)]
pub struct FetchedReport<'r> {
    pub rows: &'r PgcrRows,
    pub fetch: &'r ReportFetch,
    pub archive: Option<&'r Archived>,
}

/// What storing one report did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    New,
    /// The activity was stored by an earlier run or another process; its queue rows are synced.
    AlreadyThere,
}

pub struct Store {
    conn: Connection,
    path: PathBuf,
}

fn is_corruption(e: &rusqlite::Error) -> bool {
    matches!(e.sqlite_error_code(), Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase))
}

impl Store {
    /// Opens `DIR/dcli.sqlite3`, creating the folder and the database when missing.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::DataDir { path: dir.to_path_buf(), source })?;
        if !dir.is_dir() {
            return Err(StoreError::DataDir {
                path: dir.to_path_buf(),
                source: std::io::Error::other("it is not a folder"),
            });
        }
        let path = dir.join(DB_FILE_NAME);
        let existing = inspect(&path)?;
        let conn = Connection::open(&path).map_err(|source| classify(&path, source))?;
        let mut store = Store { conn, path };
        store.prepare(existing).map_err(|e| store.err(e))?;
        Ok(store)
    }

    /// Opens `DIR/dcli.sqlite3` for reading only, when it exists and is up to date; otherwise
    /// as [`Store::open`] does. Nothing written through it succeeds.
    pub fn open_read_only(dir: &Path) -> Result<Store, StoreError> {
        let path = dir.join(DB_FILE_NAME);
        if inspect(&path)? != Existing::Dcli || applied_migrations(&path)? != MIGRATIONS.len() as i64 {
            return Store::open(dir);
        }
        let conn = open_for_reading(&path).map_err(|source| classify(&path, source))?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(|source| classify(&path, source))?;
        Ok(Store { conn, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, source: rusqlite::Error) -> StoreError {
        classify(&self.path, source)
    }

    fn prepare(&mut self, existing: Existing) -> rusqlite::Result<()> {
        self.conn.busy_timeout(BUSY_TIMEOUT)?;
        self.conn.set_prepared_statement_cache_capacity(PREPARED_STATEMENTS);
        self.conn.pragma_update(None, "journal_mode", "WAL")?;
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        self.conn.pragma_update(None, "foreign_keys", "ON")?;
        self.conn.pragma_update(None, "wal_autocheckpoint", WAL_CHECKPOINT_PAGES)?;
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        if existing == Existing::New || existing == Existing::Dcli {
            tx.execute_batch(DCLI_SCHEMA)?;
        }
        let applied: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        for (i, migration) in MIGRATIONS.iter().enumerate().skip(applied.max(0) as usize) {
            tx.execute_batch(migration)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        }
        tx.commit()
    }

    /// Runs the queries of `f`, naming the database in any error.
    fn read<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, StoreError> {
        f(&self.conn).map_err(|e| self.err(e))
    }

    /// Runs `f` in one transaction, committed when `f` succeeds and rolled back otherwise.
    fn write<T>(&mut self, f: impl FnOnce(&Transaction<'_>) -> rusqlite::Result<T>) -> Result<T, StoreError> {
        let run = |conn: &mut Connection| -> rusqlite::Result<T> {
            let tx = conn.transaction()?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        };
        run(&mut self.conn).map_err(|e| classify(&self.path, e))
    }

    /// Players on the sync list, by Bungie name.
    pub fn tracked_players(&self) -> Result<Vec<TrackedPlayer>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare(
                "SELECT m.member_id, m.platform_id, m.display_name, m.bungie_display_name,
                        m.bungie_display_name_code,
                        -- a player without a dclisync row was added by the reference tool
                        CASE WHEN p.member_id IS NULL THEN s.last_sync ELSE p.last_success END,
                        (SELECT COUNT(*) FROM character_activity_stats cas
                           JOIN character c ON c.character_id = cas.character
                          WHERE c.member = m.member_id)
                   FROM sync s
                   JOIN member m ON m.member_id = s.member
                   LEFT JOIN dclisync_player p ON p.member_id = m.member_id
                  ORDER BY m.bungie_display_name COLLATE NOCASE, m.bungie_display_name_code, m.member_id",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(TrackedPlayer { member: member_from_row(r)?, last_sync: r.get(5)?, activities: r.get(6)? })
            })?;
            rows.collect()
        })
    }

    /// Everything `--list` shows of the players on the sync list, by Bungie name. A queued
    /// activity is stuck once its download failed in `stuck_after` runs.
    pub fn player_listing(&self, stuck_after: i64) -> Result<Vec<ListedPlayer>, StoreError> {
        let players = self.tracked_players()?;
        self.read(|conn| {
            let mut queued = conn.prepare(
                "SELECT COUNT(DISTINCT q.activity_id),
                        COUNT(DISTINCT CASE WHEN a.attempts >= ?2 THEN q.activity_id END)
                   FROM activity_queue q
                   JOIN character c ON c.character_id = q.character
                   LEFT JOIN dclisync_attempt a ON a.activity_id = q.activity_id
                  WHERE c.member = ?1 AND q.synced = 0",
            )?;
            let mut characters = conn.prepare(
                "SELECT c.character_id, c.class, COALESCE(d.deleted, 0)
                   FROM character c LEFT JOIN dclisync_character d ON d.character_id = c.character_id
                  WHERE c.member = ?1
                  ORDER BY COALESCE(d.deleted, 0), c.character_id",
            )?;
            let mut out = Vec::with_capacity(players.len());
            for p in players {
                let id = p.member.member_id;
                let (queued, stuck) = queued.query_row(params![id, stuck_after], |r| Ok((r.get(0)?, r.get(1)?)))?;
                let characters = characters
                    .query_map([id], |r| {
                        Ok(ListedCharacter {
                            character_id: r.get(0)?,
                            class: r.get(1)?,
                            deleted: r.get::<_, i64>(2)? != 0,
                        })
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                out.push(ListedPlayer {
                    member: p.member,
                    last_sync: p.last_sync,
                    stored: p.activities,
                    queued,
                    stuck,
                    characters,
                });
            }
            Ok(out)
        })
    }

    /// The stored member with this Bungie name, if any.
    pub fn member_by_name(&self, name: &str, code: &str) -> Result<Option<MemberRow>, StoreError> {
        self.read(|conn| {
            conn.query_row(
                "SELECT member_id, platform_id, display_name, bungie_display_name, bungie_display_name_code
                   FROM member WHERE bungie_display_name = ?1 AND bungie_display_name_code = ?2
                  ORDER BY (SELECT COUNT(*) FROM sync WHERE sync.member = member.member_id) DESC
                  LIMIT 1",
                params![name, code],
                member_from_row,
            )
            .optional()
        })
    }

    /// The stored member with this membership id, if any.
    pub fn member_by_id(&self, member_id: MemberId) -> Result<Option<MemberRow>, StoreError> {
        self.read(|conn| {
            conn.query_row(
                "SELECT member_id, platform_id, display_name, bungie_display_name, bungie_display_name_code
                   FROM member WHERE member_id = ?1",
                params![member_id],
                member_from_row,
            )
            .optional()
        })
    }

    /// Puts a player on the sync list (a player already there keeps their last sync time).
    pub fn add_player(&mut self, member: &MemberRow, now: &str) -> Result<(), StoreError> {
        self.write(|tx| {
            upsert_member_tx(tx, member, true)?;
            let added = tx.execute(
                "INSERT OR IGNORE INTO sync (member, last_sync) VALUES (?1, ?2)",
                params![member.member_id, now],
            )?;
            if added > 0 {
                // `sync.last_sync` holds the time of adding, as the reference tool writes it;
                // dclisync's own row says the player was never synced.
                tx.execute("INSERT OR IGNORE INTO dclisync_player (member_id) VALUES (?1)", [member.member_id])?;
            }
            Ok(())
        })
    }

    /// Takes a player off the sync list; their data stays. False if they were not on it.
    pub fn remove_player(&mut self, member_id: MemberId) -> Result<bool, StoreError> {
        self.conn.execute("DELETE FROM sync WHERE member = ?1", [member_id]).map(|n| n > 0).map_err(|e| self.err(e))
    }

    /// Records what a profile says of a player and their characters.
    pub fn record_profile(&mut self, member: &MemberRow, characters: &[(CharacterId, i64)]) -> Result<(), StoreError> {
        self.write(|tx| {
            upsert_member_tx(tx, member, true)?;
            for &(character_id, class) in characters {
                upsert_character_tx(tx, character_id, member.member_id, class)?;
            }
            Ok(())
        })
    }

    /// When the player's account character list was last read (Unix seconds), if ever.
    pub fn account_checked_at(&self, member_id: MemberId) -> Result<Option<i64>, StoreError> {
        self.read(|conn| {
            conn.query_row("SELECT account_checked_at FROM dclisync_player WHERE member_id = ?1", [member_id], |r| {
                r.get(0)
            })
            .optional()
        })
        .map(Option::flatten)
    }

    /// Records the deleted characters an account lists, and when the list was read.
    pub fn record_account(&mut self, member_id: MemberId, deleted: &[CharacterId], now: i64) -> Result<(), StoreError> {
        self.write(|tx| {
            for &character_id in deleted {
                upsert_character_tx(tx, character_id, member_id, CLASS_UNKNOWN)?;
                tx.prepare_cached(
                    "INSERT INTO dclisync_character (character_id, member_id, deleted) VALUES (?1, ?2, 1)
                     ON CONFLICT (character_id) DO UPDATE SET deleted = 1",
                )?
                .execute(params![character_id, member_id])?;
            }
            tx.execute(
                "INSERT INTO dclisync_player (member_id, account_checked_at) VALUES (?1, ?2)
                 ON CONFLICT (member_id) DO UPDATE SET account_checked_at = ?2",
                params![member_id, now],
            )?;
            Ok(())
        })
    }

    /// The player's characters known to be deleted.
    pub fn deleted_characters(&self, member_id: MemberId) -> Result<Vec<CharacterId>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT character_id FROM dclisync_character WHERE member_id = ?1 AND deleted = 1 ORDER BY character_id",
            )?;
            let ids = stmt.query_map([member_id], |r| r.get(0))?;
            ids.collect()
        })
    }

    /// The marker of the character's last complete history walk, if any.
    pub fn history_marker(&self, character_id: CharacterId) -> Result<Option<String>, StoreError> {
        self.read(|conn| {
            conn.query_row(
                "SELECT history_marker FROM dclisync_character WHERE character_id = ?1",
                [character_id],
                |r| r.get(0),
            )
            .optional()
        })
        .map(Option::flatten)
    }

    /// Queues activities for a character, all or none, and sets (or clears) the character's
    /// history marker in the same transaction: a walk counts as complete only with its queue.
    pub fn enqueue_walk(
        &mut self,
        member_id: MemberId,
        character_id: CharacterId,
        activity_ids: &[ActivityId],
        marker: Option<&str>,
    ) -> Result<usize, StoreError> {
        self.write(|tx| {
            let mut added = 0;
            {
                let mut stmt = tx.prepare_cached(
                    "INSERT OR IGNORE INTO activity_queue (synced, activity_id, character) VALUES (0, ?1, ?2)",
                )?;
                for id in activity_ids {
                    added += stmt.execute(params![id, character_id])?;
                }
            }
            tx.prepare_cached(
                "INSERT INTO dclisync_character (character_id, member_id, history_marker) VALUES (?1, ?2, ?3)
                 ON CONFLICT (character_id) DO UPDATE SET history_marker = ?3",
            )?
            .execute(params![character_id, member_id, marker])?;
            Ok(added)
        })
    }

    /// Activity ids already queued (synced or not) for a character.
    pub fn queued_ids(&self, character_id: CharacterId) -> Result<HashSet<ActivityId>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached("SELECT activity_id FROM activity_queue WHERE character = ?1")?;
            let ids = stmt.query_map([character_id], |r| r.get(0))?;
            ids.collect()
        })
    }

    /// The player's characters the store knows of, from dclisync's own table and dcli's: the
    /// ones that can have a history marker or queued activities.
    pub fn known_characters(&self, member_id: MemberId) -> Result<Vec<CharacterId>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT character_id FROM dclisync_character WHERE member_id = ?1
                 UNION SELECT character_id FROM character WHERE member = ?1
                 ORDER BY character_id",
            )?;
            let ids = stmt.query_map([member_id], |r| r.get(0))?;
            ids.collect()
        })
    }

    /// The unsynced queue rows of these characters.
    pub fn unsynced(&self, characters: &[CharacterId]) -> Result<Vec<Queued>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT activity_id, character FROM activity_queue WHERE character = ?1 AND synced = 0",
            )?;
            let mut out = Vec::new();
            for &c in characters {
                let rows = stmt.query_map([c], |r| Ok(Queued { activity_id: r.get(0)?, character_id: r.get(1)? }))?;
                for row in rows {
                    out.push(row?);
                }
            }
            Ok(out)
        })
    }

    /// Which of these activities are stored.
    pub fn stored_among(
        &self,
        activity_ids: impl IntoIterator<Item = ActivityId>,
    ) -> Result<HashSet<ActivityId>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached("SELECT 1 FROM activity WHERE activity_id = ?1")?;
            let mut out = HashSet::new();
            for id in activity_ids {
                if stmt.exists([id])? {
                    out.insert(id);
                }
            }
            Ok(out)
        })
    }

    /// Ids of every stored member.
    pub fn member_ids(&self) -> Result<HashSet<MemberId>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare("SELECT member_id FROM member")?;
            let ids = stmt.query_map([], |r| r.get(0))?;
            ids.collect()
        })
    }

    /// Stores one report and marks its queue rows synced, in one transaction.
    pub fn store_pgcr(&mut self, rows: &PgcrRows) -> Result<Stored, StoreError> {
        self.write(|tx| {
            let outcome = store_pgcr_tx(tx, rows)?;
            mark_synced_tx(tx, rows.activity.activity_id)?;
            Ok(outcome)
        })
    }

    /// Stores one report fetched as `fetch` says, marks its queue rows synced, and remembers the
    /// fetch (for a report fetched too early, when to fetch it once more), in one transaction.
    /// `archive` is the report's archive copy, kept in the same transaction (a copy already
    /// kept stays).
    pub fn store_fetched_pgcr(
        &mut self,
        rows: &PgcrRows,
        fetch: &ReportFetch,
        archive: Option<&Archived>,
    ) -> Result<Stored, StoreError> {
        let outcomes = self.store_fetched_batch(&[FetchedReport { rows, fetch, archive }])?;
        Ok(outcomes.first().copied().unwrap_or(Stored::AlreadyThere))
    }

    /// Stores a batch of fetched reports in one transaction, each as
    /// [`Store::store_fetched_pgcr`] stores one: its rows, its queue marks, its archive copy and
    /// its fetch. A kill leaves every report of the batch stored whole or still queued. Returns
    /// what storing did to each, in order.
    pub fn store_fetched_batch(&mut self, reports: &[FetchedReport<'_>]) -> Result<Vec<Stored>, StoreError> {
        self.write(|tx| reports.iter().map(|report| store_fetched_tx(tx, report)).collect())
    }

    /// Reports of matches these characters played that wait for their second fetch.
    pub fn pending_rechecks(&self, characters: &[CharacterId]) -> Result<Vec<PendingRecheck>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT r.activity_id, r.recheck_at, r.digest, r.characters
                   FROM dclisync_report r JOIN activity_queue q ON q.activity_id = r.activity_id
                  WHERE q.character = ?1 AND r.recheck_at IS NOT NULL",
            )?;
            let mut out = Vec::new();
            for &c in characters {
                let rows = stmt.query_map([c], |r| {
                    Ok(PendingRecheck {
                        activity_id: r.get(0)?,
                        recheck_at: r.get(1)?,
                        digest: r.get(2)?,
                        characters: r.get(3)?,
                    })
                })?;
                for row in rows {
                    out.push(row?);
                }
            }
            Ok(out)
        })
    }

    /// Replaces every stored row of a report with a newer copy, in one transaction: the activity
    /// and everything that hangs off it (modes, teams, stats, weapons, medals) go, the new rows
    /// come, and the fetch is remembered.
    /// The newer copy's archive copy, if given, replaces the older one.
    pub fn replace_pgcr(
        &mut self,
        rows: &PgcrRows,
        fetch: &ReportFetch,
        archive: Option<&Archived>,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            // The dcli schema cascades from the activity to every row that belongs to it.
            tx.execute("DELETE FROM activity WHERE activity_id = ?1", [rows.activity.activity_id])?;
            store_pgcr_tx(tx, rows)?;
            mark_synced_tx(tx, rows.activity.activity_id)?;
            if let Some(copy) = archive {
                archive_tx(tx, rows.activity.activity_id, copy, true)?;
            }
            record_fetch_tx(tx, rows.activity.activity_id, fetch)
        })
    }

    /// Ends a report's wait for a second fetch, keeping the stored rows.
    pub fn finish_recheck(&mut self, activity_id: ActivityId) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute("UPDATE dclisync_report SET recheck_at = NULL WHERE activity_id = ?1", [activity_id])?;
            Ok(())
        })
    }

    /// Marks an activity's queue rows synced (its report is stored already).
    pub fn mark_synced(&mut self, activity_id: ActivityId) -> Result<(), StoreError> {
        self.write(|tx| {
            mark_synced_tx(tx, activity_id)?;
            Ok(())
        })
    }

    /// The failures so far of those of these activities that failed before.
    pub fn failures_among(
        &self,
        activity_ids: impl IntoIterator<Item = ActivityId>,
    ) -> Result<HashMap<ActivityId, Failures>, StoreError> {
        self.read(|conn| {
            let mut stmt =
                conn.prepare_cached("SELECT attempts, last_attempt FROM dclisync_attempt WHERE activity_id = ?1")?;
            let mut out = HashMap::new();
            for id in activity_ids {
                let found = stmt
                    .query_row([id], |r| Ok(Failures { attempts: r.get(0)?, last_attempt: r.get(1)? }))
                    .optional()?;
                if let Some(failures) = found {
                    out.insert(id, failures);
                }
            }
            Ok(out)
        })
    }

    /// Notes a failed download of a queued activity; returns the attempts so far.
    pub fn record_failure(&mut self, activity_id: ActivityId, error: &str, now: &str) -> Result<i64, StoreError> {
        self.conn
            .query_row(
                "INSERT INTO dclisync_attempt (activity_id, attempts, last_error, last_attempt) VALUES (?1, 1, ?2, ?3)
                 ON CONFLICT (activity_id) DO UPDATE SET attempts = attempts + 1, last_error = ?2, last_attempt = ?3
                 RETURNING attempts",
                params![activity_id, error, now],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))
    }

    /// When the player's whole history was last walked (Unix seconds), if ever.
    pub fn rescanned_at(&self, member_id: MemberId) -> Result<Option<i64>, StoreError> {
        self.read(|conn| {
            conn.query_row("SELECT rescanned_at FROM dclisync_player WHERE member_id = ?1", [member_id], |r| r.get(0))
                .optional()
        })
        .map(Option::flatten)
    }

    /// Records a finished sync's place in the rescan schedule: a whole-history walk at `now`
    /// (`rescanned`), or else, for a player who has no schedule yet, its start.
    pub fn record_rescan(&mut self, member_id: MemberId, now: i64, rescanned: bool) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO dclisync_player (member_id, rescanned_at) VALUES (?1, ?2)
                 ON CONFLICT (member_id) DO UPDATE SET
                   rescanned_at = CASE WHEN ?3 OR rescanned_at IS NULL THEN ?2 ELSE rescanned_at END",
                params![member_id, now, rescanned],
            )?;
            Ok(())
        })
    }

    /// Records a finished sync of a player: `sync.last_sync` when they are on the list, and
    /// dclisync's own last-success time.
    pub fn finish_player_sync(&mut self, member_id: MemberId, now: &str) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute("UPDATE sync SET last_sync = ?2 WHERE member = ?1", params![member_id, now])?;
            tx.execute(
                "INSERT INTO dclisync_player (member_id, last_success) VALUES (?1, ?2)
                 ON CONFLICT (member_id) DO UPDATE SET last_success = ?2",
                params![member_id, now],
            )?;
            Ok(())
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Existing {
    /// No file, or an empty one: create the schema.
    New,
    /// A dcli version-10 database.
    Dcli,
}

/// Looks at an existing file without writing to it, and refuses anything that is not a dcli
/// version-10 database.
fn inspect(path: &Path) -> Result<Existing, StoreError> {
    let mut header = Vec::with_capacity(SQLITE_HEADER.len());
    match std::fs::File::open(path) {
        Ok(file) => {
            file.take(SQLITE_HEADER.len() as u64)
                .read_to_end(&mut header)
                .map_err(|source| StoreError::DataDir { path: path.to_path_buf(), source })?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Existing::New),
        Err(source) => return Err(StoreError::DataDir { path: path.to_path_buf(), source }),
    }
    if header.is_empty() {
        return Ok(Existing::New);
    }
    if header.as_slice() != SQLITE_HEADER {
        return Err(StoreError::NotSqlite { path: path.to_path_buf() });
    }
    let conn = open_for_reading(path).map_err(|e| classify(path, e))?;
    let tables: Vec<String> = (|| -> rusqlite::Result<Vec<String>> {
        let mut stmt = conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table'")?;
        let names = stmt.query_map([], |r| r.get(0))?;
        names.collect()
    })()
    .map_err(|e| classify(path, e))?;
    if tables.iter().all(|t| t.starts_with("sqlite_")) {
        return Ok(Existing::New);
    }
    if !tables.iter().any(|t| t == "version") {
        return Err(StoreError::NotDcli { path: path.to_path_buf() });
    }
    let version: Option<i64> =
        conn.query_row("SELECT MAX(version) FROM version", [], |r| r.get(0)).map_err(|e| classify(path, e))?;
    if version != Some(DCLI_VERSION) {
        return Err(StoreError::WrongVersion { path: path.to_path_buf(), version });
    }
    let applied: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(|e| classify(path, e))?;
    if applied > MIGRATIONS.len() as i64 {
        return Err(StoreError::Newer { path: path.to_path_buf(), version: applied });
    }
    Ok(Existing::Dcli)
}

/// A read-only connection that leaves no file behind.
fn open_for_reading(path: &Path) -> rusqlite::Result<Connection> {
    // With a -wal file, another connection is open (a daemon) or one ended abruptly: read
    // through its WAL. Without one, the main file holds everything committed, and reading
    // it as immutable creates no -wal or -shm; a writer starting meanwhile writes to its
    // WAL, not to the main file, until a checkpoint thousands of pages later.
    let mut wal = path.to_path_buf().into_os_string();
    wal.push("-wal");
    let (target, flags) = if Path::new(&wal).exists() {
        (path.to_string_lossy().into_owned(), OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
    } else {
        (
            format!("file:{}?mode=ro&immutable=1", uri_path(path)),
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
    };
    Connection::open_with_flags(target, flags)
}

/// A file path as the path of an sqlite `file:` URI: the characters a URI gives a meaning to
/// are percent-encoded.
fn uri_path(path: &Path) -> String {
    let mut out = String::new();
    for c in path.to_string_lossy().chars() {
        match c {
            '%' | '?' | '#' => out.push_str(&format!("%{:02X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// The migrations a dcli database has had (`PRAGMA user_version`), read without writing.
fn applied_migrations(path: &Path) -> Result<i64, StoreError> {
    let conn = open_for_reading(path).map_err(|e| classify(path, e))?;
    conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(|e| classify(path, e))
}

fn classify(path: &Path, source: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode::{CannotOpen, DiskFull, PermissionDenied, ReadOnly};
    let path = path.to_path_buf();
    if is_corruption(&source) {
        return StoreError::Corrupt { path, detail: source.to_string() };
    }
    match source.sqlite_error_code() {
        Some(CannotOpen | DiskFull | PermissionDenied | ReadOnly) => {
            StoreError::Unwritable { path, detail: source.to_string() }
        }
        _ => StoreError::Sqlite { path, source },
    }
}

fn member_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<MemberRow> {
    Ok(MemberRow {
        member_id: r.get(0)?,
        platform_id: r.get(1)?,
        display_name: r.get(2)?,
        bungie_display_name: r.get(3)?,
        bungie_display_name_code: r.get(4)?,
    })
}

const MEMBER_INSERT: &str =
    "INSERT INTO member (member_id, platform_id, display_name, bungie_display_name, bungie_display_name_code) VALUES";
/// A member row from a search or a profile (so current) replaces the stored values it has.
const MEMBER_FROM_AUTHORITY: &str = "ON CONFLICT (member_id) DO UPDATE SET
   platform_id = CASE WHEN excluded.platform_id != 0 THEN excluded.platform_id ELSE platform_id END,
   display_name = COALESCE(NULLIF(excluded.display_name, ''), display_name, excluded.display_name),
   bungie_display_name = CASE WHEN excluded.bungie_display_name_code IS NOT NULL
                              THEN excluded.bungie_display_name ELSE bungie_display_name END,
   bungie_display_name_code = COALESCE(excluded.bungie_display_name_code, bungie_display_name_code)";
/// A member row from a match report only fills in what is missing (an empty name counts as
/// missing), so old matches never rename a player and nameless entries never blank a stored name.
const MEMBER_FROM_REPORT: &str = "ON CONFLICT (member_id) DO UPDATE SET
   platform_id = CASE WHEN platform_id = 0 THEN excluded.platform_id ELSE platform_id END,
   display_name = CASE WHEN COALESCE(display_name, '') = ''
                       THEN COALESCE(NULLIF(excluded.display_name, ''), display_name, excluded.display_name)
                       ELSE display_name END,
   bungie_display_name = CASE WHEN bungie_display_name_code IS NULL OR COALESCE(bungie_display_name, '') = ''
                              THEN COALESCE(NULLIF(excluded.bungie_display_name, ''), bungie_display_name,
                                            excluded.bungie_display_name)
                              ELSE bungie_display_name END,
   bungie_display_name_code = CASE WHEN bungie_display_name_code IS NULL OR COALESCE(bungie_display_name, '') = ''
                              THEN COALESCE(excluded.bungie_display_name_code, bungie_display_name_code)
                              ELSE bungie_display_name_code END";

fn bind_member(stmt: &mut rusqlite::CachedStatement<'_>, at: usize, m: &MemberRow) -> rusqlite::Result<()> {
    stmt.raw_bind_parameter(at, m.member_id)?;
    stmt.raw_bind_parameter(at + 1, m.platform_id)?;
    stmt.raw_bind_parameter(at + 2, &m.display_name)?;
    stmt.raw_bind_parameter(at + 3, &m.bungie_display_name)?;
    stmt.raw_bind_parameter(at + 4, &m.bungie_display_name_code)
}

/// Inserts or updates a member: an `authoritative` row replaces what it has, a row from a
/// match report only fills in what is missing.
fn upsert_member_tx(tx: &Transaction<'_>, m: &MemberRow, authoritative: bool) -> rusqlite::Result<()> {
    let conflict = if authoritative { MEMBER_FROM_AUTHORITY } else { MEMBER_FROM_REPORT };
    insert_many_tx(tx, MEMBER_INSERT, conflict, 5, &[m], bind_member)
}

const CHARACTER_INSERT: &str = "INSERT INTO character (character_id, member, class) VALUES";
/// A known class (not 255) repairs the stored one; an unknown one never replaces it.
const CHARACTER_CONFLICT: &str = "ON CONFLICT (character_id) DO UPDATE SET
   class = CASE WHEN excluded.class != 255 THEN excluded.class ELSE class END";

fn bind_character(stmt: &mut rusqlite::CachedStatement<'_>, at: usize, c: &CharacterRow) -> rusqlite::Result<()> {
    stmt.raw_bind_parameter(at, c.character_id)?;
    stmt.raw_bind_parameter(at + 1, c.member_id)?;
    stmt.raw_bind_parameter(at + 2, c.class)
}

/// Inserts a character, or repairs its stored class when this one is known (not 255).
fn upsert_character_tx(
    tx: &Transaction<'_>,
    character_id: CharacterId,
    member_id: MemberId,
    class: i64,
) -> rusqlite::Result<()> {
    let row = CharacterRow { character_id, member_id, class };
    insert_many_tx(tx, CHARACTER_INSERT, CHARACTER_CONFLICT, 3, &[&row], bind_character)
}

/// One fetched report: rows, queue marks, archive copy, fetch.
fn store_fetched_tx(tx: &Transaction<'_>, report: &FetchedReport<'_>) -> rusqlite::Result<Stored> {
    let id = report.rows.activity.activity_id;
    let outcome = store_pgcr_tx(tx, report.rows)?;
    mark_synced_tx(tx, id)?;
    if let Some(copy) = report.archive {
        archive_tx(tx, id, copy, false)?;
    }
    // A report stored by another run keeps the record of that run's fetch.
    if outcome == Stored::New {
        record_fetch_tx(tx, id, report.fetch)?;
    }
    Ok(outcome)
}

fn record_fetch_tx(tx: &Transaction<'_>, activity_id: ActivityId, fetch: &ReportFetch) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO dclisync_report (activity_id, fetched_at, recheck_at, digest, characters)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (activity_id) DO UPDATE SET
           fetched_at = ?2, recheck_at = ?3, digest = ?4, characters = ?5",
    )?
    .execute(params![activity_id, fetch.fetched_at, fetch.recheck_at, fetch.digest, fetch.characters])?;
    Ok(())
}

/// Keeps a report's archive copy; `replace`: over an older one.
fn archive_tx(tx: &Transaction<'_>, activity_id: ActivityId, copy: &Archived, replace: bool) -> rusqlite::Result<()> {
    let sql = if replace {
        "INSERT OR REPLACE INTO dclisync_archive (activity_id, body, digest, parts) VALUES (?1, ?2, ?3, ?4)"
    } else {
        "INSERT OR IGNORE INTO dclisync_archive (activity_id, body, digest, parts) VALUES (?1, ?2, ?3, ?4)"
    };
    tx.prepare_cached(sql)?.execute(params![activity_id, copy.copy, copy.digest, copy.parts])?;
    Ok(())
}

fn mark_synced_tx(tx: &Transaction<'_>, activity_id: ActivityId) -> rusqlite::Result<()> {
    tx.prepare_cached("UPDATE activity_queue SET synced = 1 WHERE activity_id = ?1 AND synced = 0")?
        .execute([activity_id])?;
    tx.prepare_cached("DELETE FROM dclisync_attempt WHERE activity_id = ?1")?.execute([activity_id])?;
    Ok(())
}

fn store_pgcr_tx(tx: &Transaction<'_>, rows: &PgcrRows) -> rusqlite::Result<Stored> {
    let a = &rows.activity;
    let inserted = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO activity (activity_id, period, mode, platform, director_activity_hash, reference_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![a.activity_id, a.period, a.mode, a.platform, a.director_activity_hash, a.reference_id])?;
    if inserted == 0 {
        return Ok(Stored::AlreadyThere);
    }
    insert_modes_and_teams_tx(tx, rows)?;
    insert_players_tx(tx, rows)?;
    Ok(Stored::New)
}

/// The activity's modes and team results.
fn insert_modes_and_teams_tx(tx: &Transaction<'_>, rows: &PgcrRows) -> rusqlite::Result<()> {
    insert_modes_tx(tx, rows)?;
    insert_teams_tx(tx, rows)
}

fn insert_modes_tx(tx: &Transaction<'_>, rows: &PgcrRows) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare_cached("INSERT OR IGNORE INTO modes (mode, activity) VALUES (?1, ?2)")?;
    for mode in &rows.modes {
        stmt.execute(params![mode, rows.activity.activity_id])?;
    }
    Ok(())
}

fn insert_teams_tx(tx: &Transaction<'_>, rows: &PgcrRows) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT OR IGNORE INTO team_result (team_id, activity, score, standing) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for t in &rows.teams {
        stmt.execute(params![t.team_id, rows.activity.activity_id, t.score, t.standing])?;
    }
    Ok(())
}

/// Every player's member, character and statistics rows, with their medals and weapons.
fn insert_players_tx(tx: &Transaction<'_>, rows: &PgcrRows) -> rusqlite::Result<()> {
    insert_members_tx(tx, rows)?;
    insert_stats_rows_tx(tx, rows)
}

/// The players' member and character rows, a few statements for all: each row's upsert depends
/// only on the stored row it meets, so the order across tables changes nothing.
fn insert_members_tx(tx: &Transaction<'_>, rows: &PgcrRows) -> rusqlite::Result<()> {
    let members: Vec<&MemberRow> = rows.players.iter().map(|p| &p.member).collect();
    insert_many_tx(tx, MEMBER_INSERT, MEMBER_FROM_REPORT, 5, &members, bind_member)?;
    let characters: Vec<&CharacterRow> = rows.players.iter().map(|p| &p.character).collect();
    insert_many_tx(tx, CHARACTER_INSERT, CHARACTER_CONFLICT, 3, &characters, bind_character)
}

/// The players' statistics rows with their medals and weapons (their characters stored).
fn insert_stats_rows_tx(tx: &Transaction<'_>, rows: &PgcrRows) -> rusqlite::Result<()> {
    let a = &rows.activity;
    // Medal and weapon rows go in after every player's stats row, many to a statement, in the
    // order one row per statement would give them (player by player), so they get the same ids.
    let mut medals: Vec<(&MedalRow, i64)> = Vec::new();
    let mut weapons: Vec<(&WeaponRow, i64)> = Vec::new();
    for player in &rows.players {
        if let Some(stats_id) = insert_stats_tx(tx, a.activity_id, player)? {
            medals.extend(player.medals.iter().map(|m| (m, stats_id)));
            weapons.extend(player.weapons.iter().map(|w| (w, stats_id)));
        }
    }
    insert_many_tx(
        tx,
        "INSERT OR IGNORE INTO medal_result (reference_id, count, character_activity_stats) VALUES",
        "",
        3,
        &medals,
        |stmt, at, (m, stats_id)| {
            stmt.raw_bind_parameter(at, &m.reference_id)?;
            stmt.raw_bind_parameter(at + 1, m.count)?;
            stmt.raw_bind_parameter(at + 2, stats_id)
        },
    )?;
    insert_many_tx(
        tx,
        "INSERT OR IGNORE INTO weapon_result (reference_id, kills, precision_kills, kills_precision_kills_ratio,
                                              character_activity_stats) VALUES",
        "",
        5,
        &weapons,
        |stmt, at, (w, stats_id)| {
            stmt.raw_bind_parameter(at, w.reference_id)?;
            stmt.raw_bind_parameter(at + 1, w.kills)?;
            stmt.raw_bind_parameter(at + 2, w.precision_kills)?;
            stmt.raw_bind_parameter(at + 3, w.kills_precision_kills_ratio)?;
            stmt.raw_bind_parameter(at + 4, stats_id)
        },
    )?;
    Ok(())
}

/// Rows per multi-row INSERT, largest first: any count is a sum of these, so a handful of
/// cached statements covers every report.
const ROWS_PER_INSERT: [usize; 7] = [64, 32, 16, 8, 4, 2, 1];

/// Inserts `rows` with `head` (an `INSERT … VALUES` without its values) and `tail` (its
/// conflict clause, if any) and as few statements as [`ROWS_PER_INSERT`] allows, in order;
/// `bind` binds one row's `columns` values from the parameter index it is given. sqlite runs the
/// rows of one statement one after the other, as it would run one statement per row; each
/// statement costs its setup (and the AUTOINCREMENT bookkeeping) once instead of once a row.
fn insert_many_tx<R: Copy>(
    tx: &Transaction<'_>,
    head: &str,
    tail: &str,
    columns: usize,
    rows: &[R],
    bind: impl Fn(&mut rusqlite::CachedStatement<'_>, usize, R) -> rusqlite::Result<()>,
) -> rusqlite::Result<()> {
    let mut rest = rows;
    while !rest.is_empty() {
        let n = ROWS_PER_INSERT.into_iter().find(|&n| n <= rest.len()).unwrap_or(1);
        let (chunk, after) = rest.split_at(n);
        let one = format!("({})", vec!["?"; columns].join(", "));
        let sql = format!("{head} {} {tail}", vec![one; n].join(", "));
        let mut stmt = tx.prepare_cached(&sql)?;
        for (i, row) in chunk.iter().enumerate() {
            bind(&mut stmt, 1 + i * columns, *row)?;
        }
        stmt.raw_execute()?;
        rest = after;
    }
    Ok(())
}

/// Stores one player's stats row; its id when it is new.
fn insert_stats_tx(tx: &Transaction<'_>, activity_id: ActivityId, p: &PlayerRows) -> rusqlite::Result<Option<i64>> {
    let s = &p.stats;
    let inserted = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO character_activity_stats (
               character, activity, assists, score, kills, deaths, average_score_per_kill,
               average_score_per_life, completed, opponents_defeated, activity_duration_seconds,
               standing, team, completion_reason, start_seconds, time_played_seconds, player_count,
               team_score, precision_kills, weapon_kills_ability, weapon_kills_grenade,
               weapon_kills_melee, weapon_kills_super, all_medals_earned, light_level, emblem_hash,
               fireteam_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
                     ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27)",
        )?
        .execute(params![
            p.character.character_id,
            activity_id,
            s.assists,
            s.score,
            s.kills,
            s.deaths,
            s.average_score_per_kill,
            s.average_score_per_life,
            s.completed,
            s.opponents_defeated,
            s.activity_duration_seconds,
            s.standing,
            s.team,
            s.completion_reason,
            s.start_seconds,
            s.time_played_seconds,
            s.player_count,
            s.team_score,
            s.precision_kills,
            s.weapon_kills_ability,
            s.weapon_kills_grenade,
            s.weapon_kills_melee,
            s.weapon_kills_super,
            s.all_medals_earned,
            s.light_level,
            s.emblem_hash,
            s.fireteam_id,
        ])?;
    Ok((inserted > 0).then(|| tx.last_insert_rowid()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::pgcr::normalize;

    fn sample_rows() -> PgcrRows {
        let report: crate::core::bungie::model::Pgcr = crate::testdata::response("pgcr/control_6v6.json");
        let id = report.activity_details.as_ref().and_then(|d| d.instance_id).expect("instance id");
        normalize(ActivityId(id), &report, crate::core::fixups::Rules::builtin()).expect("storable")
    }

    impl Store {
        /// A second connection that gives up at once instead of waiting for the busy timeout.
        fn open_for_test_without_waiting(dir: &Path) -> Store {
            let store = Store::open(dir).expect("second connection");
            store.conn.busy_timeout(Duration::ZERO).expect("no busy wait");
            store
        }
    }

    fn count(store: &Store, table: &str) -> i64 {
        store.conn.query_row(&format!("SELECT COUNT(*) FROM \"{table}\""), [], |r| r.get(0)).expect("count")
    }

    #[test]
    fn a_database_held_by_another_process_is_a_busy_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        let holder = Store::open(dir.path()).expect("first connection");
        let mut store = Store::open_for_test_without_waiting(dir.path());
        holder.conn.execute_batch("BEGIN IMMEDIATE").expect("hold the write lock");
        let err = store.add_player(&sample_rows().players[0].member, "2024-01-01T00:00:00+00:00").expect_err("locked");
        assert!(err.is_busy(), "{err:?}");
        let other = StoreError::NotDcli { path: dir.path().to_path_buf() };
        assert!(!other.is_busy());
    }

    #[test]
    fn a_reference_tool_database_is_used_in_place() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(DB_FILE_NAME);
        {
            let conn = Connection::open(&path).expect("create");
            conn.execute_batch(DCLI_SCHEMA).expect("reference schema");
            conn.execute(
                "INSERT INTO member (member_id, platform_id, display_name, bungie_display_name, bungie_display_name_code)
                 VALUES (1, 3, 'old', 'Old', '0001')",
                [],
            )
            .expect("a member");
            conn.execute("INSERT INTO sync (member, last_sync) VALUES (1, '2023-01-01T00:00:00+00:00')", [])
                .expect("on the list");
        }
        let mut store = Store::open(dir.path()).expect("a version-10 database opens");
        let players = store.tracked_players().expect("list");
        assert_eq!(players.len(), 1);
        assert_eq!(players[0].last_sync.as_deref(), Some("2023-01-01T00:00:00+00:00"));
        let rows = sample_rows();
        assert_eq!(store.store_pgcr(&rows).expect("store"), Stored::New);
        assert_eq!(store.store_pgcr(&rows).expect("store again"), Stored::AlreadyThere);
        assert_eq!(count(&store, "character_activity_stats"), rows.players.len() as i64);
        let version: i64 = store.conn.query_row("SELECT version FROM version", [], |r| r.get(0)).expect("version");
        assert_eq!(version, DCLI_VERSION);
        drop(store);
        let store = Store::open(dir.path()).expect("opens again");
        let applied: i64 = store.conn.pragma_query_value(None, "user_version", |r| r.get(0)).expect("user_version");
        assert_eq!(applied, MIGRATIONS.len() as i64);
        assert_eq!(count(&store, "activity"), 1, "reopening keeps the data");
    }

    #[test]
    fn a_database_of_the_previous_release_upgrades_in_place() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(DB_FILE_NAME);
        let rows = sample_rows();
        {
            // What the previous release left: the dcli schema, migration 0001, user_version 1.
            let conn = Connection::open(&path).expect("create");
            conn.execute_batch(DCLI_SCHEMA).expect("dcli schema");
            conn.execute_batch(MIGRATIONS[0]).expect("migration 0001");
            conn.pragma_update(None, "user_version", 1).expect("user_version");
            conn.execute(
                "INSERT INTO member (member_id, platform_id, display_name, bungie_display_name, bungie_display_name_code)
                 VALUES (1, 3, 'old', 'Old', '0001')",
                [],
            )
            .expect("a member");
            conn.execute("INSERT INTO sync (member, last_sync) VALUES (1, '2023-01-01T00:00:00+00:00')", [])
                .expect("on the list");
            conn.execute(
                "INSERT INTO dclisync_player (member_id, last_success, account_checked_at)
                 VALUES (1, '2023-01-02T00:00:00+00:00', 1672617600)",
                [],
            )
            .expect("synced once");
        }
        let mut store = Store::open(dir.path()).expect("a user_version 1 database opens");
        let applied: i64 = store.conn.pragma_query_value(None, "user_version", |r| r.get(0)).expect("user_version");
        assert_eq!(applied, MIGRATIONS.len() as i64, "every migration applied");
        assert_eq!(store.account_checked_at(MemberId(1)).expect("read"), Some(1_672_617_600), "dclisync_player kept");
        let players = store.tracked_players().expect("list");
        assert_eq!(players[0].last_sync.as_deref(), Some("2023-01-02T00:00:00+00:00"));
        let rescanned: Option<i64> = store
            .conn
            .query_row("SELECT rescanned_at FROM dclisync_player WHERE member_id = 1", [], |r| r.get(0))
            .expect("the new column");
        assert_eq!(rescanned, None);
        let fetch = ReportFetch::first(&rows, 0);
        assert_eq!(store.store_fetched_pgcr(&rows, &fetch, None).expect("store"), Stored::New);
        assert_eq!(count(&store, "dclisync_report"), 1);
        drop(store);
        let store = Store::open(dir.path()).expect("opens again");
        let applied: i64 = store.conn.pragma_query_value(None, "user_version", |r| r.get(0)).expect("user_version");
        assert_eq!(applied, MIGRATIONS.len() as i64, "no migration runs twice");
    }

    #[test]
    fn an_early_report_is_replaced_whole_by_its_second_copy() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut store = Store::open(dir.path()).expect("new database");
        let complete = sample_rows();
        let id = complete.activity.activity_id;
        let mut early = complete.clone();
        early.players.truncate(2);
        early.teams.clear();
        let queued = early.players[0].character.clone();
        store.record_profile(&early.players[0].member, &[(queued.character_id, queued.class)]).expect("profile");
        store.enqueue_walk(queued.member_id, queued.character_id, &[id], None).expect("queue");

        // Fetched as the match ended: due again 15 minutes after its end.
        let end = crate::core::refresh::match_end(&early).expect("a period");
        let fetch = ReportFetch::first(&early, end);
        assert!(fetch.recheck_at.is_some());
        store.store_fetched_pgcr(&early, &fetch, None).expect("store the early copy");
        let pending = store.pending_rechecks(&[queued.character_id]).expect("pending");
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].characters, Some(2));
        assert_eq!(store.pending_rechecks(&[CharacterId(12345)]).expect("pending"), vec![], "only the characters' own");

        store.replace_pgcr(&complete, &ReportFetch::last(&complete, end + 900), None).expect("replace");
        let whole =
            normalize(id, &crate::testdata::response("pgcr/control_6v6.json"), crate::core::fixups::Rules::builtin())
                .expect("storable");
        let stats = |s: &Store| count(s, "character_activity_stats");
        assert_eq!(stats(&store), whole.players.len() as i64, "every entry of the complete copy");
        assert_eq!(count(&store, "team_result"), whole.teams.len() as i64);
        let medals: i64 = whole.players.iter().map(|p| p.medals.len() as i64).sum();
        let weapons: i64 = whole.players.iter().map(|p| p.weapons.len() as i64).sum();
        assert_eq!((count(&store, "medal_result"), count(&store, "weapon_result")), (medals, weapons));
        assert_eq!(count(&store, "activity"), 1);
        assert_eq!(store.pending_rechecks(&[queued.character_id]).expect("pending"), vec![], "once more only");

        // A second early copy, then the same copy again: the recheck ends, the rows stay.
        store.conn.execute("UPDATE dclisync_report SET recheck_at = 1", []).expect("due again");
        store.finish_recheck(id).expect("finish");
        assert_eq!(store.pending_rechecks(&[queued.character_id]).expect("pending"), vec![]);
        assert_eq!(stats(&store), whole.players.len() as i64);
    }

    #[test]
    fn other_files_are_refused_and_left_untouched() {
        type Make = Box<dyn Fn(&Path)>;
        let cases: Vec<(&str, Make, &str)> = vec![
            ("junk", Box::new(|p| std::fs::write(p, vec![0x5a; 4096]).expect("junk")), "not a dcli database"),
            (
                "foreign sqlite",
                Box::new(|p| {
                    Connection::open(p).and_then(|c| c.execute_batch("CREATE TABLE foo (x)")).expect("foreign");
                }),
                "not a dcli database",
            ),
            (
                "dcli version 9",
                Box::new(|p| {
                    Connection::open(p)
                        .and_then(|c| {
                            c.execute_batch("CREATE TABLE version (version INTEGER); INSERT INTO version VALUES (9);")
                        })
                        .expect("old");
                }),
                "version 9",
            ),
        ];
        for (name, make, message) in cases {
            let dir = tempfile::tempdir().expect("temp dir");
            let path = dir.path().join(DB_FILE_NAME);
            make(&path);
            let before = std::fs::read(&path).expect("read");
            let err = Store::open(dir.path()).err().unwrap_or_else(|| panic!("{name}: opened"));
            assert!(err.to_string().contains(message), "{name}: {err}");
            assert!(err.to_string().contains(&path.display().to_string()), "{name}: names the file: {err}");
            assert_eq!(std::fs::read(&path).expect("read"), before, "{name}: file changed");
        }
    }

    #[test]
    fn match_entries_never_blank_a_stored_name_or_class() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut store = Store::open(dir.path()).expect("new database");
        let mut rows = sample_rows();
        let named = rows.players[0].member.clone();
        store.add_player(&named, "2024-01-01T00:00:00+00:00").expect("add");
        rows.players[0].member = MemberRow {
            platform_id: 0,
            display_name: None,
            bungie_display_name: None,
            bungie_display_name_code: None,
            ..named.clone()
        };
        let character = rows.players[0].character.clone();
        store.record_profile(&named, &[(character.character_id, 1)]).expect("profile");
        rows.players[0].character.class = CLASS_UNKNOWN;
        store.store_pgcr(&rows).expect("store");
        let stored = store.member_by_name(
            named.bungie_display_name.as_deref().unwrap_or_default(),
            named.bungie_display_name_code.as_deref().unwrap_or_default(),
        );
        assert_eq!(stored.expect("query"), Some(named), "a nameless entry left the stored member as it was");
        let class: i64 = store
            .conn
            .query_row("SELECT class FROM character WHERE character_id = ?1", [character.character_id], |r| r.get(0))
            .expect("class");
        assert_eq!(class, 1, "an unknown class (255) in a report never replaces a known one");
    }
}
