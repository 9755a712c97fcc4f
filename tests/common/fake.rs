//! The fake Bungie.net: a wiremock server on 127.0.0.1 that serves one generated [`World`]
//! through every endpoint of SPEC §2, in Bungie's envelopes, and records every request. It owns
//! its tokio runtime, so tests stay plain `#[test]` functions that run the real binary with
//! `std::process::Command` against [`FakeBungie::uri`].
//!
//! One [`Respond`] implementation routes by method, path and query; knobs such as
//! [`FakeBungie::fail_pgcrs_after`] change its behaviour while a sync is running.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::world::{Account, Player, World, HISTORY_PAGE_SIZE};

/// Path of the post-game carnage report endpoint (on stats.bungie.net in production).
pub const PGCR_PATH_PREFIX: &str = "/Platform/Destiny2/Stats/PostGameCarnageReport/";
/// Path segment of the activity-history endpoint.
pub const HISTORY_PATH_PART: &str = "/Stats/Activities/";

/// Bungie's default history page size when `count` is not given.
const DEFAULT_HISTORY_COUNT: usize = 25;

/// The HTML page a Bungie outage serves instead of JSON.
const OUTAGE_PAGE: &str = "<!DOCTYPE html>\n<html><head><title>Bungie.net - Service Unavailable</title></head>\
<body><h1>Bungie.net is down</h1><p>We are working on it. Please try again later.</p></body></html>\n";

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct LoggedRequest {
    pub method: String,
    pub path: String,
    /// Raw query string without the `?` (empty when none).
    pub query: String,
    /// Time since the fake started.
    pub at: Duration,
    /// HTTP status the fake answered with.
    pub status: u16,
    pub user_agent: Option<String>,
    pub api_key_ok: bool,
}

impl LoggedRequest {
    pub fn path_and_query(&self) -> String {
        if self.query.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{}", self.path, self.query)
        }
    }

    pub fn is_pgcr(&self) -> bool {
        self.path.starts_with(PGCR_PATH_PREFIX)
    }

    pub fn is_history(&self) -> bool {
        self.path.contains(HISTORY_PATH_PART)
    }
}

#[derive(Default)]
struct State {
    log: Vec<LoggedRequest>,
    /// PGCRs answered with a report.
    pgcrs_served: usize,
    /// Once `pgcrs_served` reaches this, PGCR requests get an HTML 500.
    fail_pgcrs_from: Option<usize>,
    /// Every request gets ErrorCode 5 (SystemDisabled), as during Bungie's maintenance.
    maintenance: bool,
    /// PGCR answers are held back this long (a server stuck on a request).
    pgcr_delay: Option<Duration>,
}

struct Shared {
    world: World,
    api_key: String,
    started: Instant,
    state: Mutex<State>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // A panicking test thread must not hide the log from the others.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub struct FakeBungie {
    runtime: tokio::runtime::Runtime,
    server: Option<MockServer>,
    shared: Arc<Shared>,
}

impl FakeBungie {
    /// Start serving `world` to clients that send `X-API-Key: api_key`, on a free port.
    pub fn start(world: World, api_key: &str) -> FakeBungie {
        FakeBungie::start_on(world, api_key, 0)
    }

    /// Start serving `world` on 127.0.0.1:`port` (0: any free port).
    pub fn start_on(world: World, api_key: &str, port: u16) -> FakeBungie {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime for the fake Bungie");
        let shared = Arc::new(Shared {
            world,
            api_key: api_key.to_owned(),
            started: Instant::now(),
            state: Mutex::new(State::default()),
        });
        let responder = Responder(Arc::clone(&shared));
        let server = runtime.block_on(async move {
            let listener = std::net::TcpListener::bind(("127.0.0.1", port)).expect("bind 127.0.0.1");
            let server = MockServer::builder().listener(listener).disable_request_recording().start().await;
            Mock::given(any()).respond_with(responder).mount(&server).await;
            server
        });
        FakeBungie { runtime, server: Some(server), shared }
    }

