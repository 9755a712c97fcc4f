//! Typed, lenient models of the Bungie responses dclisync reads.
//!
//! Bungie's JSON drifts: fields go missing, ids come as strings or numbers, a stat can be absent.
//! Every field here is optional or defaulted and every leaf is read leniently, so a surprising
//! value turns into `None` for that one field instead of a report that cannot be stored.
//!
//! The readers below are serde visitors that accept any JSON value and keep what fits, skipping
//! the rest in place: they work the same on a body's bytes and on a `serde_json::Value`, so a
//! report is read straight from its bytes without building a `Value` first.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

/// A JSON value as the lenient leaf readers see it: a scalar, or something compound (skipped).
#[derive(Debug, Clone, Copy)]
enum Scalar<'a> {
    Null,
    Bool(bool),
    I64(i64),
    U64(u64),
    F64(f64),
    Str(&'a str),
    Compound,
}

/// Reads any JSON value, hands its scalar form to `F` and skips compound values in place.
struct LeafVisitor<T, F>(F, PhantomData<T>);

impl<'de, T, F: FnOnce(Scalar<'_>) -> Option<T>> Visitor<'de> for LeafVisitor<T, F> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Option<T>, E> {
        Ok((self.0)(Scalar::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Option<T>, E> {
        Ok((self.0)(Scalar::I64(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Option<T>, E> {
        Ok((self.0)(Scalar::U64(v)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Option<T>, E> {
        Ok((self.0)(Scalar::F64(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Option<T>, E> {
        Ok((self.0)(Scalar::Str(v)))
    }
    fn visit_unit<E>(self) -> Result<Option<T>, E> {
        Ok((self.0)(Scalar::Null))
    }
    fn visit_none<E>(self) -> Result<Option<T>, E> {
        Ok((self.0)(Scalar::Null))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<T>, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<T>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok((self.0)(Scalar::Compound))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<T>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok((self.0)(Scalar::Compound))
    }
}

fn leaf<'de, D: Deserializer<'de>, T>(d: D, read: impl FnOnce(Scalar<'_>) -> Option<T>) -> Result<Option<T>, D::Error> {
    d.deserialize_any(LeafVisitor(read, PhantomData))
}

/// A value that can be read leniently: `None` when the JSON does not have its shape. Reading
/// fails only on malformed JSON (and, from bytes, on an object that repeats a key).
pub trait Lenient: Sized {
    fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Self>, D::Error>;
}

/// Reads an object as T; anything else is skipped and read as `None`.
struct ObjectVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Option<T>, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map)).map(Some)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Option<T>, E> {
        Ok(None)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Option<T>, E> {
        Ok(None)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Option<T>, E> {
        Ok(None)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Option<T>, E> {
        Ok(None)
    }
    fn visit_str<E>(self, _: &str) -> Result<Option<T>, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Option<T>, E> {
        Ok(None)
    }
    fn visit_none<E>(self) -> Result<Option<T>, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<T>, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<T>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

/// Makes each model struct [`Lenient`]: an object is read field by field (each field lenient
/// itself), anything else is `None`.
macro_rules! lenient_objects {
    ($($t:ty),* $(,)?) => {$(
        impl Lenient for $t {
            fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Self>, D::Error> {
                d.deserialize_any(ObjectVisitor::<Self>(PhantomData))
            }
        }
    )*};
}

/// An element of `modes`: a JSON integer that fits an i64, as serde reads an `i64`.
impl Lenient for i64 {
    fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Self>, D::Error> {
        leaf(d, |s| match s {
            Scalar::I64(i) => Some(i),
            Scalar::U64(u) => i64::try_from(u).ok(),
            _ => None,
        })
    }
}

/// Reads one element or map value leniently.
struct LenientSeed<T>(PhantomData<T>);

impl<'de, T: Lenient> DeserializeSeed<'de> for LenientSeed<T> {
    type Value = Option<T>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<T>, D::Error> {
        T::read(d)
    }
}

/// Reads any JSON into `Some(T)` when it has T's shape, `None` otherwise.
fn lenient<'de, D: Deserializer<'de>, T: Lenient>(d: D) -> Result<Option<T>, D::Error> {
    T::read(d)
}

/// What a JSON array becomes: its elements that have T's shape, or only all of them.
#[derive(Clone, Copy, PartialEq)]
enum Keep {
    Fitting,
    AllOrNothing,
}

struct ArrayVisitor<T>(Keep, PhantomData<T>);

impl<'de, T: Lenient> Visitor<'de> for ArrayVisitor<T> {
    type Value = Option<Vec<T>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(256));
        let mut whole = true;
        while let Some(item) = seq.next_element_seed(LenientSeed::<T>(PhantomData))? {
            match item {
                Some(item) => out.push(item),
                None => whole = false,
            }
        }
        Ok((whole || self.0 == Keep::Fitting).then_some(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

/// Reads a JSON array, keeping the elements that have T's shape; anything else is empty.
fn lenient_vec<'de, D: Deserializer<'de>, T: Lenient>(d: D) -> Result<Vec<T>, D::Error> {
    Ok(d.deserialize_any(ArrayVisitor::<T>(Keep::Fitting, PhantomData))?.unwrap_or_default())
}

/// Reads a JSON array whose every element has T's shape; anything else is `None`.
fn lenient_all<'de, D: Deserializer<'de>, T: Lenient>(d: D) -> Result<Option<Vec<T>>, D::Error> {
    d.deserialize_any(ArrayVisitor::<T>(Keep::AllOrNothing, PhantomData))
}

struct MapVisitor<T>(PhantomData<T>);

impl<'de, T: Lenient> Visitor<'de> for MapVisitor<T> {
    type Value = BTreeMap<String, T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = BTreeMap::new();
        while let Some(key) = map.next_key::<String>()? {
            // A repeated key counts once, with its last value, as in a `serde_json::Value`.
            match map.next_value_seed(LenientSeed::<T>(PhantomData))? {
                Some(value) => out.insert(key, value),
                None => out.remove(&key),
            };
        }
        Ok(out)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(BTreeMap::new())
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(BTreeMap::new())
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(BTreeMap::new())
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(BTreeMap::new())
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(BTreeMap::new())
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(BTreeMap::new())
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(BTreeMap::new())
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(BTreeMap::new())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

/// Reads a JSON object into a map, keeping the entries whose values have T's shape.
fn lenient_map<'de, D: Deserializer<'de>, T: Lenient>(d: D) -> Result<BTreeMap<String, T>, D::Error> {
    d.deserialize_any(MapVisitor::<T>(PhantomData))
}

/// An integer from a JSON number or a decimal string (Bungie sends 64-bit ids as strings).
/// Ids above `i64::MAX` keep their bits, as sqlite stores 64-bit signed integers.
pub fn int_of(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                int_of_scalar(Scalar::I64(i))
            } else if let Some(u) = n.as_u64() {
                int_of_scalar(Scalar::U64(u))
            } else {
                n.as_f64().and_then(|f| int_of_scalar(Scalar::F64(f)))
            }
        }
        Value::String(s) => int_of_scalar(Scalar::Str(s)),
        _ => None,
    }
}

fn int_of_scalar(s: Scalar<'_>) -> Option<i64> {
    match s {
        Scalar::I64(i) => Some(i),
        Scalar::U64(u) => Some(u as i64),
        Scalar::F64(f) => f.is_finite().then(|| f.trunc() as i64),
        Scalar::Str(s) => {
            let s = s.trim();
            s.parse::<i64>().ok().or_else(|| s.parse::<u64>().ok().map(|u| u as i64))
        }
        _ => None,
    }
}

fn lenient_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    leaf(d, int_of_scalar)
}

fn lenient_float<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    leaf(d, |s| {
        match s {
            Scalar::I64(i) => Some(i as f64),
            Scalar::U64(u) => Some(u as f64),
            Scalar::F64(f) => Some(f),
            Scalar::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
        .filter(|f: &f64| f.is_finite())
    })
}

fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    leaf(d, |s| match s {
        Scalar::Str(s) => Some(s.to_string()),
        _ => None,
    })
}

fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    leaf(d, |s| match s {
        Scalar::Bool(b) => Some(b),
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
    /// All or nothing: a list with one malformed weapon reads as no list.
    #[serde(deserialize_with = "lenient_all")]
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
    #[serde(deserialize_with = "lenient_bool")]
    pub is_online: Option<bool>,
    /// Unix seconds (Bungie sends the number as a string).
    #[serde(deserialize_with = "lenient_int")]
    pub last_online_status_change: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MembershipsById {
    #[serde(deserialize_with = "lenient_vec")]
    pub destiny_memberships: Vec<UserCard>,
}

lenient_objects!(
    UserCard,
    Stat,
    StatValue,
    Pgcr,
    ActivityDetails,
    Entry,
    EntryPlayer,
    Extended,
    Weapon,
    Team,
    HistoryPage,
    HistoryActivity,
    Profile,
    ProfileComponent,
    ProfileData,
    CharactersComponent,
    CharacterInfo,
    AccountStats,
    AccountCharacter,
    LinkedProfiles,
    ClanMembersPage,
    ClanMember,
    MembershipsById,
);

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
