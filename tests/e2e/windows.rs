//! The Windows counterparts of the Unix signal tests (`daemon.rs`): Windows has no SIGTERM, SIGHUP
//! or SIGUSR1, and stops a console program with Ctrl-C, Ctrl-Break or the window's close. dclisync
//! takes each of them as SIGINT: it saves the reports in hand and exits 130, at once while the
//! daemon sleeps. The tests send Ctrl-Break, which can be aimed at one process group; the
//! scenarios they share with the Unix tests live in `tests/common/stops.rs`.

#![cfg(windows)]

use crate::common::{
    add_all, daemon, data_dir, second_stop_quits_at_once, stop_mid_round_then_rerun, time_exit, Checks, Db, FakeBungie,
    Running, World, WorldConfig, API_KEY, AT_ONCE, EXPECT_WITHIN,
};

/// How dclisync names the stop Windows sends it.
const REPORTED: &str = "stopped by SIGINT";

#[test]
fn ctrl_break_mid_round_saves_what_arrived_exits_130_and_a_rerun_completes_the_database() {
    stop_mid_round_then_rerun(Running::ctrl_break, 130, REPORTED);
}

#[test]
fn a_second_ctrl_break_exits_at_once_without_waiting_for_the_reports_in_hand() {
    second_stop_quits_at_once(Running::ctrl_break, Running::ctrl_break, 130);
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
    let took = time_exit(&mut running, Running::ctrl_break);
    let out = running.wait();
    let mut checks = Checks::new();
    checks.eq("exit code", out.code, Some(130));
    checks.that("exit at once while asleep", took < AT_ONCE, || format!("took {took:.2?}"));
    checks.that("said why", out.stderr.contains("while waiting for the next round"), || out.stderr.clone());
    checks.finish(&out);
    assert_eq!(Db::open(dir.path()).activity_ids(), fake.world().expected_activity_ids());
}
