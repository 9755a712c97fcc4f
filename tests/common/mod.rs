//! Shared helpers of the integration tests: [`Dclisync`], which runs the real binary in a clean
//! environment with a timeout and captures what it printed, and the steps and soft checks the
//! tests repeat. The generated world, the fake Bungie serving it and the database reader are the
//! test kit's (`tests/kit/`, crate `dclisync-testkit`), re-exported here under their old names.

#![allow(dead_code)] // Each test uses a different part of the fixture.

use std::cell::{Cell, RefCell};
use std::ffi::OsStr;
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::rc::{Rc, Weak};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub use dclisync_testkit::{db_path, fake, world, Db, FakeBungie, World, WorldConfig, API_KEY};

mod stops;
pub use stops::{second_stop_quits_at_once, stop_mid_round_then_rerun};

/// Set on every run unless [`Dclisync::paced`]: no pace of dclisync's own.
const UNLIMITED: (&str, &str) = ("DCLISYNC_MAX_RPS", "0");

/// Longest a single run may take before it is killed and reported as hung.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(45);

/// Every run of the binary holds a shared turn of this lock while it lives; a test that measures
/// the binary's timing against a fake takes it whole ([`alone`]), so no other test's process
/// competes for the two cores while it measures. Writers are preferred: once the measuring test
/// asks, new runs wait until it is done.
static RUNS: RwLock<()> = RwLock::new(());

/// A thread's shared turn of [`RUNS`], held by each of its running processes.
type Turn = Rc<RwLockReadGuard<'static, ()>>;

thread_local! {
    /// Set while this thread holds [`RUNS`] whole: its own runs then need no shared turn.
    static ALONE: Cell<bool> = const { Cell::new(false) };
    /// The turn this thread's running processes share: a second concurrent run of one test
    /// must not ask again, or it would wait behind a waiting writer that waits for the first.
    static TURN: RefCell<Weak<RwLockReadGuard<'static, ()>>> = const { RefCell::new(Weak::new()) };
}

/// Holds every other test's runs back until dropped.
pub struct Alone {
    _whole: RwLockWriteGuard<'static, ()>,
}

impl Drop for Alone {
    fn drop(&mut self) {
        ALONE.with(|a| a.set(false));
    }
}

/// Waits until no other test runs the binary, and keeps it so until the guard is dropped: for
/// the tests that measure the pace of requests at the fake, which a loaded machine would skew.
pub fn alone() -> Alone {
    let whole = RUNS.write().unwrap_or_else(|e| e.into_inner());
    ALONE.with(|a| a.set(true));
    Alone { _whole: whole }
}

/// A shared turn of [`RUNS`] (this thread's, if it has one), unless it holds it whole.
fn turn() -> Option<Turn> {
    if ALONE.with(Cell::get) {
        return None;
    }
    TURN.with(|held| {
        let mut held = held.borrow_mut();
        Some(held.upgrade().unwrap_or_else(|| {
            let turn = Rc::new(RUNS.read().unwrap_or_else(|e| e.into_inner()));
            *held = Rc::downgrade(&turn);
            turn
        }))
    })
}

/// What one run of the binary did.
#[derive(Debug)]
pub struct Output {
    /// Exit code; `None` when killed by a signal (on Unix; Windows has no signals, and a process
    /// [`Running::kill`] ended exits 1).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
    /// Still running when [`Running::kill`] ended it: a crash in the middle of its work, on any
    /// system, where `code` tells it only on Unix.
    pub killed: bool,
    pub elapsed: Duration,
    pub command: String,
}

impl Output {
    /// stdout and stderr together, for "said somewhere" checks.
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    pub fn stderr_lower(&self) -> String {
        self.stderr.to_lowercase()
    }

    pub fn all_lower(&self) -> String {
        self.all().to_lowercase()
    }

    /// Fail with the whole transcript unless the run exited with `code`.
    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
        assert!(!self.timed_out && self.code == Some(code), "expected exit code {code}\n{self}");
        self
    }

    #[track_caller]
    pub fn assert_success(&self) -> &Self {
        self.assert_code(0)
    }
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const LIMIT: usize = 4000;
        let cut = |s: &str| -> String {
            if s.len() <= LIMIT {
                s.to_owned()
            } else {
                let mut end = LIMIT;
                while !s.is_char_boundary(end) {
                    end -= 1;
                }
                format!("{}… ({} bytes in all)", &s[..end], s.len())
            }
        };
        writeln!(f, "command: {}", self.command)?;
        writeln!(
            f,
            "exit: {:?}{} after {:.1?}",
            self.code,
            if self.timed_out { " (TIMED OUT, killed)" } else { "" },
            self.elapsed
        )?;
        writeln!(f, "--- stdout\n{}", cut(&self.stdout))?;
        write!(f, "--- stderr\n{}", cut(&self.stderr))
    }
}

