//! The archive copy of a match report: the `Response` JSON exactly as Bungie sent it, compressed,
//! so the rows can be derived again later (with newer fix-up rules or value rules) without asking
//! Bungie, and nothing Bungie sends is lost, even where dcli has no column.
//!
//! A copy is a one-byte format tag followed by the data: [`FORMAT_DEFLATE`] is raw DEFLATE
//! (RFC 1951) of the UTF-8 text, at [`LEVEL`]. The tag lets a later release change the
//! compression without rewriting old copies. Packing and unpacking are pure: bytes in, bytes out.

use std::fmt;
use std::io::{Read, Write};

use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use flate2::Compression;

/// The format tag of raw DEFLATE.
pub const FORMAT_DEFLATE: u8 = 1;
/// DEFLATE's best compression: reports are written once and read rarely, and packing one
/// takes about a millisecond, far below the 40 ms a request takes at Bungie's pace.
pub const LEVEL: u32 = 9;

/// A report's archive copy as stored: the packed `Response`, and the digest of the rows derived
/// from it ([`crate::core::refresh::digest`]; `None`: not known).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Archived {
    pub copy: Vec<u8>,
    pub digest: Option<String>,
}

/// An archive copy that cannot be read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveError(pub String);

impl fmt::Display for ArchiveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What `--archive-missing` says before it starts: how many copies it will fetch, and how long
/// that takes at `max_rps` requests per second (`None`: no limit, no estimate).
pub fn missing_line(count: usize, max_rps: Option<f64>) -> String {
    match max_rps.filter(|r| *r > 0.0) {
        _ if count == 0 => "every stored report has its archive copy; nothing to fetch".to_string(),
        Some(rps) => {
            let secs = (count as f64 / rps).ceil() as u64;
            let took = match secs {
                0..=59 => format!("{secs} s"),
                60..=3599 => format!("{} min {} s", secs / 60, secs % 60),
                _ => format!("{} h {} min", secs / 3600, secs % 3600 / 60),
            };
            format!("{count} stored reports have no archive copy; fetching them takes about {took} at {rps} requests/s")
        }
        None => format!("{count} stored reports have no archive copy; fetching them with no rate limit"),
    }
}

/// Packs a report's `Response` text.
pub fn pack(response: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(response.len() / 6 + 16);
    out.push(FORMAT_DEFLATE);
    let mut encoder = DeflateEncoder::new(out, Compression::new(LEVEL));
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(response.as_bytes());
    encoder.finish().unwrap_or_default()
}

/// Unpacks a copy made by [`pack`] back into the `Response` text.
pub fn unpack(copy: &[u8]) -> Result<String, ArchiveError> {
    match copy.split_first() {
        Some((&FORMAT_DEFLATE, data)) => {
            let mut text = String::with_capacity(data.len() * 6);
            DeflateDecoder::new(data)
                .read_to_string(&mut text)
                .map_err(|e| ArchiveError(format!("the archive copy is damaged ({e})")))?;
            Ok(text)
        }
        Some((tag, _)) => Err(ArchiveError(format!(
            "the archive copy has format {tag}, which this dclisync does not know: upgrade dclisync"
        ))),
        None => Err(ArchiveError("the archive copy is empty".to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_real_report_round_trips_and_shrinks() {
        let whole = crate::testdata::json("pgcr/control_6v6.json");
        let text = serde_json::to_string(&whole["Response"]).expect("json");
        let copy = pack(&text);
        assert_eq!(unpack(&copy).as_deref(), Ok(text.as_str()));
        assert!(copy.len() * 4 < text.len(), "{} bytes packed from {}", copy.len(), text.len());
    }

    #[test]
    fn unreadable_copies_say_why() {
        let cases: [(&str, &[u8], &str); 3] = [
            ("empty", &[], "empty"),
            ("unknown format", &[9, 1, 2], "format 9"),
            ("damaged", &[FORMAT_DEFLATE, 0xff, 0xff, 0xff], "damaged"),
        ];
        for (name, copy, needle) in cases {
            let err = unpack(copy).expect_err(name);
            assert!(err.0.contains(needle), "{name}: {err}");
        }
    }

    #[test]
    fn missing_lines_estimate_the_time() {
        let cases = [
            (0, Some(25.0), "every stored report has its archive copy; nothing to fetch"),
            (50, Some(25.0), "50 stored reports have no archive copy; fetching them takes about 2 s at 25 requests/s"),
            (
                5_000,
                Some(25.0),
                "5000 stored reports have no archive copy; fetching them takes about 3 min 20 s at 25 requests/s",
            ),
            (
                500_000,
                Some(25.0),
                "500000 stored reports have no archive copy; fetching them takes about 5 h 33 min at 25 requests/s",
            ),
            (7, None, "7 stored reports have no archive copy; fetching them with no rate limit"),
        ];
        for (count, rps, line) in cases {
            assert_eq!(missing_line(count, rps), line);
        }
    }

    proptest! {
        /// Packing loses nothing: any text comes back exactly.
        #[test]
        fn pack_round_trips(text in ".{0,400}") {
            prop_assert_eq!(unpack(&pack(&text)), Ok(text));
        }
    }
}
