//! The Windows counterparts of the Unix signal tests (`daemon.rs`): Windows has no SIGTERM, SIGHUP
//! or SIGUSR1, and stops a console program with Ctrl-C, Ctrl-Break or the window's close. dclisync
//! takes each of them as SIGINT: it saves the reports in hand and exits 130, at once while the
//! daemon sleeps. The tests send Ctrl-Break, which can be aimed at one process group.

#![cfg(windows)]

use std::time::{Duration, Instant};

use crate::common::{
    add_all, clean_run, daemon, data_dir, sync, Checks, Db, FakeBungie, Running, World, WorldConfig, API_KEY, AT_ONCE,
    EXPECT_WITHIN, GRACEFUL_STOP,
};

/// Sends Ctrl-Break and waits for the exit; returns how long it took.
fn time_exit(running: &mut Running) -> Duration {
    crate::common::time_exit(running, Running::ctrl_break)
}

#[test]
fn ctrl_break_mid_round_saves_what_arrived_exits_130_and_a_rerun_completes_the_database() {
    let config = WorldConfig::small();
    let (clean_dir, _clean_fake) = clean_run(&config);
    let reference = Db::open(clean_dir.path()).dump();

    let fake = FakeBungie::start(World::generate(&config), API_KEY);
    let expected = fake.world().expected_activity_ids();
    let dir = data_dir();
    add_all(dir.path(), &fake);
    fake.delay_pgcrs(Duration::from_millis(40));
    let mut running = daemon(dir.path(), &fake);
    let deadline = Instant::now() + EXPECT_WITHIN;
    while fake.pgcrs_served() < expected.len() / 3 && !running.has_exited() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
    let took = time_exit(&mut running);
    let out = running.wait();

    let stored = Db::open(dir.path()).activity_ids();
    let mut checks = Checks::new();
    checks.eq("exit code", out.code, Some(130));
    checks.that("exit within a few seconds of Ctrl-Break", took < GRACEFUL_STOP, || format!("took {took:.2?}"));
    checks.that("stopped mid-round", !stored.is_empty() && stored.len() < expected.len(), || {
        format!("{} of {} stored", stored.len(), expected.len())
    });
    checks.finish(&out);

    fake.heal();
    sync(dir.path(), &fake).assert_success();
    let resumed = Db::open(dir.path()).dump();
    assert!(
        reference == resumed,
        "the rerun did not end in one clean run's database:\n{}",
        reference.diff(&resumed).unwrap_or_default()
    );
}

#[test]
fn ctrl_break_while_the_daemon_sleeps_exits_130_at_once() {
    let fake = FakeBungie::start(World::generate(&WorldConfig::tiny()), API_KEY);
    let dir = data_dir();
    add_all(dir.path(), &fake);
    let mut running = daemon(dir.path(), &fake);
    assert!(
        running.wait_for(EXPECT_WITHIN, |out, _| out.contains("round 1 ended")),
        "no round 1\n{}",
        running.stderr_so_far()
    );
    let took = time_exit(&mut running);
    let out = running.wait();
    let mut checks = Checks::new();
    checks.eq("exit code", out.code, Some(130));
    checks.that("exit at once while asleep", took < AT_ONCE, || format!("took {took:.2?}"));
    checks.finish(&out);
}

#[test]
fn a_second_ctrl_break_exits_at_once_without_waiting_for_the_reports_in_hand() {
    let fake = FakeBungie::start(World::generate(&WorldConfig::tiny()), API_KEY);
    let dir = data_dir();
    add_all(dir.path(), &fake);
    fake.delay_pgcrs(Duration::from_secs(20));
    let mut running = daemon(dir.path(), &fake);
    let deadline = Instant::now() + EXPECT_WITHIN;
    while fake.pgcr_requests() == 0 && !running.has_exited() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
    running.ctrl_break();
    assert!(
        running.wait_for(EXPECT_WITHIN, |_, err| err.contains("again to quit at once")),
        "the first Ctrl-Break was not acknowledged\n{}",
        running.wait()
    );
    let took = time_exit(&mut running);
    let out = running.wait();
    let mut checks = Checks::new();
    checks.eq("exit code", out.code, Some(130));
    checks.that("the second Ctrl-Break exits at once", took < AT_ONCE, || format!("took {took:.2?}"));
    checks.finish(&out);
}
