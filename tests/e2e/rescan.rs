//! `--rescan`: a match Bungie lists in the middle of a history after the first sync is missed by
//! a plain sync, which stops at the newest known match, and found by a whole-history walk.

use std::collections::BTreeSet;

use crate::common::world::{MatchKind, MODE_ALL_PVP};
use crate::common::{add_all, data_dir, sync, Db, Dclisync, FakeBungie, World, WorldConfig, API_KEY};

#[test]
fn a_match_filed_late_in_the_middle_of_a_history_is_missed_by_a_plain_sync_and_found_by_rescan() {
    let fake = FakeBungie::start(World::generate(&WorldConfig::small()), API_KEY);
    let world = fake.world();
    let player = &world.players[0];
    let character = &player.characters[0];
    let history = world.history(&character.character_id, MODE_ALL_PVP);
    let middle = history
        .iter()
        .skip(history.len() / 2)
        .filter_map(|item| world.pgcr(item["activityDetails"]["instanceId"].as_str()?))
        .find(|m| m.kind == MatchKind::Public && m.tracked.len() == 1)
        .expect("a public match of this character alone, mid-history");
    let id = middle.id();

    fake.hide_from_history(&middle.instance_id);
    let dir = data_dir();
    add_all(dir.path(), &fake);
    sync(dir.path(), &fake).assert_success();
    assert!(!Db::open(dir.path()).activity_ids().contains(&id), "hidden during the first sync");

    fake.reveal_in_history(&middle.instance_id);
    let plain = sync(dir.path(), &fake);
    plain.assert_success();
    assert!(!Db::open(dir.path()).activity_ids().contains(&id), "a plain sync cannot see it\n{plain}");

    let mark = fake.mark();
    let rescan = Dclisync::new(dir.path()).api(&fake).arg("--sync").arg(player.bungie_name()).arg("--rescan").run();
    rescan.assert_success();
    let db = Db::open(dir.path());
    assert_eq!(db.activity_ids(), world.expected_activity_ids(), "everything stored after the rescan\n{rescan}");
    assert!(
        rescan.stdout.contains(&format!("{}: 1 new", player.bungie_name()))
            && rescan.stdout.contains("rescan found 1 missed match(es)"),
        "the rescan reports what it found\n{rescan}"
    );
    // Every character of the named player, idle or not, walked in both modes; nobody else.
    let walked: BTreeSet<(String, String)> = fake
        .requests_since(mark)
        .iter()
        .filter(|r| r.is_history())
        .map(|r| {
            let cid = r.path.split("/Character/").nth(1).unwrap_or("").split('/').next().unwrap_or("").to_owned();
            let mode = r.query.split('&').find(|p| p.starts_with("mode=")).unwrap_or("").to_owned();
            (cid, mode)
        })
        .collect();
    let expected: BTreeSet<(String, String)> = player
        .characters
        .iter()
        .flat_map(|c| ["mode=32", "mode=5"].map(|m| (c.character_id.clone(), m.to_owned())))
        .collect();
    assert_eq!(walked, expected, "histories walked by the rescan");
}
