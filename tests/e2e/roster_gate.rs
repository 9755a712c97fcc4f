//! The roster gate in a moving world: a clan imported with `--import-group` is remembered, and
//! each sync of the whole list reads its roster first. A player who plays between two rounds
//! shows a status change on the roster, so the next round reads their profile and stores their
//! new match, while the players who stayed offline cost no profile request. A roster page that
//! fails leaves the clan's statuses unknown: everyone in it is read, and a match played in the
//! meantime is stored. A player offline past `--max-staleness` is read anyway; `--max-staleness
//! 0` turns the gate off (no roster, a profile per player); `--remove-group` forgets the clan.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::common::fake::{FaultKind, LoggedRequest};
use crate::common::{data_dir, list, Db, Dclisync, FakeBungie, World, WorldConfig, API_KEY};

const ROSTER_PREFIX: &str = "/Platform/GroupV2/";

/// The membership ids whose profile (components 100,200) was read among `requests`.
fn profiles_read(requests: &[LoggedRequest]) -> BTreeSet<String> {
    requests
        .iter()
        .filter(|r| r.path.contains("/Profile/") && r.query.contains("components="))
        .filter_map(|r| r.path.trim_end_matches('/').rsplit('/').next().map(str::to_owned))
        .collect()
}

fn roster_pages(requests: &[LoggedRequest]) -> usize {
    requests.iter().filter(|r| r.path.starts_with(ROSTER_PREFIX)).count()
}

/// One round of `dclisync --sync ARGS…`; returns what it asked the fake.
fn round(dir: &std::path::Path, fake: &FakeBungie, args: &[&str]) -> Vec<LoggedRequest> {
    let mark = fake.mark();
    let out = Dclisync::new(dir).api(fake).arg("--sync").args(args).run();
    out.assert_success();
    fake.requests_since(mark)
}

#[test]
fn the_roster_gate_reads_who_played_and_whoever_is_stale_and_nobody_else() {
    let fake = FakeBungie::start(World::generate(&WorldConfig { players: 5, ..WorldConfig::tiny() }), API_KEY);
    let world = fake.world();
    let group = world.clan.group_id.clone();
    let pages = world.clan.pages.len();
    let everyone: BTreeSet<String> = world.players.iter().map(|p| p.primary.membership_id.clone()).collect();
    let dir = data_dir();

    Dclisync::new(dir.path()).api(&fake).args(["--import-group", &group, "--sync"]).run().assert_success();
    assert_eq!(Db::open(dir.path()).activity_ids(), world.expected_activity_ids(), "the first sync stores everything");

    // Nobody played: the roster pages, and not one profile.
    let idle = round(dir.path(), &fake, &[]);
    assert_eq!(profiles_read(&idle), BTreeSet::new(), "an idle round reads no profile");
    assert_eq!((roster_pages(&idle), idle.len()), (pages, pages), "an idle round reads the roster alone");

    // One player plays: the next round reads them alone and stores the match.
    let player = world.players[2].primary.membership_id.clone();
    let played: i64 = fake.change_world(|w| w.play(2)).parse().unwrap();
    let after = round(dir.path(), &fake, &[]);
    assert_eq!(profiles_read(&after), BTreeSet::from([player]), "only the player who played is read");
    assert!(Db::open(dir.path()).activity_ids().contains(&played), "their new match is stored");

    // A roster page fails (every try) while another player plays: the clan is unknown this round,
    // so everyone in it is read, and the match is stored.
    let played: i64 = fake.change_world(|w| w.play(3)).parse().unwrap();
    fake.fail_next(FaultKind::Html500, dclisync::core::retry::MAX_TRIES as usize, ROSTER_PREFIX);
    let failed = round(dir.path(), &fake, &[]);
    assert!(Db::open(dir.path()).activity_ids().contains(&played), "the match played meanwhile is stored");
    assert_eq!(profiles_read(&failed), everyone, "a failed roster page has every member read");
    assert_eq!(Db::open(dir.path()).activity_ids(), fake.world().expected_activity_ids());

    // Offline past --max-staleness: read anyway, and counted as stale reads (the two who played
    // are read for cause: their status changed less than the settle time before their walk).
    std::thread::sleep(Duration::from_millis(2100));
    let metrics = dir.path().join("dclisync.prom");
    let metrics_arg = metrics.to_string_lossy().into_owned();
    let stale = round(dir.path(), &fake, &["--max-staleness", "2", "--metrics-file", &metrics_arg]);
    assert_eq!(profiles_read(&stale), everyone, "profiles not read for --max-staleness are read");
    let text = std::fs::read_to_string(&metrics).expect("the metrics file");
    for line in [
        format!("dclisync_round_players{{gate=\"read\"}} {}", everyone.len()),
        format!("dclisync_round_players{{gate=\"stale_read\"}} {}", everyone.len() - 2),
        "dclisync_round_players{gate=\"skipped\"} 0".to_string(),
    ] {
        assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
    }
    let listed = list(dir.path());
    listed.assert_success();
    assert!(listed.stdout.contains(&format!("clan {group}: ")), "{listed}");
    let last_round = format!("{} profile(s) read, {} of them only", everyone.len(), everyone.len() - 2);
    assert!(listed.stdout.contains(&last_round), "{listed}");

    // The gate off: no roster, a profile per player.
    let off = round(dir.path(), &fake, &["--max-staleness", "0"]);
    assert_eq!((profiles_read(&off), roster_pages(&off)), (everyone.clone(), 0));

    // A forgotten clan: its players stay on the list, and are read every round again.
    let forgot = Dclisync::new(dir.path()).args(["--remove-group", &group, "--list"]).run();
    forgot.assert_success();
    assert!(forgot.stdout.contains(&format!("forgot clan {group}")), "{forgot}");
    let plain = round(dir.path(), &fake, &[]);
    assert_eq!((profiles_read(&plain), roster_pages(&plain)), (everyone, 0), "no clan: everyone read, no roster");
    assert!(list(dir.path()).stdout.lines().all(|l| !l.starts_with("clan ")), "no clan listed any more");
}

