//! The fake Bungie.net: a wiremock server on 127.0.0.1 that serves one generated [`World`]
//! through every Bungie.net endpoint dclisync calls, in Bungie's envelopes, and records every
//! request. It owns its tokio runtime, so tests stay plain `#[test]` functions that run the real
//! binary with `std::process::Command` against [`FakeBungie::uri`].
//!
//! One [`Respond`] implementation routes by method, path and query; knobs such as
//! [`FakeBungie::fail_pgcrs_after`] and [`FakeBungie::fail_next`] change its behaviour while a
//! sync is running, and [`FakeBungie::change_world`] changes the world it serves between syncs
//! (the world lives behind a lock; [`FakeBungie::world`] is a snapshot of the one served now). [`FakeOptions`] make it a less friendly server: latency on every answer,
//! Bungie's request limit, and transient faults drawn at random from a seed.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::world::{parse_bungie_time, Account, Player, SplitMix64, World, HISTORY_PAGE_SIZE};

/// `lastOnlineStatusChange` of a clan member who is no tracked player: 2024-01-01.
const NEVER_PLAYED_SINCE: i64 = 1_704_067_200;

/// Now on the real clock, in Unix seconds.
fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// Path of the post-game carnage report endpoint (on stats.bungie.net in production).
pub const PGCR_PATH_PREFIX: &str = "/Platform/Destiny2/Stats/PostGameCarnageReport/";
/// Path segment of the activity-history endpoint.
pub const HISTORY_PATH_PART: &str = "/Stats/Activities/";

/// Bungie's default history page size when `count` is not given.
const DEFAULT_HISTORY_COUNT: usize = 25;

/// How long before its match is 15 minutes old an early report is first served: it is due for
/// its second fetch this many seconds later (a report fetched within 15 minutes of its match's
/// end may be incomplete, so it is fetched again once that time has passed).
pub const EARLY_REPORT_MARGIN_SECS: i64 = 5;
/// How long after its end a match's report is complete (dclisync's `REPORT_SETTLE_SECS`).
const REPORT_SETTLE_SECS: i64 = 15 * 60;

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
/// must retry after a pause; none loses data if it does.
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
    // Not transient, so never drawn at random; only [`FakeBungie::fail_next`] answers with these.
    /// HTTP 503 envelope with `ErrorCode` 5 `SystemDisabled`: Bungie's maintenance.
    Maintenance,
    /// HTTP 500 envelope with `ErrorCode` 1665 `DestinyPrivacyRestriction`.
    Privacy,
    /// HTTP 500 envelope with `ErrorCode` 1653 `DestinyPGCRNotFound`.
    PgcrNotFound,
    /// No answer for [`HANG_DELAY`]: a server that accepted the connection and went silent.
    Hang,
    /// An envelope with throttle `code` (its HTTP status and `ErrorStatus` as Bungie sends them,
    /// see [`THROTTLE_CODES`]) and `ThrottleSeconds` = `seconds` (0: the answer names no wait).
    /// Transient, but never drawn at random either: a test forces it on the requests it watches.
    Throttle { code: i64, seconds: u64 },
}

/// Bungie's throttle error codes, each with the `ErrorStatus` and HTTP status it comes with:
/// the per-client limit (51) is a 429, the others a plain 500 like most Bungie errors.
pub const THROTTLE_CODES: [(i64, &str, u16); 10] = [
    (31, "ThrottleLimitExceeded", 500),
    (35, "ThrottleLimitExceededMinutes", 500),
    (36, "ThrottleLimitExceededMomentarily", 500),
    (37, "ThrottleLimitExceededSeconds", 500),
    (51, "PerEndpointRequestThrottleExceeded", 429),
    (54, "PerApplicationThrottleExceeded", 500),
    (55, "PerApplicationAnonymousThrottleExceeded", 500),
    (56, "PerApplicationAuthenticatedThrottleExceeded", 500),
    (57, "PerUserThrottleExceeded", 500),
    (1672, "DestinyThrottledByGameServer", 500),
];

