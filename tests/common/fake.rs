//! The fake Bungie.net: a wiremock server on 127.0.0.1 that serves one generated [`World`]
//! through every endpoint of SPEC §2, in Bungie's envelopes, and records every request. It owns
//! its tokio runtime, so tests stay plain `#[test]` functions that run the real binary with
//! `std::process::Command` against [`FakeBungie::uri`].
//!
//! One [`Respond`] implementation routes by method, path and query; knobs such as
//! [`FakeBungie::fail_pgcrs_after`] and [`FakeBungie::fail_next`] change its behaviour while a
//! sync is running. [`FakeOptions`] make it a less friendly server: latency on every answer,
//! Bungie's request limit, and transient faults drawn at random from a seed.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::world::{Account, Player, SplitMix64, World, HISTORY_PAGE_SIZE};

/// Path of the post-game carnage report endpoint (on stats.bungie.net in production).
pub const PGCR_PATH_PREFIX: &str = "/Platform/Destiny2/Stats/PostGameCarnageReport/";
/// Path segment of the activity-history endpoint.
pub const HISTORY_PATH_PART: &str = "/Stats/Activities/";

/// Bungie's default history page size when `count` is not given.
const DEFAULT_HISTORY_COUNT: usize = 25;

/// The HTML page a Bungie outage serves instead of JSON.
const OUTAGE_PAGE: &str = "<!DOCTYPE html>\n<html><head><title>Bungie.net - Service Unavailable</title></head>\
<body><h1>Bungie.net is down</h1><p>We are working on it. Please try again later.</p></body></html>\n";

/// The HTML page a failing proxy or load balancer serves.
const GATEWAY_PAGE: &str = "<html><head><title>Gateway Error</title></head><body><center><h1>Gateway Error</h1>\
</center><hr><center>edge proxy</center></body></html>\n";

/// A body sent as `application/json` that no JSON parser accepts.
const INVALID_JSON: &str = "{\"Response\": {\"activityDetails\": ]], \"ErrorCode\": 1 <!-- upstream error -->";

/// Bungie's documented limit per client: 25 requests per second averaged over a rolling 10 s.
pub const BUNGIE_LIMIT: (usize, Duration) = (250, Duration::from_secs(10));
/// `ThrottleSeconds` of a limit answer: what Bungie almost always sends.
pub const LIMIT_THROTTLE_SECONDS: u64 = 10;
/// Extra wait of a [`FaultKind::Slow`] answer: long, yet well below dclisync's 30 s read timeout.
pub const SLOW_FAULT_DELAY: Duration = Duration::from_secs(3);

/// How the fake departs from a healthy, instant, unlimited Bungie.net. `Default` is exactly that
/// healthy fake, which every end-to-end test used before these options existed.
///
/// Order of decisions for each arriving request: the limiter (a throttle answer), then a fault
/// forced by [`FakeBungie::fail_next`], then a random fault, then the real answer. `latency`
/// delays every answer, whatever it is.
#[derive(Debug, Clone)]
pub struct FakeOptions {
    /// Added to every answer through wiremock's response delay, so no tokio worker waits.
    pub latency: Duration,
    /// `(max, window)`: a request arriving while the last `window` already holds `max` arrivals
    /// is throttled. Every arrival counts, throttled ones too, so a client that keeps hammering
    /// stays throttled, as with a strict real server. The throttle answer is what Bungie sends
    /// for its per-client limit: HTTP 429 with the JSON envelope, `ErrorCode` 51
    /// (`PerEndpointRequestThrottleExceeded`) and `ThrottleSeconds` = `throttle_seconds`, no
    /// `Retry-After` header (the envelope is the signal a client must read). `None`: no limit.
    pub limit: Option<(usize, Duration)>,
    /// `ThrottleSeconds` of the limiter's answers.
    pub throttle_seconds: u64,
    /// Chance, for each request the limiter lets through, of a fault drawn evenly from
    /// `fault_kinds`. The draw depends only on `fault_seed`, the request's method, path and
    /// query, and how many times that same request came before: the same run of requests meets
    /// the same faults whatever the thread timing.
    pub fault_rate: f64,
    pub fault_seed: u64,
    /// The transient faults drawn from; by default all of [`FaultKind::ALL`].
    pub fault_kinds: Vec<FaultKind>,
    /// Extra wait of a [`FaultKind::Slow`] answer.
    pub slow_delay: Duration,
}

