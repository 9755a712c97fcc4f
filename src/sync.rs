//! The sync shell: for each player, read the profile, queue what the histories list that is new,
//! then download the queued reports on a bounded pool of worker threads feeding one writer.
//!
//! Decisions come from the core ([`crate::plan`], [`crate::pgcr`], [`crate::retry`]); this module
//! only runs them. Store writes happen on the calling thread, one transaction per report, and
//! never wait on the network.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Mutex;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::bungie::client::Client;
use crate::bungie::envelope::ApiError;
use crate::bungie::model::UserCard;
use crate::error::Error;
use crate::output::Output;
use crate::pgcr::{self, MemberRow, PgcrRows};
use crate::plan::{self, CharacterState, Step, HISTORY_MODES, HISTORY_PAGE_SIZE};
use crate::player::class_of_type;
use crate::refresh::{self, Refetched, ReportFetch};
use crate::rescan::{self, LastRescan, RescanMode, WholeWalk};
use crate::retry::{self, Jitter};
use crate::signal::Stop;
use crate::store::{Store, Stored};
use crate::time::format_utc;

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
        for member in players {
            self.stop.check()?;
            let label = display_name(member);
            let started = Instant::now();
            match self.sync_player(store, member, &label, rescans.contains(&member.member_id)) {
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

    fn sync_player(
        &self,
        store: &mut Store,
        member: &MemberRow,
        label: &str,
        rescan: bool,
    ) -> Result<PlayerSummary, Error> {
        let (mtype, mid) = (member.platform_id, member.member_id);
        let profile = self.call("profile", || self.client.profile(mtype, mid))?;
        let data = profile.profile.and_then(|p| p.data).unwrap_or_default();
        let current = data
            .user_info
            .as_ref()
            .and_then(MemberRow::from_card)
            .filter(|m| m.member_id == mid)
            .unwrap_or_else(|| member.clone());
        let mut characters: Vec<(i64, CharacterState)> = Vec::new();
        let mut classes: Vec<(i64, i64)> = Vec::new();
        for ch in profile.characters.map(|c| c.data.into_values()).into_iter().flatten() {
            let Some(id) = ch.character_id else { continue };
            classes.push((id, class_of_type(ch.class_type)));
            characters.push((id, CharacterState::Live { last_played: ch.date_last_played }));
        }
        if characters.is_empty() {
            self.out.status(&format!("{label}: Bungie.net lists no characters (the profile may be private or new)"));
        }
        store.record_profile(&current, &classes)?;
        for id in self.deleted_characters(store, &current, &characters)? {
            characters.push((id, CharacterState::Deleted));
        }

        let mut summary = PlayerSummary { rescanned: rescan, ..PlayerSummary::default() };
        for (character_id, state) in &characters {
            let marker = store.history_marker(*character_id)?;
            // A rescan walks every character, idle or not.
            if !rescan && !plan::needs_history(state, marker.as_deref()) {
                continue;
            }
            let mut known = store.queued_ids(*character_id)?;
            let mut walk: Vec<i64> = Vec::new();
            for mode in HISTORY_MODES {
                self.stop.check()?;
                let new = if rescan {
                    let whole = self.scan_whole_history(&current, *character_id, mode, &known)?;
                    summary.found_by_rescan += whole.missed;
                    whole.new
                } else {
                    self.scan_history(&current, *character_id, mode, &known)?
                };
                known.extend(new.iter().copied());
                walk.extend(new);
            }
            // Queue the whole walk at once: a walk cut short leaves nothing half-queued that
            // would make the next walk stop early.
            let marker = plan::marker_after_walk(state, unix_now());
            store.enqueue_walk(mid, *character_id, &walk, marker.as_deref())?;
        }

        let character_ids: Vec<i64> = characters.iter().map(|(id, _)| *id).collect();
        let queued = store.unsynced(&character_ids)?;
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
        let (new, already, failed) = self.download(store, &to_fetch, label)?;
        summary.new += new;
        summary.already_stored += already;
        summary.left_queued += failed;
        summary.refreshed = self.refetch_early_reports(store, &character_ids)?;
        self.stop.check()?;
        store.finish_player_sync(mid, &now_text())?;
        store.record_rescan(mid, unix_now(), rescan)?;
        Ok(summary)
    }

    /// The player's deleted characters: read from the account stats on the first sync and then
    /// once a day, otherwise from the store. A failed read is reported and retried next round.
    fn deleted_characters(
        &self,
        store: &mut Store,
        member: &MemberRow,
        live: &[(i64, CharacterState)],
    ) -> Result<Vec<i64>, Error> {
        let now = unix_now();
        if !plan::account_check_due(store.account_checked_at(member.member_id)?, now) {
            return Ok(store.deleted_characters(member.member_id)?);
        }
        let (mtype, mid) = (member.platform_id, member.member_id);
        match self.call("account stats", || self.client.account_stats(mtype, mid)) {
            Ok(stats) => {
                let deleted: Vec<i64> = stats
                    .characters
                    .iter()
                    .filter(|c| c.deleted == Some(true))
                    .filter_map(|c| c.character_id)
                    .filter(|id| !live.iter().any(|(l, _)| l == id))
                    .collect();
                store.record_account(mid, &deleted, now)?;
                Ok(store.deleted_characters(mid)?)
            }
            Err(e) if e.stops_round() || e == ApiError::Privacy => Err(Error::Api(e)),
            Err(e) => {
                self.out.status(&format!("{}: could not read deleted characters: {e}", display_name(member)));
                Ok(store.deleted_characters(mid)?)
            }
        }
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

    /// Pages one character's history in one mode, newest first, until the core says stop, and
    /// returns the instance ids to queue.
    fn scan_history(
        &self,
        member: &MemberRow,
        character_id: i64,
        mode: i64,
        known: &HashSet<i64>,
    ) -> Result<Vec<i64>, Error> {
        let mut new: Vec<i64> = Vec::new();
        for page in 0..MAX_HISTORY_PAGES {
            self.stop.check()?;
            let result = self.call("activity history", || {
                self.client.history_page(
                    member.platform_id,
                    member.member_id,
                    character_id,
                    mode,
                    HISTORY_PAGE_SIZE,
                    page,
                )
            })?;
            let scan = plan::scan_history_page(&result, known);
            for id in scan.new {
                if !new.contains(&id) {
                    new.push(id);
                }
            }
            if scan.done {
                break;
            }
        }
        Ok(new)
    }

    /// Pages one character's history in one mode to its end (a rescan).
    fn scan_whole_history(
        &self,
        member: &MemberRow,
        character_id: i64,
        mode: i64,
        known: &HashSet<i64>,
    ) -> Result<WholeWalk, Error> {
        let mut walk = WholeWalk::default();
        for page in 0..MAX_HISTORY_PAGES {
            self.stop.check()?;
            let result = self.call("activity history", || {
                self.client.history_page(
                    member.platform_id,
                    member.member_id,
                    character_id,
                    mode,
                    HISTORY_PAGE_SIZE,
                    page,
                )
            })?;
            if walk.page(&result, known) {
                break;
            }
        }
        Ok(walk)
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
