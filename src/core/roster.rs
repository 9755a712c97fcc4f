//! The roster gate: which tracked players' profiles a round reads, decided from the rosters of
//! the remembered clans.
//!
//! An idle player costs one profile request a round; at Bungie's 25 requests a second that is
//! the whole round for a few hundred players, and minutes for thousands. A clan's roster says
//! for a hundred members a request whether each is online (`isOnline`) and when that last
//! changed (`lastOnlineStatusChange`, Unix seconds). A player who has not been online since
//! their history was last read to the end has no new match, so their profile need not be read.
//!
//! # The rule
//!
//! Each round first reads the roster of every remembered clan (every page), then [`plan`] reads
//! the profile of a tracked player when any of these holds, and skips it otherwise:
//! - the gate is off (`--max-staleness 0`), or the round names its players (`--sync NAME…`);
//! - the player has work that needs a read whatever the roster says: activities still queued, a
//!   report waiting for its second fetch, a whole-history rescan due;
//! - no complete walk is recorded for them (a first sync, or only walks that failed part way or
//!   left a play too recent to trust its history);
//! - they are in no remembered clan and no roster lists them;
//! - a remembered clan the store lists them in could not be read whole this round;
//! - no roster lists them although a clan does in the store (they left, or Bungie left them out);
//! - a roster says they are online, or gives no status, or a change time that is missing or 0;
//! - a roster's `lastOnlineStatusChange` is later than the start of their last complete walk
//!   minus [`HISTORY_SETTLE_SECS`];
//! - their last complete walk started later than now (the clock went back);
//! - their profile was last read [`DEFAULT_MAX_STALENESS_SECS`] ago or more (`--max-staleness`),
//!   or never, or in the future: this bounds whatever the rosters get wrong.
//!
//! Only the last reason makes a *stale read*; every other read is a read for cause.
//!
//! # Why each edge is where it is
//!
//! - **Settle time.** Bungie lists a match in the history a little after the player goes
//!   offline; a walk that started less than [`HISTORY_SETTLE_SECS`] after the status change may
//!   have missed the last match, so the player is read again until their status change is that
//!   old at the start of a complete walk. The walk is timed from its start, before the profile
//!   is read, never from its end.
//! - **Clock skew.** The walk's start is our clock, the status change Bungie's. The settle margin
//!   covers our clock running ahead of Bungie's by up to that much; a change time later than now
//!   is later than any walk start anyway, so it is read; a walk recorded in our future means our
//!   clock went back, and then nothing is trusted but a read. `--max-staleness` bounds any skew
//!   beyond that.
//! - **A roster that fails.** A page that cannot be read after its retries makes the whole
//!   clan's roster unknown this round: its pages are not a snapshot, and a member may have moved
//!   between the pages read and the one that failed. Every member the store lists in that clan
//!   is read. Taking the failure as "nobody online" would skip exactly the players whose
//!   status could not be seen.
//! - **A member of two clans.** Every roster that lists them must allow the skip, and every clan
//!   the store lists them in must have been read whole; one doubt is enough to read.
//! - **A missing entry.** A player the store places in a clan that no roster lists may have left
//!   it; nothing says whether they played, so they are read.
//!
//! [`plan`] is linear in the players and roster entries: the entries are indexed by member
//! once, and each player looks up only their own.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::core::bungie::model::ClanMembersPage;
use crate::core::ids::MemberId;
pub use crate::core::plan::HISTORY_SETTLE_SECS;

/// How long a player's profile may go unread, by default, however idle the rosters say they are.
pub const DEFAULT_MAX_STALENESS_SECS: i64 = 60 * 60;

/// One member as a clan roster lists them this round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RosterEntry {
    pub member_id: MemberId,
    /// `isOnline`; none when the roster does not say.
    pub is_online: Option<bool>,
    /// `lastOnlineStatusChange` in Unix seconds; none when missing or unreadable.
    pub last_change: Option<i64>,
}

/// The members one roster page lists, in its order; an entry without a membership id is passed
/// over (it names nobody the gate could skip).
pub fn page_entries(page: &ClanMembersPage) -> Vec<RosterEntry> {
    page.results
        .iter()
        .filter_map(|m| {
            let member_id = MemberId(m.destiny_user_info.as_ref()?.membership_id?);
            Some(RosterEntry { member_id, is_online: m.is_online, last_change: m.last_online_status_change })
        })
        .collect()
}

