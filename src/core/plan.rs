//! Sync plans: what to queue from a history page, and what to do with each queued activity.
//!
//! Observe, decide, act: the shell gathers what Bungie listed and what is stored, these pure
//! functions decide, and the shell carries the plan out. Plans are plain data in a stable order.
//!
//! # The rules of a sync
//!
//! For each player, in turn:
//! 1. Read the profile: the live characters, their classes and their `dateLastPlayed`. Once a
//!    day ([`account_check_due`]) also read the account stats, the only list of the deleted
//!    characters, whose matches belong to the player's history as much as the live ones'.
//! 2. For each character that needs it ([`needs_history`]), read its history in the
//!    [`HISTORY_MODES`], mode 32 (private matches, which mode 5 does not list) and then mode 5
//!    (all public PvP), [`HISTORY_PAGE_SIZE`] activities a page, newest first, until a page
//!    reaches an activity already queued for the character, or the history ends
//!    ([`scan_history_page`]). A first sync thus reads the whole history, a later one only what
//!    is new. Gambit private matches ([`GAMBIT_PRIVATE_HASHES`]) are listed under mode 32 but
//!    are not Crucible: they are never queued, so never fetched or stored.
//! 3. Queue every new instance id in the `activity_queue` table before any report is fetched:
//!    a character's whole walk is queued in one transaction, together with its marker (below).
//!    A run killed at any point thus leaves a walk queued whole or not at all, and the next run
//!    resumes from the queue, so killing and rerunning ends where one clean run would.
//! 4. Plan the downloads ([`fetch_plan`]): every queued activity once, however many tracked
//!    characters played it, newest first. One already stored (another tracked player was in the
//!    match) is only marked synced, never fetched again. Each fetched report is stored, and its
//!    queue rows marked synced, in one transaction of its own: a report is either stored and
//!    done or still queued, never half-written. Store writes happen on one thread and never wait
//!    on the network.
//! 5. A report whose download fails after its retries stays queued and is tried again next
//!    round; dclisync's own table `dclisync_attempt` counts the downloads that gave up on it,
//!    with the last error. After [`STUCK_AFTER_ATTEMPTS`] it is stuck: reported, and tried once
//!    every [`STUCK_RETRY_SECS`] instead of every round ([`retry_due`]), so a report Bungie
//!    cannot serve does not cost requests forever, yet is never given up.
//!
//! # Idle characters
//!
//! A complete walk leaves a marker: the `dateLastPlayed` it saw ([`marker_after_walk`]). While
//! the profile shows that same date the character has not played since, and its history is not
//! read, so an idle player costs one profile request a round (besides the account stats once a
//! day and the daemon's daily rescan). Any other date means walk: a later one is a new match, an
//! earlier one a clock gone back, and doubt is settled by asking. The marker is kept only once
//! the play is [`HISTORY_SETTLE_SECS`] old, because Bungie lists a match in the history a little
//! after `dateLastPlayed` moves. A deleted character is walked once more after it is found
//! deleted (it may have played before it was deleted), then only by rescans.
//!
//! Paging back only to the newest known activity can miss a match Bungie lists late or under
//! the other mode; [`crate::core::rescan`] walks whole histories to find those.
//!
//! # Nameless members
//!
//! With `DCLI_FIX_DATA`, the entries of a report that lack a Bungie name, a code or a platform,
//! and whose member is not stored yet, are looked up with GetMembershipsById after the download
//! and before the store transaction ([`member_lookups`], [`repair_member`]); the lookups pass
//! the same pace as every other request.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

use crate::core::bungie::envelope::ApiError;
use crate::core::bungie::model::{HistoryPage, UserCard};
use crate::core::ids::{ActivityId, CharacterId, MemberId};
use crate::core::pgcr::{MemberRow, PgcrRows};
use crate::core::time::parse_rfc3339;

/// Activities per history page; a shorter page is the last one.
pub const HISTORY_PAGE_SIZE: usize = 250;
/// Gambit private matches are filed under private Crucible matches (mode 32); they are not PvP.
pub const GAMBIT_PRIVATE_HASHES: [i64; 2] = [2_526_740_498, 248_695_599];
/// The history modes dclisync reads, in order: private matches (32), then all public PvP (5).
pub const HISTORY_MODES: [i64; 2] = [32, 5];