    /// The root for `DCLISYNC_API_ROOT`, e.g. `http://127.0.0.1:41234` (paths start `/Platform`).
    pub fn uri(&self) -> String {
        self.server.as_ref().expect("server runs until drop").uri()
    }

    pub fn world(&self) -> &World {
        &self.shared.world
    }

    /// After `k` more reports are served, every PGCR request gets an HTTP 500 with an HTML page.
    pub fn fail_pgcrs_after(&self, k: usize) {
        let mut state = self.shared.state();
        state.fail_pgcrs_from = Some(state.pgcrs_served + k);
    }

    /// Answer every request with ErrorCode 5 (SystemDisabled), as Bungie does in maintenance.
    pub fn start_maintenance(&self) {
        self.shared.state().maintenance = true;
    }

    /// Hold every PGCR answer back for `delay`, as a server stuck on requests does.
    pub fn delay_pgcrs(&self, delay: Duration) {
        self.shared.state().pgcr_delay = Some(delay);
    }

    /// Serve reports normally again (and end a maintenance and any delay).
    pub fn heal(&self) {
        let mut state = self.shared.state();
        state.fail_pgcrs_from = None;
        state.maintenance = false;
        state.pgcr_delay = None;
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.shared.state().log.clone()
    }

    /// Requests received so far; pass it to [`FakeBungie::requests_since`] later.
    pub fn mark(&self) -> usize {
        self.shared.state().log.len()
    }

    pub fn requests_since(&self, mark: usize) -> Vec<LoggedRequest> {
        self.shared.state().log[mark..].to_vec()
    }

    /// Requests whose `path?query` starts with `prefix`.
    pub fn request_count_matching(&self, prefix: &str) -> usize {
        self.shared.state().log.iter().filter(|r| r.path_and_query().starts_with(prefix)).count()
    }

    /// PGCR requests received (served or failed).
    pub fn pgcr_requests(&self) -> usize {
        self.shared.state().log.iter().filter(|r| r.is_pgcr()).count()
    }

    /// PGCR requests answered with a report.
    pub fn pgcrs_served(&self) -> usize {
        self.shared.state().pgcrs_served
    }

    /// Instance ids of every PGCR request, in arrival order, repeats included.
    pub fn pgcr_ids_requested(&self) -> Vec<String> {
        self.shared
            .state()
            .log
            .iter()
            .filter(|r| r.is_pgcr())
            .map(|r| r.path[PGCR_PATH_PREFIX.len()..].trim_end_matches('/').to_owned())
            .collect()
    }

    /// The most requests that arrived within any span of `window`.
    pub fn max_requests_in_window(&self, window: Duration) -> usize {
        let times: Vec<Duration> = self.shared.state().log.iter().map(|r| r.at).collect();
        let mut best = 0;
        let mut start = 0;
        for end in 0..times.len() {
            while times[end] - times[start] >= window {
                start += 1;
            }
            best = best.max(end - start + 1);
        }
        best
    }
}

impl Drop for FakeBungie {
    fn drop(&mut self) {
        // The server's tasks belong to our runtime: stop them from inside it.
        let _guard = self.runtime.enter();
        drop(self.server.take());
    }
}

// ---------------------------------------------------------------------------------------------
// Responding

enum Reply {
    Json(u16, Value),
    Html(u16, &'static str),
}

impl Reply {
    fn status(&self) -> u16 {
        match self {
            Reply::Json(status, _) | Reply::Html(status, _) => *status,
        }
    }

