//! Trains the zstd dictionary the archive packs reports with, reproducibly, and measures what
//! a dictionary and a level give. Run it through `just train-dictionary`.
//!
//! The samples are match reports the test kit generates from seeds other than the bench world's
//! (so the bench measures reports the dictionary never saw), plus our hand-written reports of
//! `testdata/pgcr/`, compacted as Bungie sends them (keys in their order, no whitespace). Nothing
//! Bungie sent is used. The same samples give the same dictionary, byte for byte.
//!
//! `--measure` trains dictionaries of several sizes and prints, for each size and zstd level,
//! with the level's own table sizes and with the ones dclisync packs with, the bytes per report
//! of the bench world, the packing time per report, the unpacking speed and the packing
//! context's memory, beside DEFLATE 9; `--held-out` prints each `testdata/pgcr/` report's bytes with a dictionary
//! trained without that report, the fairest guide to a real report the dictionary never saw.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;

use dclisync::core::archive;
use dclisync_testkit::world::{World, WorldConfig};

/// Seeds of the training worlds: none is the bench world's.
const TRAINING_SEEDS: std::ops::RangeInclusive<u64> = 2..=5;
/// Public matches per character of a training world: about 1,100 reports each.
const TRAINING_MATCHES: usize = 110;
/// Public matches per character of the bench world (examples/bench.rs, figure 5).
const BENCH_MATCHES: usize = 525;
/// The dictionary shipped in the binary (src/core/archive.rs).
const DICTIONARY: &str = "src/core/dictionaries/reports_1.zdict";

#[derive(Parser)]
#[command(about = "Train the archive's zstd dictionary from generated and hand-written reports")]
struct Args {
    /// Dictionary size in bytes
    #[arg(long, default_value_t = 112_640)]
    size: usize,
    /// Where to write the dictionary (default: the one the binary embeds)
    #[arg(long)]
    out: Option<PathBuf>,
    /// Measure sizes and levels on the bench world instead of writing a dictionary
    #[arg(long)]
    measure: bool,
    /// Print each testdata report's bytes with a dictionary trained without it
    #[arg(long)]
    held_out: bool,
    /// The level `--held-out` packs at
    #[arg(long, default_value_t = 19)]
    level: i32,
    /// Dictionary sizes `--measure` tries
    #[arg(long, value_delimiter = ',', default_value = "32768,65536,112640,229376")]
    sizes: Vec<usize>,
    /// zstd levels `--measure` tries
    #[arg(long, value_delimiter = ',', default_value = "3,6,9,12,15,19")]
    levels: Vec<i32>,
    /// `--measure` packs every this many-th report of the bench world (1: all)
    #[arg(long, default_value_t = 4)]
    every: usize,
}

fn main() -> ExitCode {
    match run(&Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<(), String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let handwritten = testdata_reports(&root.join("testdata/pgcr"))?;
    let mut samples: Vec<Vec<u8>> = Vec::new();
    for seed in TRAINING_SEEDS {
        let config = WorldConfig { seed, public_matches_per_character: TRAINING_MATCHES, ..WorldConfig::small() };
        samples.extend(World::generate(&config).matches.iter().map(|m| m.pgcr.to_string().into_bytes()));
    }
    samples.extend(handwritten.iter().map(|(_, text)| text.clone().into_bytes()));
    let total: usize = samples.iter().map(Vec::len).sum();
    eprintln!("{} samples, {:.1} MB", samples.len(), total as f64 / 1e6);
    if args.measure {
        return measure(&samples, args);
    }
    if args.held_out {
        return held_out(&samples, &handwritten, args);
    }
    let dictionary = train(&samples, args.size)?;
    let out = args.out.clone().unwrap_or_else(|| root.join(DICTIONARY));
    std::fs::write(&out, &dictionary).map_err(|e| format!("{}: {e}", out.display()))?;
    println!("wrote {} ({} bytes)", out.display(), dictionary.len());
    Ok(())
}

fn train(samples: &[Vec<u8>], size: usize) -> Result<Vec<u8>, String> {
    zstd::dict::from_samples(samples, size).map_err(|e| format!("training failed: {e}"))
}

/// The `Response` of each report under `dir`, compacted as Bungie sends it, by file name.
fn testdata_reports(dir: &Path) -> Result<Vec<(String, String)>, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut out = Vec::with_capacity(files.len());
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        out.push((name, dclisync_testkit::compact_response(&text)?));
    }
    Ok(out)
}

