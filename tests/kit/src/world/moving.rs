//! A world that moves on between syncs, as the real one does while a user is away: players play
//! new matches, Bungie lists a match late, somebody makes a new character.
//!
//! [`World::move_on`] adds, deterministically from the seed and the world so far:
//! - new matches newer than every match so far, on the first live character of every player:
//!   two public matches each, the first player's first one shared with the second player, one
//!   private match and one Gambit private match (which no sync may store);
//! - a late match: a new instance id whose period lies between two public matches the first
//!   player's first character had already played, so Bungie lists it below matches a first sync
//!   stored, while newer matches of the same character sit on top of that history;
//! - a new character for the first player, listed by the profile and with two public matches of
//!   its own.
//!
//! The characters that played get a later `dateLastPlayed`, and so do their players; every other
//! character keeps its own, as an idle one does.

use std::collections::HashSet;

use super::{Character, Draft, Generator, Match, MatchKind, SplitMix64, World, CLASSES, EMBLEMS, MODE_ALL_PVP};

/// New public matches each player's first character plays in a move.
const NEW_PUBLIC_PER_PLAYER: usize = 2;
/// Public matches of the new character.
const NEW_CHARACTER_MATCHES: usize = 2;
/// Time between two new matches.
const NEW_MATCH_SPACING_SECS: i64 = 40 * 60;
/// Mixed into the seed so that a move draws other numbers than the world's generation.
const MOVE_SALT: u64 = 0x4D0F_E5A1_7E00_0001;
/// The same for [`World::play`].
const PLAY_SALT: u64 = 0x9A7E_0C1A_5EED_0002;

/// What one [`World::move_on`] added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    /// Instance ids of the matches newer than everything before the move, oldest first; the
    /// Gambit private one among them.
    pub on_top: Vec<String>,
    /// The Gambit private match among `on_top`.
    pub gambit_private: String,
    /// The late match: new, listed below matches that were there before the move.
    pub late: String,
    /// The character the late match is listed for, as (player, character).
    pub late_character: (usize, usize),
    /// The new character, as (player, character).
    pub new_character: (usize, usize),
}

impl Moved {
    /// The new matches a sync must store: all but the Gambit private one, late match included.
    pub fn to_store(&self) -> HashSet<i64> {
        self.on_top
            .iter()
            .chain(std::iter::once(&self.late))
            .filter(|id| **id != self.gambit_private)
            .map(|id| id.parse().expect("instance ids are numbers"))
            .collect()
    }

    /// The new matches listed on top of their histories that a sync must store.
    pub fn on_top_to_store(&self) -> HashSet<i64> {
        let late: i64 = self.late.parse().expect("instance ids are numbers");
        self.to_store().into_iter().filter(|id| *id != late).collect()
    }
}

impl World {
    /// Moves the world on (see the module documentation) and says what it added.
    pub fn move_on(&mut self) -> Moved {
        let config = self.config.clone();
        let mut generator = Generator::new(&config);
        generator.rng = SplitMix64::new(config.seed ^ MOVE_SALT.wrapping_mul(self.matches.len() as u64 + 1));
        generator.used_ids = self.ids_in_use();

        let new_character = self.add_character(&mut generator, 0);
        let start = self.matches.iter().map(|m| m.period_unix).max().unwrap_or(0) + 2 * 3600;
        let drafts = self.new_drafts(new_character, start);

        let mut next_instance = self.matches.iter().map(|m| m.id()).max().unwrap_or(11_000_000_000) as u64;
        let mut on_top = Vec::new();
        let mut gambit_private = String::new();
        for draft in drafts {
            next_instance += 1 + generator.rng.below(5_000);
            let instance_id = next_instance.to_string();
            if draft.kind == MatchKind::GambitPrivate {
                gambit_private = instance_id.clone();
            }
            on_top.push(instance_id.clone());
            self.add_match(&mut generator, instance_id, draft);
        }

        let late_character = (0, 0);
        let (late_id, late_draft) = self.late_draft(&generator.used_ids, late_character);
        generator.used_ids.insert(late_id.clone());
        self.add_match(&mut generator, late_id.clone(), late_draft);

        // Oldest first, as a history is built from; the late match falls in among older ones.
        self.matches.sort_by_key(|m| m.period_unix);
        self.reindex();
        Moved { on_top, gambit_private, late: late_id, late_character, new_character }
    }

    /// Player `p` plays one public match on their first character, newer than every match so
    /// far (alone among the tracked players); returns its instance id. Only that character's
    /// and that player's `dateLastPlayed` move.
    pub fn play(&mut self, p: usize) -> String {
        let config = self.config.clone();
        let mut generator = Generator::new(&config);
        generator.rng = SplitMix64::new(config.seed ^ PLAY_SALT.wrapping_mul(self.matches.len() as u64 + 1));
        generator.used_ids = self.ids_in_use();
        let start = self.matches.iter().map(|m| m.period_unix).max().unwrap_or(0) + 2 * 3600;
        let next = self.matches.iter().map(|m| m.id()).max().unwrap_or(11_000_000_000) as u64;
        let instance_id = (next + 1 + generator.rng.below(5_000)).to_string();
        let draft = Draft { period_unix: start, kind: MatchKind::Public, tracked: vec![(p, 0)] };
        self.add_match(&mut generator, instance_id.clone(), draft);
        self.reindex();
        instance_id
    }