/// A dclisync invocation under construction: `-D <dir>`, none of the environment that changes what
/// dclisync does ([`dclisync_testkit::DCLISYNC_ENV`]), a private HOME so nothing can touch the
/// real user's data, and Bungie's limit lifted (`DCLISYNC_MAX_RPS=0`): the fake has no limit of
/// its own unless a test gives it one, so only the tests about pacing ([`Dclisync::paced`]) wait
/// on the product's 25 requests per second.
pub struct Dclisync {
    cmd: Command,
    shown: Vec<String>,
    timeout: Duration,
}

impl Dclisync {
    pub fn new(data_dir: &Path) -> Self {
        let mut d = Self::without_data_dir(data_dir);
        d.cmd.arg("-D").arg(data_dir);
        d.shown.push(format!("-D {}", data_dir.display()));
        d
    }

    /// No `-D`; HOME and XDG dirs point below `sandbox`.
    pub fn without_data_dir(sandbox: &Path) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dclisync"));
        dclisync_testkit::clean_env(&mut cmd)
            .env("HOME", sandbox.join("home"))
            .env("XDG_DATA_HOME", sandbox.join("xdg-data"))
            .env("NO_COLOR", "1")
            .env(UNLIMITED.0, UNLIMITED.1)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        Dclisync { cmd, shown: vec!["dclisync".into()], timeout: DEFAULT_TIMEOUT }
    }

    /// Talk to `fake` with the key it accepts.
    pub fn api(self, fake: &FakeBungie) -> Self {
        self.api_root(&fake.uri()).key(API_KEY)
    }

    /// At the product's own default pace (25 requests per second over 10 s), as a user runs it:
    /// for the tests about pacing and Bungie's limit.
    pub fn paced(mut self) -> Self {
        self.cmd.env_remove(UNLIMITED.0);
        self.shown.insert(0, "(paced)".into());
        self
    }

    pub fn api_root(self, root: &str) -> Self {
        self.env("DCLISYNC_API_ROOT", root)
    }

    /// The key through `DESTINY_API_KEY`.
    pub fn key(self, key: &str) -> Self {
        self.env("DESTINY_API_KEY", key)
    }

    pub fn no_key(mut self) -> Self {
        self.cmd.env_remove("DESTINY_API_KEY");
        self.shown.retain(|s| !s.starts_with("DESTINY_API_KEY="));
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.cmd.env(key, value);
        self.shown.insert(0, format!("{key}={value}"));
        self
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.shown.push(format!("{:?}", arg.as_ref().to_string_lossy()));
        self.cmd.arg(arg);
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        for a in args {
            self = self.arg(a);
        }
        self
    }

    /// Starts the process as the leader of a console process group of its own, so that
    /// [`Running::ctrl_break`] reaches it alone. A test process without a console (a service
    /// runner) gets one first, for the child to share.
    #[cfg(windows)]
    pub fn in_own_console_group(mut self) -> Self {
        use std::os::windows::process::CommandExt;
        // SAFETY: no arguments; it fails harmlessly when a console is already attached.
        unsafe { windows_console::AllocConsole() };
        self.cmd.creation_flags(windows_console::CREATE_NEW_PROCESS_GROUP);
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn spawn(mut self) -> Running {
        let turn = turn();
        let command = self.shown.join(" ");
        let mut child = self.cmd.spawn().unwrap_or_else(|e| panic!("spawn {command}: {e}"));
        let out = Pipe::drain(child.stdout.take().expect("piped stdout"));
        let err = Pipe::drain(child.stderr.take().expect("piped stderr"));
        Running { child, out, err, started: Instant::now(), timeout: self.timeout, command, _turn: turn }
    }

    pub fn run(self) -> Output {
        self.spawn().wait()
    }
}

/// One output stream of the child, read as it comes so a test can watch a long-running process.
struct Pipe {
    seen: Arc<Mutex<Vec<u8>>>,
    reader: JoinHandle<()>,
}