/// `--follow-groups`: the daemon adds a member who joined the remembered clan and syncs them in
/// the same round, names one who joined without a Bungie name as not added, and reports a member
/// who left, who stays on the sync list.
#[cfg(unix)]
#[test]
fn the_daemon_follows_the_clan_adding_who_joins_and_reporting_who_leaves() {
    let mut world = World::generate(&WorldConfig { players: 4, ..WorldConfig::tiny() });
    let newcomer = world.players[3].clone();
    let leaver = world.players[1].clone();
    let card = world.clan.leave(&newcomer.primary.membership_id).expect("every player is in the clan");
    let nameless_id = world.clan.nameless_members().next().expect("a member without a name").membership_id.clone();
    let nameless = world.clan.leave(&nameless_id).expect("listed");
    let fake = FakeBungie::start(world, API_KEY);
    let group = fake.world().clan.group_id.clone();
    let dir = data_dir();
    Dclisync::new(dir.path()).api(&fake).args(["--import-group", &group]).run().assert_success();

    let mut running = Dclisync::new(dir.path())
        .api(&fake)
        .args(["--sync", "--daemon", "--interval", "30", "--follow-groups"])
        .timeout(Duration::from_secs(90))
        .spawn();
    let ended = |n: usize| move |out: &str, _: &str| out.matches(" ended: ").count() >= n;
    assert!(running.wait_for(Duration::from_secs(30), ended(1)), "round 1: {}", running.stdout_so_far());
    fake.change_world(|w| {
        w.clan.join(card);
        w.clan.join(nameless);
        w.clan.leave(&leaver.primary.membership_id);
    });
    running.signal(libc::SIGUSR1);
    assert!(running.wait_for(Duration::from_secs(30), ended(2)), "round 2: {}", running.stdout_so_far());
    let out = running.kill();
    let all = out.all();
    assert!(all.contains(&format!("{} joined clan {group}: added to the sync list", newcomer.bungie_name())), "{all}");
    assert!(all.contains(&format!("{} left clan {group}; still on the sync list", leaver.bungie_name())), "{all}");
    let not_added = format!("member {nameless_id} joined clan {group} without a valid Bungie name: not added");
    assert!(all.contains(&not_added), "{all}");
    let ids = Db::open(dir.path()).activity_ids();
    let expected = fake.world().expected_activity_ids();
    assert_eq!(ids, expected, "the newcomer's matches are stored in the round they were added");
    let listed = list(dir.path()).stdout;
    assert!(listed.contains(&newcomer.bungie_name()) && listed.contains(&leaver.bungie_name()), "{listed}");
}

/// Maintenance met while reading a roster ends the round with Bungie's message, reading no
/// profile: a roster that cannot be read is not taken for a clan nobody plays in.
#[test]
fn maintenance_met_on_the_roster_ends_the_round_before_any_profile() {
    let fake = FakeBungie::start(World::generate(&WorldConfig::tiny()), API_KEY);
    let group = fake.world().clan.group_id.clone();
    let dir = data_dir();
    Dclisync::new(dir.path()).api(&fake).args(["--import-group", &group, "--sync"]).run().assert_success();
    fake.start_maintenance();
    let mark = fake.mark();
    let out = Dclisync::new(dir.path()).api(&fake).arg("--sync").run();
    out.assert_code(1);
    assert!(out.stderr_lower().contains("maintenance"), "{out}");
    let asked = fake.requests_since(mark);
    assert_eq!((roster_pages(&asked), asked.len()), (1, 1), "the first roster page, and nothing after it: {out}");
}
