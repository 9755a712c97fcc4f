//! How dclisync reaches Bungie.net: the API key and the API root, both checked before anything
//! runs.
//!
//! The key ([`ApiKey`]):
//! - It is trimmed of surrounding whitespace first: a key read from a file saved on Windows
//!   (`EnvironmentFile=`, `$(cat key.txt)`) ends in `\r\n`, which is not part of the key.
//! - What is left must be visible ASCII (`!` to `~`), since it travels in an HTTP header;
//!   anything else is a usage error that names `--api-key` and `DESTINY_API_KEY`, never the key.
//! - It prints as `<redacted>`, in `Debug` and `Display` alike, so no struct that holds it can
//!   show it by accident; only [`ApiKey::expose`] gives it out, for the request header.
//!
//! The root ([`api_root`], from `DCLISYNC_API_ROOT`):
//! - It must be an `http://` or `https://` URL with a host (a name, an IPv4 address, or an IPv6
//!   address in brackets) and optionally a port and a path, and without a user, a query or a
//!   fragment: a root is what every request path is appended to. A trailing `/` is dropped.
//! - A plain `http://` root sends the key in clear, so it is refused unless its host is this
//!   machine (`localhost`, `127.x.x.x`, `[::1]`) or the user opts in with
//!   `DCLISYNC_ALLOW_INSECURE_HTTP=1` ([`INSECURE_HTTP_VAR`]).
//! - Anything else is a usage error naming `DCLISYNC_API_ROOT`.

use std::fmt;

/// The variable that lets a non-local `http://` root through.
pub const INSECURE_HTTP_VAR: &str = "DCLISYNC_ALLOW_INSECURE_HTTP";

/// What a redacted secret prints as.
const REDACTED: &str = "<redacted>";

/// A Bungie API key, as given (see [`ApiKey::checked`]); it never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key as given, unchecked.
    pub fn raw(key: impl Into<String>) -> ApiKey {
        ApiKey(key.into())
    }

    /// The key trimmed: `Ok(None)` when nothing is left, an error (naming where the key comes
    /// from, not the key) when it holds anything but visible ASCII.
    pub fn checked(&self) -> Result<Option<ApiKey>, String> {
        let key = self.0.trim();
        if key.is_empty() {
            return Ok(None);
        }
        if let Some(bad) = key.chars().find(|c| !c.is_ascii_graphic()) {
            return Err(format!(
                "the API key from --api-key or DESTINY_API_KEY holds a character that cannot be part of a key \
                 ({}): copy the key again from https://www.bungie.net/en/Application",
                describe_char(bad)
            ));
        }
        Ok(Some(ApiKey(key.to_string())))
    }

    /// The key itself, for the request header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// A character named without showing it (it may be part of a secret).
fn describe_char(c: char) -> String {
    match c {
        ' ' => "a space".to_string(),
        '\t' => "a tab".to_string(),
        '\r' | '\n' => "a line break".to_string(),
        c if c.is_control() => format!("control character U+{:04X}", c as u32),
        _ => "a character outside ASCII".to_string(),
    }
}

/// Checks a `DCLISYNC_API_ROOT` value; returns it without surrounding whitespace and trailing
/// `/`. `allow_insecure` is the user's opt-in to a non-local `http://` root.
pub fn api_root(value: &str, allow_insecure: bool) -> Result<String, String> {
    let bad = |why: &str| {
        Err(format!(
            "DCLISYNC_API_ROOT must be an http(s) URL like https://mirror.example:8443 ({why}); \
             fix or unset it"
        ))
    };
    let value = value.trim();
    let lower = value.to_ascii_lowercase();
    let (secure, scheme_len) = if lower.starts_with("https://") {
        (true, "https://".len())
    } else if lower.starts_with("http://") {
        (false, "http://".len())
    } else {
        return bad("it does not start with http:// or https://");
    };
    let (scheme, rest) = (&value[..scheme_len], value[scheme_len..].trim_end_matches('/'));
    if let Some(c) = rest.chars().find(|c| !c.is_ascii_graphic()) {
        return bad(&format!("it holds {}", describe_char(c)));
    }
    if rest.contains('?') || rest.contains('#') {
        return bad("it has a query or a fragment");
    }
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.contains('@') {
        return bad("it names a user");
    }
    let host = match host_of(authority) {
        Ok(host) => host,
        Err(why) => return bad(why),
    };
    if !secure && !is_loopback(host) && !allow_insecure {
        return Err(format!(
            "DCLISYNC_API_ROOT is a plain http:// URL to another machine ({host}): the API key would travel \
             in clear; use https://, or set {INSECURE_HTTP_VAR}=1 to allow it"
        ));
    }
    Ok(format!("{scheme}{rest}"))
}

/// The host of an authority `host[:port]` (IPv6 in brackets), with the port checked.
fn host_of(authority: &str) -> Result<&str, &'static str> {
    let (host, port) = if let Some(inner) = authority.strip_prefix('[') {
        let Some((ip, after)) = inner.split_once(']') else { return Err("its IPv6 address has no closing ]") };
        if ip.is_empty() || !ip.chars().all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.') {
            return Err("its IPv6 address is not one");
        }
        match after {
            "" => (&authority[..ip.len() + 2], None),
            _ => match after.strip_prefix(':') {
                Some(port) => (&authority[..ip.len() + 2], Some(port)),
                None => return Err("something follows its IPv6 address"),
            },
        }
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err("it has no host");
    }
    if !host.starts_with('[') && !host.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_') {
        return Err("its host is not a host name");
    }
    if let Some(port) = port {
        let valid = !port.is_empty()
            && port.len() <= 5
            && port.chars().all(|c| c.is_ascii_digit())
            && port.parse::<u32>().is_ok_and(|p| (1..=65535).contains(&p));
        if !valid {
            return Err("its port is not a number from 1 to 65535");
        }
    }
    Ok(host)
}