/// Bytes per report of the bench world, packing and unpacking time, per size and level.
fn measure(samples: &[Vec<u8>], args: &Args) -> Result<(), String> {
    let config = WorldConfig { public_matches_per_character: BENCH_MATCHES, ..WorldConfig::small() };
    let bench: Vec<Vec<u8>> = World::generate(&config)
        .matches
        .iter()
        .step_by(args.every.max(1))
        .map(|m| m.pgcr.to_string().into_bytes())
        .collect();
    let raw: usize = bench.iter().map(Vec::len).sum();
    println!(
        "bench world, 1 report in {}: {} reports, {} bytes of Response each on average",
        args.every.max(1),
        bench.len(),
        raw / bench.len()
    );
    let started = Instant::now();
    let deflated: usize = bench.iter().map(|r| archive::deflate(r).len()).sum();
    let took = started.elapsed().as_secs_f64() * 1e6 / bench.len() as f64;
    println!("DEFLATE 9: {} B/report, {took:.0} µs to pack", deflated / bench.len());
    println!(
        "{:>8} {:>6} {:>8} {:>10} {:>12} {:>14} {:>11}",
        "dict", "level", "tables", "B/report", "pack µs", "unpack MB/s", "context KB"
    );
    for &size in &args.sizes {
        let dictionary = train(samples, size)?;
        let ddict = zstd::dict::DecoderDictionary::copy(&dictionary);
        for (&level, shipped) in args.levels.iter().flat_map(|level| [(level, false), (level, true)]) {
            let mut packer = zstd::bulk::Compressor::with_dictionary(level, &dictionary)
                .and_then(|p| if shipped { archive::sized_for_reports(p) } else { Ok(p) })
                .map_err(|e| e.to_string())?;
            let started = Instant::now();
            let packed: Vec<Vec<u8>> =
                bench.iter().map(|r| packer.compress(r)).collect::<Result<_, _>>().map_err(|e| e.to_string())?;
            let pack_us = started.elapsed().as_secs_f64() * 1e6 / bench.len() as f64;
            let mut unpacker = zstd::bulk::Decompressor::with_prepared_dictionary(&ddict).map_err(|e| e.to_string())?;
            let started = Instant::now();
            for (p, r) in packed.iter().zip(&bench) {
                let back = unpacker.decompress(p, r.len()).map_err(|e| e.to_string())?;
                if back != *r {
                    return Err("a report did not round-trip".to_string());
                }
            }
            let unpack = raw as f64 / started.elapsed().as_secs_f64() / 1e6;
            let bytes: usize = packed.iter().map(Vec::len).sum();
            let tables = if shipped { "shipped" } else { "level's" };
            let context = packer.context_mut().sizeof() / 1024;
            println!(
                "{size:>8} {level:>6} {tables:>8} {:>10} {pack_us:>12.0} {unpack:>14.0} {context:>11}",
                bytes / bench.len()
            );
        }
    }
    Ok(())
}

/// Each hand-written report packed with a dictionary trained on every sample but itself.
fn held_out(samples: &[Vec<u8>], handwritten: &[(String, String)], args: &Args) -> Result<(), String> {
    for (name, text) in handwritten {
        let others: Vec<Vec<u8>> = samples.iter().filter(|s| s.as_slice() != text.as_bytes()).cloned().collect();
        let dictionary = train(&others, args.size)?;
        let packed = zstd::bulk::Compressor::with_dictionary(args.level, &dictionary)
            .and_then(archive::sized_for_reports)
            .and_then(|mut c| c.compress(text.as_bytes()))
            .map_err(|e| e.to_string())?;
        let with_all = archive::pack(text).len() - 1;
        println!(
            "{name}: {} bytes of Response, {} packed held out ({:.1} %), {with_all} with the shipped dictionary",
            text.len(),
            packed.len(),
            100.0 * packed.len() as f64 / text.len() as f64
        );
    }
    Ok(())
}
