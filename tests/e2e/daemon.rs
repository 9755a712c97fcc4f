//! `--daemon` and signals: the real binary stopped by SIGTERM, SIGINT and SIGHUP at chosen
//! moments, woken by SIGUSR1 instead of waiting out its interval, and kept running through an
//! outage. Each test checks the exit code, how fast the exit came, what was printed, and the
//! database left on disk.

#![cfg(unix)]

use std::time::{Duration, Instant};

use crate::common::{
    add_all, daemon, data_dir, second_stop_quits_at_once, stop_mid_round_then_rerun, sync, Checks, Db, Dclisync,
    FakeBungie, Running, World, WorldConfig, API_KEY, AT_ONCE, EXPECT_WITHIN, GRACEFUL_STOP,
};

/// Sends `signal` and waits for the exit; returns how long it took.
fn time_exit(running: &mut Running, signal: i32) -> Duration {
    crate::common::time_exit(running, |r| r.signal(signal))
}

/// Waits for `needle` on stdout, failing with the transcript when it does not come.
#[track_caller]
fn expect_stdout(running: &mut Running, needle: &str) {
    if !running.wait_for(EXPECT_WITHIN, |out, _| out.contains(needle)) {
        panic!(
            "no {needle:?} on stdout\n--- stdout\n{}\n--- stderr\n{}",
            running.stdout_so_far(),
            running.stderr_so_far()
        );
    }
}

#[test]
fn sigterm_mid_round_saves_what_arrived_exits_143_within_2_s_and_a_rerun_completes_the_database() {
    stop_mid_round_then_rerun(|r| r.signal(libc::SIGTERM), 143, "stopped by SIGTERM");
}

#[test]
fn a_one_off_sync_stuck_on_slow_reports_exits_143_within_2_s_of_sigterm_and_a_rerun_completes() {
    let fake = FakeBungie::start(World::generate(&WorldConfig::tiny()), API_KEY);
    let dir = data_dir();
    add_all(dir.path(), &fake);
    // Every report answer hangs far longer than the grace period (but under the read timeout).
    fake.delay_pgcrs(Duration::from_secs(20));
    let mut running = Dclisync::new(dir.path()).api(&fake).arg("--sync").spawn();
    let deadline = Instant::now() + EXPECT_WITHIN;
    while fake.pgcr_requests() == 0 && !running.has_exited() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
    // Let the workers get well into their requests.
    std::thread::sleep(Duration::from_millis(100));
    let took = time_exit(&mut running, libc::SIGTERM);
    let out = running.wait();

    let mut checks = Checks::new();
    checks.eq("exit code", out.code, Some(143));
    checks
        .that("exit within a few seconds although requests hang", took < GRACEFUL_STOP, || format!("took {took:.2?}"));
    checks.that("the early quit is explained", out.stderr.contains("did not finish in time; quitting now"), || {
        out.stderr.clone()
    });
    checks.eq("nothing stored from the hanging requests", Db::open(dir.path()).activity_ids().len(), 0);
    checks.finish(&out);

    fake.heal();
    sync(dir.path(), &fake).assert_success();
    let stored = Db::open(dir.path()).activity_ids();
    assert_eq!(stored, fake.world().expected_activity_ids(), "the rerun completes the database");
}

#[test]
fn a_stop_signal_during_the_sleep_exits_at_once_with_its_code() {
    let fake = FakeBungie::start(World::generate(&WorldConfig::tiny()), API_KEY);
    let dir = data_dir();
    add_all(dir.path(), &fake);
    for (signal, code) in [(libc::SIGINT, 130), (libc::SIGHUP, 129), (libc::SIGTERM, 143)] {
        let mut running = daemon(dir.path(), &fake);
        expect_stdout(&mut running, "round 1 ended");
        // SIGUSR1 starts the next round now instead of after the 30 s interval.
        running.signal(libc::SIGUSR1);
        expect_stdout(&mut running, "round 2 ended");
        let took = time_exit(&mut running, signal);
        let out = running.wait();
        let mut checks = Checks::new();
        checks.eq("exit code", out.code, Some(code));
        checks.that("exit at once", took < AT_ONCE, || format!("took {took:.2?}"));
        checks.that("said why", out.stderr.contains("while waiting for the next round"), || out.stderr.clone());
        checks.finish(&out);
    }
    assert_eq!(Db::open(dir.path()).activity_ids(), fake.world().expected_activity_ids());
}