/// How long after a character's last play its history is trusted to be complete: Bungie adds a
/// match to the history a little after the profile's `dateLastPlayed` moves.
pub const HISTORY_SETTLE_SECS: i64 = 15 * 60;
/// How often a player's full character list (deleted characters included) is read again.
pub const ACCOUNT_CHECK_INTERVAL_SECS: i64 = 24 * 60 * 60;
/// The history marker of a deleted character whose history was walked once.
pub const DELETED_MARKER: &str = "deleted";
/// Failed runs after which a queued activity counts as stuck: reported, and retried at most once
/// a day instead of every round (`dclisync_attempt.attempts` counts one per run that gave up).
pub const STUCK_AFTER_ATTEMPTS: i64 = 10;
/// How long a stuck activity waits between tries.
pub const STUCK_RETRY_SECS: i64 = 24 * 60 * 60;

/// What the profile or the account says of a character.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CharacterState {
    /// In the profile, with its `dateLastPlayed` if Bungie gave one.
    Live { last_played: Option<String> },
    /// Listed as deleted by the account stats: it cannot play again.
    Deleted,
}

/// Whether a character's history must be walked, given the marker of its last complete walk.
/// Never skips on doubt: no marker, no date, or dates that do not compare mean walk. A deleted
/// character is walked once more after it is found deleted: it may have played after its last
/// walk as a live character and before it was deleted.
pub fn needs_history(state: &CharacterState, marker: Option<&str>) -> bool {
    let Some(marker) = marker else { return true };
    match state {
        CharacterState::Deleted => marker != DELETED_MARKER,
        CharacterState::Live { last_played: None } => true,
        // Any other date than the one walked means walk: later is a new play, earlier is a clock
        // or a server that went back, which is doubt.
        CharacterState::Live { last_played: Some(played) } => match (parse_rfc3339(played), parse_rfc3339(marker)) {
            (Some(played), Some(walked)) => played != walked,
            _ => played != marker,
        },
    }
}

/// The marker to keep after a complete walk at `now` (Unix seconds): the `dateLastPlayed` the
/// walk saw, once that play is old enough for the history to be complete; none otherwise (so the
/// next round walks again).
pub fn marker_after_walk(state: &CharacterState, now: i64) -> Option<String> {
    match state {
        CharacterState::Deleted => Some(DELETED_MARKER.to_string()),
        CharacterState::Live { last_played: Some(played) } => {
            parse_rfc3339(played).filter(|t| t.saturating_add(HISTORY_SETTLE_SECS) <= now).map(|_| played.clone())
        }
        CharacterState::Live { last_played: None } => None,
    }
}

/// Whether the account's character list is due to be read (first sync, or a day since).
pub fn account_check_due(last_checked: Option<i64>, now: i64) -> bool {
    last_checked.is_none_or(|t| now < t || now - t >= ACCOUNT_CHECK_INTERVAL_SECS)
}

/// What one history page adds to the queue, and whether to read the next page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PageScan {
    /// Instance ids not yet known for this character, newest first.
    pub new: Vec<ActivityId>,
    /// Gambit private matches seen and left out.
    pub skipped_gambit: usize,
    /// True when paging can stop: a known activity was reached or the history ended.
    pub done: bool,
}

/// The activities a history page lists, in its order: each instance id, and whether it is a
/// Gambit private match (never queued). Entries without an id are passed over.
pub fn listed_activities(page: &HistoryPage) -> impl Iterator<Item = (ActivityId, bool)> + '_ {
    page.activities.iter().filter_map(|activity| {
        let details = activity.activity_details.as_ref()?;
        let id = ActivityId(details.instance_id?);
        Some((id, details.director_activity_hash.is_some_and(|h| GAMBIT_PRIVATE_HASHES.contains(&h))))
    })
}

