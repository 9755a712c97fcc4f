//! Terminal output: results on stdout, progress and diagnostics on stderr.
//!
//! Progress bars appear only when stderr is a terminal and the run is not a daemon; everything
//! else is plain sentences, one per line. A closed stdout pipe is not an error.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

/// How often a bar redraws.
const BAR_TICK: Duration = Duration::from_millis(200);

#[derive(Clone)]
pub struct Output {
    multi: Option<MultiProgress>,
    /// Result lines go to stderr: stdout carries data for a script (`--list --json`).
    results_on_stderr: bool,
}

impl Output {
    /// Output with progress bars when `bars_wanted` and stderr is a terminal.
    pub fn new(bars_wanted: bool) -> Output {
        let multi = (bars_wanted && std::io::stderr().is_terminal())
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Output { multi, results_on_stderr: false }
    }

    /// The same output with result lines on stderr, leaving stdout to [`Output::data`].
    pub fn with_results_on_stderr(&self) -> Output {
        Output { results_on_stderr: true, ..self.clone() }
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
        let bar = multi.add(ProgressBar::new(total).with_style(style).with_prefix(label.to_string()));
        bar.enable_steady_tick(BAR_TICK);
        bar
    }

    /// A result line on stdout (on stderr when stdout carries data).
    pub fn result(&self, line: &str) {
        if self.results_on_stderr {
            return self.status(line);
        }
        self.data(line);
    }

    /// Data for scripts on stdout, always.
    pub fn data(&self, text: &str) {
        self.around_bars(|| {
            let _ = writeln!(std::io::stdout().lock(), "{text}");
        });
    }

    /// A status or error line on stderr.
    pub fn status(&self, line: &str) {
        self.around_bars(|| {
            let _ = writeln!(std::io::stderr().lock(), "{line}");
        });
    }

    fn around_bars(&self, f: impl FnOnce()) {
        match &self.multi {
            Some(multi) => multi.suspend(f),
            None => f(),
        }
    }
}
