//! Reports fetched too early: Bungie fills a report in over several minutes after its match, so a
//! report fetched within 15 minutes of its match's end is fetched once more in a later round, and
//! replaces the stored rows if it changed.

use std::time::{Duration, Instant};

use crate::common::fake::EARLY_REPORT_MARGIN_SECS;
use crate::common::world::MatchKind;
use crate::common::{add_all, data_dir, sync, Db, FakeBungie, World, WorldConfig, API_KEY};

/// Entries the early copy of the report keeps.
const EARLY_ENTRIES: usize = 3;

#[test]
fn a_report_first_served_incomplete_is_replaced_by_its_complete_copy_in_a_later_round() {
    let fake = FakeBungie::start(World::generate(&WorldConfig::small()), API_KEY);
    let world = fake.world();
    let m = world
        .matches
        .iter()
        .rev()
        .find(|m| m.kind == MatchKind::Public && m.tracked.len() == 1 && m.distinct_characters().len() > EARLY_ENTRIES)
        .expect("a public match of one tracked player");
    let id = m.id();
    fake.serve_early_report(&m.instance_id, EARLY_ENTRIES);
    let dir = data_dir();
    add_all(dir.path(), &fake);

    let first = sync(dir.path(), &fake);
    first.assert_success();
    let (served_at, period) = fake.early_report_first_served(&m.instance_id).expect("the report was fetched");
    let stats_of_m =
        |db: &Db| db.scalar(&format!("SELECT COUNT(*) FROM character_activity_stats WHERE activity = {id}"));
    let early_rows = stats_of_m(&Db::open(dir.path()));
    assert!(early_rows <= EARLY_ENTRIES as i64, "the early copy was stored as served: {early_rows} rows\n{first}");

    // The second fetch is due once the match is 15 minutes old: a moment after the first fetch.
    let due = served_at + Duration::from_secs(EARLY_REPORT_MARGIN_SECS as u64 + 1);
    std::thread::sleep(due.saturating_duration_since(Instant::now()));
    let mark = fake.mark();
    let second = sync(dir.path(), &fake);
    second.assert_success();

    let pgcrs: Vec<String> = fake.requests_since(mark).iter().filter(|r| r.is_pgcr()).map(|r| r.path.clone()).collect();
    assert_eq!(pgcrs, vec![format!("/Platform/Destiny2/Stats/PostGameCarnageReport/{id}/")], "{second}");
    assert!(second.stdout.contains("1 early report(s) refreshed"), "the refresh is reported\n{second}");
    let db = Db::open(dir.path());
    assert_eq!(stats_of_m(&db), m.distinct_characters().len() as i64, "every player of the complete copy");
    assert_eq!(db.stats_rows(), world.expected_stats_rows() as i64, "no row lost or doubled elsewhere");
    let teams = m.pgcr["teams"].as_array().map_or(0, Vec::len) as i64;
    assert_eq!(db.scalar(&format!("SELECT COUNT(*) FROM team_result WHERE activity = {id}")), teams);
    let stored_period = db.activities().get(&id).map(|a| a.period.clone());
    assert_eq!(stored_period, Some(period.replace('Z', "+00:00")), "the period Bungie gave the match");

    let mark = fake.mark();
    sync(dir.path(), &fake).assert_success();
    let again = fake.requests_since(mark).iter().filter(|r| r.is_pgcr()).count();
    assert_eq!(again, 0, "an early report is fetched once more, not again and again");
}
