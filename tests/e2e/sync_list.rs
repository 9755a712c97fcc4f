//! The sync list: `--add`, `--remove`, `--list` and `--import-group`, and where the database
//! lives by default.

use crate::common::{add_all, clean_run, data_dir, list, sync, Db, Dclisync, FakeBungie, World, WorldConfig, API_KEY};

/// Lines of `--list` output that mention `name`.
fn lines_naming<'a>(stdout: &'a str, name: &str) -> Vec<&'a str> {
    stdout.lines().filter(|l| l.contains(name)).collect()
}

#[test]
fn list_prints_one_line_per_tracked_player_with_the_code_zero_padded() {
    let fake = FakeBungie::start(World::generate(&WorldConfig::tiny()), API_KEY);
    let players = fake.world().players.clone();
    let dir = data_dir();
    // Player 2's code has fewer than four digits; type it without the padding.
    let typed = [players[0].bungie_name(), players[1].bungie_name(), players[2].bungie_name_unpadded()];
    Dclisync::new(dir.path()).api(&fake).arg("-A").args(&typed).run().assert_success();

    let out = list(dir.path());
    out.assert_success();
    for p in &players {
        let lines = lines_naming(&out.stdout, &p.bungie_name());
        assert_eq!(lines.len(), 1, "expected one --list line naming {:?}\n{out}", p.bungie_name());
    }
}

#[test]
fn adding_players_puts_them_on_the_sync_list_in_the_database() {
    let fake = FakeBungie::start(World::generate(&WorldConfig::tiny()), API_KEY);
    let dir = data_dir();
    add_all(dir.path(), &fake);

    let db = Db::open(dir.path());
    let world = fake.world();
    // The cross-save player (1) and the two-account player (2) resolve to their primary account.
    let expected: std::collections::BTreeSet<i64> = world.players.iter().map(|p| p.member_id()).collect();
    assert_eq!(db.sync_members(), expected, "sync table after --add");
    assert_eq!(db.version_values(), vec![10]);
}

#[test]
fn removing_a_player_takes_them_off_the_list_and_keeps_their_activities() {
    let (dir, fake) = clean_run(&WorldConfig::small());
    let players = fake.world().players.clone();
    let stored = Db::open(dir.path()).activity_ids();

    let out = Dclisync::new(dir.path()).arg("--remove").arg(players[0].bungie_name()).run();
    out.assert_success();

    let listed = list(dir.path());
    listed.assert_success();
    assert!(
        lines_naming(&listed.stdout, &players[0].bungie_name()).is_empty(),
        "removed player still listed\n{listed}"
    );
    for p in &players[1..] {
        assert_eq!(
            lines_naming(&listed.stdout, &p.bungie_name()).len(),
            1,
            "{} should still be listed\n{listed}",
            p.bungie_name()
        );
    }
    let db = Db::open(dir.path());
    assert_eq!(db.activity_ids(), stored, "removing a player must keep stored activities");
    assert!(db.member_ids().contains(&players[0].member_id()), "the removed player's member row must stay");
}

#[test]
fn removing_a_name_that_is_not_on_the_list_says_so_and_succeeds() {
    let fake = FakeBungie::start(World::generate(&WorldConfig::tiny()), API_KEY);
    let dir = data_dir();
    add_all(dir.path(), &fake);

    let out = Dclisync::new(dir.path()).args(["--remove", "Ghost Rider#1234"]).run();
    out.assert_success();
    assert!(out.all_lower().contains("not on the sync list"), "expected \"not on the sync list\"\n{out}");
    let listed = list(dir.path());
    for p in &fake.world().players {
        assert_eq!(lines_naming(&listed.stdout, &p.bungie_name()).len(), 1, "{listed}");
    }
}

