//! Counting requests for the metrics file, and writing it.
//!
//! [`Tally`] counts every request sent, by endpoint and outcome, in one atomic counter per pair,
//! so the request threads never wait on each other to count. It lives as long as the process:
//! the metrics are counted from its start. [`MetricsFile`] keeps the round figures (the main
//! thread alone touches them), and after each round renders them ([`crate::core::metrics`]) and
//! writes the file atomically: a temporary file in the same folder, then a rename over the
//! target, so a collector reads the old file or the new one, never half of one.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::core::bungie::envelope::ApiError;
use crate::core::daemon::Outcome;
use crate::core::metrics::{render, Endpoint, Metrics, RequestOutcome};

const OUTCOMES: usize = RequestOutcome::ALL.len();

/// Requests by endpoint and outcome, and the pace at the end of the last round.
#[derive(Debug)]
pub struct Tally {
    requests: [AtomicU64; Endpoint::ALL.len() * OUTCOMES],
    /// The pace's `f64` bits; `u64::MAX`: no limit.
    pace: AtomicU64,
}

impl Default for Tally {
    fn default() -> Self {
        Tally { requests: std::array::from_fn(|_| AtomicU64::new(0)), pace: AtomicU64::new(u64::MAX) }
    }
}

fn index(endpoint: Endpoint, outcome: RequestOutcome) -> usize {
    let e = Endpoint::ALL.iter().position(|x| *x == endpoint).unwrap_or(0);
    let o = RequestOutcome::ALL.iter().position(|x| *x == outcome).unwrap_or(0);
    e * OUTCOMES + o
}

impl Tally {
    /// Counts a request sent to `endpoint` and answered with `error` (`None`: success).
    pub fn count(&self, endpoint: Endpoint, error: Option<&ApiError>) {
        self.requests[index(endpoint, RequestOutcome::of(error))].fetch_add(1, Ordering::Relaxed);
    }

    /// Every pair counted so far.
    pub fn requests(&self) -> Vec<(Endpoint, RequestOutcome, u64)> {
        let mut out = Vec::new();
        for endpoint in Endpoint::ALL {
            for outcome in RequestOutcome::ALL {
                let n = self.requests[index(endpoint, outcome)].load(Ordering::Relaxed);
                if n > 0 {
                    out.push((endpoint, outcome, n));
                }
            }
        }
        out
    }

    /// Records the pace in force (`None`: no limit).
    pub fn set_pace(&self, per_second: Option<f64>) {
        self.pace.store(per_second.map_or(u64::MAX, f64::to_bits), Ordering::Relaxed);
    }

    pub fn pace(&self) -> Option<f64> {
        Some(self.pace.load(Ordering::Relaxed)).filter(|b| *b != u64::MAX).map(f64::from_bits)
    }
}

/// The metrics file of a run, and the round figures it shows.
#[derive(Debug)]
pub struct MetricsFile {
    path: PathBuf,
    metrics: Metrics,
}

impl MetricsFile {
    pub fn new(path: PathBuf) -> MetricsFile {
        MetricsFile { path, metrics: Metrics::default() }
    }

    /// Counts the round that just ended and rewrites the file; says why on failure.
    pub fn round_ended(
        &mut self,
        outcome: &Outcome,
        elapsed: Duration,
        now_unix: i64,
        tally: &Tally,
    ) -> Result<(), String> {
        self.metrics.round_ended(outcome, elapsed, now_unix);
        self.metrics.requests = tally.requests();
        self.metrics.pace_per_second = tally.pace();
        write_atomically(&self.path, render(&self.metrics).as_bytes()).map_err(|e| {
            format!(
                "cannot write the metrics file {}: {e}; check that its folder exists and is writable",
                self.path.display()
            )
        })
    }
}

/// Writes `bytes` to a temporary file beside `path`, then renames it over `path`.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path.file_name().map_or_else(|| "metrics".into(), |n| n.to_string_lossy().into_owned());
    // A leading dot and a suffix other than .prom: the textfile collector skips it.
    let temp = folder.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = std::fs::File::create(&temp).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    let renamed = written.and_then(|()| std::fs::rename(&temp, path));
    if renamed.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    renamed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_requests_by_endpoint_and_outcome() {
        let tally = Tally::default();
        tally.count(Endpoint::Pgcr, None);
        tally.count(Endpoint::Pgcr, None);
        tally.count(Endpoint::Pgcr, Some(&ApiError::Throttled { seconds: 1, code: 51 }));
        tally.count(Endpoint::Search, None);
        assert_eq!(
            tally.requests(),
            vec![
                (Endpoint::Search, RequestOutcome::Ok, 1),
                (Endpoint::Pgcr, RequestOutcome::Ok, 2),
                (Endpoint::Pgcr, RequestOutcome::Throttled, 1)
            ]
        );
        assert_eq!(tally.pace(), None);
        tally.set_pace(Some(24.5));
        assert_eq!(tally.pace(), Some(24.5));
    }

    #[test]
    fn the_file_is_replaced_whole_and_no_temporary_file_stays() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dclisync.prom");
        write_atomically(&path, b"old\n").unwrap();
        write_atomically(&path, b"new\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("dclisync.prom")]);
        let missing = dir.path().join("no/such/dir/x.prom");
        assert!(write_atomically(&missing, b"x").is_err());
    }
}
