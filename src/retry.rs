//! When to try a failed request again, and how long to wait first.
//!
//! Pure: the caller passes the attempt number and a random unit value (time and randomness are
//! inputs), and gets back whether to retry and the pause.

use std::time::Duration;

use crate::bungie::envelope::ApiError;

/// Tries per request, the first included.
pub const MAX_TRIES: u32 = 4;
/// The first backoff pause; each further one doubles.
pub const BACKOFF_BASE: Duration = Duration::from_millis(500);
/// No backoff pause is longer than this.
pub const BACKOFF_CAP: Duration = Duration::from_secs(30);
/// Bungie's usual throttle pause, when it names none.
pub const DEFAULT_THROTTLE_WAIT: Duration = Duration::from_secs(10);

/// What to do after a failed try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Wait this long, then try again.
    After(Duration),
    /// Stop trying this request.
    GiveUp,
}

/// Capped exponential backoff with full jitter: a pause drawn from
/// `[base·2ⁿ / 2, base·2ⁿ]`, never above [`BACKOFF_CAP`]. `unit` is a random value in [0, 1).
pub fn backoff(attempt: u32, unit: f64) -> Duration {
    let ceiling = BACKOFF_BASE.saturating_mul(1u32 << attempt.min(16)).min(BACKOFF_CAP);
    let unit = if unit.is_finite() { unit.clamp(0.0, 1.0) } else { 0.0 };
    ceiling.mul_f64(0.5 + unit / 2.0)
}

/// Decides what follows failed try number `attempt` (0-based) of a request.
pub fn decide(error: &ApiError, attempt: u32, unit: f64) -> Retry {
    if !error.is_transient() || attempt + 1 >= MAX_TRIES {
        return Retry::GiveUp;
    }
    match error.requested_wait() {
        Some(seconds) if seconds > 0 => Retry::After(Duration::from_secs(seconds)),
        _ if matches!(error, ApiError::Throttled { .. }) => Retry::After(DEFAULT_THROTTLE_WAIT),
        _ => Retry::After(backoff(attempt, unit)),
    }
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
    use proptest::prelude::*;

    #[test]
    fn decisions() {
        let throttled = ApiError::Throttled { seconds: 10, code: 51 };
        let throttled_unnamed = ApiError::Throttled { seconds: 0, code: 36 };
        let busy = ApiError::Http { status: 503, retry_after: Some(7) };
        let down = ApiError::Http { status: 500, retry_after: None };
        assert_eq!(decide(&throttled, 0, 0.5), Retry::After(Duration::from_secs(10)));
        assert_eq!(decide(&throttled_unnamed, 0, 0.5), Retry::After(DEFAULT_THROTTLE_WAIT));
        assert_eq!(decide(&busy, 1, 0.5), Retry::After(Duration::from_secs(7)));
        assert_eq!(decide(&down, 0, 0.0), Retry::After(BACKOFF_BASE / 2));
        assert_eq!(decide(&down, MAX_TRIES - 1, 0.5), Retry::GiveUp);
        assert_eq!(decide(&ApiError::BadKey(String::new()), 0, 0.5), Retry::GiveUp);
        assert_eq!(decide(&ApiError::PgcrNotFound, 0, 0.5), Retry::GiveUp);
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
