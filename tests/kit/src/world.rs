//! A seeded, deterministic Destiny 2 world: tracked players with their characters and Crucible
//! histories, the opponents they met, every post-game carnage report in Bungie's JSON shape, a
//! clan, and the expectation a complete sync must meet. The fake Bungie serves it; tests compare
//! the database a real sync wrote against what the world says must be there. Between syncs the
//! world can move on ([`World::move_on`], in [`moving`]): new matches, a late one, a new
//! character.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde_json::{json, Map, Value};

pub mod moving;
pub use moving::Moved;

/// Bungie's largest activity-history page, and the page size dclisync asks for.
pub const HISTORY_PAGE_SIZE: usize = 250;

/// Mode of the public Crucible history (AllPvP).
pub const MODE_ALL_PVP: i64 = 5;
/// Mode of the private-match history.
pub const MODE_PRIVATE: i64 = 32;

/// Gambit private matches show up in mode 32 histories; dclisync must never queue them.
pub const GAMBIT_PRIVATE_HASHES: [i64; 2] = [2526740498, 248695599];

/// Director activity hashes of the Crucible private-match playlists; every private match of the
/// world is played in one of them.
const PRIVATE_HASHES: [i64; 19] = [
    4242525388, 559852413, 1859507212, 3959500077, 2491884566, 3076038389, 29726492, 1543557109, 2143799792,
    2903879783, 2923123473, 3530889940, 84526555, 3344441646, 1887396202, 1978116819, 2404525917, 1218001922,
    3767360267,
];

/// (classType, classHash, characterClass) as Bungie pairs them.
const CLASSES: [(i64, i64, &str); 3] = [(0, 3655393761, "Titan"), (1, 671679327, "Hunter"), (2, 2271682572, "Warlock")];

/// Map hashes (activity `referenceId`); invented values in the real range.
const MAPS: [i64; 8] = [750001803, 1489679220, 2591737171, 3897312654, 2262757213, 4012915511, 1815340083, 332234118];
const WEAPONS: [i64; 10] = [
    3654674561, 1678957660, 1363886209, 2575506895, 4124984448, 3141979347, 1364093401, 2351180975, 2607304614,
    1097616550,
];
const MEDALS: [&str; 8] = [
    "Medals_pvp_medal_streak_no_damage",
    "medalStreak5x",
    "medalMulti2x",
    "medalPayback",
    "medalAvenger",
    "medalDefense",
    "Medals_pvp_medal_kill_multi_2x",
    "medalStreakCombined",
];
const EMBLEMS: [i64; 5] = [1409726989, 2010554576, 3828080585, 4182480236, 1538938257];

/// Tracked-player names; the first is non-ASCII with a space, as real Bungie names can be.
const PLAYER_NAMES: [&str; 8] = [
    "Ñandú Fénix",
    "Hawkmoon",
    "Lucent Moth",
    "Vex Milk",
    "Jötunn Rider",
    "Sunbreaker",
    "Ace of Spades",
    "Thorn Whisper",
];

/// The newest match of every world ends before this instant (2024-06-01T00:00:00Z): far enough in
/// the past that every report is complete (a report fetched within 15 minutes of its match's end
/// may still be incomplete, and is fetched again).
const WORLD_END_UNIX: i64 = 1_717_200_000;
const WORLD_SPAN_SECONDS: i64 = 400 * 24 * 3600;

// ---------------------------------------------------------------------------------------------
// PRNG

/// SplitMix64: tiny, seedable, and good enough to shuffle a test world.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0); the modulo bias is irrelevant at test sizes.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

// ---------------------------------------------------------------------------------------------
// Configuration

#[derive(Debug, Clone)]
pub struct WorldConfig {
    pub seed: u64,
    /// Tracked players (at least 1; 3 or more exercise both cross-save resolution paths).
    pub players: usize,
    pub characters_per_player: usize,
    /// Public (mode 5) matches each character played itself, before sharing adds more.
    pub public_matches_per_character: usize,
    /// Public matches of the busiest character (player 0, character 0); above 250 it spans pages.
    /// 0 means "like every other character".
    pub busiest_character_public_matches: usize,
    /// Private (mode 32) Crucible matches per character.
    pub private_matches_per_character: usize,
    /// Gambit private matches per character, listed in mode 32 histories, never to be stored.
    pub gambit_private_per_character: usize,
    /// Deleted characters of the last player (only the account stats list them).
    pub deleted_characters: usize,
    /// Chance that a match also had a character of another tracked player in it.
    pub shared_fraction: f64,
    /// Chance that an opponent has no Bungie name and platform 0 in the reports.
    pub nameless_fraction: f64,
    /// Chance that an entry has no `extended` block (no weapons, no medals).
    pub no_extended_fraction: f64,
    /// Chance that a report lists one opponent character twice (left and rejoined).
    pub duplicate_entry_fraction: f64,
    /// Size of the opponent pool.
    pub opponents: usize,
}

impl Default for WorldConfig {
    /// The full world: 3 players × 3 characters (+1 deleted), one character with 520 public
    /// matches (three history pages), about 700 reports in all.
    fn default() -> Self {
        Self {
            seed: 0xD2C1_5EED,
            players: 3,
            characters_per_player: 3,
            public_matches_per_character: 15,
            busiest_character_public_matches: 520,
            private_matches_per_character: 3,
            gambit_private_per_character: 1,
            deleted_characters: 1,
            shared_fraction: 0.15,
            nameless_fraction: 0.08,
            no_extended_fraction: 0.04,
            duplicate_entry_fraction: 0.02,
            opponents: 160,
        }
    }
}

