//! Typed, lenient models of the Bungie responses dclisync reads.
//!
//! Bungie's JSON drifts: fields go missing, ids come as strings or numbers, a stat can be absent.
//! Every field here is optional or defaulted and every leaf is read leniently, so a surprising
//! value turns into `None` for that one field instead of a report that cannot be stored.

use std::collections::BTreeMap;

use serde::de::{DeserializeOwned, Deserializer};
use serde::Deserialize;
use serde_json::Value;

/// Reads any JSON into `Some(T)` when it has T's shape, `None` otherwise; never fails.
fn lenient<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Option<T>, D::Error> {
    let value = Value::deserialize(d)?;
    Ok(serde_json::from_value(value).ok())
}

/// Reads a JSON array, keeping the elements that have T's shape; anything else is empty.
fn lenient_vec<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Vec<T>, D::Error> {
    let value = Value::deserialize(d)?;
    Ok(match value {
        Value::Array(items) => items.into_iter().filter_map(|v| serde_json::from_value(v).ok()).collect(),
        _ => Vec::new(),
    })
}

/// Reads a JSON object into a map, keeping the entries whose values have T's shape.
fn lenient_map<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<BTreeMap<String, T>, D::Error> {
    let value = Value::deserialize(d)?;
    Ok(match value {
        Value::Object(items) => {
            items.into_iter().filter_map(|(k, v)| serde_json::from_value(v).ok().map(|v| (k, v))).collect()
        }
        _ => BTreeMap::new(),
    })
}

/// An integer from a JSON number or a decimal string (Bungie sends 64-bit ids as strings).
/// Ids above `i64::MAX` keep their bits, as sqlite stores 64-bit signed integers.
pub fn int_of(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_u64().map(|u| u as i64))
            .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f.trunc() as i64)),
        Value::String(s) => {
            let s = s.trim();
            s.parse::<i64>().ok().or_else(|| s.parse::<u64>().ok().map(|u| u as i64))
        }
        _ => None,
    }
}

fn lenient_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(int_of(&Value::deserialize(d)?))
}

fn lenient_float<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|f: &f64| f.is_finite()))
}

fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => Some(s),
        _ => None,
    })
}

fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Bool(b) => Some(b),
        _ => None,
    })
}

/// A user card, as in search results, profiles, PGCR entries and clan member lists.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UserCard {
    #[serde(deserialize_with = "lenient_int")]
    pub membership_id: Option<i64>,
    #[serde(deserialize_with = "lenient_int")]
    pub membership_type: Option<i64>,
    #[serde(deserialize_with = "lenient_int")]
    pub cross_save_override: Option<i64>,
    #[serde(deserialize_with = "lenient_string")]
    pub display_name: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub bungie_global_display_name: Option<String>,
    #[serde(deserialize_with = "lenient_int")]
    pub bungie_global_display_name_code: Option<i64>,
    #[serde(deserialize_with = "lenient_bool")]
    pub is_public: Option<bool>,
    #[serde(deserialize_with = "lenient_string")]
    pub date_last_played: Option<String>,
}

impl UserCard {
    /// The Bungie name and code, when the card has a usable one (a non-empty name and a code).
    pub fn bungie_name(&self) -> Option<(&str, i64)> {
        let name = self.bungie_global_display_name.as_deref().filter(|n| !n.trim().is_empty())?;
        let code = self.bungie_global_display_name_code.filter(|c| (0..=9999).contains(c))?;
        Some((name, code))
    }
}

/// `{"basic": {"value": 1.0, "displayValue": "1"}}`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Stat {
    #[serde(deserialize_with = "lenient")]
    pub basic: Option<StatValue>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StatValue {
    #[serde(deserialize_with = "lenient_float")]
    pub value: Option<f64>,
}

impl Stat {
    pub fn value(&self) -> Option<f64> {
        self.basic.as_ref().and_then(|b| b.value)
    }
}

/// The value of the stat `key` in a stats map, if present and numeric.
pub fn stat(values: &BTreeMap<String, Stat>, key: &str) -> Option<f64> {
    values.get(key).and_then(Stat::value)
}

