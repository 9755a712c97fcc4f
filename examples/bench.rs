//! Benchmarks of dclisync, printed as one table of medians: ingest speed without a network, first
//! and idle syncs of generated worlds served by the fake Bungie with latency, a request limit and
//! faults, and peak memory. Run it through `just bench` (everything) or `just bench-net` (the
//! syncs), which build it and the dclisync binary in release mode first.
//!
//! Syncs run the real release binary against the in-process fake with `DCLISYNC_API_ROOT`.
//! Players are added through a second, healthy fake serving the same world, so the measured fake
//! sees only the sync. Peak RSS is the child's `ru_maxrss` from `wait4`. A child forked from this
//! big process would inherit its high-water mark across `exec`, so every measured program is
//! started by a small relay (this binary again, `--relay`), whose children start small.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::{json, Value};

use dclisync::core::batch::SYNC_BATCH;
use dclisync_testkit::fake::{FakeBungie, FakeOptions, FaultKind, BUNGIE_LIMIT};
use dclisync_testkit::world::{World, WorldConfig};

/// The key both fakes accept.
const KEY: &str = "bench-key-not-a-bungie-key";
/// Latency of every answer in the sync figures, unless `--latency-ms` says otherwise.
const LATENCY: Duration = Duration::from_millis(100);
/// Fault rate of figure 2c.
const FAULT_RATE: f64 = 0.05;
/// Public matches per character of the ~1,500-report world (3 players, 3 characters + 1 deleted).
const MATCHES_1500: usize = 155;
/// Public matches per character of the ~5,000-report world.
const MATCHES_5000: usize = 525;
/// A measured run taking longer than this is killed and reported as timed out.
const RUN_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Parser)]
#[command(about = "Measure dclisync: ingest speed, syncs against the fake Bungie, peak memory")]
struct Args {
    /// Runs per figure; the table shows the median
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// One run per figure
    #[arg(long)]
    quick: bool,
    /// Figures to measure, comma-separated: ingest, limited (2a), unlimited (2b), faults (2c),
    /// idle (3), rss (4), reparse (5: the archive and --reparse), players (6: one clan of 300,
    /// 3,000 and 10,000 players, the roster gate); `net` is 2a, 2b, 2c and 3
    #[arg(long, value_delimiter = ',', default_value = "ingest,limited,unlimited,faults,idle,rss,reparse,players")]
    only: Vec<String>,
    /// With `players`: the clan sizes to measure
    #[arg(long, value_delimiter = ',', default_value = "300,3000,10000")]
    players: Vec<usize>,
    /// Reports the ingest figure normalizes and stores
    #[arg(long, default_value_t = 5000)]
    ingest: usize,
    /// Latency of every answer of the fake in the sync figures, in milliseconds; 0 shows what
    /// dclisync itself costs when Bungie (or a mirror) answers at once
    #[arg(long, default_value_t = LATENCY.as_millis() as u64)]
    latency_ms: u64,
    /// The dclisync binary to measure (default: `dclisync` beside this program's folder)
    #[arg(long)]
    dclisync: Option<PathBuf>,
}

