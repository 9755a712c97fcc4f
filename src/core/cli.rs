//! The command line: raw arguments (clap), then a checked, side-effect-free [`Config`].
//!
//! The flags are the reference tool's, so scripts and service files written for it keep working:
//! `dclisync [-v] [-D DIR] [-k KEY] [-i GROUP] [-A NAME#CODE...] [-r NAME#CODE...]
//! [-s [NAME#CODE...]] [-l] [-d] [-I SECONDS]`, with `-h`/`--help` and `-V`/`--version` as clap
//! makes them. The rules:
//! - `--version` names the commit the binary was built from as well as the version
//!   ([`version_text`]), so that a bug report says exactly what was run. The commit comes from
//!   the build's environment, `DCLISYNC_COMMIT` or else GitHub Actions' `GITHUB_SHA` (the
//!   release builds run there); a build without either, such as `cargo install dclisync`, says
//!   the commit is unknown. No build script and no git are needed either way.
//! - At least one action is required: `--import-group`, `--add`, `--remove`, `--sync` or
//!   `--list`. Given together they run in the order import, add, remove, sync, list, whatever
//!   their order on the line, so one run can add players, sync them and list the result.
//! - Import, add and sync talk to Bungie.net and need an API key, from `--api-key` or the
//!   environment variable `DESTINY_API_KEY` (an empty key counts as none); remove and list work
//!   without one, and ignore one that is given. The key is trimmed and checked
//!   ([`crate::core::access`]) and never printed: it is an [`ApiKey`] from the moment clap reads
//!   it, `--help` hides the variable's value and `-v` logs request paths, not headers. A key on
//!   the command line is visible to other users of the machine (`ps`), so the help says so.
//! - Players are given as `NAME#CODE`, as a membership id, or as `TYPE:ID`
//!   ([`crate::core::name::PlayerRef`]). `--sync` alone syncs everyone on the list; with players,
//!   only those, and one who is not on the list is synced once without being added. `--remove`
//!   keeps the player's stored data.
//! - `--daemon` needs `--sync`, and repeats it every `--interval` seconds: at least
//!   [`MIN_INTERVAL_SECS`], [`DEFAULT_INTERVAL_SECS`] by default (the interval is read, and
//!   checked, without `--daemon` too).
//! - `--data-dir` defaults to the platform's local data folder plus `dcli` (on Linux
//!   `$XDG_DATA_HOME/dcli` or `~/.local/share/dcli`), created when missing; a system without
//!   such a folder needs the flag.
//! - Beyond the reference tool: `--rescan` (with `--sync`, not with `--daemon`, which rescans
//!   each player daily by itself) walks whole histories; `--json` (with `--list`) prints the
//!   list as JSON; `--max-rps`, `--concurrency` and `--timeout` set the pace, the requests in
//!   flight and the read timeout; `--metrics-file PATH` (or `DCLISYNC_METRICS_FILE`) writes
//!   Prometheus metrics after every round.
//! - Clans: `--import-group` remembers the clan it imports; each `--sync` of the whole list then
//!   reads the remembered clans' rosters first and skips the profiles of players the rosters
//!   show idle since their last complete walk ([`crate::core::roster`]), reading each profile
//!   at least every `--max-staleness` (seconds, or with a unit `s`, `m`, `h`, `d`; 1 hour by
//!   default; 0 turns the gate off). `--remove-group ID…` forgets clans (an action of its own,
//!   with no key; their players stay on the list). `--follow-groups` (with `--daemon`) adds
//!   members who join a remembered clan and reports those who leave.
//! - `--completions SHELL` and `--man` print a completion script or the man page, made from
//!   these very definitions, and exit 0: they need no key and no action, and any other flag
//!   given with them is ignored.
//! - Fix-up rules ([`crate::core::fixups`]): the user's rules file is `fixups.toml` in the data
//!   folder when it exists, or the file `--fixups` / `DCLISYNC_FIXUPS` names, which must exist.
//!   `--fixups-check` prints the rules in force and exits; it is an action of its own, needs no
//!   key and goes with no other action.
//! - `--reparse [NAME#CODE...]` derives the stored rows again from the archive
//!   ([`crate::core::reparse`]); it runs after remove and before list, needs no key, and goes
//!   with neither import, add, sync nor the daemon (which never reparses).
//! - `--archive-missing` fetches the archive copies stored reports lack; it needs a key, runs
//!   after sync and before reparse, and goes with neither the daemon nor `--no-archive`.
//! - Every downloaded report is archived ([`crate::core::archive`]) unless `--no-archive` or
//!   `DCLISYNC_ARCHIVE=0`.
//! - Any mistake is a usage error: exit code 2, as clap's own, with a message saying what is
//!   wrong and naming the bad argument when there is one.
//!
//! The environment, besides `DESTINY_API_KEY`: `DCLI_FIX_DATA=true` (any case) repairs the
//! nameless members of a report with extra lookups ([`crate::core::plan::member_lookups`]);
//! `DCLISYNC_API_ROOT` replaces both Bungie hosts with one root, for tests, mirrors and demos,
//! checked by [`crate::core::access::api_root`] (a plain `http://` root to another machine
//! needs `DCLISYNC_ALLOW_INSECURE_HTTP=1`); `DCLISYNC_MAX_RPS`,
//! `DCLISYNC_CONCURRENCY` and `DCLISYNC_TIMEOUT` stand for their flags; `RUST_LOG` filters the
//! log as env_logger reads it, and `-v` shows dclisync's debug lines.