/// Whether a host is this machine: `localhost`, `127.x.x.x` or `[::1]`.
fn is_loopback(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    if host == "localhost" || host.ends_with(".localhost") || host == "[::1]" {
        return true;
    }
    let parts: Vec<&str> = host.split('.').collect();
    parts.len() == 4
        && parts[0] == "127"
        && parts.iter().all(|p| !p.is_empty() && p.len() <= 3 && p.parse::<u8>().is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A case: what it is, the key as given, the key kept or words of the error.
    type KeyCase<'a> = (&'a str, &'a str, Result<Option<&'a str>, &'a str>);

    #[test]
    fn keys() {
        let cases: &[KeyCase] = &[
            ("plain", "abc123", Ok(Some("abc123"))),
            ("windows line end", "abc123\r\n", Ok(Some("abc123"))),
            ("surrounding spaces", "  abc123\t", Ok(Some("abc123"))),
            ("empty", "", Ok(None)),
            ("only whitespace", " \r\n", Ok(None)),
            ("inner space", "abc 123", Err("a space")),
            ("inner carriage return", "abc\r123", Err("a line break")),
            ("escape", "abc\u{1b}123", Err("U+001B")),
            ("non-ascii", "abcé123", Err("outside ASCII")),
        ];
        for (what, key, expected) in cases {
            let got = ApiKey::raw(*key).checked();
            match (got, expected) {
                (Ok(got), Ok(want)) => assert_eq!(got.as_ref().map(ApiKey::expose), *want, "{what}"),
                (Err(got), Err(want)) => {
                    assert!(got.contains(want) && got.contains("DESTINY_API_KEY"), "{what}: {got}");
                    assert!(!got.contains("abc"), "{what}: the message shows the key: {got}");
                }
                (got, _) => panic!("{what}: {got:?}"),
            }
        }
    }

    #[test]
    fn keys_never_print() {
        let key = ApiKey::raw("s3cret");
        assert_eq!(format!("{key} {key:?} {:?}", Some(key.clone())), "<redacted> <redacted> Some(<redacted>)");
    }

    #[test]
    fn roots() {
        let cases: &[(&str, &str, bool, Result<&str, &str>)] = &[
            ("https", "https://www.bungie.net", false, Ok("https://www.bungie.net")),
            ("trailing slash", "https://mirror.example:8443/", false, Ok("https://mirror.example:8443")),
            ("with a path", "https://mirror.example/bungie/", false, Ok("https://mirror.example/bungie")),
            ("upper-case scheme", "HTTPS://Mirror.example", false, Ok("HTTPS://Mirror.example")),
            ("loopback http", "http://127.0.0.1:8787", false, Ok("http://127.0.0.1:8787")),
            ("localhost http", "http://localhost:8787/", false, Ok("http://localhost:8787")),
            ("ipv6 loopback", "http://[::1]:8787", false, Ok("http://[::1]:8787")),
            ("surrounding whitespace", " http://127.0.0.1:9\r\n", false, Ok("http://127.0.0.1:9")),
            ("remote http", "http://mirror.example", false, Err("DCLISYNC_ALLOW_INSECURE_HTTP")),
            ("remote http, allowed", "http://mirror.example", true, Ok("http://mirror.example")),
            ("not quite loopback", "http://127.0.0.1.evil.example", false, Err("in clear")),
            ("no scheme", "127.0.0.1:8787", false, Err("http://")),
            ("other scheme", "ftp://x", false, Err("http://")),
            ("not a url", "hello world", false, Err("http://")),
            ("no host", "https://", false, Err("no host")),
            ("no host, port", "https://:80", false, Err("no host")),
            ("user", "https://user:pw@host.example", false, Err("user")),
            ("query", "https://host.example/?a=1", false, Err("query")),
            ("fragment", "https://host.example/#x", false, Err("fragment")),
            ("bad port", "https://host.example:99999", false, Err("port")),
            ("empty port", "https://host.example:", false, Err("port")),
            ("text port", "https://host.example:http", false, Err("port")),
            ("space inside", "https://host .example", false, Err("a space")),
            ("bad host", "https://ho$t", false, Err("host name")),
            ("open ipv6", "https://[::1", false, Err("closing")),
        ];
        for (what, value, allow, expected) in cases {
            match (api_root(value, *allow), expected) {
                (Ok(got), Ok(want)) => assert_eq!(got, *want, "{what}"),
                (Err(got), Err(want)) => {
                    assert!(got.contains(want) && got.contains("DCLISYNC_API_ROOT"), "{what}: {got}")
                }
                (got, _) => panic!("{what}: {got:?}"),
            }
        }
    }

    proptest::proptest! {
        /// No text makes the root check panic, and what it accepts starts with http(s)://.
        #[test]
        fn any_root_is_checked_without_panic(value in ".{0,40}", allow in proptest::bool::ANY) {
            if let Ok(root) = api_root(&value, allow) {
                proptest::prop_assert!(root.to_ascii_lowercase().starts_with("http"));
            }
        }
    }
}
