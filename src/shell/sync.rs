//! The sync shell: for each player, walk the histories and queue what is new (observe), turn the
//! queue into a plan (decide), and download and store the planned reports (act), on a bounded
//! pool of worker threads feeding one writer.
//!
//! Every decision comes from the core: [`crate::core::walk`] (what a walk found),
//! [`crate::core::plan`] (what to fetch, DCLI_FIX_DATA lookups), [`crate::core::download`] (what
//! each failure means), [`crate::core::refresh`], [`crate::core::rescan`], [`crate::core::retry`]
//! and [`crate::core::summary`] (what to say), and [`crate::core::batch`] (when the writer commits).
//! Store writes happen on the calling thread and never wait on the network: the writer holds
//! the reports that arrive together and stores them in one transaction, each report whole with
//! its queue marks and archive copy.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use indicatif::ProgressBar;

use crate::core::archive::{Archived, Packer};
use crate::core::batch::{self, SYNC_BATCH};
use crate::core::bungie::envelope::ApiError;
use crate::core::download::{self, Failed, RoundEnd, Tally};
use crate::core::fixups::Rules;
use crate::core::ids::{ActivityId, CharacterId, MemberId};
use crate::core::pgcr::{self, MemberRow, PgcrRows};
use crate::core::plan::{self, MemberLookups, Step};
use crate::core::refresh::{self, RefetchFailed, Refetched, ReportFetch};
use crate::core::reparse::{self, Rederived};
use crate::core::rescan::{self, LastRescan, RescanMode};
use crate::core::retry::{self, Jitter};
use crate::core::roster;
use crate::core::summary::{self, Downloads, PlayerFailed, PlayerSummary, RoundSummary};
use crate::shell::bungie::client::Client;
use crate::shell::clock::{now_text, seed, unix_now};
use crate::shell::error::Error;
use crate::shell::output::Output;
use crate::shell::places::Places;
use crate::shell::signal::Stop;
use crate::shell::store::{FetchedReport, Store, StoreError, Stored};

mod missing;
mod rosters;
mod walk;

pub(crate) use rosters::Paged;
pub use rosters::{Gated, MAX_ROSTER_PAGES};

use walk::{WalkStart, Walked, HISTORY_PAGES_AT_ONCE};

/// Downloaded reports the writer holds until their batch is stored.
#[derive(Default)]
struct Batch {
    reports: Vec<Held>,
    /// When the first of them arrived.
    first_at: Option<Instant>,
}

/// A downloaded report waiting for its batch: its rows, its fetch and its archive copy.
struct Held {
    rows: PgcrRows,
    fetch: ReportFetch,
    archive: Option<Archived>,
}

impl Batch {
    /// Stores the held reports in one transaction and counts them; the batch is then empty.
    fn commit(&mut self, store: &mut Store, tally: &mut Tally) -> Result<(), StoreError> {
        let reports: Vec<FetchedReport<'_>> = self
            .reports
            .iter()
            .map(|h| FetchedReport { rows: &h.rows, fetch: &h.fetch, archive: h.archive.as_ref() })
            .collect();
        for stored in store.store_fetched_batch(&reports)? {
            tally.stored(stored == Stored::New);
        }
        self.reports.clear();
        self.first_at = None;
        Ok(())
    }
}

/// What the sync shell needs besides the store.
pub struct Syncer<'a> {
    pub client: &'a Client,
    pub out: &'a Output,
    pub stop: &'a Stop,
    pub concurrency: usize,
    pub fix_data: bool,
    /// Which players get their whole history walked.
    pub rescan: RescanMode,
    /// The fix-up rules in force.
    pub rules: &'a Rules,
    /// Whether downloaded reports are archived.
    pub archive: bool,
    /// The one archive packer the download workers take turns with: its zstd tables (about
    /// 0.9 MB) are made once, not once per worker or per report, and one core packs far faster
    /// than reports arrive (about 0.3 ms each).
    packer: Mutex<Packer>,
    jitter: Mutex<Jitter>,
}

/// How a worker's download of one report ended.
type Fetched = Result<Report, ApiError>;