#[test]
fn importing_a_group_adds_every_named_member_from_every_page_and_reports_the_nameless_ones() {
    let fake = FakeBungie::start(World::generate(&WorldConfig::tiny()), API_KEY);
    let clan = fake.world().clan.clone();
    let dir = data_dir();

    let out = Dclisync::new(dir.path()).api(&fake).args(["--import-group", &clan.group_id]).run();
    out.assert_success();

    let members_path = format!("/Platform/GroupV2/{}/Members/", clan.group_id);
    let pages: Vec<String> = fake
        .requests()
        .iter()
        .filter(|r| r.path == members_path)
        .filter_map(|r| url_query_value(&r.query, "currentpage").map(str::to_owned))
        .collect();
    for page in ["1", "2"] {
        assert!(pages.iter().any(|p| p == page), "currentpage={page} never requested; pages asked: {pages:?}\n{out}");
    }

    let listed = list(dir.path());
    listed.assert_success();
    for m in clan.named_members() {
        let name = m.bungie_name.as_deref().unwrap();
        assert_eq!(
            lines_naming(&listed.stdout, name).len(),
            1,
            "{name} not on the list after the import\nimport:\n{out}\nlist:\n{listed}"
        );
    }
    let said = out.all();
    for m in clan.nameless_members() {
        let reported = said.contains(&m.membership_id)
            || (!m.display_name.is_empty() && said.contains(&m.display_name))
            || said.to_lowercase().contains("skip");
        assert!(reported, "nameless member {} not reported as skipped\n{out}", m.membership_id);
    }
}

fn url_query_value<'a>(query: &'a str, key: &str) -> Option<&'a str> {
    query.split('&').filter_map(|pair| pair.split_once('=')).find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v)
}

/// Where the platform's local data folder puts the database for a HOME and XDG_DATA_HOME below
/// `sandbox`. Windows has no such test: its folder comes from the system (the Known Folder
/// API), not from the environment, so the run would write into the real user's
/// `%LOCALAPPDATA%\dcli`.
#[cfg(not(windows))]
fn default_database(sandbox: &std::path::Path) -> std::path::PathBuf {
    let folder = if cfg!(target_os = "macos") {
        sandbox.join("home").join("Library").join("Application Support")
    } else {
        sandbox.join("xdg-data")
    };
    folder.join("dcli").join("dcli.sqlite3")
}

#[cfg(not(windows))]
#[test]
fn without_a_data_dir_the_database_goes_to_the_platform_data_folder() {
    let fake = FakeBungie::start(World::generate(&WorldConfig::tiny()), API_KEY);
    let sandbox = data_dir();
    let player = fake.world().players[0].bungie_name();

    let out = Dclisync::without_data_dir(sandbox.path())
        .api(&fake)
        .args(["-A", &player])
        .timeout(std::time::Duration::from_secs(20))
        .run();
    out.assert_success();
    let expected = default_database(sandbox.path());
    assert!(expected.is_file(), "no database at {}\n{out}", expected.display());
}

#[test]
fn a_data_folder_with_spaces_and_non_ascii_characters_holds_the_database_and_its_lock() {
    let fake = FakeBungie::start(World::generate(&WorldConfig::tiny()), API_KEY);
    let sandbox = data_dir();
    // Not there yet: the run creates it, as it does the default folder.
    let dir = sandbox.path().join("My Destiny data").join("Zoë ☆ 漢字");
    add_all(&dir, &fake);
    let out = sync(&dir, &fake);
    out.assert_success();
    assert!(dir.join("dcli.sqlite3").is_file(), "no database in {}\n{out}", dir.display());
    assert!(dir.join("dcli.sqlite3.lock").is_file(), "the sync lock was not taken beside it\n{out}");
    assert_eq!(Db::open(&dir).activity_ids(), fake.world().expected_activity_ids(), "every match stored");
    let listed = list(&dir);
    listed.assert_success();
    for player in &fake.world().players {
        assert_eq!(lines_naming(&listed.stdout, &player.bungie_name()).len(), 1, "{listed}");
    }
}