#[test]
fn a_second_signal_exits_at_once_without_waiting_for_the_reports_in_hand() {
    for (first, second, code) in [(libc::SIGINT, libc::SIGINT, 130), (libc::SIGTERM, libc::SIGINT, 130)] {
        second_stop_quits_at_once(|r| r.signal(first), |r| r.signal(second), code);
    }
}

#[test]
fn an_outage_is_reported_when_it_starts_and_when_it_ends_and_the_round_after_completes_the_data() {
    let fake = FakeBungie::start(World::generate(&WorldConfig::small()), API_KEY);
    let expected = fake.world().expected_activity_ids();
    let dir = data_dir();
    add_all(dir.path(), &fake);

    // Round 1: the report server fails every request; the round gives up and says so.
    fake.fail_pgcrs_after(0);
    let mut running = daemon(dir.path(), &fake);
    assert!(
        running.wait_for(EXPECT_WITHIN, |_, err| err.contains("round 1 failed")),
        "round 1 did not fail\n{}",
        running.stderr_so_far()
    );
    let after_round_1 = running.stderr_so_far();
    // Round 2: Bungie.net is in maintenance. The same outage: nothing more on stderr.
    fake.start_maintenance();
    running.signal(libc::SIGUSR1);
    expect_stdout(&mut running, "round 2 ended");
    let after_round_2 = running.stderr_so_far();
    // Round 3: all is well again.
    fake.heal();
    running.signal(libc::SIGUSR1);
    expect_stdout(&mut running, "outage that began in round 1 is over");
    let took = time_exit(&mut running, libc::SIGTERM);
    let out = running.wait();

    let mut checks = Checks::new();
    checks.eq("exit code", out.code, Some(143));
    checks.that("SIGTERM while asleep exits at once", took < AT_ONCE, || format!("took {took:.2?}"));
    let failed_lines: Vec<&str> = out.stderr.lines().filter(|l| l.contains("failed")).collect();
    checks.that("the outage's start is reported once", failed_lines.len() == 1, || format!("{failed_lines:?}"));
    checks.eq("nothing more on stderr in the outage's second round", &after_round_2[after_round_1.len()..], "");
    checks.that("round 3 synced everyone", out.stdout.contains("round 3 ended: 3 of 3 players synced"), || {
        out.stdout.clone()
    });
    // Output that is not a terminal carries a timestamp on every line.
    let all = out.all();
    let unstamped: Vec<&str> = all.lines().filter(|l| !l.is_empty() && !is_stamped(l)).collect();
    checks.that("every line is timestamped", unstamped.is_empty(), || format!("{unstamped:?}"));
    checks.eq("data complete after the outage", Db::open(dir.path()).activity_ids(), expected);
    checks.eq("queue empty", Db::open(dir.path()).unsynced_queue_rows(), 0);
    checks.finish(&out);
}

/// Whether a line starts with `YYYY-MM-DDTHH:MM:SS+00:00 `.
fn is_stamped(line: &str) -> bool {
    let b = line.as_bytes();
    let digits = |r: std::ops::Range<usize>| r.into_iter().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    b.len() > 26
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[10] == b'T'
        && digits(11..13)
        && line[19..26] == *"+00:00 "
}

#[test]
fn a_bad_key_ends_the_daemon_with_exit_1() {
    let fake = FakeBungie::start(World::generate(&WorldConfig::tiny()), API_KEY);
    let dir = data_dir();
    add_all(dir.path(), &fake);
    let out = Dclisync::new(dir.path())
        .api_root(&fake.uri())
        .key("not-the-key")
        .args(["--sync", "--daemon", "--interval", "30"])
        .timeout(Duration::from_secs(20))
        .run();
    out.assert_code(1);
    assert!(out.stderr.contains("DESTINY_API_KEY") && out.stderr.contains("retrying cannot fix it"), "{out}");
}
