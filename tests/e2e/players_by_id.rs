//! Players given by membership id (`ID` or `TYPE:ID`) wherever a Bungie name is taken: `--add`
//! resolves an id through LinkedProfiles to the account's primary (cross-save) membership and
//! stores the player by Bungie name; `--remove` and `--sync` find a stored player by id; a name
//! the search does not find gets a message offering the id form.

use crate::common::{data_dir, list, Db, Dclisync, FakeBungie, World, WorldConfig, API_KEY};

#[test]
fn adding_by_id_and_by_platform_and_id_stores_the_primary_account_under_its_bungie_name() {
    let fake = FakeBungie::start(World::generate(&WorldConfig::small()), API_KEY);
    let players = fake.world().players.clone();
    // Player 1 has cross save: its overridden PlayStation account (the decoy) must lead to the
    // primary one, which holds the characters.
    let single = &players[0];
    let cross = &players[1];
    let overridden = &cross.decoys[0];
    assert_ne!(overridden.membership_id, cross.primary.membership_id);
    let dir = data_dir();
    let out = Dclisync::new(dir.path())
        .api(&fake)
        .arg("--add")
        .arg(&single.primary.membership_id)
        .arg(format!("{}:{}", overridden.membership_type, overridden.membership_id))
        .run();
    out.assert_success();
    assert!(out.stdout.contains(&format!("added {}", single.bungie_name())), "{out}");
    assert!(out.stdout.contains(&format!("added {}", cross.bungie_name())), "{out}");

    let db = Db::open(dir.path());
    assert_eq!(db.sync_members(), [single.member_id(), cross.member_id()].into_iter().collect());
    let row = db.member(cross.member_id()).expect("the primary account is stored");
    assert_eq!(row[0], cross.primary.membership_type.to_string(), "platform of the primary account");
    assert_eq!((row[2].as_str(), row[3].as_str()), (cross.name.as_str(), format!("{:04}", cross.code).as_str()));
    // A bare id asks on every platform (-1); TYPE:ID on the platform given.
    let linked: Vec<String> =
        fake.requests().into_iter().filter(|r| r.path.ends_with("/LinkedProfiles/")).map(|r| r.path).collect();
    assert_eq!(
        linked,
        vec![
            format!("/Platform/Destiny2/-1/Profile/{}/LinkedProfiles/", single.primary.membership_id),
            format!(
                "/Platform/Destiny2/{}/Profile/{}/LinkedProfiles/",
                overridden.membership_type, overridden.membership_id
            ),
        ]
    );
    let listed = list(dir.path());
    assert!(listed.stdout.contains(&cross.bungie_name()), "{listed}");
}

#[test]
fn sync_and_remove_take_ids_too() {
    let fake = FakeBungie::start(World::generate(&WorldConfig::small()), API_KEY);
    let players = fake.world().players.clone();
    let dir = data_dir();
    let names: Vec<String> = players.iter().map(|p| p.bungie_name()).collect();
    Dclisync::new(dir.path()).api(&fake).arg("--add").args(&names).run().assert_success();

    // --sync by id syncs that player alone.
    let id = players[0].primary.membership_id.clone();
    let out = Dclisync::new(dir.path()).api(&fake).env("DCLISYNC_MAX_RPS", "0").args(["--sync", &id]).run();
    out.assert_success();
    assert!(out.stdout.contains(&players[0].bungie_name()), "{out}");
    assert!(!out.stdout.contains(&players[1].bungie_name()), "only the player named by id is synced\n{out}");
    assert_eq!(fake.request_count_matching("/Platform/Destiny2/SearchDestinyPlayerByBungieName/"), 3, "no new search");
    let mine = players[0].characters.len() as i64;
    assert_eq!(
        Db::open(dir.path()).scalar(&format!("SELECT COUNT(*) FROM character WHERE member = {id}")),
        mine,
        "the player's characters are stored"
    );

    // --remove by id and by TYPE:ID; an id that is not on the list is said so.
    let p1 = &players[1];
    let out = Dclisync::new(dir.path())
        .args(["--remove", &id, &format!("{}:{}", p1.primary.membership_type, p1.primary.membership_id), "123"])
        .run();
    out.assert_success();
    for p in &players[..2] {
        assert!(out.stdout.contains(&format!("removed {} from the sync list", p.bungie_name())), "{out}");
    }
    assert!(out.stderr.contains("123 is not on the sync list"), "{out}");
    assert_eq!(Db::open(dir.path()).sync_members(), [players[2].member_id()].into_iter().collect());
}

#[test]
fn a_name_nobody_has_suggests_the_id_form_and_an_unknown_id_is_named() {
    let fake = FakeBungie::start(World::generate(&WorldConfig::tiny()), API_KEY);
    let dir = data_dir();
    let out = Dclisync::new(dir.path()).api(&fake).args(["--add", "Nobody Here#1234", "4611686018400000001"]).run();
    out.assert_code(1);
    let err = out.stderr_lower();
    assert!(err.contains("nobody here#1234 not found"), "{out}");
    assert!(err.contains("membership id") && err.contains("type:id"), "the message offers the id form\n{out}");
    assert!(err.contains("profile address"), "the message says where to find the id\n{out}");
    assert!(err.contains("no destiny account has membership id 4611686018400000001"), "{out}");
    assert!(Db::open(dir.path()).sync_members().is_empty());
}