/// How long a [`FaultKind::Hang`] keeps the client waiting: longer than any test's client timeout.
pub const HANG_DELAY: Duration = Duration::from_secs(120);

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
            FaultKind::Maintenance => "maintenance-5",
            FaultKind::Privacy => "privacy-1665",
            FaultKind::PgcrNotFound => "pgcr-not-found-1653",
            FaultKind::Hang => "hang",
            FaultKind::Throttle { .. } => "throttle",
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
    /// Reports served early, by instance id.
    early: HashMap<String, EarlyReport>,
    /// Instance ids left out of every history until revealed.
    hidden_from_history: std::collections::HashSet<String>,
    /// Instance ids whose report is answered with 1653 (not available yet).
    withheld: std::collections::HashSet<String>,
    /// Every request gets ErrorCode 5 (SystemDisabled), as during Bungie's maintenance.
    maintenance: bool,
    /// PGCR answers are held back this long (a server stuck on a request).
    pgcr_delay: Option<Duration>,
    /// Clan members' online status as the fake saw it change while it ran, by membership id:
    /// (`isOnline`, `lastOnlineStatusChange` in Unix seconds of the real clock).
    roster_status: HashMap<String, (bool, i64)>,
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

/// A report first served a little before its match is 15 minutes old, with players missing.
struct EarlyReport {
    entries: usize,
    /// When it was first served, and the period it was given then (kept for later copies).
    first: Option<(Instant, String)>,
}

impl EarlyReport {
    fn serve(&mut self, complete: &Value) -> Value {
        let mut body = complete.clone();
        let first = self.first.is_none();
        let (_, period) = self.first.get_or_insert_with(|| {
            let duration = complete["entries"][0]["values"]["activityDurationSeconds"]["basic"]["value"]
                .as_f64()
                .unwrap_or(600.0) as i64;
            let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
            let end = now - REPORT_SETTLE_SECS + EARLY_REPORT_MARGIN_SECS;
            (Instant::now(), crate::world::format_bungie_time(end - duration))
        });
        body["period"] = json!(period);
        if first {
            if let Some(entries) = body["entries"].as_array_mut() {
                entries.truncate(self.entries);
            }
        }
        body
    }
}

struct Shared {
    /// The world served now; [`FakeBungie::change_world`] swaps in a changed copy, so a request
    /// is answered from one world from start to end.
    world: RwLock<Arc<World>>,
    api_key: String,
    options: FakeOptions,
    started: Instant,
    state: Mutex<State>,
}

impl Shared {
    fn world(&self) -> Arc<World> {
        Arc::clone(&self.world.read().unwrap_or_else(|e| e.into_inner()))
    }

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
            world: RwLock::new(Arc::new(world)),
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

    /// The world served now (a snapshot: a later [`FakeBungie::change_world`] does not change it).
    pub fn world(&self) -> Arc<World> {
        self.shared.world()
    }

    /// Changes the world between syncs, e.g. with [`World::move_on`]: `change` gets a copy of
    /// the world served now, and every request after it returns is answered from the changed
    /// copy. Returns what `change` returned.
    ///
    /// A player whose newest play moved went online and came off again: from now on the clan
    /// roster says they are offline since this moment (the real clock's, as a real roster's
    /// time is), so a client that walked them before sees a status change after its walk.
    pub fn change_world<R>(&self, change: impl FnOnce(&mut World) -> R) -> R {
        let before = self.world();
        let mut world = (*before).clone();
        let result = change(&mut world);
        let now = unix_now();
        {
            let mut state = self.shared.state();
            for (old, new) in before.players.iter().zip(&world.players) {
                if old.primary.date_last_played != new.primary.date_last_played {
                    state.roster_status.insert(new.primary.membership_id.clone(), (false, now));
                }
            }
        }
        *self.shared.world.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(world);
        result
    }

    /// The clan roster says this member is online (`true`) or offline, since now.
    pub fn set_online(&self, membership_id: &str, online: bool) {
        self.shared.state().roster_status.insert(membership_id.to_owned(), (online, unix_now()));
    }

    /// After `k` more reports are served, every PGCR request gets an HTTP 500 with an HTML page.
    pub fn fail_pgcrs_after(&self, k: usize) {
        let mut state = self.shared.state();
        state.fail_pgcrs_from = Some(state.pgcrs_served + k);
    }

    /// Serve this match's report as Bungie may just after a match: the first copy
    /// [`EARLY_REPORT_MARGIN_SECS`] before the match is 15 minutes old (its period set so) with only
    /// its first `entries` entries; every later copy complete, with the same period.
    pub fn serve_early_report(&self, instance_id: &str, entries: usize) {
        self.shared.state().early.insert(instance_id.to_owned(), EarlyReport { entries, first: None });
    }

    /// When the early report of this match was first served, and the period it was given.
    pub fn early_report_first_served(&self, instance_id: &str) -> Option<(Instant, String)> {
        self.shared.state().early.get(instance_id).and_then(|e| e.first.clone())
    }

    /// Leave this match out of every history (its report is still served) until revealed: a
    /// match Bungie files late, after newer ones.
    pub fn hide_from_history(&self, instance_id: &str) {
        self.shared.state().hidden_from_history.insert(instance_id.to_owned());
    }

