//! The request pace: at most R requests in any window of W seconds, spread evenly, and fewer
//! once Bungie says "too many".
//!
//! Bungie allows a client IP about 25 requests per second, averaged over a rolling 10 seconds
//! ([`BUNGIE_WINDOW`]), and answers anything beyond with throttle errors that cost a pause of
//! about 10 s. dclisync stays under the limit by itself instead of finding it by being
//! throttled: one pace is shared by every thread and endpoint of a run, at `--max-rps` (default
//! [`crate::core::cli::DEFAULT_MAX_RPS`]) less [`HEADROOM`], so 240 requests per 10 s by default;
//! `--max-rps 0` lifts it (for mirrors and tests). Beside the pace, the gate bounds the requests
//! in flight (`--concurrency`, default [`crate::core::cli::DEFAULT_CONCURRENCY`]): a fixed pool
//! of workers downloads the reports, never a thread per activity.
//!
//! Pure: time is a [`Duration`] since an origin the caller chooses, so tests drive a virtual
//! clock. The shell ([`crate::shell::bungie::gate`]) holds one [`Pace`] for every thread and
//! endpoint, and makes each request wait for its slot.
//!
//! Requests are spaced at least W/R apart. If consecutive requests are never closer than W/R,
//! a window of length W holds at most R of them, so the window limit follows from the spacing.
//!
//! A throttle answer is a measurement. Bungie counts a client's requests over a rolling window;
//! if it refused a request, the window ending at that request held more than its limit allows.
//! So the pace counts the requests it let go in the window ending at the refused one (n):
//! - n near the pace's own limit: the server takes a little less; allow n − 2 from now on.
//! - n well below it (the run is starting, or walking histories one page at a time): one such
//!   answer may be chance, and everyone just pauses. A second one within a minute at a similar n
//!   is a pattern: the server's limit is about n, so allow n − 2.
//!
//! Everyone also pauses for the wait the server named. A server whose limit is lower than
//! configured is met after two throttles; one that throttles at random costs a pause and under
//! 1 % of pace each time. The lower limit holds for the rest of the run (each daemon round
//! starts afresh).

use std::collections::VecDeque;
use std::time::Duration;

/// Bungie's averaging window.
pub const BUNGIE_WINDOW: Duration = Duration::from_secs(10);
/// Share of a limit actually used: headroom so that requests reaching the server late (thread
/// scheduling, connection set-up, the network's own jitter) never crowd one of its windows. At
/// 4 % a window may take 10 requests (0.4 s of the pace) arriving bunched before it overflows;
/// 2 % was measured too thin on a loaded machine (251 arrivals in a window, and one throttle
/// that cost everyone a 10 s pause, far more than the 2 % of pace it saved).
pub const HEADROOM: f64 = 0.96;
/// How long an unexplained throttle is remembered, waiting for a second one like it.
pub const LONE_THROTTLE_MEMORY: Duration = Duration::from_secs(60);

/// A slot to send in: when, and in which throttle epoch it was handed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub at: Duration,
    epoch: u64,
}

/// The shared pace of requests.
#[derive(Debug, Clone)]
pub struct Pace {
    /// Requests allowed per window, headroom taken off.
    per_window: usize,
    /// W / `per_window`.
    spacing: Duration,
    /// The slots handed out within the last window (and a little more), oldest first.
    recent: VecDeque<Duration>,
    /// The earliest time the next slot may start.
    next: Duration,
    /// Nobody sends before this (the last throttle answer's wait).
    paused_until: Duration,
    /// Counts throttle answers that paused everyone; slots of an older epoch are stale.
    epoch: u64,
    /// An unexplained throttle: what its window held, and when.
    suspect: Option<(usize, Duration)>,
}

