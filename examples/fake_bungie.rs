//! A fake Bungie.net on 127.0.0.1 serving a generated world: the same generator and fake the
//! end-to-end tests use, runnable by hand to try dclisync without an API key.
//!
//! `cargo run --example fake_bungie -- --port 8787 --players 3 --seed 1` prints the root to put in
//! `DCLISYNC_API_ROOT`, the API key it accepts and its players' Bungie names, then serves until
//! stopped. `--info FILE` also writes those as `KEY=value` lines a shell script can source.
//! `--latency-ms`, `--max-rps` and `--fault-rate` make it a slower, stricter, flakier server.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use dclisync_testkit::{fake, world};

/// The key the fake accepts: it is not a Bungie key and works nowhere else.
const DEMO_API_KEY: &str = "demo-key-not-a-bungie-key";

/// Bungie averages its request limit over this window.
const LIMIT_WINDOW: Duration = Duration::from_secs(10);

#[derive(Parser)]
#[command(
    about = "Serve a generated Destiny 2 world as a fake Bungie.net on 127.0.0.1",
    after_help = "Prints DCLISYNC_API_ROOT, DESTINY_API_KEY, DEMO_PLAYERS and DEMO_GROUP as KEY=value \
                  lines, then serves until stopped (Ctrl-C prints what it answered)."
)]
struct Args {
    /// Port on 127.0.0.1 (0: any free port)
    #[arg(long, default_value_t = 8787)]
    port: u16,
    /// Tracked players in the world (3 players with --matches-per-character 150 make ~1,500 reports)
    #[arg(long, default_value_t = 3)]
    players: usize,
    /// Public matches per live character (deleted characters have half); each character also has
    /// 2 private matches and 1 Gambit private match
    #[arg(long, default_value_t = 10)]
    matches_per_character: usize,
    /// Delay added to every answer, in milliseconds
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Bungie's limit: at most 10 × N requests in any 10 s (N per second averaged); excess gets a
    /// throttle error (HTTP 429, ErrorCode 51, ThrottleSeconds 10). 0: no limit
    #[arg(long, default_value_t = 0)]
    max_rps: usize,
    /// Chance (0 to 1) that a request gets a transient fault: HTML 500/502/503/504, 503 with
    /// Retry-After, truncated or invalid JSON, ErrorCode 1618, throttle code 36, a 3 s delay
    #[arg(long, default_value_t = 0.0)]
    fault_rate: f64,
    /// Seed of the world and of the faults: the same seed gives the same world and faults
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Also write the root, key, players and clan id to this file as KEY=value lines
    #[arg(long)]
    info: Option<std::path::PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if !(0.0..=1.0).contains(&args.fault_rate) {
        eprintln!("error: --fault-rate must be between 0 and 1, not {}", args.fault_rate);
        return ExitCode::from(2);
    }
    let config = world::WorldConfig {
        seed: args.seed,
        players: args.players.max(1),
        public_matches_per_character: args.matches_per_character,
        ..world::WorldConfig::small()
    };
    let options = fake::FakeOptions {
        latency: Duration::from_millis(args.latency_ms),
        limit: (args.max_rps > 0).then(|| (args.max_rps * LIMIT_WINDOW.as_secs() as usize, LIMIT_WINDOW)),
        fault_rate: args.fault_rate,
        fault_seed: args.seed,
        ..fake::FakeOptions::default()
    };
    let world = world::World::generate(&config);
    let reports = world.expected_activity_ids().len();
    let fake = fake::FakeBungie::start_with(world, DEMO_API_KEY, args.port, options);
    let players: Vec<String> = fake.world().players.iter().map(|p| p.bungie_name()).collect();
    let quoted: Vec<String> = players.iter().map(|p| format!("\"{p}\"")).collect();
    let info = format!(
        "DCLISYNC_API_ROOT={}\nDESTINY_API_KEY={DEMO_API_KEY}\nDEMO_PLAYERS=({})\nDEMO_GROUP={}\n",
        fake.uri(),
        quoted.join(" "),
        fake.world().clan.group_id
    );
    print!("{info}");
    let limit = if args.max_rps > 0 { format!("{} requests per 10 s", args.max_rps * 10) } else { "no limit".into() };
    eprintln!(
        "fake Bungie serving {} players ({reports} match reports) on {}; latency {} ms, {limit}, fault rate {}; \
         stop it with Ctrl-C",
        players.len(),
        fake.uri(),
        args.latency_ms,
        args.fault_rate
    );
    if let Some(path) = &args.info {
        if let Err(e) = std::fs::write(path, &info) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    let (stop_tx, stop_rx) = std::sync::mpsc::channel();
    if let Err(e) = ctrlc::set_handler(move || {
        let _ = stop_tx.send(());
    }) {
        eprintln!("warning: cannot catch Ctrl-C ({e}); the totals will not be printed");
        loop {
            std::thread::park();
        }
    }
    // Serve until Ctrl-C or SIGTERM.
    let _ = stop_rx.recv();
    let requests = fake.requests().len();
    let faults: Vec<String> = fake.faults_by_kind().iter().map(|(k, n)| format!("{} {n}", k.name())).collect();
    eprintln!(
        "fake Bungie answered {requests} requests: {} reports served, {} throttled, {} faults ({})",
        fake.pgcrs_served(),
        fake.throttled_answers(),
        fake.faults_injected(),
        if faults.is_empty() { "none".to_owned() } else { faults.join(", ") }
    );
    ExitCode::SUCCESS
}