/// How reading one clan's roster went this round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum RosterRead {
    /// Every page was read: these are all its members.
    Complete(Vec<RosterEntry>),
    /// A page could not be read: the clan's members are unknown this round.
    Failed,
}

/// One remembered clan's roster this round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClanRoster {
    pub group_id: i64,
    pub read: RosterRead,
}

/// What the store knows of a tracked player that the gate needs.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct PlayerState {
    pub member_id: MemberId,
    /// The remembered clans the store lists the player in.
    pub clans: Vec<i64>,
    /// Unix seconds at which the player's last complete walk started.
    pub walked_at: Option<i64>,
    /// Unix seconds of the last read of the player's profile.
    pub read_at: Option<i64>,
    /// Work that needs the player read whatever the roster says (queued activities, a report to
    /// fetch again, a rescan due).
    pub work_left: bool,
}

/// Why a player's profile is read this round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Reason {
    /// The gate is off, or the round names its players.
    GateOff,
    WorkLeft,
    NeverWalked,
    /// In no remembered clan, and listed by no roster.
    NoClan,
    /// A clan the store lists them in could not be read whole.
    RosterFailed,
    /// The store places them in a clan, but no roster lists them.
    NotListed,
    Online,
    /// No status, or a change time that is missing or 0.
    NoStatus,
    /// Their status changed after their last complete walk (less the settle time).
    StatusChanged,
    /// Our clock is behind what the store recorded.
    ClockBack,
    /// The roster would let them be skipped, but their profile was not read for too long.
    Stale,
}

/// What the gate decided for one player.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Verdict {
    Read(Reason),
    /// The rosters show no play since the last complete walk: no request this round.
    Skip,
}

impl Verdict {
    pub fn reads(self) -> bool {
        matches!(self, Verdict::Read(_))
    }
}

/// How the gate is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GateConfig {
    /// `--max-staleness` in seconds; none: the gate is off and everyone is read.
    pub max_staleness: Option<i64>,
}

impl GateConfig {
    /// `--max-staleness SECONDS`: 0 turns the gate off.
    pub fn from_staleness(seconds: u64) -> GateConfig {
        GateConfig { max_staleness: (seconds > 0).then(|| i64::try_from(seconds).unwrap_or(i64::MAX)) }
    }

    pub fn is_on(self) -> bool {
        self.max_staleness.is_some()
    }
}

/// The gate's decision for a round: a verdict per player, in the players' order.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct GatePlan {
    pub verdicts: Vec<(MemberId, Verdict)>,
}

/// A round's gate figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct GateCounts {
    /// Profiles read, stale reads included.
    pub read: usize,
    /// Read only because they had not been read for `--max-staleness`.
    pub stale: usize,
    /// Not read: the rosters showed no play.
    pub skipped: usize,
}

impl GatePlan {
    /// The players whose profile is read, in order.
    pub fn to_read(&self) -> impl Iterator<Item = MemberId> + '_ {
        self.verdicts.iter().filter(|(_, v)| v.reads()).map(|(id, _)| *id)
    }

    pub fn counts(&self) -> GateCounts {
        let mut c = GateCounts::default();
        for (_, v) in &self.verdicts {
            match v {
                Verdict::Skip => c.skipped += 1,
                Verdict::Read(reason) => {
                    c.read += 1;
                    c.stale += usize::from(*reason == Reason::Stale);
                }
            }
        }
        c
    }
}

/// Decides whose profile this round reads (see the module documentation), at `now` (Unix
/// seconds).
pub fn plan(players: &[PlayerState], rosters: &[ClanRoster], gate: GateConfig, now: i64) -> GatePlan {
    let failed: HashSet<i64> = rosters.iter().filter(|r| r.read == RosterRead::Failed).map(|r| r.group_id).collect();
    let mut listed: HashMap<MemberId, Vec<&RosterEntry>> = HashMap::new();
    for roster in rosters {
        if let RosterRead::Complete(entries) = &roster.read {
            for entry in entries {
                listed.entry(entry.member_id).or_default().push(entry);
            }
        }
    }
    let verdicts = players
        .iter()
        .map(|p| {
            let entries = listed.get(&p.member_id).map_or(&[][..], Vec::as_slice);
            (p.member_id, verdict(p, entries, &failed, gate, now))
        })
        .collect();
    GatePlan { verdicts }
}

