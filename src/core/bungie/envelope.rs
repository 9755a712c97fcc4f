//! The Bungie response envelope and what each answer means for the caller.
//!
//! Every Bungie answer is an envelope, `{"Response": …, "ErrorCode": n, "ThrottleSeconds": n,
//! "ErrorStatus": "…", "Message": "…", "MessageData": {}}`, and `ErrorCode` 1 is success. The
//! decision rests on `ErrorCode`, never on the HTTP status: Bungie sends its errors with non-200
//! statuses (often a plain 500) and the envelope in the body, so the status alone cannot tell a
//! throttle from a bad key or an outage. [`classify`] turns a raw answer (status, content
//! type, body) into the `Response` value or an [`ApiError`]:
//! - A body is read as an envelope only when its content type says JSON (or says nothing): during
//!   outages Bungie and its proxies answer with an HTML page. A body that is not an envelope with
//!   an `ErrorCode` (HTML, truncated or invalid JSON) is [`ApiError::BadBody`] under status 200,
//!   and [`ApiError::Http`] with the `Retry-After` seconds otherwise; both are worth a retry.
//! - An envelope with `ThrottleSeconds` above 0 is [`ApiError::Throttled`], whatever its code.
//! - ErrorCode 5 (SystemDisabled): Bungie is down for maintenance, [`ApiError::Maintenance`].
//! - 2101 and 2102 (invalid, expired or missing key): [`ApiError::BadKey`].
//! - 31, 35, 36, 37, 51 (PerEndpointRequestThrottleExceeded), 54–57 and 1672
//!   (DestinyThrottledByGameServer): throttled even when no wait is named.
//! - 1665 (DestinyPrivacyRestriction): the player hides their activity, [`ApiError::Privacy`].
//! - 1653 (DestinyPGCRNotFound): Bungie does not have the report, [`ApiError::PgcrNotFound`].
//! - Any other code, 1618 (DestinyUnexpectedError) among them, is [`ApiError::Bungie`] with
//!   Bungie's status and message.
//!
//! - An HTTP 3xx is [`ApiError::Redirected`], naming the host it points to: redirects are not
//!   followed, since the key would go with the request to wherever they point, and Bungie
//!   answers every path dclisync asks at its own host directly.
//!
//! The server's numbers are bounded before anything computes with them: `ThrottleSeconds` of
//! any size or form (a float, `1e300`) becomes whole seconds, saturating; `Retry-After` digits
//! too large for a number count as the largest ([`retry_after_seconds`]). A wait above
//! [`MAX_SERVER_WAIT_SECS`] is no throttle but an outage ([`ApiError::asks_too_long_a_wait`]): it
//! is not waited out, it ends the round with one message naming the wait, and a daemon tries
//! again next round.
//!
//! [`ApiError::is_transient`] says whether asking again may help (of the codes, only the
//! throttles and 1618); [`crate::core::retry`] decides what follows. A `Response` of `null`
//! reads as the empty answer, and a `Response` of an unexpected shape is a bad body.

use std::fmt;

