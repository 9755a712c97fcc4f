//! The run loop as a small state machine: when to run a round, when to sleep, what each signal
//! and each round outcome means, what to print, and which exit code to end with.
//!
//! Pure: the shell (`main.rs`) feeds it [`Event`]s — the start, a round's end with its
//! [`Outcome`], a stop signal, a wake request, the end of a sleep — and carries out the
//! [`Effect`]s it returns, in order. A one-off run is the same machine with one round
//! ([`Mode::Once`]), so signals behave the same in both.
//!
//! The rules:
//! - a one-off run is one round; `--daemon` runs rounds until stopped, and only its first round
//!   imports, adds, removes and lists, the later ones only sync;
//! - rounds never overlap, and the pause (`--interval`) counts from the end of a round;
//! - a daemon prints no progress bars: a line when a round starts and one when it ends, with its
//!   totals, on stdout, and every error on stderr;
//! - a first stop signal during a round lets the reports in hand be saved, skips the rest and
//!   exits 128 + the signal's number, at the latest after [`STOP_GRACE`]; during the sleep it
//!   exits at once; a second signal exits at once (with the second signal's code);
//! - a wake request (SIGUSR1) ends the sleep and starts the next round now; one that arrives
//!   during a round starts the next round as soon as this one ends;
//! - a round that fails because Bungie.net cannot be reached, is down or in maintenance starts an
//!   outage, which is reported once when it starts and once when it ends, not every round;
//! - a bad API key or an unusable database ends the daemon: retrying cannot fix them. Any other
//!   failed round (another sync holds the lock, the database was busy) is reported, and the
//!   next round tries again.
//!
//! Exit codes, so that scripts and service managers can tell the outcomes apart:
//! - 0: a one-off run did everything it was asked. Activities left queued for a later run (a
//!   report that failed, one that is stuck) do not make a failure: they are reported, and the
//!   next run takes them up.
//! - 1: a failure the user must look at. In a one-off run: a player that could not be added or
//!   synced (not found, private: each reported as it happened), Bungie.net unreachable, failing
//!   or in maintenance, a bad API key, another sync holding the database, a database that cannot
//!   be opened or written. A daemon ends with 1 only for what retrying cannot fix: a bad key or
//!   an unusable database.
//! - 2: a usage error, as clap's own (also for the checks made before any round: no action, no
//!   key for an action that needs one, no data folder).
//! - 128 + the signal's number after a stop: 130 after SIGINT (Ctrl-C; on Windows, Ctrl-C is
//!   taken as SIGINT), 143 after SIGTERM, 129 after SIGHUP. A second signal exits at once with
//!   its own code.

use std::time::Duration;

pub use crate::core::error::exit_code_for;
use crate::core::error::{ErrorKind, EXIT_FAILURE, EXIT_OK};
use crate::core::summary::{self, daemon_round_line, RoundSummary};

/// The longest a stop may take to save the reports in hand: past it the process exits anyway,
/// without waiting for workers stuck in slow requests (each report is its own transaction, so
/// nothing is left half-written). Well under the 2 s users are promised.
pub const STOP_GRACE: Duration = Duration::from_millis(1500);

/// Hang-up: the terminal went away. Stops like SIGTERM (exit 129).
pub const SIGHUP: i32 = 1;
/// Ctrl-C (exit 130).
pub const SIGINT: i32 = 2;
/// A polite request to stop, as systemd and `kill` send (exit 143).
pub const SIGTERM: i32 = 15;

/// How a signal is named in messages.
pub fn signal_name(signal: i32) -> String {
    match signal {
        SIGHUP => "SIGHUP".to_string(),
        SIGINT => "SIGINT (Ctrl-C)".to_string(),
        SIGTERM => "SIGTERM".to_string(),
        n => format!("signal {n}"),
    }
}

/// One round, or a daemon that repeats them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A one-off run: one round, then exit with its outcome's code.
    Once,
    /// `--daemon`: rounds separated by `interval`, until stopped.
    Daemon { interval: Duration },
}

/// How a round ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It ran to its end; any player that failed was reported when it failed.
    Done(RoundSummary),
    /// Bungie.net could not be reached, kept failing, throttled, or is in maintenance: a later
    /// round may succeed.
    Outage(String),
    /// Another failure that a later round may not have (another sync holds the lock, a player
    /// cannot be used): reported every time.
    Failed(String),
    /// Retrying cannot help: the run ends with this message and exit code.
    Fatal { message: String, code: i32 },
    /// A stop signal cut the round short.
    Interrupted(i32),
}