/// Reads one page of a character's history, newest first. Paging stops at the first activity
/// already known for the character (everything older was queued by an earlier sync) or at the
/// end of the history (a page shorter than [`HISTORY_PAGE_SIZE`]).
pub fn scan_history_page(page: &HistoryPage, known: &HashSet<ActivityId>) -> PageScan {
    let mut scan = PageScan { new: Vec::new(), skipped_gambit: 0, done: page.activities.len() < HISTORY_PAGE_SIZE };
    let mut listed = HashSet::new();
    for (id, gambit_private) in listed_activities(page) {
        if known.contains(&id) {
            scan.done = true;
            break;
        }
        if gambit_private {
            scan.skipped_gambit += 1;
            continue;
        }
        if listed.insert(id) {
            scan.new.push(id);
        }
    }
    scan
}

/// A queued activity that has not been stored: the queue row for one character.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Queued {
    pub activity_id: ActivityId,
    pub character_id: CharacterId,
}

/// What to do with one queued activity (all its queue rows together).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Step {
    /// Download the PGCR and store it; then mark every listed character's row synced.
    Fetch { activity_id: ActivityId, characters: Vec<CharacterId> },
    /// The PGCR is stored already (another tracked player was in the match): mark synced.
    AlreadyStored { activity_id: ActivityId, characters: Vec<CharacterId> },
    /// Its download failed in [`STUCK_AFTER_ATTEMPTS`] runs or more and was tried less than
    /// [`STUCK_RETRY_SECS`] ago: leave it queued, report it, try again another day.
    Stuck { activity_id: ActivityId, characters: Vec<CharacterId> },
}

/// The failed downloads of one queued activity so far, from dclisync's own table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failures {
    /// Runs whose download of it gave up.
    pub attempts: i64,
    /// When it was last tried, as stored (RFC 3339).
    pub last_attempt: String,
}

/// Whether an activity that failed before is to be tried in a round at `now` (Unix seconds):
/// always, until it counts as stuck; then once [`STUCK_RETRY_SECS`] have passed since the last
/// try. An unreadable time, or one in the future (the clock went back), means try: never leave
/// data behind on doubt.
pub fn retry_due(failures: &Failures, now: i64) -> bool {
    failures.attempts < STUCK_AFTER_ATTEMPTS
        || parse_rfc3339(&failures.last_attempt)
            .is_none_or(|last| last > now || now.saturating_sub(last) >= STUCK_RETRY_SECS)
}

impl Step {
    pub fn activity_id(&self) -> ActivityId {
        match self {
            Step::Fetch { activity_id, .. }
            | Step::AlreadyStored { activity_id, .. }
            | Step::Stuck { activity_id, .. } => *activity_id,
        }
    }

    /// The tracked characters whose queue rows this step covers.
    pub fn characters(&self) -> &[CharacterId] {
        match self {
            Step::Fetch { characters, .. }
            | Step::AlreadyStored { characters, .. }
            | Step::Stuck { characters, .. } => characters,
        }
    }
}

/// Turns the unsynced queue rows into steps: one step per activity, newest activity first, so
/// an activity shared by several tracked characters is fetched once. `failures` holds the
/// activities that failed before, `now` is Unix seconds.
pub fn fetch_plan(
    queued: &[Queued],
    stored: &HashSet<ActivityId>,
    failures: &HashMap<ActivityId, Failures>,
    now: i64,
) -> Vec<Step> {
    let mut by_activity: BTreeMap<ActivityId, Vec<CharacterId>> = BTreeMap::new();
    for q in queued {
        let characters = by_activity.entry(q.activity_id).or_default();
        if !characters.contains(&q.character_id) {
            characters.push(q.character_id);
        }
    }
    by_activity
        .into_iter()
        .rev()
        .map(|(activity_id, mut characters)| {
            characters.sort_unstable();
            if stored.contains(&activity_id) {
                Step::AlreadyStored { activity_id, characters }
            } else if failures.get(&activity_id).is_some_and(|f| !retry_due(f, now)) {
                Step::Stuck { activity_id, characters }
            } else {
                Step::Fetch { activity_id, characters }
            }
        })
        .collect()
}