impl Pipe {
    fn drain(mut pipe: impl Read + Send + 'static) -> Pipe {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        let reader = std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(&chunk[..n]);
            }
        });
        Pipe { seen, reader }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.seen.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }

    fn finish(self) -> String {
        let _ = self.reader.join();
        String::from_utf8_lossy(&self.seen.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }
}

/// A dclisync process that is still running.
pub struct Running {
    child: Child,
    out: Pipe,
    err: Pipe,
    started: Instant,
    timeout: Duration,
    command: String,
    /// Released when the process has been waited for.
    _turn: Option<Turn>,
}

impl Running {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn has_exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// What the process printed on stdout so far.
    pub fn stdout_so_far(&self) -> String {
        self.out.text()
    }

    /// What the process printed on stderr so far.
    pub fn stderr_so_far(&self) -> String {
        self.err.text()
    }

    /// Waits until `done(stdout, stderr)` holds, the process exits, or `timeout` passes; says
    /// whether `done` held.
    pub fn wait_for(&mut self, timeout: Duration, done: impl Fn(&str, &str) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if done(&self.out.text(), &self.err.text()) {
                return true;
            }
            if self.has_exited() || Instant::now() >= deadline {
                return done(&self.out.text(), &self.err.text());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Sends `signal` (e.g. `libc::SIGTERM`) to the process.
    #[cfg(unix)]
    pub fn signal(&self, signal: i32) {
        let pid = i32::try_from(self.child.id()).expect("pid fits in pid_t");
        // SAFETY: kill(2) has no memory effects; the pid is our own child, not yet reaped.
        let rc = unsafe { libc::kill(pid, signal) };
        assert_eq!(rc, 0, "kill({pid}, {signal}): {}", std::io::Error::last_os_error());
    }

    /// Sends the console's Ctrl-Break to the process, the Windows stop signal a test can aim
    /// at one process (Ctrl-C goes to every process on the console, the test runner too).
    /// dclisync's Ctrl-C handler takes both alike; the process must have been started
    /// [`Dclisync::in_own_console_group`].
    #[cfg(windows)]
    pub fn ctrl_break(&self) {
        // SAFETY: both calls take plain integers and touch no memory of ours.
        let sent = unsafe { windows_console::GenerateConsoleCtrlEvent(windows_console::CTRL_BREAK_EVENT, self.pid()) };
        assert_ne!(sent, 0, "GenerateConsoleCtrlEvent: {}", std::io::Error::last_os_error());
    }

    /// Wait for the exit, killing the process once its timeout has passed.
    pub fn wait(mut self) -> Output {
        let mut timed_out = false;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            if self.started.elapsed() > self.timeout {
                timed_out = true;
                let _ = self.child.kill();
                break self.child.wait().expect("wait after kill");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        self.finish(status.code(), timed_out, false)
    }

    /// Kills the process now, as a crash or `kill -9` would (SIGKILL on Unix, TerminateProcess
    /// on Windows), then collects the output; [`Output::killed`] says whether it was still
    /// running.
    pub fn kill(mut self) -> Output {
        let running = !self.has_exited();
        let _ = self.child.kill();
        let status = self.child.wait().expect("wait after kill");
        // On Unix the status tells a kill from an exit; on Windows, the process was running
        // just before.
        let killed = if cfg!(unix) { status.code().is_none() } else { running };
        self.finish(status.code(), false, killed)
    }

    fn finish(self, code: Option<i32>, timed_out: bool, killed: bool) -> Output {
        Output {
            code,
            stdout: self.out.finish(),
            stderr: self.err.finish(),
            timed_out,
            killed,
            elapsed: self.started.elapsed(),
            command: self.command,
        }
    }
}

/// What the stop tests allow between a stop (a signal, or Ctrl-Break on Windows) and the exit
/// for a graceful stop: the report in hand is saved and the process exits within a few seconds,
/// which users are promised as 2 s. The tests allow twice that, for a loaded 2-core machine; the
/// bugs they guard against wait out a report held back 20 s or the daemon's 30 s interval, far
/// beyond either.
pub const GRACEFUL_STOP: Duration = Duration::from_secs(4);
/// What "at once" means to the stop tests: no grace period at all, with room for a loaded 2-core
/// machine; what it tells apart is a 20 s report in hand or a 30 s sleep being waited out.
pub const AT_ONCE: Duration = Duration::from_secs(2);
/// Longest the stop tests wait for a line they expect.
pub const EXPECT_WITHIN: Duration = Duration::from_secs(30);

/// `--sync --daemon` of everyone on the list, at the shortest interval (30 s, never waited out);
/// on Windows in a console process group of its own, so that Ctrl-Break reaches it alone.
pub fn daemon(dir: &Path, fake: &FakeBungie) -> Running {
    let daemon = Dclisync::new(dir).api(fake).args(["--sync", "--daemon", "--interval", "30"]);
    #[cfg(windows)]
    let daemon = daemon.in_own_console_group();
    daemon.timeout(Duration::from_secs(90)).spawn()
}

/// Stops `running` with `stop` (a signal, Ctrl-Break) and waits for the exit; returns how long
/// it took.
pub fn time_exit(running: &mut Running, stop: impl FnOnce(&Running)) -> Duration {
    let sent = Instant::now();
    stop(running);
    while !running.has_exited() && sent.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(2));
    }
    sent.elapsed()
}

/// A fresh temporary data dir (removed when dropped).
pub fn data_dir() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("dclisync-test-").tempdir().expect("temp dir")
}

