//! The HTTP client: sends one request to Bungie.net and classifies the answer.
//!
//! The rules of every request:
//! - Hosts: [`STATS_ROOT`] (`https://stats.bungie.net`) for the match reports, [`WWW_ROOT`]
//!   (`https://www.bungie.net`) for everything else. `DCLISYNC_API_ROOT` replaces both with one
//!   root (tests, mirrors, demos), used as given without its trailing slash: its scheme and host
//!   are not checked.
//! - Connections are kept open and reused (HTTP keep-alive, by `ureq`'s pool: up to
//!   [`MAX_CONCURRENCY`] idle per host), so a sync does not open a connection, and over HTTPS
//!   make a TLS handshake, for every request. No request starts a thread of its own: a host's
//!   addresses are looked up once and kept for [`KEEP_ADDRESSES`] ([`KeptAddresses`]; the
//!   lookup itself may take a thread, to be given up after `--timeout`), and each connection
//!   reads and writes through buffers of [`READ_BUFFER_BYTES`] and [`WRITE_BUFFER_BYTES`]
//!   (ureq's 128 KB each way, times fifty connections, was 12 MB).
//! - Paths are Bungie's own, `/Platform/...` with the trailing slash, each on the host that
//!   serves it, so that no request relies on a redirect to reach Bungie. Redirects are not
//!   followed (a client that follows them sends every header again, the key included, to
//!   wherever they point): a 3xx answer is an error naming where it pointed, and stops the round.
//! - Headers: the API key in `X-API-Key` (never logged, and hidden from `Debug`; `ureq` logs no
//!   more than its warnings, whatever `RUST_LOG` asks: its wire-level `trace` shows every header), a
//!   `User-Agent` of `dclisync/` and the version, and `Accept: application/json`.
//! - Timeouts, so that a stuck server fails a request (a passing failure, retried) instead of
//!   hanging a sync: the connection must open within `--timeout` and at most 10 s, each read
//!   waits at most `--timeout`, and the whole request at most twice that.
//! - A body over 32 MiB is cut there (the largest real answers, history pages of 250
//!   activities, are a few MiB) and then fails to parse; an answer whose lists exceed their
//!   bounds ([`crate::core::bungie::limits`]) is refused as malformed.
//! - Every request first passes the [`Gate`] (the pace and the bound on requests in flight),
//!   and tells it how it was answered: a throttle answer slows every thread, and each request
//!   is counted by endpoint and outcome for the metrics file.
//! - The answer's meaning comes from [`classify`]: the envelope's `ErrorCode`, not the HTTP
//!   status; `Retry-After` is read as a number of seconds ([`retry_after_seconds`]).

use std::collections::HashMap;
use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use super::gate::Gate;
use crate::core::access::ApiKey;
use crate::core::bungie::envelope::{
    classify, classify_as, classify_raw_as, redirect_target, retry_after_seconds, ApiError,
};
use crate::core::bungie::limits::{self, Bounded};
use crate::core::bungie::model::{
    AccountStats, ClanMembersPage, HistoryPage, LinkedProfiles, MembershipsById, Pgcr, Profile, UserCard,
};
use crate::core::cli::MAX_CONCURRENCY;
use crate::core::ids::{ActivityId, CharacterId, MemberId, Membership};
use crate::core::metrics::Endpoint;
use crate::core::plan::HISTORY_PAGE_SIZE;

/// Bungie's main API host.
pub const WWW_ROOT: &str = "https://www.bungie.net";
/// The host that serves post-game carnage reports.
pub const STATS_ROOT: &str = "https://stats.bungie.net";
/// The longest a connection may take to open.
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A body larger than this is not a Bungie response (PGCRs are well under 1 MiB).
const MAX_BODY_BYTES: u64 = 32 * 1024 * 1024;
/// How long a host's looked-up addresses are used before they are looked up again.
const KEEP_ADDRESSES: Duration = Duration::from_secs(300);
/// The read buffer of each open connection: an answer's headers fit in it many times over, and
/// a body streams through it. Measured on bench figure 4: 4 to 64 KB sync at the same pace,
/// each doubling costing memory for every connection.
const READ_BUFFER_BYTES: usize = 8 * 1024;
/// The write buffer of each open connection: a request is its headers (and a search's small
/// JSON body), well under this.
const WRITE_BUFFER_BYTES: usize = 2 * 1024;

/// Turns an answer (status, content type, `Retry-After` seconds, body) into a result.
type Reader<T> = fn(u16, Option<&str>, Option<u64>, &[u8]) -> Result<T, ApiError>;

const USER_AGENT: &str = concat!("dclisync/", env!("CARGO_PKG_VERSION"));

/// The request roots, the key and the pool of open connections: everything needed to talk to
/// Bungie. Clones share the pool.
#[derive(Clone)]
pub struct Client {
    www_root: String,
    stats_root: String,
    api_key: ApiKey,
    /// How long each read may wait; a request may take twice this in all.
    timeout: Duration,
    gate: Arc<Gate>,
    agent: ureq::Agent,
}