    fn into_template(self) -> ResponseTemplate {
        match self {
            Reply::Json(status, body) => ResponseTemplate::new(status)
                .set_body_raw(serde_json::to_vec(&body).expect("serializable"), "application/json; charset=utf-8"),
            Reply::Html(status, page) => ResponseTemplate::new(status).set_body_raw(page, "text/html; charset=utf-8"),
        }
    }
}

fn success(response: Value) -> Reply {
    Reply::Json(
        200,
        json!({
            "Response": response,
            "ErrorCode": 1,
            "ThrottleSeconds": 0,
            "ErrorStatus": "Success",
            "Message": "Ok",
            "MessageData": {},
        }),
    )
}

/// Bungie's error envelope: no `Response`, a non-200 status.
fn failure(http_status: u16, code: i64, status: &str, message: &str) -> Reply {
    Reply::Json(
        http_status,
        json!({
            "ErrorCode": code,
            "ThrottleSeconds": 0,
            "ErrorStatus": status,
            "Message": message,
            "MessageData": {},
        }),
    )
}

fn unknown_route() -> Reply {
    failure(404, 7, "ParameterParseFailure", "Unable to parse your parameters.  Please correct them, and try again.")
}

fn account_not_found() -> Reply {
    failure(500, 1601, "DestinyAccountNotFound", "We were unable to find your Destiny account information.")
}

struct Responder(Arc<Shared>);

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let shared = &self.0;
        let path = request.url.path().to_owned();
        let query = request.url.query().unwrap_or("").to_owned();
        let header = |name: &str| request.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let api_key_ok = header("x-api-key").as_deref() == Some(shared.api_key.as_str());
        let (maintenance, pgcr_delay) = {
            let state = shared.state();
            (state.maintenance, state.pgcr_delay.filter(|_| path.starts_with(PGCR_PATH_PREFIX)))
        };
        let reply = if maintenance {
            failure(503, 5, "SystemDisabled", "This system is temporarily disabled for maintenance.")
        } else if api_key_ok {
            route(shared, request, &path)
        } else {
            failure(401, 2101, "ApiInvalidOrExpiredKey", "The given Platform API Key is invalid.")
        };
        shared.state().log.push(LoggedRequest {
            method: request.method.as_str().to_owned(),
            path,
            query,
            at: shared.started.elapsed(),
            status: reply.status(),
            user_agent: header("user-agent"),
            api_key_ok,
        });
        match pgcr_delay {
            Some(delay) => reply.into_template().set_delay(delay),
            None => reply.into_template(),
        }
    }
}

fn route(shared: &Shared, request: &Request, path: &str) -> Reply {
    // Bungie redirects paths without the trailing slash, and redirects drop the key.
    let Some(inner) = path.strip_prefix('/').and_then(|p| p.strip_suffix('/')) else {
        return unknown_route();
    };
    let segments: Vec<&str> = inner.split('/').collect();
    let query: HashMap<String, String> = request.url.query_pairs().into_owned().collect();
    let world = &shared.world;
    let method = request.method.as_str();

    match (method, segments.as_slice()) {
        ("POST", ["Platform", "Destiny2", "SearchDestinyPlayerByBungieName", "-1"]) => search(world, &request.body),
        ("GET", ["Platform", "Destiny2", "Stats", "PostGameCarnageReport", id]) => pgcr(shared, id),
        ("GET", ["Platform", "Destiny2", t, "Profile", id, "LinkedProfiles"]) => linked_profiles(world, t, id),
        ("GET", ["Platform", "Destiny2", t, "Profile", id]) => profile(world, t, id, &query),
        ("GET", ["Platform", "Destiny2", t, "Account", id, "Stats"]) => account_stats(world, t, id),
        ("GET", ["Platform", "Destiny2", t, "Account", id, "Character", cid, "Stats", "Activities"]) => {
            history(world, t, id, cid, &query)
        }
        ("GET", ["Platform", "GroupV2", group, "Members"]) => group_members(world, group, &query),
        ("GET", ["Platform", "User", "GetMembershipsById", id, _]) => memberships(world, id),
        _ => unknown_route(),
    }
}

