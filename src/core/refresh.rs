//! Reports fetched too early: Bungie fills a match report in over several minutes after the
//! match ends, and a report fetched within [`REPORT_SETTLE_SECS`] of the end may lack players or
//! stats. Such a report is fetched once more in a later round, once the match is that old, and
//! replaces the stored rows only if it changed (and lost nobody).
//!
//! The second fetch is the last: whatever it brings, the report is not fetched a third time. A
//! second copy that lists fewer characters than the first is dropped, since it would lose
//! players; one whose download fails for a passing reason is tried again next round, and one
//! Bungie refuses for good leaves the first copy in place. The replacement is one transaction:
//! the old rows go and the new ones come together.
//!
//! Pure: the shell passes the time of the fetch and `now`, and stores what [`ReportFetch`] says.

use std::collections::BTreeSet;

use crate::core::bungie::envelope::ApiError;
use crate::core::ids::ActivityId;
use crate::core::pgcr::PgcrRows;
use crate::core::time::parse_rfc3339;

/// How long after a match ends its report is trusted to be complete.
pub const REPORT_SETTLE_SECS: i64 = 15 * 60;
/// The longest a second fetch waits, whatever the report's times say (a period far in the future
/// is a clock or a report gone wrong, and must not keep a recheck pending for ever).
pub const MAX_RECHECK_WAIT_SECS: i64 = 24 * 60 * 60;

/// What to remember of a report when it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportFetch {
    /// When it was fetched (Unix seconds).
    pub fetched_at: i64,
    /// When to fetch it once more; `None`: it is complete, or this is the second fetch.
    pub recheck_at: Option<i64>,
    /// What the stored copy holds, to tell whether a second copy changed anything.
    pub digest: String,
    /// Characters with a stats row in the stored copy.
    pub characters: i64,
}

impl ReportFetch {
    /// A first fetch at `fetched_at`: rechecked later if it came too early.
    pub fn first(rows: &PgcrRows, fetched_at: i64) -> ReportFetch {
        ReportFetch { recheck_at: recheck_at(rows, fetched_at), ..ReportFetch::last(rows, fetched_at) }
    }

    /// The second and last fetch: never rechecked again.
    pub fn last(rows: &PgcrRows, fetched_at: i64) -> ReportFetch {
        ReportFetch { fetched_at, recheck_at: None, digest: digest(rows), characters: characters(rows) }
    }
}

/// When the match of a report ended (Unix seconds): its period plus the longest activity
/// duration of its entries (0 when none says). `None` when the period is not a timestamp.
pub fn match_end(rows: &PgcrRows) -> Option<i64> {
    let start = parse_rfc3339(&rows.activity.period)?;
    let duration = rows.players.iter().map(|p| p.stats.activity_duration_seconds.max(0)).max().unwrap_or(0);
    Some(start.saturating_add(duration))
}

/// When a report fetched at `fetched_at` must be fetched once more: not before its match is
/// [`REPORT_SETTLE_SECS`] old. `None` when it was fetched late enough to be complete. A period
/// that is no timestamp is doubt: fetch once more after the settle time.
pub fn recheck_at(rows: &PgcrRows, fetched_at: i64) -> Option<i64> {
    let latest = fetched_at.saturating_add(MAX_RECHECK_WAIT_SECS);
    match match_end(rows) {
        Some(end) if fetched_at.saturating_sub(end) >= REPORT_SETTLE_SECS => None,
        Some(end) => Some(end.saturating_add(REPORT_SETTLE_SECS).min(latest)),
        None => Some(fetched_at.saturating_add(REPORT_SETTLE_SECS)),
    }
}

/// A report waiting for its second fetch, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRecheck {
    pub activity_id: ActivityId,
    pub recheck_at: i64,
    pub digest: Option<String>,
    pub characters: Option<i64>,
}

/// The pending rechecks due at `now`, each activity once, in a stable order (oldest due first).
pub fn due(pending: &[PendingRecheck], now: i64) -> Vec<ActivityId> {
    let due: BTreeSet<(i64, ActivityId)> =
        pending.iter().filter(|p| p.recheck_at <= now).map(|p| (p.recheck_at, p.activity_id)).collect();
    let mut seen = BTreeSet::new();
    due.into_iter().map(|(_, id)| id).filter(|id| seen.insert(*id)).collect()
}

