//! The fake answers a hand-written HTTP client, so its shapes are checked without dclisync.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use dclisync_testkit::fake::*;
use dclisync_testkit::world::{World, WorldConfig, MODE_ALL_PVP, MODE_PRIVATE};
use serde_json::{json, Value};

const KEY: &str = "fixture-self-test-key";

/// Minimal HTTP/1.1 client: (status, content type, body).
fn call(fake: &FakeBungie, method: &str, path: &str, key: &str, body: &str) -> (u16, String, String) {
    let answer = call_raw(fake, method, path, key, body);
    (answer.status, answer.header("content-type"), String::from_utf8_lossy(&answer.body).into_owned())
}

struct Answer {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Answer {
    /// The value of header `name`, empty when absent.
    fn header(&self, name: &str) -> String {
        self.head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
            })
            .unwrap_or_default()
    }

    fn json(&self) -> Result<Value, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }
}

/// The whole answer, body as bytes (a truncated body may end inside a UTF-8 character).
fn call_raw(fake: &FakeBungie, method: &str, path: &str, key: &str, body: &str) -> Answer {
    let addr = fake.uri().trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&addr).unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nX-API-Key: {key}\r\nUser-Agent: fixture-test\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let rest = &raw[split + 4..];
    let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
    let mut answer = Answer { status, head, body: Vec::new() };
    answer.body = if answer.header("transfer-encoding").eq_ignore_ascii_case("chunked") {
        let mut out = Vec::new();
        let mut rest = rest;
        loop {
            let line_end = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let size = usize::from_str_radix(std::str::from_utf8(&rest[..line_end]).unwrap().trim(), 16).unwrap();
            if size == 0 {
                break;
            }
            let after = &rest[line_end + 2..];
            out.extend_from_slice(&after[..size]);
            rest = &after[size + 2..];
        }
        out
    } else {
        rest.to_vec()
    };
    answer
}

