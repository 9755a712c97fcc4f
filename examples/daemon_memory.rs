//! Benchmark: does a long-running daemon hold on to memory? Runs the real `dclisync --daemon`
//! against the in-process fake Bungie, lets its first round sync the world, then drives idle
//! rounds (nothing new to fetch) with SIGUSR1 instead of waiting out the interval, and reads the
//! process's resident memory (`VmRSS` in `/proc/PID/status`) along the way.
//!
//! `just bench-daemon` builds the release binary and runs this. The limit: over 50 idle rounds,
//! resident memory grows by no more than 5 MB. Linux only (it reads `/proc`).

// Elsewhere `main` only says so, and the rest stands unused.
#![cfg_attr(not(unix), allow(dead_code, unused_imports))]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use clap::Parser;
use dclisync_testkit::{fake, world};

const API_KEY: &str = "bench-key-not-a-bungie-key";
/// The growth the issue allows over the idle rounds.
const LIMIT_KB: i64 = 5 * 1024;
/// Longest one round may take before the benchmark gives up.
const ROUND_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Parser)]
#[command(about = "Resident memory of dclisync --daemon over many idle rounds against the fake Bungie")]
struct Args {
    /// The dclisync binary to measure
    #[arg(long, default_value = "target/release/dclisync")]
    bin: PathBuf,
    /// Idle rounds after the first (syncing) round
    #[arg(long, default_value_t = 50)]
    rounds: u64,
    /// Tracked players in the world
    #[arg(long, default_value_t = 3)]
    players: usize,
}

#[cfg(not(unix))]
fn main() {
    fail("this benchmark needs Unix signals and /proc (Linux)");
}

#[cfg(unix)]
fn main() {
    let args = Args::parse();
    let config = world::WorldConfig { players: args.players.max(1), ..world::WorldConfig::small() };
    let fake = fake::FakeBungie::start(world::World::generate(&config), API_KEY);
    let dir = std::env::temp_dir().join(format!("dclisync-bench-daemon-{}", std::process::id()));
    let names: Vec<String> = fake.world().players.iter().map(|p| p.bungie_name()).collect();

    let dclisync = |extra: &[&str]| {
        let mut cmd = Command::new(&args.bin);
        dclisync_testkit::clean_env(&mut cmd);
        cmd.arg("-D").arg(&dir).args(extra).env("DCLISYNC_API_ROOT", fake.uri()).env("DESTINY_API_KEY", API_KEY);
        cmd
    };
    let added = dclisync(&["--add"]).args(&names).stdout(Stdio::null()).status();
    if !added.is_ok_and(|s| s.success()) {
        fail(&format!("could not add the players with {} (build it with cargo build --release)", args.bin.display()));
    }

    let mut child = dclisync(&["--sync", "--daemon", "--interval", "30"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| fail(&format!("cannot start {}: {e}", args.bin.display())));
    let pid = child.id();
    let lines = read_lines(&mut child);

    let started = Instant::now();
    wait_round_end(&lines, 1);
    let after_sync = rss_kb(pid);
    let requests_before = fake.requests().len();
    let mut samples = Vec::new();
    for round in 2..=args.rounds + 1 {
        wake(pid);
        wait_round_end(&lines, round);
        samples.push(rss_kb(pid));
    }
    let idle_requests = fake.requests().len() - requests_before;
    let first_idle = samples.first().copied().unwrap_or(after_sync);
    let last_idle = samples.last().copied().unwrap_or(after_sync);
    let peak = status_kb(pid, "VmHWM:");
    // SAFETY: kill(2) has no memory effects; the pid is our own child.
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    let status = child.wait().ok().and_then(|s| s.code());
    let _ = std::fs::remove_dir_all(&dir);

    let growth = last_idle - first_idle;
    println!(
        "dclisync --daemon against the fake: {} players, {} idle rounds driven by SIGUSR1",
        config.players, args.rounds
    );
    println!("{:<44} {:>10}", "figure", "value");
    println!("{:<44} {:>7} KB", "RSS after the first (syncing) round", after_sync);
    println!("{:<44} {:>7} KB", "RSS after the first idle round", first_idle);
    println!("{:<44} {:>7} KB", format!("RSS after idle round {}", args.rounds), last_idle);
    println!("{:<44} {:>7} KB", "smallest / largest RSS over the idle rounds", samples.iter().min().unwrap_or(&0));
    println!("{:<44} {:>7} KB", "", samples.iter().max().unwrap_or(&0));
    println!("{:<44} {:>7} KB", "growth over the idle rounds", growth);
    println!("{:<44} {:>7} KB", "peak RSS (VmHWM)", peak);
    println!(
        "{:<44} {:>10}",
        "requests per idle round",
        format!("{:.1}", idle_requests as f64 / args.rounds.max(1) as f64)
    );
    println!("{:<44} {:>8.1} s", "wall time", started.elapsed().as_secs_f64());
    println!("{:<44} {:>10}", "exit code after SIGTERM", status.map_or("none".to_string(), |c| c.to_string()));
    if growth > LIMIT_KB {
        println!("FAIL: grew by {growth} KB, more than {LIMIT_KB} KB");
        std::process::exit(1);
    }
    println!("ok: grew by {growth} KB (limit {LIMIT_KB} KB)");
}

/// The child's stdout, line by line, on a channel.
#[cfg(unix)]
fn read_lines(child: &mut Child) -> mpsc::Receiver<String> {
    let stdout = child.stdout.take().unwrap_or_else(|| fail("no stdout"));
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

#[cfg(unix)]
fn wait_round_end(lines: &mpsc::Receiver<String>, round: u64) {
    let needle = format!("round {round} ended");
    let deadline = Instant::now() + ROUND_TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if line.contains(&needle) => return,
            Ok(_) => {}
            Err(_) => fail(&format!("no \"{needle}\" line from the daemon")),
        }
    }
}

#[cfg(unix)]
fn wake(pid: u32) {
    // SAFETY: as above.
    if unsafe { libc::kill(pid as i32, libc::SIGUSR1) } != 0 {
        fail(&format!("cannot signal {pid}: {}", std::io::Error::last_os_error()));
    }
}

#[cfg(unix)]
fn rss_kb(pid: u32) -> i64 {
    status_kb(pid, "VmRSS:")
}

/// A `kB` figure of `/proc/PID/status`.
#[cfg(unix)]
fn status_kb(pid: u32, field: &str) -> i64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| fail(&format!("cannot read /proc/{pid}/status (Linux only): {e}")));
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| fail(&format!("no {field} in /proc/{pid}/status")))
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1)
}
