//! When to try a failed request again, and how long to wait first.
//!
//! Pure: the caller passes the attempt number and a random unit value (time and randomness are
//! inputs), and gets back whether to retry and the pause.
//!
//! The rules ([`decide`]), by what [`crate::core::bungie::envelope`] made of the answer:
//! - A passing failure ([`ApiError::is_transient`]: no connection, a timeout, an HTTP 5xx or 429
//!   without an envelope, an HTML, truncated or invalid body, a throttle, ErrorCode 1618) is
//!   tried again, [`MAX_TRIES`] tries in all. The first try that succeeds wins; past the last,
//!   the request gives up and what it was for stays queued for a later round.
//! - Before trying again it waits what the server asked for: `ThrottleSeconds` or `Retry-After`
//!   ([`server_wait`]). A throttle or an HTTP 429 that names no wait waits Bungie's usual
//!   [`DEFAULT_THROTTLE_WAIT`]. Any other passing failure waits a capped exponential backoff
//!   with jitter ([`backoff`]), so that threads failing together do not come back together.
//! - Maintenance (ErrorCode 5), a bad or missing key (2101, 2102), a redirect (not followed)
//!   and a server wait above [`MAX_SERVER_WAIT_SECS`](crate::core::bungie::envelope::MAX_SERVER_WAIT_SECS) (an outage, not a throttle) stop the
//!   round: no other request can succeed now, and retrying would only add load. A wait is
//!   never longer than that cap, whatever number the server sends. After maintenance the daemon
//!   tries again next round; a bad key ends it ([`crate::core::daemon`]).
//! - A private activity feed (1665) skips the player, naming the setting that hides it.
//! - Anything else (1653 for a report Bungie does not have, another ErrorCode, another HTTP
//!   4xx) is not tried again now: the activity stays queued for the next round.
//!
//! A throttle also concerns every other request: [`pause_for_everyone`] tells the shared pace
//! ([`crate::core::limiter`]) to hold every request for the wait, and, when the pace itself was
//! too fast (a throttle or HTTP 429, not a 503 asking to come back later), to slow down.

use std::time::Duration;

use crate::core::bungie::envelope::ApiError;

/// Tries per request, the first included.
pub const MAX_TRIES: u32 = 4;
/// The first backoff pause; each further one doubles.
pub const BACKOFF_BASE: Duration = Duration::from_millis(500);
/// No backoff pause is longer than this.
pub const BACKOFF_CAP: Duration = Duration::from_secs(30);
/// Bungie's usual throttle pause, when it names none.
pub const DEFAULT_THROTTLE_WAIT: Duration = Duration::from_secs(10);

/// What follows a failed try of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// The server named its wait (`ThrottleSeconds`, `Retry-After`): wait that long, try again.
    RetryAfter(Duration),
    /// A passing failure: wait a backoff pause, try again.
    Backoff(Duration),
    /// Stop trying this request; what it was for stays queued for a later run.
    GiveUp,
    /// Stop the round: nothing else can work now (maintenance, a bad key).
    StopRound,
    /// Skip this player: their activity is private.
    SkipPlayer,
}

impl Next {
    /// The pause before trying again, if trying again is what follows.
    pub fn pause(self) -> Option<Duration> {
        match self {
            Next::RetryAfter(pause) | Next::Backoff(pause) => Some(pause),
            Next::GiveUp | Next::StopRound | Next::SkipPlayer => None,
        }
    }
}

/// Capped exponential backoff with full jitter: a pause drawn from
/// `[base·2ⁿ / 2, base·2ⁿ]`, never above [`BACKOFF_CAP`]. `unit` is a random value in [0, 1).
pub fn backoff(attempt: u32, unit: f64) -> Duration {
    let ceiling = BACKOFF_BASE.saturating_mul(1u32 << attempt.min(16)).min(BACKOFF_CAP);
    let unit = if unit.is_finite() { unit.clamp(0.0, 1.0) } else { 0.0 };
    ceiling.mul_f64(0.5 + unit / 2.0)
}

/// Decides what follows failed try number `attempt` (0-based) of a request.
pub fn decide(error: &ApiError, attempt: u32, unit: f64) -> Next {
    if error.stops_round() {
        return Next::StopRound;
    }
    if *error == ApiError::Privacy {
        return Next::SkipPlayer;
    }
    if !error.is_transient() || attempt + 1 >= MAX_TRIES {
        return Next::GiveUp;
    }
    match server_wait(error) {
        Some(wait) => Next::RetryAfter(wait),
        None => Next::Backoff(backoff(attempt, unit)),
    }
}

