//! Fitting the shell: completion scripts and the man page made from the command-line
//! definitions, and the cargo-only demo run against the binary under test.

use crate::common::{data_dir, Dclisync};

#[test]
fn completions_for_every_shell_and_the_man_page_need_no_key_and_no_action() {
    let dir = data_dir();
    for (shell, marker) in [
        ("bash", "_dclisync"),
        ("zsh", "#compdef dclisync"),
        ("fish", "complete -c dclisync"),
        ("powershell", "dclisync"),
        ("elvish", "dclisync"),
    ] {
        let out = Dclisync::new(dir.path()).no_key().args(["--completions", shell]).run();
        out.assert_success();
        assert!(out.stdout.contains(marker), "{shell}: no {marker:?}\n{out}");
        assert!(out.stdout.contains("metrics-file"), "{shell}: the script knows the flags\n{out}");
        assert!(out.stderr.is_empty(), "{out}");
    }
    let out = Dclisync::new(dir.path()).no_key().arg("--man").run();
    out.assert_success();
    assert!(out.stdout.starts_with(".ie") || out.stdout.contains(".TH dclisync"), "{out}");
    assert!(out.stdout.contains("metrics\\-file"), "{out}");
    assert!(!dir.path().join("dcli.sqlite3").exists(), "printing touches no database");
    let bad = Dclisync::new(dir.path()).args(["--completions", "tcsh"]).run();
    bad.assert_code(2);
}

#[test]
fn the_demo_adds_syncs_lists_and_shows_win_rates() {
    let mut shown = Vec::new();
    dclisync_testkit::demo::run(std::path::Path::new(env!("CARGO_BIN_EXE_dclisync")), &mut shown)
        .unwrap_or_else(|e| panic!("the demo failed: {e}\n{}", String::from_utf8_lossy(&shown)));
    let shown = String::from_utf8_lossy(&shown);
    for needle in ["added ", "synced 3 of 3 players", "== dclisync --list", "PLAYER", "win_pct", "public", "private"] {
        assert!(shown.contains(needle), "no {needle:?} in the demo's output\n{shown}");
    }
}
