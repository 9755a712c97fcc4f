//! Stop scenarios that both systems run: the Unix tests (`e2e/daemon.rs`) stop dclisync with
//! signals, the Windows ones (`e2e/windows.rs`) with Ctrl-Break. Each scenario takes how to send
//! the stop, the exit code it must end with, and what dclisync must say, so the two systems are
//! held to the same promises by the same code.

use std::time::{Duration, Instant};

use super::{
    add_all, clean_run, daemon, data_dir, sync, time_exit, Checks, Db, FakeBungie, Running, World, WorldConfig,
    API_KEY, AT_ONCE, EXPECT_WITHIN, GRACEFUL_STOP,
};

/// A daemon stopped a third of the way through its first round saves the reports that arrived,
/// exits with `code` within a few seconds, says `reported` on stderr, and a rerun ends in one
/// clean run's database.
pub fn stop_mid_round_then_rerun(stop: impl FnOnce(&Running), code: i32, reported: &str) {
    let config = WorldConfig::small();
    let (clean_dir, _clean_fake) = clean_run(&config);
    let reference = Db::open(clean_dir.path()).dump();

    let fake = FakeBungie::start(World::generate(&config), API_KEY);
    let expected = fake.world().expected_activity_ids();
    let dir = data_dir();
    add_all(dir.path(), &fake);
    // Slow answers keep the round going long enough to be cut mid-way.
    fake.delay_pgcrs(Duration::from_millis(40));
    let mut running = daemon(dir.path(), &fake);
    let deadline = Instant::now() + EXPECT_WITHIN;
    while fake.pgcrs_served() < expected.len() / 3 && !running.has_exited() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
    let took = time_exit(&mut running, stop);
    let out = running.wait();

    let stored = Db::open(dir.path()).activity_ids();
    let mut checks = Checks::new();
    checks.eq("exit code", out.code, Some(code));
    checks.that("exit within a few seconds of the stop", took < GRACEFUL_STOP, || format!("took {took:.2?}"));
    checks.that("stopped mid-round", !stored.is_empty() && stored.len() < expected.len(), || {
        format!("{} of {} stored", stored.len(), expected.len())
    });
    checks.that("the stop is reported", out.stderr.contains(reported), || out.stderr.clone());
    checks.finish(&out);

    fake.heal();
    let rerun = sync(dir.path(), &fake);
    rerun.assert_success();
    let resumed = Db::open(dir.path()).dump();
    assert!(
        reference == resumed,
        "the rerun did not end in one clean run's database:\n{}\n{rerun}",
        reference.diff(&resumed).unwrap_or_default()
    );
}

/// With every report answer held back 20 s, a first stop is acknowledged (the reports in hand
/// would be waited for) and a second one exits with `code` at once.
pub fn second_stop_quits_at_once(first: impl FnOnce(&Running), second: impl FnOnce(&Running), code: i32) {
    // A fake of its own: requests of an earlier process may still arrive at a shared one.
    let fake = FakeBungie::start(World::generate(&WorldConfig::tiny()), API_KEY);
    let dir = data_dir();
    add_all(dir.path(), &fake);
    fake.delay_pgcrs(Duration::from_secs(20));
    let mut running = daemon(dir.path(), &fake);
    let deadline = Instant::now() + EXPECT_WITHIN;
    while fake.pgcr_requests() == 0 && !running.has_exited() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
    first(&running);
    assert!(
        running.wait_for(EXPECT_WITHIN, |_, err| err.contains("again to quit at once")),
        "the first stop was not acknowledged\n{}",
        running.wait()
    );
    let took = time_exit(&mut running, second);
    let out = running.wait();
    let mut checks = Checks::new();
    checks.eq("exit code", out.code, Some(code));
    checks.that("the second stop exits at once", took < AT_ONCE, || format!("took {took:.2?}"));
    checks.finish(&out);
}