/// DCLI_FIX_DATA: the members of a report to look up with GetMembershipsById before storing.
/// Those whose entry lacks a Bungie name, a code or a platform, and that are not stored yet.
pub fn member_lookups(rows: &PgcrRows, stored_members: &HashSet<MemberId>) -> Vec<MemberId> {
    let mut ids: Vec<MemberId> = rows
        .players
        .iter()
        .map(|p| &p.member)
        .filter(|m| m.is_incomplete() && !stored_members.contains(&m.member_id))
        .map(|m| m.member_id)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Repairs the report's member rows for `member_id` with the membership of the same id from a
/// GetMembershipsById answer. Keeps the report's values where the answer has none.
pub fn repair_member(rows: &mut PgcrRows, member_id: MemberId, memberships: &[UserCard]) {
    let Some(found) = memberships.iter().find(|c| c.membership_id == Some(member_id.0)).and_then(MemberRow::from_card)
    else {
        return;
    };
    for player in rows.players.iter_mut().filter(|p| p.member.member_id == member_id) {
        let m = &mut player.member;
        if found.platform_id != 0 {
            m.platform_id = found.platform_id;
        }
        if found.has_bungie_name() {
            m.bungie_display_name = found.bungie_display_name.clone();
            m.bungie_display_name_code = found.bungie_display_name_code.clone();
        }
        if crate::core::pgcr::named(&m.display_name).is_none()
            && crate::core::pgcr::named(&found.display_name).is_some()
        {
            m.display_name = found.display_name.clone();
        }
    }
}

/// DCLI_FIX_DATA: what the GetMembershipsById answers of a run said, so that each member is
/// looked up once per run, and what each answer means for the report that asked.
///
/// A member is looked up when an entry of a report lacks a Bungie name, a code or a platform,
/// and the store has no row for it yet. A found membership repairs the entry; a definite "no"
/// (an error that asking again would not change) stores the report as Bungie sent it; a passing
/// failure, maintenance or a bad key keeps the report queued, so the repair is not lost.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MemberLookups {
    answers: HashMap<MemberId, Vec<UserCard>>,
}

impl MemberLookups {
    /// The members of `rows` to look up before storing them, in ascending order.
    pub fn to_ask(&self, rows: &PgcrRows, stored_members: &HashSet<MemberId>) -> Vec<MemberId> {
        member_lookups(rows, stored_members).into_iter().filter(|id| !self.answers.contains_key(id)).collect()
    }

    /// Takes in Bungie's answer for `member_id`. An error means: keep the report queued. A
    /// definite "no" is not remembered: another report with the member asks again.
    pub fn answer(&mut self, member_id: MemberId, answer: Result<Vec<UserCard>, ApiError>) -> Result<(), ApiError> {
        match answer {
            Ok(memberships) => {
                self.answers.insert(member_id, memberships);
                Ok(())
            }
            Err(e) if e.is_transient() || e.stops_round() || e == ApiError::Stopped => Err(e),
            Err(_) => Ok(()),
        }
    }

