//! A player's walk, decided: which characters there are, which of their histories to page,
//! what a failed read of the account means, and what the parts of a walk amount to.
//!
//! A walk reads the profile (live characters, with when each last played), the account's
//! character list when it is due (it also lists deleted characters; read once a day), and each
//! character's history in modes 32 then 5. Rules:
//! - the profile's own card replaces the stored member only when it names the same membership;
//! - a deleted character is walked after the live ones; the deleted characters are those the
//!   store already knows plus those the account lists now that the profile does not;
//! - an account read that fails on maintenance, a bad key or privacy ends the whole walk; any
//!   other failure is a note, and the walk goes on with the deleted characters already known;
//! - a character is walked when a rescan asks for every history, or when it may have played
//!   since its last complete walk;
//! - the parts are kept in the order a walk one request at a time would have found them (the
//!   account, then the characters in turn), up to the first part that failed or was cut
//!   short: what comes after it is thrown away, as if the walk had stopped there, so the next
//!   walk finds it again.

use crate::core::bungie::envelope::ApiError;
use crate::core::bungie::model::{AccountStats, Profile};
use crate::core::ids::CharacterId;
use crate::core::pgcr::MemberRow;
use crate::core::plan::{needs_history, CharacterState};
use crate::core::player::class_of_type;

/// What a profile says of a player.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileView {
    /// The member as the profile names it (or as stored, when the profile names nobody or
    /// somebody else).
    pub member: MemberRow,
    /// Each live character's class, as `(character id, class)`.
    pub classes: Vec<(CharacterId, i64)>,
    /// The live characters, in the profile's order.
    pub characters: Vec<(CharacterId, CharacterState)>,
}

/// Reads a profile answer for `member`.
pub fn read_profile(profile: Profile, member: &MemberRow) -> ProfileView {
    let data = profile.profile.and_then(|p| p.data).unwrap_or_default();
    let current = data
        .user_info
        .as_ref()
        .and_then(MemberRow::from_card)
        .filter(|m| m.member_id == member.member_id)
        .unwrap_or_else(|| member.clone());
    let mut view = ProfileView { member: current, classes: Vec::new(), characters: Vec::new() };
    for ch in profile.characters.map(|c| c.data.into_values()).into_iter().flatten() {
        let Some(id) = ch.character_id.map(CharacterId) else { continue };
        view.classes.push((id, class_of_type(ch.class_type)));
        view.characters.push((id, CharacterState::Live { last_played: ch.date_last_played }));
    }
    view
}

/// Whether a failed account read ends the whole walk (the rest of it is of no use).
pub fn ends_walk(error: &ApiError) -> bool {
    error.stops_round() || *error == ApiError::Privacy
}

/// How the read of the account's character list went.
#[derive(Debug, Clone, PartialEq)]
pub enum AccountRead {
    /// It was not due.
    NotDue,
    /// Bungie answered.
    Read(Result<AccountStats, ApiError>),
    /// The walk was halted before it was sent.
    Halted,
}

/// What the account read means for the walk.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccountView {
    /// The deleted characters to walk, in ascending order.
    pub deleted: Vec<CharacterId>,
    /// To record: the deleted characters the account lists now, and when it was read.
    pub record: Option<(Vec<CharacterId>, i64)>,
    /// A line for the user about a failed read the walk goes on without.
    pub note: Option<String>,
    /// A failure that ends the walk.
    pub failure: Option<ApiError>,
    /// False when the walk ends here (nothing after the account is kept).
    pub complete: bool,
}