impl Pace {
    /// A pace of `rate` requests per second averaged over [`BUNGIE_WINDOW`]: at most
    /// ⌊rate × W⌋ requests in any window of W (at least one).
    pub fn per_second(rate: f64) -> Pace {
        let window = BUNGIE_WINDOW.as_secs_f64();
        let most = if rate.is_finite() && rate > 0.0 { (rate * window).floor().max(1.0) } else { 1.0 };
        let mut pace = Pace {
            per_window: 1,
            spacing: BUNGIE_WINDOW,
            recent: VecDeque::new(),
            next: Duration::ZERO,
            paused_until: Duration::ZERO,
            epoch: 0,
            suspect: None,
        };
        pace.allow((most * HEADROOM).floor() as usize);
        pace
    }

    /// From now on at most `per_window` requests per window (at least one).
    fn allow(&mut self, per_window: usize) {
        self.per_window = per_window.clamp(1, u32::MAX as usize);
        self.spacing = BUNGIE_WINDOW / self.per_window as u32;
    }

    /// The spacing in force now.
    pub fn spacing(&self) -> Duration {
        self.spacing
    }

    /// Requests allowed per window now.
    pub fn per_window(&self) -> usize {
        self.per_window
    }

    /// Hands out the next slot at or after `now`. The caller waits until `slot.at`, then checks
    /// [`Pace::still_good`] before sending.
    pub fn reserve(&mut self, now: Duration) -> Slot {
        let at = now.max(self.next).max(self.paused_until);
        self.next = at + self.spacing;
        while self.recent.front().is_some_and(|t| *t + BUNGIE_WINDOW * 2 <= at) {
            self.recent.pop_front();
        }
        self.recent.push_back(at);
        Slot { at, epoch: self.epoch }
    }

    /// Whether a slot handed out earlier may still be used: not if a throttle answer came since.
    pub fn still_good(&self, slot: Slot) -> bool {
        slot.epoch == self.epoch || slot.at >= self.paused_until
    }