impl Default for FakeOptions {
    fn default() -> Self {
        FakeOptions {
            latency: Duration::ZERO,
            limit: None,
            throttle_seconds: LIMIT_THROTTLE_SECONDS,
            fault_rate: 0.0,
            fault_seed: 0,
            fault_kinds: FaultKind::ALL.to_vec(),
            slow_delay: SLOW_FAULT_DELAY,
        }
    }
}

/// A transient failure the fake can answer with instead of the real answer. Each is one a client
/// must retry (SPEC §2 "Politeness and faults"); none loses data if it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FaultKind {
    /// HTTP 500 with Bungie's HTML outage page.
    Html500,
    /// HTTP 502 with an HTML page, as a failing proxy sends.
    Html502,
    /// HTTP 503 with an HTML page and no `Retry-After`.
    Html503,
    /// HTTP 504 with an HTML page.
    Html504,
    /// HTTP 503 with an HTML page and `Retry-After: 1`.
    Unavailable503RetryAfter,
    /// HTTP 200, `application/json`, the real answer cut in half.
    TruncatedJson,
    /// HTTP 200, `application/json`, a body that is not JSON at all.
    InvalidJson,
    /// HTTP 500 envelope with `ErrorCode` 1618 `DestinyUnexpectedError`.
    Unexpected1618,
    /// HTTP 500 envelope with `ErrorCode` 36 `ThrottleLimitExceededMomentarily` and
    /// `ThrottleSeconds` 1: a throttle code other than the limiter's 51.
    Throttle36,
    /// The real answer, after an extra [`FakeOptions::slow_delay`].
    Slow,
}

impl FaultKind {
    pub const ALL: [FaultKind; 10] = [
        FaultKind::Html500,
        FaultKind::Html502,
        FaultKind::Html503,
        FaultKind::Html504,
        FaultKind::Unavailable503RetryAfter,
        FaultKind::TruncatedJson,
        FaultKind::InvalidJson,
        FaultKind::Unexpected1618,
        FaultKind::Throttle36,
        FaultKind::Slow,
    ];

    /// Short name for tables and logs.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Html500 => "html-500",
            FaultKind::Html502 => "html-502",
            FaultKind::Html503 => "html-503",
            FaultKind::Html504 => "html-504",
            FaultKind::Unavailable503RetryAfter => "503-retry-after",
            FaultKind::TruncatedJson => "truncated-json",
            FaultKind::InvalidJson => "invalid-json",
            FaultKind::Unexpected1618 => "error-1618",
            FaultKind::Throttle36 => "throttle-36",
            FaultKind::Slow => "slow",
        }
    }
}

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
    /// Answered by the limiter with a throttle error instead of served.
    pub throttled: bool,
    /// The fault injected into the answer, if any.
    pub fault: Option<FaultKind>,
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

/// A fault forced on the next `remaining` requests whose `path?query` starts with `prefix`.
struct Forced {
    kind: FaultKind,
    remaining: usize,
    prefix: String,
}

/// What the fake does with one arriving request, before routing it.
enum Verdict {
    Throttle,
    Fault(FaultKind),
    Serve,
}

#[derive(Default)]
struct State {
    log: Vec<LoggedRequest>,
    /// PGCRs answered with a report.
    pgcrs_served: usize,
    /// Once `pgcrs_served` reaches this, PGCR requests get an HTML 500.
    fail_pgcrs_from: Option<usize>,
    /// Arrival times inside the limiter's window, oldest first.
    arrivals: VecDeque<Duration>,
    throttled: usize,
    faults: BTreeMap<FaultKind, usize>,
    forced: Vec<Forced>,
    /// Times each `METHOD path?query` got past the limiter: the fault draw's counter.
    passes: HashMap<String, u64>,
}

impl State {
    fn admit(&mut self, options: &FakeOptions, at: Duration, method: &str, path_and_query: &str) -> Verdict {
        if let Some((max, window)) = options.limit {
            while self.arrivals.front().is_some_and(|&t| at.saturating_sub(t) >= window) {
                self.arrivals.pop_front();
            }
            let full = self.arrivals.len() >= max;
            self.arrivals.push_back(at);
            if full {
                self.throttled += 1;
                return Verdict::Throttle;
            }
        }
        let key = format!("{method} {path_and_query}");
        let pass = self.passes.entry(key.clone()).or_insert(0);
        let nth = *pass;
        *pass += 1;
        let forced = self.forced.iter_mut().find(|f| f.remaining > 0 && path_and_query.starts_with(&f.prefix));
        let fault = match forced {
            Some(f) => {
                f.remaining -= 1;
                Some(f.kind)
            }
            None => draw_fault(options, &key, nth),
        };
        self.forced.retain(|f| f.remaining > 0);
        match fault {
            Some(kind) => {
                *self.faults.entry(kind).or_insert(0) += 1;
                Verdict::Fault(kind)
            }
            None => Verdict::Serve,
        }
    }
}

