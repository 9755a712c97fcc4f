//! The user's actions, run in the order import, add, remove, sync, list.
//!
//! A player is given by Bungie name or by membership id ([`PlayerRef`]); either way one on the
//! sync list is found in the store (by name, or by id), and one who is not is looked up on
//! Bungie.net: a name through the name search, an id through LinkedProfiles
//! ([`crate::core::player`]). A name the search does not find gets a message that also offers
//! the id form, and where to read an id, since the search misses some real accounts.
//!
//! A clan imported to its last page is remembered with every member it lists, and
//! `--remove-group` (after `--remove`) forgets one, its players staying on the list. A sync of
//! the whole list goes through the roster gate ([`crate::core::roster`]); the players named on
//! the line are always read.

use std::sync::Arc;

use crate::core::bungie::envelope::ApiError;
use crate::core::cli::Config;
use crate::core::ids::{MemberId, Membership};
use crate::core::listing;
use crate::core::name::{BungieName, PlayerRef};
use crate::core::pgcr::MemberRow;
use crate::core::plan::STUCK_AFTER_ATTEMPTS;
use crate::core::player::{choose_card, choose_for_id, choose_linked, Choice};
use crate::core::rescan::RescanMode;
use crate::core::roster::GateCounts;
use crate::core::summary::{self, RoundSummary};
use crate::shell::bungie::client::Client;
use crate::shell::bungie::gate::Gate;
use crate::shell::clock::now_text;
use crate::shell::error::Error;
use crate::shell::lock::SyncLock;
use crate::shell::metrics::Tally;
use crate::shell::output::Output;
use crate::shell::signal::Stop;
use crate::shell::store::Store;
use crate::shell::sync::{Gated, Paged, Syncer, MAX_ROSTER_PAGES};

/// Runs every action the configuration asks for, in the order import, add, remove, sync, list,
/// and returns the round's figures. Failures of single players are reported as they happen and
/// counted in [`RoundSummary::problems`] (a one-off run then ends with exit code 1, after the
/// other actions ran). Every request is counted in `tally`.
pub fn run(
    config: &Config,
    store: &mut Store,
    out: &Output,
    stop: &Stop,
    tally: &Arc<Tally>,
) -> Result<RoundSummary, Error> {
    // With --json, stdout carries the list alone; the other actions report on stderr.
    let quiet;
    let out = if config.json {
        quiet = out.with_results_on_stderr();
        &quiet
    } else {
        out
    };
    let gate = Arc::new(Gate::new(config.max_rps, config.concurrency, stop.clone()).with_tally(Arc::clone(tally)));
    let client = config
        .api_key
        .as_ref()
        .map(|key| Client::new(key.clone(), config.api_root.as_deref(), config.timeout, Arc::clone(&gate)));
    let syncer = client.as_ref().map(|c| {
        Syncer::new(c, out, stop, config.concurrency, config.fix_data)
            .with_rescan(rescan_mode(config))
            .with_rules(&config.rules)
            .with_archive(config.archive)
    });
    // Failures already reported to the user; any makes the run end with exit code 1.
    let mut problems = 0;
    if let Some(syncer) = &syncer {
        if let Some(group) = config.import_group {
            import_group(syncer, store, group)?;
        }
        problems += add_players(syncer, store, &config.add)?;
    }
    remove_players(store, out, &config.remove)?;
    remove_groups(store, out, &config.remove_group)?;
    let mut round = match (&config.sync, &syncer) {
        (Some(names), Some(syncer)) => sync(syncer, store, names, config)?,
        _ => RoundSummary::default(),
    };
    round.problems += problems;
    if let (true, Some(syncer)) = (config.archive_missing, &syncer) {
        round.problems += archive_missing(syncer, store, config)?;
    }
    if let Some(names) = &config.reparse {
        crate::shell::reparse::run(config, names, store, out, stop)?;
    }
    tally.set_pace(gate.pace_per_second());
    if config.list {
        list(store, out, config.json)?;
    }
    Ok(round)
}