/// What to do with the second copy of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refetched {
    /// It differs and has everyone the first had: replace the stored rows.
    Replace,
    /// It is the same: keep the stored rows.
    Same,
    /// It differs but has fewer characters than the stored copy: keep the stored rows, which
    /// would lose players otherwise.
    Worse,
}

/// Compares the second copy of a report with what the first one stored.
pub fn compare(pending: &PendingRecheck, rows: &PgcrRows) -> Refetched {
    if pending.digest.as_deref() == Some(digest(rows).as_str()) {
        Refetched::Same
    } else if pending.characters.is_some_and(|before| characters(rows) < before) {
        Refetched::Worse
    } else {
        Refetched::Replace
    }
}

/// Characters with a stats row: an entry listed twice (left and rejoined) is one row.
fn characters(rows: &PgcrRows) -> i64 {
    rows.players.iter().map(|p| p.character.character_id).collect::<BTreeSet<_>>().len() as i64
}

/// A fingerprint of every value a report stores: 64-bit FNV-1a of the rows as JSON, in hex.
/// Stable across builds and platforms (unlike `std`'s hasher); a collision could only keep an
/// early copy, and needs two copies of one report to collide.
pub fn digest(rows: &PgcrRows) -> String {
    format!("{:016x}", fnv(rows))
}

