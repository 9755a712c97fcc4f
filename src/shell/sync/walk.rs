//! A player's history walk, run off the writer thread: the profile, the account stats and every
//! character's history pages, the characters walked at the same time, so that the walk costs
//! about one chain of requests instead of all of them end to end, and so that the next player's
//! walk can run while this player's reports download.
//!
//! A walk only talks to Bungie.net. What it needs from the store is read before it starts
//! ([`WalkStart`]); what it found ([`Walked`]) is written afterwards by the thread that owns the
//! store, each character's walk queued all at once.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::thread::ScopedJoinHandle;
use std::time::Duration;

use super::{display_name, unix_now, Syncer, MAX_HISTORY_PAGES};
use crate::core::bungie::envelope::ApiError;
use crate::core::pgcr::MemberRow;
use crate::core::plan::{self, CharacterState, HISTORY_MODES, HISTORY_PAGE_SIZE};
use crate::core::player::class_of_type;
use crate::core::rescan::WholeWalk;
use crate::shell::error::Error;
use crate::shell::store::{Store, StoreError};

/// What the store knows that a player's walk needs, read before the walk starts.
///
/// Only this player's own sync changes these (a walk queues activities for its own characters
/// only), so they can be read while another player's reports are still being stored.
pub(super) struct WalkStart {
    member: MemberRow,
    rescan: bool,
    account_checked_at: Option<i64>,
    stored_deleted: Vec<i64>,
    /// Per character the store knows: the marker of its last complete walk and its queued ids.
    /// A character the store does not know has neither.
    known: HashMap<i64, (Option<String>, HashSet<i64>)>,
}

impl WalkStart {
    pub(super) fn read(store: &Store, member: &MemberRow, rescan: bool) -> Result<WalkStart, StoreError> {
        let mut known = HashMap::new();
        for character_id in store.known_characters(member.member_id)? {
            known.insert(character_id, (store.history_marker(character_id)?, store.queued_ids(character_id)?));
        }
        Ok(WalkStart {
            member: member.clone(),
            rescan,
            account_checked_at: store.account_checked_at(member.member_id)?,
            stored_deleted: store.deleted_characters(member.member_id)?,
            known,
        })
    }

    /// The character's walk marker and queued ids, taken out: each character is walked once.
    fn take(&mut self, character_id: i64) -> (Option<String>, HashSet<i64>) {
        self.known.remove(&character_id).unwrap_or_default()
    }
}

/// History pages a walk reads at the same time at the most. Each page of 250 matches is parsed
/// whole (several MB while it is read), and a walk runs beside the downloads: more pages at once
/// would raise the peak memory of a sync by a page each.
const HISTORY_PAGES_AT_ONCE: usize = 2;

/// Places for history pages in flight within one walk.
struct Pages {
    free: Mutex<usize>,
    freed: Condvar,
}

/// One place taken; dropping it frees it.
struct PagePlace<'p>(&'p Pages);

impl Pages {
    fn new(places: usize) -> Pages {
        Pages { free: Mutex::new(places.max(1)), freed: Condvar::new() }
    }

    fn free(&self) -> MutexGuard<'_, usize> {
        self.free.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for a place, or until the walk is halted or a stop is asked for (then `None`).
    fn take(&self, halt: &AtomicBool, stop: &crate::shell::signal::Stop) -> Option<PagePlace<'_>> {
        let mut free = self.free();
        loop {
            if halt.load(Ordering::SeqCst) || stop.requested() {
                return None;
            }
            if *free > 0 {
                *free -= 1;
                return Some(PagePlace(self));
            }
            // A halt or a stop sets no condition variable: look again now and then.
            free = self.freed.wait_timeout(free, HALT_POLL).map_or_else(|e| e.into_inner().0, |(g, _)| g);
        }
    }
}

impl Drop for PagePlace<'_> {
    fn drop(&mut self) {
        *self.0.free() += 1;
        self.0.freed.notify_one();
    }
}

/// What the threads of one walk share: whether to halt, and the page places.
struct Walking<'h> {
    halt: &'h AtomicBool,
    pages: Pages,
}

impl Walking<'_> {
    fn halted(&self) -> bool {
        self.halt.load(Ordering::SeqCst)
    }

    fn halt(&self) {
        self.halt.store(true, Ordering::SeqCst);
    }
}

/// How often a walk waiting for a page place looks whether it was halted.
const HALT_POLL: Duration = Duration::from_millis(50);

/// One character's complete walk, to be queued at once.
pub(super) struct CharacterWalk {
    pub character_id: i64,
    pub new: Vec<i64>,
    pub marker: Option<String>,
    /// Matches a plain sync would have missed (a rescan only).
    pub missed: usize,
}

