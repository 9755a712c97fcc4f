//! A player's history walk, run off the writer thread: the profile, the account stats and every
//! character's history pages, the characters walked at the same time (by a small fixed pool of
//! threads, however many characters the profile lists), so that the walk costs about one chain
//! of requests instead of all of them end to end, and so that the next player's walk can run
//! while this player's reports download. A history that never ends is read to
//! [`MAX_HISTORY_PAGES`] and then said to be cut, naming the player.
//!
//! A walk only talks to Bungie.net. What it needs from the store is read before it starts
//! ([`WalkStart`]); what it found ([`Walked`]) is written afterwards by the thread that owns the
//! store, each character's walk queued all at once. What the answers mean is decided in
//! [`crate::core::walk`] and [`crate::core::plan`].
//!
//! A walk's [`Places`] bound the history pages it reads at once; closing them halts the walk:
//! a part that fails closes them so the rest sends nothing that would be thrown away, and so
//! does a round that ends while a walk runs ahead.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::thread::{Scope, ScopedJoinHandle};

use super::Syncer;
use crate::core::bungie::envelope::ApiError;
use crate::core::bungie::model::HistoryPage;
use crate::core::ids::{ActivityId, CharacterId};
use crate::core::pgcr::MemberRow;
use crate::core::plan::{self, CharacterState, HISTORY_MODES};
use crate::core::rescan::WholeWalk;
use crate::core::walk::{self, AccountRead, AccountView, Assembled, Part, ProfileView};
use crate::shell::clock::unix_now;
use crate::shell::error::Error;
use crate::shell::places::Places;
use crate::shell::store::{Store, StoreError};

/// History pages read per character and mode at the most: 250,000 matches, far beyond any
/// player, so a server that never ends its history cannot keep a sync paging forever.
const MAX_HISTORY_PAGES: usize = 1000;

/// History pages a walk reads at the same time at the most. Each page of 250 matches is parsed
/// whole (several MB while it is read), and a walk runs beside the downloads: more pages at once
/// would raise the peak memory of a sync by a page each.
pub(super) const HISTORY_PAGES_AT_ONCE: usize = 2;

/// Threads walking one player's characters at the most, each taking the next character when
/// done: a profile that lists a thousand characters costs a thousand walks, not a thousand
/// threads. (Pages are bounded by [`HISTORY_PAGES_AT_ONCE`] anyway; more threads would wait.)
const WALKER_THREADS: usize = 4;

/// What the store knows that a player's walk needs, read before the walk starts.
///
/// Only this player's own sync changes these (a walk queues activities for its own characters
/// only), so they can be read while another player's reports are still being stored.
pub(super) struct WalkStart {
    member: MemberRow,
    rescan: bool,
    account_checked_at: Option<i64>,
    stored_deleted: Vec<CharacterId>,
    /// Per character the store knows: the marker of its last complete walk and its queued ids.
    /// A character the store does not know has neither.
    known: HashMap<CharacterId, (Option<String>, HashSet<ActivityId>)>,
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
    fn take(&mut self, character_id: CharacterId) -> (Option<String>, HashSet<ActivityId>) {
        self.known.remove(&character_id).unwrap_or_default()
    }
}