impl Outcome {
    /// What a round that ended with a failure of `kind`, worded `message`, amounts to.
    pub fn of_error(kind: ErrorKind, message: String) -> Outcome {
        match kind {
            ErrorKind::Interrupted(signal) => Outcome::Interrupted(signal),
            ErrorKind::Usage | ErrorKind::Unusable | ErrorKind::BadKey => {
                Outcome::Fatal { message, code: kind.exit_code() }
            }
            ErrorKind::Outage => Outcome::Outage(message),
            ErrorKind::Busy | ErrorKind::Failed => Outcome::Failed(message),
        }
    }
}

/// What happened, as the shell tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The run begins.
    Start,
    /// The round in progress ended after `elapsed`.
    RoundEnded { outcome: Outcome, elapsed: Duration },
    /// A stop signal (its number) arrived.
    Stop(i32),
    /// Someone asked for the next round now (SIGUSR1).
    Wake,
    /// The sleep between rounds ended (its time passed, or it was ended by [`Effect::EndSleep`]).
    SleepOver,
}

/// A line for the user: results and round lines on stdout, errors and stops on stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    Out(String),
    Err(String),
}

/// What the shell must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Say(Line),
    /// Run round `number`. `quiet`: an outage is going on, so the round's own error lines are
    /// not repeated (they go to the log, shown with `-v`).
    RunRound {
        number: u64,
        quiet: bool,
    },
    /// Sleep this long (interruptibly), then send [`Event::SleepOver`].
    Sleep(Duration),
    /// End the sleep in progress now.
    EndSleep,
    /// Ask the round in progress to stop after the reports in hand, and exit with
    /// `128 + signal` after `grace` at the latest.
    WindDown {
        signal: i32,
        grace: Duration,
    },
    /// Exit the process now with this code.
    Exit(i32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    NotStarted,
    Round,
    /// A round is winding down after this signal.
    Stopping(i32),
    Sleeping,
    /// An exit is under way: nothing more happens.
    Over,
}

/// The run loop's state.
#[derive(Debug, Clone)]
pub struct Machine {
    mode: Mode,
    phase: Phase,
    /// The number of the current (or last) round, from 1.
    round: u64,
    /// The round an outage began in, while it lasts.
    outage_since: Option<u64>,
    /// A wake request arrived during a round: the next round follows without a sleep.
    wake_pending: bool,
}

impl Machine {
    pub fn new(mode: Mode) -> Machine {
        Machine { mode, phase: Phase::NotStarted, round: 0, outage_since: None, wake_pending: false }
    }

    /// Whether a round is in progress (possibly winding down).
    pub fn in_round(&self) -> bool {
        matches!(self.phase, Phase::Round | Phase::Stopping(_))
    }

    /// Whether an outage is going on.
    pub fn in_outage(&self) -> bool {
        self.outage_since.is_some()
    }

    /// Takes in one event; returns what to do about it.
    pub fn handle(&mut self, event: Event) -> Vec<Effect> {
        match (self.phase, event) {
            (Phase::Over, _) => Vec::new(),
            (Phase::NotStarted, Event::Start) => self.next_round(Vec::new()),
            (Phase::NotStarted | Phase::Sleeping, Event::Stop(signal)) => {
                self.phase = Phase::Over;
                let mut effects = Vec::new();
                if self.round > 0 {
                    effects.push(Effect::Say(Line::Err(format!(
                        "received {} while waiting for the next round: stopped",
                        signal_name(signal)
                    ))));
                }
                effects.push(Effect::Exit(exit_code_for(signal)));
                effects
            }
            (Phase::Round, Event::Stop(signal)) => {
                self.phase = Phase::Stopping(signal);
                vec![
                    Effect::Say(Line::Err(format!(
                        "received {}: stopping once the reports in hand are saved (send it again to quit at once)",
                        signal_name(signal)
                    ))),
                    Effect::WindDown { signal, grace: STOP_GRACE },
                ]
            }
            (Phase::Stopping(_), Event::Stop(signal)) => {
                self.phase = Phase::Over;
                vec![Effect::Exit(exit_code_for(signal))]
            }
            (Phase::Round, Event::Wake) => {
                self.wake_pending = matches!(self.mode, Mode::Daemon { .. });
                Vec::new()
            }
            (Phase::Sleeping, Event::Wake) => vec![Effect::EndSleep],
            (Phase::Sleeping, Event::SleepOver) => self.next_round(Vec::new()),
            (Phase::Stopping(signal), Event::RoundEnded { outcome, .. }) => {
                self.phase = Phase::Over;
                let mut effects = Vec::new();
                if let Outcome::Fatal { message, .. } = outcome {
                    effects.push(Effect::Say(Line::Err(format!("error: {message}"))));
                }
                effects.push(stopped_line(signal));
                effects.push(Effect::Exit(exit_code_for(signal)));
                effects
            }
            (Phase::Round, Event::RoundEnded { outcome, elapsed }) => match self.mode {
                Mode::Once => self.end_once(outcome),
                Mode::Daemon { interval } => self.end_daemon_round(outcome, elapsed, interval),
            },
            // Events that cannot change anything in this phase (a wake while stopping, a stray
            // sleep end or round end).
            _ => Vec::new(),
        }
    }