impl WorldConfig {
    /// Every feature of the default world, but about 120 reports and one history page each.
    pub fn small() -> Self {
        Self {
            public_matches_per_character: 10,
            busiest_character_public_matches: 0,
            private_matches_per_character: 2,
            gambit_private_per_character: 1,
            shared_fraction: 0.25,
            nameless_fraction: 0.15,
            no_extended_fraction: 0.08,
            duplicate_entry_fraction: 0.05,
            opponents: 60,
            ..Self::default()
        }
    }

    /// Players and characters but only a handful of matches: for tests about names, keys and
    /// output, where the sync itself is beside the point.
    pub fn tiny() -> Self {
        Self {
            public_matches_per_character: 2,
            private_matches_per_character: 1,
            gambit_private_per_character: 1,
            deleted_characters: 0,
            opponents: 20,
            ..Self::small()
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The world

/// One Destiny membership (a platform account) of a player.
#[derive(Debug, Clone)]
pub struct Account {
    pub membership_type: i64,
    pub membership_id: String,
    pub date_last_played: String,
}

#[derive(Debug, Clone)]
pub struct Character {
    pub character_id: String,
    pub class_type: i64,
    pub class_hash: i64,
    pub date_last_played: String,
    pub deleted: bool,
    pub light: i64,
    pub emblem_hash: i64,
}

#[derive(Debug, Clone)]
pub struct Player {
    /// Bungie name without the code (`bungieGlobalDisplayName`).
    pub name: String,
    /// `bungieGlobalDisplayNameCode`.
    pub code: u16,
    /// The platform's name for the player (`displayName` of their user cards): the Bungie name
    /// for the first player, a gamertag-like name of its own for the others, so a test can tell
    /// the two columns of the member row apart.
    pub platform_name: String,
    /// The account dclisync must end up syncing.
    pub primary: Account,
    pub cross_save_override: i64,
    /// Other cards the name search returns, listed before the primary one: an overridden
    /// cross-save card, or an old unlinked account that played long ago.
    pub decoys: Vec<Account>,
    /// Live characters, then deleted ones.
    pub characters: Vec<Character>,
}

impl Player {
    /// The same player under another Bungie name (a hostile one, in the tests of what reaches
    /// the terminal); the generated worlds keep their own names.
    pub fn rename(&mut self, name: &str) {
        self.name = name.to_string();
    }

    /// `Name#0042`: how dclisync shows and stores the player.
    pub fn bungie_name(&self) -> String {
        format!("{}#{:04}", self.name, self.code)
    }

    /// `Name#42`: the code as typed without padding (same player).
    pub fn bungie_name_unpadded(&self) -> String {
        format!("{}#{}", self.name, self.code)
    }

    pub fn member_id(&self) -> i64 {
        self.primary.membership_id.parse().expect("membership ids are numbers")
    }

    pub fn live_characters(&self) -> impl Iterator<Item = &Character> {
        self.characters.iter().filter(|c| !c.deleted)
    }

    pub fn accounts(&self) -> impl Iterator<Item = &Account> {
        self.decoys.iter().chain(std::iter::once(&self.primary))
    }

    /// A user card as the search, profile and group endpoints show it.
    pub fn card(&self, account: &Account) -> Value {
        json!({
            "iconPath": "/img/theme/bungienet/icons/steamLogo.png",
            "crossSaveOverride": self.cross_save_override,
            "applicableMembershipTypes": if account.membership_id == self.primary.membership_id {
                json!([account.membership_type])
            } else {
                json!([])
            },
            "isPublic": true,
            "membershipType": account.membership_type,
            "membershipId": account.membership_id,
            "displayName": self.platform_name,
            "bungieGlobalDisplayName": self.name,
            "bungieGlobalDisplayNameCode": self.code,
        })
    }
}

/// Someone tracked players met in a match.
#[derive(Debug, Clone)]
pub struct Opponent {
    pub membership_id: String,
    pub character_id: String,
    /// Platform and name the account really has (GetMembershipsById tells).
    pub membership_type: i64,
    pub name: String,
    pub code: u16,
    /// The platform's name (`displayName`): every other opponent has one that differs from the
    /// Bungie name.
    pub platform_name: String,
    /// In reports: no Bungie name, no code, platform 0.
    pub nameless_in_reports: bool,
    pub class_index: usize,
    pub light: i64,
    pub emblem_hash: i64,
}

impl Opponent {
    /// The opponent's user card as the account really is (GetMembershipsById answers with it).
    pub fn card(&self) -> Value {
        json!({
            "iconPath": "/img/theme/bungienet/icons/psnLogo.png",
            "crossSaveOverride": 0,
            "applicableMembershipTypes": [self.membership_type],
            "isPublic": true,
            "membershipType": self.membership_type,
            "membershipId": self.membership_id,
            "displayName": self.platform_name,
            "bungieGlobalDisplayName": self.name,
            "bungieGlobalDisplayNameCode": self.code,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchKind {
    Public,
    Private,
    GambitPrivate,
}

impl MatchKind {
    pub fn history_mode(self) -> i64 {
        match self {
            MatchKind::Public => MODE_ALL_PVP,
            MatchKind::Private | MatchKind::GambitPrivate => MODE_PRIVATE,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Match {
    pub instance_id: String,
    pub period_unix: i64,
    pub kind: MatchKind,
    /// Tracked characters in the match as (player index, character index).
    pub tracked: Vec<(usize, usize)>,
    /// The PGCR's `Response`.
    pub pgcr: Value,
}

impl Match {
    pub fn id(&self) -> i64 {
        self.instance_id.parse().expect("instance ids are numbers")
    }

    pub fn entries(&self) -> &[Value] {
        self.pgcr["entries"].as_array().map(Vec::as_slice).unwrap_or(&[])
    }

    /// Distinct characters with an entry: the stats rows this report must produce.
    pub fn distinct_characters(&self) -> BTreeSet<i64> {
        self.entries().iter().map(|e| parse_id(&e["characterId"])).collect()
    }
}

/// A clan member as GroupV2 lists it.
#[derive(Debug, Clone)]
pub struct ClanMember {
    pub destiny_user_info: Value,
    pub membership_id: String,
    pub display_name: String,
    /// `Some("Name#0042")` when the member has a valid Bungie name.
    pub bungie_name: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Clan {
    pub group_id: String,
    /// Two pages (the first says `hasMore: true`, the second `false`), or pages of
    /// [`ROSTER_PAGE_SIZE`] members, as Bungie sends them, in a clan of more than twice that.
    pub pages: Vec<Vec<ClanMember>>,
}

/// Members on one page of a clan roster, as Bungie pages them.
pub const ROSTER_PAGE_SIZE: usize = 100;

impl Clan {
    pub fn members(&self) -> impl Iterator<Item = &ClanMember> {
        self.pages.iter().flatten()
    }

    pub fn named_members(&self) -> impl Iterator<Item = &ClanMember> {
        self.members().filter(|m| m.bungie_name.is_some())
    }

    pub fn nameless_members(&self) -> impl Iterator<Item = &ClanMember> {
        self.members().filter(|m| m.bungie_name.is_none())
    }

    /// The member leaves the clan; returns them (none if they were not in it).
    pub fn leave(&mut self, membership_id: &str) -> Option<ClanMember> {
        self.pages.iter_mut().find_map(|page| {
            let i = page.iter().position(|m| m.membership_id == membership_id)?;
            Some(page.remove(i))
        })
    }

    /// The member joins the clan, listed last.
    pub fn join(&mut self, member: ClanMember) {
        match self.pages.last_mut() {
            Some(page) => page.push(member),
            None => self.pages.push(vec![member]),
        }
    }
}

/// What a stored activity row must hold, modes aside (the [`crate::oracle`] has every column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedActivity {
    /// `YYYY-MM-DDTHH:MM:SS+00:00`, as the dcli readers compare it.
    pub period: String,
    pub platform: i64,
    pub director_activity_hash: i64,
    pub reference_id: i64,
}

#[derive(Debug, Clone)]
pub struct World {
    pub config: WorldConfig,
    pub players: Vec<Player>,
    pub opponents: Vec<Opponent>,
    /// Every match, oldest first (instance ids grow with time).
    pub matches: Vec<Match>,
    pub clan: Clan,
    match_index: HashMap<String, usize>,
    /// characterId → (player, character) of tracked characters.
    character_index: HashMap<String, (usize, usize)>,
    /// (characterId, mode) → history items, newest first.
    histories: HashMap<(String, i64), Vec<Value>>,
}

impl World {
    pub fn generate(config: &WorldConfig) -> World {
        Generator::new(config).run()
    }

    /// Rebuilds what follows from the players and the matches (oldest first): the histories
    /// (newest first), each character's `dateLastPlayed` (a minute after the end of its last
    /// match), each player's newest, and the indexes.
    fn reindex(&mut self) {
        let mut histories: HashMap<(String, i64), Vec<Value>> = HashMap::new();
        let mut last_played: HashMap<String, i64> = HashMap::new();
        for m in self.matches.iter().rev() {
            for &(p, c) in &m.tracked {
                let character = &self.players[p].characters[c];
                let entry = m
                    .entries()
                    .iter()
                    .find(|e| e["characterId"] == character.character_id.as_str())
                    .expect("a tracked character has an entry in its own match");
                let item = json!({
                    "period": m.pgcr["period"],
                    "activityDetails": m.pgcr["activityDetails"],
                    "values": entry["values"],
                });
                histories.entry((character.character_id.clone(), m.kind.history_mode())).or_default().push(item);
                let duration =
                    entry["values"]["activityDurationSeconds"]["basic"]["value"].as_f64().unwrap_or(600.0) as i64;
                let end = m.period_unix + duration + 60;
                let last = last_played.entry(character.character_id.clone()).or_insert(end);
                *last = (*last).max(end);
            }
        }
        for player in &mut self.players {
            for character in &mut player.characters {
                let unix =
                    last_played.get(&character.character_id).copied().unwrap_or(WORLD_END_UNIX - WORLD_SPAN_SECONDS);
                character.date_last_played = format_bungie_time(unix);
            }
            let newest = player
                .characters
                .iter()
                .filter(|c| !c.deleted)
                .map(|c| c.date_last_played.clone())
                .max()
                .unwrap_or_default();
            player.primary.date_last_played = newest;
        }
        self.histories = histories;
        self.match_index = self.matches.iter().enumerate().map(|(i, m)| (m.instance_id.clone(), i)).collect();
        self.character_index = self
            .players
            .iter()
            .enumerate()
            .flat_map(|(p, player)| {
                player.characters.iter().enumerate().map(move |(c, ch)| (ch.character_id.clone(), (p, c)))
            })
            .collect();
    }

    pub fn player(&self, index: usize) -> &Player {
        &self.players[index]
    }

    pub fn pgcr(&self, instance_id: &str) -> Option<&Match> {
        self.match_index.get(instance_id).map(|&i| &self.matches[i])
    }

    /// The history items of one character in one mode, newest first.
    pub fn history(&self, character_id: &str, mode: i64) -> &[Value] {
        self.histories.get(&(character_id.to_owned(), mode)).map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn is_tracked_character(&self, character_id: &str) -> bool {
        self.character_index.contains_key(character_id)
    }

    /// The player owning any of these accounts (primary or decoy), by membership id.
    pub fn player_by_membership(&self, membership_id: &str) -> Option<(&Player, &Account)> {
        self.players.iter().find_map(|p| p.accounts().find(|a| a.membership_id == membership_id).map(|a| (p, a)))
    }

    pub fn opponent_by_membership(&self, membership_id: &str) -> Option<&Opponent> {
        self.opponents.iter().find(|o| o.membership_id == membership_id)
    }

    /// Matches listed in the histories of these players' characters.
    fn listed_matches<'a>(&'a self, players: &'a [usize]) -> impl Iterator<Item = &'a Match> {
        self.matches.iter().filter(move |m| m.tracked.iter().any(|(p, _)| players.contains(p)))
    }

    fn all_player_indexes(&self) -> Vec<usize> {
        (0..self.players.len()).collect()
    }

    /// Matches a complete sync of these players must store: everything listed but Gambit
    /// private.
    pub fn expected_matches_for<'a>(&'a self, players: &'a [usize]) -> impl Iterator<Item = &'a Match> {
        self.listed_matches(players).filter(|m| m.kind != MatchKind::GambitPrivate)
    }

    pub fn expected_activity_ids_for(&self, players: &[usize]) -> BTreeSet<i64> {
        self.expected_matches_for(players).map(Match::id).collect()
    }

    /// Instance ids a complete sync of every tracked player must store.
    pub fn expected_activity_ids(&self) -> BTreeSet<i64> {
        self.expected_activity_ids_for(&self.all_player_indexes())
    }

    /// `character_activity_stats` rows: one per (activity, character) of stored reports.
    pub fn expected_stats_rows(&self) -> usize {
        let all = self.all_player_indexes();
        self.expected_matches_for(&all).map(|m| m.distinct_characters().len()).sum()
    }

    /// Member ids the `member` table must hold: everyone in a stored report.
    pub fn expected_members(&self) -> BTreeSet<i64> {
        let all = self.all_player_indexes();
        let mut members: BTreeSet<i64> = self
            .expected_matches_for(&all)
            .flat_map(|m| m.entries().iter())
            .map(|e| parse_id(&e["player"]["destinyUserInfo"]["membershipId"]))
            .collect();
        members.extend(self.players.iter().map(Player::member_id));
        members
    }

    /// Character ids the `character` table must hold.
    pub fn expected_characters(&self) -> BTreeSet<i64> {
        let all = self.all_player_indexes();
        self.expected_matches_for(&all).flat_map(|m| m.distinct_characters()).collect()
    }

    /// The activity rows of a complete sync, keyed by instance id.
    pub fn expected_activities(&self) -> BTreeMap<i64, ExpectedActivity> {
        let all = self.all_player_indexes();
        self.expected_matches_for(&all)
            .map(|m| {
                let details = &m.pgcr["activityDetails"];
                (
                    m.id(),
                    ExpectedActivity {
                        period: format_period_stored(m.period_unix),
                        platform: details["membershipType"].as_i64().unwrap(),
                        director_activity_hash: details["directorActivityHash"].as_i64().unwrap(),
                        reference_id: details["referenceId"].as_i64().unwrap(),
                    },
                )
            })
            .collect()
    }

    /// `fireteam_id` text per (activity, character), as the reference tool stores it: the float
    /// the JSON text parses to (with serde_json, as both tools read it), written with Rust's
    /// shortest round-trip digits and no exponent or ".0".
    /// A character listed twice keeps its fireteam, so either entry gives the same text.
    pub fn expected_fireteams(&self) -> BTreeMap<(i64, i64), String> {
        let all = self.all_player_indexes();
        let mut out = BTreeMap::new();
        for m in self.expected_matches_for(&all) {
            for e in m.entries() {
                let value = &e["values"]["fireteamId"]["basic"]["value"];
                let text = serde_json::to_string(value).expect("a number serializes");
                let read: f64 = serde_json::from_str(&text).expect("fireteamId is a float");
                out.insert((m.id(), parse_id(&e["characterId"])), format!("{}", read.trunc()));
            }
        }
        out
    }

    pub fn gambit_private_ids(&self) -> BTreeSet<i64> {
        self.matches.iter().filter(|m| m.kind == MatchKind::GambitPrivate).map(Match::id).collect()
    }

    /// Matches in the histories of two or more tracked players.
    pub fn shared_activity_ids(&self) -> BTreeSet<i64> {
        self.matches
            .iter()
            .filter(|m| m.kind != MatchKind::GambitPrivate)
            .filter(|m| {
                let players: BTreeSet<usize> = m.tracked.iter().map(|(p, _)| *p).collect();
                players.len() > 1
            })
            .map(Match::id)
            .collect()
    }

    /// Number of tracked characters (live and deleted), i.e. characters with a history.
    pub fn tracked_character_count(&self) -> usize {
        self.players.iter().map(|p| p.characters.len()).sum()
    }
}

pub fn parse_id(v: &Value) -> i64 {
    v.as_str().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("not a string id: {v}"))
}

// ---------------------------------------------------------------------------------------------
// Time formatting without a date crate

/// Days since 1970-01-01 → (year, month, day); Howard Hinnant's `civil_from_days`.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn format_unix(unix: i64, suffix: &str) -> String {
    let (y, mo, d) = civil_from_days(unix.div_euclid(86_400));
    let s = unix.rem_euclid(86_400);
    format!("{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}{suffix}", s / 3600, s % 3600 / 60, s % 60)
}

/// Unix seconds of a time as Bungie writes it (`2024-01-06T03:33:00Z`); none for other text.
pub fn parse_bungie_time(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() != 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[19] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| text.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    // Days from civil (Howard Hinnant's algorithm), the inverse of `civil_from_days`.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss)
}

/// How Bungie writes a time: `2024-01-06T03:33:00Z`.
pub fn format_bungie_time(unix: i64) -> String {
    format_unix(unix, "Z")
}

/// How the dcli database stores an activity period: `2024-01-06T03:33:00+00:00`.
pub fn format_period_stored(unix: i64) -> String {
    format_unix(unix, "+00:00")
}

// ---------------------------------------------------------------------------------------------
// Generation

/// A Crucible playlist: what the history and the report say about the activity.
struct Playlist {
    mode: i64,
    modes: &'static [i64],
    director_activity_hash: i64,
    team_size: usize,
    /// Rumble: everyone for themselves, `teams: []`, no `team` value.
    free_for_all: bool,
}

const PUBLIC_PLAYLISTS: [(u32, Playlist); 7] = [
    (
        4,
        Playlist {
            mode: 10,
            modes: &[5, 10, 73],
            director_activity_hash: 2303927902,
            team_size: 6,
            free_for_all: false,
        },
    ),
    (2, Playlist { mode: 48, modes: &[5, 48], director_activity_hash: 2259621230, team_size: 6, free_for_all: true }),
    (
        2,
        Playlist {
            mode: 37,
            modes: &[5, 37, 69],
            director_activity_hash: 2754695317,
            team_size: 3,
            free_for_all: false,
        },
    ),
    (
        1,
        Playlist {
            mode: 43,
            modes: &[5, 19, 43],
            director_activity_hash: 2955009825,
            team_size: 6,
            free_for_all: false,
        },
    ),
    (
        1,
        Playlist {
            mode: 10,
            modes: &[5, 10, 70, 73],
            director_activity_hash: 480175362,
            team_size: 6,
            free_for_all: false,
        },
    ),
    (1, Playlist { mode: 0, modes: &[5], director_activity_hash: 903584917, team_size: 6, free_for_all: false }),
    (
        1,
        Playlist {
            mode: 71,
            modes: &[5, 71, 70],
            director_activity_hash: 2607135461,
            team_size: 6,
            free_for_all: false,
        },
    ),
];

struct Draft {
    period_unix: i64,
    kind: MatchKind,
    tracked: Vec<(usize, usize)>,
}

struct Generator<'a> {
    config: &'a WorldConfig,
    rng: SplitMix64,
    used_ids: HashSet<String>,
}

impl<'a> Generator<'a> {
    fn new(config: &'a WorldConfig) -> Self {
        Self { config, rng: SplitMix64::new(config.seed), used_ids: HashSet::new() }
    }

    /// A fresh 19-digit id with the given 11-digit prefix, unique across the world.
    fn unique_id(&mut self, prefix: &str) -> String {
        loop {
            let id = format!("{prefix}{:08}", self.rng.below(100_000_000));
            if self.used_ids.insert(id.clone()) {
                return id;
            }
        }
    }

    fn run(mut self) -> World {
        let config = self.config;
        assert!(config.players >= 1, "a world needs a tracked player");
        assert!(config.characters_per_player >= 1, "players need a character");

        let players = self.players();
        let opponents = self.opponents();
        let drafts = self.drafts(&players);

        // Instance ids grow with time, as Bungie's do.
        let mut matches = Vec::with_capacity(drafts.len());
        let mut next_instance: u64 = 11_000_000_000 + self.rng.below(1_000_000_000);
        for draft in drafts {
            next_instance += 1 + self.rng.below(5_000);
            let instance_id = next_instance.to_string();
            let pgcr = self.pgcr(&instance_id, &draft, &players, &opponents);
            matches.push(Match {
                instance_id,
                period_unix: draft.period_unix,
                kind: draft.kind,
                tracked: draft.tracked,
                pgcr,
            });
        }

        let clan = self.clan(&players);
        let mut world = World {
            config: config.clone(),
            players,
            opponents,
            matches,
            clan,
            match_index: HashMap::new(),
            character_index: HashMap::new(),
            histories: HashMap::new(),
        };
        world.reindex();
        world
    }

    fn players(&mut self) -> Vec<Player> {
        let config = self.config;
        let mut names: Vec<&str> = PLAYER_NAMES.to_vec();
        let mut players = Vec::new();
        for p in 0..config.players {
            let name = if p < names.len() {
                // Keep the non-ASCII name first; shuffle the rest by seed.
                if p > 0 {
                    let j = p + self.rng.below((names.len() - p) as u64) as usize;
                    names.swap(p, j);
                }
                names[p].to_owned()
            } else {
                format!("Guardian {p}")
            };
            // Player 2 has a short code, to exercise zero padding ("42" → "0042").
            let code = if p == 2 { self.rng.range(1, 99) as u16 } else { self.rng.range(1000, 9999) as u16 };
            let primary_type = match p {
                0 | 1 => 3,
                2 => 2,
                _ => *self.rng.pick(&[1, 2, 3, 6]),
            };
            let primary = Account {
                membership_type: primary_type,
                membership_id: self.unique_id("46116860184"),
                date_last_played: String::new(),
            };
            let (cross_save_override, decoys) = match p {
                // Cross save: the search also returns the overridden PSN card, first.
                1 => (
                    3,
                    vec![Account {
                        membership_type: 2,
                        membership_id: self.unique_id("46116860184"),
                        date_last_played: "2020-11-10T17:00:00Z".to_owned(),
                    }],
                ),
                // Two unlinked accounts: an Xbox one abandoned in 2019 is listed first.
                2 => (
                    0,
                    vec![Account {
                        membership_type: 1,
                        membership_id: self.unique_id("46116860184"),
                        date_last_played: "2019-03-02T20:11:45Z".to_owned(),
                    }],
                ),
                _ => (0, vec![]),
            };
            let mut characters = Vec::new();
            for c in 0..config.characters_per_player {
                let (class_type, class_hash, _) = CLASSES[c % 3];
                characters.push(Character {
                    character_id: self.unique_id("23058430093"),
                    class_type,
                    class_hash,
                    date_last_played: String::new(),
                    deleted: false,
                    light: self.rng.range(1950, 2010),
                    emblem_hash: *self.rng.pick(&EMBLEMS),
                });
            }
            if p + 1 == config.players {
                for _ in 0..config.deleted_characters {
                    let (class_type, class_hash, _) = *self.rng.pick(&CLASSES);
                    characters.push(Character {
                        character_id: self.unique_id("23058430093"),
                        class_type,
                        class_hash,
                        date_last_played: String::new(),
                        deleted: true,
                        light: self.rng.range(1800, 1900),
                        emblem_hash: *self.rng.pick(&EMBLEMS),
                    });
                }
            }
            let platform_name = platform_name_of(p, &name);
            players.push(Player { name, code, platform_name, primary, cross_save_override, decoys, characters });
        }
        players
    }

    fn opponents(&mut self) -> Vec<Opponent> {
        (0..self.config.opponents.max(12))
            .map(|i| Opponent {
                membership_id: self.unique_id("46116860185"),
                character_id: self.unique_id("23058430095"),
                membership_type: *self.rng.pick(&[1, 2, 3, 3, 3, 6]),
                name: format!("opp{i}"),
                platform_name: if i % 2 == 1 { format!("xX_opp{i}_Xx") } else { format!("opp{i}") },
                code: self.rng.range(1, 9999) as u16,
                nameless_in_reports: self.rng.chance(self.config.nameless_fraction),
                class_index: self.rng.below(3) as usize,
                light: self.rng.range(1900, 2010),
                emblem_hash: *self.rng.pick(&EMBLEMS),
            })
            .collect()
    }

    /// Which matches exist, who of the tracked players was in them, and when; oldest first.
    fn drafts(&mut self, players: &[Player]) -> Vec<Draft> {
        let config = self.config;
        let mut drafts = Vec::new();
        for (p, player) in players.iter().enumerate() {
            for (c, character) in player.characters.iter().enumerate() {
                let public = if p == 0 && c == 0 && config.busiest_character_public_matches > 0 {
                    config.busiest_character_public_matches
                } else if character.deleted {
                    config.public_matches_per_character.div_ceil(2)
                } else {
                    config.public_matches_per_character
                };
                let kinds = std::iter::repeat_n(MatchKind::Public, public)
                    .chain(std::iter::repeat_n(MatchKind::Private, config.private_matches_per_character))
                    .chain(std::iter::repeat_n(MatchKind::GambitPrivate, config.gambit_private_per_character));
                for kind in kinds {
                    let mut tracked = vec![(p, c)];
                    if players.len() > 1 && self.rng.chance(config.shared_fraction) {
                        let q = (p + 1 + self.rng.below(players.len() as u64 - 1) as usize) % players.len();
                        let live = players[q].characters.iter().filter(|c| !c.deleted).count();
                        tracked.push((q, self.rng.below(live as u64) as usize));
                    }
                    drafts.push(Draft {
                        period_unix: WORLD_END_UNIX - 3600 - self.rng.range(0, WORLD_SPAN_SECONDS),
                        kind,
                        tracked,
                    });
                }
            }
        }
        drafts.sort_by_key(|d| d.period_unix);
        drafts
    }

    fn pgcr(&mut self, instance_id: &str, draft: &Draft, players: &[Player], opponents: &[Opponent]) -> Value {
        let (mode, modes, hash, team_size, ffa): (i64, Vec<i64>, i64, usize, bool) = match draft.kind {
            MatchKind::Public => {
                let total: u32 = PUBLIC_PLAYLISTS.iter().map(|(w, _)| w).sum();
                let mut roll = self.rng.below(total as u64) as u32;
                let mut chosen = &PUBLIC_PLAYLISTS[0].1;
                for (w, playlist) in &PUBLIC_PLAYLISTS {
                    if roll < *w {
                        chosen = playlist;
                        break;
                    }
                    roll -= w;
                }
                (
                    chosen.mode,
                    chosen.modes.to_vec(),
                    chosen.director_activity_hash,
                    chosen.team_size,
                    chosen.free_for_all,
                )
            }
            MatchKind::Private => {
                let hash = *self.rng.pick(&PRIVATE_HASHES);
                (32, vec![32], hash, *self.rng.pick(&[2, 3, 4, 6]), false)
            }
            MatchKind::GambitPrivate => {
                let hash = *self.rng.pick(&GAMBIT_PRIVATE_HASHES);
                (75, vec![32, 75], hash, 4, false)
            }
        };
        let player_count = if ffa { team_size } else { team_size * 2 };
        let duration = self.rng.range(420, 900);
        let platform = players[draft.tracked[0].0].primary.membership_type;

        // Seats: tracked characters first, opponents fill the rest.
        struct Seat {
            user_info: Value,
            character_id: String,
            class_index: usize,
            light: i64,
            emblem_hash: i64,
        }
        let mut seats: Vec<Seat> = Vec::new();
        for &(p, c) in &draft.tracked {
            let player = &players[p];
            let character = &player.characters[c];
            let mut info = player.card(&player.primary);
            info["applicableMembershipTypes"] = json!([player.primary.membership_type]);
            seats.push(Seat {
                user_info: info,
                character_id: character.character_id.clone(),
                class_index: character.class_type as usize,
                light: character.light,
                emblem_hash: character.emblem_hash,
            });
        }
        let mut taken: HashSet<usize> = HashSet::new();
        while seats.len() < player_count {
            let i = self.rng.below(opponents.len() as u64) as usize;
            if !taken.insert(i) {
                continue;
            }
            let o = &opponents[i];
            let info = if o.nameless_in_reports {
                json!({
                    "iconPath": "/img/theme/bungienet/icons/psnLogo.png",
                    "crossSaveOverride": 0,
                    "isPublic": false,
                    "membershipType": 0,
                    "membershipId": o.membership_id,
                    "displayName": "",
                    "bungieGlobalDisplayName": "",
                })
            } else {
                o.card()
            };
            seats.push(Seat {
                user_info: info,
                character_id: o.character_id.clone(),
                class_index: o.class_index,
                light: o.light,
                emblem_hash: o.emblem_hash,
            });
        }
        // Shuffle so tracked players land on either team.
        for i in (1..seats.len()).rev() {
            let j = self.rng.below(i as u64 + 1) as usize;
            seats.swap(i, j);
        }

        let team_ids = [17_i64, 18];
        let team_scores = if ffa {
            [0, 0]
        } else {
            let a = self.rng.range(20, 150);
            let b = self.rng.range(20, 150);
            if a == b {
                [a + 1, b]
            } else {
                [a, b]
            }
        };
        let winner = if team_scores[0] >= team_scores[1] { 0 } else { 1 };
        let fireteams: Vec<u64> =
            (0..player_count).map(|_| 127_000_000_000_000_000 + self.rng.below(1_000_000_000_000_000)).collect();

        let mut entries = Vec::new();
        for (seat_index, seat) in seats.iter().enumerate() {
            let team_slot = if ffa { 0 } else { seat_index % 2 };
            // Tracked players in the same match on the same team share a fireteam.
            let fireteam = if draft.tracked.len() > 1
                && !ffa
                && draft.tracked.iter().any(|&(p, c)| players[p].characters[c].character_id == seat.character_id)
            {
                fireteams[team_slot]
            } else {
                fireteams[seat_index]
            };
            let standing = if ffa {
                seat_index as i64
            } else if team_slot == winner {
                0
            } else {
                1
            };
            entries.push(self.entry(EntryParams {
                user_info: &seat.user_info,
                character_id: &seat.character_id,
                class_index: seat.class_index,
                light: seat.light,
                emblem_hash: seat.emblem_hash,
                standing,
                team: if ffa { None } else { Some(team_ids[team_slot]) },
                team_score: if ffa { None } else { Some(team_scores[team_slot]) },
                duration,
                player_count: player_count as i64,
                fireteam: fireteam as f64,
            }));
        }
        // Somebody left and rejoined: the same character twice, the second time short.
        if self.rng.chance(self.config.duplicate_entry_fraction) {
            let tracked_ids: HashSet<String> =
                draft.tracked.iter().map(|&(p, c)| players[p].characters[c].character_id.clone()).collect();
            if let Some(original) =
                entries.iter().find(|e| !tracked_ids.contains(e["characterId"].as_str().unwrap())).cloned()
            {
                let mut again = original;
                let kills = self.rng.range(0, 5) as f64;
                again["values"]["kills"] = stat(kills);
                again["values"]["startSeconds"] = stat((duration - 120) as f64);
                again["values"]["timePlayedSeconds"] = stat(110.0);
                entries.push(again);
            }
        }

        let mut response = Map::new();
        response.insert("period".into(), json!(format_bungie_time(draft.period_unix)));
        response.insert("startingPhaseIndex".into(), json!(0));
        response.insert("activityWasStartedFromBeginning".into(), json!(true));
        response.insert(
            "activityDetails".into(),
            json!({
                "referenceId": *self.rng.pick(&MAPS),
                "directorActivityHash": hash,
                "instanceId": instance_id,
                "mode": mode,
                "modes": modes,
                "isPrivate": draft.kind != MatchKind::Public,
                "membershipType": platform,
            }),
        );
        response.insert("entries".into(), Value::Array(entries));
        let teams = if ffa {
            json!([])
        } else {
            json!([
                team_json(team_ids[0], team_scores[0], winner == 0, "Alpha"),
                team_json(team_ids[1], team_scores[1], winner == 1, "Bravo"),
            ])
        };
        response.insert("teams".into(), teams);
        Value::Object(response)
    }

    fn entry(&mut self, e: EntryParams<'_>) -> Value {
        let rng = &mut self.rng;
        let kills = rng.range(0, 30);
        let deaths = rng.range(0, 25);
        let assists = rng.range(0, 12);
        let score = if e.team.is_some() { rng.range(0, 40) } else { kills * 100 + rng.range(0, 400) };
        let start = if rng.chance(0.1) { rng.range(30, e.duration / 2) } else { rng.range(0, 20) };
        let played = (e.duration - start).max(1);
        let completed = if rng.chance(0.95) { 1.0 } else { 0.0 };
        let (_, class_hash, class_name) = CLASSES[e.class_index % 3];

        let mut values = Map::new();
        values.insert("assists".into(), stat(assists as f64));
        values.insert("score".into(), stat(score as f64));
        values.insert("kills".into(), stat(kills as f64));
        values.insert("averageScorePerKill".into(), stat(round3(score as f64 / kills.max(1) as f64)));
        values.insert("deaths".into(), stat(deaths as f64));
        values.insert("averageScorePerLife".into(), stat(round3(score as f64 / (deaths + 1) as f64)));
        values.insert("completed".into(), stat_text(completed, if completed > 0.0 { "Yes" } else { "No" }));
        values.insert("opponentsDefeated".into(), stat((kills + assists) as f64));
        values.insert("efficiency".into(), stat(round3((kills + assists) as f64 / deaths.max(1) as f64)));
        values.insert("killsDeathsRatio".into(), stat(round3(kills as f64 / deaths.max(1) as f64)));
        values.insert(
            "killsDeathsAssists".into(),
            stat(round3((kills as f64 + assists as f64 / 2.0) / deaths.max(1) as f64)),
        );
        values.insert("activityDurationSeconds".into(), stat(e.duration as f64));
        values.insert(
            "standing".into(),
            stat_text(e.standing as f64, if e.standing == 0 { "Victory" } else { "Defeat" }),
        );
        if let Some(team) = e.team {
            values.insert("team".into(), stat(team as f64));
        }
        values.insert("completionReason".into(), stat(if completed > 0.0 { 0.0 } else { 255.0 }));
        // Bungie's displayValue for fireteamId is a clamped 32-bit number; only value is real.
        values.insert("fireteamId".into(), stat_text(e.fireteam, "-2147483648"));
        values.insert("startSeconds".into(), stat(start as f64));
        values.insert("timePlayedSeconds".into(), stat(played as f64));
        values.insert("playerCount".into(), stat(e.player_count as f64));
        values.insert("teamScore".into(), stat(e.team_score.unwrap_or(score) as f64));

        let mut entry = json!({
            "standing": e.standing,
            "score": stat(score as f64),
            "player": {
                "destinyUserInfo": e.user_info,
                "characterClass": class_name,
                "classHash": class_hash,
                "raceHash": 898834093,
                "genderHash": 3111576190_i64,
                "characterLevel": 50,
                "lightLevel": e.light,
                "emblemHash": e.emblem_hash,
            },
            "characterId": e.character_id,
            "values": Value::Object(values),
        });

        if !rng.chance(self.config.no_extended_fraction) {
            let precision = rng.range(0, kills);
            let mut ext = Map::new();
            ext.insert("precisionKills".into(), stat(precision as f64));
            ext.insert("weaponKillsGrenade".into(), stat(rng.range(0, 4) as f64));
            ext.insert("weaponKillsMelee".into(), stat(rng.range(0, 4) as f64));
            ext.insert("weaponKillsSuper".into(), stat(rng.range(0, 5) as f64));
            ext.insert("weaponKillsAbility".into(), stat(rng.range(0, 6) as f64));
            let medal_count = rng.range(0, 3);
            let mut earned = 0;
            for _ in 0..medal_count {
                let key = *rng.pick(&MEDALS);
                let n = rng.range(1, 3);
                if !ext.contains_key(key) {
                    ext.insert(key.into(), stat(n as f64));
                    earned += n;
                }
            }
            ext.insert("allMedalsEarned".into(), stat(earned as f64));
            let mut weapons = Vec::new();
            let mut used = HashSet::new();
            for _ in 0..rng.range(0, 3) {
                let reference_id = *rng.pick(&WEAPONS);
                if !used.insert(reference_id) {
                    continue;
                }
                let k = rng.range(1, 15);
                let pk = rng.range(0, k);
                weapons.push(json!({
                    "referenceId": reference_id,
                    "values": {
                        "uniqueWeaponKills": stat(k as f64),
                        "uniqueWeaponPrecisionKills": stat(pk as f64),
                        "uniqueWeaponKillsPrecisionKills": stat(round3(pk as f64 / k as f64)),
                    }
                }));
            }
            entry["extended"] = json!({"weapons": weapons, "values": Value::Object(ext)});
        }
        entry
    }

    fn clan(&mut self, players: &[Player]) -> Clan {
        let group_id = (3_000_000 + self.rng.below(1_000_000)).to_string();
        let mut members: Vec<ClanMember> = players
            .iter()
            .map(|p| ClanMember {
                destiny_user_info: p.card(&p.primary),
                membership_id: p.primary.membership_id.clone(),
                display_name: p.platform_name.clone(),
                bungie_name: Some(p.bungie_name()),
            })
            .collect();
        // Joined before Bungie names existed and never came back: no name at all.
        let old_id = self.unique_id("46116860186");
        members.insert(
            1,
            ClanMember {
                destiny_user_info: json!({
                    "iconPath": "/img/theme/destiny/icons/icon_psn.png",
                    "membershipType": 2,
                    "membershipId": old_id,
                    "displayName": "Harrax_Gamer_2017",
                }),
                membership_id: old_id,
                display_name: "Harrax_Gamer_2017".into(),
                bungie_name: None,
            },
        );
        // An empty Bungie name and no code is no name either.
        let blank_id = self.unique_id("46116860186");
        members.push(ClanMember {
            destiny_user_info: json!({
                "iconPath": "/img/theme/bungienet/icons/steamLogo.png",
                "crossSaveOverride": 0,
                "isPublic": false,
                "membershipType": 3,
                "membershipId": blank_id,
                "displayName": "",
                "bungieGlobalDisplayName": "",
            }),
            membership_id: blank_id,
            display_name: String::new(),
            bungie_name: None,
        });
        let page_size = if members.len() > 2 * ROSTER_PAGE_SIZE { ROSTER_PAGE_SIZE } else { members.len().div_ceil(2) };
        Clan { group_id, pages: members.chunks(page_size.max(1)).map(<[ClanMember]>::to_vec).collect() }
    }
}

struct EntryParams<'a> {
    user_info: &'a Value,
    character_id: &'a str,
    class_index: usize,
    light: i64,
    emblem_hash: i64,
    standing: i64,
    team: Option<i64>,
    team_score: Option<i64>,
    duration: i64,
    player_count: i64,
    fireteam: f64,
}

/// A tracked player's platform name: the Bungie name for player 0, a gamertag-like one
/// (`xX_Hawkmoon_Xx`) for the others. Not drawn from the generator, so adding it changed no
/// other value of any world.
fn platform_name_of(index: usize, name: &str) -> String {
    if index == 0 {
        name.to_string()
    } else {
        format!("xX_{}_Xx", name.replace(' ', "_"))
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// `{"basic": {"value": v, "displayValue": "…"}}`, the shape of every Bungie stat.
pub fn stat(value: f64) -> Value {
    let display = if value.fract() == 0.0 { format!("{}", value as i64) } else { format!("{value}") };
    stat_text(value, &display)
}

fn stat_text(value: f64, display: &str) -> Value {
    json!({"basic": {"value": value, "displayValue": display}})
}

fn team_json(team_id: i64, score: i64, won: bool, name: &str) -> Value {
    json!({
        "teamId": team_id,
        "standing": stat_text(if won { 0.0 } else { 1.0 }, if won { "Victory" } else { "Defeat" }),
        "score": stat(score as f64),
        "teamName": name,
    })
}
