//! Fix-up rules of the user's: a rules file in the data folder changes the modes a sync stores,
//! `--fixups-check` shows the rules in force, and a bad rules file stops the run with exit 2
//! before anything is asked or written.

use crate::common::{add_all, data_dir, Db, Dclisync, FakeBungie, World, WorldConfig, API_KEY};

/// Every public match stored as a made-up mode 999, with 998 among its modes.
const PUBLIC_AS_999: &str = "# public matches, renumbered\n[[rule]]\nprivate = false\nset = 999\nadd = [998]\n";

#[test]
fn a_user_rules_file_changes_what_a_sync_stores_and_a_bad_one_stops_before_anything_is_written() {
    let fake = FakeBungie::start(World::generate(&WorldConfig::tiny()), API_KEY);
    let dir = data_dir();
    let rules = dir.path().join("fixups.toml");
    std::fs::write(&rules, PUBLIC_AS_999).expect("write rules");

    let check = Dclisync::new(dir.path()).arg("--fixups-check").run();
    check.assert_success();
    assert!(check.stdout.contains("built-in rules: 30"), "{check}");
    assert!(check.stdout.contains(&format!("your rules: 1, from {}", rules.display())), "{check}");
    assert!(
        check.stdout.contains(&format!("{}, line 2: private = false -> set 999, add 998", rules.display())),
        "{check}"
    );
    assert!(!dir.path().join("dcli.sqlite3").exists(), "--fixups-check opens no database");

    add_all(dir.path(), &fake);
    Dclisync::new(dir.path()).api(&fake).args(["--sync", "--max-rps", "0"]).run().assert_success();
    let db = Db::open(dir.path());
    let renumbered = db.scalar("SELECT COUNT(*) FROM activity WHERE mode = 999");
    let public = db
        .scalar("SELECT COUNT(*) FROM activity WHERE activity_id NOT IN (SELECT activity FROM modes WHERE mode = 32)");
    assert!(renumbered > 0 && renumbered == public, "every public match stored as 999: {renumbered} of {public}");
    assert_eq!(db.scalar("SELECT COUNT(*) FROM modes WHERE mode = 998"), renumbered, "998 added to each");
    let before = db.dump();
    drop(db);

    std::fs::write(&rules, "[[rule]]\nmode = 10\nset = \"999\"\n").expect("write bad rules");
    let mark = fake.mark();
    let bad = Dclisync::new(dir.path()).api(&fake).args(["--sync", "--max-rps", "0"]).run();
    bad.assert_code(2);
    assert!(bad.stderr.contains(&format!("{}, line 3", rules.display())) && bad.stderr.contains("string"), "{bad}");
    assert_eq!(fake.requests_since(mark).len(), 0, "nothing asked with a bad rules file");
    assert_eq!(Db::open(dir.path()).dump().diff(&before), None, "database untouched");
    Dclisync::new(dir.path()).arg("--fixups-check").run().assert_code(2);

    let missing = dir.path().join("nowhere.toml");
    let named = Dclisync::new(dir.path()).env("DCLISYNC_FIXUPS", &missing.to_string_lossy()).arg("--list").run();
    named.assert_code(2);
    assert!(named.stderr_lower().contains("cannot read the fix-up rules file"), "{named}");
}
