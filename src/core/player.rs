//! Which Bungie account a name stands for, and the class of a character as the dcli tables
//! number it.
//!
//! A search by Bungie name (SearchDestinyPlayerByBungieName, on every platform) answers one user
//! card per platform account of that name. A cross-save player has one card per platform, all
//! with the same `crossSaveOverride`: the platform whose account holds their characters. So
//! ([`choose_card`], cards without a membership id left out):
//! - no card: the player is not found, and the message names them;
//! - one card: that is the player;
//! - several cards, all with the same non-zero `crossSaveOverride`: the card of that platform
//!   (its `membershipType` equals the override);
//! - otherwise (unlinked accounts sharing a name, or no card of the override's platform): ask
//!   LinkedProfiles of the first card, and take the profile played most recently, by
//!   `dateLastPlayed` ([`choose_linked`]); the first one when no date reads, and the first card
//!   when LinkedProfiles lists none.
//!
//! A player given by membership id ([`crate::core::name::PlayerRef::Id`]) is looked up with
//! LinkedProfiles of that id (on the platform given with it, else on all platforms, type -1),
//! which lists every Destiny account of the same Bungie.net account (accounts Bungie cannot
//! read come in `profilesWithErrors` and are not used). The account to sync is, in this order
//! ([`choose_for_id`]): the cross-save primary (a profile whose `membershipType` is its own
//! non-zero `crossSaveOverride`), so that the id of an overridden platform account still leads
//! to the account holding the characters; else the account of the id asked for; else the one
//! played most recently, as for a name. No profile: the id is not found. The player is then
//! stored and shown by their Bungie name, like one added by name.
//!
//! Classes: a profile's `classType` 0, 1 or 2 (Titan, Hunter, Warlock) is stored as it is,
//! anything else as 255, the number the dcli tables use for an unknown class
//! ([`class_of_type`]).

use crate::core::bungie::model::UserCard;
use crate::core::ids::MemberId;
use crate::core::pgcr::CLASS_UNKNOWN;
use crate::core::time::parse_rfc3339;

/// What a name search answered, decided.
#[derive(Debug, Clone, PartialEq)]
pub enum Choice {
    /// This card is the player.
    Use(UserCard),
    /// Several unrelated cards: ask LinkedProfiles of this one and take the latest played.
    AskLinked(UserCard),
    /// No such player.
    NotFound,
}

/// Picks the player from a name search: one card → it; several cards all linked by cross-save →
/// the card whose platform is their cross-save override; otherwise → LinkedProfiles of the first.
pub fn choose_card(cards: &[UserCard]) -> Choice {
    let usable: Vec<&UserCard> = cards.iter().filter(|c| c.membership_id.is_some()).collect();
    match usable.as_slice() {
        [] => Choice::NotFound,
        [only] => Choice::Use((*only).clone()),
        [first, ..] => {
            let override_type = first.cross_save_override.filter(|o| *o != 0);
            let all_linked = override_type.is_some() && usable.iter().all(|c| c.cross_save_override == override_type);
            if all_linked {
                if let Some(primary) = usable.iter().find(|c| c.membership_type == override_type) {
                    return Choice::Use((*primary).clone());
                }
            }
            Choice::AskLinked((*first).clone())
        }
    }
}

/// From LinkedProfiles, the profile played most recently (the first one when no dates parse).
pub fn choose_linked(profiles: &[UserCard]) -> Option<UserCard> {
    profiles
        .iter()
        .filter(|c| c.membership_id.is_some())
        .enumerate()
        .max_by_key(|(i, c)| (c.date_last_played.as_deref().and_then(parse_rfc3339), std::cmp::Reverse(*i)))
        .map(|(_, c)| c.clone())
}

/// From the LinkedProfiles of membership id `asked`: the cross-save primary, else the account
/// asked for, else the one played most recently; `None` when no profile has an id.
pub fn choose_for_id(profiles: &[UserCard], asked: MemberId) -> Option<UserCard> {
    let usable = || profiles.iter().filter(|c| c.membership_id.is_some());
    let primary =
        usable().find(|c| c.cross_save_override.is_some_and(|o| o != 0) && c.membership_type == c.cross_save_override);
    let named = || usable().find(|c| c.membership_id == Some(asked.0));
    primary.or_else(named).cloned().or_else(|| choose_linked(profiles))
}