    fn next_round(&mut self, mut effects: Vec<Effect>) -> Vec<Effect> {
        self.round += 1;
        self.phase = Phase::Round;
        self.wake_pending = false;
        if let Mode::Daemon { .. } = self.mode {
            effects.push(Effect::Say(Line::Out(format!("round {} started", self.round))));
        }
        effects.push(Effect::RunRound { number: self.round, quiet: self.in_outage() });
        effects
    }

    /// A one-off run ends with its round.
    fn end_once(&mut self, outcome: Outcome) -> Vec<Effect> {
        self.phase = Phase::Over;
        let (line, code) = match outcome {
            Outcome::Done(t) if t.problems == 0 => (None, EXIT_OK),
            Outcome::Done(t) => {
                (Some(format!("error: finished with {} (reported above)", summary::problems(t.problems))), EXIT_FAILURE)
            }
            Outcome::Outage(message) | Outcome::Failed(message) => (Some(format!("error: {message}")), EXIT_FAILURE),
            Outcome::Fatal { message, code } => (Some(format!("error: {message}")), code),
            Outcome::Interrupted(signal) => return vec![stopped_line(signal), Effect::Exit(exit_code_for(signal))],
        };
        let mut effects: Vec<Effect> = line.map(|l| Effect::Say(Line::Err(l))).into_iter().collect();
        effects.push(Effect::Exit(code));
        effects
    }

    fn end_daemon_round(&mut self, outcome: Outcome, elapsed: Duration, interval: Duration) -> Vec<Effect> {
        let n = self.round;
        let secs = elapsed.as_secs_f64();
        let mut effects = Vec::new();
        let outcome = match outcome {
            // Nobody synced and someone could not be reached: Bungie.net is unreachable.
            Outcome::Done(t) if t.synced == 0 && t.unreachable > 0 => Outcome::Outage(format!(
                "could not reach Bungie.net for {} (reported above)",
                summary::players(t.unreachable)
            )),
            other => other,
        };
        match outcome {
            Outcome::Done(t) => {
                effects.push(Effect::Say(Line::Out(daemon_round_line(n, &t, secs))));
                if let Some(since) = self.outage_since.take() {
                    effects.push(Effect::Say(Line::Out(format!(
                        "Bungie.net answers again: the outage that began in round {since} is over"
                    ))));
                }
            }
            Outcome::Outage(message) => match self.outage_since {
                None => {
                    self.outage_since = Some(n);
                    effects.push(Effect::Say(Line::Err(format!(
                        "round {n} failed: {message}; trying again every {} s, and saying so once it works again",
                        interval.as_secs()
                    ))));
                }
                Some(_) => {
                    effects.push(Effect::Say(Line::Out(format!("round {n} ended: nothing synced ({secs:.1} s)"))))
                }
            },
            Outcome::Failed(message) => effects.push(Effect::Say(Line::Err(format!(
                "round {n} failed: {message}; trying again in {} s",
                interval.as_secs()
            )))),
            Outcome::Fatal { message, code } => {
                self.phase = Phase::Over;
                effects.push(Effect::Say(Line::Err(format!("error: {message}"))));
                effects.push(Effect::Say(Line::Err(format!("round {n} failed and retrying cannot fix it: stopped"))));
                effects.push(Effect::Exit(code));
                return effects;
            }
            Outcome::Interrupted(signal) => {
                self.phase = Phase::Over;
                effects.push(stopped_line(signal));
                effects.push(Effect::Exit(exit_code_for(signal)));
                return effects;
            }
        }
        if self.wake_pending {
            return self.next_round(effects);
        }
        self.phase = Phase::Sleeping;
        effects.push(Effect::Sleep(interval));
        effects
    }
}

