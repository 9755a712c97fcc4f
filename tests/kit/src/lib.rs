//! The test kit of dclisync, shared by the end-to-end tests (`tests/`) and the examples
//! (`examples/`): it owns the generated Destiny 2 world ([`world`]), the fake Bungie.net that
//! serves it ([`fake`]), the rows a complete sync of the world must store ([`oracle`]), the
//! reader of the database a dclisync run leaves behind ([`db`]), the key the tests' fake accepts
//! ([`API_KEY`]), the demo ([`demo`]), and the one list of environment variables that change what
//! dclisync does ([`DCLISYNC_ENV`], cleared by [`clean_env`]).
//!
//! It does not depend on the dclisync crate: it is an independent oracle, written from what
//! Bungie serves and what dcli's database holds, not from dclisync's code.

pub mod db;
pub mod demo;
pub mod fake;
pub mod oracle;
pub mod world;

use std::process::Command;

pub use db::{db_path, Db};
pub use fake::{FakeBungie, FakeOptions, FaultKind};
pub use world::{World, WorldConfig};

/// The key the tests' fake accepts. Distinctive, so a leak is easy to find in any output.
pub const API_KEY: &str = "k3y-5ecr3t-0b1f7a9c2d4e";

/// Environment variables a user may have set that change what dclisync does, so a run under
/// test or measurement must not inherit them:
///
/// - its settings: the API key, the API root, the request pace, concurrency and timeout, the
///   metrics file, dcli's data-fix switch, the user's fix-up rules file, the archive switch;
/// - logging (`env_logger`'s filter and style), which changes what it prints on stderr;
/// - `XDG_DATA_HOME`, where it keeps its data when not given `-D` (the tests' runner then points
///   it, and `HOME`, into its sandbox; `HOME` is not listed, as the other runs give `-D`);
/// - `MALLOC_ARENA_MAX`, which it sets itself unless already set, so it changes the memory the
///   benchmarks measure;
/// - the proxy variables, in both cases, which its HTTP client obeys: a proxy would stand
///   between it and the fake on 127.0.0.1.
pub const DCLISYNC_ENV: &[&str] = &[
    "DESTINY_API_KEY",
    "DCLISYNC_API_ROOT",
    "DCLISYNC_ALLOW_INSECURE_HTTP",
    "DCLISYNC_MAX_RPS",
    "DCLISYNC_CONCURRENCY",
    "DCLISYNC_TIMEOUT",
    "DCLISYNC_METRICS_FILE",
    "DCLISYNC_FIXUPS",
    "DCLISYNC_ARCHIVE",
    "DCLI_FIX_DATA",
    "RUST_LOG",
    "RUST_LOG_STYLE",
    "XDG_DATA_HOME",
    "MALLOC_ARENA_MAX",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
];

/// Removes every variable of [`DCLISYNC_ENV`] from what `cmd` will inherit. Set the ones a run
/// needs afterwards: a later `env` wins over the removal.
pub fn clean_env(cmd: &mut Command) -> &mut Command {
    for name in DCLISYNC_ENV {
        cmd.env_remove(name);
    }
    cmd
}

/// The `Response` of a Bungie envelope written as pretty-printed JSON (`testdata/`), compacted
/// as Bungie sends it: the same keys in the same order, no whitespace between tokens. (Going
/// through `serde_json::Value` would sort the keys; the raw text keeps them.)
pub fn compact_response(envelope: &str) -> Result<String, String> {
    let fields: std::collections::BTreeMap<String, Box<serde_json::value::RawValue>> =
        serde_json::from_str(envelope).map_err(|e| format!("not a JSON object: {e}"))?;
    let response = fields.get("Response").ok_or("no Response in the envelope")?;
    Ok(compact_json(response.get()))
}

/// JSON text without the whitespace between its tokens.
fn compact_json(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if !c.is_whitespace() {
            in_string = c == '"';
            out.push(c);
        }
    }
    out
}