/// A request ready to send: the one thing that differs between a GET and a POST.
type Outgoing<'r> = Box<dyn FnOnce() -> Result<ureq::http::Response<ureq::Body>, ureq::Error> + 'r>;

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("www_root", &self.www_root)
            .field("stats_root", &self.stats_root)
            .field("api_key", &self.api_key)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl Client {
    /// A client for Bungie.net, or for `api_root` standing in for both hosts. Every request
    /// passes `gate` and gives up waiting for an answer after `timeout` without data.
    pub fn new(api_key: ApiKey, api_root: Option<&str>, timeout: Duration, gate: Arc<Gate>) -> Client {
        let (www, stats) = match api_root {
            Some(root) => (root.trim_end_matches('/').to_string(), root.trim_end_matches('/').to_string()),
            None => (WWW_ROOT.to_string(), STATS_ROOT.to_string()),
        };
        let config = ureq::Agent::config_builder()
            .timeout_connect(Some(timeout.min(MAX_CONNECT_TIMEOUT)))
            .timeout_per_read(Some(timeout))
            .timeout_global(Some(timeout * 2))
            .max_redirects(0)
            // The 3xx answer itself comes back, to be refused with where it pointed.
            .max_redirects_will_error(false)
            // Bungie's error envelope comes with 4xx and 5xx statuses: the envelope decides.
            .http_status_as_error(false)
            .user_agent(USER_AGENT)
            .max_idle_connections(2 * MAX_CONCURRENCY)
            .max_idle_connections_per_host(MAX_CONCURRENCY)
            .input_buffer_size(READ_BUFFER_BYTES)
            .output_buffer_size(WRITE_BUFFER_BYTES)
            .build();
        let agent = ureq::Agent::with_parts(
            config,
            ureq::unversioned::transport::DefaultConnector::new(),
            KeptAddresses::default(),
        );
        Client { www_root: www, stats_root: stats, api_key, timeout, gate, agent }
    }

    /// Sends one request through the gate; `read` classifies the answer (see [`classify`]).
    fn send<T>(&self, request: Outgoing<'_>, endpoint: Endpoint, path: &str, read: Reader<T>) -> Result<T, ApiError> {
        let in_flight = self.gate.pass()?;
        log::debug!("{path}");
        let outcome = self.exchange(request, path, read);
        in_flight.answered(endpoint, outcome.as_ref().err());
        outcome
    }

    /// Sends one request and reads and classifies its answer.
    fn exchange<T>(&self, request: Outgoing<'_>, path: &str, read: Reader<T>) -> Result<T, ApiError> {
        let response = request().map_err(|e| ApiError::Network(describe(&e)))?;
        let status = response.status().as_u16();
        let headers = response.headers();
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        if (300..400).contains(&status) {
            return Err(ApiError::Redirected { status, to: redirect_target(header("location")) });
        }
        let content_type = header("content-type").map(str::to_string);
        let retry_after = header("retry-after").and_then(retry_after_seconds);
        let mut body = Vec::new();
        // ureq's own limit is lifted so that an oversized body is cut here, as any other.
        let reader = response.into_body().into_with_config().limit(u64::MAX).reader();
        reader
            .take(MAX_BODY_BYTES)
            .read_to_end(&mut body)
            .map_err(|e| ApiError::Network(format!("reading the response failed: {}", describe_io(&e))))?;
        log::trace!("{path}: HTTP {status}, {} bytes", body.len());
        read(status, content_type.as_deref(), retry_after, &body)
    }

    /// A GET of `url` with dclisync's headers, ready to send.
    fn get_request(&self, url: String) -> Outgoing<'_> {
        Box::new(move || {
            self.agent.get(&url).header("X-API-Key", self.api_key.expose()).header("Accept", "application/json").call()
        })
    }

    /// A GET read as T, refused when beyond its bounds ([`limits`]).
    fn get<T: DeserializeOwned + Default + Bounded>(
        &self,
        root: &str,
        endpoint: Endpoint,
        path: &str,
    ) -> Result<T, ApiError> {
        self.send(
            self.get_request(format!("{root}{path}")),
            endpoint,
            path,
            |status, content_type, retry_after, body| {
                classify_as::<T>(status, content_type, retry_after, body).and_then(limits::bounded)
            },
        )
    }

    /// Finds a player by Bungie name: the user cards Bungie knows for it.
    pub fn search_player(&self, name: &str, code: u16) -> Result<Vec<UserCard>, ApiError> {
        let path = "/Platform/Destiny2/SearchDestinyPlayerByBungieName/-1/";
        let body = json!({"displayName": name, "displayNameCode": code}).to_string();
        let url = format!("{}{path}", self.www_root);
        let request: Outgoing<'_> = Box::new(move || {
            self.agent
                .post(&url)
                .header("X-API-Key", self.api_key.expose())
                .header("Accept", "application/json")
                .content_type("application/json")
                .send(body.as_str())
        });
        let value = self.send(request, Endpoint::Search, path, classify)?;
        limits::cards(match value {
            Value::Array(items) => items.into_iter().filter_map(|v| serde_json::from_value(v).ok()).collect(),
            _ => Vec::new(),
        })
    }

    /// The profiles linked to a membership (cross save): the other platforms' cards.
    pub fn linked_profiles(&self, membership: Membership) -> Result<LinkedProfiles, ApiError> {
        let Membership { platform, id } = membership;
        self.get(
            &self.www_root,
            Endpoint::LinkedProfiles,
            &format!("/Platform/Destiny2/{platform}/Profile/{id}/LinkedProfiles/"),
        )
    }

    /// A player's profile: their card and live characters (components 100 and 200).
    pub fn profile(&self, membership: Membership) -> Result<Profile, ApiError> {
        let Membership { platform, id } = membership;
        self.get(
            &self.www_root,
            Endpoint::Profile,
            &format!("/Platform/Destiny2/{platform}/Profile/{id}/?components=100,200"),
        )
    }

    /// A player's account stats: every character, deleted ones included.
    pub fn account_stats(&self, membership: Membership) -> Result<AccountStats, ApiError> {
        let Membership { platform, id } = membership;
        self.get(
            &self.www_root,
            Endpoint::AccountStats,
            &format!("/Platform/Destiny2/{platform}/Account/{id}/Stats/?groups=1"),
        )
    }

    /// Page `page` (from 0) of a character's activity history in `mode`, newest first,
    /// [`HISTORY_PAGE_SIZE`] activities a page.
    pub fn history_page(
        &self,
        membership: Membership,
        character: CharacterId,
        mode: i64,
        page: usize,
    ) -> Result<HistoryPage, ApiError> {
        let Membership { platform, id } = membership;
        self.get(
            &self.www_root,
            Endpoint::History,
            &format!(
                "/Platform/Destiny2/{platform}/Account/{id}/Character/{character}/Stats/Activities/?mode={mode}&count={HISTORY_PAGE_SIZE}&page={page}"
            ),
        )
    }

    /// The post-game carnage report of one match, from the stats host, with its `Response`
    /// text as sent (for the archive); refused when beyond its bounds ([`limits`]).
    pub fn pgcr(&self, activity: ActivityId) -> Result<(Pgcr, Option<String>), ApiError> {
        let path = format!("/Platform/Destiny2/Stats/PostGameCarnageReport/{activity}/");
        let request = self.get_request(format!("{}{path}", self.stats_root));
        self.send(request, Endpoint::Pgcr, &path, |status, content_type, retry_after, body| {
            let (report, raw) = classify_raw_as::<Pgcr>(status, content_type, retry_after, body)?;
            Ok((limits::bounded(report)?, raw))
        })
    }

    pub fn clan_members(&self, group_id: i64, page: usize) -> Result<ClanMembersPage, ApiError> {
        self.get(
            &self.www_root,
            Endpoint::ClanMembers,
            &format!("/Platform/GroupV2/{group_id}/Members/?currentpage={page}"),
        )
    }

    pub fn memberships_by_id(&self, member: MemberId) -> Result<MembershipsById, ApiError> {
        self.get(&self.www_root, Endpoint::MembershipsById, &format!("/Platform/User/GetMembershipsById/{member}/-1/"))
    }
}