use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{DeserializeOwned, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

/// ErrorCode 1: success.
pub const SUCCESS: i64 = 1;
/// ErrorCode 5: Bungie is down for maintenance.
pub const SYSTEM_DISABLED: i64 = 5;
/// ErrorCode 1618: a generic server-side failure that usually clears on retry.
pub const DESTINY_UNEXPECTED_ERROR: i64 = 1618;
/// ErrorCode 1653: the PGCR is not (yet) available.
pub const PGCR_NOT_FOUND: i64 = 1653;
/// ErrorCode 1665: the player hides their activity feed.
pub const PRIVACY_RESTRICTION: i64 = 1665;
/// ErrorCode 217: the account has no Destiny profile on that platform.
pub const ACCOUNT_NOT_FOUND: i64 = 217;
/// ErrorCodes 2101/2102: the API key is invalid, expired or missing.
pub const BAD_KEY_CODES: [i64; 2] = [2101, 2102];
/// ErrorCodes Bungie uses for throttling; any positive `ThrottleSeconds` counts too.
pub const THROTTLE_CODES: [i64; 9] = [31, 35, 36, 37, 51, 54, 55, 56, 57];
/// ErrorCode 1672: DestinyThrottledByGameServer.
pub const THROTTLED_BY_GAME_SERVER: i64 = 1672;

/// The longest wait the server may ask for (`ThrottleSeconds`, `Retry-After`) that dclisync
/// waits out; anything longer means an outage. Bungie's real throttles ask for seconds.
pub const MAX_SERVER_WAIT_SECS: u64 = 120;

/// What went wrong with one request.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// The request never got an answer: connection refused or reset, timeout, DNS.
    Network(String),
    /// An HTTP error without a Bungie envelope (an HTML outage page, a proxy error).
    Http { status: u16, retry_after: Option<u64> },
    /// A body that is not the JSON envelope (truncated, invalid, or HTML with status 200).
    BadBody(String),
    /// Bungie asks us to slow down.
    Throttled { seconds: u64, code: i64 },
    /// Bungie is down for maintenance (ErrorCode 5).
    Maintenance(String),
    /// The API key is invalid, expired or missing (2101/2102).
    BadKey(String),
    /// The player's activity feed is private (1665).
    Privacy,
    /// The PGCR is not available yet (1653).
    PgcrNotFound,
    /// Any other Bungie error code.
    Bungie { code: i64, status: String, message: String },
    /// Not sent: the user asked to stop while the request waited for its turn.
    Stopped,
    /// An HTTP redirect (not followed): `to` is the host it points to, or a description.
    Redirected { status: u16, to: String },
}