/// FNV-1a (64 bits) of the value's JSON, as [`digest`] takes it of a report's rows (and
/// `--reparse` of each group of them).
/// The JSON is hashed as it is written, never held: a report's rows are tens of kilobytes of it.
/// A value that cannot be written as JSON hashes as no bytes.
pub fn fnv(value: &impl serde::Serialize) -> u64 {
    let mut hash = Fnv(FNV_OFFSET);
    match serde_json::to_writer(&mut hash, value) {
        Ok(()) => hash.0,
        Err(_) => FNV_OFFSET,
    }
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0100_0000_01b3;

/// FNV-1a folding in the bytes written to it.
struct Fnv(u64);

impl std::io::Write for Fnv {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0 = bytes.iter().fold(self.0, |h, b| (h ^ u64::from(*b)).wrapping_mul(FNV_PRIME));
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What a failed second fetch of an early report means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefetchFailed {
    /// Maintenance or a bad key: the round ends.
    EndRound,
    /// A passing failure: fetch it again next round.
    NextRound,
    /// Bungie.net says no for good: keep the copy stored earlier and stop waiting for it.
    KeepFirst,
}

/// Decides what a failed second fetch means.
pub fn refetch_failed(error: &ApiError) -> RefetchFailed {
    if error.stops_round() {
        RefetchFailed::EndRound
    } else if error.is_transient() {
        RefetchFailed::NextRound
    } else {
        RefetchFailed::KeepFirst
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::bungie::model::Pgcr;
    use crate::core::time::format_utc;

    /// FNV-1a of the whole JSON at once, as digests were first taken: stored digests must not change.
    fn fnv_of_whole_json(value: &impl serde::Serialize) -> u64 {
        let bytes = serde_json::to_vec(value).expect("JSON");
        bytes.iter().fold(FNV_OFFSET, |h, b| (h ^ u64::from(*b)).wrapping_mul(FNV_PRIME))
    }

    #[test]
    fn digests_hashed_as_written_equal_those_of_the_whole_json() {
        // The JSON of 1 is the one byte `1`; FNV-1a (64 bits) of it, as published tables give it.
        assert_eq!(fnv(&1), 0xaf63_ac4c_8601_9afc);
        let rows = report(1_700_000_000, 600);
        assert_eq!(fnv(&rows), fnv_of_whole_json(&rows));
        assert_eq!(digest(&rows), format!("{:016x}", fnv_of_whole_json(&rows)));
        for value in [serde_json::json!(null), serde_json::json!("é\"x"), serde_json::json!([1.5, {"k": []}])] {
            assert_eq!(fnv(&value), fnv_of_whole_json(&value), "{value}");
        }
    }

    /// The control fixture with its period moved to `start` and every duration set to `secs`.
    fn report(start: i64, secs: i64) -> PgcrRows {
        let pgcr: Pgcr = crate::testdata::response("pgcr/control_6v6.json");
        let id = pgcr.activity_details.as_ref().and_then(|d| d.instance_id).expect("id");
        let mut rows = crate::core::pgcr::normalize(ActivityId(id), &pgcr, crate::core::fixups::Rules::builtin())
            .expect("storable");
        rows.activity.period = format_utc(start);
        for p in &mut rows.players {
            p.stats.activity_duration_seconds = secs;
        }
        rows
    }

    #[test]
    fn early_reports_are_fetched_once_more_after_the_match_settles() {
        let start = 1_717_000_000;
        let end = start + 600;
        let settled = end + REPORT_SETTLE_SECS;
        let cases: [(&str, PgcrRows, i64, Option<i64>); 7] = [
            ("fetched right at the end", report(start, 600), end, Some(settled)),
            ("fetched 14:59 after the end", report(start, 600), settled - 1, Some(settled)),
            ("fetched 15:00 after the end", report(start, 600), settled, None),
            ("fetched days later (a first sync)", report(start, 600), end + 86_400 * 30, None),
            ("fetched while the match is on (our clock ahead)", report(start, 600), start + 60, Some(settled)),
            ("period far in the future: waits a day at most", report(end + 86_400 * 365, 600), end, Some(end + 86_400)),
            ("no durations: the end is the start", report(start, 0), start + REPORT_SETTLE_SECS, None),
        ];
        for (name, rows, fetched_at, expected) in cases {
            assert_eq!(recheck_at(&rows, fetched_at), expected, "{name}");
            assert_eq!(ReportFetch::first(&rows, fetched_at).recheck_at, expected, "{name}");
            assert_eq!(ReportFetch::last(&rows, fetched_at).recheck_at, None, "{name}: once more only");
        }
        let mut odd = report(start, 600);
        odd.activity.period = "soon".to_string();
        assert_eq!(recheck_at(&odd, end), Some(end + REPORT_SETTLE_SECS), "an unreadable period is doubt");
    }

    #[test]
    fn only_due_rechecks_are_fetched_each_once() {
        let pending = |id: i64, at: i64| PendingRecheck {
            activity_id: ActivityId(id),
            recheck_at: at,
            digest: None,
            characters: None,
        };
        let list = [pending(3, 100), pending(1, 50), pending(2, 101), pending(1, 50), pending(4, 99)];
        assert_eq!(due(&list, 100), [1, 4, 3].map(ActivityId), "oldest due first, each once, none before its time");
        assert_eq!(due(&list, 49), Vec::<ActivityId>::new());
        assert_eq!(due(&[], 1_000), Vec::<ActivityId>::new());
    }

    #[test]
    fn a_second_copy_replaces_the_first_only_if_it_changed_and_lost_nobody() {
        let complete = report(1_717_000_000, 600);
        let mut early = complete.clone();
        early.players.truncate(3);
        let stored = |rows: &PgcrRows| {
            let fetch = ReportFetch::first(rows, 0);
            PendingRecheck {
                activity_id: ActivityId(1),
                recheck_at: 0,
                digest: Some(fetch.digest),
                characters: Some(fetch.characters),
            }
        };
        assert_eq!(compare(&stored(&early), &complete), Refetched::Replace, "more players");
        assert_eq!(compare(&stored(&complete), &complete), Refetched::Same);
        assert_eq!(compare(&stored(&complete), &early), Refetched::Worse, "never lose a player");
        let mut restated = complete.clone();
        restated.players[0].stats.kills += 1;
        assert_eq!(compare(&stored(&complete), &restated), Refetched::Replace, "a stat filled in");
        let unknown = PendingRecheck { activity_id: ActivityId(1), recheck_at: 0, digest: None, characters: None };
        assert_eq!(compare(&unknown, &complete), Refetched::Replace);
        assert_eq!(digest(&complete), digest(&complete.clone()), "deterministic");
        assert_eq!(digest(&complete).len(), 16);
    }

    #[test]
    fn a_failed_second_fetch() {
        let cases = [
            (ApiError::Maintenance(String::new()), RefetchFailed::EndRound),
            (ApiError::BadKey(String::new()), RefetchFailed::EndRound),
            (ApiError::Network(String::new()), RefetchFailed::NextRound),
            (ApiError::Http { status: 503, retry_after: None }, RefetchFailed::NextRound),
            (ApiError::PgcrNotFound, RefetchFailed::KeepFirst),
            (ApiError::Privacy, RefetchFailed::KeepFirst),
        ];
        for (error, expected) in cases {
            assert_eq!(refetch_failed(&error), expected, "{error:?}");
        }
    }
}
