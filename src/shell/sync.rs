//! The sync shell: for each player, read the profile, queue what the histories list that is new,
//! then download the queued reports on a bounded pool of worker threads feeding one writer.
//!
//! Decisions come from the core ([`crate::core::plan`], [`crate::core::pgcr`], [`crate::core::retry`]); this module
//! only runs them. Store writes happen on the calling thread, one transaction per report, and
//! never wait on the network.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Mutex;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::core::bungie::envelope::ApiError;
use crate::core::bungie::model::UserCard;
use crate::core::pgcr::{self, MemberRow, PgcrRows};
use crate::core::plan::{self, Step};
use crate::core::refresh::{self, Refetched, ReportFetch};
use crate::core::rescan::{self, LastRescan, RescanMode};
use crate::core::retry::{self, Jitter};
use crate::core::time::format_utc;
use crate::shell::bungie::client::Client;
use crate::shell::error::Error;
use crate::shell::output::Output;
use crate::shell::signal::Stop;
use crate::shell::store::{Store, Stored};

mod walk;

use walk::{WalkStart, Walked};

/// History pages read per character and mode at the most: 250,000 matches, far beyond any
/// player, so a server that never ends its history cannot keep a sync paging forever.
const MAX_HISTORY_PAGES: usize = 1000;
/// Reports failing in a row, each after its retries, that mean Bungie.net is down: the round
/// stops instead of working through the rest of the queue against a failing server.
const FAILURES_MEANING_DOWN: usize = 16;

/// The current time as RFC 3339 text, for the store.
pub fn now_text() -> String {
    format_utc(unix_now())
}

fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
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
    jitter: Mutex<Jitter>,
}

/// The outcome of one player's sync.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlayerSummary {
    pub new: usize,
    pub already_stored: usize,
    pub left_queued: usize,
    /// Queued activities that failed in many runs and wait for their daily try.
    pub stuck: usize,
    /// Reports fetched too early, fetched once more and replaced because they changed.
    pub refreshed: usize,
    /// Whether the player's whole history was walked.
    pub rescanned: bool,
    /// Matches the whole walk queued that a plain sync would have missed.
    pub found_by_rescan: usize,
}

/// The outcome of a round over several players.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoundSummary {
    pub players: usize,
    pub new: usize,
    pub left_queued: usize,
    pub stuck: usize,
    pub refreshed: usize,
    /// Players whose whole history was walked, and what those walks found.
    pub rescanned: usize,
    pub found_by_rescan: usize,
    /// Players that could not be synced (each reported as it happened).
    pub failed_players: usize,
    /// Of those, the ones that failed because Bungie.net could not be reached: when nobody could
    /// be, the daemon reports an outage once instead of these failures every round.
    pub unreachable_players: usize,
}

/// How a worker's download of one report ended.
type Fetched = Result<PgcrRows, ApiError>;

impl<'a> Syncer<'a> {
    pub fn new(client: &'a Client, out: &'a Output, stop: &'a Stop, concurrency: usize, fix_data: bool) -> Self {
        let seed = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
        Syncer {
            client,
            out,
            stop,
            concurrency: concurrency.max(1),
            fix_data,
            rescan: RescanMode::Off,
            jitter: Mutex::new(Jitter::new(seed)),
        }
    }

    /// The same syncer, walking whole histories as `rescan` says.
    pub fn with_rescan(mut self, rescan: RescanMode) -> Self {
        self.rescan = rescan;
        self
    }

    fn unit(&self) -> f64 {
        self.jitter.lock().map(|mut j| j.next_unit()).unwrap_or(0.5)
    }

    /// Runs one request with the retry policy: transient failures are retried after the pause
    /// the core decides, until it gives up or a stop is requested.
    pub fn call<T>(&self, what: &str, request: impl Fn() -> Result<T, ApiError>) -> Result<T, ApiError> {
        let mut attempt = 0;
        loop {
            match request() {
                Ok(value) => return Ok(value),
                Err(e) => match retry::decide(&e, attempt, self.unit()).pause() {
                    Some(pause) if !self.stop.requested() => {
                        log::info!("{what}: {e}; retrying in {:.1} s", pause.as_secs_f64());
                        self.stop.sleep(pause);
                        attempt += 1;
                    }
                    _ => return Err(e),
                },
            }
        }
    }