use std::path::PathBuf;
use std::time::Duration;

use clap::builder::TypedValueParser;
use clap::Parser;

use crate::core::access::{self, ApiKey, INSECURE_HTTP_VAR};
use crate::core::fixups::Rules;
use crate::core::name::{BungieName, PlayerRef};
use crate::core::roster::GateConfig;

/// The shortest pause between daemon rounds.
pub const MIN_INTERVAL_SECS: u64 = 30;
/// The default pause between daemon rounds.
pub const DEFAULT_INTERVAL_SECS: u64 = 60;
/// Requests in flight at once, by default.
pub const DEFAULT_CONCURRENCY: usize = 12;
/// The most requests in flight anyone may ask for.
pub const MAX_CONCURRENCY: usize = 64;
/// Seconds a request may wait for data before it counts as failed, by default.
pub const DEFAULT_TIMEOUT_SECS: u64 = 30;
/// Bungie's limit: about 25 requests per second per client, averaged over 10 seconds.
pub const DEFAULT_MAX_RPS: f64 = 25.0;
/// The user's fix-up rules, in the data folder, unless `--fixups` names another file.
pub const FIXUPS_FILE: &str = "fixups.toml";

/// The commit this binary was built from, as the build's environment named it (read when
/// compiling, not at run time).
const BUILD_COMMIT: Option<&str> = match option_env!("DCLISYNC_COMMIT") {
    Some(commit) => Some(commit),
    None => option_env!("GITHUB_SHA"),
};

/// Hex digits of a commit id `--version` shows: git's own unambiguous short form.
const SHOWN_COMMIT_DIGITS: usize = 12;

/// What `--version` prints after the name: `0.1.0 (commit 3bc4476e1f2a)`, or
/// `0.1.0 (commit unknown)` when `commit` is absent or is not a git commit id (7 to 40 hex
/// digits, which is all a build environment can be trusted to have put there).
pub fn version_text(version: &str, commit: Option<&str>) -> String {
    let commit =
        commit.map(str::trim).filter(|c| (7..=40).contains(&c.len()) && c.bytes().all(|b| b.is_ascii_hexdigit()));
    match commit {
        Some(c) => format!("{version} (commit {})", &c[..c.len().min(SHOWN_COMMIT_DIGITS)].to_ascii_lowercase()),
        None => format!("{version} (commit unknown)"),
    }
}