/// What a walk found, in the order a walk one request at a time would have found it. When a
/// part failed, only what comes before it in that order is kept, as if the walk had stopped
/// there: the profile, the account stats, then the characters in turn.
pub(super) struct Walked {
    pub member: MemberRow,
    /// Whether this is a whole walk (a rescan).
    pub rescan: bool,
    pub classes: Vec<(i64, i64)>,
    /// Live characters first, then the deleted ones.
    pub characters: Vec<(i64, CharacterState)>,
    /// The deleted characters the account lists now, and when it was read (when it was due).
    pub account: Option<(Vec<i64>, i64)>,
    /// Status lines to show when the walk is recorded, in order.
    pub notes: Vec<String>,
    pub walks: Vec<CharacterWalk>,
    /// Why the walk stopped short, if it did.
    pub failure: Option<Error>,
}

/// How a part of a walk ended early.
enum Cut {
    Failed(Error),
    /// Halted because another part failed or the round ended: not a failure of its own.
    Halted,
}

impl From<ApiError> for Cut {
    fn from(e: ApiError) -> Cut {
        Cut::Failed(Error::Api(e))
    }
}

impl From<Error> for Cut {
    fn from(e: Error) -> Cut {
        Cut::Failed(e)
    }
}

type CharacterOutcome = Result<CharacterWalk, Cut>;

