//! The request pace: at most R requests in any window of W seconds, spread evenly, and slower for
//! a while after Bungie says "too many".
//!
//! Pure: time is a [`Duration`] since an origin the caller chooses, so tests drive a virtual
//! clock. The shell ([`crate::bungie::gate`]) holds one [`Pace`] for every thread and endpoint.
//!
//! Requests are spaced at least W/R apart. If consecutive requests are never closer than W/R,
//! a window of length W holds at most R of them, so the window limit follows from the spacing and
//! no request log is kept. A throttle answer pauses everyone for the wait the server named and
//! doubles the spacing; each calm period after that brings the spacing back a step, but not past
//! a little slower than the pace that drew the throttle. So a server with a lower limit than
//! configured is met after a few throttles and then left alone; after ten calm minutes that
//! memory goes, in case the throttling was passing.

use std::time::Duration;

/// Bungie's averaging window.
pub const BUNGIE_WINDOW: Duration = Duration::from_secs(10);
/// Share of the configured rate actually used: a little headroom so that requests reaching the
/// server late (thread scheduling, connection set-up) never crowd one of its windows.
pub const HEADROOM: f64 = 0.98;
/// The slowest pace adaptation goes to: one request every 2 s.
pub const MAX_SPACING: Duration = Duration::from_secs(2);
/// Time without a throttle answer after which the spacing comes back a step.
pub const CALM_STEP: Duration = Duration::from_secs(15);
/// How much slower than a throttled pace recovery stops.
pub const BELOW_THROTTLED: f64 = 1.1;
/// Calm time after which the pace that drew a throttle is forgotten.
pub const FORGET_AFTER: Duration = Duration::from_secs(600);

/// A slot to send in: when, and in which throttle epoch it was handed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub at: Duration,
    epoch: u64,
}

/// The shared pace of requests.
#[derive(Debug, Clone)]
pub struct Pace {
    /// The spacing that keeps R per W: W/R (with headroom).
    base: Duration,
    /// The spacing in force; at least `base`.
    spacing: Duration,
    /// Recovery stops at this spacing: a little slower than the last throttled pace.
    floor: Duration,
    /// When the last throttle's pause ended.
    throttled_at: Duration,
    /// The earliest time the next slot may start.
    next: Duration,
    /// Nobody sends before this (the last throttle answer's wait).
    paused_until: Duration,
    /// When the spacing last changed, for coming back after calm.
    changed_at: Duration,
    /// Counts throttle answers that paused everyone; slots of an older epoch are stale.
    epoch: u64,
}

impl Pace {
    /// A pace of `rate` requests per second averaged over [`BUNGIE_WINDOW`]: at most
    /// ⌊rate × W⌋ requests in any window of W (at least one).
    pub fn per_second(rate: f64) -> Pace {
        let window = BUNGIE_WINDOW.as_secs_f64();
        let most = if rate.is_finite() && rate > 0.0 { (rate * window).floor().max(1.0) } else { 1.0 };
        let base = BUNGIE_WINDOW.div_f64((most * HEADROOM).floor().max(1.0));
        Pace {
            base,
            spacing: base,
            floor: base,
            throttled_at: Duration::ZERO,
            next: Duration::ZERO,
            paused_until: Duration::ZERO,
            changed_at: Duration::ZERO,
            epoch: 0,
        }
    }

    /// The spacing in force now.
    pub fn spacing(&self) -> Duration {
        self.spacing
    }

    /// Hands out the next slot at or after `now`. The caller waits until `slot.at`, then checks
    /// [`Pace::still_good`] before sending.
    pub fn reserve(&mut self, now: Duration) -> Slot {
        self.calm_down(now);
        let at = now.max(self.next).max(self.paused_until);
        self.next = at + self.spacing;
        Slot { at, epoch: self.epoch }
    }