/// `-A NAME#CODE...` with every player of the world; asserts success.
pub fn add_all(dir: &Path, fake: &FakeBungie) -> Output {
    let names: Vec<String> = fake.world().players.iter().map(|p| p.bungie_name()).collect();
    let out = Dclisync::new(dir).api(fake).arg("-A").args(&names).run();
    out.assert_success();
    out
}

/// `--sync` of everyone on the list.
pub fn sync(dir: &Path, fake: &FakeBungie) -> Output {
    Dclisync::new(dir).api(fake).arg("--sync").run()
}

/// `--list`, without key or API (listing needs neither).
pub fn list(dir: &Path) -> Output {
    Dclisync::new(dir).arg("--list").run()
}

/// A complete clean sync of every player of `config`'s world on a fresh data dir; returns the dir.
pub fn clean_run(config: &WorldConfig) -> (tempfile::TempDir, FakeBungie) {
    let fake = FakeBungie::start(World::generate(config), API_KEY);
    let dir = data_dir();
    add_all(dir.path(), &fake);
    sync(dir.path(), &fake).assert_success();
    (dir, fake)
}

/// Soft assertions: collect every failed check, then fail once listing them all, so one run
/// reports every way the binary missed the contract.
#[derive(Default)]
pub struct Checks {
    failures: Vec<String>,
}

impl Checks {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn that(&mut self, what: &str, ok: bool, detail: impl FnOnce() -> String) {
        if !ok {
            self.failures.push(format!("{what}: {}", detail()));
        }
    }

    pub fn eq<T: PartialEq + std::fmt::Debug>(&mut self, what: &str, actual: T, expected: T) {
        if actual != expected {
            self.failures.push(format!("{what}: got {actual:?}, expected {expected:?}"));
        }
    }

    /// Compare two sets, reporting sizes and a few members of each difference.
    pub fn same_set<T: Ord + std::fmt::Debug + Clone>(
        &mut self,
        what: &str,
        actual: &std::collections::BTreeSet<T>,
        expected: &std::collections::BTreeSet<T>,
    ) {
        if actual != expected {
            let missing: Vec<T> = expected.difference(actual).take(5).cloned().collect();
            let extra: Vec<T> = actual.difference(expected).take(5).cloned().collect();
            self.failures.push(format!(
                "{what}: {} stored, {} expected; {} missing (e.g. {missing:?}), {} unexpected (e.g. {extra:?})",
                actual.len(),
                expected.len(),
                expected.difference(actual).count(),
                actual.difference(expected).count(),
            ));
        }
    }

    #[track_caller]
    pub fn finish(self, context: impl std::fmt::Display) {
        assert!(
            self.failures.is_empty(),
            "{} check(s) failed:\n  - {}\n{context}",
            self.failures.len(),
            self.failures.join("\n  - ")
        );
    }
}

/// The two console calls the Windows stop tests need, declared here rather than adding a crate
/// for them.
#[cfg(windows)]
mod windows_console {
    pub const CTRL_BREAK_EVENT: u32 = 1;
    /// `CreateProcess` flag: the child leads a new console process group.
    pub const CREATE_NEW_PROCESS_GROUP: u32 = 0x0000_0200;

    #[link(name = "kernel32")]
    extern "system" {
        pub fn GenerateConsoleCtrlEvent(ctrl_event: u32, process_group_id: u32) -> i32;
        pub fn AllocConsole() -> i32;
    }
}