/// A downloaded report: its rows, its fetch (with the rows' digest) and its archive copy (none
/// with the archive off).
struct Report {
    rows: PgcrRows,
    fetch: ReportFetch,
    archive: Option<Archived>,
}

/// What a player's walk left to do: the player's characters (live and deleted), the summary so
/// far, and the plan for the queued reports.
struct Planned {
    member_id: MemberId,
    characters: Vec<CharacterId>,
    summary: PlayerSummary,
    steps: Vec<Step>,
}

/// What the download workers share.
struct Work<'w> {
    jobs: Mutex<std::slice::Iter<'w, ActivityId>>,
    halt: AtomicBool,
    stored_members: HashSet<MemberId>,
    lookups: Mutex<MemberLookups>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl From<RoundEnd> for Error {
    fn from(end: RoundEnd) -> Error {
        match end {
            RoundEnd::Api(e) => Error::Api(e),
            RoundEnd::BungieDown(message) => Error::BungieDown(message),
        }
    }
}

impl<'a> Syncer<'a> {
    pub fn new(client: &'a Client, out: &'a Output, stop: &'a Stop, concurrency: usize, fix_data: bool) -> Self {
        Syncer {
            client,
            out,
            stop,
            concurrency: concurrency.max(1),
            fix_data,
            rescan: RescanMode::Off,
            rules: Rules::builtin(),
            archive: true,
            packer: Mutex::new(Packer::new()),
            jitter: Mutex::new(Jitter::new(seed())),
        }
    }

    /// The same syncer, walking whole histories as `rescan` says.
    pub fn with_rescan(mut self, rescan: RescanMode) -> Self {
        self.rescan = rescan;
        self
    }

    /// The same syncer, archiving downloaded reports or not.
    pub fn with_archive(mut self, archive: bool) -> Self {
        self.archive = archive;
        self
    }

    /// The same syncer, fixing reports' modes with `rules`.
    pub fn with_rules(mut self, rules: &'a Rules) -> Self {
        self.rules = rules;
        self
    }

    /// Runs one request with the retry policy: transient failures are retried after the pause
    /// the core decides, until it gives up or a stop is requested.
    pub fn call<T>(&self, what: &str, request: impl Fn() -> Result<T, ApiError>) -> Result<T, ApiError> {
        let mut attempt = 0;
        loop {
            let error = match request() {
                Ok(value) => return Ok(value),
                Err(e) => e,
            };
            let unit = lock(&self.jitter).next_unit();
            match retry::decide(&error, attempt, unit).pause() {
                Some(pause) if !self.stop.requested() => {
                    log::info!("{what}: {error}; retrying in {:.1} s", pause.as_secs_f64());
                    self.stop.sleep(pause);
                    attempt += 1;
                }
                _ => return Err(error),
            }
        }
    }

    /// Syncs players one after the other, each player's walk run while the previous player's
    /// reports download. Maintenance, a bad key, a failing Bungie.net, a stop or a store failure
    /// end the round with an error; any other failure of one player is reported and the round
    /// goes on.
    pub fn sync_round(&self, store: &mut Store, players: &[MemberRow]) -> Result<RoundSummary, Error> {
        let rescans = self.rescans_due(store, players)?;
        let mut round = RoundSummary { players: players.len(), ..RoundSummary::default() };
        let mut walked_ahead: Option<Result<Walked, Error>> = None;
        for (i, member) in players.iter().enumerate() {
            self.stop.check()?;
            let started = Instant::now();
            let walked = match walked_ahead.take() {
                Some(walked) => walked,
                None => {
                    let start = WalkStart::read(store, member, rescans.contains(&member.member_id))?;
                    self.walk(start, &Places::new(HISTORY_PAGES_AT_ONCE))
                }
            };
            let next = players.get(i + 1).map(|m| (m, rescans.contains(&m.member_id)));
            let (outcome, ahead) = self.sync_player(store, walked, next, &member.label());
            walked_ahead = ahead;
            self.count_player(&mut round, member, outcome, started)?;
        }
        Ok(round)
    }

    /// The players of this round whose whole history is walked.
    fn rescans_due(&self, store: &Store, players: &[MemberRow]) -> Result<Vec<MemberId>, Error> {
        let mut last = Vec::new();
        for member in players {
            let at = if self.rescan == RescanMode::Daily { store.rescanned_at(member.member_id)? } else { None };
            last.push(LastRescan { member_id: member.member_id, at });
        }
        Ok(rescan::rescans_due(self.rescan, &last, unix_now()))
    }