    /// The server answered "too many" at `now` to the request sent at `sent_at`, and asked for
    /// `wait`. Everyone pauses for `wait`. With `too_fast` (a throttle code or HTTP 429, not a
    /// plain 503), the window limit drops below what the window ending at `sent_at` held.
    /// Answers to requests sent before a pause began (already in flight) change nothing more.
    pub fn throttled(&mut self, now: Duration, sent_at: Duration, wait: Duration, too_fast: bool) {
        if now < self.paused_until {
            return;
        }
        self.paused_until = now + wait;
        self.next = self.next.max(self.paused_until);
        self.epoch += 1;
        if !too_fast {
            return;
        }
        let held = self.recent.iter().filter(|t| **t <= sent_at && **t + BUNGIE_WINDOW > sent_at).count();
        let pace = self.per_window;
        let near_limit = held * 10 >= pace * 9;
        let seen_before = self
            .suspect
            .is_some_and(|(count, at)| now < at + LONE_THROTTLE_MEMORY && held.abs_diff(count) <= count / 5 + 1);
        if near_limit || seen_before {
            self.suspect = None;
            self.allow(held.saturating_sub(2).clamp(pace / 4, pace));
        } else {
            self.suspect = Some((held, now));
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
    fn a_throttle_pauses_everyone_and_lowers_the_limit_to_what_the_server_took() {
        let mut pace = Pace::per_second(25.0);
        assert_eq!(pace.per_window(), 240);
        // 240 requests at full pace, the last one refused.
        let slots: Vec<Slot> = (0..240).map(|_| pace.reserve(Duration::ZERO)).collect();
        let refused = slots[239].at;
        let waiting = pace.reserve(Duration::ZERO);
        pace.throttled(refused + ms(100), refused, Duration::from_secs(10), true);
        assert!(!pace.still_good(waiting), "a slot inside the pause must be taken again");
        assert_eq!(pace.per_window(), 238, "the window held 240: the server takes fewer");
        // Answers to requests already in flight change nothing more.
        pace.throttled(refused + ms(200), refused, Duration::from_secs(10), true);
        assert_eq!(pace.per_window(), 238);
        let after = pace.reserve(refused);
        assert_eq!(after.at, refused + ms(10_100));
        assert!(pace.still_good(after));
    }

    #[test]
    fn a_throttle_far_below_the_limit_pauses_and_a_second_like_it_lowers_the_limit() {
        let mut pace = Pace::per_second(25.0);
        // Sends one page at a time, `gap` apart, and is throttled after the last of `n`.
        let mut now = Duration::ZERO;
        let mut run = |pace: &mut Pace, n: usize, gap: Duration| {
            now += Duration::from_secs(20);
            for _ in 0..n {
                now = pace.reserve(now).at + gap;
            }
            pace.throttled(now, now - gap, Duration::from_secs(1), true);
        };
        run(&mut pace, 40, ms(60));
        assert_eq!(pace.per_window(), 240, "40 in a window: chance, for now");
        run(&mut pace, 70, ms(100));
        assert_eq!(pace.per_window(), 240, "70 is not like 40: chance again");
        run(&mut pace, 72, ms(100));
        assert_eq!(pace.per_window(), 70, "72 after 70: the server's limit is about 70");
    }

    #[test]
    fn a_throttle_at_random_costs_under_one_percent() {
        let mut pace = Pace::per_second(25.0);
        let mut now = Duration::ZERO;
        for _ in 0..300 {
            now = pace.reserve(now).at;
        }
        pace.throttled(now, now, Duration::from_secs(1), true);
        assert!((238..240).contains(&pace.per_window()), "{}", pace.per_window());
    }

    /// A server whose limit is 10/s against a pace of 25/s: a few throttles, then none. The
    /// fake server here throttles whenever its last 10 s hold 100 arrivals.
    #[test]
    fn a_lower_server_limit_is_met_after_a_few_throttles() {
        let mut pace = Pace::per_second(25.0);
        let mut arrivals: VecDeque<Duration> = VecDeque::new();
        let mut throttles = Vec::new();
        let mut now = Duration::ZERO;
        while now < Duration::from_secs(600) {
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
                pace.throttled(now + ms(100), now, Duration::from_secs(10), true);
            }
        }
        assert!(!throttles.is_empty() && throttles.len() <= 2, "throttled at {throttles:?}");
        let last = *throttles.last().unwrap();
        assert!(last < Duration::from_secs(60), "still throttled late: {throttles:?}");
        assert!(pace.per_window() >= 90, "not slower than needed: {}", pace.per_window());
    }

    #[test]
    fn a_pause_without_slow_down_keeps_the_pace() {
        let mut pace = Pace::per_second(25.0);
        pace.throttled(Duration::ZERO, Duration::ZERO, Duration::from_secs(1), false);
        assert_eq!(pace.per_window(), 240);
        assert_eq!(pace.reserve(Duration::ZERO).at, Duration::from_secs(1));
    }

    #[test]
    fn repeated_throttling_never_stops_requests() {
        let mut pace = Pace::per_second(25.0);
        for i in 0..50 {
            let slot = pace.reserve(Duration::from_secs(i * 11));
            pace.throttled(slot.at, slot.at, Duration::from_secs(10), true);
        }
        assert!(pace.per_window() <= 3, "{}", pace.per_window());
        let slot = pace.reserve(Duration::from_secs(10_000));
        assert!(pace.still_good(slot));
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
                    pace.throttled(at, at.saturating_sub(ms(100)), wait, slow);
                    next_throttle += 1;
                }
                let slot = pace.reserve(now);
                // The worker sleeps until its slot; a throttle meanwhile may make it stale.
                while next_throttle < throttles.len() && throttles[next_throttle].0 <= slot.at {
                    let (at, wait, slow) = throttles[next_throttle];
                    pace.throttled(at, at.saturating_sub(ms(100)), wait, slow);
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