fn stopped_line(signal: i32) -> Effect {
    Effect::Say(Line::Err(format!("stopped by {}; everything downloaded so far is saved", signal_name(signal))))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);
    const DAEMON: Mode = Mode::Daemon { interval: MINUTE };
    const TICK: Duration = Duration::from_millis(1500);

    fn totals(players: usize, synced: usize, new: usize) -> RoundSummary {
        RoundSummary { players, synced, new, ..RoundSummary::default() }
    }

    fn done(t: RoundSummary) -> Event {
        Event::RoundEnded { outcome: Outcome::Done(t), elapsed: TICK }
    }

    fn ended(outcome: Outcome) -> Event {
        Event::RoundEnded { outcome, elapsed: TICK }
    }

    fn outage() -> Outcome {
        Outcome::Outage("Bungie.net is down for maintenance (SystemDisabled); try again later".to_string())
    }

    fn fatal() -> Outcome {
        Outcome::Fatal { message: "Bungie.net rejected the API key".to_string(), code: EXIT_FAILURE }
    }

    /// The effects without the lines, for checking what is done.
    fn acts(effects: &[Effect]) -> Vec<Effect> {
        effects.iter().filter(|e| !matches!(e, Effect::Say(_))).cloned().collect()
    }

    fn lines(effects: &[Effect]) -> Vec<Line> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Say(l) => Some(l.clone()),
                _ => None,
            })
            .collect()
    }

    fn errs(effects: &[Effect]) -> Vec<String> {
        lines(effects)
            .into_iter()
            .filter_map(|l| match l {
                Line::Err(s) => Some(s),
                Line::Out(_) => None,
            })
            .collect()
    }

    /// A daemon in its first round.
    fn in_round() -> Machine {
        let mut m = Machine::new(DAEMON);
        m.handle(Event::Start);
        m
    }

    /// A daemon sleeping after a good first round.
    fn sleeping() -> Machine {
        let mut m = in_round();
        m.handle(done(totals(1, 1, 0)));
        m
    }

    #[test]
    fn a_daemon_alternates_rounds_and_sleeps_and_the_pause_follows_the_round() {
        let mut m = Machine::new(DAEMON);
        let start = m.handle(Event::Start);
        assert_eq!(acts(&start), vec![Effect::RunRound { number: 1, quiet: false }]);
        assert_eq!(lines(&start), vec![Line::Out("round 1 started".to_string())]);
        let end =
            m.handle(done(RoundSummary { players: 3, synced: 3, new: 12, left_queued: 2, ..RoundSummary::default() }));
        assert_eq!(acts(&end), vec![Effect::Sleep(MINUTE)], "the full interval, from the end of the round");
        assert_eq!(
            lines(&end),
            vec![Line::Out(
                "round 1 ended: 3 of 3 players synced, 12 new activities, 2 still queued (1.5 s)".to_string()
            )]
        );
        // A round end while sleeping (impossible, but harmless) starts nothing: rounds never overlap.
        assert_eq!(m.handle(done(totals(1, 1, 0))), vec![]);
        let next = m.handle(Event::SleepOver);
        assert_eq!(acts(&next), vec![Effect::RunRound { number: 2, quiet: false }]);
        assert_eq!(m.handle(Event::Start), vec![], "a second start is ignored");
        assert_eq!(m.handle(Event::SleepOver), vec![], "a stray sleep end during a round starts no round");
    }

    #[test]
    fn a_one_off_run_is_one_round_and_exits_with_its_outcome() {
        let cases: Vec<(&str, Outcome, Vec<String>, i32)> = vec![
            ("success", Outcome::Done(totals(2, 2, 5)), vec![], 0),
            (
                "problems reported",
                Outcome::Done(RoundSummary { problems: 2, ..totals(3, 1, 0) }),
                vec!["error: finished with 2 problems (reported above)".to_string()],
                1,
            ),
            ("outage", Outcome::Outage("down".to_string()), vec!["error: down".to_string()], 1),
            ("failure", Outcome::Failed("locked".to_string()), vec!["error: locked".to_string()], 1),
            ("fatal", fatal(), vec!["error: Bungie.net rejected the API key".to_string()], 1),
            (
                "interrupted",
                Outcome::Interrupted(SIGTERM),
                vec!["stopped by SIGTERM; everything downloaded so far is saved".to_string()],
                143,
            ),
        ];
        for (name, outcome, expected_errs, code) in cases {
            let mut m = Machine::new(Mode::Once);
            let start = m.handle(Event::Start);
            assert_eq!(start, vec![Effect::RunRound { number: 1, quiet: false }], "{name}: no round line");
            let end = m.handle(ended(outcome));
            assert_eq!(acts(&end), vec![Effect::Exit(code)], "{name}");
            assert_eq!(errs(&end), expected_errs, "{name}");
            assert!(lines(&end).iter().all(|l| matches!(l, Line::Err(_))), "{name}: nothing on stdout");
            assert_eq!(m.handle(Event::Stop(SIGINT)), vec![], "{name}: nothing after the exit");
        }
    }

    /// Every stop signal in every phase, in both modes.
    #[test]
    fn stop_signals_in_every_phase() {
        for signal in [SIGINT, SIGTERM, SIGHUP] {
            let code = 128 + signal;
            for mode in [Mode::Once, DAEMON] {
                // Before the run starts: exit at once.
                let mut m = Machine::new(mode);
                assert_eq!(m.handle(Event::Stop(signal)), vec![Effect::Exit(code)]);
                assert_eq!(m.handle(Event::Start), vec![], "no round after the exit");

                // During a round: wind down, with a grace period.
                let mut m = Machine::new(mode);
                m.handle(Event::Start);
                let first = m.handle(Event::Stop(signal));
                assert_eq!(acts(&first), vec![Effect::WindDown { signal, grace: STOP_GRACE }]);
                assert!(errs(&first)[0].contains("again to quit at once"), "{first:?}");
                // The round then ends (cut short, or complete anyway): exit with the signal's code.
                for outcome in [Outcome::Interrupted(signal), Outcome::Done(totals(1, 1, 1)), outage(), fatal()] {
                    let mut stopping = m.clone();
                    let end = stopping.handle(ended(outcome.clone()));
                    assert_eq!(acts(&end), vec![Effect::Exit(code)], "{mode:?} {outcome:?}");
                    assert!(errs(&end).last().is_some_and(|l| l.contains("everything downloaded so far is saved")));
                    assert_eq!(stopping.handle(Event::SleepOver), vec![]);
                }
                // A wake while stopping changes nothing.
                assert_eq!(m.clone().handle(Event::Wake), vec![]);
                // A second signal: exit at once, with the second signal's code.
                for second in [SIGINT, SIGTERM] {
                    let mut twice = m.clone();
                    assert_eq!(twice.handle(Event::Stop(second)), vec![Effect::Exit(128 + second)]);
                    assert_eq!(twice.handle(ended(Outcome::Interrupted(signal))), vec![], "already exiting");
                }
            }
            // During the sleep: exit at once.
            let mut m = sleeping();
            let effects = m.handle(Event::Stop(signal));
            assert_eq!(acts(&effects), vec![Effect::Exit(code)]);
            assert_eq!(m.handle(Event::SleepOver), vec![], "no round after the exit");
        }
    }

    #[test]
    fn a_round_cut_short_by_a_signal_the_machine_missed_still_exits_with_its_code() {
        let mut m = in_round();
        assert_eq!(acts(&m.handle(ended(Outcome::Interrupted(SIGINT)))), vec![Effect::Exit(130)]);
    }

    #[test]
    fn a_wake_request_ends_the_sleep_or_follows_the_round() {
        // While sleeping: end the sleep; the round starts when the sleep is over.
        let mut m = sleeping();
        assert_eq!(m.handle(Event::Wake), vec![Effect::EndSleep]);
        assert_eq!(acts(&m.handle(Event::SleepOver)), vec![Effect::RunRound { number: 2, quiet: false }]);
        // During a round: the next round follows without a sleep, once.
        m.handle(Event::Wake);
        m.handle(Event::Wake);
        let end = m.handle(done(totals(1, 1, 0)));
        assert_eq!(acts(&end), vec![Effect::RunRound { number: 3, quiet: false }]);
        assert_eq!(lines(&end)[1], Line::Out("round 3 started".to_string()));
        assert_eq!(acts(&m.handle(done(totals(1, 1, 0)))), vec![Effect::Sleep(MINUTE)], "the wake was used up");
        // A one-off run has no next round to start.
        let mut once = Machine::new(Mode::Once);
        once.handle(Event::Start);
        assert_eq!(once.handle(Event::Wake), vec![]);
        assert_eq!(acts(&once.handle(done(totals(1, 1, 0)))), vec![Effect::Exit(0)]);
        // Before the start, a wake is meaningless.
        assert_eq!(Machine::new(DAEMON).handle(Event::Wake), vec![]);
    }

    #[test]
    fn an_outage_is_reported_when_it_starts_and_when_it_ends_only() {
        let mut m = in_round();
        let first = m.handle(ended(outage()));
        assert_eq!(acts(&first), vec![Effect::Sleep(MINUTE)], "the daemon carries on");
        assert_eq!(errs(&first).len(), 1);
        assert!(errs(&first)[0].starts_with("round 1 failed: Bungie.net is down for maintenance"), "{first:?}");
        assert!(m.in_outage());

        // Later rounds of the same outage run quietly and report nothing on stderr.
        for round in 2..=4 {
            let start = m.handle(Event::SleepOver);
            assert_eq!(acts(&start), vec![Effect::RunRound { number: round, quiet: true }]);
            let still = m.handle(ended(if round == 3 {
                Outcome::Outage("could not reach Bungie.net: connection refused".to_string())
            } else {
                outage()
            }));
            assert_eq!(errs(&still), Vec::<String>::new(), "round {round}");
            assert_eq!(lines(&still), vec![Line::Out(format!("round {round} ended: nothing synced (1.5 s)"))]);
            assert_eq!(acts(&still), vec![Effect::Sleep(MINUTE)]);
        }

        // The round that works again ends it, with one line.
        m.handle(Event::SleepOver);
        let back = m.handle(done(totals(2, 2, 7)));
        assert_eq!(
            lines(&back),
            vec![
                Line::Out("round 5 ended: 2 of 2 players synced, 7 new activities, 0 still queued (1.5 s)".to_string()),
                Line::Out("Bungie.net answers again: the outage that began in round 1 is over".to_string()),
            ]
        );
        assert!(!m.in_outage());
        assert_eq!(acts(&m.handle(Event::SleepOver)), vec![Effect::RunRound { number: 6, quiet: false }]);
        // A new outage is reported again.
        assert_eq!(errs(&m.handle(ended(outage()))).len(), 1);
    }

    #[test]
    fn a_round_where_nobody_could_be_reached_is_an_outage() {
        let mut m = in_round();
        let unreachable =
            RoundSummary { players: 3, synced: 0, problems: 3, unreachable: 3, ..RoundSummary::default() };
        let effects = m.handle(done(unreachable));
        assert!(m.in_outage());
        assert!(errs(&effects)[0].contains("could not reach Bungie.net for 3 players"), "{effects:?}");
        // One player reached is not an outage: the others' failures were reported as they came.
        let mut m = in_round();
        let some = RoundSummary { players: 3, synced: 1, problems: 2, unreachable: 2, ..RoundSummary::default() };
        let effects = m.handle(done(some));
        assert!(!m.in_outage());
        assert_eq!(
            lines(&effects),
            vec![Line::Out(
                "round 1 ended: 1 of 3 players synced, 0 new activities, 0 still queued, 2 problems reported above (1.5 s)"
                    .to_string()
            )]
        );
    }

    #[test]
    fn other_failures_are_reported_every_round_and_the_daemon_carries_on() {
        let mut m = in_round();
        for round in 1..=3 {
            let effects = m.handle(ended(Outcome::Failed("another dclisync sync is running".to_string())));
            assert_eq!(acts(&effects), vec![Effect::Sleep(MINUTE)]);
            assert_eq!(
                errs(&effects),
                vec![format!("round {round} failed: another dclisync sync is running; trying again in 60 s")]
            );
            assert!(!m.in_outage());
            m.handle(Event::SleepOver);
        }
    }

    #[test]
    fn a_bad_key_or_an_unusable_database_ends_the_daemon_with_exit_1() {
        for outcome in [
            Outcome::of_error(ErrorKind::BadKey, "Bungie.net rejected the API key".to_string()),
            Outcome::of_error(ErrorKind::Unusable, "/data/dcli.sqlite3 is not a dcli database".to_string()),
        ] {
            for outage_first in [false, true] {
                let mut m = in_round();
                if outage_first {
                    m.handle(ended(outage()));
                    m.handle(Event::SleepOver);
                }
                let effects = m.handle(ended(outcome.clone()));
                assert_eq!(acts(&effects), vec![Effect::Exit(1)], "{outcome:?}");
                assert!(errs(&effects)[0].starts_with("error: "), "{effects:?}");
                assert_eq!(m.handle(Event::SleepOver), vec![]);
                assert_eq!(m.handle(Event::Stop(SIGTERM)), vec![]);
            }
        }
    }

    fn any_event() -> impl proptest::strategy::Strategy<Value = Event> {
        use proptest::prelude::*;
        let outcome =
            prop_oneof![
                (0usize..3, 0usize..3, 0usize..3).prop_map(|(synced, unreachable, problems)| Outcome::Done(
                    RoundSummary { players: 3, synced, unreachable, problems, ..RoundSummary::default() }
                )),
                Just(outage()),
                Just(Outcome::Failed("locked".to_string())),
                Just(fatal()),
                prop_oneof![Just(SIGINT), Just(SIGTERM), Just(SIGHUP)].prop_map(Outcome::Interrupted),
            ];
        prop_oneof![
            Just(Event::Start),
            outcome.prop_map(|outcome| Event::RoundEnded { outcome, elapsed: TICK }),
            prop_oneof![Just(SIGINT), Just(SIGTERM), Just(SIGHUP)].prop_map(Event::Stop),
            Just(Event::Wake),
            Just(Event::SleepOver),
        ]
    }

    proptest::proptest! {
        /// Whatever order events come in, in either mode: rounds never overlap (a second round
        /// starts only after the first one's end was fed in); signals never make the signal
        /// thread run a round or sleep; nothing happens after an exit; a stop signal the machine
        /// took in ends the run with a signal's code; sleeps last the whole interval.
        #[test]
        fn the_loop_keeps_its_promises(daemon in proptest::bool::ANY, events in proptest::collection::vec(any_event(), 0..40)) {
            let mut m = Machine::new(if daemon { DAEMON } else { Mode::Once });
            let mut round_running = false;
            let mut exited: Option<i32> = None;
            let mut stop_taken = false;
            for event in events {
                let from_signal = matches!(event, Event::Stop(_) | Event::Wake);
                let ended_round = matches!(event, Event::RoundEnded { .. });
                if let Event::Stop(_) = event {
                    stop_taken |= exited.is_none() && m.in_round();
                }
                if ended_round && m.in_round() {
                    round_running = false;
                }
                let effects = m.handle(event);
                if exited.is_some() {
                    proptest::prop_assert!(effects.is_empty(), "effects after the exit: {:?}", effects);
                }
                for effect in &effects {
                    match effect {
                        Effect::RunRound { .. } => {
                            proptest::prop_assert!(!from_signal, "a signal started a round");
                            proptest::prop_assert!(!round_running, "rounds overlap");
                            round_running = true;
                        }
                        Effect::Sleep(d) => {
                            proptest::prop_assert!(!from_signal, "a signal started a sleep");
                            proptest::prop_assert_eq!(*d, MINUTE);
                        }
                        Effect::Exit(code) => exited = Some(*code),
                        _ => {}
                    }
                }
            }
            if let (true, Some(code)) = (stop_taken, exited) {
                proptest::prop_assert!([129, 130, 143].contains(&code), "exit {} after a stop signal", code);
            }
        }
    }

    #[test]
    fn signal_exit_codes_and_names() {
        assert_eq!([SIGHUP, SIGINT, SIGTERM].map(exit_code_for), [129, 130, 143]);
        assert_eq!(signal_name(SIGTERM), "SIGTERM");
        assert_eq!(signal_name(10), "signal 10");
    }
}