/// Downloads the Destiny 2 Crucible activity history of a list of players from Bungie.net into
/// a local sqlite3 database (dcli.sqlite3) and keeps it in sync.
///
/// Actions run in this order: import, add, remove, sync, list.
#[derive(Debug, Parser)]
#[command(
    name = "dclisync",
    version = version_text(env!("CARGO_PKG_VERSION"), BUILD_COMMIT),
    about,
    long_about = None,
    after_help = "Actions run in the order import, add, remove, sync, list.\n\n\
Environment:\n  \
DESTINY_API_KEY    the Bungie API key (as --api-key)\n  \
DCLI_FIX_DATA      true: look up players that match reports list without a name\n  \
DCLISYNC_API_ROOT  one URL replacing both Bungie hosts (tests, mirrors, the demo)\n  \
DCLISYNC_ALLOW_INSECURE_HTTP  1: allow an http:// DCLISYNC_API_ROOT on another machine\n  \
DCLISYNC_MAX_RPS   as --max-rps\n  \
DCLISYNC_CONCURRENCY  as --concurrency\n  \
DCLISYNC_TIMEOUT   as --timeout\n  \
DCLISYNC_METRICS_FILE  as --metrics-file\n  \
DCLISYNC_FIXUPS    as --fixups\n  \
DCLISYNC_ARCHIVE   0: as --no-archive\n  \
RUST_LOG           log filter (env_logger)"
)]
pub struct Args {
    /// Print more detail on stderr (each request's path; never the API key)
    #[arg(short, long)]
    pub verbose: bool,

    /// Folder of the database dcli.sqlite3 [default: the platform's local data folder + dcli]
    #[arg(short = 'D', long = "data-dir", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Bungie API key (https://www.bungie.net/en/Application); prefer DESTINY_API_KEY, as other
    /// users of this machine can see command-line arguments (ps)
    // clap prints this comment as the flag's help, where a bare URL reads best.
    #[allow(rustdoc::bare_urls)]
    #[arg(short = 'k', long = "api-key", value_name = "KEY", env = "DESTINY_API_KEY", hide_env_values = true,
          value_parser = parse_key)]
    pub api_key: Option<ApiKey>,

    /// Add every member of this clan (group id) who has a Bungie name to the sync list
    #[arg(short = 'i', long = "import-group", value_name = "GROUP")]
    pub import_group: Option<u64>,

    /// Look players up on Bungie.net and put them on the sync list (NAME#CODE, a membership id,
    /// or TYPE:ID)
    #[arg(short = 'A', long = "add", value_name = "PLAYER", num_args = 1.., value_parser = parse_player)]
    pub add: Vec<PlayerRef>,

    /// Take players off the sync list (their stored data stays)
    #[arg(short = 'r', long = "remove", value_name = "PLAYER", num_args = 1.., value_parser = parse_player)]
    pub remove: Vec<PlayerRef>,

    /// Sync everyone on the list, or only these players
    #[arg(short = 's', long = "sync", value_name = "PLAYER", num_args = 0.., value_parser = parse_player)]
    pub sync: Option<Vec<PlayerRef>>,

    /// With --sync: walk every character's whole history and queue the matches a plain sync
    /// missed (the daemon rescans each player once a day by itself)
    #[arg(long = "rescan", requires = "sync", conflicts_with = "daemon")]
    pub rescan: bool,

    /// Forget a clan remembered by --import-group (its players stay on the sync list)
    #[arg(long = "remove-group", value_name = "GROUP", num_args = 1..)]
    pub remove_group: Vec<u64>,

    /// Read a player's profile at least this often, whatever the clan rosters say (seconds, or
    /// with a unit: 90s, 30m, 1h); 0 turns the roster gate off and reads every profile each round
    #[arg(long = "max-staleness", value_name = "DURATION", default_value = "1h", value_parser = parse_staleness)]
    pub max_staleness: u64,

    /// With --daemon: keep the sync list in step with the remembered clans: add members who
    /// join, report members who leave (they stay on the list)
    #[arg(long = "follow-groups", requires = "daemon")]
    pub follow_groups: bool,

    /// Print the players on the sync list: name, platform, last sync, stored, queued and stuck
    /// activities, characters
    #[arg(short = 'l', long = "list")]
    pub list: bool,

    /// With --list: print the list as JSON on stdout (other actions' results go to stderr)
    #[arg(long = "json", requires = "list")]
    pub json: bool,

    /// With --sync: sync, sleep --interval, and repeat until stopped (kill -USR1 PID: sync now)
    #[arg(short = 'd', long = "daemon", requires = "sync")]
    pub daemon: bool,

    /// Seconds between daemon rounds (at least 30)
    #[arg(short = 'I', long = "interval", value_name = "SECONDS", default_value_t = DEFAULT_INTERVAL_SECS,
          value_parser = parse_interval)]
    pub interval: u64,

    /// Requests per second at the most, averaged over 10 seconds (0: no limit)
    #[arg(long = "max-rps", value_name = "N", env = "DCLISYNC_MAX_RPS", default_value_t = DEFAULT_MAX_RPS,
          value_parser = parse_max_rps)]
    pub max_rps: f64,

    /// Requests in flight at once (1 to 64)
    #[arg(long = "concurrency", value_name = "N", env = "DCLISYNC_CONCURRENCY", default_value_t = DEFAULT_CONCURRENCY,
          value_parser = clap::value_parser!(u16).range(1..=MAX_CONCURRENCY as i64).map(usize::from))]
    pub concurrency: usize,

    /// Seconds a request may wait for data from Bungie.net before it is retried (1 to 600)
    #[arg(long = "timeout", value_name = "SECONDS", env = "DCLISYNC_TIMEOUT", default_value_t = DEFAULT_TIMEOUT_SECS,
          value_parser = clap::value_parser!(u64).range(1..=600))]
    pub timeout: u64,

    /// Write Prometheus metrics to this file after every round (node_exporter's textfile
    /// collector)
    #[arg(long = "metrics-file", value_name = "PATH", env = "DCLISYNC_METRICS_FILE")]
    pub metrics_file: Option<PathBuf>,

    /// Print the completion script for this shell and exit
    #[arg(long = "completions", value_name = "SHELL")]
    pub completions: Option<clap_complete::Shell>,

    /// Print the man page (roff) and exit
    #[arg(long = "man")]
    pub man: bool,

    /// Your fix-up rules file, applied after the built-in rules [default: fixups.toml in the
    /// data folder, if it exists]
    #[arg(long = "fixups", value_name = "FILE", env = "DCLISYNC_FIXUPS")]
    pub fixups: Option<PathBuf>,

    /// Derive the stored rows again from the archived reports, with the fix-up rules in force
    /// (everyone's, or only the named players'); needs no key and asks Bungie nothing
    #[arg(long = "reparse", value_name = "NAME#CODE", num_args = 0.., value_parser = parse_name,
          conflicts_with_all = ["import_group", "add", "sync", "daemon"])]
    pub reparse: Option<Vec<BungieName>>,

    /// Download the archive copy of every stored match report that has none (the rows stay as
    /// they are: --reparse derives them again)
    #[arg(long = "archive-missing", conflicts_with_all = ["daemon", "no_archive"])]
    pub archive_missing: bool,

    /// Do not keep the archive copy of downloaded match reports (--reparse needs it)
    #[arg(long = "no-archive")]
    pub no_archive: bool,

    /// Print the fix-up rules in force (built-in and yours) and exit; a bad rules file exits 2
    #[arg(long = "fixups-check", conflicts_with_all = ["import_group", "add", "remove", "sync", "list", "daemon", "reparse", "archive_missing"])]
    pub fixups_check: bool,
}