    /// Every id the world uses, so that a move draws none of them again.
    fn ids_in_use(&self) -> HashSet<String> {
        let mut ids: HashSet<String> = self.matches.iter().map(|m| m.instance_id.clone()).collect();
        for p in &self.players {
            ids.extend(p.accounts().map(|a| a.membership_id.clone()));
            ids.extend(p.characters.iter().map(|c| c.character_id.clone()));
        }
        for o in &self.opponents {
            ids.insert(o.membership_id.clone());
            ids.insert(o.character_id.clone());
        }
        ids.extend(self.clan.members().map(|m| m.membership_id.clone()));
        ids
    }

    /// A new live character for player `p`, after its live ones (the matches' seats follow).
    fn add_character(&mut self, generator: &mut Generator<'_>, p: usize) -> (usize, usize) {
        let live = self.players[p].live_characters().count();
        let (class_type, class_hash, _) = CLASSES[live % CLASSES.len()];
        let character = Character {
            character_id: generator.unique_id("23058430093"),
            class_type,
            class_hash,
            date_last_played: String::new(),
            deleted: false,
            light: generator.rng.range(1950, 2010),
            emblem_hash: *generator.rng.pick(&EMBLEMS),
        };
        self.players[p].characters.insert(live, character);
        for m in &mut self.matches {
            for seat in m.tracked.iter_mut().filter(|(q, c)| *q == p && *c >= live) {
                seat.1 += 1;
            }
        }
        (p, live)
    }

    /// Who plays the new matches on top, and when, oldest first from `start`.
    fn new_drafts(&self, new_character: (usize, usize), start: i64) -> Vec<Draft> {
        let players = self.players.len();
        let mut seats: Vec<(MatchKind, Vec<(usize, usize)>)> = Vec::new();
        for p in 0..players {
            for n in 0..NEW_PUBLIC_PER_PLAYER {
                let mut tracked = vec![(p, 0)];
                if p == 0 && n == 0 && players > 1 {
                    tracked.push((1, 0));
                }
                seats.push((MatchKind::Public, tracked));
            }
        }
        seats.push((MatchKind::Private, vec![(players.min(2) - 1, 0)]));
        seats.push((MatchKind::GambitPrivate, vec![(0, 0)]));
        seats.extend((0..NEW_CHARACTER_MATCHES).map(|_| (MatchKind::Public, vec![new_character])));
        seats
            .into_iter()
            .enumerate()
            .map(|(i, (kind, tracked))| Draft { period_unix: start + i as i64 * NEW_MATCH_SPACING_SECS, kind, tracked })
            .collect()
    }

    /// The late match of `character`: its period halfway between two public matches next to
    /// each other in the character's history, with time between them; its instance id between theirs when one is
    /// free there (ids grow with time), else the first free one above.
    fn late_draft(&self, used: &HashSet<String>, (p, c): (usize, usize)) -> (String, Draft) {
        let character_id = &self.players[p].characters[c].character_id;
        let history = self.history(character_id, MODE_ALL_PVP);
        let period_and_id = |item: &serde_json::Value| {
            let id: i64 = item["activityDetails"]["instanceId"].as_str()?.parse().ok()?;
            Some((self.pgcr(&id.to_string())?.period_unix, id))
        };
        let listed: Vec<(i64, i64)> = history.iter().filter_map(period_and_id).collect();
        // Newest first: pairs (newer, older), from the middle of the history down, then from
        // its top (a short history has no middle).
        let middle = listed.len() / 2;
        let (newer, older) = listed[middle..]
            .windows(2)
            .chain(listed[..(middle + 1).min(listed.len())].windows(2))
            .map(|w| (w[0], w[1]))
            .find(|(newer, older)| newer.0 - older.0 > 60)
            .expect("a character with public matches at different times");
        let period = older.0 + (newer.0 - older.0) / 2;
        let free = |id: &i64| !used.contains(&id.to_string());
        let id = (older.1 + 1..newer.1).find(free).or_else(|| (newer.1 + 1..).find(free)).expect("a free id");
        (id.to_string(), Draft { period_unix: period, kind: MatchKind::Public, tracked: vec![(p, c)] })
    }

    fn add_match(&mut self, generator: &mut Generator<'_>, instance_id: String, draft: Draft) {
        let pgcr = generator.pgcr(&instance_id, &draft, &self.players, &self.opponents);
        self.matches.push(Match {
            instance_id,
            period_unix: draft.period_unix,
            kind: draft.kind,
            tracked: draft.tracked,
            pgcr,
        });
    }
}