/// The wait the server asked for, if it asked: `ThrottleSeconds` or `Retry-After`, or Bungie's
/// usual 10 s for a throttle code or an HTTP 429 that names none. A wait above
/// [`MAX_SERVER_WAIT_SECS`](crate::core::bungie::envelope::MAX_SERVER_WAIT_SECS) is no wait: it ends the round instead.
pub fn server_wait(error: &ApiError) -> Option<Duration> {
    if error.asks_too_long_a_wait() {
        return None;
    }
    match (error, error.requested_wait()) {
        (_, Some(seconds)) if seconds > 0 => Some(Duration::from_secs(seconds)),
        (ApiError::Throttled { .. } | ApiError::Http { status: 429, .. }, _) => Some(DEFAULT_THROTTLE_WAIT),
        _ => None,
    }
}

/// How an answer bears on the shared pace: `Some((wait, slow_down))` when every request should
/// pause for `wait` — Bungie throttled us or the server asked all clients to hold off — and
/// `slow_down` when the pace itself was too fast (a throttle code or HTTP 429).
pub fn pause_for_everyone(error: &ApiError) -> Option<(Duration, bool)> {
    let slow_down = match error {
        ApiError::Throttled { .. } | ApiError::Http { status: 429, .. } => true,
        ApiError::Http { .. } => false,
        _ => return None,
    };
    server_wait(error).map(|wait| (wait, slow_down))
}

/// A small deterministic generator of unit values for jitter (SplitMix64).
#[derive(Debug, Clone)]
pub struct Jitter(u64);

impl Jitter {
    pub fn new(seed: u64) -> Jitter {
        Jitter(seed)
    }

    pub fn next_unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::bungie::envelope::MAX_SERVER_WAIT_SECS;
    use proptest::prelude::*;

    #[test]
    fn decisions() {
        let throttled = ApiError::Throttled { seconds: 10, code: 51 };
        let throttled_unnamed = ApiError::Throttled { seconds: 0, code: 36 };
        let busy = ApiError::Http { status: 503, retry_after: Some(7) };
        let down = ApiError::Http { status: 500, retry_after: None };
        let ten = Duration::from_secs(10);
        let cases: Vec<(&str, ApiError, u32, Next)> = vec![
            ("throttle names its wait", throttled.clone(), 0, Next::RetryAfter(ten)),
            ("throttle code without a wait", throttled_unnamed.clone(), 0, Next::RetryAfter(DEFAULT_THROTTLE_WAIT)),
            ("503 Retry-After", busy.clone(), 1, Next::RetryAfter(Duration::from_secs(7))),
            ("429 without Retry-After", ApiError::Http { status: 429, retry_after: None }, 0, Next::RetryAfter(ten)),
            ("HTML 500", down.clone(), 0, Next::Backoff(BACKOFF_BASE / 2)),
            ("HTML 504", ApiError::Http { status: 504, retry_after: None }, 2, Next::Backoff(BACKOFF_BASE * 2)),
            ("connection reset", ApiError::Network("reset".into()), 0, Next::Backoff(BACKOFF_BASE / 2)),
            ("truncated JSON", ApiError::BadBody("cut".into()), 1, Next::Backoff(BACKOFF_BASE)),
            (
                "1618",
                ApiError::Bungie { code: 1618, status: String::new(), message: String::new() },
                0,
                Next::Backoff(BACKOFF_BASE / 2),
            ),
            ("out of tries", down.clone(), MAX_TRIES - 1, Next::GiveUp),
            ("throttled out of tries", throttled.clone(), MAX_TRIES - 1, Next::GiveUp),
            ("1653 stays queued", ApiError::PgcrNotFound, 0, Next::GiveUp),
            ("HTTP 404", ApiError::Http { status: 404, retry_after: None }, 0, Next::GiveUp),
            (
                "other Bungie error",
                ApiError::Bungie { code: 7, status: String::new(), message: String::new() },
                0,
                Next::GiveUp,
            ),
            ("maintenance", ApiError::Maintenance(String::new()), 0, Next::StopRound),
            ("bad key", ApiError::BadKey(String::new()), 0, Next::StopRound),
            ("privacy", ApiError::Privacy, 0, Next::SkipPlayer),
            ("redirect", ApiError::Redirected { status: 302, to: "elsewhere".into() }, 0, Next::StopRound),
            ("a day's Retry-After", ApiError::Http { status: 503, retry_after: Some(86_400) }, 0, Next::StopRound),
            (
                "the longest Retry-After",
                ApiError::Http { status: 503, retry_after: Some(u64::MAX) },
                0,
                Next::StopRound,
            ),
            ("ThrottleSeconds 1e300", ApiError::Throttled { seconds: u64::MAX, code: 51 }, 0, Next::StopRound),
            (
                "a wait at the cap is waited",
                ApiError::Throttled { seconds: MAX_SERVER_WAIT_SECS, code: 51 },
                0,
                Next::RetryAfter(Duration::from_secs(MAX_SERVER_WAIT_SECS)),
            ),
            (
                "just above the cap",
                ApiError::Throttled { seconds: MAX_SERVER_WAIT_SECS + 1, code: 51 },
                0,
                Next::StopRound,
            ),
        ];
        for (what, error, attempt, expected) in cases {
            assert_eq!(decide(&error, attempt, 0.0), expected, "{what}");
        }
    }