fn parse_name(s: &str) -> Result<BungieName, String> {
    s.parse::<BungieName>().map_err(|e| e.to_string())
}

fn parse_player(s: &str) -> Result<PlayerRef, String> {
    s.parse::<PlayerRef>().map_err(|e| e.to_string())
}

/// Wraps the key as given: it is checked in [`config`], whose errors never show it (clap's own
/// would quote the value).
fn parse_key(s: &str) -> Result<ApiKey, String> {
    Ok(ApiKey::raw(s))
}

fn parse_interval(s: &str) -> Result<u64, String> {
    let secs: u64 = s.parse().map_err(|_| format!("'{s}' is not a whole number of seconds"))?;
    if secs < MIN_INTERVAL_SECS {
        return Err(format!("the interval must be at least {MIN_INTERVAL_SECS} seconds (got {secs})"));
    }
    Ok(secs)
}

/// `--max-staleness`: whole seconds, or a number with `s`, `m`, `h` or `d`.
fn parse_staleness(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (number, unit) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&t[..i], c.to_ascii_lowercase()),
        _ => (t, 's'),
    };
    let scale = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => 0,
    };
    match number.trim().parse::<u64>().ok().and_then(|n| n.checked_mul(scale)) {
        Some(secs) if scale > 0 => Ok(secs),
        _ => {
            Err(format!("'{s}' is not a duration: give seconds, or a number with s, m, h or d (0 turns the gate off)"))
        }
    }
}

fn parse_max_rps(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(rps) if rps.is_finite() && rps >= 0.0 => Ok(rps),
        _ => Err(format!("'{s}' is not a number of requests per second (0 means no limit)")),
    }
}

