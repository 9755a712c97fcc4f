//! The archive copy of a match report: the `Response` JSON exactly as Bungie sent it, compressed,
//! so the rows can be derived again later (with newer fix-up rules or value rules) without asking
//! Bungie, and nothing Bungie sends is lost, even where dcli has no column.
//!
//! A copy is a one-byte format tag followed by the data. The tag names both the compression and,
//! for zstd, the dictionary, so a later release can ship a better dictionary (a new tag) without
//! rewriting old copies; every format ever written stays readable:
//! - [`FORMAT_DEFLATE`] (1): raw DEFLATE (RFC 1951) of the UTF-8 text, at level 9. Written by
//!   the first archiving release; only read now.
//! - [`FORMAT_ZSTD_REPORTS_1`] (2): one zstd frame (its content size in the header) packed at
//!   [`ZSTD_LEVEL`] with the dictionary `dictionaries/reports_1.zdict`, embedded in the binary.
//!   Match reports are many small documents that repeat the same keys, stat names and shapes;
//!   a dictionary trained on such reports (`just train-dictionary`) holds those once, so each
//!   copy stores little more than its numbers, ids and names.
//!
//! New copies use the newest format. Packing and unpacking are pure: bytes in, bytes out.

use std::fmt;
use std::io::{Read, Write};
use std::sync::OnceLock;

use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use flate2::Compression;
use zstd::dict::DecoderDictionary;

/// The format tag of raw DEFLATE.
pub const FORMAT_DEFLATE: u8 = 1;
/// The format tag of zstd with the first reports dictionary.
pub const FORMAT_ZSTD_REPORTS_1: u8 = 2;
/// DEFLATE's level in format 1.
const DEFLATE_LEVEL: u32 = 9;
/// The zstd level of new copies, chosen by measuring the bench world (`just train-dictionary
/// --measure`): about DEFLATE 9's packing time for half its bytes. Level 19 saves another 10 %
/// but packs some 30 times slower, which a sync without Bungie's limit would feel.
pub const ZSTD_LEVEL: i32 = 12;
/// The dictionary of [`FORMAT_ZSTD_REPORTS_1`]: never changed once shipped (a new dictionary is
/// a new format tag), or the copies packed with it could not be read.
const REPORTS_1: &[u8] = include_bytes!("dictionaries/reports_1.zdict");
/// The largest report an archive copy may unpack to: far above any real report (tens of
/// kilobytes), far below what would hurt; a copy that claims more is damaged.
const MAX_UNPACKED_BYTES: usize = 32 * 1024 * 1024;

/// A report's archive copy as stored: the packed `Response`, the digest of the rows derived
/// from it ([`crate::core::refresh::digest`]) and their digests group by group
/// ([`crate::core::reparse::part_digests`]); `None`: not known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Archived {
    pub copy: Vec<u8>,
    pub digest: Option<String>,
    pub parts: Option<String>,
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

/// The prepared unpacking dictionary, made once per process: preparing it takes longer than
/// unpacking a report.
fn unpacker_dictionary() -> &'static DecoderDictionary<'static> {
    static DICTIONARY: OnceLock<DecoderDictionary<'static>> = OnceLock::new();
    DICTIONARY.get_or_init(|| DecoderDictionary::copy(REPORTS_1))
}

/// Packs report after report in the newest format with one zstd context, kept from one report
/// to the next: its tables (about 0.9 MB, sized for reports) are allocated once, not for every
/// report, which spares the time of setting them up and the memory a process loses to freeing
/// and allocating that much again on many threads.
pub struct Packer {
    zstd: Context,
}

/// The packer's zstd context, made at the first copy: a sync that downloads nothing never
/// makes it.
enum Context {
    NotYet,
    Made(zstd::bulk::Compressor<'static>),
    /// zstd could not allocate its context: copies are written in DEFLATE.
    Failed,
}

impl Packer {
    pub fn new() -> Packer {
        Packer { zstd: Context::NotYet }
    }

