//! The metrics a service owner watches, in the Prometheus text format that node_exporter's
//! textfile collector reads.
//!
//! What is counted, from the start of the process (a one-off sync is one process with one
//! round, a daemon one process with many):
//! - the Unix time of the last successful round: one that ran to its end, even if a player in
//!   it failed on their own (a private or unknown player is reported, and is not an outage);
//!   0 before the first one, so that "no success in 2 hours" holds from the start;
//! - rounds by outcome: `ok`, `partial` (ran to its end, some player failed), `outage`
//!   (Bungie.net down, unreachable or throttling), `failed` (another failure a later round may
//!   not have, such as the lock held by another sync), `fatal` (the run ends) and
//!   `interrupted` (a stop signal); every outcome is always listed, 0 until it happens;
//! - the duration of the last round, in seconds;
//! - the match reports stored for the first time, and the activities still queued and, of those,
//!   stuck, after the last round that ran to its end;
//! - the requests sent, by endpoint and by how they were answered ([`RequestOutcome`]); only
//!   pairs that happened are listed;
//! - the throttle answers (Bungie asking to slow down), and the pace in force at the end of the
//!   last round, in requests per second (0: no limit);
//! - what the roster gate did in the last round that ran to its end: profiles read, of those the
//!   ones read only because `--max-staleness` had passed, players skipped by roster, and clan
//!   rosters that could not be read whole.
//!
//! [`render`] turns the figures into the file's text; the shell counts, and writes the text to a
//! temporary file beside the target that it then renames over it, so a collector never reads
//! half a file.

use std::fmt::Write as _;
use std::time::Duration;

use crate::core::bungie::envelope::ApiError;
use crate::core::daemon::Outcome;
use crate::core::roster::GateCounts;

/// The Bungie.net endpoints dclisync calls, as the `endpoint` label names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Endpoint {
    Search,
    LinkedProfiles,
    Profile,
    AccountStats,
    History,
    Pgcr,
    ClanMembers,
    MembershipsById,
}

impl Endpoint {
    pub const ALL: [Endpoint; 8] = [
        Endpoint::Search,
        Endpoint::LinkedProfiles,
        Endpoint::Profile,
        Endpoint::AccountStats,
        Endpoint::History,
        Endpoint::Pgcr,
        Endpoint::ClanMembers,
        Endpoint::MembershipsById,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Endpoint::Search => "search",
            Endpoint::LinkedProfiles => "linked_profiles",
            Endpoint::Profile => "profile",
            Endpoint::AccountStats => "account_stats",
            Endpoint::History => "history",
            Endpoint::Pgcr => "pgcr",
            Endpoint::ClanMembers => "clan_members",
            Endpoint::MembershipsById => "memberships_by_id",
        }
    }
}

/// How a request was answered, as the `outcome` label names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RequestOutcome {
    Ok,
    Throttled,
    /// No answer: connection refused or reset, timeout.
    Network,
    /// An HTTP error without Bungie's envelope, or a body that is not the envelope.
    BadAnswer,
    Maintenance,
    BadKey,
    /// Any other Bungie error code (a private player, a report not there yet, …).
    BungieError,
}

impl RequestOutcome {
    pub const ALL: [RequestOutcome; 7] = [
        RequestOutcome::Ok,
        RequestOutcome::Throttled,
        RequestOutcome::Network,
        RequestOutcome::BadAnswer,
        RequestOutcome::Maintenance,
        RequestOutcome::BadKey,
        RequestOutcome::BungieError,
    ];