/// The random fault, if any, for the `nth` pass of request `key`: a pure function of the seed.
fn draw_fault(options: &FakeOptions, key: &str, nth: u64) -> Option<FaultKind> {
    if options.fault_rate <= 0.0 || options.fault_kinds.is_empty() {
        return None;
    }
    // FNV-1a of the request, mixed with the seed and the pass number.
    let hash = key.bytes().fold(0xCBF2_9CE4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3));
    let mut rng = SplitMix64::new(options.fault_seed ^ hash ^ nth.wrapping_mul(0xA076_1D64_78BD_642F));
    rng.chance(options.fault_rate).then(|| *rng.pick(&options.fault_kinds))
}

struct Shared {
    world: World,
    api_key: String,
    options: FakeOptions,
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
        FakeBungie::start_with(world, api_key, port, FakeOptions::default())
    }

    /// Start serving `world` on 127.0.0.1:`port` (0: any free port), with latency, a request
    /// limit or faults as `options` say.
    pub fn start_with(world: World, api_key: &str, port: u16, options: FakeOptions) -> FakeBungie {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime for the fake Bungie");
        let shared = Arc::new(Shared {
            world,
            api_key: api_key.to_owned(),
            options,
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

    /// Serve reports normally again.
    pub fn heal(&self) {
        self.shared.state().fail_pgcrs_from = None;
    }

    /// The next `n` requests whose `path?query` starts with `prefix` get fault `kind`, whatever
    /// the random faults would do (the limiter still comes first). Calls add up, first come
    /// first served.
    pub fn fail_next(&self, kind: FaultKind, n: usize, prefix: &str) {
        self.shared.state().forced.push(Forced { kind, remaining: n, prefix: prefix.to_owned() });
    }

    pub fn options(&self) -> &FakeOptions {
        &self.shared.options
    }

    /// Requests the limiter answered with a throttle error.
    pub fn throttled_answers(&self) -> usize {
        self.shared.state().throttled
    }

    /// Faults injected so far, forced and random, of every kind.
    pub fn faults_injected(&self) -> usize {
        self.shared.state().faults.values().sum()
    }

    /// Faults injected so far, per kind (kinds never injected are absent).
    pub fn faults_by_kind(&self) -> BTreeMap<FaultKind, usize> {
        self.shared.state().faults.clone()
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

/// An answer before it becomes a wiremock template.
struct Reply {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
    retry_after: Option<u64>,
}

const JSON_TYPE: &str = "application/json; charset=utf-8";
const HTML_TYPE: &str = "text/html; charset=utf-8";

impl Reply {
    fn json(status: u16, body: &Value) -> Reply {
        Reply {
            status,
            content_type: JSON_TYPE,
            body: serde_json::to_vec(body).expect("serializable"),
            retry_after: None,
        }
    }

    fn html(status: u16, page: &str) -> Reply {
        Reply { status, content_type: HTML_TYPE, body: page.as_bytes().to_vec(), retry_after: None }
    }

    fn into_template(self, delay: Duration) -> ResponseTemplate {
        let mut template = ResponseTemplate::new(self.status).set_body_raw(self.body, self.content_type);
        if let Some(seconds) = self.retry_after {
            template = template.insert_header("Retry-After", seconds.to_string().as_str());
        }
        if !delay.is_zero() {
            template = template.set_delay(delay);
        }
        template
    }
}

fn success(response: Value) -> Reply {
    Reply::json(
        200,
        &json!({
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
    throttle(http_status, code, status, message, 0)
}

/// An error envelope with `ThrottleSeconds`.
fn throttle(http_status: u16, code: i64, status: &str, message: &str, seconds: u64) -> Reply {
    Reply::json(
        http_status,
        &json!({
            "ErrorCode": code,
            "ThrottleSeconds": seconds,
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

/// The limiter's answer (see [`FakeOptions::limit`]).
fn limit_exceeded(seconds: u64) -> Reply {
    throttle(429, 51, "PerEndpointRequestThrottleExceeded", "Too many requests to this endpoint; slow down.", seconds)
}

/// The answer of fault `kind`, and the extra delay it adds; `answer(counts_as_served)` is the
/// real answer, which truncation and slowness spoil rather than replace.
fn fault_reply(kind: FaultKind, options: &FakeOptions, answer: impl FnOnce(bool) -> Reply) -> (Reply, Duration) {
    let replaced = match kind {
        FaultKind::TruncatedJson => {
            let mut reply = answer(false);
            reply.body.truncate(reply.body.len() / 2);
            return (
                Reply { status: 200, content_type: JSON_TYPE, body: reply.body, retry_after: None },
                Duration::ZERO,
            );
        }
        FaultKind::Slow => return (answer(true), options.slow_delay),
        FaultKind::Html500 => Reply::html(500, OUTAGE_PAGE),
        FaultKind::Html502 => Reply::html(502, GATEWAY_PAGE),
        FaultKind::Html503 => Reply::html(503, OUTAGE_PAGE),
        FaultKind::Html504 => Reply::html(504, GATEWAY_PAGE),
        FaultKind::Unavailable503RetryAfter => Reply { retry_after: Some(1), ..Reply::html(503, OUTAGE_PAGE) },
        FaultKind::InvalidJson => {
            Reply { status: 200, content_type: JSON_TYPE, body: INVALID_JSON.as_bytes().to_vec(), retry_after: None }
        }
        FaultKind::Unexpected1618 => failure(500, 1618, "DestinyUnexpectedError", "An unexpected error has occurred."),
        FaultKind::Throttle36 => {
            throttle(500, 36, "ThrottleLimitExceededMomentarily", "Too many platform requests per second.", 1)
        }
    };
    (replaced, Duration::ZERO)
}

struct Responder(Arc<Shared>);

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let shared = &self.0;
        let options = &shared.options;
        let at = shared.started.elapsed();
        let method = request.method.as_str().to_owned();
        let path = request.url.path().to_owned();
        let query = request.url.query().unwrap_or("").to_owned();
        let path_and_query = if query.is_empty() { path.clone() } else { format!("{path}?{query}") };
        let header = |name: &str| request.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let api_key_ok = header("x-api-key").as_deref() == Some(shared.api_key.as_str());
        let verdict = shared.state().admit(options, at, &method, &path_and_query);
        let answer = |counts_as_served: bool| {
            if api_key_ok {
                route(shared, request, &path, counts_as_served)
            } else {
                failure(401, 2101, "ApiInvalidOrExpiredKey", "The given Platform API Key is invalid.")
            }
        };
        let mut delay = options.latency;
        let (reply, throttled, fault) = match verdict {
            Verdict::Throttle => (limit_exceeded(options.throttle_seconds), true, None),
            Verdict::Serve => (answer(true), false, None),
            Verdict::Fault(kind) => {
                let (reply, extra) = fault_reply(kind, options, answer);
                delay += extra;
                (reply, false, Some(kind))
            }
        };
        shared.state().log.push(LoggedRequest {
            method,
            path,
            query,
            at,
            status: reply.status,
            user_agent: header("user-agent"),
            api_key_ok,
            throttled,
            fault,
        });
        reply.into_template(delay)
    }
}

/// The real answer. `counts_as_served`: a report served counts in [`FakeBungie::pgcrs_served`]
/// (not when a fault will spoil it).
fn route(shared: &Shared, request: &Request, path: &str, counts_as_served: bool) -> Reply {
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
        ("GET", ["Platform", "Destiny2", "Stats", "PostGameCarnageReport", id]) => pgcr(shared, id, counts_as_served),
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

fn pgcr(shared: &Shared, instance_id: &str, counts_as_served: bool) -> Reply {
    let mut state = shared.state();
    if state.fail_pgcrs_from.is_some_and(|from| state.pgcrs_served >= from) {
        return Reply::html(500, OUTAGE_PAGE);
    }
    match shared.world.pgcr(instance_id) {
        Some(m) => {
            state.pgcrs_served += usize::from(counts_as_served);
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
        for kind in FaultKind::ALL {
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
            }
            assert_eq!(fake.requests().last().unwrap().fault, Some(kind));
        }
        assert_eq!(fake.faults_injected(), FaultKind::ALL.len());
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
}