    /// Packs a report's `Response` text in the newest format.
    pub fn pack(&mut self, response: &str) -> Vec<u8> {
        if let Context::NotYet = self.zstd {
            self.zstd = match packing_context() {
                Ok(packer) => Context::Made(packer),
                Err(_) => Context::Failed,
            };
        }
        let Context::Made(packer) = &mut self.zstd else { return deflate(response.as_bytes()) };
        match packer.compress(response.as_bytes()) {
            Ok(frame) => {
                let mut out = Vec::with_capacity(frame.len() + 1);
                out.push(FORMAT_ZSTD_REPORTS_1);
                out.extend_from_slice(&frame);
                out
            }
            // zstd fails only when it cannot allocate its tables; DEFLATE then still keeps the
            // copy.
            Err(_) => deflate(response.as_bytes()),
        }
    }
}

/// A zstd context at [`ZSTD_LEVEL`] with the dictionary loaded, its tables sized for reports
/// and its match search tuned for them.
///
/// zstd sizes a level's tables for any input; a report (tens of kilobytes) after the dictionary
/// (110 KB) needs far less. A window of 256 KB covers both, and a 64 K-entry hash table holds
/// the matches that count, so the context takes about 0.9 MB instead of the 3.4 MB of the
/// level's own tables. These are packing parameters only: unpacking does not depend on them.
fn packing_context() -> std::io::Result<zstd::bulk::Compressor<'static>> {
    sized_for_reports(zstd::bulk::Compressor::with_dictionary(ZSTD_LEVEL, REPORTS_1)?)
}

/// Sets a packing context's parameters to the ones copies are packed with: table sizes
/// (base-2 logarithms: window bytes, hash table entries) and the match search.
///
/// A profile of a first sync showed the packing to be the largest share of dclisync's CPU time
/// (about a third). So the search is tuned for reports, measured on every fourth report of the
/// bench world (`cargo run --release --example pack_params` prints these figures):
/// - the level's own binary-tree search (`btlazy2`, `ZSTD_DUBT_*` in a profile) walked a tree
///   in the dictionary at every position: 376 µs and 1,378 bytes a copy, even with its tables
///   cut to 1.5 MB;
/// - the hash-row search of `lazy2`, 2^6 candidates deep, matches of 5 bytes or more, in a
///   64 K-entry hash table: 313 µs and 1,398 bytes. That is the bytes a copy took before the
///   search was first tuned (1,409 in the bench), in a sixth less time and 0.6 MB less memory;
/// - a shallower search (2^5) cost 3 % more bytes; matches of 6 bytes saved no time, and those
///   of 4 (the level's) cost 2 % more bytes: JSON's shortest repeats (`":`, `},{`) are cheaper
///   as literals;
/// - the dictionary's tables always referenced, never copied into the context: a report over
///   32 KB would otherwise copy them for every copy.
pub fn sized_for_reports(mut context: zstd::bulk::Compressor<'_>) -> std::io::Result<zstd::bulk::Compressor<'_>> {
    use zstd::zstd_safe::{CParameter, DictAttachPref, Strategy};
    context.set_parameter(CParameter::WindowLog(18))?;
    context.set_parameter(CParameter::HashLog(16))?;
    context.set_parameter(CParameter::ChainLog(16))?;
    context.set_parameter(CParameter::Strategy(Strategy::ZSTD_lazy2))?;
    context.set_parameter(CParameter::SearchLog(6))?;
    context.set_parameter(CParameter::MinMatch(5))?;
    context.set_parameter(CParameter::ForceAttachDict(DictAttachPref::ForceAttach))?;
    Ok(context)
}

impl Default for Packer {
    fn default() -> Packer {
        Packer::new()
    }
}

/// Packs one report's `Response` text in the newest format, with a context of its own: for a
/// single copy; many copies go through one [`Packer`].
pub fn pack(response: &str) -> Vec<u8> {
    Packer::new().pack(response)
}

/// Packs text in format 1 (raw DEFLATE), as the first archiving release did: for tests of old
/// copies and for measurements.
pub fn deflate(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() / 6 + 16);
    out.push(FORMAT_DEFLATE);
    let mut encoder = DeflateEncoder::new(out, Compression::new(DEFLATE_LEVEL));
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(text);
    encoder.finish().unwrap_or_default()
}