    /// The outcome of a request that was sent: `None` when it succeeded. `None` for a request
    /// that was never sent ([`ApiError::Stopped`]) too: the caller does not count those.
    pub fn of(error: Option<&ApiError>) -> RequestOutcome {
        match error {
            None | Some(ApiError::Stopped) => RequestOutcome::Ok,
            Some(ApiError::Throttled { .. }) => RequestOutcome::Throttled,
            Some(ApiError::Http { status: 429, .. }) => RequestOutcome::Throttled,
            Some(ApiError::Network(_)) => RequestOutcome::Network,
            Some(ApiError::Http { .. } | ApiError::BadBody(_) | ApiError::Redirected { .. }) => {
                RequestOutcome::BadAnswer
            }
            Some(ApiError::Maintenance(_)) => RequestOutcome::Maintenance,
            Some(ApiError::BadKey(_)) => RequestOutcome::BadKey,
            Some(ApiError::Privacy | ApiError::PgcrNotFound | ApiError::Bungie { .. }) => RequestOutcome::BungieError,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            RequestOutcome::Ok => "ok",
            RequestOutcome::Throttled => "throttled",
            RequestOutcome::Network => "network",
            RequestOutcome::BadAnswer => "bad_answer",
            RequestOutcome::Maintenance => "maintenance",
            RequestOutcome::BadKey => "bad_key",
            RequestOutcome::BungieError => "bungie_error",
        }
    }
}

/// The round outcomes the `outcome` label of `dclisync_rounds_total` names, in order.
pub const ROUND_OUTCOMES: [&str; 6] = ["ok", "partial", "outage", "failed", "fatal", "interrupted"];

/// The figures the metrics file shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metrics {
    /// Unix seconds of the last round that ran to its end.
    pub last_success_unix: Option<i64>,
    /// Rounds by outcome, in the order of [`ROUND_OUTCOMES`].
    pub rounds: [u64; ROUND_OUTCOMES.len()],
    pub last_round: Option<Duration>,
    pub reports_stored: u64,
    pub queued: u64,
    pub stuck: u64,
    /// Requests sent, by endpoint and outcome (the pairs that happened).
    pub requests: Vec<(Endpoint, RequestOutcome, u64)>,
    /// Requests per second allowed at the end of the last round; `None`: no limit.
    pub pace_per_second: Option<f64>,
    /// The roster gate in the last round that ran to its end.
    pub gate: GateCounts,
    pub rosters_failed: u64,
}

impl Metrics {
    /// Counts a round that ended with `outcome` after `elapsed`, at `now_unix`.
    pub fn round_ended(&mut self, outcome: &Outcome, elapsed: Duration, now_unix: i64) {
        let label = match outcome {
            Outcome::Done(round) if round.problems == 0 => "ok",
            Outcome::Done(_) => "partial",
            Outcome::Outage(_) => "outage",
            Outcome::Failed(_) => "failed",
            Outcome::Fatal { .. } => "fatal",
            Outcome::Interrupted(_) => "interrupted",
        };
        if let Some(i) = ROUND_OUTCOMES.iter().position(|o| *o == label) {
            self.rounds[i] += 1;
        }
        self.last_round = Some(elapsed);
        if let Outcome::Done(round) = outcome {
            self.last_success_unix = Some(now_unix);
            self.reports_stored += round.new as u64;
            self.queued = round.left_queued as u64;
            self.stuck = round.stuck as u64;
            self.gate = round.gate;
            self.rosters_failed = round.rosters_failed as u64;
        }
    }

    /// The throttle answers among the requests.
    pub fn throttle_answers(&self) -> u64 {
        self.requests.iter().filter(|(_, o, _)| *o == RequestOutcome::Throttled).map(|(_, _, n)| n).sum()
    }
}

/// One metric's `# HELP` and `# TYPE` lines.
fn header(text: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(text, "# HELP {name} {help}");
    let _ = writeln!(text, "# TYPE {name} {kind}");
}