fn main() -> ExitCode {
    let raw: Vec<OsString> = std::env::args_os().collect();
    match raw.get(1).and_then(|a| a.to_str()) {
        Some("--relay") => return relay(&raw[2..]),
        Some("--ingest-child") => return ingest_child(&raw[2..]),
        _ => {}
    }
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Measuring one program run

/// What one measured run of a program did.
#[derive(Debug, Clone)]
struct Measured {
    /// Exit code; `None` when killed by a signal.
    code: Option<i32>,
    wall: Duration,
    max_rss_kb: u64,
    /// User and system CPU time of the program.
    cpu: Duration,
    timed_out: bool,
    stdout: String,
    stderr: String,
}

impl Measured {
    fn ok(&self) -> bool {
        self.code == Some(0) && !self.timed_out
    }

    /// The last lines of stderr, to say why a run failed.
    fn why(&self) -> String {
        let lines: Vec<&str> = self.stderr.lines().collect();
        let tail = lines[lines.len().saturating_sub(5)..].join("\n    ");
        let end = if self.timed_out { "timed out".to_owned() } else { format!("exit {:?}", self.code) };
        format!("{end}\n    {tail}")
    }
}

/// `bench --relay REPORT TIMEOUT_MS PROGRAM ARGS...`: runs PROGRAM (inheriting stdio and
/// environment), kills it after TIMEOUT_MS, and writes `code wall_us max_rss_kb cpu_us timed_out`
/// to REPORT.
fn relay(args: &[OsString]) -> ExitCode {
    let (Some(report), Some(timeout), Some(program)) = (args.first(), args.get(1), args.get(2)) else {
        eprintln!("usage: bench --relay REPORT TIMEOUT_MS PROGRAM [ARGS...]");
        return ExitCode::from(2);
    };
    let timeout = Duration::from_millis(timeout.to_str().and_then(|t| t.parse().ok()).unwrap_or(u64::MAX / 4));
    let started = Instant::now();
    let child = match Command::new(program).args(&args[3..]).spawn() {
        Ok(child) => child,
        Err(e) => {
            eprintln!("error: cannot start {}: {e}", program.to_string_lossy());
            return ExitCode::FAILURE;
        }
    };
    let ended = match wait_with_usage(child, started, timeout) {
        Ok(ended) => ended,
        Err(e) => {
            eprintln!("error: waiting for {}: {e}", program.to_string_lossy());
            return ExitCode::FAILURE;
        }
    };
    let line = format!(
        "{} {} {} {} {}\n",
        ended.code,
        started.elapsed().as_micros(),
        ended.max_rss_kb,
        ended.cpu.as_micros(),
        ended.timed_out
    );
    if let Err(e) = std::fs::write(report, line) {
        eprintln!("error: cannot write {}: {e}", Path::new(report).display());
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// How a child ended: exit code (-1 after a signal), peak RSS, CPU time (user + system).
struct Ended {
    code: i32,
    max_rss_kb: u64,
    cpu: Duration,
    timed_out: bool,
}

/// Waits for `child` with `wait4`, which reports its resource usage; kills it after `timeout`.
#[cfg(unix)]
fn wait_with_usage(child: std::process::Child, started: Instant, timeout: Duration) -> std::io::Result<Ended> {
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain data; wait4 fills it in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let mut timed_out = false;
    loop {
        // SAFETY: pid is our own child, not yet reaped; the pointers live across the call.
        let got = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if got == pid {
            break;
        }
        if got < 0 {
            return Err(std::io::Error::last_os_error());
        }
        if !timed_out && started.elapsed() > timeout {
            timed_out = true;
            // SAFETY: signalling our own unreaped child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    // ru_maxrss is in KiB on Linux and in bytes on macOS.
    let max_rss_kb = if cfg!(target_os = "macos") { usage.ru_maxrss as u64 / 1024 } else { usage.ru_maxrss as u64 };
    Ok(Ended {
        code: if libc::WIFEXITED(status) { libc::WEXITSTATUS(status) } else { -1 },
        max_rss_kb,
        cpu: time(usage.ru_utime) + time(usage.ru_stime),
        timed_out,
    })
}

/// Without `wait4`: the exit code and the timeout only (peak RSS and CPU time read 0).
#[cfg(not(unix))]
fn wait_with_usage(mut child: std::process::Child, started: Instant, timeout: Duration) -> std::io::Result<Ended> {
    let mut timed_out = false;
    loop {
        if let Some(status) = child.try_wait()? {
            let code = status.code().unwrap_or(-1);
            return Ok(Ended { code, max_rss_kb: 0, cpu: Duration::ZERO, timed_out });
        }
        if !timed_out && started.elapsed() > timeout {
            timed_out = true;
            child.kill()?;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Runs `program args` through the relay with `env` added to a clean environment (none of the
/// kit's `DCLISYNC_ENV`), its output going to files in `work`.
fn measure(program: &Path, args: &[OsString], env: &[(&str, String)], work: &Path) -> Result<Measured, String> {
    static RUN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = RUN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let (report, out, err) =
        (work.join(format!("run{n}.report")), work.join(format!("run{n}.out")), work.join(format!("run{n}.err")));
    let file = |p: &Path| std::fs::File::create(p).map_err(|e| format!("cannot create {}: {e}", p.display()));
    let me = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let mut command = Command::new(me);
    command
        .arg("--relay")
        .arg(&report)
        .arg(RUN_TIMEOUT.as_millis().to_string())
        .arg(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(file(&out)?)
        .stderr(file(&err)?);
    dclisync_testkit::clean_env(&mut command);
    command.envs(env.iter().map(|(k, v)| (k, v)));
    let status = command.status().map_err(|e| format!("cannot start the relay: {e}"))?;
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    if !status.success() {
        return Err(format!("the relay failed: {}", read(&err)));
    }
    let fields: Vec<String> = read(&report).split_whitespace().map(str::to_owned).collect();
    let [code, wall_us, rss, cpu_us, timed_out] = fields.as_slice() else {
        return Err(format!("the relay wrote no report to {}", report.display()));
    };
    let code: i32 = code.parse().map_err(|_| "bad relay report")?;
    Ok(Measured {
        code: (code >= 0).then_some(code),
        wall: Duration::from_micros(wall_us.parse().map_err(|_| "bad relay report")?),
        max_rss_kb: rss.parse().map_err(|_| "bad relay report")?,
        cpu: Duration::from_micros(cpu_us.parse().map_err(|_| "bad relay report")?),
        timed_out: timed_out == "true",
        stdout: read(&out),
        stderr: read(&err),
    })
}

// ---------------------------------------------------------------------------------------------
// Figure 1: ingest

/// `bench --ingest-child FILE DATADIR`: normalizes and stores every report of FILE (one envelope
/// per line) into DATADIR on this one thread; prints `reports seconds` and the seconds of each of
/// [`Phases`].
fn ingest_child(args: &[OsString]) -> ExitCode {
    let (Some(file), Some(dir)) = (args.first(), args.get(1)) else {
        eprintln!("usage: bench --ingest-child FILE DATADIR");
        return ExitCode::from(2);
    };
    match ingest(Path::new(file), Path::new(dir)) {
        Ok((n, elapsed, p)) => {
            let secs = |d: Duration| d.as_secs_f64();
            println!("{n} {} {} {} {}", secs(elapsed), secs(p.parse), secs(p.normalize), secs(p.store));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// CPU time this thread has used: unlike wall time, it does not count waiting for a core on a
/// busy machine.
#[cfg(unix)]
fn thread_cpu() -> Duration {
    // SAFETY: timespec is plain data; clock_gettime fills it in.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: a valid clock id and a pointer to a live timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// CPU time of this whole process (every thread), user and system.
#[cfg(unix)]
fn process_cpu() -> Duration {
    // SAFETY: rusage is plain data; getrusage fills it in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid `who` and a pointer to a live rusage.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    time(usage.ru_utime) + time(usage.ru_stime)
}

#[cfg(not(unix))]
fn process_cpu() -> Duration {
    Duration::ZERO
}

/// Without a thread CPU clock: wall time since the first call.
#[cfg(not(unix))]
fn thread_cpu() -> Duration {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed()
}

/// CPU time spent in each step of [`ingest`].
#[derive(Debug, Default, Clone, Copy)]
struct Phases {
    /// Bytes to the typed report, checks of `ErrorCode` included (as the client reads a body).
    parse: Duration,
    normalize: Duration,
    store: Duration,
}

/// What the sync does with each downloaded body: read the envelope, the report, the rows, and
/// store them, the reports of a batch ([`SYNC_BATCH`]'s report count) in one transaction, each
/// with its queue marks and fetch record (no archive copy).
fn ingest(file: &Path, dir: &Path) -> Result<(usize, Duration, Phases), String> {
    use dclisync::core::bungie::{envelope, model::Pgcr};
    use dclisync::core::refresh::ReportFetch;
    use dclisync::shell::store::FetchedReport;
    let mut store = dclisync::shell::store::Store::open(dir).map_err(|e| e.to_string())?;
    let reader = std::io::BufReader::new(std::fs::File::open(file).map_err(|e| format!("{}: {e}", file.display()))?);
    let mut phases = Phases::default();
    let started = Instant::now();
    let mut n = 0;
    let mut held: Vec<(dclisync::core::pgcr::PgcrRows, ReportFetch)> = Vec::new();
    let mut store_held = |held: &mut Vec<_>, phases: &mut Phases| -> Result<(), String> {
        let t = thread_cpu();
        let batch: Vec<FetchedReport<'_>> =
            held.iter().map(|(rows, fetch)| FetchedReport { rows, fetch, archive: None }).collect();
        store.store_fetched_batch(&batch).map_err(|e| e.to_string())?;
        held.clear();
        lap(&mut phases.store, t);
        Ok(())
    };
    for line in reader.lines() {
        let line = line.map_err(|e| format!("{}: {e}", file.display()))?;
        let t = thread_cpu();
        let report: Pgcr = envelope::classify_as(200, Some("application/json"), None, line.as_bytes())
            .map_err(|e| format!("report {n}: {e}"))?;
        let t = lap(&mut phases.parse, t);
        let id = report.activity_details.as_ref().and_then(|d| d.instance_id).ok_or("a report without its id")?;
        let id = dclisync::core::ids::ActivityId(id);
        let rows = dclisync::core::pgcr::normalize(id, &report, dclisync::core::fixups::Rules::builtin())
            .map_err(|e| format!("report {id}: {e}"))?;
        let fetch = ReportFetch::first(&rows, unix_now());
        held.push((rows, fetch));
        lap(&mut phases.normalize, t);
        if held.len() >= SYNC_BATCH.max_reports {
            store_held(&mut held, &mut phases)?;
        }
        n += 1;
    }
    store_held(&mut held, &mut phases)?;
    Ok((n, started.elapsed(), phases))
}

/// Seconds since the Unix epoch, as a sync stamps a fetch.
fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// Adds the CPU time since `since` to `phase`; returns now.
fn lap(phase: &mut Duration, since: Duration) -> Duration {
    let now = thread_cpu();
    *phase += now.saturating_sub(since);
    now
}

/// `n` twelve-player reports of `world` as envelope lines; past the world's own, copies with new
/// instance ids.
fn write_ingest_input(world: &World, n: usize, path: &Path) -> Result<(), String> {
    let twelve: Vec<&Value> = world.matches.iter().filter(|m| m.entries().len() == 12).map(|m| &m.pgcr).collect();
    if twelve.is_empty() {
        return Err("the world has no twelve-player report".into());
    }
    let mut out = BufWriter::new(std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?);
    for i in 0..n {
        let mut report = twelve[i % twelve.len()].clone();
        if i >= twelve.len() {
            report["activityDetails"]["instanceId"] = json!((90_000_000_000_u64 + i as u64).to_string());
        }
        let envelope = json!({
            "Response": report, "ErrorCode": 1, "ThrottleSeconds": 0, "ErrorStatus": "Success",
            "Message": "Ok", "MessageData": {},
        });
        serde_json::to_writer(&mut out, &envelope).map_err(|e| e.to_string())?;
        out.write_all(b"\n").map_err(|e| e.to_string())?;
    }
    out.flush().map_err(|e| e.to_string())
}

struct IngestRun {
    /// Reports per second of wall time.
    rate: f64,
    /// Reports per second of the child's CPU time.
    cpu_rate: f64,
    max_rss_kb: u64,
    /// CPU microseconds per report in each of [`Phases`]: parse, normalize, store.
    phases_us: [f64; 3],
}

fn ingest_run(input: &Path, n: usize) -> Result<IngestRun, String> {
    let work = tempfile::tempdir().map_err(|e| e.to_string())?;
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let args = [OsString::from("--ingest-child"), input.into(), work.path().join("data").into()];
    let m = measure(&me, &args, &[], work.path())?;
    if !m.ok() {
        return Err(format!("ingest failed: {}", m.why()));
    }
    let fields: Vec<f64> = m.stdout.split_whitespace().filter_map(|f| f.parse().ok()).collect();
    let [stored, secs, parse, normalize, store] = fields.as_slice() else {
        return Err(format!("ingest printed {:?}", m.stdout));
    };
    if *stored as usize != n {
        return Err(format!("ingest stored {stored} of {n} reports"));
    }
    let per_report = |s: &f64| s * 1e6 / stored;
    Ok(IngestRun {
        rate: stored / secs,
        cpu_rate: stored / m.cpu.as_secs_f64().max(1e-9),
        max_rss_kb: m.max_rss_kb,
        phases_us: [per_report(parse), per_report(normalize), per_report(store)],
    })
}

// ---------------------------------------------------------------------------------------------
// Figures 2–4: syncs

/// A generated world with a healthy fake that adds its players to a fresh data folder.
struct Scenario {
    world: World,
    expected: BTreeSet<i64>,
    registrar: FakeBungie,
}

impl Scenario {
    fn new(matches_per_character: usize) -> Scenario {
        let config = WorldConfig { public_matches_per_character: matches_per_character, ..WorldConfig::small() };
        let world = World::generate(&config);
        let expected = world.expected_activity_ids();
        let registrar = FakeBungie::start(world.clone(), KEY);
        Scenario { world, expected, registrar }
    }

    /// A data folder in `work` with every player of the world on the sync list.
    fn added(&self, bin: &Path, work: &Path) -> Result<PathBuf, String> {
        let data = work.join("data");
        let mut args: Vec<OsString> = vec!["-D".into(), data.clone().into(), "--add".into()];
        args.extend(self.world.players.iter().map(|p| OsString::from(p.bungie_name())));
        let m = measure(bin, &args, &env_for(&self.registrar), work)?;
        if !m.ok() {
            return Err(format!("dclisync --add failed: {}", m.why()));
        }
        Ok(data)
    }
}

fn env_for(fake: &FakeBungie) -> Vec<(&'static str, String)> {
    vec![("DCLISYNC_API_ROOT", fake.uri()), ("DESTINY_API_KEY", KEY.to_owned())]
}

/// One measured `--sync` and what the fake and the database say about it.
#[derive(Debug, Clone)]
struct SyncRun {
    measured: Measured,
    requests: usize,
    /// PGCR requests among them.
    report_requests: usize,
    /// Profile requests (components 100,200) and clan roster pages among them.
    profile_requests: usize,
    roster_requests: usize,
    throttled: usize,
    faults: usize,
    faults_by_kind: BTreeMap<FaultKind, usize>,
    /// Expected activities stored after the run.
    stored: usize,
    expected: usize,
    /// Activities stored that the world does not expect (Gambit private, say).
    unexpected: usize,
    /// Queue rows left unsynced.
    left_queued: usize,
    /// CPU time of this process while dclisync ran: the fake, mostly.
    fake_cpu: Duration,
}

impl SyncRun {
    fn completeness(&self) -> f64 {
        100.0 * self.stored as f64 / self.expected.max(1) as f64
    }

    fn rate(&self) -> f64 {
        self.stored as f64 / self.measured.wall.as_secs_f64().max(1e-9)
    }
}

/// Runs `dclisync --sync extra…` on `data` against `fake` and checks the database.
fn sync_once(
    bin: &Path,
    expected: &BTreeSet<i64>,
    fake: &FakeBungie,
    data: &Path,
    extra: &[&str],
    work: &Path,
) -> Result<SyncRun, String> {
    let mark = fake.mark();
    let mut args: Vec<OsString> = vec!["-D".into(), data.into(), "--sync".into()];
    args.extend(extra.iter().map(OsString::from));
    let cpu_before = process_cpu();
    let measured = measure(bin, &args, &env_for(fake), work)?;
    let fake_cpu = process_cpu().saturating_sub(cpu_before);
    let log = fake.requests_since(mark);
    let (stored, unexpected, left_queued) = database_state(data, expected)?;
    Ok(SyncRun {
        requests: log.len(),
        report_requests: log.iter().filter(|r| r.is_pgcr()).count(),
        profile_requests: log
            .iter()
            .filter(|r| r.path.contains("/Profile/") && r.query.contains("components="))
            .count(),
        roster_requests: log.iter().filter(|r| r.path.starts_with("/Platform/GroupV2/")).count(),
        throttled: log.iter().filter(|r| r.throttled).count(),
        faults: log.iter().filter(|r| r.fault.is_some()).count(),
        faults_by_kind: log.iter().filter_map(|r| r.fault).fold(BTreeMap::new(), |mut m, k| {
            *m.entry(k).or_insert(0) += 1;
            m
        }),
        stored,
        expected: expected.len(),
        unexpected,
        left_queued,
        measured,
        fake_cpu,
    })
}

/// (expected activities stored, unexpected activities stored, unsynced queue rows).
fn database_state(data: &Path, expected: &BTreeSet<i64>) -> Result<(usize, usize, usize), String> {
    let path = dclisync_testkit::db_path(data);
    let db = rusqlite::Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let sql = |e: rusqlite::Error| format!("{}: {e}", path.display());
    let mut stmt = db.prepare("SELECT activity_id FROM activity").map_err(sql)?;
    let ids: BTreeSet<i64> = stmt.query_map([], |r| r.get(0)).map_err(sql)?.collect::<Result<_, _>>().map_err(sql)?;
    let left: i64 =
        db.query_row("SELECT COUNT(*) FROM activity_queue WHERE synced = 0", [], |r| r.get(0)).map_err(sql)?;
    let stored = ids.intersection(expected).count();
    Ok((stored, ids.len() - stored, left as usize))
}

/// A fresh fake and data folder, the players added, then one measured first sync; with `idle`,
/// also a second (idle) sync with dclisync's defaults.
fn first_sync(
    bin: &Path,
    scenario: &Scenario,
    options: FakeOptions,
    extra: &[&str],
    idle: bool,
) -> Result<(SyncRun, Option<SyncRun>), String> {
    let work = tempfile::tempdir().map_err(|e| e.to_string())?;
    let data = scenario.added(bin, work.path())?;
    let fake = FakeBungie::start_with(scenario.world.clone(), KEY, 0, options);
    let first = sync_once(bin, &scenario.expected, &fake, &data, extra, work.path())?;
    let second = if idle { Some(sync_once(bin, &scenario.expected, &fake, &data, &[], work.path())?) } else { None };
    Ok((first, second))
}

// ---------------------------------------------------------------------------------------------
// The table

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// One line of the table: a figure, its median over the runs, min and max, and the target.
struct Row {
    figure: String,
    values: Vec<f64>,
    unit: &'static str,
    decimals: usize,
    /// (target text, met by the median)
    target: Option<(String, bool)>,
}

impl Row {
    fn new(figure: impl Into<String>, values: Vec<f64>, unit: &'static str, decimals: usize) -> Row {
        Row { figure: figure.into(), values, unit, decimals, target: None }
    }

    fn at_least(mut self, bound: f64, text: &str) -> Row {
        let met = median(self.values.clone()) >= bound;
        self.target = Some((text.to_owned(), met));
        self
    }

    fn at_most(mut self, bound: f64, text: &str) -> Row {
        let met = median(self.values.clone()) <= bound;
        self.target = Some((text.to_owned(), met));
        self
    }

    fn print(&self) {
        let d = self.decimals;
        let med = median(self.values.clone());
        let min = self.values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = self.values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let spread = if self.values.len() > 1 { format!("{min:.d$} – {max:.d$}") } else { String::new() };
        let target = match &self.target {
            Some((text, true)) => format!("{text}  met"),
            Some((text, false)) => format!("{text}  MISSED"),
            None => String::new(),
        };
        println!("  {:<46} {:>10.d$} {:<8} {:<19} {}", self.figure, med, self.unit, spread, target);
    }
}

fn section(title: &str) {
    println!("{title}");
}

/// The 1, 5 and 15 minute load averages: other work on the machine slows wall times down.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".to_owned())
}

fn kb_to_mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

/// Rows common to the first-sync figures.
fn sync_rows(runs: &[SyncRun]) -> Vec<Row> {
    let col = |f: &dyn Fn(&SyncRun) -> f64| runs.iter().map(f).collect::<Vec<f64>>();
    vec![
        Row::new("wall time", col(&|r| r.measured.wall.as_secs_f64()), "s", 1),
        Row::new("PGCRs stored per second", col(&|r| r.rate()), "/s", 0),
        Row::new("requests", col(&|r| r.requests as f64), "", 0),
        Row::new("throttled answers", col(&|r| r.throttled as f64), "", 0),
        Row::new("completeness after one run", col(&|r| r.completeness()), "%", 1).at_least(100.0, "100 %"),
        Row::new("left queued", col(&|r| r.left_queued as f64), "", 0),
        Row::new("peak RSS", col(&|r| kb_to_mb(r.measured.max_rss_kb)), "MB", 1),
        Row::new("CPU time of dclisync", col(&|r| r.measured.cpu.as_secs_f64()), "s", 1),
        Row::new("CPU time of the fake Bungie", col(&|r| r.fake_cpu.as_secs_f64()), "s", 1),
    ]
}

/// Gives the row named `figure` its target.
fn set_target(rows: &mut [Row], figure: &str, target: impl FnOnce(Row) -> Row) {
    if let Some(row) = rows.iter_mut().find(|r| r.figure == figure) {
        let placeholder = Row::new("", Vec::new(), "", 0);
        *row = target(std::mem::replace(row, placeholder));
    }
}

/// Warns about runs that failed or stored what they should not, below the figure.
fn run_notes(runs: &[SyncRun]) {
    for (i, r) in runs.iter().enumerate() {
        if !r.measured.ok() {
            println!("    run {}: dclisync {}", i + 1, r.measured.why());
        }
        if r.unexpected > 0 {
            println!("    run {}: {} activities stored that the world does not list", i + 1, r.unexpected);
        }
    }
}

fn run(args: &Args) -> Result<(), String> {
    let runs = if args.quick { 1 } else { args.runs.max(1) };
    let mut only: BTreeSet<String> = BTreeSet::new();
    for name in &args.only {
        match name.trim() {
            "net" => only.extend(["limited", "unlimited", "faults", "idle"].map(String::from)),
            n @ ("ingest" | "limited" | "unlimited" | "faults" | "idle" | "rss" | "reparse" | "players") => {
                only.insert(n.to_owned());
            }
            other => return Err(format!("unknown figure {other:?} in --only; see --help")),
        }
    }
    let wants = |name: &str| only.contains(name);
    let bin = match &args.dclisync {
        Some(path) => path.clone(),
        None => {
            let me = std::env::current_exe().map_err(|e| e.to_string())?;
            me.parent().and_then(Path::parent).map(|d| d.join("dclisync")).ok_or("cannot locate dclisync")?
        }
    };
    if !bin.is_file() {
        return Err(format!(
            "{} does not exist: build it with `cargo build --release --bin dclisync` or pass --dclisync",
            bin.display()
        ));
    }
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "dclisync benchmarks: {} ({cpus} CPUs); median of {runs} run{} (min – max)",
        bin.display(),
        if runs == 1 { "" } else { "s" }
    );
    println!("load average before: {}", load_average());
    let started = Instant::now();

    let needs_big = wants("rss") || wants("ingest") || wants("reparse");
    let big = needs_big.then(|| Scenario::new(MATCHES_5000));

    if wants("ingest") {
        let world = &big.as_ref().ok_or("no world")?.world;
        let work = tempfile::tempdir().map_err(|e| e.to_string())?;
        let input = work.path().join("reports.jsonl");
        write_ingest_input(world, args.ingest, &input)?;
        let results: Vec<IngestRun> = (0..runs).map(|_| ingest_run(&input, args.ingest)).collect::<Result<_, _>>()?;
        section(&format!(
            "1  ingest: parse, normalize and store {} twelve-player reports, one thread, no network",
            args.ingest
        ));
        Row::new("reports per second", results.iter().map(|r| r.rate).collect(), "/s", 0)
            .at_least(2000.0, "≥ 2000 /s")
            .print();
        Row::new("reports per CPU second", results.iter().map(|r| r.cpu_rate).collect(), "/s", 0).print();
        let names =
            ["CPU per report: JSON to typed report", "CPU per report: normalize", "CPU per report: store (batched)"];
        for (i, name) in names.iter().enumerate() {
            Row::new(*name, results.iter().map(|r| r.phases_us[i]).collect(), "µs", 0).print();
        }
        Row::new("peak RSS", results.iter().map(|r| kb_to_mb(r.max_rss_kb)).collect(), "MB", 1).print();
    }

    let sync_figures = ["limited", "unlimited", "faults", "idle"].iter().any(|f| wants(f));
    let mid = sync_figures.then(|| Scenario::new(MATCHES_1500));
    let latency = Duration::from_millis(args.latency_ms);
    let limited = FakeOptions { latency, limit: Some(BUNGIE_LIMIT), ..FakeOptions::default() };
    let unlimited = FakeOptions { latency, ..FakeOptions::default() };
    let lifted = ["--max-rps", "0", "--concurrency", "50"];

    if wants("limited") {
        let scenario = mid.as_ref().ok_or("no world")?;
        let results: Vec<SyncRun> = (0..runs)
            .map(|_| first_sync(&bin, scenario, limited.clone(), &[], false).map(|r| r.0))
            .collect::<Result<_, _>>()?;
        section(&format!(
            "2a first sync of {} reports, {} ms latency, fake enforces 250 per 10 s; dclisync defaults",
            scenario.expected.len(),
            args.latency_ms
        ));
        let mut rows = sync_rows(&results);
        set_target(&mut rows, "throttled answers", |r| r.at_most(0.0, "0"));
        for row in rows {
            row.print();
        }
        let ideal: Vec<f64> = results
            .iter()
            .map(|r| r.measured.wall.as_secs_f64() / (r.requests as f64 / 25.0) * 100.0 - 100.0)
            .collect();
        Row::new("wall time over requests ÷ 25/s", ideal, "%", 1).at_most(15.0, "≤ 15 %").print();
        run_notes(&results);
    }

    let mut idle_runs = Vec::new();
    let mut rss_of_2b = None;
    if wants("unlimited") || wants("idle") {
        let scenario = mid.as_ref().ok_or("no world")?;
        let mut results = Vec::new();
        for _ in 0..runs {
            let (first, idle) = first_sync(&bin, scenario, unlimited.clone(), &lifted, wants("idle"))?;
            results.push(first);
            idle_runs.extend(idle);
        }
        if wants("unlimited") {
            section(&format!(
                "2b first sync of {} reports, {} ms latency, no limit; --max-rps 0 --concurrency 50",
                scenario.expected.len(),
                args.latency_ms
            ));
            rss_of_2b = Some((scenario.expected.len(), results.clone()));
            let mut rows = sync_rows(&results);
            set_target(&mut rows, "PGCRs stored per second", |r| r.at_least(300.0, "≥ 300 /s"));
            for row in rows {
                row.print();
            }
            run_notes(&results);
        }
    }

    if wants("faults") {
        let scenario = mid.as_ref().ok_or("no world")?;
        let mut results = Vec::new();
        for i in 0..runs {
            let options = FakeOptions { fault_rate: FAULT_RATE, fault_seed: 1 + i as u64, ..limited.clone() };
            results.push(first_sync(&bin, scenario, options, &[], false)?.0);
        }
        section(&format!(
            "2c as 2a with 5 % of requests failing (mixed transient faults, seeds 1..={runs}); {} reports",
            scenario.expected.len()
        ));
        let mut rows = sync_rows(&results);
        rows.insert(4, Row::new("faults injected", results.iter().map(|r| r.faults as f64).collect(), "", 0));
        for row in rows {
            row.print();
        }
        let mut kinds: BTreeMap<FaultKind, usize> = BTreeMap::new();
        for (kind, n) in results.iter().flat_map(|r| &r.faults_by_kind) {
            *kinds.entry(*kind).or_insert(0) += n;
        }
        let kinds: Vec<String> = kinds.iter().map(|(k, n)| format!("{} {n}", k.name())).collect();
        println!("    faults by kind, all runs: {}", kinds.join(", "));
        run_notes(&results);
    }

    if wants("idle") {
        section(&format!(
            "3  idle round: a second --sync of the world of 2b, dclisync defaults, {} ms latency",
            args.latency_ms
        ));
        Row::new("requests", idle_runs.iter().map(|r| r.requests as f64).collect(), "", 0).print();
        Row::new("wall time", idle_runs.iter().map(|r| r.measured.wall.as_secs_f64()).collect(), "s", 2).print();
        Row::new("report requests", idle_runs.iter().map(|r| r.report_requests as f64).collect(), "", 0)
            .at_most(0.0, "0")
            .print();
        run_notes(&idle_runs);
    }

    if wants("rss") {
        let scenario = big.as_ref().ok_or("no world")?;
        let results: Vec<SyncRun> = (0..runs)
            .map(|_| first_sync(&bin, scenario, unlimited.clone(), &lifted, false).map(|r| r.0))
            .collect::<Result<_, _>>()?;
        section(&format!(
            "4  first sync of {} reports, {} ms latency, no limit; --max-rps 0 --concurrency 50",
            scenario.expected.len(),
            args.latency_ms
        ));
        let mut rows = sync_rows(&results);
        set_target(&mut rows, "peak RSS", |r| r.at_most(25.0, "≤ 25 MB"));
        for row in rows {
            row.print();
        }
        if let Some((reports, small)) = &rss_of_2b {
            let rss = |runs: &[SyncRun]| median(runs.iter().map(|r| kb_to_mb(r.measured.max_rss_kb)).collect());
            let growth = rss(&results) - rss(small);
            let figure =
                format!("peak RSS over 2b's ({:.1}× the reports)", scenario.expected.len() as f64 / *reports as f64);
            Row::new(figure, vec![growth], "MB", 1).print();
        }
        run_notes(&results);
    }
    if wants("reparse") {
        let scenario = big.as_ref().ok_or("no world")?;
        reparse_figures(&bin, scenario, runs, &unlimited, &lifted)?;
    }
    if wants("players") {
        player_figures(&bin, &args.players, runs)?;
    }
    println!("load average after: {}; the benchmarks took {:.0} s", load_average(), started.elapsed().as_secs_f64());
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Figure 6: many players, one clan, the roster gate

/// A clan of `players` tracked players with short histories: one character each, one public
/// match (and the matches other players share). A generated report is large in memory, so the
/// world is made once per size and served by one fake for every run.
fn clan_world(players: usize) -> World {
    World::generate(&WorldConfig {
        players,
        characters_per_player: 1,
        public_matches_per_character: 1,
        busiest_character_public_matches: 0,
        private_matches_per_character: 0,
        gambit_private_per_character: 0,
        deleted_characters: 0,
        shared_fraction: 0.1,
        opponents: 200,
        ..WorldConfig::small()
    })
}

/// What one size of figure 6 measured.
struct PlayersRun {
    first: SyncRun,
    idle: SyncRun,
    /// The idle round again with `--max-staleness 0` (the gate off).
    ungated: SyncRun,
    list: Measured,
}

/// Imports the clan and syncs it (measured as one first sync), then an idle round with the
/// defaults, one with the gate off, and `--list`; no latency and no limit, so the figures are
/// dclisync's own work (the requests say what Bungie's 25/s would add).
fn players_run(bin: &Path, fake: &FakeBungie, group: &str, expected: &BTreeSet<i64>) -> Result<PlayersRun, String> {
    let work = tempfile::tempdir().map_err(|e| e.to_string())?;
    let data = work.path().join("data");
    let unlimited = ["--max-rps", "0", "--concurrency", "50"];
    let first =
        sync_once(bin, expected, fake, &data, &[&["--import-group", group][..], &unlimited].concat(), work.path())?;
    let idle = sync_once(bin, expected, fake, &data, &["--max-rps", "0"], work.path())?;
    let ungated = sync_once(bin, expected, fake, &data, &["--max-rps", "0", "--max-staleness", "0"], work.path())?;
    let list = measure(bin, &["-D".into(), data.into_os_string(), "--list".into()], &[], work.path())?;
    if !list.ok() {
        return Err(format!("dclisync --list failed: {}", list.why()));
    }
    Ok(PlayersRun { first, idle, ungated, list })
}

fn player_figures(bin: &Path, sizes: &[usize], runs: usize) -> Result<(), String> {
    for &players in sizes {
        let generated = Instant::now();
        let world = clan_world(players);
        let made = generated.elapsed().as_secs_f64();
        let expected = world.expected_activity_ids();
        let (group, members, pages) =
            (world.clan.group_id.clone(), world.clan.members().count(), world.clan.pages.len());
        let fake = FakeBungie::start_with(world, KEY, 0, FakeOptions::default());
        let results: Vec<PlayersRun> =
            (0..runs).map(|_| players_run(bin, &fake, &group, &expected)).collect::<Result<_, _>>()?;
        drop(fake);
        section(&format!(
            "6  {players} tracked players in one clan of {members} members ({pages} roster pages), {} reports; no \
             latency, --max-rps 0 (world made in {made:.0} s)",
            expected.len(),
        ));
        let col = |f: &dyn Fn(&PlayersRun) -> f64| results.iter().map(f).collect::<Vec<f64>>();
        let per_player = |n: f64| n / players as f64;
        Row::new("first sync (import + sync): wall time", col(&|r| r.first.measured.wall.as_secs_f64()), "s", 1)
            .print();
        Row::new("first sync: CPU time of dclisync", col(&|r| r.first.measured.cpu.as_secs_f64()), "s", 1).print();
        Row::new("first sync: CPU time of the fake", col(&|r| r.first.fake_cpu.as_secs_f64()), "s", 1).print();
        Row::new("first sync: requests", col(&|r| r.first.requests as f64), "", 0).print();
        Row::new("first sync: completeness", col(&|r| r.first.completeness()), "%", 1).at_least(100.0, "100 %").print();
        Row::new("first sync: peak RSS", col(&|r| kb_to_mb(r.first.measured.max_rss_kb)), "MB", 1).print();
        let idle_bound = (players / 10) as f64;
        Row::new("idle round: requests", col(&|r| r.idle.requests as f64), "", 0)
            .at_most(idle_bound, &format!("≤ {idle_bound:.0}"))
            .print();
        Row::new("idle round: roster pages", col(&|r| r.idle.roster_requests as f64), "", 0).print();
        Row::new("idle round: profile reads", col(&|r| r.idle.profile_requests as f64), "", 0).print();
        Row::new("idle round: wall time", col(&|r| r.idle.measured.wall.as_secs_f64()), "s", 2).print();
        Row::new(
            "idle round: ms per player",
            col(&|r| per_player(r.idle.measured.wall.as_secs_f64() * 1000.0)),
            "ms",
            3,
        )
        .print();
        Row::new("idle round: at Bungie's 25/s", col(&|r| r.idle.requests as f64 / 25.0), "s", 1).print();
        Row::new("idle round: peak RSS", col(&|r| kb_to_mb(r.idle.measured.max_rss_kb)), "MB", 1).print();
        Row::new("idle round, --max-staleness 0: requests", col(&|r| r.ungated.requests as f64), "", 0).print();
        Row::new("idle round, --max-staleness 0: profile reads", col(&|r| r.ungated.profile_requests as f64), "", 0)
            .at_least(players as f64, &format!("{players}"))
            .print();
        Row::new("idle round, --max-staleness 0: wall time", col(&|r| r.ungated.measured.wall.as_secs_f64()), "s", 2)
            .print();
        Row::new("--list: wall time", col(&|r| r.list.wall.as_secs_f64()), "s", 2).print();
        Row::new("--list: ms per player", col(&|r| per_player(r.list.wall.as_secs_f64() * 1000.0)), "ms", 3).print();
        for r in &results {
            run_notes(&[r.first.clone(), r.idle.clone(), r.ungated.clone()]);
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Figure 5: the archive and --reparse

/// A user rule that changes every public match: each reparse of a synced world rewrites them.
const REPARSE_RULE: &str = "[[rule]]\nprivate = false\nadd = [999]\n";

/// One measured `--reparse`: the measurement and the reports it read.
fn reparse_once(bin: &Path, data: &Path, work: &Path) -> Result<(Measured, f64), String> {
    let args: Vec<OsString> = vec!["-D".into(), data.into(), "--reparse".into()];
    let m = measure(bin, &args, &[], work)?;
    if !m.ok() {
        return Err(format!("dclisync --reparse failed: {}", m.why()));
    }
    let reparsed = m.stdout.split(" reports reparsed").next().and_then(|n| n.trim().rsplit(' ').next()?.parse().ok());
    Ok((m, reparsed.ok_or("--reparse printed no count")?))
}

/// Bytes of the archive copies, the database's bytes, and its bytes without the archive.
fn archive_sizes(data: &Path, work: &Path) -> Result<(f64, f64, f64, f64), String> {
    let path = dclisync_testkit::db_path(data);
    let err = |e: rusqlite::Error| format!("{}: {e}", path.display());
    let db = rusqlite::Connection::open(&path).map_err(err)?;
    let (count, bytes): (i64, i64) = db
        .query_row("SELECT COUNT(*), COALESCE(SUM(LENGTH(body)), 0) FROM dclisync_archive", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .map_err(err)?;
    let copy = work.join("without-archive.sqlite3");
    let whole = work.join("whole.sqlite3");
    db.execute("VACUUM INTO ?1", [whole.to_string_lossy()]).map_err(err)?;
    db.execute("VACUUM INTO ?1", [copy.to_string_lossy()]).map_err(err)?;
    let stripped = rusqlite::Connection::open(&copy).map_err(err)?;
    stripped.execute_batch("DELETE FROM dclisync_archive; VACUUM;").map_err(err)?;
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len() as f64).map_err(|e| e.to_string());
    Ok((count as f64, bytes as f64, size(&whole)?, size(&copy)?))
}

fn reparse_figures(
    bin: &Path,
    scenario: &Scenario,
    runs: usize,
    options: &FakeOptions,
    lifted: &[&str],
) -> Result<(), String> {
    let (mut rates, mut rss, mut idle_rates, mut per_report, mut shares) = (vec![], vec![], vec![], vec![], vec![]);
    for _ in 0..runs {
        let work = tempfile::tempdir().map_err(|e| e.to_string())?;
        let data = scenario.added(bin, work.path())?;
        let fake = FakeBungie::start_with(scenario.world.clone(), KEY, 0, options.clone());
        sync_once(bin, &scenario.expected, &fake, &data, lifted, work.path())?;
        let (count, bytes, whole, without) = archive_sizes(&data, work.path())?;
        per_report.push(bytes / count.max(1.0));
        shares.push(100.0 * (whole - without) / without.max(1.0));
        std::fs::write(data.join("fixups.toml"), REPARSE_RULE).map_err(|e| e.to_string())?;
        let (m, n) = reparse_once(bin, &data, work.path())?;
        rates.push(n / m.wall.as_secs_f64().max(1e-9));
        rss.push(kb_to_mb(m.max_rss_kb));
        let (m, n) = reparse_once(bin, &data, work.path())?;
        idle_rates.push(n / m.wall.as_secs_f64().max(1e-9));
    }
    section(&format!(
        "5  archive and --reparse of {} reports (every public match changed by a rule)",
        scenario.expected.len()
    ));
    Row::new("archive bytes per report", per_report, "B", 0).print();
    Row::new("archive share of the database without it", shares, "%", 1).at_most(25.0, "< 25 %").print();
    Row::new("--reparse reports per second", rates, "/s", 0).at_least(3000.0, "≥ 3000 /s").print();
    Row::new("--reparse peak RSS", rss, "MB", 1).at_most(25.0, "≤ 25 MB").print();
    Row::new("second --reparse (nothing changes) reports per second", idle_rates, "/s", 0).print();
    testdata_sizes()
}

/// Each hand-written report of `testdata/pgcr/` (shaped like Bungie's, keys in Bungie's order),
/// compacted as Bungie sends it: its bytes archived, and with DEFLATE 9 (the first format).
fn testdata_sizes() -> Result<(), String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/pgcr");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    println!("    testdata/pgcr, bytes of Response → archived (DEFLATE 9):");
    let (mut raw, mut packed, mut deflated) = (0, 0, 0);
    for file in &files {
        let text = std::fs::read_to_string(file).map_err(|e| e.to_string())?;
        let response = dclisync_testkit::compact_response(&text)?;
        let copy = dclisync::core::archive::pack(&response).len();
        let old = dclisync::core::archive::deflate(response.as_bytes()).len();
        (raw, packed, deflated) = (raw + response.len(), packed + copy, deflated + old);
        println!(
            "    {:<30} {:>6} → {copy:>5} B ({:>4.1} %)   ({old} B)",
            file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            response.len(),
            100.0 * copy as f64 / response.len().max(1) as f64
        );
    }
    let n = files.len().max(1);
    println!(
        "    {:<30} {:>6} → {:>5} B ({:>4.1} %)   ({} B)",
        "mean",
        raw / n,
        packed / n,
        100.0 * packed as f64 / raw.max(1) as f64,
        deflated / n
    );
    Ok(())
}
