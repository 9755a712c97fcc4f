//! The download pass of one player's queued reports, as a tally that decides what each
//! answer means.
//!
//! Rules:
//! - a report downloaded ends a run of failures, even before it is stored: the writer may hold
//!   it for a batch, and a failure that arrives meanwhile is not one more in a row;
//! - a request never sent because the run is stopping leaves the report queued and counts no
//!   try against it;
//! - maintenance or a bad key ends the round: it is not the report's fault, so no try is
//!   counted;
//! - any other failure is one more try of that report, recorded with its error so that a report
//!   failing in [`STUCK_AFTER_ATTEMPTS`] runs is reported as stuck and retried once a day
//!   instead of every round;
//! - [`FAILURES_MEANING_DOWN`] reports failing in a row on passing errors, each after its own
//!   retries, mean Bungie.net is down: the round stops instead of working through the rest of
//!   the queue against a failing server;
//! - the first reason to end the round wins; every report not tried stays queued.

use crate::core::bungie::envelope::ApiError;
use crate::core::ids::ActivityId;
use crate::core::plan::STUCK_AFTER_ATTEMPTS;
use crate::core::summary::Downloads;

/// Reports failing in a row, each after its retries, that mean Bungie.net is down.
pub const FAILURES_MEANING_DOWN: usize = 16;

/// Why a round ends early.
#[derive(Debug, Clone, PartialEq)]
pub enum RoundEnd {
    /// Bungie.net answered with an error that ends every request (maintenance, a bad key).
    Api(ApiError),
    /// Bungie.net failed report after report: this says so.
    BungieDown(String),
}

/// What to do about a report that failed.
#[derive(Debug, Clone, PartialEq)]
pub enum Failed {
    /// It was never sent: leave it queued, count no try.
    Untried,
    /// Record one more try (with the error); if `end` is given, the round ends after it.
    Try { end: Option<RoundEnd> },
    /// The round ends; count no try.
    EndRound(RoundEnd),
}

/// The counts of a download pass and the failures in a row.
#[derive(Debug, Clone, PartialEq)]
pub struct Tally {
    total: usize,
    done: Downloads,
    failing_in_a_row: usize,
    end: Option<RoundEnd>,
}

impl Tally {
    /// A pass that sets out to fetch `total` reports.
    pub fn new(total: usize) -> Tally {
        Tally { total, done: Downloads::default(), failing_in_a_row: 0, end: None }
    }

    /// A report was downloaded (it is stored later, with its batch): Bungie.net answers.
    pub fn downloaded(&mut self) {
        self.failing_in_a_row = 0;
    }

    /// A report was stored: `new` unless it was there already.
    pub fn stored(&mut self, new: bool) {
        self.failing_in_a_row = 0;
        if new {
            self.done.new += 1;
        } else {
            self.done.already_stored += 1;
        }
    }

    /// A report failed with `error`: what to do about it.
    pub fn failed(&mut self, error: &ApiError) -> Failed {
        if *error == ApiError::Stopped {
            return Failed::Untried;
        }
        if error.stops_round() {
            let end = RoundEnd::Api(error.clone());
            self.end.get_or_insert(end.clone());
            return Failed::EndRound(end);
        }
        self.failing_in_a_row = if error.is_transient() { self.failing_in_a_row + 1 } else { 0 };
        if self.failing_in_a_row < FAILURES_MEANING_DOWN {
            return Failed::Try { end: None };
        }
        let end = RoundEnd::BungieDown(format!(
            "Bungie.net kept failing ({error}); stopped this round, unfinished matches stay queued for the next run"
        ));
        self.end.get_or_insert(end.clone());
        Failed::Try { end: Some(end) }
    }

    /// Whether the round is to end: no more reports should be started.
    pub fn ending(&self) -> bool {
        self.end.is_some()
    }

    /// The pass's outcome: its counts, with every report not tried left queued; or the first
    /// reason to end the round.
    pub fn finish(self) -> Result<Downloads, RoundEnd> {
        if let Some(end) = self.end {
            return Err(end);
        }
        // Failed or never tried, a report not stored stays queued.
        let stored = self.done.new + self.done.already_stored;
        Ok(Downloads { left_queued: self.total.saturating_sub(stored), ..self.done })
    }
}