fn search(world: &World, body: &[u8]) -> Reply {
    let Ok(body) = serde_json::from_slice::<Value>(body) else {
        return unknown_route();
    };
    // The code must be a JSON number (SPEC §2), as Bungie's API declares it.
    let (Some(name), Some(code)) = (body["displayName"].as_str(), body["displayNameCode"].as_u64()) else {
        return unknown_route();
    };
    let cards: Vec<Value> = world
        .players
        .iter()
        .filter(|p| p.name.to_lowercase() == name.to_lowercase() && u64::from(p.code) == code)
        .flat_map(|p| p.accounts().map(|a| p.card(a)).collect::<Vec<_>>())
        .collect();
    success(Value::Array(cards))
}

/// The player and account a `{membershipType}/…/{membershipId}` path names, if both agree.
fn account<'w>(world: &'w World, t: &str, id: &str) -> Option<(&'w Player, &'w Account)> {
    let (player, account) = world.player_by_membership(id)?;
    (t.parse::<i64>().ok()? == account.membership_type).then_some((player, account))
}

fn linked_profiles(world: &World, t: &str, id: &str) -> Reply {
    let Some((player, _)) = account(world, t, id) else {
        return account_not_found();
    };
    let profiles: Vec<Value> = player
        .accounts()
        .map(|a| {
            let is_primary = a.membership_id == player.primary.membership_id;
            let mut card = player.card(a);
            card["dateLastPlayed"] = json!(a.date_last_played);
            card["isOverridden"] = json!(player.cross_save_override != 0 && !is_primary);
            card["isCrossSavePrimary"] = json!(player.cross_save_override != 0 && is_primary);
            card
        })
        .collect();
    success(json!({
        "profiles": profiles,
        "bnetMembership": {
            "supplementalDisplayName": player.bungie_name(),
            "iconPath": "/img/profile/avatars/default_avatar.gif",
            "crossSaveOverride": player.cross_save_override,
            "isPublic": false,
            "membershipType": 254,
            "membershipId": format!("{}", 10_000_000 + player.code as u64),
            "displayName": player.name,
            "bungieGlobalDisplayName": player.name,
            "bungieGlobalDisplayNameCode": player.code,
        },
        "profilesWithErrors": [],
    }))
}

fn profile(world: &World, t: &str, id: &str, query: &HashMap<String, String>) -> Reply {
    let Some((player, account)) = account(world, t, id) else {
        return account_not_found();
    };
    let components: Vec<&str> =
        query.get("components").map(|c| c.split(',').map(str::trim).collect()).unwrap_or_default();
    // An old unlinked account or an overridden cross-save card has no characters to show.
    let is_primary = account.membership_id == player.primary.membership_id;
    let characters: Vec<_> = if is_primary { player.live_characters().collect() } else { Vec::new() };
    let mut response = serde_json::Map::new();
    if components.iter().any(|c| *c == "100" || c.eq_ignore_ascii_case("profiles")) {
        response.insert(
            "profile".into(),
            json!({
                "data": {
                    "userInfo": player.card(account),
                    "dateLastPlayed": account.date_last_played,
                    "versionsOwned": 31,
                    "characterIds": characters.iter().map(|c| &c.character_id).collect::<Vec<_>>(),
                    "seasonHashes": [],
                    "currentSeasonHash": 2758726572_i64,
                    "currentSeasonRewardPowerCap": 999_990,
                },
                "privacy": 1,
            }),
        );
    }
    if components.iter().any(|c| *c == "200" || c.eq_ignore_ascii_case("characters")) {
        let data: serde_json::Map<String, Value> = characters
            .iter()
            .map(|c| {
                (
                    c.character_id.clone(),
                    json!({
                        "membershipId": account.membership_id,
                        "membershipType": account.membership_type,
                        "characterId": c.character_id,
                        "dateLastPlayed": c.date_last_played,
                        "minutesPlayedThisSession": "42",
                        "minutesPlayedTotal": "12345",
                        "light": c.light,
                        "stats": {"1935470627": c.light},
                        "raceHash": 3887404748_i64,
                        "genderHash": 3111576190_i64,
                        "classHash": c.class_hash,
                        "raceType": 0,
                        "classType": c.class_type,
                        "genderType": 0,
                        "emblemPath": "/common/destiny2_content/icons/emblem.jpg",
                        "emblemBackgroundPath": "/common/destiny2_content/icons/emblem_bg.jpg",
                        "emblemHash": c.emblem_hash,
                        "baseCharacterLevel": 50,
                        "percentToNextLevel": 0.0,
                    }),
                )
            })
            .collect();
        response.insert("characters".into(), json!({"data": data, "privacy": 1}));
    }
    success(Value::Object(response))
}