/// One character's complete walk, to be queued at once.
pub(super) struct CharacterWalk {
    pub character_id: CharacterId,
    pub new: Vec<ActivityId>,
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
    pub classes: Vec<(CharacterId, i64)>,
    /// Live characters first, then the deleted ones.
    pub characters: Vec<(CharacterId, CharacterState)>,
    /// The deleted characters the account lists now, and when it was read (when it was due).
    pub account: Option<(Vec<CharacterId>, i64)>,
    /// Status lines to show when the walk is recorded, in order.
    pub notes: Vec<String>,
    pub walks: Vec<CharacterWalk>,
    /// Why the walk stopped short, if it did.
    pub failure: Option<Error>,
    /// When the walk started (Unix seconds), before its profile was read.
    pub started_at: i64,
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

type CharacterPart = Part<CharacterWalk, Error>;

/// What the parts of a walk came to.
struct Parts {
    account: AccountView,
    assembled: Assembled<CharacterWalk, Error>,
    /// Live characters first, then the deleted ones.
    characters: Vec<(CharacterId, CharacterState)>,
}

impl Syncer<'_> {
    /// Walks one player's histories. Closing `places` ends the walk early (nothing more is
    /// sent); a failed part closes them too. An error means the profile could not be read and
    /// nothing is to be kept.
    pub(super) fn walk(&self, mut start: WalkStart, places: &Places) -> Result<Walked, Error> {
        self.stop.check()?;
        self.stop.watch(places);
        if places.is_closed() {
            return Err(Error::Api(ApiError::Stopped));
        }
        let membership = start.member.membership();
        let started_at = unix_now();
        let profile = walk::read_profile(self.call("profile", || self.client.profile(membership))?, &start.member);
        let now = unix_now();
        let account_due = plan::account_check_due(start.account_checked_at, now);
        let parts = std::thread::scope(|scope| self.walk_parts(scope, &mut start, &profile, account_due, places, now));
        let Parts { account, assembled, characters } = parts;
        let failure = match (account.failure, assembled.failure) {
            (Some(e), _) => Some(Error::Api(e)),
            (None, Some(e)) => Some(e),
            // Halted from outside (the round ended) without a failure of its own.
            (None, None) if !assembled.complete => Some(Error::Api(ApiError::Stopped)),
            (None, None) => None,
        };
        Ok(Walked {
            member: profile.member,
            rescan: start.rescan,
            classes: profile.classes,
            characters,
            account: account.record,
            notes: account.note.into_iter().collect(),
            walks: assembled.walks,
            failure,
            started_at,
        })
    }

    /// Reads the account stats (when due) beside the live characters' histories, then walks the
    /// deleted characters the account names; returns the parts as the core assembles them.
    fn walk_parts<'scope, 'env>(
        &'env self,
        scope: &'scope Scope<'scope, 'env>,
        start: &mut WalkStart,
        profile: &'env ProfileView,
        account_due: bool,
        places: &'env Places,
        now: i64,
    ) -> Parts {
        let member = &profile.member;
        let account = account_due.then(|| scope.spawn(move || self.read_account(member, places)));
        let live: Vec<CharacterJob> =
            profile.characters.iter().filter_map(|(id, state)| character_job(start, *id, state)).collect();
        let live = scope.spawn(move || self.walk_characters(member, live, places));
        // The deleted characters are known only once the account stats are read.
        let read = account.map_or(AccountRead::NotDue, join);
        let account = walk::read_account(read, &start.stored_deleted, &profile.characters, now, &member.label());
        let mut characters = profile.characters.clone();
        let mut deleted = Vec::new();
        for &id in &account.deleted {
            deleted.extend(character_job(start, id, &CharacterState::Deleted));
            characters.push((id, CharacterState::Deleted));
        }
        let deleted = self.walk_characters(member, deleted, places);
        let assembled = walk::assemble(account.complete, join(live).into_iter().chain(deleted));
        Parts { account, assembled, characters }
    }

    /// Reads the account's character list; a failure that ends the walk halts its other parts.
    fn read_account(&self, member: &MemberRow, places: &Places) -> AccountRead {
        if places.is_closed() {
            return AccountRead::Halted;
        }
        let stats = self.call("account stats", || self.client.account_stats(member.membership()));
        if matches!(&stats, Err(e) if walk::ends_walk(e)) {
            places.close();
        }
        AccountRead::Read(stats)
    }

    /// Walks `jobs` on at most [`WALKER_THREADS`] threads; the parts come back in the jobs'
    /// order. A failed part closes `places`, halting the others.
    fn walk_characters(&self, member: &MemberRow, jobs: Vec<CharacterJob>, places: &Places) -> Vec<CharacterPart> {
        let total = jobs.len();
        let queue = Mutex::new(jobs.into_iter().enumerate());
        let done: Mutex<Vec<(usize, CharacterPart)>> = Mutex::new(Vec::with_capacity(total));
        std::thread::scope(|scope| {
            for _ in 0..WALKER_THREADS.min(total) {
                scope.spawn(|| loop {
                    let next = queue.lock().unwrap_or_else(|e| e.into_inner()).next();
                    let Some((index, job)) = next else { break };
                    let part = self.walk_job(member, job, places);
                    done.lock().unwrap_or_else(|e| e.into_inner()).push((index, part));
                });
            }
        });
        let mut done = done.into_inner().unwrap_or_else(|e| e.into_inner());
        done.sort_by_key(|(index, _)| *index);
        done.into_iter().map(|(_, part)| part).collect()
    }