/// The line about a report that failed once more, now failed in `runs` runs.
pub fn failure_line(activity_id: ActivityId, error: &ApiError, runs: i64) -> String {
    if runs == STUCK_AFTER_ATTEMPTS {
        format!(
            "match {activity_id}: {error}; it has now failed in {runs} runs, so it stays queued and is tried once a \
             day (see the dclisync_attempt table)"
        )
    } else {
        format!("match {activity_id}: {error}; left queued for the next run")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn network() -> ApiError {
        ApiError::Network("connection reset".to_string())
    }

    #[test]
    fn what_each_failure_means() {
        let cases: [(&str, ApiError, Failed); 5] = [
            ("never sent", ApiError::Stopped, Failed::Untried),
            ("passing", network(), Failed::Try { end: None }),
            ("for good", ApiError::PgcrNotFound, Failed::Try { end: None }),
            (
                "maintenance",
                ApiError::Maintenance("down".to_string()),
                Failed::EndRound(RoundEnd::Api(ApiError::Maintenance("down".to_string()))),
            ),
            (
                "bad key",
                ApiError::BadKey("expired".to_string()),
                Failed::EndRound(RoundEnd::Api(ApiError::BadKey("expired".to_string()))),
            ),
        ];
        for (name, error, expected) in cases {
            assert_eq!(Tally::new(1).failed(&error), expected, "{name}");
        }
    }

    #[test]
    fn sixteen_passing_failures_in_a_row_end_the_round() {
        let mut tally = Tally::new(40);
        for _ in 1..FAILURES_MEANING_DOWN {
            assert_eq!(tally.failed(&network()), Failed::Try { end: None });
        }
        assert!(!tally.ending());
        assert!(matches!(tally.failed(&network()), Failed::Try { end: Some(RoundEnd::BungieDown(_)) }));
        assert!(tally.ending());
        assert!(matches!(tally.finish(), Err(RoundEnd::BungieDown(m)) if m.contains("kept failing")));
    }

    #[test]
    fn a_stored_or_downloaded_report_or_a_definite_answer_breaks_the_run() {
        type Breaker = fn(&mut Tally);
        let breakers: [(&str, Breaker); 4] = [
            ("stored new", |t| t.stored(true)),
            ("stored already", |t| t.stored(false)),
            ("downloaded, held for its batch", |t| t.downloaded()),
            ("not found", |t| assert_eq!(t.failed(&ApiError::PgcrNotFound), Failed::Try { end: None })),
        ];
        for (name, breaker) in breakers {
            let mut tally = Tally::new(40);
            for _ in 1..FAILURES_MEANING_DOWN {
                tally.failed(&network());
            }
            breaker(&mut tally);
            assert_eq!(tally.failed(&network()), Failed::Try { end: None }, "{name}");
        }
    }

    #[test]
    fn a_downloaded_report_counts_only_once_stored() {
        let mut tally = Tally::new(2);
        tally.downloaded();
        tally.downloaded();
        tally.stored(true);
        let done = tally.finish().expect("no end");
        assert_eq!((done.new, done.already_stored, done.left_queued), (1, 0, 1));
    }

    #[test]
    fn the_first_reason_to_end_wins() {
        let mut tally = Tally::new(3);
        tally.failed(&ApiError::Maintenance("first".to_string()));
        tally.failed(&ApiError::BadKey("second".to_string()));
        assert_eq!(tally.finish(), Err(RoundEnd::Api(ApiError::Maintenance("first".to_string()))));
    }

    #[test]
    fn failure_lines_say_when_a_report_is_stuck() {
        assert_eq!(
            failure_line(ActivityId(7), &network(), 3),
            "match 7: could not reach Bungie.net: connection reset; left queued for the next run"
        );
        assert!(failure_line(ActivityId(7), &network(), STUCK_AFTER_ATTEMPTS).contains("failed in 10 runs"));
    }

    proptest! {
        /// A pass never loses a report: each stored report is counted as new or as stored
        /// already, and those with the ones left queued add up to what it set out to fetch,
        /// whatever order the answers came in.
        #[test]
        fn every_report_is_counted_once(answers in proptest::collection::vec(0u8..4, 0..60), extra in 0usize..5) {
            let mut tally = Tally::new(answers.len() + extra);
            for a in &answers {
                match a {
                    0 => tally.stored(true),
                    1 => tally.stored(false),
                    2 => { tally.failed(&ApiError::PgcrNotFound); }
                    _ => { tally.failed(&ApiError::Stopped); }
                }
            }
            let d = tally.finish().expect("no reason to end");
            let count = |kind: u8| answers.iter().filter(|a| **a == kind).count();
            prop_assert_eq!((d.new, d.already_stored), (count(0), count(1)));
            prop_assert_eq!(d.new + d.already_stored + d.left_queued, answers.len() + extra);
        }
    }
}