/// Fetches the archive copies stored reports lack, saying first how many and how long it takes.
/// Returns how many are still missing.
fn archive_missing(syncer: &Syncer<'_>, store: &mut Store, config: &Config) -> Result<usize, Error> {
    let _lock = SyncLock::acquire(store.path())?;
    let missing = store.unarchived(&[])?;
    syncer.out.result(&crate::core::archive::missing_line(missing.len(), config.max_rps));
    if missing.is_empty() {
        return Ok(0);
    }
    let (kept, failed) = syncer.archive_missing(store, &missing)?;
    let mut line = format!("archived {kept} report(s)");
    if failed > 0 {
        line.push_str(&format!("; {failed} still missing: run --archive-missing again later"));
    }
    syncer.out.result(&line);
    Ok(failed)
}

/// The daemon rescans each player once a day by itself; `--rescan` (one-off runs only) now.
fn rescan_mode(config: &Config) -> RescanMode {
    match (config.daemon, config.rescan) {
        (true, _) => RescanMode::Daily,
        (false, true) => RescanMode::All,
        (false, false) => RescanMode::Off,
    }
}

/// Looks each player up and puts them on the sync list; returns how many failed (each
/// reported).
fn add_players(syncer: &Syncer<'_>, store: &mut Store, players: &[PlayerRef]) -> Result<usize, Error> {
    let mut problems = 0;
    for player in players {
        match resolve(syncer, player) {
            Ok(member) => {
                store.add_player(&member, &now_text())?;
                syncer.out.result(&format!("added {} to the sync list", member.label()));
            }
            Err(Error::Player(message)) => {
                syncer.out.status(&format!("error: {message}"));
                problems += 1;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(problems)
}

/// The stored member a player names: by Bungie name, or by membership id.
fn stored_member(store: &Store, player: &PlayerRef) -> Result<Option<MemberRow>, Error> {
    Ok(match player {
        PlayerRef::Name(name) => store.member_by_name(&name.name, &name.code_text())?,
        PlayerRef::Id { id, .. } => store.member_by_id(*id)?,
    })
}

/// Takes players off the sync list; their stored data stays.
fn remove_players(store: &mut Store, out: &Output, players: &[PlayerRef]) -> Result<(), Error> {
    for name in players {
        let removed = match stored_member(store, name)? {
            Some(member) if store.remove_player(member.member_id)? => Some(member),
            _ => None,
        };
        if let Some(member) = removed {
            out.result(&format!("removed {} from the sync list (their stored data stays)", member.label()));
        } else {
            out.status(&format!("{name} is not on the sync list; nothing to remove"));
        }
    }
    Ok(())
}

/// Forgets remembered clans; their players stay on the sync list.
fn remove_groups(store: &mut Store, out: &Output, groups: &[u64]) -> Result<(), Error> {
    for &group in groups {
        let forgotten = i64::try_from(group).map_or(Ok(false), |id| store.forget_group(id))?;
        if forgotten {
            out.result(&format!("forgot clan {group}; its players stay on the sync list"));
        } else {
            out.status(&format!("clan {group} is not remembered; nothing to forget (see --list)"));
        }
    }
    Ok(())
}

/// Syncs the players `names` covers, under the sync lock, and says what the round did. A sync
/// of the whole list goes through the roster gate; players named on the line are always read.
fn sync(syncer: &Syncer<'_>, store: &mut Store, names: &[PlayerRef], config: &Config) -> Result<RoundSummary, Error> {
    // Two syncs of one database would fetch everything twice; the second one stops here.
    let _lock = SyncLock::acquire(store.path())?;
    let mut problems = 0;
    let players = players_to_sync(syncer, store, names, &mut problems)?;
    let listed = players.len();
    if players.is_empty() {
        syncer.out.status("nobody to sync: add players with --add NAME#CODE or --import-group GROUP");
    }
    let started = std::time::Instant::now();
    let gated = match names.is_empty() {
        true => syncer.gate(store, players, config.gate, config.follow_groups && config.daemon)?,
        false => {
            Gated { counts: GateCounts { read: players.len(), ..GateCounts::default() }, players, rosters_failed: 0 }
        }
    };
    let mut round = syncer.sync_round(store, &gated.players)?;
    round.problems += problems;
    round.gate = gated.counts;
    round.rosters_failed = gated.rosters_failed;
    if names.is_empty() && config.gate.is_on() {
        store.record_gate_round(crate::shell::clock::unix_now(), gated.counts, gated.rosters_failed)?;
    }
    // A daemon says the same in its round's end line.
    if listed > 1 && !syncer.out.is_daemon() {
        syncer.out.result(&summary::round_line(&round, started.elapsed().as_secs_f64()));
    }
    Ok(round)
}

/// Finds the Bungie account a player names, by name or by id.
fn resolve(syncer: &Syncer<'_>, player: &PlayerRef) -> Result<MemberRow, Error> {
    match player {
        PlayerRef::Name(name) => resolve_name(syncer, name),
        PlayerRef::Id { platform, id } => {
            resolve_id(syncer, player, Membership { platform: platform.unwrap_or(-1), id: *id })
        }
    }
}

/// Finds the account of a membership id through its linked profiles: the cross-save primary,
/// else the account asked for, else the one played last.
fn resolve_id(syncer: &Syncer<'_>, player: &PlayerRef, membership: Membership) -> Result<MemberRow, Error> {
    let not_found = |why: String| {
        Error::Player(format!(
            "no Destiny account has membership id {player}{why}: check the id (the number at the end of the \
             player's profile address on bungie.net or a tracker site), and its platform when given as TYPE:ID"
        ))
    };
    let linked = match syncer.call("linked profiles", || syncer.client.linked_profiles(membership)) {
        Ok(linked) => linked,
        Err(ApiError::Bungie { code, message, .. }) => {
            return Err(not_found(format!(" (Bungie.net error {code}: {message})")))
        }
        Err(e) => return Err(Error::Api(e)),
    };
    let card = choose_for_id(&linked.profiles, membership.id).ok_or_else(|| not_found(String::new()))?;
    MemberRow::from_card(&card).ok_or_else(|| not_found(String::new()))
}

/// Finds the Bungie account of a name: one card is used as it is; several cards linked by
/// cross-save, the one their override names; otherwise the linked profile played last.
fn resolve_name(syncer: &Syncer<'_>, name: &BungieName) -> Result<MemberRow, Error> {
    let client = syncer.client;
    let cards = syncer.call("player search", || client.search_player(&name.name, name.code))?;
    let card = match choose_card(&cards) {
        Choice::Use(card) => card,
        Choice::AskLinked(first) => {
            let membership = Membership {
                platform: first.membership_type.unwrap_or(-1),
                id: MemberId(first.membership_id.unwrap_or_default()),
            };
            let linked = syncer.call("linked profiles", || client.linked_profiles(membership))?;
            choose_linked(&linked.profiles).unwrap_or(first)
        }
        Choice::NotFound => {
            return Err(Error::Player(format!(
                "player {name} not found on Bungie.net: check the name and code (shown in game and at \
                 https://www.bungie.net/7/en/User/Account/IdentitySettings); if they are right, Bungie's \
                 name search misses this account (it does for some names): give the membership id instead, \
                 as ID or TYPE:ID (e.g. 3:4611686018467284386), the numbers at the end of the player's \
                 profile address on bungie.net or on a tracker site such as destinytracker.com"
            )))
        }
    };
    let mut member = MemberRow::from_card(&card)
        .ok_or_else(|| Error::Player(format!("player {name}: Bungie.net sent no membership id")))?;
    if member.bungie_display_name.is_none() || member.bungie_display_name_code.is_none() {
        member.bungie_display_name = Some(name.name.clone());
        member.bungie_display_name_code = Some(name.code_text());
    }
    Ok(member)
}

/// The players a `--sync` covers: everyone on the list, or the named ones (a named player who
/// is not on the list is looked up and synced once, without being added).
fn players_to_sync(
    syncer: &Syncer<'_>,
    store: &Store,
    names: &[PlayerRef],
    problems: &mut usize,
) -> Result<Vec<MemberRow>, Error> {
    if names.is_empty() {
        return Ok(store.tracked_players()?.into_iter().map(|p| p.member).collect());
    }
    let mut players = Vec::new();
    for name in names {
        let found = match stored_member(store, name)? {
            Some(member) => Ok(member),
            None => resolve(syncer, name),
        };
        match found {
            Ok(member) => players.push(member),
            Err(Error::Player(message)) => {
                syncer.out.status(&format!("error: {message}"));
                *problems += 1;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(players)
}

/// Adds every clan member with a Bungie name; reports the others as skipped. A clan read to its
/// last page is remembered with every member it lists, for the roster gate.
fn import_group(syncer: &Syncer<'_>, store: &mut Store, group: u64) -> Result<(), Error> {
    let group_id = i64::try_from(group).map_err(|_| Error::Usage(format!("clan id {group} is too large")))?;
    let mut added = 0;
    let mut skipped: Vec<String> = Vec::new();
    let mut listed: Vec<MemberId> = Vec::new();
    let paged = syncer.clan_pages(group_id, "clan members", |members| {
        for card in members.results.iter().filter_map(|m| m.destiny_user_info.as_ref()) {
            listed.extend(card.membership_id.map(MemberId));
            match MemberRow::from_card(card).filter(|_| card.bungie_name().is_some()) {
                Some(member) => {
                    store.add_player(&member, &now_text())?;
                    syncer.out.result(&format!("added {} to the sync list", member.label()));
                    added += 1;
                }
                None => skipped.push(format!(
                    "{} ({})",
                    card.display_name.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| "no name".to_string()),
                    card.membership_id.map_or_else(|| "no id".to_string(), |id| id.to_string())
                )),
            }
        }
        Ok(())
    })?;
    match paged {
        Paged::All => {}
        Paged::Failed { error: ApiError::Bungie { code, message, .. }, .. } => {
            return Err(Error::Player(format!("cannot read clan {group}: Bungie.net error {code}: {message}")))
        }
        Paged::Failed { error, .. } => return Err(Error::Api(error)),
        Paged::Capped => syncer.out.status(&format!(
            "clan {group}: stopped after {MAX_ROSTER_PAGES} pages of members; Bungie.net kept listing more, which \
             no real clan has"
        )),
    }
    syncer.out.result(&format!("imported {added} member(s) of clan {group}"));
    if matches!(paged, Paged::All) {
        // Remembered: each sync of the whole list reads its roster first (the roster gate).
        store.remember_group(group_id, &listed, crate::shell::clock::unix_now())?;
    }
    if !skipped.is_empty() {
        syncer.out.status(&format!(
            "skipped {} member(s) without a valid Bungie name: {}",
            skipped.len(),
            skipped.join(", ")
        ));
    }
    Ok(())
}

/// Prints the sync list: name, platform, last sync (local time), activities stored, queued and
/// stuck, characters; as columns or as JSON.
fn list(store: &Store, out: &Output, json: bool) -> Result<(), Error> {
    let players = store.player_listing(STUCK_AFTER_ATTEMPTS)?;
    let rows = listing::rows(&players, &jiff::tz::TimeZone::system());
    if json {
        out.data(&listing::json(&rows));
    } else if rows.is_empty() {
        out.status("the sync list is empty: add players with --add NAME#CODE or --import-group GROUP");
    } else {
        out.results(&listing::table_lines(&rows));
    }
    if !json {
        let groups = store.remembered_groups()?;
        out.results(&listing::clan_lines(&groups, store.last_gate_round()?.as_ref(), &jiff::tz::TimeZone::system()));
    }
    Ok(())
}