    /// List a hidden match in its histories again, where it belongs by time.
    pub fn reveal_in_history(&self, instance_id: &str) {
        self.shared.state().hidden_from_history.remove(instance_id);
    }

    /// Answer this match's report with ErrorCode 1653 (DestinyPGCRNotFound), as Bungie does for a
    /// report it does not have (yet).
    pub fn withhold_report(&self, instance_id: &str) {
        self.shared.state().withheld.insert(instance_id.to_owned());
    }

    /// Answer every request with ErrorCode 5 (SystemDisabled), as Bungie does in maintenance.
    pub fn start_maintenance(&self) {
        self.shared.state().maintenance = true;
    }

    /// Hold every PGCR answer back for `delay`, as a server stuck on requests does.
    pub fn delay_pgcrs(&self, delay: Duration) {
        self.shared.state().pgcr_delay = Some(delay);
    }

    /// Serve normally again: no failing reports, no forced fault left from
    /// [`FakeBungie::fail_next`], no maintenance and no delay.
    pub fn heal(&self) {
        let mut state = self.shared.state();
        state.fail_pgcrs_from = None;
        state.forced.clear();
        state.maintenance = false;
        state.pgcr_delay = None;
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
        self.max_requests_in_window_since(0, window)
    }

    /// [`FakeBungie::max_requests_in_window`] over the requests logged since `mark` only: one
    /// run's own pace, without the runs before it.
    pub fn max_requests_in_window_since(&self, mark: usize, window: Duration) -> usize {
        let times: Vec<Duration> = self.shared.state().log.iter().skip(mark).map(|r| r.at).collect();
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
    success_of(&response)
}

/// [`success`] for a borrowed answer: a served report is written straight from the world, not
/// copied first. Copying and freeing each report's tree was most of the fake's CPU time, which
/// the benchmarks, running dclisync and the fake on the same cores, counted against dclisync.
/// The bytes are those `serde_json` gives the whole envelope (its keys in sorted order).
fn success_of(response: &Value) -> Reply {
    const HEAD: &[u8] = br#"{"ErrorCode":1,"ErrorStatus":"Success","Message":"Ok","MessageData":{},"Response":"#;
    const TAIL: &[u8] = br#","ThrottleSeconds":0}"#;
    let mut body = Vec::with_capacity(64 * 1024);
    body.extend_from_slice(HEAD);
    serde_json::to_writer(&mut body, response).expect("serializable");
    body.extend_from_slice(TAIL);
    Reply { status: 200, content_type: JSON_TYPE, body, retry_after: None }
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
        FaultKind::Hang => return (answer(false), HANG_DELAY),
        FaultKind::Maintenance => {
            failure(503, 5, "SystemDisabled", "This system is temporarily disabled for maintenance.")
        }
        FaultKind::Privacy => {
            failure(500, 1665, "DestinyPrivacyRestriction", "This user has chosen to keep their activity private.")
        }
        FaultKind::PgcrNotFound => failure(500, 1653, "DestinyPGCRNotFound", "The activity report could not be found."),
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
        FaultKind::Throttle { code, seconds } => {
            let (status, http) = THROTTLE_CODES
                .iter()
                .find(|(c, _, _)| *c == code)
                .map_or(("ThrottleLimitExceeded", 500), |(_, status, http)| (*status, *http));
            throttle(http, code, status, "Too many requests; please slow down.", seconds)
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
        let (maintenance, pgcr_delay) = {
            let state = shared.state();
            (state.maintenance, state.pgcr_delay.filter(|_| path.starts_with(PGCR_PATH_PREFIX)))
        };
        let verdict = shared.state().admit(options, at, &method, &path_and_query);
        let answer = |counts_as_served: bool| {
            if api_key_ok {
                route(shared, request, &path, counts_as_served)
            } else {
                failure(401, 2101, "ApiInvalidOrExpiredKey", "The given Platform API Key is invalid.")
            }
        };
        let mut delay = options.latency + pgcr_delay.unwrap_or_default();
        let (reply, throttled, fault) = match verdict {
            Verdict::Throttle => (limit_exceeded(options.throttle_seconds), true, None),
            Verdict::Serve if maintenance => {
                (failure(503, 5, "SystemDisabled", "This system is temporarily disabled for maintenance."), false, None)
            }
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
    let world = shared.world();
    let world = &*world;
    let method = request.method.as_str();

    match (method, segments.as_slice()) {
        ("POST", ["Platform", "Destiny2", "SearchDestinyPlayerByBungieName", "-1"]) => search(world, &request.body),
        ("GET", ["Platform", "Destiny2", "Stats", "PostGameCarnageReport", id]) => pgcr(shared, id, counts_as_served),
        ("GET", ["Platform", "Destiny2", t, "Profile", id, "LinkedProfiles"]) => linked_profiles(world, t, id),
        ("GET", ["Platform", "Destiny2", t, "Profile", id]) => profile(world, t, id, &query),
        ("GET", ["Platform", "Destiny2", t, "Account", id, "Stats"]) => account_stats(world, t, id),
        ("GET", ["Platform", "Destiny2", t, "Account", id, "Character", cid, "Stats", "Activities"]) => {
            let hidden = shared.state().hidden_from_history.clone();
            history(world, t, id, cid, &query, &hidden)
        }
        ("GET", ["Platform", "GroupV2", group, "Members"]) => {
            let status = shared.state().roster_status.clone();
            group_members(world, group, &query, &status)
        }
        ("GET", ["Platform", "User", "GetMembershipsById", id, _]) => memberships(world, id),
        _ => unknown_route(),
    }
}

fn search(world: &World, body: &[u8]) -> Reply {
    let Ok(body) = serde_json::from_slice::<Value>(body) else {
        return unknown_route();
    };
    // The code must be a JSON number, as Bungie's API declares it.
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

/// Type -1 (all platforms) finds an account on any platform, as Bungie's LinkedProfiles does.
fn linked_profiles(world: &World, t: &str, id: &str) -> Reply {
    let found = if t == "-1" { world.player_by_membership(id) } else { account(world, t, id) };
    let Some((player, _)) = found else {
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

fn history(
    world: &World,
    t: &str,
    id: &str,
    character_id: &str,
    query: &HashMap<String, String>,
    hidden: &std::collections::HashSet<String>,
) -> Reply {
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
    let items: Vec<&Value> = world
        .history(character_id, mode)
        .iter()
        .filter(|i| i["activityDetails"]["instanceId"].as_str().is_none_or(|id| !hidden.contains(id)))
        .collect();
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
    let world = shared.world();
    match world.pgcr(instance_id).filter(|_| !state.withheld.contains(instance_id)) {
        Some(m) => {
            state.pgcrs_served += usize::from(counts_as_served);
            match state.early.get_mut(instance_id) {
                Some(early) => success(early.serve(&m.pgcr)),
                None => {
                    drop(state);
                    success_of(&m.pgcr)
                }
            }
        }
        None => failure(500, 1653, "DestinyPGCRNotFound", "The requested Post Game Carnage Report could not be found."),
    }
}

/// A clan roster page. Each member's `isOnline` and `lastOnlineStatusChange` follow the world:
/// offline since their newest play ended (the world's `dateLastPlayed`), unless the fake saw
/// their status change while it ran ([`FakeBungie::change_world`], [`FakeBungie::set_online`]);
/// a member who never played (no tracked player) has been offline since 2024-01-01.
fn group_members(
    world: &World,
    group: &str,
    query: &HashMap<String, String>,
    status: &HashMap<String, (bool, i64)>,
) -> Reply {
    let clan = &world.clan;
    if group != clan.group_id {
        return failure(500, 622, "GroupNotFound", "The group was not found.");
    }
    // Pages count from 1; Bungie reads 0 as 1.
    let page = query.get("currentpage").and_then(|p| p.parse::<usize>().ok()).unwrap_or(1).max(1);
    let page_size = clan.pages.first().map_or(0, Vec::len);
    let Some(members) = clan.pages.get(page - 1) else {
        return success(json!({"results": [], "totalResults": clan.members().count(), "hasMore": false}));
    };
    let wanted: std::collections::HashSet<&str> = members.iter().map(|m| m.membership_id.as_str()).collect();
    let last_played: HashMap<&str, i64> = world
        .players
        .iter()
        .filter(|p| wanted.contains(p.primary.membership_id.as_str()))
        .filter_map(|p| Some((p.primary.membership_id.as_str(), parse_bungie_time(&p.primary.date_last_played)?)))
        .collect();
    let results: Vec<Value> = clan
        .pages
        .get(page - 1)
        .map(|members| {
            members
                .iter()
                .map(|m| {
                    let id = m.membership_id.as_str();
                    let (online, since) = status
                        .get(id)
                        .copied()
                        .unwrap_or((false, last_played.get(id).copied().unwrap_or(NEVER_PLAYED_SINCE)));
                    json!({
                        "memberType": 2,
                        "isOnline": online,
                        "lastOnlineStatusChange": since.to_string(),
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