    /// Repairs the entries of `rows` with the answers known for their members.
    pub fn repair(&self, rows: &mut PgcrRows, stored_members: &HashSet<MemberId>) {
        for member_id in member_lookups(rows, stored_members) {
            if let Some(memberships) = self.answers.get(&member_id) {
                repair_member(rows, member_id, memberships);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::history_page as page;
    use proptest::prelude::*;

    fn activities(ids: &[i64]) -> Vec<ActivityId> {
        ids.iter().copied().map(ActivityId).collect()
    }

    fn queued(activity: i64, character: i64) -> Queued {
        Queued { activity_id: ActivityId(activity), character_id: CharacterId(character) }
    }

    fn characters(ids: &[i64]) -> Vec<CharacterId> {
        ids.iter().copied().map(CharacterId).collect()
    }

    fn full_page(first: i64) -> HistoryPage {
        let ids: Vec<(i64, i64)> = (0..HISTORY_PAGE_SIZE as i64).map(|i| (first - i, 1)).collect();
        page(&ids)
    }

    #[test]
    fn history_pages_queue_what_is_new() {
        let known: HashSet<ActivityId> = [7, 3].map(ActivityId).into_iter().collect();
        let cases = [
            ("short page, nothing known", page(&[(10, 1), (9, 1)]), vec![10, 9], 0, true),
            ("stops at the first known", page(&[(10, 1), (9, 1), (7, 1), (6, 1)]), vec![10, 9], 0, true),
            ("gambit private left out", page(&[(10, 2_526_740_498), (9, 248_695_599), (8, 1)]), vec![8], 2, true),
            ("empty page ends the history", page(&[]), vec![], 0, true),
            ("a repeated id is queued once", page(&[(10, 1), (10, 1)]), vec![10], 0, true),
        ];
        for (name, p, new, gambit, done) in cases {
            let scan = scan_history_page(&p, &known);
            assert_eq!(scan, PageScan { new: activities(&new), skipped_gambit: gambit, done }, "{name}");
        }
        let scan = scan_history_page(&full_page(10_000), &known);
        assert!(!scan.done, "a full page with nothing known asks for the next page");
        assert_eq!(scan.new.len(), HISTORY_PAGE_SIZE);
    }

    #[test]
    fn history_fixtures() {
        use crate::testdata::response;
        let private: HistoryPage = response("history/page_mode32_with_gambit.json");
        let scan = scan_history_page(&private, &HashSet::new());
        assert_eq!(scan.new, activities(&[12_000_000_011, 12_000_000_010]), "Gambit private 016 and 012 left out");
        assert_eq!((scan.skipped_gambit, scan.done), (2, true));

        let public: HistoryPage = response("history/page_mode5_page0.json");
        let known: HashSet<ActivityId> = [ActivityId(12_000_000_006)].into_iter().collect();
        let scan = scan_history_page(&public, &known);
        assert_eq!(scan.new, activities(&[12_000_000_013, 12_000_000_009, 12_000_000_008, 12_000_000_007]));

        let past_end: HistoryPage = response("history/page_past_end.json");
        assert_eq!(
            scan_history_page(&past_end, &HashSet::new()),
            PageScan { new: vec![], skipped_gambit: 0, done: true }
        );
    }

    #[test]
    fn fix_data_repairs_nameless_members_from_their_membership() {
        use crate::core::bungie::model::{MembershipsById, Pgcr};
        use crate::testdata::response;
        let report: Pgcr = response("pgcr/nameless_entry.json");
        let mut rows =
            crate::core::pgcr::normalize(ActivityId(12_000_000_013), &report, crate::core::fixups::Rules::builtin())
                .expect("storable");
        let lumen = MemberId(4_611_686_018_400_001_040);
        let mothwing = MemberId(4_611_686_018_400_001_003);
        assert_eq!(member_lookups(&rows, &HashSet::new()), vec![mothwing, lumen]);
        let stored: HashSet<MemberId> = [mothwing].into_iter().collect();
        assert_eq!(member_lookups(&rows, &stored), vec![lumen], "a stored member needs no lookup");

        let found: MembershipsById = response("profile/memberships_by_id.json");
        repair_member(&mut rows, lumen, &found.destiny_memberships);
        let repaired = rows.players.iter().find(|p| p.member.member_id == lumen).map(|p| p.member.clone());
        let repaired = repaired.expect("the nameless entry is still there");
        assert_eq!(repaired.platform_id, 3, "the membership whose id matches, not the first one");
        assert_eq!(repaired.bungie_display_name.as_deref(), Some("Lumen Drift"));
        assert_eq!(repaired.bungie_display_name_code.as_deref(), Some("0616"));
        assert!(!repaired.is_incomplete());
    }

    #[test]
    fn plan_fetches_each_activity_once_newest_first() {
        let queued = [queued(5, 100), queued(9, 100), queued(5, 200), queued(7, 200)];
        let stored: HashSet<ActivityId> = [ActivityId(7)].into_iter().collect();
        assert_eq!(
            fetch_plan(&queued, &stored, &HashMap::new(), 0),
            vec![
                Step::Fetch { activity_id: ActivityId(9), characters: characters(&[100]) },
                Step::AlreadyStored { activity_id: ActivityId(7), characters: characters(&[200]) },
                Step::Fetch { activity_id: ActivityId(5), characters: characters(&[100, 200]) },
            ]
        );
    }

    #[test]
    fn stuck_activities_wait_a_day_between_tries() {
        let now = parse_rfc3339("2024-05-02T12:00:00Z").unwrap();
        let failed = |attempts: i64, last: &str| Failures { attempts, last_attempt: last.to_string() };
        let cases = [
            ("failed once, an hour ago", failed(1, "2024-05-02T11:00:00+00:00"), true),
            ("failed in 9 runs, just now", failed(STUCK_AFTER_ATTEMPTS - 1, "2024-05-02T12:00:00+00:00"), true),
            ("stuck, tried an hour ago", failed(STUCK_AFTER_ATTEMPTS, "2024-05-02T11:00:00+00:00"), false),
            ("stuck, tried 23 h 59 min ago", failed(40, "2024-05-01T12:01:00+00:00"), false),
            ("stuck, tried a day ago", failed(STUCK_AFTER_ATTEMPTS, "2024-05-01T12:00:00+00:00"), true),
            ("stuck, unreadable time", failed(STUCK_AFTER_ATTEMPTS, "yesterday"), true),
            (
                "stuck, tried 'in the future' (the clock went back)",
                failed(STUCK_AFTER_ATTEMPTS, "2024-05-03T12:00:00+00:00"),
                true,
            ),
        ];
        for (what, failures, due) in cases {
            assert_eq!(retry_due(&failures, now), due, "{what}");
        }
        let queued = [queued(1, 10), queued(2, 10)];
        let failures: HashMap<ActivityId, Failures> = [
            (ActivityId(1), failed(1, "2024-05-02T11:00:00+00:00")),
            (ActivityId(2), failed(12, "2024-05-02T11:00:00+00:00")),
        ]
        .into();
        assert_eq!(
            fetch_plan(&queued, &HashSet::new(), &failures, now),
            vec![
                Step::Stuck { activity_id: ActivityId(2), characters: characters(&[10]) },
                Step::Fetch { activity_id: ActivityId(1), characters: characters(&[10]) },
            ]
        );
    }

    #[test]
    fn skip_rule() {
        let live = |d: Option<&str>| CharacterState::Live { last_played: d.map(str::to_string) };
        let t0 = "2024-05-01T10:00:00Z";
        let t1 = "2024-05-01T12:30:00Z";
        let cases = [
            ("never walked", live(Some(t0)), None, true),
            ("new character (no marker, no date)", live(None), None, true),
            ("not played since", live(Some(t0)), Some(t0), false),
            ("played since", live(Some(t1)), Some(t0), true),
            ("profile date older than the marker (Bungie's clock went back)", live(Some(t0)), Some(t1), true),
            ("missing date", live(None), Some(t0), true),
            ("unreadable dates that differ", live(Some("soon")), Some(t0), true),
            ("unreadable dates that match", live(Some("soon")), Some("soon"), false),
            ("same instant written differently", live(Some("2024-05-01T10:00:00+00:00")), Some(t0), false),
            ("deleted, walked once", CharacterState::Deleted, Some(DELETED_MARKER), false),
            ("deleted, walked while live: may have played since", CharacterState::Deleted, Some(t0), true),
            ("deleted, never walked", CharacterState::Deleted, None, true),
        ];
        for (name, state, marker, expected) in cases {
            assert_eq!(needs_history(&state, marker), expected, "{name}");
        }
    }

    #[test]
    fn markers_wait_for_the_history_to_settle() {
        let played = "2024-05-01T10:00:00Z";
        let at = parse_rfc3339(played).unwrap();
        let live = CharacterState::Live { last_played: Some(played.to_string()) };
        assert_eq!(marker_after_walk(&live, at + 60), None, "a play minutes ago may not be listed yet");
        assert_eq!(marker_after_walk(&live, at - 3600), None, "clock skew: our clock behind Bungie's means walk again");
        assert_eq!(marker_after_walk(&live, at + HISTORY_SETTLE_SECS), Some(played.to_string()));
        assert_eq!(marker_after_walk(&CharacterState::Live { last_played: None }, at), None);
        assert_eq!(marker_after_walk(&CharacterState::Deleted, at), Some(DELETED_MARKER.to_string()));
        assert!(account_check_due(None, at));
        assert!(!account_check_due(Some(at), at + 3600));
        assert!(account_check_due(Some(at), at + ACCOUNT_CHECK_INTERVAL_SECS));
        assert!(account_check_due(Some(at + 10), at), "a clock that went back means check");
    }

    proptest! {
        /// The skip rule never skips a character that played after the marker was taken: a walk
        /// leaves a marker no later than the play it saw, and any later play means walk again.
        #[test]
        fn never_skips_a_character_with_a_newer_match(
            walked_at in 0i64..2_000_000_000,
            played_before in 0i64..100_000,
            played_after in 1i64..100_000,
            now_after in 0i64..100_000,
        ) {
            let seen = crate::core::time::format_utc(walked_at - played_before);
            let state = CharacterState::Live { last_played: Some(seen) };
            if let Some(marker) = marker_after_walk(&state, walked_at + now_after) {
                let later = CharacterState::Live { last_played: Some(crate::core::time::format_utc(walked_at - played_before + played_after)) };
                prop_assert!(needs_history(&later, Some(&marker)));
                prop_assert!(!needs_history(&state, Some(&marker)));
            }
        }

        /// The skip rule never skips a character whose newest match is not stored: a character
        /// plays matches (the profile's `dateLastPlayed` moves at each match's end) that Bungie
        /// lists in its history up to [`HISTORY_SETTLE_SECS`] later; a walk at `walked_at`
        /// queues what is listed then. Whatever it missed, a later round must walk again.
        #[test]
        fn never_skips_a_character_whose_newest_match_is_not_queued(
            ends in prop::collection::vec((0i64..10_000, 0i64..HISTORY_SETTLE_SECS), 1..8),
            walked_at in 0i64..12_000,
            later in 0i64..12_000,
        ) {
            let date_at = |t: i64| ends.iter().map(|(end, _)| *end).filter(|end| *end <= t).max().map(crate::core::time::format_utc);
            let missed = ends.iter().any(|(end, lag)| end + lag > walked_at);
            let state_then = CharacterState::Live { last_played: date_at(walked_at) };
            let marker = marker_after_walk(&state_then, walked_at);
            let now = walked_at + later;
            let played_since = ends.iter().any(|(end, _)| *end > walked_at && *end <= now);
            let state_now = CharacterState::Live { last_played: date_at(now) };
            // A match it missed that has ended by now is one the next round must look for.
            let due = ends.iter().any(|(end, lag)| end + lag > walked_at && *end <= now);
            if missed && due {
                prop_assert!(needs_history(&state_now, marker.as_deref()),
                    "skipped: marker {:?}, profile {:?}, played since {}", marker, state_now, played_since);
            }
        }

        /// The fetch plan never loses a queued activity: every queued (activity, character) row
        /// appears in exactly one step, and no activity has two steps.
        #[test]
        fn plan_never_loses_a_queued_id(
            rows in prop::collection::vec((1i64..60, 1i64..5), 0..80),
            stored in prop::collection::hash_set(1i64..60, 0..30),
            failed in prop::collection::hash_map(1i64..60, 0i64..30, 0..30),
        ) {
            let queued: Vec<Queued> = rows.iter().map(|&(a, c)| queued(a, c)).collect();
            let stored: HashSet<ActivityId> = stored.into_iter().map(ActivityId).collect();
            let long_ago = "2000-01-01T00:00:00+00:00".to_string();
            let failures: HashMap<ActivityId, Failures> = failed
                .iter()
                .map(|(&id, &attempts)| (ActivityId(id), Failures { attempts, last_attempt: long_ago.clone() }))
                .collect();
            // A day after the last try nothing is stuck; right at it, the stuck ones wait.
            for now in [parse_rfc3339(&long_ago).unwrap(), i64::MAX] {
                let plan = fetch_plan(&queued, &stored, &failures, now);
                let mut seen = HashSet::new();
                for step in &plan {
                    prop_assert!(seen.insert(step.activity_id()), "one step per activity");
                    let id = step.activity_id();
                    prop_assert_eq!(matches!(step, Step::AlreadyStored { .. }), stored.contains(&id));
                    let stuck = !stored.contains(&id)
                        && now != i64::MAX
                        && failures.get(&id).is_some_and(|f| f.attempts >= STUCK_AFTER_ATTEMPTS);
                    prop_assert_eq!(matches!(step, Step::Stuck { .. }), stuck);
                    for c in step.characters() {
                        let row = Queued { activity_id: id, character_id: *c };
                        prop_assert!(queued.contains(&row), "a step names a row that was queued");
                    }
                }
                for q in &queued {
                    let covered =
                        plan.iter().any(|s| s.activity_id() == q.activity_id && s.characters().contains(&q.character_id));
                    prop_assert!(covered, "queued row {:?} is in no step", q);
                }
            }
        }

        /// Paging through a history newest first queues every activity newer than the newest
        /// known one (Gambit private excepted), and nothing older.
        #[test]
        fn paging_queues_exactly_the_unknown_prefix(len in 0usize..700, known_at in prop::option::of(0usize..700)) {
            let history: Vec<i64> = (0..len as i64).map(|i| 1_000_000 - i).collect();
            let known: HashSet<ActivityId> =
                known_at.filter(|k| *k < len).map(|k| ActivityId(history[k])).into_iter().collect();
            let mut queued = Vec::new();
            for chunk_start in (0..).step_by(HISTORY_PAGE_SIZE) {
                let end = (chunk_start + HISTORY_PAGE_SIZE).min(len);
                let ids: Vec<(i64, i64)> = history.get(chunk_start..end).unwrap_or(&[]).iter().map(|&i| (i, 1)).collect();
                let scan = scan_history_page(&page(&ids), &known);
                queued.extend(scan.new);
                if scan.done {
                    break;
                }
            }
            let expected_len = known_at.filter(|k| *k < len).unwrap_or(len);
            prop_assert_eq!(queued, activities(&history[..expected_len]));
        }
    }

    #[test]
    fn member_lookups_ask_once_and_keep_a_report_queued_on_a_passing_failure() {
        let mut rows = crate::core::pgcr::normalize(
            ActivityId(12_000_000_013),
            &crate::testdata::response::<crate::core::bungie::model::Pgcr>("pgcr/nameless_entry.json"),
            crate::core::fixups::Rules::builtin(),
        )
        .expect("rows");
        let stored = HashSet::new();
        let mut lookups = MemberLookups::default();
        let asked = lookups.to_ask(&rows, &stored);
        assert!(!asked.is_empty(), "the fixture has a nameless entry");
        let (first, rest) = (asked[0], &asked[1..]);
        let network = ApiError::Network("reset".to_string());
        assert_eq!(
            lookups.answer(first, Err(network.clone())),
            Err(network),
            "a passing failure keeps the report queued"
        );
        assert!(lookups.to_ask(&rows, &stored).contains(&first), "and asks again next time");
        let card = UserCard {
            membership_id: Some(first.0),
            membership_type: Some(3),
            bungie_global_display_name: Some("Found".to_string()),
            bungie_global_display_name_code: Some(7),
            ..UserCard::default()
        };
        assert_eq!(lookups.answer(first, Ok(vec![card])), Ok(()));
        for id in rest {
            assert_eq!(lookups.answer(*id, Err(ApiError::PgcrNotFound)), Ok(()), "a definite no stores as sent");
        }
        assert_eq!(lookups.to_ask(&rows, &stored), rest, "a found member is not asked again; a definite no is");
        assert_eq!(lookups.answer(first, Err(ApiError::Stopped)), Err(ApiError::Stopped), "stopping keeps it queued");
        lookups.repair(&mut rows, &stored);
        let repaired = rows.players.iter().find(|p| p.member.member_id == first).expect("entry");
        assert_eq!(repaired.member.bungie_display_name.as_deref(), Some("Found"));
        assert_eq!(repaired.member.bungie_display_name_code.as_deref(), Some("0007"));
    }
}