/// Unpacks a copy of any known format back into the `Response` text.
pub fn unpack(copy: &[u8]) -> Result<String, ArchiveError> {
    let damaged = |e: &dyn fmt::Display| ArchiveError(format!("the archive copy is damaged ({e})"));
    match copy.split_first() {
        Some((&FORMAT_DEFLATE, data)) => {
            let mut text = String::with_capacity(data.len() * 6);
            DeflateDecoder::new(data).read_to_string(&mut text).map_err(|e| damaged(&e))?;
            Ok(text)
        }
        Some((&FORMAT_ZSTD_REPORTS_1, frame)) => {
            let size = match zstd::zstd_safe::get_frame_content_size(frame) {
                Ok(Some(size)) if size <= MAX_UNPACKED_BYTES as u64 => size as usize,
                Ok(Some(size)) => return Err(damaged(&format!("it claims {size} bytes"))),
                Ok(None) | Err(_) => return Err(damaged(&"no frame header")),
            };
            let bytes = zstd::bulk::Decompressor::with_prepared_dictionary(unpacker_dictionary())
                .and_then(|mut unpacker| unpacker.decompress(frame, size))
                .map_err(|e| damaged(&e))?;
            String::from_utf8(bytes).map_err(|e| damaged(&e))
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
    fn a_real_report_round_trips_in_the_newest_format_and_shrinks() {
        let whole = crate::testdata::json("pgcr/control_6v6.json");
        let text = serde_json::to_string(&whole["Response"]).expect("json");
        let copy = pack(&text);
        assert_eq!(copy[0], FORMAT_ZSTD_REPORTS_1, "new copies use the newest format");
        assert_eq!(unpack(&copy).as_deref(), Ok(text.as_str()));
        assert!(copy.len() * 10 < text.len(), "{} bytes packed from {}", copy.len(), text.len());
        let old = deflate(text.as_bytes()).len();
        assert!(copy.len() * 3 < old * 2, "the dictionary beats DEFLATE: {} vs {old}", copy.len());
    }

    #[test]
    fn copies_of_the_first_format_stay_readable() {
        let text = serde_json::to_string(&crate::testdata::json("pgcr/trials_3v3.json")["Response"]).expect("json");
        // Made as the first archiving release made them: a tag, then raw DEFLATE at level 9.
        let mut old = vec![FORMAT_DEFLATE];
        let mut encoder = DeflateEncoder::new(&mut old, Compression::new(9));
        encoder.write_all(text.as_bytes()).expect("deflate");
        encoder.finish().expect("deflate");
        assert_eq!(unpack(&old).as_deref(), Ok(text.as_str()));
    }

    #[test]
    fn unreadable_copies_say_why() {
        let good = pack("{\"period\": \"2024-03-05T19:12:44Z\"}");
        let truncated = &good[..good.len() - 2];
        // A frame header that claims a terabyte: refused before anything is allocated.
        let huge = [FORMAT_ZSTD_REPORTS_1, 0x28, 0xb5, 0x2f, 0xfd, 0xe0, 0, 0, 0, 0, 0, 1, 0, 0];
        let cases: [(&str, &[u8], &str); 6] = [
            ("empty", &[], "empty"),
            ("unknown format", &[9, 1, 2], "format 9"),
            ("damaged", &[FORMAT_DEFLATE, 0xff, 0xff, 0xff], "damaged"),
            ("not a zstd frame", &[FORMAT_ZSTD_REPORTS_1, 0xff, 0xff, 0xff], "damaged"),
            ("truncated zstd", truncated, "damaged"),
            ("huge", &huge, "claims 1099511627776 bytes"),
        ];
        for (name, copy, needle) in cases {
            let err = unpack(copy).expect_err(name);
            assert!(err.0.contains(needle), "{name}: {err}");
        }
    }

    #[test]
    fn a_report_far_larger_than_any_real_one_is_still_kept_and_read_back() {
        // 2 MiB: some sixty times the largest real report, well inside the unpacking bound.
        let text = "x".repeat(2 * 1024 * 1024);
        assert_eq!(unpack(&pack(&text)), Ok(text));
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
            (7, Some(0.0), "7 stored reports have no archive copy; fetching them with no rate limit"),
        ];
        for (count, rps, line) in cases {
            assert_eq!(missing_line(count, rps), line);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Packing loses nothing, and a packer kept from copy to copy carries nothing over:
        /// every copy unpacks on its own to its text exactly, and the last is the same bytes a
        /// packer of its own makes.
        #[test]
        fn a_kept_packer_packs_each_copy_on_its_own(texts in proptest::collection::vec(".{0,400}", 1..8)) {
            let mut packer = Packer::new();
            let copies: Vec<Vec<u8>> = texts.iter().map(|text| packer.pack(text)).collect();
            for (copy, text) in copies.iter().zip(&texts) {
                prop_assert_eq!(unpack(copy), Ok(text.clone()));
            }
            let last = texts.last().expect("at least one text");
            prop_assert_eq!(copies.last(), Some(&pack(last)));
        }
    }
}