/// What the user asked for, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub verbose: bool,
    pub data_dir: PathBuf,
    /// Only when an action needs it; trimmed and checked.
    pub api_key: Option<ApiKey>,
    /// One root replacing both Bungie hosts (DCLISYNC_API_ROOT), checked, without a trailing `/`.
    pub api_root: Option<String>,
    /// DCLI_FIX_DATA: repair nameless members with extra lookups.
    pub fix_data: bool,
    pub import_group: Option<u64>,
    /// Clans to forget (`--remove-group`).
    pub remove_group: Vec<u64>,
    /// The roster gate (`--max-staleness`).
    pub gate: GateConfig,
    /// In the daemon: add clan members who join, report those who leave.
    pub follow_groups: bool,
    pub add: Vec<PlayerRef>,
    pub remove: Vec<PlayerRef>,
    pub sync: Option<Vec<PlayerRef>>,
    /// With `sync`: walk every character's whole history.
    pub rescan: bool,
    pub list: bool,
    /// With `list`: print it as JSON.
    pub json: bool,
    pub daemon: bool,
    pub interval: Duration,
    pub concurrency: usize,
    /// Requests per second averaged over the limiter's window; `None`: no limit.
    pub max_rps: Option<f64>,
    /// How long a request may wait for data.
    pub timeout: Duration,
    /// Where to write Prometheus metrics after every round (empty: nowhere).
    pub metrics_file: Option<PathBuf>,
    /// The user's fix-up rules file, and whether it was named (a named file must exist; the
    /// default one in the data folder may be missing).
    pub fixups: PathBuf,
    pub fixups_named: bool,
    /// Print the rules in force and exit.
    pub fixups_check: bool,
    /// Keep each downloaded report's archive copy.
    pub archive: bool,
    /// Fetch the archive copies stored reports lack.
    pub archive_missing: bool,
    /// Rows derived again from the archive: everyone's (empty) or the named players'.
    pub reparse: Option<Vec<BungieName>>,
    /// The fix-up rules in force: the built-in ones until the shell has read the user's file.
    pub rules: Rules,
}

impl Config {
    /// Whether any action needs to talk to Bungie (and so an API key).
    pub fn needs_key(&self) -> bool {
        self.import_group.is_some() || !self.add.is_empty() || self.sync.is_some() || self.archive_missing
    }
}

