//! Bounds on how much one answer may hold, so that the server cannot decide how much work,
//! memory or how many threads a sync spends.
//!
//! Each bound is far above anything Bungie sends (a profile has at most three live characters
//! and a few deleted ones, a report a few dozen players in two teams, a history page the 250
//! activities asked for) and well below what would hurt. An answer beyond one is refused as
//! malformed ([`ApiError::BadBody`], which names the bound): it is treated like a broken body,
//! retried and then left for a later round, never half used. The whole body is capped too,
//! in the HTTP client.

use super::envelope::ApiError;
use super::model::{
    AccountStats, ClanMembersPage, HistoryPage, LinkedProfiles, MembershipsById, Pgcr, Profile, UserCard,
};

/// Characters in one profile or account-stats answer, deleted ones included.
pub const MAX_CHARACTERS: usize = 100;
/// Player entries in one match report (a 6v6 with every seat changing hands is under 100).
pub const MAX_ENTRIES_PER_REPORT: usize = 500;
/// Teams in one match report.
pub const MAX_TEAMS_PER_REPORT: usize = 64;
/// Modes listed for one match.
pub const MAX_MODES_PER_REPORT: usize = 256;
/// Weapons listed for one player entry.
pub const MAX_WEAPONS_PER_ENTRY: usize = 256;
/// Activities on one history page (dclisync asks for 250).
pub const MAX_ACTIVITIES_PER_PAGE: usize = 1_000;
/// User cards in one answer: search results, linked profiles, memberships, clan members of a
/// page (Bungie pages clans by 100).
pub const MAX_CARDS: usize = 1_000;

/// An answer whose lists can be checked against their bounds.
pub trait Bounded {
    /// The first bound the answer exceeds, in words, if any.
    fn excess(&self) -> Option<String>;
}

/// `value` if it keeps within its bounds, else the error that refuses it.
pub fn bounded<T: Bounded>(value: T) -> Result<T, ApiError> {
    match value.excess() {
        None => Ok(value),
        Some(what) => Err(ApiError::BadBody(format!("{what}; refused as malformed"))),
    }
}

/// The words for `count` things over `max`, when it is.
fn over(count: usize, max: usize, what: &str) -> Option<String> {
    (count > max).then(|| format!("{count} {what} in one answer, more than the {max} allowed"))
}

/// Search results: the cards Bungie listed for a name.
pub fn cards(cards: Vec<UserCard>) -> Result<Vec<UserCard>, ApiError> {
    match over(cards.len(), MAX_CARDS, "user cards") {
        None => Ok(cards),
        Some(what) => Err(ApiError::BadBody(format!("{what}; refused as malformed"))),
    }
}

impl Bounded for Profile {
    fn excess(&self) -> Option<String> {
        over(self.characters.as_ref().map_or(0, |c| c.data.len()), MAX_CHARACTERS, "characters")
    }
}

impl Bounded for AccountStats {
    fn excess(&self) -> Option<String> {
        over(self.characters.len(), MAX_CHARACTERS, "characters")
    }
}

impl Bounded for HistoryPage {
    fn excess(&self) -> Option<String> {
        over(self.activities.len(), MAX_ACTIVITIES_PER_PAGE, "activities")
    }
}

impl Bounded for Pgcr {
    fn excess(&self) -> Option<String> {
        let modes = self.activity_details.as_ref().map_or(0, |d| d.modes.len());
        let weapons = self
            .entries
            .iter()
            .map(|e| e.extended.as_ref().and_then(|x| x.weapons.as_ref()).map_or(0, Vec::len))
            .max()
            .unwrap_or(0);
        over(self.entries.len(), MAX_ENTRIES_PER_REPORT, "player entries")
            .or_else(|| over(self.teams.len(), MAX_TEAMS_PER_REPORT, "teams"))
            .or_else(|| over(modes, MAX_MODES_PER_REPORT, "modes"))
            .or_else(|| over(weapons, MAX_WEAPONS_PER_ENTRY, "weapons of one player"))
    }
}

impl Bounded for LinkedProfiles {
    fn excess(&self) -> Option<String> {
        over(self.profiles.len(), MAX_CARDS, "linked profiles")
    }
}

impl Bounded for ClanMembersPage {
    fn excess(&self) -> Option<String> {
        over(self.results.len(), MAX_CARDS, "clan members")
    }
}

