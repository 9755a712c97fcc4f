//! The wall clock, read in one place: the shell passes its readings to the core, which never
//! reads a clock itself.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::core::time::format_utc;

/// Now, in Unix seconds (0 on a clock set before 1970).
pub fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// Now as RFC 3339 text in UTC (`2024-05-01T12:00:00+00:00`): what the store keeps and what
/// daemon lines start with.
pub fn now_text() -> String {
    format_utc(unix_now())
}

/// A seed for the retry jitter that differs from run to run.
pub fn seed() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}
