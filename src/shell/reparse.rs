//! `--reparse`: rewrites stored rows from the archive with the rules in force, with no key and
//! no request. It holds the sync lock (a sync and a reparse of one database never overlap),
//! reads the archive [`PAGE`] copies at a time, asks the core what each copy now gives
//! ([`crate::core::reparse`], on every core) and rewrites each page's changed reports, only in
//! the table groups that changed, in one transaction, so a kill loses at most the page in hand
//! and a rerun picks up where it stopped (what was rewritten now matches its digest and is
//! skipped).

use crate::core::archive::Archived;
use crate::core::cli::Config;
use crate::core::fixups::Rules;
use crate::core::ids::{ActivityId, MemberId};
use crate::core::name::BungieName;
use crate::core::reparse::{self, Rederived, Rewrite, Tally};
use crate::shell::error::Error;
use crate::shell::lock::SyncLock;
use crate::shell::output::Output;
use crate::shell::signal::Stop;
use crate::shell::store::Store;

/// Archive copies read, and changed reports rewritten, per transaction: large enough that the
/// commits cost little, small enough that memory stays flat.
pub const PAGE: usize = 500;
/// The most threads deriving a page's rows at once.
const MAX_THREADS: usize = 4;

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
        let rewrites = sort_out(rederive_page(&page, &config.rules), &mut tally, out);
        store.rewrite_reports(&rewrites)?;
        tally.reparsed += page.len() as u64;
        tally.changed += rewrites.len() as u64;
        bar.inc(page.len() as u64);
    }
    bar.finish_and_clear();
    tally.without_copy = store.unarchived(&members)?.len() as u64;
    out.result(&reparse::summary_line(&tally));
    Ok(tally)
}

/// The reports of a page to write again; unreadable copies are counted and said.
fn sort_out(derived: Vec<Result<Rederived, String>>, tally: &mut Tally, out: &Output) -> Vec<Rewrite> {
    let mut rewrites = Vec::new();
    for rederived in derived {
        match rederived {
            Ok(Rederived::Same) => {}
            Ok(Rederived::Rewrite(rewrite)) => rewrites.push(rewrite),
            Err(e) => {
                tally.unreadable += 1;
                out.status(&format!("error: {e}"));
            }
        }
    }
    rewrites
}

/// What each copy of a page now gives, in page order, derived on as many threads as there are
/// cores (up to [`MAX_THREADS`]): unpacking and reading the reports is most of a reparse's work,
/// and each copy is derived on its own.
fn rederive_page(page: &[(ActivityId, Archived)], rules: &Rules) -> Vec<Result<Rederived, String>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, MAX_THREADS);
    let chunk = page.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = page
            .chunks(chunk)
            .map(|copies| {
                scope.spawn(move || copies.iter().map(|(id, c)| reparse::rederive(*id, c, rules)).collect::<Vec<_>>())
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
    })
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
