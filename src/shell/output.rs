//! Terminal output: results on stdout, progress and diagnostics on stderr.
//!
//! Progress bars appear only when stderr is a terminal and the run is not a daemon; everything
//! else is plain sentences, one per line. A closed stdout pipe is not an error.
//!
//! In daemon mode there are no bars, per-player lines give way to the round's own lines (they
//! show with `-v`), each line written to a stream that is not a terminal (journald, a log file)
//! starts with a UTC timestamp, and while an outage lasts the round's error lines go to the log
//! instead of being repeated every round.
//!
//! This is the one place where text reaches the terminal or the log: every line (result,
//! status, detail, and each log record, see [`log_line`]) passes [`one_line`], so that control
//! characters in names and messages from the server are shown escaped instead of acting on the
//! terminal or breaking a line. A line is one line: blocks of lines are printed line by line.
//! The JSON of [`Output::data`] needs no escaping (JSON strings escape control characters).

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

use crate::core::terminal::one_line;
use crate::shell::clock::now_text;

/// How often a bar redraws.
const BAR_TICK: Duration = Duration::from_millis(200);

#[derive(Clone)]
pub struct Output {
    multi: Option<MultiProgress>,
    /// Result lines go to stderr: stdout carries data for a script (`--list --json`).
    results_on_stderr: bool,
    daemon: Option<Arc<DaemonStyle>>,
}

/// How a daemon writes.
struct DaemonStyle {
    stamp_stdout: bool,
    stamp_stderr: bool,
    /// An outage is going on: the round's error lines are not repeated.
    quiet: AtomicBool,
}

impl Output {
    /// Output with progress bars when `bars_wanted` and stderr is a terminal.
    pub fn new(bars_wanted: bool) -> Output {
        let multi = (bars_wanted && std::io::stderr().is_terminal())
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Output { multi, results_on_stderr: false, daemon: None }
    }

    /// The same output with result lines on stderr, leaving stdout to [`Output::data`].
    pub fn with_results_on_stderr(&self) -> Output {
        Output { results_on_stderr: true, ..self.clone() }
    }

    /// A daemon's output: no bars; timestamps on each stream that is not a terminal.
    pub fn daemon() -> Output {
        let style = DaemonStyle {
            stamp_stdout: !std::io::stdout().is_terminal(),
            stamp_stderr: !std::io::stderr().is_terminal(),
            quiet: AtomicBool::new(false),
        };
        Output { multi: None, results_on_stderr: false, daemon: Some(Arc::new(style)) }
    }

    /// Whether this is a daemon's output.
    pub fn is_daemon(&self) -> bool {
        self.daemon.is_some()
    }

    /// Whether lines on stderr carry a timestamp (so log lines should too).
    pub fn stamps_stderr(&self) -> bool {
        self.daemon.as_ref().is_some_and(|d| d.stamp_stderr)
    }

    /// While `quiet`, status and error lines go to the log (shown with `-v`), not to stderr.
    pub fn set_quiet(&self, quiet: bool) {
        if let Some(d) = &self.daemon {
            d.quiet.store(quiet, Ordering::SeqCst);
        }
    }

    /// A progress bar for `total` items, or a hidden one when bars are off.
    pub fn bar(&self, label: &str, total: u64) -> ProgressBar {
        let Some(multi) = &self.multi else {
            return ProgressBar::hidden();
        };
        let style = ProgressStyle::with_template(
            "{prefix:.bold} [{bar:30.cyan/blue}] {pos}/{len} activities, {rate}, ETA {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .with_key("rate", |state: &ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{:.0}/s", state.per_sec());
        })
        .progress_chars("=> ");
        let bar = multi.add(ProgressBar::new(total).with_style(style).with_prefix(one_line(label).into_owned()));
        bar.enable_steady_tick(BAR_TICK);
        bar
    }

    /// A result line on stdout (on stderr when stdout carries data).
    pub fn result(&self, line: &str) {
        if self.results_on_stderr {
            return self.status(line);
        }
        let stamp = self.daemon.as_ref().is_some_and(|d| d.stamp_stdout);
        self.around_bars(|| {
            let _ = writeln!(std::io::stdout().lock(), "{}{}", stamp_if(stamp), one_line(line));
        });
    }

    /// Data for scripts on stdout, always, and never stamped.
    pub fn data(&self, text: &str) {
        self.around_bars(|| {
            let _ = writeln!(std::io::stdout().lock(), "{text}");
        });
    }

    /// Result lines, one after the other (a table).
    pub fn results(&self, lines: &[String]) {
        for line in lines {
            self.result(line);
        }
    }

    /// A detail of a round (one player's figures): a result line in a one-off run; in daemon
    /// mode the round's end line sums it up, so it goes to the log (shown with `-v`).
    pub fn detail(&self, line: &str) {
        if self.is_daemon() {
            log::info!("{line}");
        } else {
            self.result(line);
        }
    }

    /// A status or error line on stderr.
    pub fn status(&self, line: &str) {
        if let Some(d) = &self.daemon {
            if d.quiet.load(Ordering::SeqCst) {
                log::info!("{line}");
                return;
            }
        }
        self.say(line);
    }

    /// A line on stderr that is always shown (the daemon's own round and stop lines).
    pub fn say(&self, line: &str) {
        let stamp = self.stamps_stderr();
        self.around_bars(|| {
            let _ = writeln!(std::io::stderr().lock(), "{}{}", stamp_if(stamp), one_line(line));
        });
    }

    fn around_bars(&self, f: impl FnOnce()) {
        match &self.multi {
            Some(multi) => multi.suspend(f),
            None => f(),
        }
    }
}

/// A log record as one line: `LEVEL: message`, after a timestamp when `stamped`, with the
/// message escaped like every other line.
pub fn log_line(
    out: &mut dyn Write,
    stamped: bool,
    level: log::Level,
    message: &std::fmt::Arguments<'_>,
) -> std::io::Result<()> {
    let message = message.to_string();
    writeln!(out, "{}{level}: {}", stamp_if(stamped), one_line(&message))
}

/// The timestamp that starts a line, `2024-05-01T12:00:00+00:00 `, when `wanted`.
fn stamp_if(wanted: bool) -> String {
    if wanted {
        format!("{} ", now_text())
    } else {
        String::new()
    }
}
