//! The statements of remembered clans and the roster gate (migration 0005): the clans
//! `--import-group` remembers and their members as the last complete roster listed them, each
//! player's last complete walk and last profile read, and the last round's gate figures.
//! Each question a round asks is one statement over all players, never one per player.

use std::collections::HashMap;

use rusqlite::{params, OptionalExtension};

use super::{Store, StoreError};
use crate::core::ids::MemberId;
use crate::core::listing::{LastGateRound, RememberedGroup};
use crate::core::roster::{GateCounts, PlayerState};

impl Store {
    /// Remembers a clan (again) with these members, as its roster lists them at `now`.
    pub fn remember_group(&mut self, group_id: i64, members: &[MemberId], now: i64) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO dclisync_group (group_id, imported_at, roster_read_at, listed) VALUES (?1, ?2, ?2, ?3)
                 ON CONFLICT (group_id) DO UPDATE SET roster_read_at = ?2, listed = ?3",
                params![group_id, now, members.len() as i64],
            )?;
            tx.execute("DELETE FROM dclisync_group_member WHERE group_id = ?1", [group_id])?;
            let mut insert =
                tx.prepare_cached("INSERT OR IGNORE INTO dclisync_group_member (group_id, member_id) VALUES (?1, ?2)")?;
            for member in members {
                insert.execute(params![group_id, member])?;
            }
            Ok(())
        })
    }

    /// Forgets a clan and its member list; the players stay on the sync list. False if it was not
    /// remembered.
    pub fn forget_group(&mut self, group_id: i64) -> Result<bool, StoreError> {
        self.write(|tx| {
            tx.execute("DELETE FROM dclisync_group_member WHERE group_id = ?1", [group_id])?;
            Ok(tx.execute("DELETE FROM dclisync_group WHERE group_id = ?1", [group_id])? > 0)
        })
    }

    /// The remembered clans, by id.
    pub fn remembered_groups(&self) -> Result<Vec<RememberedGroup>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare(
                "SELECT g.group_id, g.roster_read_at,
                        (SELECT COUNT(*) FROM dclisync_group_member gm WHERE gm.group_id = g.group_id),
                        (SELECT COUNT(*) FROM dclisync_group_member gm JOIN sync s ON s.member = gm.member_id
                          WHERE gm.group_id = g.group_id)
                   FROM dclisync_group g ORDER BY g.group_id",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(RememberedGroup {
                    group_id: r.get(0)?,
                    roster_read_at: r.get(1)?,
                    members: r.get(2)?,
                    tracked: r.get(3)?,
                })
            })?;
            rows.collect()
        })
    }

    /// The members a clan's last complete roster listed.
    pub fn group_members(&self, group_id: i64) -> Result<Vec<MemberId>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached("SELECT member_id FROM dclisync_group_member WHERE group_id = ?1 ORDER BY member_id")?;
            let ids = stmt.query_map([group_id], |r| r.get(0))?;
            ids.collect()
        })
    }

    /// Records what a complete roster read at `now` changed: who joined, who left.
    pub fn record_roster(
        &mut self,
        group_id: i64,
        joined: &[MemberId],
        left: &[MemberId],
        listed: usize,
        now: i64,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "UPDATE dclisync_group SET roster_read_at = ?2, listed = ?3 WHERE group_id = ?1",
                params![group_id, now, listed as i64],
            )?;
            let mut insert =
                tx.prepare_cached("INSERT OR IGNORE INTO dclisync_group_member (group_id, member_id) VALUES (?1, ?2)")?;
            for member in joined {
                insert.execute(params![group_id, member])?;
            }
            let mut delete =
                tx.prepare_cached("DELETE FROM dclisync_group_member WHERE group_id = ?1 AND member_id = ?2")?;
            for member in left {
                delete.execute(params![group_id, member])?;
            }
            Ok(())
        })
    }

    /// What the gate needs of each of these players, in their order: a handful of statements
    /// over all players, whatever their number.
    pub fn gate_states(&self, players: &[MemberId]) -> Result<Vec<PlayerState>, StoreError> {
        self.read(|conn| {
            let mut clans: HashMap<MemberId, Vec<i64>> = HashMap::new();
            let mut stmt = conn.prepare("SELECT member_id, group_id FROM dclisync_group_member ORDER BY group_id")?;
            for row in stmt.query_map([], |r| Ok((r.get::<_, MemberId>(0)?, r.get::<_, i64>(1)?)))? {
                let (member, group) = row?;
                clans.entry(member).or_default().push(group);
            }
            let mut times: HashMap<MemberId, (Option<i64>, Option<i64>)> = HashMap::new();
            let mut stmt = conn.prepare("SELECT member_id, walked_at, profile_read_at FROM dclisync_player")?;
            for row in stmt.query_map([], |r| Ok((r.get::<_, MemberId>(0)?, r.get(1)?, r.get(2)?)))? {
                let (member, walked, read) = row?;
                times.insert(member, (walked, read));
            }
            let mut busy: std::collections::HashSet<MemberId> = std::collections::HashSet::new();
            // Queued activities (the partial index holds the unsynced rows alone) and reports
            // waiting for their second fetch.
            let mut stmt = conn.prepare(
                "SELECT DISTINCT c.member FROM activity_queue q INDEXED BY dclisync_queue_unsynced_index
                   JOIN character c ON c.character_id = q.character WHERE q.synced = 0
                 UNION
                 SELECT DISTINCT c.member FROM dclisync_report r
                   JOIN activity_queue q ON q.activity_id = r.activity_id
                   JOIN character c ON c.character_id = q.character
                  WHERE r.recheck_at IS NOT NULL",
            )?;
            for row in stmt.query_map([], |r| r.get::<_, MemberId>(0))? {
                busy.insert(row?);
            }
            Ok(players
                .iter()
                .map(|&member_id| {
                    let (walked_at, read_at) = times.get(&member_id).copied().unwrap_or((None, None));
                    PlayerState {
                        member_id,
                        clans: clans.get(&member_id).cloned().unwrap_or_default(),
                        walked_at,
                        read_at,
                        work_left: busy.contains(&member_id),
                    }
                })
                .collect())
        })
    }

    /// Records a read of the player's profile at `read_at`, and, when the walk that followed was
    /// complete, when it started.
    pub fn record_walk_times(
        &mut self,
        member_id: MemberId,
        read_at: i64,
        complete_walk_at: Option<i64>,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO dclisync_player (member_id, profile_read_at, walked_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (member_id) DO UPDATE SET profile_read_at = ?2,
                   walked_at = COALESCE(?3, walked_at)",
                params![member_id, read_at, complete_walk_at],
            )?;
            Ok(())
        })
    }

    /// Keeps the gate figures of the round that ended at `at`, for `--list`.
    pub fn record_gate_round(&mut self, at: i64, counts: GateCounts, rosters_failed: usize) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT OR REPLACE INTO dclisync_gate_round (id, at, read, stale, skipped, rosters_failed)
                 VALUES (1, ?1, ?2, ?3, ?4, ?5)",
                params![at, counts.read as i64, counts.stale as i64, counts.skipped as i64, rosters_failed as i64],
            )?;
            Ok(())
        })
    }

    /// The gate figures of the last round that kept them.
    pub fn last_gate_round(&self) -> Result<Option<LastGateRound>, StoreError> {
        self.read(|conn| {
            conn.query_row(
                "SELECT at, read, stale, skipped, rosters_failed FROM dclisync_gate_round WHERE id = 1",
                [],
                |r| {
                    Ok(LastGateRound {
                        at: r.get(0)?,
                        counts: GateCounts {
                            read: r.get::<_, i64>(1)? as usize,
                            stale: r.get::<_, i64>(2)? as usize,
                            skipped: r.get::<_, i64>(3)? as usize,
                        },
                        rosters_failed: r.get(4)?,
                    })
                },
            )
            .optional()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::ids::CharacterId;
    use crate::core::pgcr::MemberRow;

    fn member(id: i64) -> MemberRow {
        MemberRow {
            member_id: MemberId(id),
            platform_id: 3,
            display_name: None,
            bungie_display_name: Some(format!("P{id}")),
            bungie_display_name_code: Some("0001".to_string()),
        }
    }

    #[test]
    fn clans_are_remembered_kept_and_forgotten_and_the_gate_reads_every_player_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        for id in 1..=3 {
            store.add_player(&member(id), "2024-01-01T00:00:00+00:00").unwrap();
        }
        let ids = |v: &[i64]| v.iter().map(|i| MemberId(*i)).collect::<Vec<_>>();
        store.remember_group(7, &ids(&[1, 2, 9]), 100).unwrap();
        store.remember_group(8, &ids(&[2]), 100).unwrap();
        store.record_roster(7, &ids(&[3]), &ids(&[9]), 3, 200).unwrap();
        assert_eq!(store.group_members(7).unwrap(), ids(&[1, 2, 3]));
        assert_eq!(
            store.remembered_groups().unwrap(),
            vec![
                RememberedGroup { group_id: 7, roster_read_at: Some(200), members: 3, tracked: 3 },
                RememberedGroup { group_id: 8, roster_read_at: Some(100), members: 1, tracked: 1 },
            ]
        );

        store.record_walk_times(MemberId(1), 50, Some(40)).unwrap();
        store.record_walk_times(MemberId(1), 60, None).unwrap();
        store.record_profile(&member(3), &[(CharacterId(31), 0)]).unwrap();
        store.enqueue_walk(MemberId(3), CharacterId(31), &[crate::core::ids::ActivityId(5)], None).unwrap();
        let states = store.gate_states(&ids(&[2, 1, 3])).unwrap();
        assert_eq!(
            states,
            vec![
                PlayerState { member_id: MemberId(2), clans: vec![7, 8], ..PlayerState::default() },
                PlayerState {
                    member_id: MemberId(1),
                    clans: vec![7],
                    walked_at: Some(40),
                    read_at: Some(60),
                    work_left: false
                },
                PlayerState { member_id: MemberId(3), clans: vec![7], work_left: true, ..PlayerState::default() },
            ],
            "an incomplete walk keeps the last complete one; queued work is found"
        );

        assert!(store.forget_group(7).unwrap());
        assert!(!store.forget_group(7).unwrap(), "forgotten already");
        assert_eq!(store.group_members(7).unwrap(), vec![]);
        assert_eq!(store.tracked_players().unwrap().len(), 3, "the players stay");

        assert_eq!(store.last_gate_round().unwrap(), None);
        let counts = GateCounts { read: 3, stale: 1, skipped: 297 };
        store.record_gate_round(500, counts, 1).unwrap();
        assert_eq!(store.last_gate_round().unwrap(), Some(LastGateRound { at: 500, counts, rosters_failed: 1 }));
    }
}
