//! When the writer of a sync commits the reports it holds: reports that arrive together are
//! stored in one transaction (a batch), so that a first sync pays the cost of a commit (the
//! write-ahead log frames of the pages every report touches, the same index pages again and
//! again) once per batch instead of once per report.
//!
//! Rules:
//! - the writer holds downloaded reports in memory only; no transaction is open while it waits
//!   for the next one, so a store write never waits on the network;
//! - a batch is committed once it holds [`BatchLimits::max_reports`] reports, or once its first
//!   report has waited [`BatchLimits::max_wait`], whichever comes first; while neither holds,
//!   the writer waits for the next report at most until the first report's wait is up;
//! - when no more reports can come (the pass is over), or the run is stopping (a stop must not
//!   wait for a batch to fill), what is held is committed at once;
//! - each report goes into its batch whole: its rows, its queue marks and its archive copy, so
//!   a kill at any point leaves every report either stored whole or still queued. A killed run
//!   loses at most the reports held, which stay queued and are fetched again by the next run.
//!
//! The limits trade what a kill can lose against commits saved: under Bungie's limit (about
//! 25 reports a second) a batch holds a handful of reports, without it dozens.

use std::time::Duration;

/// How much a batch may hold, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    /// Reports after which the batch is committed.
    pub max_reports: usize,
    /// How long the first report of a batch may wait for its commit.
    pub max_wait: Duration,
}

/// The limits of a sync's downloads: 64 reports, a quarter of a second. At the pace of a sync
/// without Bungie's limit (hundreds of reports a second) a batch fills in a fraction of a
/// second; at Bungie's pace a quarter of a second holds six reports or so, and a kill loses no
/// more than that.
pub const SYNC_BATCH: BatchLimits = BatchLimits { max_reports: 64, max_wait: Duration::from_millis(250) };

/// What the writer does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Commit what is held.
    Commit,
    /// Wait for the next report, for at most this long (`None`: nothing is held, so as long as
    /// it takes).
    Wait(Option<Duration>),
}

/// What the writer holds: `held` reports, the first of which arrived `age` ago; `closing`:
/// no more reports can come, or the run is stopping.
pub fn next(limits: &BatchLimits, held: usize, age: Duration, closing: bool) -> Next {
    if held == 0 {
        return Next::Wait(None);
    }
    if closing || held >= limits.max_reports || age >= limits.max_wait {
        return Next::Commit;
    }
    Next::Wait(Some(limits.max_wait - age))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const LIMITS: BatchLimits = BatchLimits { max_reports: 4, max_wait: Duration::from_millis(100) };

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn when_a_batch_is_committed() {
        let cases: [(&str, usize, Duration, bool, Next); 9] = [
            ("nothing held: wait as long as it takes", 0, ms(0), false, Next::Wait(None)),
            ("nothing held, closing: nothing to commit", 0, ms(500), true, Next::Wait(None)),
            ("one fresh report: wait the whole window", 1, ms(0), false, Next::Wait(Some(ms(100)))),
            ("part of the window gone: wait the rest", 2, ms(30), false, Next::Wait(Some(ms(70)))),
            ("window just up", 1, ms(100), false, Next::Commit),
            ("window long up", 3, ms(900), false, Next::Commit),
            ("full", 4, ms(0), false, Next::Commit),
            ("over full", 5, ms(10), false, Next::Commit),
            ("closing with reports held", 1, ms(0), true, Next::Commit),
        ];
        for (name, held, age, closing, expected) in cases {
            assert_eq!(next(&LIMITS, held, age, closing), expected, "{name}");
        }
    }

    // A batch of one is no batch; a kill loses at most a second of downloads.
    const _: () = assert!(SYNC_BATCH.max_reports > 1 && SYNC_BATCH.max_wait.as_millis() <= 1_000);

    proptest! {
        /// A writer following `next` never holds more than a batch, never keeps a report past the
        /// window, and waits only while the batch is neither full nor due.
        #[test]
        fn a_batch_is_never_over_full_or_overdue(
            max_reports in 1usize..100,
            max_wait_ms in 1u64..1_000,
            held in 0usize..200,
            age_ms in 0u64..2_000,
            closing: bool,
        ) {
            let limits = BatchLimits { max_reports, max_wait: ms(max_wait_ms) };
            match next(&limits, held, ms(age_ms), closing) {
                Next::Wait(None) => prop_assert_eq!(held, 0),
                Next::Wait(Some(wait)) => {
                    prop_assert!(held > 0 && held < max_reports && !closing);
                    prop_assert!(wait > Duration::ZERO);
                    prop_assert!(ms(age_ms) + wait <= limits.max_wait, "waits past the window");
                }
                Next::Commit => {
                    prop_assert!(held > 0);
                    prop_assert!(closing || held >= max_reports || age_ms >= max_wait_ms);
                }
            }
        }
    }
}
