//! The errors a run can end with, and the one place that maps them to exit codes.

use std::fmt;

use crate::core::bungie::envelope::ApiError;
use crate::shell::store::StoreError;

/// Exit code of a successful run.
pub const EXIT_OK: i32 = 0;
/// Exit code of a failure the user must act on.
pub const EXIT_FAILURE: i32 = 1;
/// Exit code of a usage error (as clap's).
pub const EXIT_USAGE: i32 = 2;

/// Why a run failed.
#[derive(Debug)]
pub enum Error {
    /// The command line is wrong.
    Usage(String),
    /// The database cannot be used.
    Store(StoreError),
    /// Bungie.net refused or failed in a way that ends the run.
    Api(ApiError),
    /// Bungie.net failed request after request: the round stopped.
    BungieDown(String),
    /// A player named on the command line cannot be used.
    Player(String),
    /// Another process is syncing the same database, or its lock cannot be taken.
    Locked(String),
    /// Stopped by a signal (its number).
    Interrupted(i32),
}

impl Error {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => EXIT_USAGE,
            Error::Interrupted(signal) => 128 + signal,
            Error::Store(_) | Error::Api(_) | Error::BungieDown(_) | Error::Player(_) | Error::Locked(_) => {
                EXIT_FAILURE
            }
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(m) | Error::BungieDown(m) | Error::Player(m) | Error::Locked(m) => f.write_str(m),
            Error::Store(e) => e.fmt(f),
            Error::Api(e) => e.fmt(f),
            Error::Interrupted(signal) => {
                write!(f, "stopped by signal {signal}; everything downloaded so far is saved")
            }
        }
    }
}

impl std::error::Error for Error {}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Error::Store(e)
    }
}

impl From<ApiError> for Error {
    fn from(e: ApiError) -> Self {
        Error::Api(e)
    }
}