/// The metrics file's text, in the Prometheus text exposition format (version 0.0.4).
pub fn render(m: &Metrics) -> String {
    let mut t = String::new();
    header(
        &mut t,
        "dclisync_last_success_timestamp_seconds",
        "gauge",
        "Unix time the last round that ran to its end finished (0: none yet).",
    );
    let _ = writeln!(t, "dclisync_last_success_timestamp_seconds {}", m.last_success_unix.unwrap_or(0));
    header(&mut t, "dclisync_rounds_total", "counter", "Rounds since the process started, by outcome.");
    for (outcome, n) in ROUND_OUTCOMES.iter().zip(m.rounds) {
        let _ = writeln!(t, "dclisync_rounds_total{{outcome=\"{outcome}\"}} {n}");
    }
    header(&mut t, "dclisync_round_duration_seconds", "gauge", "How long the last round took.");
    let _ = writeln!(t, "dclisync_round_duration_seconds {}", m.last_round.map_or(0.0, |d| d.as_secs_f64()));
    header(
        &mut t,
        "dclisync_reports_stored_total",
        "counter",
        "Match reports stored for the first time since the process started.",
    );
    let _ = writeln!(t, "dclisync_reports_stored_total {}", m.reports_stored);
    header(&mut t, "dclisync_activities_queued", "gauge", "Activities left queued for a later round.");
    let _ = writeln!(t, "dclisync_activities_queued {}", m.queued);
    header(&mut t, "dclisync_activities_stuck", "gauge", "Queued activities whose download failed in many runs.");
    let _ = writeln!(t, "dclisync_activities_stuck {}", m.stuck);
    header(&mut t, "dclisync_requests_total", "counter", "Requests sent to Bungie.net, by endpoint and outcome.");
    let mut requests = m.requests.clone();
    requests.sort();
    for (endpoint, outcome, n) in requests.iter().filter(|(_, _, n)| *n > 0) {
        let _ = writeln!(
            t,
            "dclisync_requests_total{{endpoint=\"{}\",outcome=\"{}\"}} {n}",
            endpoint.label(),
            outcome.label()
        );
    }
    header(&mut t, "dclisync_throttle_answers_total", "counter", "Answers from Bungie.net asking to slow down.");
    let _ = writeln!(t, "dclisync_throttle_answers_total {}", m.throttle_answers());
    header(
        &mut t,
        "dclisync_pace_requests_per_second",
        "gauge",
        "Requests per second allowed at the end of the last round (0: no limit).",
    );
    let _ = writeln!(t, "dclisync_pace_requests_per_second {}", m.pace_per_second.unwrap_or(0.0));
    header(
        &mut t,
        "dclisync_round_players",
        "gauge",
        "Players of the last round that ran to its end, by what the roster gate did: profile read (stale reads \
         included), stale_read (read only because --max-staleness passed), skipped (the clan rosters showed no play).",
    );
    for (gate, n) in [("read", m.gate.read), ("stale_read", m.gate.stale), ("skipped", m.gate.skipped)] {
        let _ = writeln!(t, "dclisync_round_players{{gate=\"{gate}\"}} {n}");
    }
    header(
        &mut t,
        "dclisync_round_rosters_failed",
        "gauge",
        "Remembered clans whose roster could not be read whole in the last round that ran to its end.",
    );
    let _ = writeln!(t, "dclisync_round_rosters_failed {}", m.rosters_failed);
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::summary::RoundSummary;

    fn done(new: usize, left_queued: usize, stuck: usize, problems: usize) -> Outcome {
        Outcome::Done(RoundSummary { new, left_queued, stuck, problems, ..Default::default() })
    }

    #[test]
    fn the_gate_figures_are_the_last_completed_rounds() {
        let mut m = Metrics::default();
        let gate = GateCounts { read: 3, stale: 1, skipped: 297 };
        m.round_ended(
            &Outcome::Done(RoundSummary { gate, rosters_failed: 1, ..Default::default() }),
            Duration::ZERO,
            1,
        );
        m.round_ended(&Outcome::Outage("down".into()), Duration::ZERO, 2);
        assert_eq!((m.gate, m.rosters_failed), (gate, 1), "an outage keeps the last figures");
        let text = render(&m);
        for line in [
            "dclisync_round_players{gate=\"read\"} 3",
            "dclisync_round_players{gate=\"stale_read\"} 1",
            "dclisync_round_players{gate=\"skipped\"} 297",
            "dclisync_round_rosters_failed 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
    }

    #[test]
    fn rounds_are_counted_by_outcome() {
        let mut m = Metrics::default();
        let steps: Vec<(&str, Outcome, &str, Option<i64>, u64)> = vec![
            ("a clean round", done(10, 2, 1, 0), "ok", Some(100), 10),
            ("a player failed", done(5, 0, 0, 1), "partial", Some(101), 15),
            ("Bungie.net down", Outcome::Outage("down".into()), "outage", Some(101), 15),
            ("the lock held", Outcome::Failed("busy".into()), "failed", Some(101), 15),
            ("stopped", Outcome::Interrupted(15), "interrupted", Some(101), 15),
            ("bad key", Outcome::Fatal { message: "key".into(), code: 1 }, "fatal", Some(101), 15),
        ];
        for (i, (what, outcome, label, last_success, stored)) in steps.into_iter().enumerate() {
            m.round_ended(&outcome, Duration::from_millis(1500), 100 + i as i64);
            let at = ROUND_OUTCOMES.iter().position(|o| *o == label).unwrap();
            assert_eq!(m.rounds[at], 1, "{what}");
            assert_eq!(m.last_success_unix, last_success, "{what}");
            assert_eq!(m.reports_stored, stored, "{what}");
        }
        assert_eq!((m.queued, m.stuck), (0, 0), "from the last round that ran to its end");
        assert_eq!(m.rounds.iter().sum::<u64>(), 6);
    }

    #[test]
    fn request_outcomes() {
        let cases = [
            ("answered", None, RequestOutcome::Ok),
            ("throttle code", Some(ApiError::Throttled { seconds: 10, code: 51 }), RequestOutcome::Throttled),
            ("HTTP 429", Some(ApiError::Http { status: 429, retry_after: None }), RequestOutcome::Throttled),
            ("HTML 503", Some(ApiError::Http { status: 503, retry_after: Some(1) }), RequestOutcome::BadAnswer),
            ("cut body", Some(ApiError::BadBody("eof".into())), RequestOutcome::BadAnswer),
            ("timeout", Some(ApiError::Network("timed out".into())), RequestOutcome::Network),
            ("maintenance", Some(ApiError::Maintenance("m".into())), RequestOutcome::Maintenance),
            ("bad key", Some(ApiError::BadKey("k".into())), RequestOutcome::BadKey),
            ("private", Some(ApiError::Privacy), RequestOutcome::BungieError),
            ("no report yet", Some(ApiError::PgcrNotFound), RequestOutcome::BungieError),
        ];
        for (what, error, expected) in cases {
            assert_eq!(RequestOutcome::of(error.as_ref()), expected, "{what}");
        }
    }

    #[test]
    fn renders_the_text_format() {
        let fresh = render(&Metrics::default());
        let m = Metrics {
            last_success_unix: Some(1_764_345_600),
            rounds: [3, 1, 1, 0, 0, 0],
            last_round: Some(Duration::from_millis(2250)),
            reports_stored: 1493,
            queued: 4,
            stuck: 1,
            requests: vec![
                (Endpoint::Pgcr, RequestOutcome::Ok, 1493),
                (Endpoint::Profile, RequestOutcome::Ok, 9),
                (Endpoint::Pgcr, RequestOutcome::Throttled, 2),
                (Endpoint::History, RequestOutcome::Network, 0),
                (Endpoint::Search, RequestOutcome::Ok, 3),
            ],
            pace_per_second: Some(24.5),
            gate: GateCounts { read: 30, stale: 3, skipped: 270 },
            rosters_failed: 1,
        };
        insta::with_settings!({snapshot_path => "../../snapshots", prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!("metrics_before_any_round", fresh);
            insta::assert_snapshot!("metrics_after_rounds", render(&m));
        });
    }
}
