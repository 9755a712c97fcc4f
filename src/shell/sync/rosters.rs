//! The roster gate in a round: read every remembered clan's roster (observe), let
//! [`crate::core::roster::plan`] say whose profile to read (decide), and keep the clans'
//! member lists, with `--follow-groups` adding the members who joined and reporting those who
//! left (act). A roster page that fails after its retries leaves that clan unknown for the round
//! and is said once; maintenance, a bad key or a stop end the round as for any request.

use std::collections::HashSet;

use super::Syncer;
use crate::core::bungie::envelope::ApiError;
use crate::core::bungie::model::{ClanMembersPage, UserCard};
use crate::core::ids::MemberId;
use crate::core::pgcr::MemberRow;
use crate::core::roster::{self, ClanRoster, GateConfig, GateCounts, RosterEntry, RosterRead};
use crate::shell::clock::{now_text, unix_now};
use crate::shell::error::Error;
use crate::shell::store::Store;

/// Roster pages read per clan at the most, 100 members a page: a clan holds 100 members, but a
/// Bungie group may hold far more, and a list of 100,000 is far beyond any; the bound only keeps
/// a server that never ends its list from paging forever.
pub const MAX_ROSTER_PAGES: usize = 1000;

/// How reading a clan's member pages ended.
pub(crate) enum Paged {
    /// Every page was read.
    All,
    /// [`MAX_ROSTER_PAGES`] were read and Bungie.net still listed more.
    Capped,
    /// This page could not be read.
    Failed { page: usize, error: ApiError },
}

/// The players a round reads, and the gate's figures.
#[derive(Debug, Default)]
pub struct Gated {
    pub players: Vec<MemberRow>,
    pub counts: GateCounts,
    pub rosters_failed: usize,
}

/// One clan's roster: its entries and the cards of its members (for `--follow-groups`).
struct Roster {
    entries: Vec<RosterEntry>,
    cards: Vec<UserCard>,
}