    /// Syncs players one after the other. Maintenance, a bad key, a failing Bungie.net, a stop or
    /// a store failure end the round with an error; any other failure of one player is reported
    /// and the round goes on.
    pub fn sync_round(&self, store: &mut Store, players: &[MemberRow]) -> Result<RoundSummary, Error> {
        let mut round = RoundSummary::default();
        let mut last_rescans = Vec::new();
        if self.rescan == RescanMode::Daily {
            for member in players {
                last_rescans
                    .push(LastRescan { member_id: member.member_id, at: store.rescanned_at(member.member_id)? });
            }
        } else {
            last_rescans.extend(players.iter().map(|m| LastRescan { member_id: m.member_id, at: None }));
        }
        let rescans = rescan::rescans_due(self.rescan, &last_rescans, unix_now());
        // The walk of the player whose turn is next, run while the previous player's reports
        // downloaded.
        let mut walked_ahead: Option<Result<Walked, Error>> = None;
        for (i, member) in players.iter().enumerate() {
            self.stop.check()?;
            let label = display_name(member);
            let started = Instant::now();
            let walked = match walked_ahead.take() {
                Some(walked) => walked,
                None => {
                    let start = WalkStart::read(store, member, rescans.contains(&member.member_id))?;
                    self.walk(start, &AtomicBool::new(false))
                }
            };
            let next = players.get(i + 1).map(|m| (m, rescans.contains(&m.member_id)));
            let (outcome, ahead) = self.sync_player(store, walked, next, &label);
            walked_ahead = ahead;
            match outcome {
                Ok(s) => {
                    round.players += 1;
                    round.new += s.new;
                    round.left_queued += s.left_queued;
                    round.stuck += s.stuck;
                    round.refreshed += s.refreshed;
                    round.rescanned += usize::from(s.rescanned);
                    round.found_by_rescan += s.found_by_rescan;
                    self.out.detail(&format!(
                        "{label}: {} new, {} already stored, {} left queued for retry{} ({:.1} s)",
                        s.new,
                        s.already_stored,
                        s.left_queued,
                        extras(&s),
                        started.elapsed().as_secs_f64()
                    ));
                }
                // A request was not sent because a stop was asked for.
                Err(Error::Api(ApiError::Stopped)) => {
                    self.stop.check()?;
                    return Err(Error::Api(ApiError::Stopped));
                }
                // Every try failed on a passing kind of error: Bungie.net is down or unreachable,
                // and the next player would only fail the same way, slowly.
                Err(Error::Api(e)) if e.is_transient() => {
                    return Err(Error::BungieDown(format!(
                        "could not sync {label}: {e}; stopped this round, unfinished work stays queued for the \
                         next run"
                    )))
                }
                Err(Error::Api(e)) if !e.stops_round() => {
                    round.failed_players += 1;
                    round.unreachable_players += usize::from(e.is_transient());
                    let what = if e == ApiError::Privacy { "skipping" } else { "error: could not sync" };
                    self.out.status(&format!("{what} {label}: {e}"));
                }
                Err(other) => return Err(other),
            }
        }
        Ok(round)
    }