/// One player's verdict, given the roster entries that list them and the clans that failed.
fn verdict(p: &PlayerState, entries: &[&RosterEntry], failed: &HashSet<i64>, gate: GateConfig, now: i64) -> Verdict {
    let Some(max_staleness) = gate.max_staleness else { return Verdict::Read(Reason::GateOff) };
    if p.work_left {
        return Verdict::Read(Reason::WorkLeft);
    }
    let Some(walked_at) = p.walked_at else { return Verdict::Read(Reason::NeverWalked) };
    if p.clans.iter().any(|c| failed.contains(c)) {
        return Verdict::Read(Reason::RosterFailed);
    }
    if entries.is_empty() {
        return Verdict::Read(if p.clans.is_empty() { Reason::NoClan } else { Reason::NotListed });
    }
    for entry in entries {
        match (entry.is_online, entry.last_change) {
            (Some(true), _) => return Verdict::Read(Reason::Online),
            (None, _) | (_, None | Some(0)) => return Verdict::Read(Reason::NoStatus),
            (Some(false), Some(changed)) if changed > walked_at.saturating_sub(HISTORY_SETTLE_SECS) => {
                return Verdict::Read(Reason::StatusChanged)
            }
            (Some(false), Some(_)) => {}
        }
    }
    if walked_at > now {
        return Verdict::Read(Reason::ClockBack);
    }
    match p.read_at {
        Some(read) if read <= now && now - read < max_staleness => Verdict::Skip,
        Some(read) if read > now => Verdict::Read(Reason::ClockBack),
        _ => Verdict::Read(Reason::Stale),
    }
}

/// The start of a walk that counts as complete for the gate, if it does: no part of it failed,
/// and every character it walked kept its marker (a play too recent to trust its history keeps
/// none, and then the player is read again next round).
pub fn complete_walk_at(started_at: i64, no_failure: bool, every_walk_marked: bool) -> Option<i64> {
    (no_failure && every_walk_marked).then_some(started_at)
}

/// How a complete roster differs from the clan's members the store remembers.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct RosterChange {
    /// Listed now, not remembered: joined since the last complete read.
    pub joined: Vec<MemberId>,
    /// Remembered, not listed now: left since.
    pub left: Vec<MemberId>,
}