/// The class number for a profile's `classType`: 0 Titan, 1 Hunter, 2 Warlock, else 255.
pub fn class_of_type(class_type: Option<i64>) -> i64 {
    class_type.filter(|c| (0..=2).contains(c)).unwrap_or(CLASS_UNKNOWN)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(id: i64, membership_type: i64, cross_save: i64, played: Option<&str>) -> UserCard {
        UserCard {
            membership_id: Some(id),
            membership_type: Some(membership_type),
            cross_save_override: Some(cross_save),
            date_last_played: played.map(str::to_string),
            ..Default::default()
        }
    }

    #[test]
    fn chooses_the_player_card() {
        let single = card(1, 3, 0, None);
        let cases = vec![
            ("no card", vec![], Choice::NotFound),
            ("one card", vec![single.clone()], Choice::Use(single.clone())),
            (
                "cross-save: the override platform",
                vec![card(1, 1, 3, None), card(2, 3, 3, None), card(3, 2, 3, None)],
                Choice::Use(card(2, 3, 3, None)),
            ),
            (
                "unlinked duplicates",
                vec![card(1, 1, 0, None), card(2, 2, 0, None)],
                Choice::AskLinked(card(1, 1, 0, None)),
            ),
            (
                "override names a platform with no card",
                vec![card(1, 1, 5, None), card(2, 2, 5, None)],
                Choice::AskLinked(card(1, 1, 5, None)),
            ),
            ("mixed overrides", vec![card(1, 1, 3, None), card(2, 3, 0, None)], Choice::AskLinked(card(1, 1, 3, None))),
        ];
        for (name, cards, expected) in cases {
            assert_eq!(choose_card(&cards), expected, "{name}");
        }
    }

    #[test]
    fn linked_profiles_pick_the_latest_played() {
        let profiles = [
            card(1, 1, 0, Some("2021-01-01T00:00:00Z")),
            card(2, 2, 0, Some("2024-05-01T00:00:00Z")),
            card(3, 3, 0, None),
        ];
        assert_eq!(choose_linked(&profiles).and_then(|c| c.membership_id), Some(2));
        let undated = [card(7, 1, 0, None), card(8, 2, 0, None)];
        assert_eq!(choose_linked(&undated).and_then(|c| c.membership_id), Some(7));
        assert_eq!(choose_linked(&[]), None);
    }

    #[test]
    fn search_fixtures_resolve_as_spec_says() {
        use crate::testdata::response;
        let id = |c: Choice| match c {
            Choice::Use(card) => ("use", card.membership_id),
            Choice::AskLinked(card) => ("ask linked", card.membership_id),
            Choice::NotFound => ("not found", None),
        };
        let single: Vec<UserCard> = response("search/single.json");
        assert_eq!(id(choose_card(&single)), ("use", Some(4_611_686_018_400_001_001)));
        let cross: Vec<UserCard> = response("search/crosssave.json");
        assert_eq!(id(choose_card(&cross)), ("use", Some(4_611_686_018_400_001_003)), "the override platform's card");
        let duplicate: Vec<UserCard> = response("search/duplicate.json");
        assert_eq!(id(choose_card(&duplicate)), ("ask linked", Some(4_611_686_018_400_001_505)));
        let linked: crate::core::bungie::model::LinkedProfiles = response("search/linked_profiles.json");
        assert_eq!(choose_linked(&linked.profiles).and_then(|c| c.membership_id), Some(4_611_686_018_400_001_005));
        let empty: Vec<UserCard> = response("search/empty.json");
        assert_eq!(id(choose_card(&empty)), ("not found", None));
    }

    #[test]
    fn an_id_leads_to_the_account_to_sync() {
        let id = |c: Option<UserCard>| c.and_then(|c| c.membership_id);
        let cases: Vec<(&str, Vec<UserCard>, i64, Option<i64>)> = vec![
            ("one account", vec![card(5, 3, 0, None)], 5, Some(5)),
            (
                "the overridden platform's id: the cross-save primary",
                vec![card(1, 2, 3, Some("2020-11-10T17:00:00Z")), card(2, 3, 3, None)],
                1,
                Some(2),
            ),
            ("the primary's own id", vec![card(1, 2, 3, None), card(2, 3, 3, None)], 2, Some(2)),
            (
                "unlinked accounts: the one asked for, though another played later",
                vec![card(7, 1, 0, Some("2024-01-01T00:00:00Z")), card(8, 2, 0, Some("2019-01-01T00:00:00Z"))],
                8,
                Some(8),
            ),
            (
                "a Bungie.net id: the latest played",
                vec![card(7, 1, 0, Some("2019-01-01T00:00:00Z")), card(8, 2, 0, Some("2024-01-01T00:00:00Z"))],
                7094,
                Some(8),
            ),
            ("no profile", vec![], 5, None),
        ];
        for (what, profiles, asked, expected) in cases {
            assert_eq!(id(choose_for_id(&profiles, MemberId(asked))), expected, "{what}");
        }
    }

    #[test]
    fn a_cross_save_answer_shaped_like_bungies_resolves_to_its_primary() {
        // Shaped as Bungie answers GetLinkedProfiles for a cross-save account (2025), with made-up
        // names and ids: one readable profile, on PSN, which is the override; the other
        // platforms come in profilesWithErrors.
        let linked: crate::core::bungie::model::LinkedProfiles = serde_json::from_str(
            r#"{"profiles": [{"dateLastPlayed": "2025-07-15T06:30:55Z", "isOverridden": false,
                "isCrossSavePrimary": true, "crossSaveOverride": 2, "applicableMembershipTypes": [1, 3, 5, 6, 2],
                "isPublic": false, "membershipType": 2, "membershipId": "4611686018400009312",
                "displayName": "Wanderer-PS", "bungieGlobalDisplayName": "Wanderer", "bungieGlobalDisplayNameCode": 1234}],
              "bnetMembership": {"membershipType": 254, "membershipId": "7000"},
              "profilesWithErrors": [{"errorCode": 1601, "infoCard": {"crossSaveOverride": 2,
                "membershipType": 1, "membershipId": "4611686018400001111"}}]}"#,
        )
        .unwrap();
        let chosen = choose_for_id(&linked.profiles, MemberId(7000)).unwrap();
        assert_eq!(chosen.membership_id, Some(4_611_686_018_400_009_312));
        assert_eq!(chosen.bungie_name(), Some(("Wanderer", 1234)));
    }

    #[test]
    fn classes_from_class_type() {
        assert_eq!(class_of_type(Some(0)), 0);
        assert_eq!(class_of_type(Some(2)), 2);
        assert_eq!(class_of_type(Some(3)), 255);
        assert_eq!(class_of_type(None), 255);
    }
}
