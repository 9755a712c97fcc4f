//! The gate every request passes: a bound on requests in flight and the shared [`Pace`], for all
//! threads and endpoints of one run.
//!
//! The decisions (when the next request may go, how a throttle answer changes that) are the
//! core's, in [`crate::core::limiter`]; this module only sleeps and counts (the requests it lets
//! through, by endpoint and outcome, in the run's [`Tally`], for the metrics file).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::core::bungie::envelope::ApiError;
use crate::core::limiter::{Pace, Slot, BUNGIE_WINDOW};
use crate::core::metrics::Endpoint;
use crate::core::retry::pause_for_everyone;
use crate::shell::metrics::Tally;
use crate::shell::places::{Place, Places};
use crate::shell::signal::Stop;

/// Requests in flight and the pace, shared by every thread of a run.
#[derive(Debug)]
pub struct Gate {
    pace: Option<Mutex<Pace>>,
    origin: Instant,
    in_flight: Places,
    stop: Stop,
    tally: Arc<Tally>,
}

/// Permission to have one request in flight; dropping it frees the place.
pub struct Pass<'g> {
    gate: &'g Gate,
    /// When the request went, on the gate's clock.
    sent_at: Duration,
    _place: Place,
}

impl Pass<'_> {
    /// Counts the request as answered: `error` is `None` for a success.
    pub fn answered(&self, endpoint: Endpoint, error: Option<&ApiError>) {
        self.gate.tally.count(endpoint, error);
        if let Some(error) = error {
            self.failed(error);
        }
    }

    /// Tells the pace how the request failed: a throttle answer pauses everyone (and lowers the
    /// limit to what the server took).
    fn failed(&self, error: &ApiError) {
        if let (Some((wait, too_fast)), Some(mut pace)) = (pause_for_everyone(error), self.gate.pace()) {
            log::debug!("pausing every request for {:.1} s ({error})", wait.as_secs_f64());
            pace.throttled(self.gate.now(), self.sent_at, wait, too_fast);
        }
    }
}

impl Gate {
    /// A gate letting at most `max_in_flight` requests run at once, at `max_rps` requests per
    /// second averaged over Bungie's window (`None`: no pace). A stop request opens no more
    /// passes.
    pub fn new(max_rps: Option<f64>, max_in_flight: usize, stop: Stop) -> Gate {
        let in_flight = Places::new(max_in_flight);
        stop.watch(&in_flight);
        Gate {
            pace: max_rps.map(|rate| Mutex::new(Pace::per_second(rate))),
            origin: Instant::now(),
            in_flight,
            stop,
            tally: Arc::default(),
        }
    }

    /// Counts the requests in `tally` (one that outlives the gate) instead of its own.
    pub fn with_tally(self, tally: Arc<Tally>) -> Gate {
        Gate { tally, ..self }
    }

    /// The pace in force now, in requests per second; `None`: no limit.
    pub fn pace_per_second(&self) -> Option<f64> {
        self.pace().map(|p| p.per_window() as f64 / BUNGIE_WINDOW.as_secs_f64())
    }

    fn pace(&self) -> Option<MutexGuard<'_, Pace>> {
        self.pace.as_ref().map(|p| p.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn now(&self) -> Duration {
        self.origin.elapsed()
    }

    /// Waits for a place in flight and for the request's slot in the pace.
    pub fn pass(&self) -> Result<Pass<'_>, ApiError> {
        let place = self.in_flight.take().ok_or(ApiError::Stopped)?;
        let mut pass = Pass { gate: self, sent_at: Duration::ZERO, _place: place };
        loop {
            if self.stop.requested() {
                return Err(ApiError::Stopped);
            }
            let Some(slot) = self.pace().map(|mut p| p.reserve(self.now())) else {
                pass.sent_at = self.now();
                return Ok(pass);
            };
            self.wait_for(slot);
            if self.stop.requested() {
                return Err(ApiError::Stopped);
            }
            if self.pace().is_none_or(|p| p.still_good(slot)) {
                pass.sent_at = slot.at;
                return Ok(pass);
            }
        }
    }

    fn wait_for(&self, slot: Slot) {
        let now = self.now();
        if slot.at > now {
            self.stop.sleep(slot.at - now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_bound_requests_in_flight() {
        let gate = Gate::new(None, 2, Stop::new());
        let a = gate.pass().unwrap();
        let _b = gate.pass().unwrap();
        std::thread::scope(|s| {
            let waiter = s.spawn(|| gate.pass().map(|_| ()));
            std::thread::sleep(Duration::from_millis(100));
            assert!(!waiter.is_finished(), "a third request must wait for a place");
            drop(a);
            assert!(waiter.join().unwrap().is_ok());
        });
    }

    #[test]
    fn a_stop_opens_no_more_passes() {
        let stop = Stop::new();
        let gate = Gate::new(Some(25.0), 1, stop.clone());
        let held = gate.pass().unwrap();
        stop.request(2);
        assert_eq!(gate.pass().err(), Some(ApiError::Stopped));
        drop(held);
        assert_eq!(gate.pass().err(), Some(ApiError::Stopped));
    }

    #[test]
    fn a_throttle_answer_holds_back_the_next_request() {
        let gate = Gate::new(Some(25.0), 4, Stop::new());
        gate.pass().unwrap().answered(Endpoint::Pgcr, Some(&ApiError::Throttled { seconds: 1, code: 51 }));
        let started = Instant::now();
        drop(gate.pass().unwrap());
        assert!(started.elapsed() >= Duration::from_millis(900), "{:?}", started.elapsed());
    }
}