/// Compares a clan's remembered members with those a complete roster lists, each list in the
/// order given.
pub fn roster_change(remembered: &[MemberId], listed: &[MemberId]) -> RosterChange {
    let before: HashSet<MemberId> = remembered.iter().copied().collect();
    let now: HashSet<MemberId> = listed.iter().copied().collect();
    let mut seen = HashSet::new();
    RosterChange {
        joined: listed.iter().copied().filter(|m| !before.contains(m) && seen.insert(*m)).collect(),
        left: remembered.iter().copied().filter(|m| !now.contains(m)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;
    const HOUR: i64 = 3600;
    const ON: GateConfig = GateConfig { max_staleness: Some(HOUR) };
    const CLAN: i64 = 7;
    const OTHER: i64 = 8;

    fn player(id: i64) -> PlayerState {
        PlayerState {
            member_id: MemberId(id),
            clans: vec![CLAN],
            walked_at: Some(NOW - 10 * 60),
            read_at: Some(NOW - 10 * 60),
            work_left: false,
        }
    }

    /// Offline since well before the walk.
    fn idle(id: i64) -> RosterEntry {
        RosterEntry { member_id: MemberId(id), is_online: Some(false), last_change: Some(NOW - 5 * HOUR) }
    }

    fn complete(group_id: i64, entries: Vec<RosterEntry>) -> ClanRoster {
        ClanRoster { group_id, read: RosterRead::Complete(entries) }
    }

    fn one(p: PlayerState, rosters: &[ClanRoster], gate: GateConfig) -> Verdict {
        plan(&[p], rosters, gate, NOW).verdicts[0].1
    }

    #[test]
    fn the_gate_is_on_unless_max_staleness_is_0() {
        assert!(!GateConfig::from_staleness(0).is_on());
        assert!(GateConfig::from_staleness(1).is_on());
        assert!(GateConfig::from_staleness(DEFAULT_MAX_STALENESS_SECS as u64).is_on());
    }

    #[test]
    fn counts_tell_stale_reads_from_other_reads_and_skips() {
        let plan = GatePlan {
            verdicts: vec![
                (MemberId(1), Verdict::Read(Reason::Stale)),
                (MemberId(2), Verdict::Read(Reason::Online)),
                (MemberId(3), Verdict::Skip),
                (MemberId(4), Verdict::Read(Reason::StatusChanged)),
            ],
        };
        assert_eq!(plan.counts(), GateCounts { read: 3, stale: 1, skipped: 1 });
        assert_eq!(plan.to_read().collect::<Vec<_>>(), [MemberId(1), MemberId(2), MemberId(4)]);
    }

    #[test]
    fn only_a_walk_with_no_failure_and_every_marker_kept_is_complete() {
        let walk = 1_800_000_123;
        assert_eq!(complete_walk_at(walk, true, true), Some(walk));
        assert_eq!(complete_walk_at(walk, false, true), None, "a part failed");
        assert_eq!(complete_walk_at(walk, true, false), None, "a play too recent to trust its history");
    }

    #[test]
    fn each_rule_in_turn() {
        let walked = NOW - 10 * 60;
        let changed = |at: i64| RosterEntry { last_change: Some(at), ..idle(1) };
        let cases: Vec<(&str, PlayerState, Vec<ClanRoster>, GateConfig, Verdict)> = vec![
            ("idle in a read clan", player(1), vec![complete(CLAN, vec![idle(1)])], ON, Verdict::Skip),
            (
                "gate off",
                player(1),
                vec![complete(CLAN, vec![idle(1)])],
                GateConfig::from_staleness(0),
                Verdict::Read(Reason::GateOff),
            ),
            (
                "work left",
                PlayerState { work_left: true, ..player(1) },
                vec![complete(CLAN, vec![idle(1)])],
                ON,
                Verdict::Read(Reason::WorkLeft),
            ),
            (
                "never walked",
                PlayerState { walked_at: None, ..player(1) },
                vec![complete(CLAN, vec![idle(1)])],
                ON,
                Verdict::Read(Reason::NeverWalked),
            ),
            (
                "in no clan",
                PlayerState { clans: vec![], ..player(1) },
                vec![complete(CLAN, vec![idle(2)])],
                ON,
                Verdict::Read(Reason::NoClan),
            ),
            (
                "in no remembered clan, yet listed by a roster",
                PlayerState { clans: vec![], ..player(1) },
                vec![complete(CLAN, vec![idle(1)])],
                ON,
                Verdict::Skip,
            ),
            ("not listed", player(1), vec![complete(CLAN, vec![idle(2)])], ON, Verdict::Read(Reason::NotListed)),
            (
                "roster failed",
                player(1),
                vec![ClanRoster { group_id: CLAN, read: RosterRead::Failed }],
                ON,
                Verdict::Read(Reason::RosterFailed),
            ),
            (
                "online",
                player(1),
                vec![complete(CLAN, vec![RosterEntry { is_online: Some(true), ..idle(1) }])],
                ON,
                Verdict::Read(Reason::Online),
            ),
            (
                "online unknown",
                player(1),
                vec![complete(CLAN, vec![RosterEntry { is_online: None, ..idle(1) }])],
                ON,
                Verdict::Read(Reason::NoStatus),
            ),
            (
                "change missing",
                player(1),
                vec![complete(CLAN, vec![RosterEntry { last_change: None, ..idle(1) }])],
                ON,
                Verdict::Read(Reason::NoStatus),
            ),
            ("change 0", player(1), vec![complete(CLAN, vec![changed(0)])], ON, Verdict::Read(Reason::NoStatus)),
            (
                "offline since after the walk",
                player(1),
                vec![complete(CLAN, vec![changed(walked + 60)])],
                ON,
                Verdict::Read(Reason::StatusChanged),
            ),
            (
                "offline since just before the walk: within the settle time",
                player(1),
                vec![complete(CLAN, vec![changed(walked - HISTORY_SETTLE_SECS + 1)])],
                ON,
                Verdict::Read(Reason::StatusChanged),
            ),
            (
                "offline since exactly the settle time before the walk",
                player(1),
                vec![complete(CLAN, vec![changed(walked - HISTORY_SETTLE_SECS)])],
                ON,
                Verdict::Skip,
            ),
            (
                "a change in the future (Bungie's clock ahead)",
                player(1),
                vec![complete(CLAN, vec![changed(NOW + HOUR)])],
                ON,
                Verdict::Read(Reason::StatusChanged),
            ),
            (
                "walked this very second: the clock has not gone back",
                PlayerState { walked_at: Some(NOW), ..player(1) },
                vec![complete(CLAN, vec![idle(1)])],
                ON,
                Verdict::Skip,
            ),
            (
                "our clock went back behind the walk",
                PlayerState { walked_at: Some(NOW + HOUR), ..player(1) },
                vec![complete(CLAN, vec![idle(1)])],
                ON,
                Verdict::Read(Reason::ClockBack),
            ),
            (
                "our clock went back behind the last read",
                PlayerState { read_at: Some(NOW + 60), ..player(1) },
                vec![complete(CLAN, vec![idle(1)])],
                ON,
                Verdict::Read(Reason::ClockBack),
            ),
            (
                "stale",
                PlayerState { read_at: Some(NOW - HOUR), walked_at: Some(NOW - 2 * HOUR), ..player(1) },
                vec![complete(CLAN, vec![idle(1)])],
                ON,
                Verdict::Read(Reason::Stale),
            ),
            (
                "never read",
                PlayerState { read_at: None, ..player(1) },
                vec![complete(CLAN, vec![idle(1)])],
                ON,
                Verdict::Read(Reason::Stale),
            ),
            (
                "two clans, both idle",
                PlayerState { clans: vec![CLAN, OTHER], ..player(1) },
                vec![complete(CLAN, vec![idle(1)]), complete(OTHER, vec![idle(1)])],
                ON,
                Verdict::Skip,
            ),
            (
                "two clans, one says online",
                PlayerState { clans: vec![CLAN, OTHER], ..player(1) },
                vec![
                    complete(CLAN, vec![idle(1)]),
                    complete(OTHER, vec![RosterEntry { is_online: Some(true), ..idle(1) }]),
                ],
                ON,
                Verdict::Read(Reason::Online),
            ),
            (
                "two clans, one failed",
                PlayerState { clans: vec![CLAN, OTHER], ..player(1) },
                vec![complete(CLAN, vec![idle(1)]), ClanRoster { group_id: OTHER, read: RosterRead::Failed }],
                ON,
                Verdict::Read(Reason::RosterFailed),
            ),
            (
                "left one clan, still listed by the other",
                PlayerState { clans: vec![CLAN, OTHER], ..player(1) },
                vec![complete(CLAN, vec![idle(2)]), complete(OTHER, vec![idle(1)])],
                ON,
                Verdict::Skip,
            ),
        ];
        for (name, p, rosters, gate, expected) in cases {
            assert_eq!(one(p, &rosters, gate), expected, "{name}");
        }
    }

    #[test]
    fn the_plan_keeps_the_players_order_and_counts_reads_stale_reads_and_skips() {
        let players = vec![
            player(3),
            PlayerState { read_at: Some(NOW - 2 * HOUR), walked_at: Some(NOW - 2 * HOUR), ..player(1) },
            player(2),
        ];
        let rosters = vec![complete(CLAN, vec![idle(1), RosterEntry { is_online: Some(true), ..idle(2) }, idle(3)])];
        let plan = plan(&players, &rosters, ON, NOW);
        assert_eq!(
            plan.verdicts,
            vec![
                (MemberId(3), Verdict::Skip),
                (MemberId(1), Verdict::Read(Reason::Stale)),
                (MemberId(2), Verdict::Read(Reason::Online)),
            ]
        );
        assert_eq!(plan.to_read().collect::<Vec<_>>(), vec![MemberId(1), MemberId(2)]);
        assert_eq!(plan.counts(), GateCounts { read: 2, stale: 1, skipped: 1 });
    }

    #[test]
    fn a_roster_page_gives_each_members_status() {
        let page: ClanMembersPage = crate::testdata::response("clan/members_page1.json");
        let entries = page_entries(&page);
        assert_eq!(entries.len(), 5);
        assert_eq!(
            entries[0],
            RosterEntry {
                member_id: MemberId(4_611_686_018_400_001_001),
                is_online: Some(true),
                last_change: Some(1_710_613_900)
            }
        );
        assert_eq!((entries[1].is_online, entries[1].last_change), (Some(false), Some(1_710_529_320)));
        let bare: ClanMembersPage = serde_json::from_value(serde_json::json!({
            "results": [{"destinyUserInfo": {"membershipId": "5"}, "lastOnlineStatusChange": "0"}, {"isOnline": true}]
        }))
        .expect("a page never fails");
        assert_eq!(
            page_entries(&bare),
            vec![RosterEntry { member_id: MemberId(5), is_online: None, last_change: Some(0) }],
            "no status kept as none; an entry without an id passed over"
        );
    }

    #[test]
    fn roster_changes() {
        let ids = |v: &[i64]| v.iter().map(|i| MemberId(*i)).collect::<Vec<_>>();
        assert_eq!(
            roster_change(&ids(&[1, 2, 3]), &ids(&[3, 4, 1, 4])),
            RosterChange { joined: ids(&[4]), left: ids(&[2]) }
        );
        assert_eq!(roster_change(&[], &[]), RosterChange::default());
    }

    /// A random tracked player's history: when their last complete walk started and their
    /// profile was last read, and the status Bungie has for them now.
    #[derive(Debug, Clone)]
    struct Truth {
        walked_ago: i64,
        read_ago: i64,
        online: bool,
        /// When their status last changed, seconds ago (negative: in the future).
        changed_ago: i64,
        clans: Vec<i64>,
        work_left: bool,
    }

    fn truth() -> impl proptest::strategy::Strategy<Value = Truth> {
        use proptest::prelude::*;
        (
            0i64..4 * HOUR,
            0i64..3 * HOUR,
            proptest::bool::weighted(0.2),
            -HOUR..6 * HOUR,
            proptest::collection::vec(0i64..3, 0..3),
            proptest::bool::weighted(0.1),
        )
            .prop_map(|(walked_ago, read_ago, online, changed_ago, clans, work_left)| Truth {
                walked_ago,
                read_ago,
                online,
                changed_ago,
                clans,
                work_left,
            })
    }

    proptest::proptest! {
        /// Whatever the rosters and walk times: a player whose status changed after the start
        /// of their last complete walk (less the settle time), who is online, who sits in a
        /// clan whose roster failed or who no roster lists, is never skipped; nobody goes
        /// unread past the staleness bound; and the gate off reads everyone.
        #[test]
        fn no_player_whose_status_changed_is_ever_skipped(
            truths in proptest::collection::vec(truth(), 1..40),
            failed_clans in proptest::collection::vec(proptest::bool::weighted(0.2), 3),
            dropped in proptest::collection::vec(proptest::bool::weighted(0.1), 40),
            staleness in 1i64..3 * HOUR,
        ) {
            let players: Vec<PlayerState> = truths.iter().enumerate().map(|(i, t)| {
                let mut clans = t.clans.clone();
                clans.sort_unstable();
                clans.dedup();
                PlayerState {
                    member_id: MemberId(i as i64 + 1),
                    clans,
                    walked_at: Some(NOW - t.walked_ago),
                    read_at: Some(NOW - t.read_ago),
                    work_left: t.work_left,
                }
            }).collect();
            // Each clan lists the players the store places in it (but a few left out), with the
            // status Bungie has for them; a failed clan lists nobody.
            let rosters: Vec<ClanRoster> = (0..3).map(|clan| {
                if failed_clans[clan as usize] {
                    return ClanRoster { group_id: clan, read: RosterRead::Failed };
                }
                let entries = players.iter().zip(&truths).enumerate()
                    .filter(|(i, (p, _))| p.clans.contains(&clan) && !dropped[*i])
                    .map(|(_, (p, t))| RosterEntry {
                        member_id: p.member_id,
                        is_online: Some(t.online),
                        last_change: Some(NOW - t.changed_ago),
                    })
                    .collect();
                ClanRoster { group_id: clan, read: RosterRead::Complete(entries) }
            }).collect();
            let gate = GateConfig { max_staleness: Some(staleness) };
            let planned = plan(&players, &rosters, gate, NOW);
            proptest::prop_assert_eq!(planned.verdicts.len(), players.len());
            for ((id, verdict), (p, t)) in planned.verdicts.iter().zip(players.iter().zip(&truths)) {
                proptest::prop_assert_eq!(*id, p.member_id);
                let changed = NOW - t.changed_ago > NOW - t.walked_ago - HISTORY_SETTLE_SECS;
                let unseen = p.clans.is_empty()
                    || p.clans.iter().any(|c| failed_clans[*c as usize])
                    || dropped[(id.0 - 1) as usize];
                let must_read = changed || t.online || unseen || t.work_left || t.read_ago >= staleness;
                if must_read {
                    proptest::prop_assert!(verdict.reads(), "{:?} skipped: {:?}", p, t);
                }
                // And the gate saves what it can: everyone else is skipped.
                proptest::prop_assert_eq!(verdict.reads(), must_read, "{:?} {:?} {:?}", p, t, verdict);
            }
            let off = plan(&players, &rosters, GateConfig::from_staleness(0), NOW);
            proptest::prop_assert!(off.verdicts.iter().all(|(_, v)| *v == Verdict::Read(Reason::GateOff)));
        }
    }
}
