//! Late and mis-filed matches: Bungie sometimes lists a match in a history after newer ones, or
//! under the other mode, so paging back to the newest known match can miss it for ever. A rescan
//! walks a character's whole history in both modes and queues whatever is not queued yet.
//! `--rescan` asks for one now; the daemon rescans each player about once a day, each player at
//! its own time of day, so no round rescans every player at once.
//!
//! Pure: the shell passes what each player's last rescan was and `now`.

use std::collections::HashSet;

use crate::core::bungie::model::HistoryPage;
use crate::core::ids::{ActivityId, MemberId};
use crate::core::plan::{listed_activities, HISTORY_PAGE_SIZE};

/// How often the daemon rescans a player.
pub const RESCAN_INTERVAL_SECS: i64 = 24 * 60 * 60;
/// The least time between two daily rescans of a player, so that a player whose schedule just
/// started (or just moved) is not rescanned twice within hours.
pub const RESCAN_MIN_GAP_SECS: i64 = RESCAN_INTERVAL_SECS / 2;
/// A daemon round rescans at most one in this many of its players (at least one): after a long
/// pause every player is due, and the rescans catch up over several rounds instead of one.
pub const RESCAN_SHARE_PER_ROUND: usize = 24;

/// Which players a sync rescans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RescanMode {
    /// None: page back to the newest known match only.
    #[default]
    Off,
    /// Every player of the sync (`--rescan`).
    All,
    /// Each player once a day at its own time (the daemon).
    Daily,
}

/// One mode of one character's history, walked to its end.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WholeWalk {
    /// Instance ids not known for the character, newest first.
    pub new: Vec<ActivityId>,
    /// Those of `new` listed after a known match: a plain sync, which stops at the first known
    /// match, would never have queued them.
    pub missed: usize,
    /// Gambit private matches seen and left out.
    pub skipped_gambit: usize,
    seen_known: bool,
    /// The ids of `new`, for constant-time de-duplication.
    listed: HashSet<ActivityId>,
}

impl WholeWalk {
    /// Reads the next page of the history (newest first); returns true when the history ended
    /// (a page shorter than [`HISTORY_PAGE_SIZE`]). Known matches never stop the walk.
    pub fn page(&mut self, page: &HistoryPage, known: &HashSet<ActivityId>) -> bool {
        for (id, gambit_private) in listed_activities(page) {
            if known.contains(&id) {
                self.seen_known = true;
                continue;
            }
            if gambit_private {
                self.skipped_gambit += 1;
                continue;
            }
            if self.listed.insert(id) {
                self.new.push(id);
                if self.seen_known {
                    self.missed += 1;
                }
            }
        }
        page.activities.len() < HISTORY_PAGE_SIZE
    }
}

/// A player of a round and when their whole history was last walked (Unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastRescan {
    pub member_id: MemberId,
    pub at: Option<i64>,
}

