//! At dclisync's own pace against a fake that throttles like Bungie. The module's name sorts it
//! among the first tests to start: it runs alone (every other test's runs wait for it), and the
//! earlier it starts, the fewer runs it waits for and the less the others wait on it.

use std::time::Duration;

use dclisync_testkit::fake::BUNGIE_LIMIT;
use dclisync_testkit::FakeOptions;

use crate::common::{add_all, alone, data_dir, Checks, Db, Dclisync, FakeBungie, World, WorldConfig, API_KEY};

/// At its own default pace, against a fake that throttles like Bungie (250 requests in any 10 s),
/// a first sync long enough to fill several windows is never throttled and stores everything.
/// It runs alone: the window is measured where the requests arrive, and another test's processes
/// competing for the cores would bunch arrivals that left dclisync evenly spaced.
#[test]
fn at_its_own_pace_a_first_sync_fills_bungies_window_but_never_overflows_it() {
    let config = WorldConfig { public_matches_per_character: 28, ..WorldConfig::small() };
    let options = FakeOptions { limit: Some(BUNGIE_LIMIT), ..FakeOptions::default() };
    let fake = FakeBungie::start_with(World::generate(&config), API_KEY, 0, options);
    let dir = data_dir();
    add_all(dir.path(), &fake);

    let _alone = alone();
    let mark = fake.mark();
    let out = Dclisync::new(dir.path()).api(&fake).paced().arg("--sync").timeout(Duration::from_secs(60)).run();
    out.assert_success();

    let mut checks = Checks::new();
    checks.same_set("activity ids", &Db::open(dir.path()).activity_ids(), &fake.world().expected_activity_ids());
    checks.eq("throttled answers", fake.throttled_answers(), 0);
    let (max, window) = BUNGIE_LIMIT;
    let busiest = fake.max_requests_in_window_since(mark, window);
    checks.that("no 10 s window holds more than 250 requests", busiest <= max, || format!("{busiest} in one window"));
    // A pace far below the limit would pass the checks above: the busiest window must be nearly full.
    checks.that("the busiest window holds at least 225 requests", busiest >= max * 9 / 10, || {
        format!("only {busiest} in the busiest window")
    });
    let requests = fake.requests_since(mark).len();
    eprintln!("paced sync: {requests} requests, busiest window {busiest}, in {:.1?}", out.elapsed);
    checks.finish(format!("{requests} requests, busiest window {busiest}, in {:.1?}\n{out}", out.elapsed));
}
