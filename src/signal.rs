//! Stopping cleanly: a shared flag that a first Ctrl-C (or SIGTERM) sets, and sleeps that wake
//! when it is set. A second signal exits at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::Error;

/// How often an interruptible sleep looks at the flag.
const SLEEP_SLICE: Duration = Duration::from_millis(50);
/// SIGINT's number: the exit code after a signal is 128 + this.
pub const SIGINT: i32 = 2;

/// Set when the user asked to stop.
#[derive(Debug, Clone, Default)]
pub struct Stop(Arc<AtomicBool>);

impl Stop {
    pub fn new() -> Stop {
        Stop::default()
    }

    pub fn request(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn requested(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// `Err(Interrupted)` once a stop was requested.
    pub fn check(&self) -> Result<(), Error> {
        if self.requested() {
            Err(Error::Interrupted(SIGINT))
        } else {
            Ok(())
        }
    }

    /// Sleeps for `duration`, or less if a stop is requested meanwhile.
    pub fn sleep(&self, duration: Duration) {
        let end = Instant::now() + duration;
        while !self.requested() {
            let now = Instant::now();
            if now >= end {
                return;
            }
            std::thread::sleep(SLEEP_SLICE.min(end - now));
        }
    }

    /// Installs the handler: the first signal sets the flag, a second one exits at once.
    pub fn install(&self) -> Result<(), ctrlc::Error> {
        let stop = self.clone();
        ctrlc::set_handler(move || {
            if stop.requested() {
                std::process::exit(128 + SIGINT);
            }
            stop.request();
            eprintln!("stopping after the reports in hand are saved (press Ctrl-C again to quit at once)");
        })
    }
}