/// The players a round rescans, by member id in ascending order.
///
/// Daily: player `i` of `n` (by member id) has its time of day at `i/n` of a day, and is due at
/// the first round past that time since its last rescan, and at least [`RESCAN_MIN_GAP_SECS`]
/// after it. A player never rescanned is not due: their first sync walks their whole history
/// anyway, and starts the schedule. A last rescan in the future (a clock that went back more
/// than a day) means due. At most one in [`RESCAN_SHARE_PER_ROUND`] players per round, those
/// waiting longest first, so that no round rescans every player of a list of two or more.
pub fn rescans_due(mode: RescanMode, players: &[LastRescan], now: i64) -> Vec<MemberId> {
    let mut sorted = players.to_vec();
    sorted.sort_by_key(|p| p.member_id);
    sorted.dedup_by_key(|p| p.member_id);
    let mut due: Vec<LastRescan> = match mode {
        RescanMode::Off => return Vec::new(),
        RescanMode::All => return sorted.iter().map(|p| p.member_id).collect(),
        RescanMode::Daily => {
            let n = sorted.len() as i64;
            sorted
                .iter()
                .enumerate()
                .filter(|(i, p)| {
                    let Some(at) = p.at else { return false };
                    if at > now.saturating_add(RESCAN_INTERVAL_SECS) {
                        return true;
                    }
                    let phase = *i as i64 * RESCAN_INTERVAL_SECS / n.max(1);
                    let day = |t: i64| t.saturating_sub(phase).div_euclid(RESCAN_INTERVAL_SECS);
                    day(now) > day(at) && now.saturating_sub(at) >= RESCAN_MIN_GAP_SECS
                })
                .map(|(_, p)| *p)
                .collect()
        }
    };
    let cap = sorted.len().div_ceil(RESCAN_SHARE_PER_ROUND).max(1);
    due.sort_by_key(|p| (p.at, p.member_id));
    due.truncate(cap);
    let mut ids: Vec<MemberId> = due.into_iter().map(|p| p.member_id).collect();
    ids.sort_unstable();
    ids
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::history_page as page;
    use proptest::prelude::*;

    const DAY: i64 = RESCAN_INTERVAL_SECS;

    #[test]
    fn a_whole_walk_queues_every_unknown_match_and_counts_those_a_plain_sync_missed() {
        let known: HashSet<ActivityId> = [9, 5].map(ActivityId).into_iter().collect();
        let gambit = crate::core::plan::GAMBIT_PRIVATE_HASHES[0];
        // (case, history page as (id, hash), queued, missed, gambit left out)
        type Case = (&'static str, Vec<(i64, i64)>, Vec<i64>, usize, usize);
        let cases: [Case; 6] = [
            ("nothing new", vec![(9, 1), (5, 1)], vec![], 0, 0),
            ("new on top only: a plain sync finds it too", vec![(10, 1), (9, 1), (5, 1)], vec![10], 0, 0),
            ("one inserted in the middle", vec![(10, 1), (9, 1), (7, 1), (5, 1)], vec![10, 7], 1, 0),
            ("older than everything known", vec![(9, 1), (5, 1), (2, 1), (1, 1)], vec![2, 1], 2, 0),
            ("gambit private left out", vec![(9, 1), (8, gambit), (6, 1)], vec![6], 1, 1),
            ("first sync: nothing known, nothing missed", vec![(4, 1), (3, 1)], vec![4, 3], 0, 0),
        ];
        for (name, ids, new, missed, gambit) in cases {
            let mut walk = WholeWalk::default();
            let ended = walk.page(&page(&ids), &known);
            assert!(ended, "{name}: a short page ends the history");
            let new: Vec<ActivityId> = new.into_iter().map(ActivityId).collect();
            assert_eq!((walk.new, walk.missed, walk.skipped_gambit), (new, missed, gambit), "{name}");
        }
    }

    #[test]
    fn a_whole_walk_reads_every_page() {
        let known: HashSet<ActivityId> = [ActivityId(10_000)].into_iter().collect();
        let first: Vec<(i64, i64)> = (0..HISTORY_PAGE_SIZE as i64).map(|i| (10_000 - i, 1)).collect();
        let mut walk = WholeWalk::default();
        assert!(!walk.page(&page(&first), &known), "a full page starting with a known match goes on");
        assert!(walk.page(&page(&[(500, 1)]), &known));
        assert_eq!(walk.new.len(), HISTORY_PAGE_SIZE);
        assert_eq!(walk.missed, HISTORY_PAGE_SIZE, "all after the known one");
        assert!(walk.page(&page(&[]), &known), "an empty page ends it");
    }

    fn at(member_id: i64, at: Option<i64>) -> LastRescan {
        LastRescan { member_id: MemberId(member_id), at }
    }

    #[test]
    fn the_rescan_plan() {
        let t = 100 * DAY;
        let two = [at(2, Some(t - DAY)), at(1, Some(t - DAY))];
        // (case, mode, players, now, rescanned)
        type Case = (&'static str, RescanMode, Vec<LastRescan>, i64, Vec<i64>);
        let cases: Vec<Case> = vec![
            ("off", RescanMode::Off, two.to_vec(), t, vec![]),
            (
                "--rescan: everyone, never rescanned or not",
                RescanMode::All,
                vec![at(3, None), at(1, Some(t))],
                t,
                vec![1, 3],
            ),
            (
                "daily: never rescanned is not due (the first sync walks it all)",
                RescanMode::Daily,
                vec![at(1, None)],
                t,
                vec![],
            ),
            ("daily: one player, a day later", RescanMode::Daily, vec![at(1, Some(t - DAY))], t, vec![1]),
            ("daily: one player, an hour later", RescanMode::Daily, vec![at(1, Some(t - 3600))], t, vec![]),
            ("daily: two players due, one per round", RescanMode::Daily, two.to_vec(), t, vec![1]),
            (
                "daily: the one waiting longest first",
                RescanMode::Daily,
                vec![at(1, Some(t - DAY)), at(2, Some(t - 3 * DAY))],
                t,
                vec![2],
            ),
            (
                "daily: player 2's time is noon",
                RescanMode::Daily,
                vec![at(1, Some(t)), at(2, Some(t - DAY / 2))],
                t + DAY / 2 - 1,
                vec![],
            ),
            (
                "daily: player 2 at noon",
                RescanMode::Daily,
                vec![at(1, Some(t)), at(2, Some(t - DAY / 2))],
                t + DAY / 2,
                vec![2],
            ),
            (
                "daily: a rescan in the future (clock went back)",
                RescanMode::Daily,
                vec![at(1, Some(t + 2 * DAY))],
                t,
                vec![1],
            ),
            ("daily: a rescan just now, clock a little back", RescanMode::Daily, vec![at(1, Some(t + 60))], t, vec![]),
        ];
        for (name, mode, players, now, expected) in cases {
            let expected: Vec<MemberId> = expected.into_iter().map(MemberId).collect();
            assert_eq!(rescans_due(mode, &players, now), expected, "{name}");
        }
    }

    proptest! {
        /// The daily rescans over a day of rounds: every player of a list of two or more is
        /// rescanned, none more than once a day, and no round rescans every player.
        #[test]
        fn daily_rescans_cover_everyone_and_never_all_at_once(
            n in 2usize..60,
            interval in 30i64..3600,
            start in 0i64..10 * DAY,
            offsets in prop::collection::vec(0i64..DAY, 60),
        ) {
            let mut players: Vec<LastRescan> =
                (0..n).map(|i| at(1000 + i as i64 * 7, Some(start - DAY + offsets[i]))).collect();
            let mut rescans = vec![0usize; n];
            let mut now = start;
            while now < start + 3 * DAY {
                let due = rescans_due(RescanMode::Daily, &players, now);
                prop_assert!(due.len() < n, "a round rescanned all {} players", n);
                for p in players.iter_mut().filter(|p| due.contains(&p.member_id)) {
                    if let Some(last) = p.at {
                        prop_assert!(now - last >= RESCAN_MIN_GAP_SECS, "rescanned twice within hours");
                    }
                    p.at = Some(now);
                }
                for (i, p) in players.iter().enumerate() {
                    if due.contains(&p.member_id) {
                        rescans[i] += 1;
                    }
                }
                now += interval;
            }
            prop_assert!(rescans.iter().all(|r| *r >= 2), "over three days everyone is rescanned: {:?}", rescans);
            prop_assert!(rescans.iter().all(|r| *r <= 4), "about once a day: {:?}", rescans);
        }
    }
}
