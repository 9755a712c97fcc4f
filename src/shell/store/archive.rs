//! The archive's statements: reading copies page by page for `--reparse`, counting the stored
//! reports that have no copy, rewriting the rows of many reports in one transaction, and keeping
//! the copies `--archive-missing` fetches. The table is `dclisync_archive` (migration 0003).

use rusqlite::params;

use super::{
    archive_tx, insert_members_tx, insert_modes_tx, insert_stats_rows_tx, insert_teams_tx, mark_synced_tx,
    store_pgcr_tx, Store, StoreError,
};
use crate::core::archive::Archived;
use crate::core::ids::{ActivityId, MemberId};
use crate::core::pgcr::PgcrRows;
use crate::core::reparse::{Rewrite, Tables};

/// The SQL condition "the activity (column `column`) was played by one of these members"; no
/// members: every activity. Member ids are numbers, so they are written into the SQL.
fn played_by(column: &str, members: &[MemberId]) -> String {
    if members.is_empty() {
        return "1".to_string();
    }
    let ids: Vec<String> = members.iter().map(|m| m.to_string()).collect();
    format!(
        "{column} IN (SELECT s.activity FROM character_activity_stats s JOIN character c ON c.character_id = s.character
                       WHERE c.member IN ({}))",
        ids.join(", ")
    )
}

impl Store {
    /// Up to `limit` archive copies after activity `after`, in activity order, of the matches
    /// these members played (none: every match). A copy whose rows are not stored comes without
    /// a digest, so that a reparse writes them whole.
    pub fn archive_page(
        &self,
        after: i64,
        limit: usize,
        members: &[MemberId],
    ) -> Result<Vec<(ActivityId, Archived)>, StoreError> {
        let sql = format!(
            "SELECT z.activity_id, z.body,
                    CASE WHEN EXISTS (SELECT 1 FROM activity a WHERE a.activity_id = z.activity_id) THEN z.digest END,
                    z.parts
               FROM dclisync_archive z WHERE z.activity_id > ?1 AND {}
              ORDER BY z.activity_id LIMIT ?2",
            played_by("z.activity_id", members)
        );
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt.query_map(params![after, limit as i64], |r| {
                Ok((r.get(0)?, Archived { copy: r.get(1)?, digest: r.get(2)?, parts: r.get(3)? }))
            })?;
            rows.collect()
        })
    }

    /// How many archive copies of these members' matches (none: of every match) there are.
    pub fn archived_count(&self, members: &[MemberId]) -> Result<u64, StoreError> {
        let sql = format!("SELECT COUNT(*) FROM dclisync_archive WHERE {}", played_by("activity_id", members));
        self.read(|conn| conn.query_row(&sql, [], |r| r.get::<_, i64>(0)).map(|n| n.max(0) as u64))
    }

    /// Stored matches of these members (none: every stored match) without an archive copy, in
    /// activity order.
    pub fn unarchived(&self, members: &[MemberId]) -> Result<Vec<ActivityId>, StoreError> {
        let sql = format!(
            "SELECT activity_id FROM activity a
              WHERE NOT EXISTS (SELECT 1 FROM dclisync_archive z WHERE z.activity_id = a.activity_id) AND {}
              ORDER BY activity_id",
            played_by("a.activity_id", members)
        );
        self.read(|conn| {
            let mut stmt = conn.prepare(&sql)?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            rows.collect()
        })
    }

    /// Which of `ids` have an archive copy.
    pub fn archived_among(&self, ids: &[ActivityId]) -> Result<Vec<ActivityId>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached("SELECT 1 FROM dclisync_archive WHERE activity_id = ?1")?;
            let mut found = Vec::new();
            for &id in ids {
                if stmt.exists([id])? {
                    found.push(id);
                }
            }
            Ok(found)
        })
    }

    /// One report's archive copy, if it has one.
    pub fn archived(&self, id: ActivityId) -> Result<Option<Archived>, StoreError> {
        use rusqlite::OptionalExtension;
        self.read(|conn| {
            conn.prepare_cached("SELECT body, digest, parts FROM dclisync_archive WHERE activity_id = ?1")?
                .query_row([id], |r| Ok(Archived { copy: r.get(0)?, digest: r.get(1)?, parts: r.get(2)? }))
                .optional()
        })
    }

    /// Writes again the rows of many reports, each only in the table groups it names, with the
    /// digests of its new rows, in one transaction: a kill leaves every report either as it was
    /// or rewritten.
    pub fn rewrite_reports(&mut self, rewrites: &[Rewrite]) -> Result<(), StoreError> {
        self.write(|tx| {
            for rewrite in rewrites {
                let (rows, id) = (rewrite.rows.as_ref(), rewrite.rows.activity.activity_id);
                if rewrite.tables.is_all() {
                    // The dcli schema cascades from the activity to every row that belongs to it.
                    tx.prepare_cached("DELETE FROM activity WHERE activity_id = ?1")?.execute([id])?;
                    store_pgcr_tx(tx, rows)?;
                    mark_synced_tx(tx, id)?;
                } else {
                    rewrite_tables_tx(tx, rows, rewrite.tables)?;
                }
                tx.prepare_cached("UPDATE dclisync_archive SET digest = ?2, parts = ?3 WHERE activity_id = ?1")?
                    .execute(params![id, rewrite.digest, rewrite.parts])?;
            }
            Ok(())
        })
    }

    /// Keeps the archive copy of a stored report (its rows untouched).
    pub fn keep_archive_copy(&mut self, id: ActivityId, copy: &Archived) -> Result<(), StoreError> {
        self.write(|tx| archive_tx(tx, id, copy, false))
    }
}

/// Writes again the named groups of a stored report's rows; the others stay as they are.
fn rewrite_tables_tx(tx: &rusqlite::Transaction<'_>, rows: &PgcrRows, tables: Tables) -> rusqlite::Result<()> {
    let a = &rows.activity;
    if tables.activity {
        tx.prepare_cached(
            "UPDATE activity SET period = ?2, mode = ?3, platform = ?4, director_activity_hash = ?5, reference_id = ?6
              WHERE activity_id = ?1",
        )?
        .execute(params![
            a.activity_id,
            a.period,
            a.mode,
            a.platform,
            a.director_activity_hash,
            a.reference_id
        ])?;
    }
    if tables.modes {
        tx.prepare_cached("DELETE FROM modes WHERE activity = ?1")?.execute([a.activity_id])?;
        insert_modes_tx(tx, rows)?;
    }
    if tables.teams {
        tx.prepare_cached("DELETE FROM team_result WHERE activity = ?1")?.execute([a.activity_id])?;
        insert_teams_tx(tx, rows)?;
    }
    // New stats rows may name characters the stored ones did not.
    if tables.members || tables.stats {
        insert_members_tx(tx, rows)?;
    }
    if tables.stats {
        // Weapon and medal rows go with their stats rows (the schema cascades).
        tx.prepare_cached("DELETE FROM character_activity_stats WHERE activity = ?1")?.execute([a.activity_id])?;
        insert_stats_rows_tx(tx, rows)?;
    }
    Ok(())
}
