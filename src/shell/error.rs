//! The errors a run can end with. Each says which [`ErrorKind`] it is; the kind alone decides
//! what follows and the exit code ([`crate::core::error`]).

use std::fmt;

use crate::core::bungie::envelope::ApiError;
use crate::core::error::ErrorKind;
use crate::shell::store::StoreError;

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
    /// What this failure means for the run.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Usage(_) => ErrorKind::Usage,
            Error::Interrupted(signal) => ErrorKind::Interrupted(*signal),
            Error::Store(e) if e.is_busy() => ErrorKind::Busy,
            Error::Store(_) => ErrorKind::Unusable,
            Error::Api(ApiError::BadKey(_)) => ErrorKind::BadKey,
            Error::BungieDown(_) => ErrorKind::Outage,
            Error::Api(e) if e.is_transient() || e.asks_too_long_a_wait() || matches!(e, ApiError::Maintenance(_)) => {
                ErrorKind::Outage
            }
            Error::Api(_) | Error::Player(_) | Error::Locked(_) => ErrorKind::Failed,
        }
    }

    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        self.kind().exit_code()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::daemon::{Outcome, SIGTERM};

    #[test]
    fn errors_are_classified_for_the_loop() {
        let outage = |e: Error| matches!(Outcome::of_error(e.kind(), e.to_string()), Outcome::Outage(_));
        let failed = |e: Error| matches!(Outcome::of_error(e.kind(), e.to_string()), Outcome::Failed(_));
        let fatal = |e: Error| matches!(Outcome::of_error(e.kind(), e.to_string()), Outcome::Fatal { code: 1, .. });
        assert!(outage(Error::BungieDown("kept failing".to_string())));
        assert!(outage(Error::Api(ApiError::Network("connection refused".to_string()))));
        assert!(outage(Error::Api(ApiError::Maintenance(String::new()))));
        assert!(outage(Error::Api(ApiError::Throttled { seconds: 10, code: 51 })));
        assert!(outage(Error::Api(ApiError::Http { status: 503, retry_after: None })));
        assert!(outage(Error::Api(ApiError::BadBody("truncated".to_string()))));
        assert!(failed(Error::Api(ApiError::Privacy)));
        assert!(failed(Error::Api(ApiError::Http { status: 404, retry_after: None })));
        assert!(failed(Error::Player("player X#0001 not found".to_string())));
        assert!(failed(Error::Locked("another dclisync is syncing".to_string())));
        assert!(fatal(Error::Api(ApiError::BadKey(String::new()))));
        assert!(fatal(Error::Store(StoreError::NotDcli { path: "x".into() })));
        assert_eq!(Outcome::of_error(Error::Interrupted(SIGTERM).kind(), String::new()), Outcome::Interrupted(SIGTERM));
    }
}
