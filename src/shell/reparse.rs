//! `--reparse`: rewrites stored rows from the archive with the rules in force, with no key and
//! no request. It holds the sync lock (a sync and a reparse of one database never overlap),
//! reads the archive [`PAGE`] copies at a time, asks the core what each copy now gives
//! ([`crate::core::reparse`]) and rewrites each page's changed reports in one transaction, so a
//! kill loses at most the page in hand and a rerun picks up where it stopped (what was
//! rewritten now matches its digest and is skipped).

use crate::core::cli::Config;
use crate::core::ids::MemberId;
use crate::core::name::BungieName;
use crate::core::pgcr::PgcrRows;
use crate::core::reparse::{self, Rederived, Tally};
use crate::shell::error::Error;
use crate::shell::lock::SyncLock;
use crate::shell::output::Output;
use crate::shell::signal::Stop;
use crate::shell::store::Store;

/// Archive copies read, and changed reports rewritten, per transaction: large enough that the
/// commits cost little, small enough that memory stays flat.
pub const PAGE: usize = 500;

/// Reparses the archived reports of the named players (none: of everyone stored).
pub fn run(
    config: &Config,
    names: &[BungieName],
    store: &mut Store,
    out: &Output,
    stop: &Stop,
) -> Result<Tally, Error> {
    let _lock = SyncLock::acquire(store.path())?;
    let members = stored_members(store, names)?;
    let bar = out.bar("reparse", store.archived_count(&members)?);
    let mut tally = Tally::default();
    let mut after = 0;
    loop {
        stop.check()?;
        let page = store.archive_page(after, PAGE, &members)?;
        let Some((last, _)) = page.last() else { break };
        after = last.0;
        let mut rewrites: Vec<(Box<PgcrRows>, String)> = Vec::new();
        for (id, copy) in &page {
            match reparse::rederive(*id, copy, &config.rules) {
                Ok(Rederived::Same) => {}
                Ok(Rederived::Rewrite { rows, digest }) => rewrites.push((rows, digest)),
                Err(e) => {
                    tally.unreadable += 1;
                    out.status(&format!("error: {e}"));
                }
            }
        }
        let refs: Vec<(&PgcrRows, &str)> = rewrites.iter().map(|(r, d)| (r.as_ref(), d.as_str())).collect();
        store.rewrite_reports(&refs)?;
        tally.reparsed += page.len() as u64;
        tally.changed += rewrites.len() as u64;
        bar.inc(page.len() as u64);
    }
    bar.finish_and_clear();
    tally.without_copy = store.unarchived(&members)?.len() as u64;
    out.result(&reparse::summary_line(&tally));
    Ok(tally)
}

/// The stored members the names stand for; a name nobody stored has is an error.
fn stored_members(store: &Store, names: &[BungieName]) -> Result<Vec<MemberId>, Error> {
    let mut members = Vec::with_capacity(names.len());
    for name in names {
        match store.member_by_name(&name.name, &name.code_text())? {
            Some(member) => members.push(member.member_id),
            None => {
                return Err(Error::Player(format!(
                    "{name} is not in the database: check the name with --list, or sync them first"
                )))
            }
        }
    }
    Ok(members)
}