/// Decides what an account read at `now` means, given the deleted characters already stored
/// and the live ones. `label` names the player in the note.
pub fn read_account(
    read: AccountRead,
    stored_deleted: &[CharacterId],
    live: &[(CharacterId, CharacterState)],
    now: i64,
    label: &str,
) -> AccountView {
    let known = AccountView { deleted: stored_deleted.to_vec(), complete: true, ..AccountView::default() };
    match read {
        AccountRead::NotDue => known,
        AccountRead::Read(Ok(stats)) => {
            let listed: Vec<CharacterId> = stats
                .characters
                .iter()
                .filter(|c| c.deleted == Some(true))
                .filter_map(|c| c.character_id.map(CharacterId))
                .filter(|id| !live.iter().any(|(l, _)| l == id))
                .collect();
            let mut all: Vec<CharacterId> = stored_deleted.iter().chain(&listed).copied().collect();
            all.sort_unstable();
            all.dedup();
            AccountView { deleted: all, record: Some((listed, now)), complete: true, ..AccountView::default() }
        }
        AccountRead::Read(Err(e)) if ends_walk(&e) => AccountView { failure: Some(e), ..AccountView::default() },
        AccountRead::Read(Err(e)) => {
            AccountView { note: Some(format!("{label}: could not read deleted characters: {e}")), ..known }
        }
        AccountRead::Halted => AccountView::default(),
    }
}

/// Whether a character's history is to be paged: always in a rescan, else when it may have
/// played since the walk that left `marker`.
pub fn walks_character(rescan: bool, state: &CharacterState, marker: Option<&str>) -> bool {
    rescan || needs_history(state, marker)
}

/// How one part of a walk (a character's histories) ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Part<W, E> {
    Done(W),
    Failed(E),
    /// Cut short because another part failed or the round ended: not a failure of its own.
    Halted,
}

/// The parts of a walk kept, and why it stopped short if it did.
#[derive(Debug, Clone, PartialEq)]
pub struct Assembled<W, E> {
    pub walks: Vec<W>,
    /// The first failure, if any part failed.
    pub failure: Option<E>,
    /// Whether every part completed.
    pub complete: bool,
}

