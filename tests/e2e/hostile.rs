//! Hostile or broken input: a key or an API root that cannot be used, a server that redirects,
//! asks for endless waits or sends names that would act on the terminal. None of it panics,
//! sends the key elsewhere or keeps a run waiting.

use std::time::Duration;

use wiremock::matchers::{any, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{data_dir, Dclisync, FakeBungie, Output, World, WorldConfig, API_KEY};

/// A wiremock server that gives every request the same answer, with its own runtime.
struct OneAnswer {
    runtime: tokio::runtime::Runtime,
    server: Option<MockServer>,
}

impl OneAnswer {
    fn start(answer: ResponseTemplate) -> OneAnswer {
        OneAnswer::routes(vec![(".*", answer)])
    }

    /// Answers by path (regular expressions, the first that matches wins); 404 otherwise.
    fn routes(routes: Vec<(&str, ResponseTemplate)>) -> OneAnswer {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("tokio runtime");
        let server = runtime.block_on(async {
            let server = MockServer::start().await;
            for (priority, (path, answer)) in routes.into_iter().enumerate() {
                let priority = u8::try_from(priority + 1).expect("a few routes");
                Mock::given(path_regex(path)).respond_with(answer).with_priority(priority).mount(&server).await;
            }
            Mock::given(any()).respond_with(ResponseTemplate::new(404)).with_priority(u8::MAX).mount(&server).await;
            server
        });
        OneAnswer { runtime, server: Some(server) }
    }

    fn uri(&self) -> String {
        self.server.as_ref().map(MockServer::uri).unwrap_or_default()
    }

    fn requests(&self) -> usize {
        let server = self.server.as_ref().expect("running");
        self.runtime.block_on(server.received_requests()).map_or(0, |r| r.len())
    }
}

impl Drop for OneAnswer {
    fn drop(&mut self) {
        let _guard = self.runtime.enter();
        drop(self.server.take());
    }
}

fn tiny_fake() -> FakeBungie {
    FakeBungie::start(World::generate(&WorldConfig::tiny()), API_KEY)
}

#[test]
fn a_key_with_a_windows_line_end_works_and_a_broken_key_or_root_is_a_usage_error() {
    let fake = tiny_fake();
    let player = fake.world().players[0].bungie_name();
    let dir = data_dir();
    let crlf =
        Dclisync::new(dir.path()).api_root(&fake.uri()).key(&format!("{API_KEY}\r\n")).args(["-A", &player]).run();
    crlf.assert_success();
    assert!(fake.requests().iter().all(|r| r.api_key_ok), "the key was sent untrimmed\n{crlf}");

    let secret = "s3cret\u{1b}key";
    let bad_key = Dclisync::new(dir.path()).api_root(&fake.uri()).key(secret).args(["-A", &player]).run();
    bad_key.assert_code(2);
    assert!(bad_key.stderr.contains("DESTINY_API_KEY") && !bad_key.all().contains("s3cret"), "{bad_key}");

    let cases = [
        ("127.0.0.1:8787", "DCLISYNC_API_ROOT"),
        ("not a url", "DCLISYNC_API_ROOT"),
        ("https://user@mirror.example", "DCLISYNC_API_ROOT"),
        ("http://mirror.example", "DCLISYNC_ALLOW_INSECURE_HTTP"),
    ];
    let before = fake.requests().len();
    for (root, needle) in cases {
        let out = Dclisync::new(dir.path()).api_root(root).key(API_KEY).args(["-A", &player]).run();
        out.assert_code(2);
        assert!(out.stderr.contains(needle), "{out}");
    }
    assert_eq!(fake.requests().len(), before, "a refused configuration reached the network");
}

/// `--add Somebody#0001` against `server`, the limit lifted; killed after 20 s if it hangs.
fn add_somebody(server: &OneAnswer) -> Output {
    let dir = data_dir();
    Dclisync::new(dir.path())
        .api_root(&server.uri())
        .key(API_KEY)
        .env("DCLISYNC_MAX_RPS", "0")
        .args(["-A", "Somebody#0001"])
        .timeout(Duration::from_secs(20))
        .run()
}

#[test]
fn a_redirect_is_not_followed_and_the_key_never_reaches_the_host_it_names() {
    let elsewhere = OneAnswer::start(ResponseTemplate::new(200).set_body_string("{}"));
    let redirector = OneAnswer::start(
        ResponseTemplate::new(302).insert_header("Location", format!("{}/Platform/stolen/", elsewhere.uri())),
    );
    let out = add_somebody(&redirector);
    out.assert_code(1);
    assert_eq!(elsewhere.requests(), 0, "the redirect was followed\n{out}");
    assert!(redirector.requests() >= 1, "{out}");
    let host = elsewhere.uri().trim_start_matches("http://").to_string();
    assert!(out.stderr.contains("redirect") && out.stderr.contains(&host), "the message should name {host}\n{out}");
}

#[test]
fn a_day_long_retry_after_ends_the_run_within_seconds_naming_the_wait() {
    let busy =
        OneAnswer::start(ResponseTemplate::new(503).insert_header("Retry-After", "86400").set_body_string("busy"));
    let out = add_somebody(&busy);
    out.assert_code(1);
    assert!(out.elapsed < Duration::from_secs(10), "{out}");
    assert!(out.stderr.contains("86400"), "the message should name the wait\n{out}");
    assert_eq!(busy.requests(), 1, "an outage is not retried in the same round\n{out}");
}

#[test]
fn throttle_seconds_of_1e300_is_an_outage_not_a_panic() {
    let body = r#"{"Response": null, "ErrorCode": 51, "ThrottleSeconds": 1e300, "ErrorStatus": "PerEndpointRequestThrottleExceeded", "Message": "slow down", "MessageData": {}}"#;
    let throttling = OneAnswer::start(ResponseTemplate::new(500).set_body_raw(body, "application/json"));
    let out = add_somebody(&throttling);
    out.assert_code(1);
    assert!(out.stderr.contains("outage") && !out.stderr.contains("panicked"), "{out}");
}

#[test]
fn a_name_holding_terminal_escapes_and_a_line_break_prints_escaped() {
    let mut world = World::generate(&WorldConfig::tiny());
    world.players[0].rename("Evil\u{1b}[2J\nERROR: forged");
    let player = world.players[0].bungie_name();
    let fake = FakeBungie::start(world, API_KEY);
    let dir = data_dir();
    let added = Dclisync::new(dir.path()).api(&fake).args(["-A", &player]).run();
    added.assert_success();
    let listed = Dclisync::new(dir.path()).arg("--list").run();
    listed.assert_success();
    for out in [&added, &listed] {
        assert!(!out.all().contains('\u{1b}'), "an escape reached the terminal\n{out:?}");
        assert!(out.all().contains("Evil\\u{1b}[2J\\nERROR: forged"), "{out}");
        assert!(!out.all().lines().any(|l| l.starts_with("ERROR: forged")), "a line was forged\n{out}");
    }
}

/// The names of the files in `dir`, sorted.
fn files_in(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read the data dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_database_of_a_newer_dclisync_is_refused_untouched_and_a_list_leaves_no_wal_behind() {
    let fake = tiny_fake();
    let dir = data_dir();
    crate::common::add_all(dir.path(), &fake);
    crate::common::sync(dir.path(), &fake).assert_success();
    // The last connection to close folds the WAL back in and removes -wal and -shm.
    let conn = rusqlite::Connection::open(crate::common::db_path(dir.path())).expect("open");
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).expect("checkpoint");
    drop(conn);
    let before = files_in(dir.path());
    assert!(!before.iter().any(|f| f.ends_with("-wal") || f.ends_with("-shm")), "{before:?}");

    let listed = crate::common::list(dir.path());
    listed.assert_success();
    assert_eq!(files_in(dir.path()), before, "a list leaves no -wal or -shm\n{listed}");

    let conn = rusqlite::Connection::open(crate::common::db_path(dir.path())).expect("open");
    conn.pragma_update(None, "user_version", 99).expect("pretend a newer dclisync wrote it");
    drop(conn);
    let files = files_in(dir.path());
    let before = std::fs::read(crate::common::db_path(dir.path())).expect("read");
    for out in [crate::common::sync(dir.path(), &fake), crate::common::list(dir.path())] {
        out.assert_code(1);
        assert!(out.stderr.contains("written by a newer dclisync") && out.stderr.contains("upgrade"), "{out}");
    }
    assert_eq!(std::fs::read(crate::common::db_path(dir.path())).expect("read"), before, "the file changed");
    assert_eq!(files_in(dir.path()), files);
}

/// A successful envelope around `response`.
fn envelope(response: serde_json::Value) -> ResponseTemplate {
    let body = serde_json::json!({"Response": response, "ErrorCode": 1, "ThrottleSeconds": 0,
        "ErrorStatus": "Success", "Message": "Ok", "MessageData": {}});
    ResponseTemplate::new(200).set_body_raw(body.to_string(), "application/json")
}

#[test]
fn a_profile_listing_thousands_of_characters_is_refused_as_malformed() {
    let card = serde_json::json!([{"membershipType": 3, "membershipId": "4611686018400001001",
        "displayName": "Many", "bungieGlobalDisplayName": "Many", "bungieGlobalDisplayNameCode": 1,
        "crossSaveOverride": 0, "applicableMembershipTypes": [3]}]);
    let characters: serde_json::Map<String, serde_json::Value> = (0..5000u64)
        .map(|i| {
            (
                (2305843009300000000 + i).to_string(),
                serde_json::json!({"classType": 1, "dateLastPlayed": "2024-05-01T12:00:00Z"}),
            )
        })
        .collect();
    let server = OneAnswer::routes(vec![
        ("SearchDestinyPlayerByBungieName", envelope(card)),
        ("/Profile/[0-9]+/$", envelope(serde_json::json!({"characters": {"data": characters}}))),
        ("/Profile/.*LinkedProfiles", envelope(serde_json::json!({"profiles": []}))),
    ]);
    let dir = data_dir();
    let out = Dclisync::new(dir.path())
        .api_root(&server.uri())
        .key(API_KEY)
        .env("DCLISYNC_MAX_RPS", "0")
        .args(["--sync", "Many#0001"])
        .timeout(Duration::from_secs(30))
        .run();
    out.assert_code(1);
    assert!(out.stderr.contains("5000 characters") && out.stderr.contains("malformed"), "{out}");
    assert!(!out.stderr.contains("panicked"), "{out}");
}

#[test]
fn a_clan_that_never_stops_paging_is_read_to_the_cap_and_said_once() {
    let server = OneAnswer::routes(vec![("/GroupV2/", envelope(serde_json::json!({"results": [], "hasMore": true})))]);
    let dir = data_dir();
    let out = Dclisync::new(dir.path())
        .api_root(&server.uri())
        .key(API_KEY)
        .env("DCLISYNC_MAX_RPS", "0")
        .args(["--import-group", "4242"])
        .run();
    out.assert_success();
    let cap = dclisync::shell::sync::MAX_ROSTER_PAGES;
    assert_eq!(server.requests(), cap, "{out}");
    assert_eq!(out.stderr.matches(&format!("stopped after {cap} pages")).count(), 1, "{out}");
    assert!(out.stderr.contains("clan 4242"), "{out}");
}