impl Syncer<'_> {
    /// Walks one player's histories. `halt` ends the walk early (nothing more is sent); a failed
    /// part sets it too, so the rest of the walk stops instead of sending requests that would
    /// be thrown away. An error means the profile could not be read and nothing is to be kept.
    pub(super) fn walk(&self, mut start: WalkStart, halt: &AtomicBool) -> Result<Walked, Error> {
        let member = start.member.clone();
        let (mtype, mid) = (member.platform_id, member.member_id);
        self.stop.check()?;
        if halt.load(Ordering::SeqCst) {
            return Err(Error::Api(ApiError::Stopped));
        }
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
        let now = unix_now();
        let account_due = plan::account_check_due(start.account_checked_at, now);
        let walking = Walking { halt, pages: Pages::new(HISTORY_PAGES_AT_ONCE) };
        let mut notes = Vec::new();
        let mut account = None;
        let mut failure = None;
        let mut walks = Vec::new();
        let mut complete = true;

        std::thread::scope(|scope| {
            let (current, walking) = (&current, &walking);
            let account_stats = account_due.then(|| {
                scope.spawn(move || {
                    if walking.halted() {
                        return Err(Cut::Halted);
                    }
                    let stats = self.call("account stats", || self.client.account_stats(mtype, mid));
                    if matches!(&stats, Err(e) if e.stops_round() || *e == ApiError::Privacy) {
                        walking.halt();
                    }
                    Ok(stats)
                })
            });
            let mut running: Vec<Option<ScopedJoinHandle<'_, CharacterOutcome>>> = Vec::new();
            for (character_id, state) in &characters {
                running.push(self.start_character(scope, &mut start, current, *character_id, state, walking));
            }
            // The deleted characters are known only once the account stats are read.
            let mut account_ok = true;
            let deleted = match account_stats.map(join) {
                None => start.stored_deleted.clone(),
                Some(Ok(Ok(stats))) => {
                    let listed: Vec<i64> = stats
                        .characters
                        .iter()
                        .filter(|c| c.deleted == Some(true))
                        .filter_map(|c| c.character_id)
                        .filter(|id| !characters.iter().any(|(l, _)| l == id))
                        .collect();
                    let mut all: Vec<i64> = start.stored_deleted.iter().chain(&listed).copied().collect();
                    all.sort_unstable();
                    all.dedup();
                    account = Some((listed, now));
                    all
                }
                Some(Ok(Err(e))) if e.stops_round() || e == ApiError::Privacy => {
                    failure = Some(Error::Api(e));
                    account_ok = false;
                    Vec::new()
                }
                Some(Ok(Err(e))) => {
                    notes.push(format!("{}: could not read deleted characters: {e}", display_name(current)));
                    start.stored_deleted.clone()
                }
                Some(Err(_halted)) => {
                    account_ok = false;
                    Vec::new()
                }
            };
            for id in deleted {
                let state = CharacterState::Deleted;
                running.push(self.start_character(scope, &mut start, current, id, &state, walking));
                characters.push((id, state));
            }
            // Keep the walks in order up to the first part that did not complete; join the rest
            // only to find the failure if none was found before.
            complete = account_ok;
            for handle in running.into_iter().flatten() {
                match join(handle) {
                    Ok(walk) if complete => walks.push(walk),
                    Ok(_) => {}
                    Err(Cut::Failed(e)) => {
                        complete = false;
                        failure.get_or_insert(e);
                    }
                    Err(Cut::Halted) => complete = false,
                }
            }
        });
        if !complete && failure.is_none() {
            // Halted from outside (the round ended) without a failure of its own.
            failure = Some(Error::Api(ApiError::Stopped));
        }
        Ok(Walked { member: current, rescan: start.rescan, classes, characters, account, notes, walks, failure })
    }

    /// Starts walking one character's history on its own thread, if it needs walking.
    fn start_character<'scope, 'env>(
        &'env self,
        scope: &'scope std::thread::Scope<'scope, 'env>,
        start: &mut WalkStart,
        member: &'env MemberRow,
        character_id: i64,
        state: &CharacterState,
        walking: &'env Walking<'env>,
    ) -> Option<ScopedJoinHandle<'scope, CharacterOutcome>> {
        let (marker, known) = start.take(character_id);
        // A rescan walks every character, idle or not.
        if !start.rescan && !plan::needs_history(state, marker.as_deref()) {
            return None;
        }
        let rescan = start.rescan;
        let state = state.clone();
        Some(scope.spawn(move || {
            let outcome = self.walk_character(member, character_id, &state, known, rescan, walking);
            if matches!(outcome, Err(Cut::Failed(_))) {
                walking.halt();
            }
            outcome
        }))
    }

    /// One character's history in every mode, one mode after the other: what a mode finds is
    /// known to the next.
    fn walk_character(
        &self,
        member: &MemberRow,
        character_id: i64,
        state: &CharacterState,
        mut known: HashSet<i64>,
        rescan: bool,
        walking: &Walking<'_>,
    ) -> CharacterOutcome {
        let mut walk = CharacterWalk { character_id, new: Vec::new(), marker: None, missed: 0 };
        for mode in HISTORY_MODES {
            let new = if rescan {
                let whole = self.scan_whole_history(member, character_id, mode, &known, walking)?;
                walk.missed += whole.missed;
                whole.new
            } else {
                self.scan_history(member, character_id, mode, &known, walking)?
            };
            known.extend(new.iter().copied());
            walk.new.extend(new);
        }
        walk.marker = plan::marker_after_walk(state, unix_now());
        Ok(walk)
    }

    /// One history page, unless the walk was halted or a stop was asked for.
    fn history_page(
        &self,
        member: &MemberRow,
        character_id: i64,
        mode: i64,
        page: usize,
        walking: &Walking<'_>,
    ) -> Result<crate::core::bungie::model::HistoryPage, Cut> {
        let Some(_place) = walking.pages.take(walking.halt, self.stop) else {
            self.stop.check()?;
            return Err(Cut::Halted);
        };
        Ok(self.call("activity history", || {
            self.client.history_page(member.platform_id, member.member_id, character_id, mode, HISTORY_PAGE_SIZE, page)
        })?)
    }

    /// Pages one character's history in one mode, newest first, handing each page to `read`
    /// until it says the walk is done.
    fn page_through(
        &self,
        member: &MemberRow,
        character_id: i64,
        mode: i64,
        walking: &Walking<'_>,
        mut read: impl FnMut(&crate::core::bungie::model::HistoryPage) -> bool,
    ) -> Result<(), Cut> {
        for page in 0..MAX_HISTORY_PAGES {
            if read(&self.history_page(member, character_id, mode, page, walking)?) {
                break;
            }
        }
        Ok(())
    }

    /// Pages one character's history in one mode until the core says stop, and returns the
    /// instance ids to queue.
    fn scan_history(
        &self,
        member: &MemberRow,
        character_id: i64,
        mode: i64,
        known: &HashSet<i64>,
        walking: &Walking<'_>,
    ) -> Result<Vec<i64>, Cut> {
        let mut new: Vec<i64> = Vec::new();
        self.page_through(member, character_id, mode, walking, |page| {
            let scan = plan::scan_history_page(page, known);
            for id in scan.new {
                if !new.contains(&id) {
                    new.push(id);
                }
            }
            scan.done
        })?;
        Ok(new)
    }

    /// Pages one character's history in one mode to its end (a rescan).
    fn scan_whole_history(
        &self,
        member: &MemberRow,
        character_id: i64,
        mode: i64,
        known: &HashSet<i64>,
        walking: &Walking<'_>,
    ) -> Result<WholeWalk, Cut> {
        let mut walk = WholeWalk::default();
        self.page_through(member, character_id, mode, walking, |page| walk.page(page, known))?;
        Ok(walk)
    }
}

/// Joins a walk thread; a panic there is carried on here, as if the walk had run in line.
fn join<T>(handle: ScopedJoinHandle<'_, T>) -> T {
    handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}