    /// Counts a player's outcome in the round and says it; an error ends the round.
    fn count_player(
        &self,
        round: &mut RoundSummary,
        member: &MemberRow,
        outcome: Result<PlayerSummary, Error>,
        started: Instant,
    ) -> Result<(), Error> {
        let label = member.label();
        let error = match outcome {
            Ok(s) => {
                round.add(&s);
                self.out.detail(&summary::player_line(&label, &s, started.elapsed().as_secs_f64()));
                return Ok(());
            }
            Err(Error::Api(e)) => e,
            Err(other) => return Err(other),
        };
        match summary::player_failed(&label, &error) {
            PlayerFailed::Stopped => {
                self.stop.check()?;
                Err(Error::Api(error))
            }
            PlayerFailed::BungieDown(message) => Err(Error::BungieDown(message)),
            PlayerFailed::Skip { line, unreachable } => {
                round.add_failure(unreachable);
                self.out.status(&line);
                Ok(())
            }
            PlayerFailed::EndRound => Err(Error::Api(error)),
        }
    }

    /// One player: record the walk and plan the queue (observe, decide), download the plan
    /// (act); meanwhile walk the next player, if any, and return that walk too (none when this
    /// player ended early or the walk ahead halted).
    fn sync_player(
        &self,
        store: &mut Store,
        walked: Result<Walked, Error>,
        next: Option<(&MemberRow, bool)>,
        label: &str,
    ) -> (Result<PlayerSummary, Error>, Option<Result<Walked, Error>>) {
        let planned = match self.record_walk(store, walked).and_then(|recorded| self.plan(store, recorded)) {
            Ok(planned) => planned,
            Err(e) => return (Err(e), None),
        };
        // Read before the downloads: only the next player's own sync changes what its walk needs.
        let next = match next.map(|(m, rescan)| WalkStart::read(store, m, rescan)).transpose() {
            Ok(next) => next,
            Err(e) => return (Err(Error::Store(e)), None),
        };
        let ahead_places = Places::new(HISTORY_PAGES_AT_ONCE);
        std::thread::scope(|scope| {
            let ahead = next.map(|start| scope.spawn(|| self.walk(start, &ahead_places)));
            let outcome = self.carry_out(store, planned, label);
            if outcome.is_err() {
                // The round ends: the walk ahead sends nothing more and is thrown away.
                ahead_places.close();
            }
            let ahead = ahead.map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)));
            (outcome, ahead.filter(|_| !ahead_places.is_closed()))
        })
    }

    /// Stores what a walk found, each character's walk queued at once. A walk that failed part
    /// way is stored up to the failure, which is then returned.
    fn record_walk(&self, store: &mut Store, walked: Result<Walked, Error>) -> Result<Planned, Error> {
        let walked = walked?;
        let member_id = walked.member.member_id;
        if walked.classes.is_empty() {
            self.out.status(&format!(
                "{}: Bungie.net lists no characters (the profile may be private or new)",
                walked.member.label()
            ));
        }
        store.record_profile(&walked.member, &walked.classes)?;
        if let Some((deleted, at)) = &walked.account {
            store.record_account(member_id, deleted, *at)?;
        }
        for note in &walked.notes {
            self.out.status(note);
        }
        let mut summary = PlayerSummary::default();
        for walk in &walked.walks {
            summary.found_by_rescan += walk.missed;
            // Queue the whole walk at once: a walk cut short leaves nothing half-queued that
            // would make the next walk stop early.
            store.enqueue_walk(member_id, walk.character_id, &walk.new, walk.marker.as_deref())?;
        }
        // After the queue: a walk counts as complete for the roster gate only once what it
        // found is queued.
        let complete = roster::complete_walk_at(
            walked.started_at,
            walked.failure.is_none(),
            walked.walks.iter().all(|w| w.marker.is_some()),
        );
        store.record_walk_times(member_id, walked.started_at, complete)?;
        if let Some(e) = walked.failure {
            return Err(e);
        }
        summary.rescanned = walked.rescan;
        let characters = walked.characters.iter().map(|(id, _)| *id).collect();
        Ok(Planned { member_id, characters, summary, steps: Vec::new() })
    }

    /// Reads the player's queue and what is known of it, and plans each queued activity.
    fn plan(&self, store: &Store, mut planned: Planned) -> Result<Planned, Error> {
        let queued = store.unsynced(&planned.characters)?;
        let stored = store.stored_among(queued.iter().map(|q| q.activity_id))?;
        let failures = store.failures_among(queued.iter().map(|q| q.activity_id))?;
        planned.steps = plan::fetch_plan(&queued, &stored, &failures, unix_now());
        Ok(planned)
    }

    /// Carries out a player's plan: marks what is stored already, downloads the rest, fetches
    /// the early reports due again, and records the player's sync.
    fn carry_out(&self, store: &mut Store, planned: Planned, label: &str) -> Result<PlayerSummary, Error> {
        let Planned { member_id, characters, mut summary, steps } = planned;
        let mut to_fetch = Vec::new();
        for step in steps {
            match step {
                Step::AlreadyStored { activity_id, .. } => {
                    store.mark_synced(activity_id)?;
                    summary.already_stored += 1;
                }
                Step::Fetch { activity_id, .. } => to_fetch.push(activity_id),
                Step::Stuck { .. } => summary.stuck += 1,
            }
        }
        summary.add(self.download(store, &to_fetch, label)?);
        summary.refreshed = self.refetch_early_reports(store, &characters)?;
        self.stop.check()?;
        store.finish_player_sync(member_id, &now_text())?;
        store.record_rescan(member_id, unix_now(), summary.rescanned)?;
        Ok(summary)
    }

    /// Fetches once more the reports of these characters' matches that were fetched too early
    /// and are due, and replaces those that changed. Returns how many were replaced.
    fn refetch_early_reports(&self, store: &mut Store, characters: &[CharacterId]) -> Result<usize, Error> {
        let pending = store.pending_rechecks(characters)?;
        let due = refresh::due(&pending, unix_now());
        if due.is_empty() {
            return Ok(0);
        }
        let work = self.work(store, &[])?;
        let mut refreshed = 0;
        for activity_id in due {
            self.stop.check()?;
            let Some(before) = pending.iter().find(|p| p.activity_id == activity_id) else { continue };
            let Report { rows, archive, .. } = match self.fetch_one(activity_id, &work) {
                Ok(report) => report,
                Err(e) => {
                    match refresh::refetch_failed(&e) {
                        RefetchFailed::EndRound => return Err(Error::Api(e)),
                        RefetchFailed::NextRound => {
                            self.out.status(&format!("match {activity_id}: {e}; will fetch it again next round"))
                        }
                        RefetchFailed::KeepFirst => {
                            self.out.status(&format!("match {activity_id}: {e}; keeping the copy stored earlier"));
                            store.finish_recheck(activity_id)?;
                        }
                    }
                    continue;
                }
            };
            match refresh::compare(before, &rows) {
                Refetched::Replace => {
                    store.replace_pgcr(&rows, &ReportFetch::last(&rows, unix_now()), archive.as_ref())?;
                    refreshed += 1;
                }
                Refetched::Same => store.finish_recheck(activity_id)?,
                Refetched::Worse => {
                    log::info!("match {activity_id}: the second copy lists fewer players; kept the first");
                    store.finish_recheck(activity_id)?;
                }
            }
        }
        Ok(refreshed)
    }

    /// What the workers of a download of `ids` share.
    fn work<'w>(&self, store: &Store, ids: &'w [ActivityId]) -> Result<Work<'w>, Error> {
        Ok(Work {
            jobs: Mutex::new(ids.iter()),
            halt: AtomicBool::new(false),
            stored_members: if self.fix_data { store.member_ids()? } else { HashSet::new() },
            lookups: Mutex::new(MemberLookups::default()),
        })
    }

    /// Stores the queued reports: those with an archive copy from it, the others downloaded.
    /// One tally counts both, so a failure while rebuilding counts like one while downloading.
    fn download(&self, store: &mut Store, ids: &[ActivityId], label: &str) -> Result<Downloads, Error> {
        let mut tally = Tally::new(ids.len());
        let to_fetch = self.rebuild_archived(store, ids, &mut tally)?;
        self.download_fresh(store, &to_fetch, label, tally)
    }

    /// Stores the rows of the queued reports that have an archive copy (a copy kept while rows
    /// were deleted, say) from that copy, never downloading them again; with DCLI_FIX_DATA their
    /// nameless members are repaired first, as for a downloaded report, and a failed lookup
    /// leaves the report queued. Returns the reports left to download: those without a copy,
    /// or whose copy cannot be read (none once the round is ending).
    fn rebuild_archived(
        &self,
        store: &mut Store,
        ids: &[ActivityId],
        tally: &mut Tally,
    ) -> Result<Vec<ActivityId>, Error> {
        let archived = store.archived_among(ids)?;
        let work = if self.fix_data && !archived.is_empty() { Some(self.work(store, &[])?) } else { None };
        let mut done = HashSet::with_capacity(archived.len());
        for &id in &archived {
            self.stop.check()?;
            let Some(copy) = store.archived(id)? else { continue };
            // No digest: the rows are not stored, whatever the copy last gave.
            let copy = Archived { digest: None, parts: None, ..copy };
            let Ok(Rederived::Rewrite(mut rewrite)) = reparse::rederive(id, &copy, self.rules) else { continue };
            done.insert(id);
            match work.as_ref().map_or(Ok(()), |work| self.repair_members(&mut rewrite.rows, work)) {
                Ok(()) => {
                    store.rewrite_reports(std::slice::from_ref(&rewrite))?;
                    tally.stored(true);
                }
                Err(e) => self.count_failure(store, tally, id, &e)?,
            }
            if tally.ending() {
                return Ok(Vec::new());
            }
        }
        Ok(ids.iter().copied().filter(|id| !done.contains(id)).collect())
    }

    /// Counts a report's failure in the tally and, when it counts as a try, records it.
    fn count_failure(
        &self,
        store: &mut Store,
        tally: &mut Tally,
        id: ActivityId,
        e: &ApiError,
    ) -> Result<(), StoreError> {
        if let Failed::Try { .. } = tally.failed(e) {
            let runs = store.record_failure(id, &e.to_string(), &now_text())?;
            self.out.status(&download::failure_line(id, e, runs));
        }
        Ok(())
    }

    /// Downloads reports on the worker pool and stores each as it arrives, counting them in
    /// `tally`.
    fn download_fresh(
        &self,
        store: &mut Store,
        ids: &[ActivityId],
        label: &str,
        mut tally: Tally,
    ) -> Result<Downloads, Error> {
        if ids.is_empty() {
            return tally.finish().map_err(Error::from);
        }
        let bar = self.out.bar(label, ids.len() as u64);
        let work = self.work(store, ids)?;
        // Bounded: when the writer falls behind, workers wait instead of piling reports up in
        // memory, so memory stays flat however long the queue.
        let (tx, rx) = mpsc::sync_channel::<(ActivityId, Fetched)>(self.concurrency);
        let stored = std::thread::scope(|scope| {
            for _ in 0..self.concurrency.min(ids.len()) {
                let (tx, work) = (tx.clone(), &work);
                scope.spawn(move || self.fetch_jobs(work, tx));
            }
            drop(tx);
            // Returning drops the receiver: workers blocked on a full channel see it closed and
            // end, and the scope joins them.
            self.store_arrivals(store, rx, &mut tally, &work.halt, &bar)
        });
        bar.finish_and_clear();
        match (tally.finish(), stored) {
            (Err(end), _) => Err(end.into()),
            (Ok(_), Err(e)) => Err(Error::Store(e)),
            (Ok(downloads), Ok(())) => Ok(downloads),
        }
    }

    /// A worker: takes the next report, downloads it and hands it to the writer, until the
    /// jobs run out, the pass halts or a stop is requested.
    fn fetch_jobs(&self, work: &Work<'_>, tx: SyncSender<(ActivityId, Fetched)>) {
        while !self.stop.requested() && !work.halt.load(Ordering::SeqCst) {
            let Some(&id) = lock(&work.jobs).next() else { break };
            if tx.send((id, self.fetch_one(id, work))).is_err() {
                break;
            }
        }
    }

    /// The writer: holds the reports as they arrive and stores them a batch at a time, when the
    /// core says the batch is full or due, and records each failure as the tally says. Once the
    /// tally says the round ends, the workers take no new report; what is held is stored when
    /// the last worker is gone.
    fn store_arrivals(
        &self,
        store: &mut Store,
        rx: Receiver<(ActivityId, Fetched)>,
        tally: &mut Tally,
        halt: &AtomicBool,
        bar: &ProgressBar,
    ) -> Result<(), StoreError> {
        let mut batch = Batch::default();
        let mut disconnected = false;
        loop {
            let age = batch.first_at.map_or(Duration::ZERO, |at| at.elapsed());
            // Once stopping, each report is stored as it comes: the exit may not wait for long.
            let closing = disconnected || self.stop.requested();
            let arrival = match batch::next(&SYNC_BATCH, batch.reports.len(), age, closing) {
                batch::Next::Commit => {
                    batch.commit(store, tally)?;
                    continue;
                }
                batch::Next::Wait(_) if disconnected => return Ok(()),
                batch::Next::Wait(None) => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
                batch::Next::Wait(Some(wait)) => rx.recv_timeout(wait),
            };
            match arrival {
                Ok((id, fetched)) => {
                    bar.inc(1);
                    self.take_arrival(store, &mut batch, tally, id, fetched)?;
                    if tally.ending() {
                        halt.store(true, Ordering::SeqCst);
                    }
                }
                // The batch is due: the next turn commits it.
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => disconnected = true,
            }
        }
    }

    /// One arrival: a downloaded report joins the batch; a failure is counted (and recorded).
    fn take_arrival(
        &self,
        store: &mut Store,
        batch: &mut Batch,
        tally: &mut Tally,
        id: ActivityId,
        fetched: Fetched,
    ) -> Result<(), StoreError> {
        match fetched {
            Ok(Report { rows, fetch, archive }) => {
                tally.downloaded();
                batch.first_at.get_or_insert_with(Instant::now);
                batch.reports.push(Held { rows, fetch, archive });
                Ok(())
            }
            Err(e) => self.count_failure(store, tally, id, &e),
        }
    }

    /// One report: download, normalize, pack the archive copy and take the rows' digests, then
    /// (with DCLI_FIX_DATA) repair nameless members. All of it here, on the worker, so the one
    /// writer only writes.
    fn fetch_one(&self, id: ActivityId, work: &Work<'_>) -> Fetched {
        let (report, raw) = self.call("match report", || self.client.pgcr(id))?;
        let mut rows = pgcr::normalize(id, &report, self.rules).map_err(|e| ApiError::BadBody(e.to_string()))?;
        drop(report);
        // The time of the fetch is the time it arrived, not the time of its batch.
        let mut fetch = ReportFetch::first(&rows, unix_now());
        let archive = raw.filter(|_| self.archive).map(|raw| Archived {
            copy: lock(&self.packer).pack(&raw),
            // Of the rows as parsed, which `--reparse` derives from the copy again.
            digest: Some(fetch.digest.clone()),
            parts: Some(reparse::part_digests(&rows)),
        });
        if self.fix_data {
            self.repair_members(&mut rows, work)?;
            // The fetch record's digest is of the rows as stored.
            fetch = ReportFetch::first(&rows, fetch.fetched_at);
        }
        Ok(Report { rows, fetch, archive })
    }

    /// DCLI_FIX_DATA: asks Bungie about the members the core names, and repairs the rows with
    /// the answers. An error keeps the report queued.
    fn repair_members(&self, rows: &mut PgcrRows, work: &Work<'_>) -> Result<(), ApiError> {
        let to_ask = lock(&work.lookups).to_ask(rows, &work.stored_members);
        for member_id in to_ask {
            let answer = self
                .call("membership lookup", || self.client.memberships_by_id(member_id))
                .map(|found| found.destiny_memberships);
            lock(&work.lookups).answer(member_id, answer)?;
        }
        lock(&work.lookups).repair(rows, &work.stored_members);
        Ok(())
    }
}
