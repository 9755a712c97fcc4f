//! dclisync: keeps a dcli-compatible sqlite3 database of Destiny 2 Crucible history in sync with
//! Bungie.net.
//!
//! The crate is a functional core with a thin imperative shell. The core modules decide and never
//! touch the network, the disk or the clock: [`ids`] (member, character and activity ids as
//! types), [`name`] (Bungie names), [`time`] (RFC 3339 text), [`bungie::model`] and
//! [`bungie::envelope`] (what Bungie answered), [`pgcr`] (a match report as database rows),
//! [`fixups`] (mode repairs), [`plan`] (what a sync must fetch), [`refresh`] (reports fetched too
//! early), [`rescan`] (whole-history walks), [`limiter`] (the request pace), [`retry`] (what
//! follows a failed request), [`daemon`] (the run loop: rounds, sleeps, signals, exit codes) and
//! [`cli`] (the validated configuration). The shell acts on their
//! decisions: [`bungie::client`] speaks HTTP through [`bungie::gate`], [`store`] owns every SQL
//! statement, [`lock`] keeps one sync per database, [`sync`] and [`actions`] run the user's
//! actions, [`output`] writes to the terminal, and [`signal`] delivers signals and stops.
//!
//! [`ids`]: core::ids
//! [`name`]: core::name
//! [`time`]: core::time
//! [`bungie::model`]: core::bungie::model
//! [`bungie::envelope`]: core::bungie::envelope
//! [`pgcr`]: core::pgcr
//! [`fixups`]: core::fixups
//! [`plan`]: core::plan
//! [`refresh`]: core::refresh
//! [`rescan`]: core::rescan
//! [`limiter`]: core::limiter
//! [`retry`]: core::retry
//! [`daemon`]: core::daemon
//! [`cli`]: core::cli
//! [`bungie::client`]: shell::bungie::client
//! [`bungie::gate`]: shell::bungie::gate
//! [`store`]: shell::store
//! [`lock`]: shell::lock
//! [`sync`]: shell::sync
//! [`actions`]: shell::actions
//! [`output`]: shell::output
//! [`signal`]: shell::signal

pub mod core;
pub mod shell;

/// Reading the hand-written fixtures under `testdata/` in unit tests.
#[cfg(test)]
pub(crate) mod testdata {
    use serde_json::Value;

    fn full(path: &str) -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata").join(path)
    }

    /// The bytes of `testdata/<path>` as they are (an HTML page, say).
    pub fn bytes(path: &str) -> Vec<u8> {
        let full = full(path);
        std::fs::read(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
    }

    /// The whole JSON document of `testdata/<path>`.
    pub fn json(path: &str) -> Value {
        let full = full(path);
        serde_json::from_slice(&bytes(path)).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
    }

    /// The file names in folder `testdata/<dir>`, sorted.
    pub fn names(dir: &str) -> Vec<String> {
        let full = full(dir);
        let entries = std::fs::read_dir(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()));
        let mut names: Vec<String> =
            entries.map(|e| e.expect("a folder entry").file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    }

    /// The envelope's `Response` of `testdata/<path>`, read as T.
    pub fn response<T: serde::de::DeserializeOwned>(path: &str) -> T {
        let value = json(path)["Response"].clone();
        serde_json::from_value(value).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// A history page listing `(instance id, director activity hash)` pairs, newest first.
    pub fn history_page(ids: &[(i64, i64)]) -> crate::core::bungie::model::HistoryPage {
        use crate::core::bungie::model::{ActivityDetails, HistoryActivity, HistoryPage};
        HistoryPage {
            activities: ids
                .iter()
                .map(|&(id, hash)| HistoryActivity {
                    period: None,
                    activity_details: Some(ActivityDetails {
                        instance_id: Some(id),
                        director_activity_hash: Some(hash),
                        ..Default::default()
                    }),
                })
                .collect(),
        }
    }
}
