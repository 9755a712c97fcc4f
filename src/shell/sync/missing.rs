//! `--archive-missing`: fetches the archive copy of every stored report that has none (stored
//! by an earlier dclisync, or with the archive off), paced and retried like a sync, on the same
//! worker pool. Each copy is kept in its own transaction as it arrives, so a killed run loses
//! nothing and the next one fetches only what is still missing. The rows are not touched
//! (`--reparse` derives them again), so each copy is kept without a digest.

use std::sync::mpsc::{self, SyncSender};
use std::sync::Mutex;

use super::{lock, Syncer};
use crate::core::archive::Archived;
use crate::core::bungie::envelope::ApiError;
use crate::core::ids::ActivityId;
use crate::shell::error::Error;
use crate::shell::store::Store;

/// How fetching one copy ended: the copy, or why there is none.
type Fetched = Result<Archived, ApiError>;

impl Syncer<'_> {
    /// Fetches and keeps the archive copies of `ids`. Returns how many were kept and how many
    /// failed (still missing; a later run tries them again).
    pub fn archive_missing(&self, store: &mut Store, ids: &[ActivityId]) -> Result<(usize, usize), Error> {
        let bar = self.out.bar("archive", ids.len() as u64);
        let jobs = Mutex::new(ids.iter());
        let (tx, rx) = mpsc::sync_channel::<(ActivityId, Fetched)>(self.concurrency);
        let (mut kept, mut failed) = (0, 0);
        let outcome = std::thread::scope(|scope| {
            for _ in 0..self.concurrency.min(ids.len()) {
                let (tx, jobs) = (tx.clone(), &jobs);
                scope.spawn(move || self.fetch_copies(jobs, tx));
            }
            drop(tx);
            for (id, fetched) in rx {
                bar.inc(1);
                match fetched {
                    Ok(copy) => {
                        store.keep_archive_copy(id, &copy)?;
                        kept += 1;
                    }
                    // The key or Bungie itself: every other report would fail the same way.
                    Err(e @ (ApiError::BadKey(_) | ApiError::Maintenance(_))) => return Err(Error::Api(e)),
                    Err(e) => {
                        failed += 1;
                        self.out.status(&format!("match {id}: {e}; its copy is still missing"));
                    }
                }
            }
            Ok(())
        });
        bar.finish_and_clear();
        self.stop.check()?;
        outcome.map(|()| (kept, failed))
    }

    /// A worker: fetches the next report's copy until the jobs run out or a stop is requested.
    fn fetch_copies(&self, jobs: &Mutex<std::slice::Iter<'_, ActivityId>>, tx: SyncSender<(ActivityId, Fetched)>) {
        while !self.stop.requested() {
            let Some(&id) = lock(jobs).next() else { break };
            let fetched = self.call("match report", || self.client.pgcr(id)).and_then(|(_, raw)| {
                raw.map(|raw| Archived { copy: lock(&self.packer).pack(&raw), digest: None, parts: None })
                    .ok_or_else(|| ApiError::BadBody("the report has no Response object".to_string()))
            });
            if tx.send((id, fetched)).is_err() {
                break;
            }
        }
    }
}