    #[test]
    fn who_pauses_and_who_slows_down() {
        let ten = Duration::from_secs(10);
        assert_eq!(pause_for_everyone(&ApiError::Throttled { seconds: 10, code: 51 }), Some((ten, true)));
        assert_eq!(pause_for_everyone(&ApiError::Throttled { seconds: 0, code: 36 }), Some((ten, true)));
        assert_eq!(
            pause_for_everyone(&ApiError::Http { status: 429, retry_after: Some(3) }),
            Some((Duration::from_secs(3), true))
        );
        assert_eq!(pause_for_everyone(&ApiError::Http { status: 429, retry_after: None }), Some((ten, true)));
        assert_eq!(
            pause_for_everyone(&ApiError::Http { status: 503, retry_after: Some(2) }),
            Some((Duration::from_secs(2), false))
        );
        assert_eq!(pause_for_everyone(&ApiError::Http { status: 500, retry_after: None }), None);
        assert_eq!(pause_for_everyone(&ApiError::BadBody(String::new())), None);
        assert_eq!(pause_for_everyone(&ApiError::PgcrNotFound), None);
        assert_eq!(pause_for_everyone(&ApiError::Http { status: 503, retry_after: Some(86_400) }), None);
        assert_eq!(pause_for_everyone(&ApiError::Throttled { seconds: u64::MAX, code: 51 }), None);
    }

    proptest! {
        /// Backoff stays within its bounds: at least half the uncapped ceiling (or half the cap),
        /// never above the cap, and never shrinking as attempts grow (for the same jitter).
        #[test]
        fn backoff_stays_within_bounds(attempt in 0u32..64, unit in 0.0f64..1.0) {
            let pause = backoff(attempt, unit);
            prop_assert!(pause <= BACKOFF_CAP);
            prop_assert!(pause >= BACKOFF_BASE / 2);
            prop_assert!(backoff(attempt + 1, unit) >= pause);
        }

        /// Whatever the server names, nothing waits longer than the cap.
        #[test]
        fn no_server_wait_exceeds_the_cap(seconds in any::<u64>(), status in 100u16..600, attempt in 0u32..8) {
            let cap = Duration::from_secs(MAX_SERVER_WAIT_SECS);
            for error in [ApiError::Throttled { seconds, code: 51 }, ApiError::Http { status, retry_after: Some(seconds) }] {
                prop_assert!(server_wait(&error).is_none_or(|w| w <= cap));
                prop_assert!(decide(&error, attempt, 0.5).pause().is_none_or(|w| w <= cap.max(BACKOFF_CAP)));
                prop_assert!(pause_for_everyone(&error).is_none_or(|(w, _)| w <= cap));
            }
        }

        /// Jitter values are unit values, spread over the whole unit interval.
        #[test]
        fn jitter_spreads_evenly(seed in any::<u64>()) {
            let mut j = Jitter::new(seed);
            let draws: Vec<f64> = (0..1000).map(|_| j.next_unit()).collect();
            let mean = draws.iter().sum::<f64>() / draws.len() as f64;
            prop_assert!((0.45..0.55).contains(&mean), "mean {}", mean);
            prop_assert!(draws.iter().any(|u| *u < 0.1) && draws.iter().any(|u| *u > 0.9));
        }

        /// Jitter values are unit values.
        #[test]
        fn jitter_is_a_unit_value(seed in any::<u64>()) {
            let mut j = Jitter::new(seed);
            for _ in 0..10 {
                let u = j.next_unit();
                prop_assert!((0.0..1.0).contains(&u));
            }
        }
    }
}