/// The addresses of each host, looked up once and kept for [`KEEP_ADDRESSES`]. ureq looks a host
/// up again for every request, on a thread of its own when a timeout is set, even to reuse an
/// open connection: at fifty requests in flight that was a thread started and ended for every
/// request.
#[derive(Debug, Default)]
struct KeptAddresses {
    lookup: ureq::unversioned::resolver::DefaultResolver,
    kept: Mutex<HashMap<String, (Instant, ureq::unversioned::resolver::ResolvedSocketAddrs)>>,
}

impl ureq::unversioned::resolver::Resolver for KeptAddresses {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        let host = format!("{}://{}", uri.scheme_str().unwrap_or(""), uri.authority().map_or("", |a| a.as_str()));
        let kept = || self.kept.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((at, addresses)) = kept().get(&host) {
            if at.elapsed() < KEEP_ADDRESSES {
                return Ok(addresses.clone());
            }
        }
        let addresses = self.lookup.resolve(uri, config, timeout)?;
        kept().insert(host, (Instant::now(), addresses.clone()));
        Ok(addresses)
    }
}

/// A network error in words, without the request URL's query or headers.
fn describe(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Io(io) => describe_io(io),
        ureq::Error::Timeout(_) => "the request timed out".to_string(),
        ureq::Error::HostNotFound => "the host name could not be resolved".to_string(),
        ureq::Error::ConnectionFailed => "connection refused".to_string(),
        _ => e.to_string(),
    }
}

/// An I/O error while connecting or reading, in words.
fn describe_io(io: &std::io::Error) -> String {
    match io.kind() {
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => "the request timed out".to_string(),
        std::io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
        std::io::ErrorKind::ConnectionReset => "connection reset".to_string(),
        _ => io.to_string(),
    }
}
