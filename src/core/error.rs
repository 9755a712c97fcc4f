//! What kind of failure ended a run, and the one place that maps kinds to exit codes.
//!
//! Exit codes: 0 when the run did what it was asked (activities left queued for a retry are
//! reported, not failures); 1 for a failure the user must act on (a bad key, an unknown player,
//! an unusable database, Bungie.net down during a one-off run); 2 for a usage error, as clap
//! reports its own; 128 + the signal's number after a stop signal (130 for Ctrl-C, 143 for
//! SIGTERM, 129 for a hang-up). The shell's error types say which [`ErrorKind`] they are; the
//! run loop ([`crate::core::daemon`]) decides from the kind alone.

/// Exit code of a successful run.
pub const EXIT_OK: i32 = 0;
/// Exit code of a failure the user must act on.
pub const EXIT_FAILURE: i32 = 1;
/// Exit code of a usage error (as clap's).
pub const EXIT_USAGE: i32 = 2;

/// The exit code after stopping for `signal`.
pub fn exit_code_for(signal: i32) -> i32 {
    128 + signal
}

/// What a failure means for the run: whether a later round may succeed, and the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The command line is wrong.
    Usage,
    /// The database cannot be used (not a dcli database, corrupt, unwritable, newer).
    Unusable,
    /// Another process kept the database busy: a later round may get it.
    Busy,
    /// The API key is invalid, expired or missing.
    BadKey,
    /// Bungie.net cannot be reached, keeps failing, throttles or is in maintenance.
    Outage,
    /// Any other failure a later round may not have (another sync holds the lock, a player
    /// cannot be used).
    Failed,
    /// Stopped by a signal (its number).
    Interrupted(i32),
}

impl ErrorKind {
    /// The process exit code for a run that ends with this kind of failure.
    pub fn exit_code(self) -> i32 {
        match self {
            ErrorKind::Usage => EXIT_USAGE,
            ErrorKind::Interrupted(signal) => exit_code_for(signal),
            ErrorKind::Unusable | ErrorKind::Busy | ErrorKind::BadKey | ErrorKind::Outage | ErrorKind::Failed => {
                EXIT_FAILURE
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_exit_code() {
        let cases = [
            (ErrorKind::Usage, 2),
            (ErrorKind::Unusable, 1),
            (ErrorKind::Busy, 1),
            (ErrorKind::BadKey, 1),
            (ErrorKind::Outage, 1),
            (ErrorKind::Failed, 1),
            (ErrorKind::Interrupted(2), 130),
            (ErrorKind::Interrupted(15), 143),
            (ErrorKind::Interrupted(1), 129),
        ];
        for (kind, code) in cases {
            assert_eq!(kind.exit_code(), code, "{kind:?}");
        }
    }
}