impl Syncer<'_> {
    /// Reads the remembered clans' rosters and keeps the players of `players` the gate lets
    /// through (and, with `follow`, the members who joined, added to the list).
    pub fn gate(
        &self,
        store: &mut Store,
        mut players: Vec<MemberRow>,
        gate: GateConfig,
        follow: bool,
    ) -> Result<Gated, Error> {
        let groups = if gate.is_on() || follow { store.remembered_groups()? } else { Vec::new() };
        let mut rosters = Vec::with_capacity(groups.len());
        let tracked: HashSet<MemberId> = players.iter().map(|p| p.member_id).collect();
        for group in &groups {
            let read = match self.read_roster(group.group_id)? {
                Some(roster) => {
                    players.extend(self.keep_members(store, group.group_id, &roster, follow, &tracked)?);
                    RosterRead::Complete(roster.entries)
                }
                None => RosterRead::Failed,
            };
            rosters.push(ClanRoster { group_id: group.group_id, read });
        }
        let rosters_failed = rosters.iter().filter(|r| r.read == RosterRead::Failed).count();
        let mut seen = HashSet::new();
        players.retain(|p| seen.insert(p.member_id));
        let mut states = store.gate_states(&players.iter().map(|p| p.member_id).collect::<Vec<_>>())?;
        let rescans = self.rescans_due(store, &players)?;
        for state in &mut states {
            state.work_left |= rescans.contains(&state.member_id);
        }
        let plan = roster::plan(&states, &rosters, gate, unix_now());
        let counts = plan.counts();
        let reads: HashSet<MemberId> = plan.to_read().collect();
        players.retain(|p| reads.contains(&p.member_id));
        Ok(Gated { players, counts, rosters_failed })
    }

    /// Reads clan `group_id`'s member pages in order, 100 members a page, handing each to
    /// `each`, until Bungie.net says there are no more or [`MAX_ROSTER_PAGES`] were read. The
    /// first page that fails after its retries ends the reading; what that means is the caller's
    /// to say (an import fails, a roster is unknown this round).
    pub(crate) fn clan_pages(
        &self,
        group_id: i64,
        what: &str,
        mut each: impl FnMut(ClanMembersPage) -> Result<(), Error>,
    ) -> Result<Paged, Error> {
        for page in 1..=MAX_ROSTER_PAGES {
            let members = match self.call(what, || self.client.clan_members(group_id, page)) {
                Ok(members) => members,
                Err(error) => return Ok(Paged::Failed { page, error }),
            };
            let more = members.has_more == Some(true);
            each(members)?;
            if !more {
                return Ok(Paged::All);
            }
        }
        Ok(Paged::Capped)
    }

    /// Every page of a clan's roster; none when a page fails (said once). Maintenance, a bad
    /// key or a stop end the round.
    fn read_roster(&self, group_id: i64) -> Result<Option<Roster>, Error> {
        let mut roster = Roster { entries: Vec::new(), cards: Vec::new() };
        let paged = self.clan_pages(group_id, "clan roster", |members| {
            roster.entries.extend(roster::page_entries(&members));
            roster.cards.extend(members.results.into_iter().filter_map(|m| m.destiny_user_info));
            Ok(())
        })?;
        match paged {
            Paged::All => return Ok(Some(roster)),
            Paged::Failed { error: ApiError::Stopped, .. } => {
                // A stop signal ends the round with its own exit code.
                self.stop.check()?;
                return Err(Error::Api(ApiError::Stopped));
            }
            Paged::Failed { error, .. } if error.stops_round() => return Err(Error::Api(error)),
            Paged::Failed { page, error } => self.out.status(&format!(
                "clan {group_id}: could not read page {page} of its roster ({error}); its members' profiles are \
                 all read this round"
            )),
            Paged::Capped => self.out.status(&format!(
                "clan {group_id}: stopped after {MAX_ROSTER_PAGES} roster pages (Bungie.net kept listing more); its \
                 members' profiles are all read this round"
            )),
        }
        Ok(None)
    }

    /// Keeps a clan's member list after a complete roster. With `follow`: records who joined and
    /// who left, puts the joined members with a Bungie name on the sync list and returns them
    /// (the others are named as not added), and says which players on the list (`tracked`) left
    /// (they stay on the list).
    fn keep_members(
        &self,
        store: &mut Store,
        group_id: i64,
        roster: &Roster,
        follow: bool,
        tracked: &HashSet<MemberId>,
    ) -> Result<Vec<MemberRow>, Error> {
        let listed: Vec<MemberId> = roster.entries.iter().map(|e| e.member_id).collect();
        if !follow {
            store.record_roster(group_id, &[], &[], listed.len(), unix_now())?;
            return Ok(Vec::new());
        }
        let change = roster::roster_change(&store.group_members(group_id)?, &listed);
        store.record_roster(group_id, &change.joined, &change.left, listed.len(), unix_now())?;
        let joined: HashSet<MemberId> = change.joined.iter().copied().collect();
        let mut added = Vec::new();
        for card in roster.cards.iter().filter(|c| c.membership_id.is_some_and(|id| joined.contains(&MemberId(id)))) {
            match MemberRow::from_card(card).filter(|_| card.bungie_name().is_some()) {
                Some(member) => {
                    store.add_player(&member, &now_text())?;
                    self.out.result(&format!("{} joined clan {group_id}: added to the sync list", member.label()));
                    added.push(member);
                }
                None => self.out.status(&format!(
                    "member {} joined clan {group_id} without a valid Bungie name: not added",
                    card.membership_id.unwrap_or_default()
                )),
            }
        }
        for id in change.left.iter().filter(|id| tracked.contains(id)) {
            let name = store.member_by_id(*id)?.map_or_else(|| id.to_string(), |m| m.label());
            self.out.status(&format!(
                "{name} left clan {group_id}; still on the sync list (take them off with --remove {id})"
            ));
        }
        Ok(added)
    }
}