    /// One character's walk as a part of the player's.
    fn walk_job(&self, member: &MemberRow, job: CharacterJob, places: &Places) -> CharacterPart {
        let CharacterJob { character_id, state, known, rescan } = job;
        match self.walk_character(member, character_id, &state, known, rescan, places) {
            Ok(walk) => Part::Done(walk),
            Err(Cut::Failed(e)) => {
                places.close();
                Part::Failed(e)
            }
            Err(Cut::Halted) => Part::Halted,
        }
    }

    /// One character's history in every mode, one mode after the other: what a mode finds is
    /// known to the next.
    fn walk_character(
        &self,
        member: &MemberRow,
        character_id: CharacterId,
        state: &CharacterState,
        mut known: HashSet<ActivityId>,
        rescan: bool,
        places: &Places,
    ) -> Result<CharacterWalk, Cut> {
        let mut walk = CharacterWalk { character_id, new: Vec::new(), marker: None, missed: 0 };
        for mode in HISTORY_MODES {
            let history = History { member, character_id, mode, places };
            let new = if rescan {
                let whole = self.scan_whole_history(&history, &known)?;
                walk.missed += whole.missed;
                whole.new
            } else {
                self.scan_history(&history, &known)?
            };
            known.extend(new.iter().copied());
            walk.new.extend(new);
        }
        walk.marker = plan::marker_after_walk(state, unix_now());
        Ok(walk)
    }

    /// One history page, unless the walk was halted or a stop was asked for.
    fn history_page(&self, history: &History<'_>, page: usize) -> Result<HistoryPage, Cut> {
        let Some(_place) = history.places.take() else {
            self.stop.check()?;
            return Err(Cut::Halted);
        };
        let (membership, character) = (history.member.membership(), history.character_id);
        Ok(self.call("activity history", || self.client.history_page(membership, character, history.mode, page))?)
    }

    /// Pages one history newest first, handing each page to `read` until it says the walk is
    /// done; at [`MAX_HISTORY_PAGES`] it stops and says so once, naming the player.
    fn page_through(&self, history: &History<'_>, mut read: impl FnMut(&HistoryPage) -> bool) -> Result<(), Cut> {
        for page in 0..MAX_HISTORY_PAGES {
            if read(&self.history_page(history, page)?) {
                return Ok(());
            }
        }
        log::warn!(
            "{}: stopped reading the history of character {} (mode {}) after {MAX_HISTORY_PAGES} pages; \
             Bungie.net kept listing more, which no real history has",
            history.member.label(),
            history.character_id,
            history.mode
        );
        Ok(())
    }

    /// Pages one history until the core says stop, and returns the instance ids to queue.
    fn scan_history(&self, history: &History<'_>, known: &HashSet<ActivityId>) -> Result<Vec<ActivityId>, Cut> {
        let mut new: Vec<ActivityId> = Vec::new();
        // Listed order kept; the set makes each check constant-time whatever the pages hold.
        let mut seen: HashSet<ActivityId> = HashSet::new();
        self.page_through(history, |page| {
            let scan = plan::scan_history_page(page, known);
            for id in scan.new {
                if seen.insert(id) {
                    new.push(id);
                }
            }
            scan.done
        })?;
        Ok(new)
    }

    /// Pages one history to its end (a rescan).
    fn scan_whole_history(&self, history: &History<'_>, known: &HashSet<ActivityId>) -> Result<WholeWalk, Cut> {
        let mut walk = WholeWalk::default();
        self.page_through(history, |page| walk.page(page, known))?;
        Ok(walk)
    }
}

/// A character to walk, with what the store knows of it.
struct CharacterJob {
    character_id: CharacterId,
    state: CharacterState,
    known: HashSet<ActivityId>,
    rescan: bool,
}

/// The job of walking one character, if it needs walking; takes what the store knows of it.
fn character_job(start: &mut WalkStart, character_id: CharacterId, state: &CharacterState) -> Option<CharacterJob> {
    let (marker, known) = start.take(character_id);
    walk::walks_character(start.rescan, state, marker.as_deref()).then(|| CharacterJob {
        character_id,
        state: state.clone(),
        known,
        rescan: start.rescan,
    })
}

/// One character's history in one mode, and the walk's places.
struct History<'h> {
    member: &'h MemberRow,
    character_id: CharacterId,
    mode: i64,
    places: &'h Places,
}

/// Joins a walk thread; a panic there is carried on here, as if the walk had run in line.
fn join<T>(handle: ScopedJoinHandle<'_, T>) -> T {
    handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}