impl ApiError {
    /// Whether asking again, after a pause, may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            _ if self.asks_too_long_a_wait() => false,
            ApiError::Network(_) | ApiError::BadBody(_) | ApiError::Throttled { .. } => true,
            ApiError::Http { status, .. } => *status == 429 || *status >= 500,
            ApiError::Bungie { code, .. } => *code == DESTINY_UNEXPECTED_ERROR,
            ApiError::Maintenance(_)
            | ApiError::BadKey(_)
            | ApiError::Privacy
            | ApiError::PgcrNotFound
            | ApiError::Stopped
            | ApiError::Redirected { .. } => false,
        }
    }

    /// Whether the server asked for a wait above [`MAX_SERVER_WAIT_SECS`]: an outage.
    pub fn asks_too_long_a_wait(&self) -> bool {
        self.requested_wait().is_some_and(|s| s > MAX_SERVER_WAIT_SECS)
    }

    /// Seconds the server asked us to wait before trying again, if it said.
    pub fn requested_wait(&self) -> Option<u64> {
        match self {
            ApiError::Throttled { seconds, .. } => Some(*seconds),
            ApiError::Http { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Whether this error ends the whole round rather than one request or one player.
    pub fn stops_round(&self) -> bool {
        matches!(self, ApiError::Maintenance(_) | ApiError::BadKey(_) | ApiError::Redirected { .. })
            || self.asks_too_long_a_wait()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            _ if self.asks_too_long_a_wait() => write!(
                f,
                "Bungie.net asked to wait {} before asking again (more than {MAX_SERVER_WAIT_SECS} s): \
                 taken as an outage, this round stops; try again later (a daemon tries next round)",
                wait_text(self.requested_wait().unwrap_or(u64::MAX))
            ),
            ApiError::Network(e) => write!(f, "could not reach Bungie.net: {e}"),
            ApiError::Http { status, .. } => write!(f, "Bungie.net answered HTTP {status} without an API response"),
            ApiError::BadBody(e) => write!(f, "Bungie.net sent an unreadable response: {e}"),
            ApiError::Throttled { seconds, code } => {
                write!(f, "Bungie.net is throttling requests (error {code}); asked to wait {seconds} s")
            }
            ApiError::Maintenance(m) => write!(
                f,
                "Bungie.net is down for maintenance ({}); try again later",
                if m.is_empty() { "SystemDisabled" } else { m }
            ),
            ApiError::BadKey(m) => write!(
                f,
                "Bungie.net rejected the API key ({m}); check DESTINY_API_KEY or --api-key \
                 (keys are at https://www.bungie.net/en/Application)"
            ),
            ApiError::Privacy => write!(
                f,
                "the player's activity is private; they must enable \"Show my Destiny game Activity \
                 feed on Bungie.net\" in their Bungie.net privacy settings"
            ),
            ApiError::PgcrNotFound => write!(f, "Bungie.net does not have this match report yet"),
            ApiError::Bungie { code, status, message } => {
                write!(f, "Bungie.net error {code} {status}: {message}")
            }
            ApiError::Stopped => write!(f, "not sent: stopping"),
            ApiError::Redirected { status, to } => write!(
                f,
                "Bungie.net answered HTTP {status} redirecting to {to}; redirects are not followed, so that the \
                 API key goes to no other host: check DCLISYNC_API_ROOT, or try again later"
            ),
        }
    }
}

impl std::error::Error for ApiError {}

/// A wait in words: seconds, with hours or days when that long.
fn wait_text(seconds: u64) -> String {
    match seconds {
        s if s >= 10 * 365 * 86_400 => format!("{s} s (years)"),
        s if s >= 86_400 => format!("{s} s ({:.1} days)", s as f64 / 86_400.0),
        s if s >= 3600 => format!("{s} s ({:.1} hours)", s as f64 / 3600.0),
        s => format!("{s} s"),
    }
}

/// A `Retry-After` header value read as seconds: whole seconds as digits, where digits too
/// many for a number mean the longest wait; anything else (an HTTP date, text) names no wait.
pub fn retry_after_seconds(value: &str) -> Option<u64> {
    let value = value.trim();
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(value.parse::<u64>().unwrap_or(u64::MAX))
}

/// Where a redirect points, for a message: the `Location` header's host (and port), or what is
/// wrong with it. Only visible ASCII is kept.
pub fn redirect_target(location: Option<&str>) -> String {
    let Some(location) = location.map(str::trim).filter(|l| !l.is_empty()) else {
        return "nowhere (no Location header)".to_string();
    };
    let after_scheme = location.split_once("://").map_or(location, |(_, rest)| rest);
    if after_scheme.len() == location.len() && location.starts_with('/') {
        return "a path on the same host".to_string();
    }
    let authority = after_scheme.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let shown: String = host.chars().filter(char::is_ascii_graphic).take(100).collect();
    if shown.is_empty() {
        "an unreadable location".to_string()
    } else {
        shown
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Envelope {
    #[serde(default)]
    response: Option<Value>,
    #[serde(default)]
    error_code: Option<i64>,
    #[serde(default)]
    throttle_seconds: Option<f64>,
    #[serde(default)]
    error_status: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// Turns one HTTP answer into Bungie's `Response` value or an error.
///
/// `retry_after` is the `Retry-After` header in seconds, if the server sent one.
pub fn classify(
    status: u16,
    content_type: Option<&str>,
    retry_after: Option<u64>,
    body: &[u8],
) -> Result<Value, ApiError> {
    let looks_json = looks_json(content_type);
    let envelope: Option<Envelope> = if looks_json { serde_json::from_slice(body).ok() } else { None };
    let Some(envelope) = envelope.filter(|e| e.error_code.is_some()) else {
        if status == 200 {
            let what = if looks_json { "invalid or truncated JSON" } else { "an HTML page instead of JSON" };
            return Err(ApiError::BadBody(what.to_string()));
        }
        return Err(ApiError::Http { status, retry_after });
    };
    let code = envelope.error_code.unwrap_or_default();
    outcome(code, envelope.throttle_seconds, envelope.error_status, envelope.message)?;
    Ok(envelope.response.unwrap_or(Value::Null))
}

/// Whether a body of this content type may be the JSON envelope (no content type: maybe).
fn looks_json(content_type: Option<&str>) -> bool {
    content_type.is_none_or(|ct| ct.to_ascii_lowercase().contains("json"))
}

/// What an envelope's `ErrorCode` (and `ThrottleSeconds`) mean: success, or which error.
fn outcome(
    code: i64,
    throttle_seconds: Option<f64>,
    error_status: Option<String>,
    message: Option<String>,
) -> Result<(), ApiError> {
    if code == SUCCESS {
        return Ok(());
    }
    // `as` saturates: 1e300 becomes u64::MAX, far above the wait cap, never an overflow.
    let throttle = throttle_seconds.filter(|s| s.is_finite() && *s > 0.0).map(|s| s.ceil() as u64);
    let message = message.unwrap_or_default();
    let status_text = error_status.unwrap_or_default();
    if let Some(seconds) = throttle {
        return Err(ApiError::Throttled { seconds, code });
    }
    Err(match code {
        SYSTEM_DISABLED => ApiError::Maintenance(message),
        c if BAD_KEY_CODES.contains(&c) => ApiError::BadKey(if status_text.is_empty() { message } else { status_text }),
        c if THROTTLE_CODES.contains(&c) || c == THROTTLED_BY_GAME_SERVER => ApiError::Throttled { seconds: 0, code },
        PRIVACY_RESTRICTION => ApiError::Privacy,
        PGCR_NOT_FOUND => ApiError::PgcrNotFound,
        _ => ApiError::Bungie { code, status: status_text, message },
    })
}

/// Reads a `Response` value as T; `null` (Bungie's "nothing") becomes T's default.
pub fn response_as<T: DeserializeOwned + Default>(value: Value) -> Result<T, ApiError> {
    if value.is_null() {
        return Ok(T::default());
    }
    serde_json::from_value(value).map_err(|e| ApiError::BadBody(format!("unexpected response shape: {e}")))
}

/// [`classify`] then [`response_as`], reading the body's bytes straight into T.
///
/// A body that reads cleanly as an envelope whose `Response` is an object (or null, or absent)
/// never becomes a `serde_json::Value`: T is built as the bytes are parsed, which costs a
/// fraction of building the `Value` and then T from it. Anything else (an HTML page, broken
/// JSON, a `Response` of another shape, an object that repeats a key) goes the `Value` way, so
/// every answer means exactly what [`classify`] and [`response_as`] make of it.
pub fn classify_as<T: DeserializeOwned + Default>(
    status: u16,
    content_type: Option<&str>,
    retry_after: Option<u64>,
    body: &[u8],
) -> Result<T, ApiError> {
    if looks_json(content_type) {
        if let Ok(envelope) = serde_json::from_slice::<TypedEnvelope<T>>(body) {
            if let (Some(code), Some(response)) = (envelope.error_code, envelope.response) {
                outcome(code, envelope.throttle_seconds, envelope.error_status, envelope.message)?;
                return Ok(response.unwrap_or_default());
            }
        }
    }
    classify(status, content_type, retry_after, body).and_then(response_as)
}

/// As [`classify_as`], and also the `Response` text exactly as sent (for the archive), when
/// the answer is a success with a `Response` object.
pub fn classify_raw_as<T: DeserializeOwned + Default>(
    status: u16,
    content_type: Option<&str>,
    retry_after: Option<u64>,
    body: &[u8],
) -> Result<(T, Option<String>), ApiError> {
    let typed = classify_as::<T>(status, content_type, retry_after, body)?;
    let raw = serde_json::from_slice::<RawEnvelope<'_>>(body)
        .ok()
        .and_then(|e| e.response)
        .map(|r| r.get().to_string())
        .filter(|r| r.starts_with('{'));
    Ok((typed, raw))
}

/// The envelope with `Response` left as the text Bungie sent.
#[derive(Deserialize)]
struct RawEnvelope<'a> {
    #[serde(rename = "Response", borrow, default)]
    response: Option<&'a serde_json::value::RawValue>,
}

/// The envelope with `Response` read as T: `Some(Some(t))` an object, `Some(None)` null or
/// absent, `None` anything else (left to the `Value` way, which says what is wrong).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", bound = "T: DeserializeOwned")]
struct TypedEnvelope<T> {
    #[serde(default = "absent", deserialize_with = "object_or_null")]
    response: Option<Option<T>>,
    #[serde(default)]
    error_code: Option<i64>,
    #[serde(default)]
    throttle_seconds: Option<f64>,
    #[serde(default)]
    error_status: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

fn absent<T>() -> Option<Option<T>> {
    Some(None)
}

fn object_or_null<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Option<Option<T>>, D::Error> {
    struct ObjectOrNull<T>(PhantomData<T>);
    impl<'de, T: DeserializeOwned> Visitor<'de> for ObjectOrNull<T> {
        type Value = Option<Option<T>>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object or null")
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            T::deserialize(MapAccessDeserializer::new(map)).map(|t| Some(Some(t)))
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(Some(None))
        }
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(None)
        }
    }
    d.deserialize_any(ObjectOrNull(PhantomData))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(code: i64, throttle: u64) -> Vec<u8> {
        serde_json::json!({
            "Response": if code == 1 { serde_json::json!({"ok": true}) } else { Value::Null },
            "ErrorCode": code, "ThrottleSeconds": throttle, "ErrorStatus": "Status", "Message": "msg",
            "MessageData": {}
        })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn waits_in_words() {
        let cases = [
            (59, "59 s"),
            (3_599, "3599 s"),
            (3_600, "3600 s (1.0 hours)"),
            (86_399, "86399 s (24.0 hours)"),
            (86_400, "86400 s (1.0 days)"),
            (10 * 365 * 86_400 - 1, "315359999 s (3650.0 days)"),
            (10 * 365 * 86_400, "315360000 s (years)"),
        ];
        for (seconds, text) in cases {
            assert_eq!(wait_text(seconds), text);
        }
    }

    #[test]
    fn classifies_answers() {
        let json = Some("application/json; charset=utf-8");
        let html = Some("text/html");
        type Case<'a> = (&'a str, u16, Option<&'a str>, Vec<u8>, Result<Value, ApiError>);
        let cases: Vec<Case> = vec![
            ("success", 200, json, envelope(1, 0), Ok(serde_json::json!({"ok": true}))),
            ("maintenance behind a 503", 503, json, envelope(5, 0), Err(ApiError::Maintenance("msg".into()))),
            ("bad key behind a 401", 401, json, envelope(2101, 0), Err(ApiError::BadKey("Status".into()))),
            ("missing key", 200, json, envelope(2102, 0), Err(ApiError::BadKey("Status".into()))),
            ("throttled", 500, json, envelope(51, 10), Err(ApiError::Throttled { seconds: 10, code: 51 })),
            (
                "any code with throttle seconds",
                500,
                json,
                envelope(1672, 3),
                Err(ApiError::Throttled { seconds: 3, code: 1672 }),
            ),
            (
                "throttle code without seconds",
                500,
                json,
                envelope(36, 0),
                Err(ApiError::Throttled { seconds: 0, code: 36 }),
            ),
            ("privacy", 500, json, envelope(1665, 0), Err(ApiError::Privacy)),
            ("pgcr not found", 500, json, envelope(1653, 0), Err(ApiError::PgcrNotFound)),
            (
                "unexpected error",
                500,
                json,
                envelope(1618, 0),
                Err(ApiError::Bungie { code: 1618, status: "Status".into(), message: "msg".into() }),
            ),
            (
                "html outage page",
                503,
                html,
                b"<html>down</html>".to_vec(),
                Err(ApiError::Http { status: 503, retry_after: None }),
            ),
            (
                "html with 200",
                200,
                html,
                b"<html>hi</html>".to_vec(),
                Err(ApiError::BadBody("an HTML page instead of JSON".into())),
            ),
            (
                "truncated json",
                200,
                json,
                b"{\"Response\": {\"a\":".to_vec(),
                Err(ApiError::BadBody("invalid or truncated JSON".into())),
            ),
            (
                "json without envelope",
                502,
                json,
                b"{}".to_vec(),
                Err(ApiError::Http { status: 502, retry_after: None }),
            ),
        ];
        for (name, status, ct, body, expected) in cases {
            let straight: Result<Probe, ApiError> = classify_as(status, ct, None, &body);
            assert_eq!(straight, classify(status, ct, None, &body).and_then(response_as), "{name}: read as a type");
            assert_eq!(classify(status, ct, None, &body), expected, "{name}");
        }
    }

    #[derive(Debug, Default, PartialEq, Deserialize)]
    struct Probe {
        ok: Option<bool>,
    }

    #[test]
    fn reading_a_body_as_a_type_means_what_reading_its_value_means() {
        let json = Some("application/json");
        let cases: &[(&str, &str, Result<Probe, ApiError>)] = &[
            ("an object", r#"{"ErrorCode": 1, "Response": {"ok": true}}"#, Ok(Probe { ok: Some(true) })),
            ("null", r#"{"ErrorCode": 1, "Response": null}"#, Ok(Probe::default())),
            ("absent", r#"{"ErrorCode": 1}"#, Ok(Probe::default())),
            (
                "a repeated key, the last one counts",
                r#"{"ErrorCode": 1, "Response": {"ok": true, "ok": false}}"#,
                Ok(Probe { ok: Some(false) }),
            ),
            (
                "a string",
                r#"{"ErrorCode": 1, "Response": "ok"}"#,
                Err(ApiError::BadBody(
                    "unexpected response shape: invalid type: string \"ok\", expected struct Probe".into(),
                )),
            ),
            ("an array", r#"{"ErrorCode": 1, "Response": [true]}"#, Ok(Probe { ok: Some(true) })),
            (
                "a field of the wrong type",
                r#"{"ErrorCode": 1, "Response": {"ok": 3}}"#,
                Err(ApiError::BadBody(
                    "unexpected response shape: invalid type: integer `3`, expected a boolean".into(),
                )),
            ),
            (
                "an error with a response",
                r#"{"ErrorCode": 1653, "Response": {"ok": true}}"#,
                Err(ApiError::PgcrNotFound),
            ),
            (
                "a string error code",
                r#"{"ErrorCode": "1", "Response": {"ok": true}}"#,
                Err(ApiError::BadBody("invalid or truncated JSON".into())),
            ),
        ];
        for (name, body, expected) in cases {
            let straight: Result<Probe, ApiError> = classify_as(200, json, None, body.as_bytes());
            assert_eq!(&straight, expected, "{name}");
            assert_eq!(straight, classify(200, json, None, body.as_bytes()).and_then(response_as), "{name}");
        }
    }

    #[test]
    fn error_fixtures() {
        let json = Some("application/json; charset=utf-8");
        let read = |name: &str| crate::testdata::json(&format!("errors/{name}")).to_string().into_bytes();
        assert!(matches!(classify(503, json, None, &read("system_disabled.json")), Err(ApiError::Maintenance(_))));
        assert!(matches!(classify(401, json, None, &read("invalid_key.json")), Err(ApiError::BadKey(_))));
        assert_eq!(
            classify(500, json, None, &read("throttled.json")),
            Err(ApiError::Throttled { seconds: 10, code: 51 })
        );
        assert_eq!(classify(500, json, None, &read("privacy.json")), Err(ApiError::Privacy));
        assert_eq!(classify(500, json, None, &read("pgcr_not_found.json")), Err(ApiError::PgcrNotFound));
        assert!(classify(500, json, None, &read("unexpected.json")).is_err_and(|e| e.is_transient()));
        let html = crate::testdata::bytes("errors/maintenance.html");
        assert_eq!(
            classify(503, Some("text/html"), Some(30), &html),
            Err(ApiError::Http { status: 503, retry_after: Some(30) })
        );
    }

    #[test]
    fn transient_errors_are_the_retryable_ones() {
        assert!(ApiError::Network("reset".into()).is_transient());
        assert!(ApiError::Http { status: 503, retry_after: Some(4) }.is_transient());
        assert!(ApiError::Http { status: 429, retry_after: None }.is_transient());
        assert!(!ApiError::Http { status: 404, retry_after: None }.is_transient());
        assert!(ApiError::Bungie { code: 1618, status: String::new(), message: String::new() }.is_transient());
        assert!(!ApiError::Bungie { code: 7, status: String::new(), message: String::new() }.is_transient());
        assert!(!ApiError::BadKey(String::new()).is_transient());
        assert!(!ApiError::Maintenance(String::new()).is_transient());
        assert!(!ApiError::PgcrNotFound.is_transient());
    }
}
