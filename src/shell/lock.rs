//! One sync at a time per database: an exclusive lock on a file beside it.
//!
//! The lock is the operating system's (`File::try_lock`), so it goes away with the process that
//! held it, however that process ended: a kill -9 never leaves a stale lock behind. The file itself
//! stays; deleting it would let two processes lock two different files of the same name.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use crate::shell::error::Error;

/// Held while a sync runs; dropping it lets the next sync in.
#[derive(Debug)]
pub struct SyncLock {
    _file: File,
}

/// The lock file of a database: `dcli.sqlite3.lock` beside `dcli.sqlite3`.
pub fn lock_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

impl SyncLock {
    /// Takes the sync lock of `database`, or says which process-wide lock is held.
    pub fn acquire(database: &Path) -> Result<SyncLock, Error> {
        let path = lock_path(database);
        let file = OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(|e| {
            Error::Locked(format!("cannot open the lock file {}: {e}; check the folder's permissions", path.display()))
        })?;
        match file.try_lock() {
            Ok(()) => Ok(SyncLock { _file: file }),
            Err(TryLockError::WouldBlock) => Err(Error::Locked(format!(
                "another dclisync is syncing this database (it holds {}); let it finish, or stop the \
                 dclisync service, then try again",
                path.display()
            ))),
            Err(TryLockError::Error(e)) => Err(Error::Locked(format!(
                "cannot lock {}: {e}; is the folder on a file system without locks?",
                path.display()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_sync_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("dcli.sqlite3");
        assert_eq!(lock_path(&db), dir.path().join("dcli.sqlite3.lock"));
        let first = SyncLock::acquire(&db).unwrap();
        let second = SyncLock::acquire(&db).unwrap_err();
        assert!(second.to_string().contains("dcli.sqlite3.lock"), "{second}");
        assert!(second.to_string().contains("another dclisync"), "{second}");
        assert_eq!(second.exit_code(), crate::core::error::EXIT_FAILURE);
        drop(first);
        SyncLock::acquire(&db).expect("free again once the holder is gone");
    }
}