/// A usage mistake: exit code 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks the arguments. `env` reads an environment variable; `default_data_dir` is the
/// platform's data folder, if it has one.
pub fn config(
    args: Args,
    env: impl Fn(&str) -> Option<String>,
    default_data_dir: Option<PathBuf>,
) -> Result<Config, UsageError> {
    let has_action = args.import_group.is_some()
        || !args.remove_group.is_empty()
        || !args.add.is_empty()
        || !args.remove.is_empty()
        || args.sync.is_some()
        || args.list
        || args.reparse.is_some()
        || args.archive_missing
        || args.fixups_check;
    if !has_action {
        return Err(UsageError(
            "nothing to do: give at least one of --import-group, --add, --remove, --remove-group, --sync, --list, \
             --reparse, --archive-missing or --fixups-check"
                .to_string(),
        ));
    }
    let data_dir = match args.data_dir {
        Some(dir) => dir,
        None => default_data_dir.ok_or_else(|| {
            UsageError("this system has no local data folder for the database: pass --data-dir".to_string())
        })?,
    };
    let fixups = args.fixups.clone().unwrap_or_else(|| data_dir.join(FIXUPS_FILE));
    let config = Config {
        verbose: args.verbose,
        data_dir,
        api_key: None,
        api_root: None,
        fix_data: env("DCLI_FIX_DATA").is_some_and(|v| v.trim().eq_ignore_ascii_case("true")),
        import_group: args.import_group,
        remove_group: args.remove_group,
        gate: GateConfig::from_staleness(args.max_staleness),
        follow_groups: args.follow_groups,
        add: args.add,
        remove: args.remove,
        sync: args.sync,
        rescan: args.rescan,
        list: args.list,
        json: args.json,
        daemon: args.daemon,
        interval: Duration::from_secs(args.interval),
        concurrency: args.concurrency,
        max_rps: Some(args.max_rps).filter(|r| *r > 0.0),
        timeout: Duration::from_secs(args.timeout),
        metrics_file: args.metrics_file.filter(|p| !p.as_os_str().is_empty()),
        fixups,
        fixups_named: args.fixups.is_some(),
        fixups_check: args.fixups_check,
        reparse: args.reparse,
        archive_missing: args.archive_missing,
        archive: !args.no_archive && env("DCLISYNC_ARCHIVE").is_none_or(|v| v.trim() != "0"),
        rules: Rules::builtin().clone(),
    };
    if !config.needs_key() {
        return Ok(config);
    }
    let api_key = args.api_key.map(|k| k.checked()).transpose().map_err(UsageError)?.flatten();
    let allow_insecure =
        env(INSECURE_HTTP_VAR).is_some_and(|v| matches!(v.trim(), "1") || v.trim().eq_ignore_ascii_case("true"));
    let api_root = env("DCLISYNC_API_ROOT")
        .filter(|r| !r.trim().is_empty())
        .map(|r| access::api_root(&r, allow_insecure))
        .transpose()
        .map_err(UsageError)?;
    let config = Config { api_key, api_root, ..config };
    if config.api_key.is_none() {
        return Err(UsageError(
            "--import-group, --add, --sync and --archive-missing need a Bungie API key: set DESTINY_API_KEY or pass --api-key \
             (get one at https://www.bungie.net/en/Application)"
                .to_string(),
        ));
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::name::BungieName;

    fn parse(argv: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("dclisync").chain(argv.iter().copied()))
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn the_version_names_the_commit_when_the_build_had_one() {
        let sha = "3BC4476E1F2A9D0C8B7A6F5E4D3C2B1A09F8E7D6";
        let too_long = format!("{sha}00");
        for (commit, expected) in [
            (Some(sha), "1.2.3 (commit 3bc4476e1f2a)"),
            (Some(" 3bc4476\n"), "1.2.3 (commit 3bc4476)"),
            (None, "1.2.3 (commit unknown)"),
            (Some(""), "1.2.3 (commit unknown)"),
            (Some("3bc447"), "1.2.3 (commit unknown)"),
            (Some("not-a-commit"), "1.2.3 (commit unknown)"),
            (Some(too_long.as_str()), "1.2.3 (commit unknown)"),
        ] {
            assert_eq!(version_text("1.2.3", commit), expected, "{commit:?}");
        }
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Args::command().debug_assert();
    }

    #[test]
    fn parses_actions() {
        let args = parse(&["-k", "key", "-A", "a#1", "b c#0042", "-s", "-l", "-D", "/tmp/x"]).unwrap();
        let c = config(args, no_env, None).unwrap();
        assert_eq!(c.add, vec![BungieName::new("a", 1).into(), BungieName::new("b c", 42).into()]);
        assert_eq!(c.sync, Some(vec![]));
        assert!(c.list);
        assert_eq!(c.data_dir, PathBuf::from("/tmp/x"));
        assert_eq!(c.interval, Duration::from_secs(60));
        assert_eq!((c.concurrency, c.max_rps), (DEFAULT_CONCURRENCY, Some(DEFAULT_MAX_RPS)));
        assert!(!c.rescan && !c.json);
        let c =
            config(parse(&["-k", "key", "-s", "a#1", "--rescan", "-l", "--json", "-D", "/d"]).unwrap(), no_env, None)
                .unwrap();
        assert!(c.rescan && c.json);
    }

    #[test]
    fn players_by_id() {
        use crate::core::ids::MemberId;
        let c = config(
            parse(&["-k", "key", "-A", "7094", "3:46", "-r", "a#1", "5", "-s", "2:9", "-D", "/d"]).unwrap(),
            no_env,
            None,
        )
        .unwrap();
        let id = |platform, id| PlayerRef::Id { platform, id: MemberId(id) };
        assert_eq!(c.add, vec![id(None, 7094), id(Some(3), 46)]);
        assert_eq!(c.remove, vec![BungieName::new("a", 1).into(), id(None, 5)]);
        assert_eq!(c.sync, Some(vec![id(Some(2), 9)]));
    }

    #[test]
    fn metrics_file_from_flag_or_environment() {
        let c = config(parse(&["-l", "-D", "/d", "--metrics-file", "/m/d.prom"]).unwrap(), no_env, None).unwrap();
        assert_eq!(c.metrics_file, Some(PathBuf::from("/m/d.prom")));
        let c = config(parse(&["-l", "-D", "/d"]).unwrap(), no_env, None).unwrap();
        assert_eq!(c.metrics_file, None);
    }

    #[test]
    fn clan_flags() {
        let c = config(parse(&["-l", "-D", "/d"]).unwrap(), no_env, None).unwrap();
        assert_eq!(c.gate, GateConfig { max_staleness: Some(3600) }, "one hour by default");
        assert_eq!(
            c.gate,
            GateConfig::from_staleness(crate::core::roster::DEFAULT_MAX_STALENESS_SECS as u64),
            "the flag's default is the gate's"
        );
        assert!(c.remove_group.is_empty() && !c.follow_groups);
        for (given, secs) in [("0", None), ("90", Some(90)), ("90s", Some(90)), ("30m", Some(1800)), ("2H", Some(7200))]
        {
            let c = config(parse(&["-l", "-D", "/d", "--max-staleness", given]).unwrap(), no_env, None).unwrap();
            assert_eq!(c.gate.max_staleness, secs, "{given}");
        }
        for bad in ["", "h", "1x", "-5", "1.5h"] {
            assert!(parse(&["-l", "--max-staleness", bad]).is_err(), "{bad:?}");
        }
        let c = config(parse(&["--remove-group", "12", "34", "-D", "/d"]).unwrap(), no_env, None).unwrap();
        assert_eq!(c.remove_group, vec![12, 34]);
        assert_eq!(c.api_key, None, "forgetting a clan needs no key");
        let c = config(parse(&["-k", "k", "-s", "-d", "--follow-groups", "-D", "/d"]).unwrap(), no_env, None).unwrap();
        assert!(c.follow_groups);
        assert!(parse(&["-s", "--follow-groups"]).is_err(), "--follow-groups needs --daemon");
    }

    #[test]
    fn networking_flags() {
        let c = config(parse(&["-l", "-D", "/d", "--max-rps", "12.5", "--concurrency", "50"]).unwrap(), no_env, None)
            .unwrap();
        assert_eq!((c.concurrency, c.max_rps), (50, Some(12.5)));
        let c = config(parse(&["-l", "-D", "/d", "--max-rps", "0"]).unwrap(), no_env, None).unwrap();
        assert_eq!(c.max_rps, None, "0 lifts the limit");
    }

    #[test]
    fn usage_errors() {
        let cases: &[(&[&str], &str)] = &[
            (&["-A", "noname"], "noname"),
            (&["-A", "x#12345"], "x#12345"),
            (&["-s", "-d", "-I", "10"], "at least 30"),
            (&["-d"], "--sync"),
            (&["-i", "abc"], "abc"),
            (&["-s", "--max-rps", "-1"], "-1"),
            (&["-s", "--max-rps", "fast"], "fast"),
            (&["-s", "--concurrency", "0"], "0"),
            (&["-s", "--concurrency", "65"], "65"),
            (&["-s", "--timeout", "0"], "0"),
            (&["--rescan"], "--sync"),
            (&["-s", "-d", "--rescan"], "--daemon"),
            (&["--json"], "--list"),
            (&["-s", "--json"], "--list"),
            (&["-A", "3:x"], "3:x"),
            (&["-r", "300:1"], "300:1"),
            (&["--completions", "tcsh"], "tcsh"),
        ];
        for (argv, needle) in cases {
            let err = parse(argv).expect_err(&format!("{argv:?}"));
            assert_eq!(err.exit_code(), 2);
            assert!(err.to_string().contains(needle), "{argv:?}: {err}");
        }
    }

    #[test]
    fn config_checks() {
        let dir = Some(PathBuf::from("/data"));
        let err = config(parse(&[]).unwrap(), no_env, dir.clone()).unwrap_err();
        assert!(err.0.contains("nothing to do"));
        let err = config(parse(&["-s", "-k", ""]).unwrap(), no_env, dir.clone()).unwrap_err();
        assert!(err.0.contains("DESTINY_API_KEY"));
        let err = config(parse(&["-l"]).unwrap(), no_env, None).unwrap_err();
        assert!(err.0.contains("--data-dir"));
        let ok = config(parse(&["-l"]).unwrap(), no_env, dir.clone()).unwrap();
        assert_eq!(ok.data_dir, PathBuf::from("/data"));
        assert!(!ok.fix_data);
        let env = |k: &str| match k {
            "DCLI_FIX_DATA" => Some("TRUE".to_string()),
            "DCLISYNC_API_ROOT" => Some("http://127.0.0.1:9".to_string()),
            _ => None,
        };
        let ok = config(parse(&["-l"]).unwrap(), env, dir.clone()).unwrap();
        assert!(ok.fix_data);
        assert_eq!(ok.api_root, None, "listing needs no root");
        let ok = config(parse(&["-s", "-k", " key\r\n"]).unwrap(), env, dir.clone()).unwrap();
        assert_eq!(ok.api_root.as_deref(), Some("http://127.0.0.1:9"));
        assert_eq!(ok.api_key.as_ref().map(ApiKey::expose), Some("key"));
    }

    #[test]
    fn key_and_root_are_checked_before_anything_runs() {
        let dir = Some(PathBuf::from("/data"));
        let root = |value: &'static str| move |k: &str| (k == "DCLISYNC_API_ROOT").then(|| value.to_string());
        type Env = Box<dyn Fn(&str) -> Option<String>>;
        let cases: Vec<(&str, Vec<&str>, Env, &str)> = vec![
            ("key with an inner line break", vec!["-s", "-k", "ab\ncd"], Box::new(no_env), "DESTINY_API_KEY"),
            ("root without a scheme", vec!["-s", "-k", "key"], Box::new(root("127.0.0.1:8787")), "DCLISYNC_API_ROOT"),
            ("remote http root", vec!["-s", "-k", "key"], Box::new(root("http://mirror.example")), "in clear"),
        ];
        for (what, argv, env, needle) in cases {
            let err = config(parse(&argv).unwrap(), env, dir.clone()).unwrap_err();
            assert!(err.0.contains(needle), "{what}: {err}");
            assert!(!err.0.contains("ab\ncd"), "{what}: the key was shown");
        }
        let opted_in = |k: &str| match k {
            "DCLISYNC_API_ROOT" => Some("http://mirror.example".to_string()),
            "DCLISYNC_ALLOW_INSECURE_HTTP" => Some("1".to_string()),
            _ => None,
        };
        assert!(config(parse(&["-s", "-k", "key"]).unwrap(), opted_in, dir.clone()).is_ok());
        let listing = config(parse(&["-l", "-k", "bad key"]).unwrap(), root("nonsense"), dir).unwrap();
        assert_eq!((listing.api_key, listing.api_root), (None, None), "a list ignores key and root");
    }

    #[test]
    fn args_and_config_never_debug_print_the_key() {
        let args = parse(&["-s", "-k", "s3cret-key"]).unwrap();
        assert!(!format!("{args:?}").contains("s3cret"));
        let c = config(args, no_env, Some(PathBuf::from("/d"))).unwrap();
        assert!(!format!("{c:?}").contains("s3cret"));
    }

    #[test]
    fn fixups_file_and_check() {
        let dir = Some(PathBuf::from("/data"));
        let c = config(parse(&["-l"]).unwrap(), no_env, dir.clone()).unwrap();
        assert_eq!((c.fixups, c.fixups_named, c.fixups_check), (PathBuf::from("/data/fixups.toml"), false, false));
        assert_eq!(&c.rules, Rules::builtin());
        let c = config(parse(&["--fixups-check", "--fixups", "/etc/rules.toml"]).unwrap(), no_env, dir).unwrap();
        assert_eq!((c.fixups, c.fixups_named, c.fixups_check), (PathBuf::from("/etc/rules.toml"), true, true));
        assert!(c.api_key.is_none(), "--fixups-check needs no key");
        assert!(c.archive, "archived by default");
        let off = |k: &str| (k == "DCLISYNC_ARCHIVE").then(|| "0".to_string());
        assert!(!config(parse(&["-l"]).unwrap(), off, Some(PathBuf::from("/d"))).unwrap().archive);
        assert!(!config(parse(&["-l", "--no-archive"]).unwrap(), no_env, Some(PathBuf::from("/d"))).unwrap().archive);
        let err = parse(&["--fixups-check", "-s"]).expect_err("check goes alone");
        assert_eq!(err.exit_code(), 2);
    }
}