/// Keeps the parts in order up to the first one that did not complete (none when the account
/// read did not), and finds the first failure among all of them.
pub fn assemble<W, E>(account_complete: bool, parts: impl IntoIterator<Item = Part<W, E>>) -> Assembled<W, E> {
    let mut assembled = Assembled { walks: Vec::new(), failure: None, complete: account_complete };
    for part in parts {
        match part {
            Part::Done(walk) if assembled.complete => assembled.walks.push(walk),
            Part::Done(_) => {}
            Part::Failed(e) => {
                assembled.complete = false;
                assembled.failure.get_or_insert(e);
            }
            Part::Halted => assembled.complete = false,
        }
    }
    assembled
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::bungie::model::{
        AccountCharacter, CharacterInfo, CharactersComponent, ProfileComponent, ProfileData, UserCard,
    };
    use crate::core::ids::MemberId;

    fn member(id: i64) -> MemberRow {
        MemberRow {
            member_id: MemberId(id),
            platform_id: 3,
            display_name: Some("stored".to_string()),
            bungie_display_name: Some("Stored".to_string()),
            bungie_display_name_code: Some("0001".to_string()),
        }
    }

    fn live(id: i64) -> (CharacterId, CharacterState) {
        (CharacterId(id), CharacterState::Live { last_played: Some("2024-05-01T10:00:00Z".to_string()) })
    }

    fn characters(ids: &[i64]) -> Vec<CharacterId> {
        ids.iter().copied().map(CharacterId).collect()
    }

    fn account(chars: &[(i64, bool)]) -> AccountStats {
        AccountStats {
            characters: chars
                .iter()
                .map(|&(id, deleted)| AccountCharacter { character_id: Some(id), deleted: Some(deleted) })
                .collect(),
        }
    }

    #[test]
    fn a_profile_names_the_member_only_when_it_is_the_same_membership() {
        let profile = |id: i64| Profile {
            profile: Some(ProfileComponent {
                data: Some(ProfileData {
                    user_info: Some(UserCard {
                        membership_id: Some(id),
                        membership_type: Some(3),
                        display_name: Some("renamed".to_string()),
                        ..UserCard::default()
                    }),
                    date_last_played: None,
                }),
            }),
            characters: Some(CharactersComponent {
                data: [
                    (
                        "21".to_string(),
                        CharacterInfo { character_id: Some(21), class_type: Some(1), date_last_played: None },
                    ),
                    (
                        "22".to_string(),
                        CharacterInfo { character_id: None, class_type: Some(0), date_last_played: None },
                    ),
                    (
                        "23".to_string(),
                        CharacterInfo { character_id: Some(23), class_type: Some(9), date_last_played: None },
                    ),
                ]
                .into_iter()
                .collect(),
            }),
        };
        let same = read_profile(profile(7), &member(7));
        assert_eq!(same.member.display_name.as_deref(), Some("renamed"));
        assert_eq!(
            same.classes,
            [(CharacterId(21), 1), (CharacterId(23), 255)],
            "a character without an id is passed over"
        );
        assert_eq!(same.characters.len(), 2);
        let other = read_profile(profile(8), &member(7));
        assert_eq!(other.member, member(7));
        assert_eq!(read_profile(Profile::default(), &member(7)).member, member(7));
    }

    #[test]
    fn what_an_account_read_means() {
        let live = [live(1), live(2)];
        let privacy = ApiError::Privacy;
        let network = ApiError::Network("reset".to_string());
        let cases: Vec<(&str, AccountRead, AccountView)> = vec![
            (
                "not due",
                AccountRead::NotDue,
                AccountView { deleted: characters(&[9]), complete: true, ..AccountView::default() },
            ),
            (
                "read",
                AccountRead::Read(Ok(account(&[(1, false), (5, true), (2, true), (9, true)]))),
                AccountView {
                    deleted: characters(&[5, 9]),
                    record: Some((characters(&[5, 9]), 100)),
                    complete: true,
                    ..AccountView::default()
                },
            ),
            (
                "private",
                AccountRead::Read(Err(privacy.clone())),
                AccountView { failure: Some(privacy), ..AccountView::default() },
            ),
            (
                "maintenance",
                AccountRead::Read(Err(ApiError::Maintenance("m".to_string()))),
                AccountView { failure: Some(ApiError::Maintenance("m".to_string())), ..AccountView::default() },
            ),
            (
                "failed",
                AccountRead::Read(Err(network.clone())),
                AccountView {
                    deleted: characters(&[9]),
                    note: Some(format!("P#0001: could not read deleted characters: {network}")),
                    complete: true,
                    ..AccountView::default()
                },
            ),
            ("halted", AccountRead::Halted, AccountView::default()),
        ];
        for (name, read, expected) in cases {
            assert_eq!(read_account(read, &[CharacterId(9)], &live, 100, "P#0001"), expected, "{name}");
        }
    }

    #[test]
    fn a_rescan_walks_every_character() {
        let idle = CharacterState::Live { last_played: Some("2024-05-01T10:00:00Z".to_string()) };
        assert!(!walks_character(false, &idle, Some("2024-05-01T10:00:00Z")));
        assert!(walks_character(true, &idle, Some("2024-05-01T10:00:00Z")));
        assert!(walks_character(false, &idle, None));
    }

    #[test]
    fn parts_are_kept_in_order_up_to_the_first_that_did_not_complete() {
        type P = Part<u8, &'static str>;
        type Case = (&'static str, bool, Vec<P>, Vec<u8>, Option<&'static str>, bool);
        let cases: Vec<Case> = vec![
            ("all done", true, vec![Part::Done(1), Part::Done(2)], vec![1, 2], None, true),
            (
                "failed in the middle",
                true,
                vec![Part::Done(1), Part::Failed("x"), Part::Done(3)],
                vec![1],
                Some("x"),
                false,
            ),
            ("halted first", true, vec![Part::Halted, Part::Done(2), Part::Failed("y")], vec![], Some("y"), false),
            ("first failure wins", true, vec![Part::Failed("a"), Part::Failed("b")], vec![], Some("a"), false),
            ("account cut short", false, vec![Part::Done(1)], vec![], None, false),
        ];
        for (name, account, parts, walks, failure, complete) in cases {
            assert_eq!(assemble(account, parts), Assembled { walks, failure, complete }, "{name}");
        }
    }
}
