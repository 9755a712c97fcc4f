//! Measures the archive's packing parameters against the alternatives weighed when they were
//! chosen: bytes and time per copy, and the size of the packing context, on every `--every`-th
//! report of the bench world (the figure-4 world of `examples/bench.rs`).
//!
//! `cargo run --release --example pack_params -- --every 4`

use std::time::Instant;

use clap::Parser;
use dclisync_testkit::world::{World, WorldConfig};
use zstd::zstd_safe::{CParameter, DictAttachPref, Strategy};

const DICTIONARY: &[u8] = include_bytes!("../src/core/dictionaries/reports_1.zdict");

#[derive(Parser)]
#[command(about = "Bytes and time per archive copy for the shipped zstd parameters and the alternatives")]
struct Args {
    /// Pack every this many-th report of the bench world
    #[arg(long, default_value_t = 4)]
    every: usize,
    /// Timed passes over the reports; the fastest counts
    #[arg(long, default_value_t = 3)]
    passes: usize,
}

/// (name, strategy, hash log, search log, min match); window 2^18, the dictionary attached.
const ALTERNATIVES: &[(&str, Strategy, u32, u32, u32)] = &[
    ("btlazy2, the level's search, tables cut to 1.5 MB", Strategy::ZSTD_btlazy2, 15, 5, 5),
    ("btlazy2, shallower", Strategy::ZSTD_btlazy2, 15, 4, 6),
    ("lazy2, 2^5 deep, 6-byte matches", Strategy::ZSTD_lazy2, 16, 5, 6),
    ("lazy2, 2^6 deep, 6-byte matches", Strategy::ZSTD_lazy2, 16, 6, 6),
    ("lazy2, 2^6 deep, 4-byte matches", Strategy::ZSTD_lazy2, 16, 6, 4),
    ("lazy2, 2^6 deep, 128 K-entry hash table", Strategy::ZSTD_lazy2, 17, 6, 5),
];

fn main() {
    let args = Args::parse();
    let config = WorldConfig { public_matches_per_character: 525, ..WorldConfig::small() };
    let reports: Vec<Vec<u8>> = World::generate(&config)
        .matches
        .iter()
        .step_by(args.every.max(1))
        .map(|m| m.pgcr.to_string().into_bytes())
        .collect();
    let average = reports.iter().map(Vec::len).sum::<usize>() / reports.len().max(1);
    println!("{} reports of {average} bytes on average; fastest of {} passes", reports.len(), args.passes);
    let shipped = zstd::bulk::Compressor::with_dictionary(dclisync::core::archive::ZSTD_LEVEL, DICTIONARY)
        .and_then(dclisync::core::archive::sized_for_reports);
    measure("shipped (src/core/archive.rs)", &reports, args.passes, shipped);
    for &(name, strategy, hash_log, search_log, min_match) in ALTERNATIVES {
        let context = zstd::bulk::Compressor::with_dictionary(dclisync::core::archive::ZSTD_LEVEL, DICTIONARY)
            .and_then(|mut c| {
                c.set_parameter(CParameter::WindowLog(18))?;
                c.set_parameter(CParameter::HashLog(hash_log))?;
                c.set_parameter(CParameter::ChainLog(if strategy == Strategy::ZSTD_btlazy2 { 17 } else { 16 }))?;
                c.set_parameter(CParameter::Strategy(strategy))?;
                c.set_parameter(CParameter::SearchLog(search_log))?;
                c.set_parameter(CParameter::MinMatch(min_match))?;
                c.set_parameter(CParameter::ForceAttachDict(DictAttachPref::ForceAttach))?;
                Ok(c)
            });
        measure(name, &reports, args.passes, context);
    }
}

fn measure(name: &str, reports: &[Vec<u8>], passes: usize, context: std::io::Result<zstd::bulk::Compressor<'_>>) {
    let mut context = match context {
        Ok(c) => c,
        Err(e) => return println!("{name:<52} cannot be set up: {e}"),
    };
    let (mut fastest, mut bytes) = (f64::INFINITY, 0);
    for _ in 0..passes.max(1) {
        let started = Instant::now();
        let packed: Result<Vec<Vec<u8>>, _> = reports.iter().map(|r| context.compress(r)).collect();
        let micros = started.elapsed().as_secs_f64() * 1e6 / reports.len().max(1) as f64;
        match packed {
            Ok(copies) => bytes = copies.iter().map(Vec::len).sum::<usize>() / reports.len().max(1),
            Err(e) => return println!("{name:<52} failed: {e}"),
        }
        fastest = fastest.min(micros);
    }
    let kb = context.context_mut().sizeof() / 1024;
    println!("{name:<52} {bytes:>6} B a copy {fastest:>6.0} µs a copy  context {kb:>5} KB");
}