fn account_stats(world: &World, t: &str, id: &str) -> Reply {
    let Some((player, account)) = account(world, t, id) else {
        return account_not_found();
    };
    let characters: Vec<Value> = if account.membership_id == player.primary.membership_id {
        player
            .characters
            .iter()
            .map(|c| {
                json!({
                    "characterId": c.character_id,
                    "deleted": c.deleted,
                    "results": {},
                    "merged": {},
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    success(json!({
        "mergedDeletedCharacters": {},
        "mergedAllCharacters": {},
        "characters": characters,
    }))
}

fn history(world: &World, t: &str, id: &str, character_id: &str, query: &HashMap<String, String>) -> Reply {
    let owner_ok = account(world, t, id).is_some_and(|(player, account)| {
        account.membership_id == player.primary.membership_id
            && player.characters.iter().any(|c| c.character_id == character_id)
    });
    if !owner_ok {
        return failure(500, 1620, "DestinyCharacterNotFound", "The specified character was not found.");
    }
    let Some(mode) = query.get("mode").and_then(|m| m.parse::<i64>().ok()) else {
        return unknown_route();
    };
    let count = query
        .get("count")
        .and_then(|c| c.parse::<usize>().ok())
        .unwrap_or(DEFAULT_HISTORY_COUNT)
        .clamp(1, HISTORY_PAGE_SIZE);
    let page = query.get("page").and_then(|p| p.parse::<usize>().ok()).unwrap_or(0);
    let items = world.history(character_id, mode);
    let start = page.saturating_mul(count).min(items.len());
    let end = (start + count).min(items.len());
    if start == end {
        // Past the end Bungie answers with an empty object: no `activities` at all.
        success(json!({}))
    } else {
        success(json!({"activities": &items[start..end]}))
    }
}

fn pgcr(shared: &Shared, instance_id: &str) -> Reply {
    let mut state = shared.state();
    if state.fail_pgcrs_from.is_some_and(|from| state.pgcrs_served >= from) {
        return Reply::Html(500, OUTAGE_PAGE);
    }
    match shared.world.pgcr(instance_id) {
        Some(m) => {
            state.pgcrs_served += 1;
            drop(state);
            success(m.pgcr.clone())
        }
        None => failure(500, 1653, "DestinyPGCRNotFound", "The requested Post Game Carnage Report could not be found."),
    }
}

fn group_members(world: &World, group: &str, query: &HashMap<String, String>) -> Reply {
    let clan = &world.clan;
    if group != clan.group_id {
        return failure(500, 622, "GroupNotFound", "The group was not found.");
    }
    // Pages count from 1; Bungie reads 0 as 1.
    let page = query.get("currentpage").and_then(|p| p.parse::<usize>().ok()).unwrap_or(1).max(1);
    let page_size = clan.pages.first().map_or(0, Vec::len);
    let results: Vec<Value> = clan
        .pages
        .get(page - 1)
        .map(|members| {
            members
                .iter()
                .map(|m| {
                    json!({
                        "memberType": 2,
                        "isOnline": false,
                        "lastOnlineStatusChange": "1704067200",
                        "groupId": clan.group_id,
                        "destinyUserInfo": m.destiny_user_info,
                        "joinDate": "2021-09-14T18:00:00Z",
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    success(json!({
        "results": results,
        "totalResults": clan.members().count(),
        "hasMore": page < clan.pages.len(),
        "query": {"itemsPerPage": page_size, "currentPage": page},
        "useTotalResults": true,
    }))
}

fn memberships(world: &World, id: &str) -> Reply {
    if let Some((player, _)) = world.player_by_membership(id) {
        let cards: Vec<Value> = player.accounts().map(|a| player.card(a)).collect();
        let mut response = json!({
            "destinyMemberships": cards,
            "bungieNetUser": {
                "membershipId": format!("{}", 10_000_000 + player.code as u64),
                "uniqueName": player.bungie_name(),
                "displayName": player.name,
                "cachedBungieGlobalDisplayName": player.name,
                "cachedBungieGlobalDisplayNameCode": player.code,
            },
        });
        if player.cross_save_override != 0 {
            response["primaryMembershipId"] = json!(player.primary.membership_id);
        }
        return success(response);
    }
    if let Some(o) = world.opponent_by_membership(id) {
        return success(json!({
            "destinyMemberships": [o.card()],
            "bungieNetUser": {
                "uniqueName": format!("{}#{:04}", o.name, o.code),
                "displayName": o.name,
            },
        }));
    }
    if let Some(m) = world.clan.members().find(|m| m.membership_id == id) {
        return success(json!({"destinyMemberships": [m.destiny_user_info]}));
    }
    failure(500, 217, "UserCannotResolveCentralAccount", "We couldn't find the account you're looking for.")
}

#[cfg(test)]
mod tests {
    //! The fake answers a hand-written HTTP client, so its shapes are checked without dclisync.

    use std::io::{Read, Write};
    use std::net::TcpStream;

    use super::*;
    use crate::common::world::{WorldConfig, MODE_ALL_PVP, MODE_PRIVATE};

    const KEY: &str = "fixture-self-test-key";

    /// Minimal HTTP/1.1 client: (status, content type, body).
    fn call(fake: &FakeBungie, method: &str, path: &str, key: &str, body: &str) -> (u16, String, String) {
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
        let text = String::from_utf8(raw).unwrap();
        let (head, rest) = text.split_once("\r\n\r\n").unwrap();
        let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
        let header = |name: &str| {
            head.lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
                })
                .unwrap_or_default()
        };
        let body = if header("transfer-encoding").eq_ignore_ascii_case("chunked") {
            let mut out = String::new();
            let mut rest = rest;
            loop {
                let (size, after) = rest.split_once("\r\n").unwrap();
                let size = usize::from_str_radix(size.trim(), 16).unwrap();
                if size == 0 {
                    break;
                }
                out.push_str(&after[..size]);
                rest = &after[size + 2..];
            }
            out
        } else {
            rest.to_owned()
        };
        (status, header("content-type"), body)
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
        let (status, _, text) =
            call(&fake, "POST", "/Platform/Destiny2/SearchDestinyPlayerByBungieName/-1/", KEY, &body);
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
                &format!("/Platform/Destiny2/{t}/Account/{id}/Character/{cid}/Stats/Activities/?mode={mode}&count=250&page=0"),
            );
            let activities = page["activities"].as_array().unwrap();
            seen += activities.len();
            let iid = activities[0]["activityDetails"]["instanceId"].as_str().unwrap();
            let report = get_json(&fake, &format!("/Platform/Destiny2/Stats/PostGameCarnageReport/{iid}/"));
            assert_eq!(report["activityDetails"]["instanceId"], iid);
            let past = get_json(
                &fake,
                &format!("/Platform/Destiny2/{t}/Account/{id}/Character/{cid}/Stats/Activities/?mode={mode}&count=250&page=1"),
            );
            assert_eq!(past, json!({}));
        }
        assert!(seen > 0);
        assert_eq!(fake.pgcrs_served(), 2);
        assert!(fake.requests().iter().all(|r| r.api_key_ok));
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
                &format!("/Platform/Destiny2/{t}/Account/{id}/Character/{cid}/Stats/Activities/?mode=5&count=250&page={page}"),
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
}