    /// Records a player's walk and downloads what it queued; meanwhile walks the next player, if
    /// any, and returns that walk too (none when this player ended early).
    fn sync_player(
        &self,
        store: &mut Store,
        walked: Result<Walked, Error>,
        next: Option<(&MemberRow, bool)>,
        label: &str,
    ) -> (Result<PlayerSummary, Error>, Option<Result<Walked, Error>>) {
        let (characters, mut summary, mid) = match self.record_walk(store, walked) {
            Ok(recorded) => recorded,
            Err(e) => return (Err(e), None),
        };
        let to_fetch = match self.plan_downloads(store, &characters, &mut summary) {
            Ok(to_fetch) => to_fetch,
            Err(e) => return (Err(e), None),
        };
        // Read before the downloads: only the next player's own sync changes what its walk needs.
        let next = match next.map(|(m, rescan)| WalkStart::read(store, m, rescan)).transpose() {
            Ok(next) => next,
            Err(e) => return (Err(Error::Store(e)), None),
        };
        let halt = AtomicBool::new(false);
        std::thread::scope(|scope| {
            let ahead = next.map(|start| scope.spawn(|| self.walk(start, &halt)));
            let outcome = self.download_and_finish(store, &to_fetch, &characters, summary, mid, label);
            if outcome.is_err() {
                // The round ends: the walk ahead sends nothing more and is thrown away.
                halt.store(true, Ordering::SeqCst);
            }
            let ahead = ahead.map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)));
            (outcome, ahead.filter(|_| !halt.load(Ordering::SeqCst)))
        })
    }

    /// Stores what a walk found, each character's walk queued at once, and returns the
    /// player's characters (live and deleted), the summary so far and the member id. A walk
    /// that failed part way is stored up to the failure, which is then returned.
    fn record_walk(
        &self,
        store: &mut Store,
        walked: Result<Walked, Error>,
    ) -> Result<(Vec<i64>, PlayerSummary, i64), Error> {
        let walked = walked?;
        let current = &walked.member;
        let mid = current.member_id;
        if walked.classes.is_empty() {
            self.out.status(&format!(
                "{}: Bungie.net lists no characters (the profile may be private or new)",
                display_name(current)
            ));
        }
        store.record_profile(current, &walked.classes)?;
        if let Some((deleted, at)) = &walked.account {
            store.record_account(mid, deleted, *at)?;
        }
        for note in &walked.notes {
            self.out.status(note);
        }
        let mut summary = PlayerSummary::default();
        for walk in &walked.walks {
            summary.found_by_rescan += walk.missed;
            // Queue the whole walk at once: a walk cut short leaves nothing half-queued that
            // would make the next walk stop early.
            store.enqueue_walk(mid, walk.character_id, &walk.new, walk.marker.as_deref())?;
        }
        if let Some(e) = walked.failure {
            return Err(e);
        }
        summary.rescanned = walked.rescan;
        let characters = walked.characters.iter().map(|(id, _)| *id).collect();
        Ok((characters, summary, mid))
    }

    /// Marks the queued reports already stored as synced and returns those to download.
    fn plan_downloads(
        &self,
        store: &mut Store,
        character_ids: &[i64],
        summary: &mut PlayerSummary,
    ) -> Result<Vec<i64>, Error> {
        let queued = store.unsynced(character_ids)?;
        let stored = store.stored_among(queued.iter().map(|q| q.activity_id))?;
        let failures = store.failures_among(queued.iter().map(|q| q.activity_id))?;
        let steps = plan::fetch_plan(&queued, &stored, &failures, unix_now());
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
        Ok(to_fetch)
    }

    fn download_and_finish(
        &self,
        store: &mut Store,
        to_fetch: &[i64],
        character_ids: &[i64],
        mut summary: PlayerSummary,
        mid: i64,
        label: &str,
    ) -> Result<PlayerSummary, Error> {
        let (new, already, failed) = self.download(store, to_fetch, label)?;
        summary.new += new;
        summary.already_stored += already;
        summary.left_queued += failed;
        summary.refreshed = self.refetch_early_reports(store, character_ids)?;
        self.stop.check()?;
        store.finish_player_sync(mid, &now_text())?;
        store.record_rescan(mid, unix_now(), summary.rescanned)?;
        Ok(summary)
    }

    /// Fetches once more the reports of these characters' matches that were fetched too early
    /// and are due (SPEC §3), and replaces those that changed. Returns how many were replaced.
    /// A report that fails now is tried again next round, unless Bungie.net says no for good.
    fn refetch_early_reports(&self, store: &mut Store, characters: &[i64]) -> Result<usize, Error> {
        let pending = store.pending_rechecks(characters)?;
        let due = refresh::due(&pending, unix_now());
        if due.is_empty() {
            return Ok(0);
        }
        let stored_members = if self.fix_data { store.member_ids()? } else { HashSet::new() };
        let lookups = Mutex::new(HashMap::new());
        let mut refreshed = 0;
        for activity_id in due {
            self.stop.check()?;
            let Some(before) = pending.iter().find(|p| p.activity_id == activity_id) else { continue };
            match self.fetch_one(activity_id, &stored_members, &lookups) {
                Ok(rows) => match refresh::compare(before, &rows) {
                    Refetched::Replace => {
                        store.replace_pgcr(&rows, &ReportFetch::last(&rows, unix_now()))?;
                        refreshed += 1;
                    }
                    Refetched::Same => store.finish_recheck(activity_id)?,
                    Refetched::Worse => {
                        log::info!("match {activity_id}: the second copy lists fewer players; kept the first");
                        store.finish_recheck(activity_id)?;
                    }
                },
                Err(e) if e.stops_round() => return Err(Error::Api(e)),
                Err(e) if e.is_transient() => {
                    self.out.status(&format!("match {activity_id}: {e}; will fetch it again next round"));
                }
                Err(e) => {
                    self.out.status(&format!("match {activity_id}: {e}; keeping the copy stored earlier"));
                    store.finish_recheck(activity_id)?;
                }
            }
        }
        Ok(refreshed)
    }

    /// Downloads reports on the worker pool and stores each as it arrives.
    /// Returns (new, already stored, failed and left queued).
    fn download(&self, store: &mut Store, ids: &[i64], label: &str) -> Result<(usize, usize, usize), Error> {
        if ids.is_empty() {
            return Ok((0, 0, 0));
        }
        let bar = self.out.bar(label, ids.len() as u64);
        let stored_members = if self.fix_data { store.member_ids()? } else { HashSet::new() };
        let lookups: Mutex<HashMap<i64, Vec<UserCard>>> = Mutex::new(HashMap::new());
        let jobs = Mutex::new(ids.iter().copied());
        let halt = AtomicBool::new(false);
        // Bounded: when the writer falls behind, workers wait instead of piling reports up in
        // memory, so memory stays flat however long the queue.
        let (tx, rx) = mpsc::sync_channel::<(i64, Fetched)>(self.concurrency);
        let (mut new, mut already, mut failed) = (0, 0, 0);
        let mut fatal: Option<Error> = None;
        let mut failing_in_a_row = 0;

        std::thread::scope(|scope| {
            for _ in 0..self.concurrency.min(ids.len()) {
                let tx = tx.clone();
                let (jobs, halt, lookups, stored_members) = (&jobs, &halt, &lookups, &stored_members);
                scope.spawn(move || loop {
                    if self.stop.requested() || halt.load(Ordering::SeqCst) {
                        break;
                    }
                    let next = jobs.lock().ok().and_then(|mut j| j.next());
                    let Some(id) = next else { break };
                    let fetched = self.fetch_one(id, stored_members, lookups);
                    if tx.send((id, fetched)).is_err() {
                        break;
                    }
                });
            }
            drop(tx);
            // The first reason to stop wins; the workers take no new report after it.
            let mut give_up = |reason: Error| {
                fatal.get_or_insert(reason);
                halt.store(true, Ordering::SeqCst);
            };
            for (id, fetched) in rx.iter() {
                bar.inc(1);
                let outcome = match fetched {
                    Ok(rows) => {
                        failing_in_a_row = 0;
                        // Stored as it arrives, so the time of storing is the time of the fetch.
                        let fetch = ReportFetch::first(&rows, unix_now());
                        store.store_fetched_pgcr(&rows, &fetch).map(|s| match s {
                            Stored::New => new += 1,
                            Stored::AlreadyThere => already += 1,
                        })
                    }
                    // Never sent: the run is stopping. It stays queued, and no try is counted.
                    Err(ApiError::Stopped) => Ok(()),
                    // Maintenance or a bad key: not this match's fault, so no try is counted.
                    Err(e) if e.stops_round() => {
                        give_up(Error::Api(e));
                        Ok(())
                    }
                    Err(e) => {
                        failed += 1;
                        failing_in_a_row = if e.is_transient() { failing_in_a_row + 1 } else { 0 };
                        if failing_in_a_row >= FAILURES_MEANING_DOWN {
                            give_up(Error::BungieDown(format!(
                                "Bungie.net kept failing ({e}); stopped this round, unfinished matches stay queued \
                                 for the next run"
                            )));
                        }
                        let recorded = store.record_failure(id, &e.to_string(), &now_text());
                        if matches!(recorded, Ok(runs) if runs == plan::STUCK_AFTER_ATTEMPTS) {
                            self.out.status(&format!(
                                "match {id}: {e}; it has now failed in {runs} runs, so it stays queued and is tried \
                                 once a day (see the dclisync_attempt table)",
                                runs = plan::STUCK_AFTER_ATTEMPTS
                            ));
                        } else {
                            self.out.status(&format!("match {id}: {e}; left queued for the next run"));
                        }
                        recorded.map(|_| ())
                    }
                };
                if let Err(e) = outcome {
                    give_up(Error::Store(e));
                    break;
                }
            }
            // Workers blocked on a full channel see it closed and end; the scope then joins them.
            drop(rx);
        });
        bar.finish_and_clear();
        // Reports not even tried (a stop or a fatal error) stay queued as well.
        let untried = ids.len() - new - already - failed;
        match fatal {
            Some(e) => Err(e),
            None => Ok((new, already, failed + untried)),
        }
    }

    /// One report: download, normalize, and (with DCLI_FIX_DATA) repair nameless members.
    fn fetch_one(
        &self,
        id: i64,
        stored_members: &HashSet<i64>,
        lookups: &Mutex<HashMap<i64, Vec<UserCard>>>,
    ) -> Fetched {
        let report = self.call("match report", || self.client.pgcr(id))?;
        let mut rows = pgcr::normalize(id, &report).map_err(|e| ApiError::BadBody(e.to_string()))?;
        if !self.fix_data {
            return Ok(rows);
        }
        for member_id in plan::member_lookups(&rows, stored_members) {
            let cached = lookups.lock().ok().and_then(|l| l.get(&member_id).cloned());
            let cards = match cached {
                Some(cards) => cards,
                None => match self.call("membership lookup", || self.client.memberships_by_id(member_id)) {
                    Ok(found) => {
                        if let Ok(mut l) = lookups.lock() {
                            l.insert(member_id, found.destiny_memberships.clone());
                        }
                        found.destiny_memberships
                    }
                    // A passing failure keeps the report queued so the repair is not lost; a
                    // definite "no" stores the report as Bungie sent it.
                    Err(e) if e.is_transient() || e.stops_round() => return Err(e),
                    Err(_) => Vec::new(),
                },
            };
            plan::repair_member(&mut rows, member_id, &cards);
        }
        Ok(rows)
    }
}

/// The optional parts of a player's summary line.
fn extras(s: &PlayerSummary) -> String {
    let mut out = String::new();
    if s.rescanned {
        out.push_str(&format!(", rescan found {} missed match(es)", s.found_by_rescan));
    }
    if s.refreshed > 0 {
        out.push_str(&format!(", {} early report(s) refreshed", s.refreshed));
    }
    if s.stuck > 0 {
        out.push_str(&format!(
            ", {} stuck (failed in {} runs or more; tried once a day)",
            s.stuck,
            plan::STUCK_AFTER_ATTEMPTS
        ));
    }
    out
}

/// How a member is named in messages: the Bungie name, or the platform name, or the id.
pub fn display_name(member: &MemberRow) -> String {
    match (&member.bungie_display_name, &member.bungie_display_name_code) {
        (Some(name), Some(code)) => format!("{name}#{code}"),
        _ => member.display_name.clone().unwrap_or_else(|| format!("member {}", member.member_id)),
    }
}