    /// Whether a slot handed out earlier may still be used: not if a throttle answer came since.
    pub fn still_good(&self, slot: Slot) -> bool {
        slot.epoch == self.epoch || slot.at >= self.paused_until
    }

    /// The server answered "too many" at `now` and asked for `wait`. Everyone pauses for `wait`;
    /// with `slow_down`, the spacing doubles as well. Answers to requests sent before the pause
    /// began (already in flight) neither pause again nor slow down again.
    pub fn throttled(&mut self, now: Duration, wait: Duration, slow_down: bool) {
        if now < self.paused_until {
            return;
        }
        self.paused_until = now + wait;
        self.next = self.next.max(self.paused_until);
        self.epoch += 1;
        if slow_down {
            let slowest = MAX_SPACING.max(self.base);
            self.floor = self.spacing.mul_f64(BELOW_THROTTLED).clamp(self.base, slowest);
            self.spacing = (self.spacing * 2).min(slowest);
            self.changed_at = self.paused_until;
            self.throttled_at = self.paused_until;
        }
    }

    /// After each calm step without throttling, the spacing shrinks by a third toward the floor;
    /// after [`FORGET_AFTER`] the floor is the base again.
    fn calm_down(&mut self, now: Duration) {
        if now >= self.throttled_at + FORGET_AFTER {
            self.floor = self.base;
        }
        while self.spacing > self.floor && now >= self.changed_at + CALM_STEP {
            self.spacing = self.spacing.mul_f64(2.0 / 3.0).max(self.floor);
            self.changed_at += CALM_STEP;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// The most slots in any window of `window` (slots sorted).
    fn busiest_window(slots: &[Duration], window: Duration) -> usize {
        let mut most = 0;
        let mut start = 0;
        for end in 0..slots.len() {
            while slots[end] >= slots[start] + window {
                start += 1;
            }
            most = most.max(end - start + 1);
        }
        most
    }

    #[test]
    fn spaces_requests_evenly() {
        let mut pace = Pace::per_second(25.0);
        let slots: Vec<Duration> = (0..5).map(|_| pace.reserve(Duration::ZERO).at).collect();
        let gap = pace.spacing();
        assert!(gap > ms(40) && gap < ms(42), "{gap:?}");
        assert_eq!(slots, vec![Duration::ZERO, gap, gap * 2, gap * 3, gap * 4]);
        // After a quiet while the next request goes at once.
        assert_eq!(pace.reserve(Duration::from_secs(60)).at, Duration::from_secs(60));
    }

    #[test]
    fn a_throttle_pauses_everyone_and_slows_down_then_recovers() {
        let mut pace = Pace::per_second(25.0);
        let base = pace.spacing();
        pace.reserve(Duration::ZERO);
        let waiting = pace.reserve(Duration::ZERO);
        pace.throttled(ms(10), Duration::from_secs(10), true);
        assert!(!pace.still_good(waiting), "a slot inside the pause must be taken again");
        assert_eq!(pace.spacing(), base * 2);
        // Answers to requests already in flight do not slow down twice.
        pace.throttled(ms(20), Duration::from_secs(10), true);
        assert_eq!(pace.spacing(), base * 2);
        let after = pace.reserve(ms(30));
        assert_eq!(after.at, ms(10_010));
        assert!(pace.still_good(after));
        // Calm steps bring the pace back, but not quite to the pace that drew the throttle.
        pace.reserve(ms(10_010) + CALM_STEP);
        assert!(pace.spacing() < base * 2 && pace.spacing() > base);
        pace.reserve(Duration::from_secs(300));
        assert_eq!(pace.spacing(), base.mul_f64(BELOW_THROTTLED));
        // Ten calm minutes later the full pace is back.
        pace.reserve(ms(10_010) + FORGET_AFTER);
        assert_eq!(pace.spacing(), base);
    }

    /// A server whose limit is 10/s against a pace of 25/s: a few throttles, then none. The
    /// fake server here throttles whenever its last 10 s hold 100 arrivals.
    #[test]
    fn a_lower_server_limit_is_met_after_a_few_throttles() {
        let mut pace = Pace::per_second(25.0);
        let mut arrivals: std::collections::VecDeque<Duration> = Default::default();
        let mut throttles = Vec::new();
        let mut now = Duration::ZERO;
        while now < Duration::from_secs(570) {
            let slot = pace.reserve(now);
            now = slot.at;
            if !pace.still_good(slot) {
                continue;
            }
            while arrivals.front().is_some_and(|t| *t + BUNGIE_WINDOW <= now) {
                arrivals.pop_front();
            }
            arrivals.push_back(now);
            if arrivals.len() > 100 {
                throttles.push(now);
                pace.throttled(now, Duration::from_secs(10), true);
            }
        }
        assert!(!throttles.is_empty() && throttles.len() <= 5, "throttled at {throttles:?}");
        let last = *throttles.last().unwrap();
        assert!(last < Duration::from_secs(240), "still throttled late: {throttles:?}");
    }

    #[test]
    fn a_pause_without_slow_down_keeps_the_pace() {
        let mut pace = Pace::per_second(25.0);
        let base = pace.spacing();
        pace.throttled(Duration::ZERO, Duration::from_secs(1), false);
        assert_eq!(pace.spacing(), base);
        assert_eq!(pace.reserve(Duration::ZERO).at, Duration::from_secs(1));
    }

    #[test]
    fn repeated_throttling_never_stops_requests() {
        let mut pace = Pace::per_second(25.0);
        for i in 0..50 {
            pace.throttled(Duration::from_secs(i * 11), Duration::from_secs(10), true);
        }
        assert_eq!(pace.spacing(), MAX_SPACING);
    }

    proptest! {
        /// No window of W holds more than R requests, for any number of threads, any latencies
        /// and any throttle answers: a discrete-event run of `threads` workers, each sending its
        /// next request when the previous answer arrives, taking a new slot whenever its slot
        /// went stale.
        #[test]
        fn no_window_holds_more_than_the_limit(
            rate in 0.05f64..60.0,
            threads in 1usize..64,
            latencies in prop::collection::vec(0u64..400, 1..64),
            throttles in prop::collection::vec((0u64..30_000, 0u64..12_000, any::<bool>()), 0..8),
            requests in 1usize..1500,
        ) {
            let mut pace = Pace::per_second(rate);
            let mut ready: Vec<Duration> = vec![Duration::ZERO; threads];
            let mut throttles: Vec<(Duration, Duration, bool)> =
                throttles.into_iter().map(|(at, wait, slow)| (ms(at), ms(wait), slow)).collect();
            throttles.sort();
            let mut next_throttle = 0;
            let mut sent: Vec<Duration> = Vec::new();
            while sent.len() < requests {
                let (worker, now) = ready.iter().copied().enumerate().min_by_key(|(_, t)| *t).unwrap();
                while next_throttle < throttles.len() && throttles[next_throttle].0 <= now {
                    let (at, wait, slow) = throttles[next_throttle];
                    pace.throttled(at, wait, slow);
                    next_throttle += 1;
                }
                let slot = pace.reserve(now);
                // The worker sleeps until its slot; a throttle meanwhile may make it stale.
                while next_throttle < throttles.len() && throttles[next_throttle].0 <= slot.at {
                    let (at, wait, slow) = throttles[next_throttle];
                    pace.throttled(at, wait, slow);
                    next_throttle += 1;
                }
                if !pace.still_good(slot) {
                    ready[worker] = slot.at;
                    continue;
                }
                sent.push(slot.at);
                ready[worker] = slot.at + ms(latencies[sent.len() % latencies.len()]);
            }
            sent.sort();
            let max_in_window = (BUNGIE_WINDOW.as_secs_f64() * rate).floor() as usize;
            prop_assert!(busiest_window(&sent, BUNGIE_WINDOW) <= max_in_window.max(1));
        }
    }
}
