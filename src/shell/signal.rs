//! Signals and stopping: the shared stop flag a first signal sets (with the signal's number), the
//! listener that turns OS signals into [`crate::core::daemon::Event`]s, the interruptible sleep between daemon
//! rounds, and the one way the process exits.
//!
//! On Unix, `signal-hook` tells SIGINT, SIGTERM, SIGHUP and SIGUSR1 apart (SIGUSR1 wakes a
//! sleeping daemon); elsewhere `ctrlc` catches Ctrl-C, reported as SIGINT. What each signal means
//! is decided in [`crate::core::daemon`]; this module only delivers them.

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use crate::core::daemon::Event;
use crate::shell::error::Error;
use crate::shell::places::{self, Places};

/// Set, to the signal's number, when the user asked to stop. A request wakes every
/// [`Stop::sleep`] at once and closes the [`Places`] it watches.
#[derive(Debug, Clone, Default)]
pub struct Stop(Arc<StopShared>);

#[derive(Debug, Default)]
struct StopShared {
    signal: AtomicI32,
    /// The places to close on a stop; held weakly, so places that are gone are simply skipped.
    watched: Mutex<Vec<Weak<places::Shared>>>,
    requested: Condvar,
}

impl Stop {
    pub fn new() -> Stop {
        Stop::default()
    }

    fn watched(&self) -> MutexGuard<'_, Vec<Weak<places::Shared>>> {
        self.0.watched.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Asks the run to stop because of `signal`; the first request wins.
    pub fn request(&self, signal: i32) {
        let _ = self.0.signal.compare_exchange(0, signal.max(1), Ordering::SeqCst, Ordering::SeqCst);
        let watched = std::mem::take(&mut *self.watched());
        for shared in watched.iter().filter_map(Weak::upgrade) {
            shared.close();
        }
        // Taken under the lock a sleeper checks the flag under, so no sleeper misses it.
        let _sleepers = self.watched();
        self.0.requested.notify_all();
    }

    /// Closes `places` when a stop is requested (at once if one already was).
    pub fn watch(&self, places: &Places) {
        let mut watched = self.watched();
        if self.requested() {
            drop(watched);
            places.close();
            return;
        }
        watched.retain(|w| w.strong_count() > 0);
        watched.push(places.downgrade());
    }

    pub fn requested(&self) -> bool {
        self.signal().is_some()
    }

    /// The signal that asked to stop, if any.
    pub fn signal(&self) -> Option<i32> {
        Some(self.0.signal.load(Ordering::SeqCst)).filter(|s| *s != 0)
    }

    /// `Err(Interrupted)` once a stop was requested.
    pub fn check(&self) -> Result<(), Error> {
        match self.signal() {
            Some(signal) => Err(Error::Interrupted(signal)),
            None => Ok(()),
        }
    }

    /// Sleeps for `duration`, or less if a stop is requested meanwhile.
    pub fn sleep(&self, duration: Duration) {
        let end = Instant::now() + duration;
        let mut guard = self.watched();
        while !self.requested() {
            let now = Instant::now();
            if now >= end {
                return;
            }
            guard = self.0.requested.wait_timeout(guard, end - now).unwrap_or_else(|e| e.into_inner()).0;
        }
    }
}

/// The daemon's sleep between rounds, which [`Bell::ring`] ends early.
#[derive(Debug, Clone, Default)]
pub struct Bell(Arc<(Mutex<bool>, Condvar)>);

impl Bell {
    pub fn new() -> Bell {
        Bell::default()
    }

    /// Sleeps for `duration` or until rung, whichever comes first. A ring that came just before
    /// the sleep began ends it at once.
    pub fn sleep(&self, duration: Duration) {
        let (rung, wakeup) = &*self.0;
        let end = Instant::now() + duration;
        let mut rung = rung.lock().unwrap_or_else(|e| e.into_inner());
        while !*rung {
            let now = Instant::now();
            if now >= end {
                break;
            }
            rung = wakeup.wait_timeout(rung, end - now).unwrap_or_else(|e| e.into_inner()).0;
        }
        *rung = false;
    }

    pub fn ring(&self) {
        let (rung, wakeup) = &*self.0;
        *rung.lock().unwrap_or_else(|e| e.into_inner()) = true;
        wakeup.notify_all();
    }
}

/// Exits the process with `code`. Only one thread ever gets to exit: a signal thread and the main
/// thread finishing at the same moment cannot run the exit twice.
pub fn exit(code: i32) -> ! {
    static EXITING: Mutex<()> = Mutex::new(());
    // Held until the process ends; a second caller waits here for it.
    let _only_one = EXITING.lock();
    std::process::exit(code)
}

/// The signals dclisync handles, caught from the moment [`Listener::catch`] returns (so one that
/// comes during start-up is not lost, nor does it kill the process half-way) and delivered once
/// [`Listener::listen`] is called.
pub struct Listener {
    #[cfg(unix)]
    signals: signal_hook::iterator::Signals,
}

impl Listener {
    /// Starts catching SIGINT, SIGTERM, SIGHUP and SIGUSR1 (on Unix; elsewhere Ctrl-C is caught
    /// by [`Listener::listen`]).
    pub fn catch() -> std::io::Result<Listener> {
        #[cfg(unix)]
        {
            use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR1};
            let signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP, SIGUSR1])?;
            Ok(Listener { signals })
        }
        #[cfg(not(unix))]
        Ok(Listener {})
    }

    /// Delivers stop signals (as [`Event::Stop`] with the signal's number) and wake requests (as
    /// [`Event::Wake`], SIGUSR1) to `on_event`, on a thread of their own, starting with any that
    /// arrived since [`Listener::catch`].
    #[cfg(unix)]
    pub fn listen(mut self, mut on_event: impl FnMut(Event) + Send + 'static) -> std::io::Result<()> {
        std::thread::Builder::new().name("signals".to_string()).spawn(move || {
            for signal in self.signals.forever() {
                on_event(if signal == signal_hook::consts::SIGUSR1 { Event::Wake } else { Event::Stop(signal) });
            }
        })?;
        Ok(())
    }

    /// Delivers Ctrl-C (and the console's close and logoff events) as [`Event::Stop`] with SIGINT.
    #[cfg(not(unix))]
    pub fn listen(self, mut on_event: impl FnMut(Event) + Send + 'static) -> std::io::Result<()> {
        ctrlc::set_handler(move || on_event(Event::Stop(crate::core::daemon::SIGINT))).map_err(std::io::Error::other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_stop_request_wins() {
        let stop = Stop::new();
        assert!(stop.check().is_ok());
        stop.request(crate::core::daemon::SIGTERM);
        stop.request(crate::core::daemon::SIGINT);
        assert_eq!(stop.signal(), Some(crate::core::daemon::SIGTERM));
        assert!(matches!(stop.check(), Err(Error::Interrupted(15))));
    }

    #[test]
    fn a_bell_ends_a_sleep_early_even_when_rung_just_before() {
        let bell = Bell::new();
        bell.ring();
        let started = Instant::now();
        bell.sleep(Duration::from_secs(30));
        assert!(started.elapsed() < Duration::from_secs(5), "a ring before the sleep ends it");

        let ringer = bell.clone();
        let started = Instant::now();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            ringer.ring();
        });
        bell.sleep(Duration::from_secs(30));
        t.join().unwrap();
        assert!(started.elapsed() < Duration::from_secs(5), "a ring during the sleep ends it");

        // The ring was used up: the next sleep lasts its time.
        let started = Instant::now();
        bell.sleep(Duration::from_millis(60));
        assert!(started.elapsed() >= Duration::from_millis(60));
    }
}