impl Bounded for MembershipsById {
    fn excess(&self) -> Option<String> {
        over(self.destiny_memberships.len(), MAX_CARDS, "memberships")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::bungie::model::{
        ActivityDetails, CharacterInfo, CharactersComponent, Entry, Extended, Team, Weapon,
    };

    fn pgcr(entries: usize, teams: usize, modes: usize, weapons: usize) -> Pgcr {
        let extended = Extended { weapons: Some(vec![Weapon::default(); weapons]), ..Extended::default() };
        Pgcr {
            activity_details: Some(ActivityDetails { modes: vec![5; modes], ..ActivityDetails::default() }),
            entries: vec![Entry { extended: Some(extended), ..Entry::default() }; entries],
            teams: vec![Team::default(); teams],
            ..Pgcr::default()
        }
    }

    #[test]
    fn reports_within_and_beyond_their_bounds() {
        let cases: &[(&str, Pgcr, Option<&str>)] = &[
            ("a real 6v6", pgcr(12, 2, 5, 6), None),
            ("at every bound", pgcr(MAX_ENTRIES_PER_REPORT, MAX_TEAMS_PER_REPORT, MAX_MODES_PER_REPORT, 3), None),
            ("too many entries", pgcr(MAX_ENTRIES_PER_REPORT + 1, 2, 5, 0), Some("player entries")),
            ("too many teams", pgcr(12, MAX_TEAMS_PER_REPORT + 1, 5, 0), Some("teams")),
            ("too many modes", pgcr(12, 2, MAX_MODES_PER_REPORT + 1, 0), Some("modes")),
            ("too many weapons", pgcr(2, 2, 5, MAX_WEAPONS_PER_ENTRY + 1), Some("weapons")),
        ];
        for (what, report, expected) in cases {
            match (bounded(report.clone()), expected) {
                (Ok(_), None) => {}
                (Err(ApiError::BadBody(m)), Some(word)) => {
                    assert!(m.contains(word) && m.contains("malformed"), "{what}: {m}")
                }
                (got, _) => panic!("{what}: {got:?}"),
            }
        }
    }

    #[test]
    fn lists_beyond_their_bounds_are_refused() {
        let history = HistoryPage { activities: vec![Default::default(); MAX_ACTIVITIES_PER_PAGE + 1] };
        assert!(bounded(history).is_err());
        let stats = AccountStats { characters: vec![Default::default(); MAX_CHARACTERS + 1] };
        assert!(bounded(stats).is_err());
        assert!(cards(vec![UserCard::default(); MAX_CARDS + 1]).is_err());
        assert!(cards(vec![UserCard::default(); 3]).is_ok());
    }

    /// Every answer a player's sync reads passes at its bound and is refused one beyond it,
    /// naming what it had too many of.
    #[test]
    fn every_answer_passes_at_its_bound_and_is_refused_beyond_it() {
        fn check<T: Bounded + std::fmt::Debug>(what: &str, at: T, beyond: T, word: &str) {
            assert_eq!(at.excess(), None, "{what} at its bound");
            let excess = beyond.excess().unwrap_or_else(|| panic!("{what} beyond its bound passed"));
            assert!(excess.contains(word), "{what}: {excess}");
        }
        let characters = |n: usize| CharactersComponent {
            data: (0..n).map(|i| (i.to_string(), CharacterInfo::default())).collect(),
        };
        let profile = |n| Profile { characters: Some(characters(n)), ..Profile::default() };
        check("profile", profile(MAX_CHARACTERS), profile(MAX_CHARACTERS + 1), "characters");
        let linked = |n| LinkedProfiles { profiles: vec![UserCard::default(); n] };
        check("linked profiles", linked(MAX_CARDS), linked(MAX_CARDS + 1), "linked profiles");
        let page = |n| ClanMembersPage { results: vec![Default::default(); n], has_more: None };
        check("clan page", page(MAX_CARDS), page(MAX_CARDS + 1), "clan members");
        let history = |n| HistoryPage { activities: vec![Default::default(); n] };
        check("history page", history(MAX_ACTIVITIES_PER_PAGE), history(MAX_ACTIVITIES_PER_PAGE + 1), "activities");
        let stats = |n| AccountStats { characters: vec![Default::default(); n] };
        check("account stats", stats(MAX_CHARACTERS), stats(MAX_CHARACTERS + 1), "characters");
        let memberships = |n| MembershipsById { destiny_memberships: vec![Default::default(); n] };
        check("memberships", memberships(MAX_CARDS), memberships(MAX_CARDS + 1), "memberships");
    }
}