/// A post-game carnage report (`Response` of PostGameCarnageReport).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Pgcr {
    #[serde(deserialize_with = "lenient_string")]
    pub period: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub activity_details: Option<ActivityDetails>,
    #[serde(deserialize_with = "lenient_vec")]
    pub entries: Vec<Entry>,
    #[serde(deserialize_with = "lenient_vec")]
    pub teams: Vec<Team>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ActivityDetails {
    #[serde(deserialize_with = "lenient_int")]
    pub reference_id: Option<i64>,
    #[serde(deserialize_with = "lenient_int")]
    pub director_activity_hash: Option<i64>,
    #[serde(deserialize_with = "lenient_int")]
    pub instance_id: Option<i64>,
    #[serde(deserialize_with = "lenient_int")]
    pub mode: Option<i64>,
    #[serde(deserialize_with = "lenient_vec")]
    pub modes: Vec<i64>,
    #[serde(deserialize_with = "lenient_bool")]
    pub is_private: Option<bool>,
    #[serde(deserialize_with = "lenient_int")]
    pub membership_type: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Entry {
    #[serde(deserialize_with = "lenient")]
    pub player: Option<EntryPlayer>,
    #[serde(deserialize_with = "lenient_int")]
    pub character_id: Option<i64>,
    #[serde(deserialize_with = "lenient_map")]
    pub values: BTreeMap<String, Stat>,
    #[serde(deserialize_with = "lenient")]
    pub extended: Option<Extended>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EntryPlayer {
    #[serde(deserialize_with = "lenient")]
    pub destiny_user_info: Option<UserCard>,
    #[serde(deserialize_with = "lenient_int")]
    pub class_hash: Option<i64>,
    #[serde(deserialize_with = "lenient_int")]
    pub light_level: Option<i64>,
    #[serde(deserialize_with = "lenient_int")]
    pub emblem_hash: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Extended {
    #[serde(deserialize_with = "lenient_map")]
    pub values: BTreeMap<String, Stat>,
    #[serde(deserialize_with = "lenient")]
    pub weapons: Option<Vec<Weapon>>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Weapon {
    #[serde(deserialize_with = "lenient_int")]
    pub reference_id: Option<i64>,
    #[serde(deserialize_with = "lenient_map")]
    pub values: BTreeMap<String, Stat>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Team {
    #[serde(deserialize_with = "lenient_int")]
    pub team_id: Option<i64>,
    #[serde(deserialize_with = "lenient")]
    pub score: Option<Stat>,
    #[serde(deserialize_with = "lenient")]
    pub standing: Option<Stat>,
}

/// One page of a character's activity history.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HistoryPage {
    #[serde(deserialize_with = "lenient_vec")]
    pub activities: Vec<HistoryActivity>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HistoryActivity {
    #[serde(deserialize_with = "lenient_string")]
    pub period: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub activity_details: Option<ActivityDetails>,
}

/// GetProfile with components 100 (profile) and 200 (characters).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Profile {
    #[serde(deserialize_with = "lenient")]
    pub profile: Option<ProfileComponent>,
    #[serde(deserialize_with = "lenient")]
    pub characters: Option<CharactersComponent>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProfileComponent {
    #[serde(deserialize_with = "lenient")]
    pub data: Option<ProfileData>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProfileData {
    #[serde(deserialize_with = "lenient")]
    pub user_info: Option<UserCard>,
    #[serde(deserialize_with = "lenient_string")]
    pub date_last_played: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CharactersComponent {
    #[serde(deserialize_with = "lenient_map")]
    pub data: BTreeMap<String, CharacterInfo>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CharacterInfo {
    #[serde(deserialize_with = "lenient_int")]
    pub character_id: Option<i64>,
    #[serde(deserialize_with = "lenient_int")]
    pub class_type: Option<i64>,
    #[serde(deserialize_with = "lenient_string")]
    pub date_last_played: Option<String>,
}

/// Account stats (`?groups=1`): every character, deleted ones too.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AccountStats {
    #[serde(deserialize_with = "lenient_vec")]
    pub characters: Vec<AccountCharacter>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AccountCharacter {
    #[serde(deserialize_with = "lenient_int")]
    pub character_id: Option<i64>,
    #[serde(deserialize_with = "lenient_bool")]
    pub deleted: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LinkedProfiles {
    #[serde(deserialize_with = "lenient_vec")]
    pub profiles: Vec<UserCard>,
}

/// One page of a clan's member list.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ClanMembersPage {
    #[serde(deserialize_with = "lenient_vec")]
    pub results: Vec<ClanMember>,
    #[serde(deserialize_with = "lenient_bool")]
    pub has_more: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ClanMember {
    #[serde(deserialize_with = "lenient")]
    pub destiny_user_info: Option<UserCard>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MembershipsById {
    #[serde(deserialize_with = "lenient_vec")]
    pub destiny_memberships: Vec<UserCard>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::response;

    #[test]
    fn reads_profile_account_and_clan_fixtures() {
        let profile: Profile = response("profile/profile_100_200.json");
        let characters = profile.characters.expect("characters component").data;
        let classes: Vec<(Option<i64>, Option<i64>)> =
            characters.values().map(|c| (c.character_id, c.class_type)).collect();
        assert_eq!(
            classes,
            vec![
                (Some(2_305_843_009_400_001_010), Some(1)),
                (Some(2_305_843_009_400_001_011), Some(0)),
                (Some(2_305_843_009_400_001_012), Some(2)),
            ]
        );
        let user = profile.profile.and_then(|p| p.data).and_then(|d| d.user_info).expect("user info");
        assert_eq!(user.bungie_name(), Some(("Kestrel", 42)));

        let account: AccountStats = response("profile/account_stats_with_deleted.json");
        let deleted: Vec<i64> =
            account.characters.iter().filter(|c| c.deleted == Some(true)).filter_map(|c| c.character_id).collect();
        assert_eq!(deleted, vec![2_305_843_009_400_001_019]);

        let page1: ClanMembersPage = response("clan/members_page1.json");
        let page2: ClanMembersPage = response("clan/members_page2.json");
        assert_eq!((page1.has_more, page2.has_more), (Some(true), Some(false)));
        let named = |p: &ClanMembersPage| {
            p.results.iter().filter_map(|m| m.destiny_user_info.as_ref()).filter(|c| c.bungie_name().is_some()).count()
        };
        assert_eq!((named(&page1), page1.results.len(), named(&page2)), (4, 5, 3), "one nameless member on page 1");
    }

    #[test]
    fn leaves_are_read_leniently() {
        let card: UserCard = serde_json::from_value(serde_json::json!({
            "membershipId": 4611686018400001001u64, "membershipType": "3", "displayName": 7,
            "bungieGlobalDisplayName": "", "bungieGlobalDisplayNameCode": 42, "isPublic": "yes"
        }))
        .expect("a card never fails");
        assert_eq!(card.membership_id, Some(4_611_686_018_400_001_001));
        assert_eq!(card.membership_type, Some(3));
        assert_eq!(card.display_name, None);
        assert_eq!(card.bungie_name(), None, "an empty name is no name");
        assert_eq!(card.is_public, None);
        assert_eq!(int_of(&serde_json::json!("18446744073709551615")), Some(-1), "u64 bits kept");
        assert_eq!(int_of(&serde_json::json!(2.9)), Some(2));
        assert_eq!(int_of(&serde_json::json!([1])), None);
    }
}