fn get_json(fake: &FakeBungie, path: &str) -> Value {
    let (status, content_type, body) = call(fake, "GET", path, KEY, "");
    assert!(content_type.starts_with("application/json"), "{path}: {content_type}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["ErrorCode"], 1, "{path} → {status} {body}");
    assert_eq!(status, 200);
    v["Response"].clone()
}

#[test]
fn the_fake_serves_a_player_from_search_to_report() {
    let fake = FakeBungie::start(World::generate(&WorldConfig::small()), KEY);
    let world = fake.world().clone();
    let player = &world.players[1];
    let body = json!({"displayName": player.name, "displayNameCode": player.code}).to_string();
    let (status, _, text) = call(&fake, "POST", "/Platform/Destiny2/SearchDestinyPlayerByBungieName/-1/", KEY, &body);
    assert_eq!(status, 200);
    let cards: Value = serde_json::from_str(&text).unwrap();
    let cards = cards["Response"].as_array().unwrap().clone();
    assert_eq!(cards.len(), 2, "cross-save decoy and primary");
    assert_eq!(cards[1]["membershipType"], cards[1]["crossSaveOverride"]);

    let (t, id) = (player.primary.membership_type, &player.primary.membership_id);
    let profile = get_json(&fake, &format!("/Platform/Destiny2/{t}/Profile/{id}/?components=100,200"));
    let chars = profile["characters"]["data"].as_object().unwrap();
    assert_eq!(chars.len(), player.live_characters().count());
    assert_eq!(profile["profile"]["data"]["userInfo"]["membershipId"], id.as_str());

    let linked = get_json(&fake, &format!("/Platform/Destiny2/{t}/Profile/{id}/LinkedProfiles/"));
    assert_eq!(linked["profiles"].as_array().unwrap().len(), 2);

    let stats = get_json(&fake, &format!("/Platform/Destiny2/{t}/Account/{id}/Stats/?groups=1"));
    assert_eq!(stats["characters"].as_array().unwrap().len(), player.characters.len());

    let cid = &player.characters[0].character_id;
    let mut seen = 0;
    for mode in [MODE_ALL_PVP, MODE_PRIVATE] {
        let page = get_json(
            &fake,
            &format!(
                "/Platform/Destiny2/{t}/Account/{id}/Character/{cid}/Stats/Activities/?mode={mode}&count=250&page=0"
            ),
        );
        let activities = page["activities"].as_array().unwrap();
        seen += activities.len();
        let iid = activities[0]["activityDetails"]["instanceId"].as_str().unwrap();
        let report = get_json(&fake, &format!("/Platform/Destiny2/Stats/PostGameCarnageReport/{iid}/"));
        assert_eq!(report["activityDetails"]["instanceId"], iid);
        let past = get_json(
            &fake,
            &format!(
                "/Platform/Destiny2/{t}/Account/{id}/Character/{cid}/Stats/Activities/?mode={mode}&count=250&page=1"
            ),
        );
        assert_eq!(past, json!({}));
    }
    assert!(seen > 0);
    assert_eq!(fake.pgcrs_served(), 2);
    assert!(fake.requests().iter().all(|r| r.api_key_ok));
}

/// A report is written straight from the world, without a copy: the bytes must still be exactly
/// those of the whole envelope as `serde_json` writes it, which the archive tests and the
/// benchmarks' bytes per report rely on.
#[test]
fn a_served_report_is_byte_for_byte_the_envelope_serde_json_writes() {
    let fake = FakeBungie::start(World::generate(&WorldConfig::small()), KEY);
    let world = fake.world().clone();
    let m = world.matches.first().expect("the small world has matches");
    let iid = m.pgcr["activityDetails"]["instanceId"].as_str().unwrap();
    let answer = call_raw(&fake, "GET", &format!("/Platform/Destiny2/Stats/PostGameCarnageReport/{iid}/"), KEY, "");
    let whole = json!({
        "Response": m.pgcr,
        "ErrorCode": 1,
        "ThrottleSeconds": 0,
        "ErrorStatus": "Success",
        "Message": "Ok",
        "MessageData": {},
    });
    assert_eq!(answer.status, 200);
    assert_eq!(String::from_utf8_lossy(&answer.body), serde_json::to_string(&whole).unwrap());
}

#[test]
fn the_fake_pages_a_long_history_newest_first() {
    let fake = FakeBungie::start(World::generate(&WorldConfig::default()), KEY);
    let player = fake.world().players[0].clone();
    let (t, id) = (player.primary.membership_type, &player.primary.membership_id);
    let cid = &player.characters[0].character_id;
    let mut all = Vec::new();
    for page in 0.. {
        let r = get_json(
            &fake,
            &format!(
                "/Platform/Destiny2/{t}/Account/{id}/Character/{cid}/Stats/Activities/?mode=5&count=250&page={page}"
            ),
        );
        let Some(items) = r["activities"].as_array() else { break };
        all.extend(items.iter().map(|i| i["period"].as_str().unwrap().to_owned()));
    }
    assert!(all.len() > 500);
    assert!(all.windows(2).all(|w| w[0] >= w[1]));
}

#[test]
fn the_fake_refuses_a_wrong_key_and_unknown_routes_and_fails_on_demand() {
    let fake = FakeBungie::start(World::generate(&WorldConfig::tiny()), KEY);
    let m = fake.world().matches[0].instance_id.clone();
    let path = format!("/Platform/Destiny2/Stats/PostGameCarnageReport/{m}/");
    let (status, _, body) = call(&fake, "GET", &path, "wrong", "");
    assert_eq!(status, 401);
    assert!(body.contains("2101"));
    let (status, _, body) = call(&fake, "GET", "/Platform/Nope/", KEY, "");
    assert_eq!(status, 404);
    assert!(body.contains("\"ErrorCode\":7"));
    let (status, _, _) = call(&fake, "GET", path.trim_end_matches('/'), KEY, "");
    assert_eq!(status, 404, "no trailing slash, no answer");

    fake.fail_pgcrs_after(1);
    assert_eq!(call(&fake, "GET", &path, KEY, "").0, 200);
    let (status, content_type, body) = call(&fake, "GET", &path, KEY, "");
    assert_eq!(status, 500);
    assert!(content_type.starts_with("text/html") && body.contains("<html>"));
    fake.heal();
    assert_eq!(call(&fake, "GET", &path, KEY, "").0, 200);
    // The wrong-key and no-slash requests count as PGCR requests too.
    assert_eq!(fake.pgcr_requests(), 5);
    assert_eq!(fake.pgcrs_served(), 2);
}

#[test]
fn the_fake_lists_the_clan_on_two_pages() {
    let fake = FakeBungie::start(World::generate(&WorldConfig::tiny()), KEY);
    let gid = fake.world().clan.group_id.clone();
    let one = get_json(&fake, &format!("/Platform/GroupV2/{gid}/Members/?currentpage=1"));
    let two = get_json(&fake, &format!("/Platform/GroupV2/{gid}/Members/?currentpage=2"));
    assert_eq!(one["hasMore"], true);
    assert_eq!(two["hasMore"], false);
    let total = one["results"].as_array().unwrap().len() + two["results"].as_array().unwrap().len();
    assert_eq!(total, fake.world().clan.members().count());
    assert_eq!(fake.request_count_matching(&format!("/Platform/GroupV2/{gid}/Members/?currentpage=2")), 1);
    let nameless = fake.world().clan.nameless_members().next().unwrap().membership_id.clone();
    let r = get_json(&fake, &format!("/Platform/User/GetMembershipsById/{nameless}/-1/"));
    assert_eq!(r["destinyMemberships"][0]["membershipId"], nameless.as_str());
}

fn pgcr_path(fake: &FakeBungie, index: usize) -> String {
    format!("{PGCR_PATH_PREFIX}{}/", fake.world().matches[index].instance_id)
}

#[test]
fn the_fake_throttles_a_burst_above_its_limit_with_throttle_seconds() {
    let options = FakeOptions { limit: Some((5, Duration::from_secs(60))), ..FakeOptions::default() };
    let fake = FakeBungie::start_with(World::generate(&WorldConfig::tiny()), KEY, 0, options);
    let answers: Vec<Answer> = (0..8).map(|i| call_raw(&fake, "GET", &pgcr_path(&fake, i), KEY, "")).collect();
    for (i, answer) in answers.iter().enumerate() {
        let v = answer.json().unwrap();
        if i < 5 {
            assert_eq!((answer.status, v["ErrorCode"].as_i64()), (200, Some(1)), "request {i}");
        } else {
            assert_eq!(answer.status, 429, "request {i}");
            assert_eq!(v["ErrorCode"], 51);
            assert_eq!(v["ErrorStatus"], "PerEndpointRequestThrottleExceeded");
            assert_eq!(v["ThrottleSeconds"], LIMIT_THROTTLE_SECONDS);
        }
    }
    assert_eq!(fake.throttled_answers(), 3);
    assert_eq!(fake.pgcrs_served(), 5);
    let flags: Vec<bool> = fake.requests().iter().map(|r| r.throttled).collect();
    assert_eq!(flags, [false, false, false, false, false, true, true, true]);
    assert_eq!(fake.faults_injected(), 0);
}

#[test]
fn the_fake_window_slides_and_counts_throttled_arrivals_too() {
    let window = Duration::from_millis(1000);
    let options = FakeOptions { limit: Some((3, window)), ..FakeOptions::default() };
    let fake = FakeBungie::start_with(World::generate(&WorldConfig::tiny()), KEY, 0, options);
    let path = pgcr_path(&fake, 0);
    let status = || call(&fake, "GET", &path, KEY, "").0;
    let mut seen = vec![status(), status(), status()];
    std::thread::sleep(window / 2);
    seen.push(status()); // the first three are still in the window
    std::thread::sleep(window / 2 + Duration::from_millis(100));
    // The first three have left the window; the throttled fourth has not.
    seen.extend([status(), status(), status()]);
    assert_eq!(seen, [200, 200, 200, 429, 200, 200, 429]);
    assert_eq!(fake.throttled_answers(), 2);
}

#[test]
fn the_fake_injects_faults_near_their_rate_the_same_for_a_seed() {
    let world = World::generate(&WorldConfig::small());
    let options = |seed| FakeOptions {
        fault_rate: 0.25,
        fault_seed: seed,
        slow_delay: Duration::from_millis(10),
        ..FakeOptions::default()
    };
    let run = |seed| {
        let fake = FakeBungie::start_with(world.clone(), KEY, 0, options(seed));
        // 100 reports, twice each: a retry of the same request gets its own draw.
        for i in (0..100).chain(0..100) {
            call_raw(&fake, "GET", &pgcr_path(&fake, i), KEY, "");
        }
        let faults: Vec<Option<FaultKind>> = fake.requests().iter().map(|r| r.fault).collect();
        assert_eq!(fake.faults_injected(), faults.iter().flatten().count());
        assert_eq!(fake.faults_by_kind().values().sum::<usize>(), fake.faults_injected());
        let spoiled = faults.iter().filter(|f| f.is_some_and(|k| k != FaultKind::Slow)).count();
        assert_eq!(fake.pgcrs_served(), 200 - spoiled, "a spoiled report is not served");
        (faults, fake.faults_by_kind())
    };
    let (faults, by_kind) = run(7);
    let count = faults.iter().flatten().count();
    // Binomial(200, 0.25): mean 50, standard deviation 6.1.
    assert!((30..=70).contains(&count), "{count} faults in 200 requests at rate 0.25");
    assert!(by_kind.len() >= 6, "a mix of kinds: {by_kind:?}");
    assert_ne!(faults[..100], faults[100..], "a repeated request draws again");
    assert_eq!(run(7).0, faults, "same seed, same faults");
    assert_ne!(run(8).0, faults, "another seed, other faults");
}

#[test]
fn each_forced_fault_answers_as_documented() {
    let options = FakeOptions { slow_delay: Duration::from_millis(300), ..FakeOptions::default() };
    let fake = FakeBungie::start_with(World::generate(&WorldConfig::tiny()), KEY, 0, options);
    let path = pgcr_path(&fake, 0);
    let healthy = call_raw(&fake, "GET", &path, KEY, "");
    assert_eq!(healthy.status, 200);
    let throttles = THROTTLE_CODES.map(|(code, _, _)| FaultKind::Throttle { code, seconds: code as u64 % 3 });
    let answered = [FaultKind::Maintenance, FaultKind::Privacy, FaultKind::PgcrNotFound];
    for kind in FaultKind::ALL.into_iter().chain(answered).chain(throttles) {
        fake.fail_next(kind, 1, PGCR_PATH_PREFIX);
        let started = Instant::now();
        let answer = call_raw(&fake, "GET", &path, KEY, "");
        let elapsed = started.elapsed();
        let content_type = answer.header("content-type");
        let html = content_type.starts_with("text/html");
        let envelope = answer.json().ok();
        let code = envelope.as_ref().and_then(|v| v["ErrorCode"].as_i64());
        let throttle = envelope.as_ref().and_then(|v| v["ThrottleSeconds"].as_i64());
        match kind {
            FaultKind::Html500 => assert!(answer.status == 500 && html),
            FaultKind::Html502 => assert!(answer.status == 502 && html),
            FaultKind::Html503 => assert!(answer.status == 503 && html && answer.header("retry-after").is_empty()),
            FaultKind::Html504 => assert!(answer.status == 504 && html),
            FaultKind::Unavailable503RetryAfter => {
                assert!(answer.status == 503 && html && answer.header("retry-after") == "1")
            }
            FaultKind::TruncatedJson => {
                assert!(answer.status == 200 && content_type.starts_with("application/json"));
                assert!(envelope.is_none());
                assert_eq!(answer.body.len(), healthy.body.len() / 2);
                assert!(healthy.body.starts_with(&answer.body));
            }
            FaultKind::InvalidJson => {
                assert!(answer.status == 200 && content_type.starts_with("application/json") && envelope.is_none())
            }
            FaultKind::Unexpected1618 => assert_eq!((answer.status, code, throttle), (500, Some(1618), Some(0))),
            FaultKind::Throttle36 => assert_eq!((answer.status, code, throttle), (500, Some(36), Some(1))),
            FaultKind::Slow => {
                assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
                assert_eq!(answer.body, healthy.body);
            }
            FaultKind::Maintenance => assert_eq!((answer.status, code), (503, Some(5))),
            FaultKind::Privacy => assert_eq!((answer.status, code), (500, Some(1665))),
            FaultKind::PgcrNotFound => assert_eq!((answer.status, code), (500, Some(1653))),
            FaultKind::Throttle { code: c, seconds } => {
                let (_, status, http) = THROTTLE_CODES.iter().find(|(t, _, _)| *t == c).unwrap();
                assert_eq!((answer.status, code, throttle), (*http, Some(c), Some(seconds as i64)));
                assert_eq!(envelope.as_ref().unwrap()["ErrorStatus"], *status);
            }
            FaultKind::Hang => unreachable!("not in this loop"),
        }
        assert_eq!(fake.requests().last().unwrap().fault, Some(kind));
    }
    assert_eq!(fake.faults_injected(), FaultKind::ALL.len() + answered.len() + throttles.len());
    assert_eq!(fake.pgcrs_served(), 2, "the healthy and the slow answer");

    // Forced faults hit only their endpoint, as many times as asked.
    fake.fail_next(FaultKind::Html503, 2, PGCR_PATH_PREFIX);
    let gid = fake.world().clan.group_id.clone();
    assert_eq!(call(&fake, "GET", &format!("/Platform/GroupV2/{gid}/Members/?currentpage=1"), KEY, "").0, 200);
    let statuses: Vec<u16> = (0..3).map(|_| call(&fake, "GET", &path, KEY, "").0).collect();
    assert_eq!(statuses, [503, 503, 200]);
}

#[test]
fn the_fake_delays_every_answer_by_its_latency() {
    let latency = Duration::from_millis(200);
    let options = FakeOptions { latency, limit: Some((1, Duration::from_secs(60))), ..FakeOptions::default() };
    let fake = FakeBungie::start_with(World::generate(&WorldConfig::tiny()), KEY, 0, options);
    let path = pgcr_path(&fake, 0);
    // A served answer, then a throttle answer: both wait.
    for expected in [200, 429] {
        let started = Instant::now();
        let status = call(&fake, "GET", &path, KEY, "").0;
        let elapsed = started.elapsed();
        assert_eq!(status, expected);
        assert!(elapsed >= latency, "{expected}: answered after {elapsed:?}");
    }
}
