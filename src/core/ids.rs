//! Ids as types: a Bungie membership id, a character id and an activity (instance) id are all
//! 64-bit numbers, and a function that takes one must not be handed another. Each has its own
//! newtype, so a signature says which id it takes and the compiler keeps them apart.
//!
//! They are plain numbers underneath: they print as the bare number ([`std::fmt::Display`]),
//! serialize as it (`#[serde(transparent)]`, so rows and snapshots read as before), and `.0`
//! reaches it where the number itself is needed (a URL, an SQL parameter). The store binds and
//! reads them as integers (its own `ToSql`/`FromSql` impls; the core knows nothing of sqlite).
//! What Bungie's JSON answers hold ([`crate::core::bungie::model`]) stays raw `i64`: it becomes
//! an id when it is turned into rows or plans.

use std::fmt;

use serde::Serialize;

/// Declares an id newtype over `i64` that displays and serializes as the bare number.
macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }
    };
}

id_type! {
    /// A Bungie membership id: one player on one platform (`member.member_id`).
    MemberId
}

id_type! {
    /// A character id (`character.character_id`).
    CharacterId
}

id_type! {
    /// An activity instance id: one match and its report (`activity.activity_id`).
    ActivityId
}

/// A membership as Bungie's player endpoints address it: the platform (membership type) and the
/// membership id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Membership {
    /// The membership type (platform): 1 Xbox, 2 PlayStation, 3 Steam, …
    pub platform: i64,
    pub id: MemberId,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_print_and_serialize_as_the_bare_number() {
        let member = MemberId(4_611_686_018_400_000_001);
        assert_eq!(member.to_string(), "4611686018400000001");
        assert_eq!(format!("{:>5}", CharacterId(7)), "    7", "formatting options pass through");
        assert_eq!(serde_json::to_string(&ActivityId(12_000_000_013)).unwrap(), "12000000013");
        assert_eq!(serde_json::to_string(&[member]).unwrap(), "[4611686018400000001]");
    }
}
