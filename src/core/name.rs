//! Bungie names (`NAME#CODE`): parsing user input and formatting stored names.
//!
//! The rules, wherever the command line takes a player:
//! - the argument splits at its **last** `#`: a name may itself hold `#`, a code never does;
//! - the name is everything before it, kept as typed: spaces and non-ASCII characters are fine
//!   (the shell's quoting keeps them in one argument), but it must not be empty or blank;
//! - the code is 1 to 4 ASCII digits, no sign; it is shown and stored zero-padded to four digits
//!   (`Guardian#42` is `Guardian#0042`), the form Bungie shows and the dcli tables hold, so
//!   `#42` and `#0042` name the same player;
//! - anything else is a usage error whose message names the argument ([`NameError`]).
//!
//! Wherever a player is taken, a membership id does as well ([`PlayerRef`]), since Bungie's name
//! search misses some real accounts (names holding `:`, `?` or `>`, or error 217) and clan tools
//! hold ids: an argument without `#` that is all digits is a membership id on any platform
//! (`4611686018467284386`), and `TYPE:ID`, both all digits, names the platform too
//! (`3:4611686018467284386`; the type is 1 to 254). An id is a positive 64-bit number. An
//! argument with `#` is always a name, so the two forms never overlap.

use std::fmt;
use std::str::FromStr;

use crate::core::ids::MemberId;

/// The largest code a Bungie name can carry (four decimal digits).
const MAX_CODE_DIGITS: usize = 4;

/// A Bungie global name, such as `Guardian#0042`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BungieName {
    pub name: String,
    pub code: u16,
}

impl BungieName {
    pub fn new(name: impl Into<String>, code: u16) -> Self {
        Self { name: name.into(), code }
    }

    /// The code as shown and stored: zero-padded to four digits.
    pub fn code_text(&self) -> String {
        format_code(i64::from(self.code))
    }
}

/// Formats a Bungie name code zero-padded to four digits ("42" → "0042").
pub fn format_code(code: i64) -> String {
    format!("{code:04}")
}

/// Why a command-line argument is not a Bungie name (nor a membership id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameError {
    pub input: String,
    pub reason: &'static str,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "'{}' is not a player: {} (expected a Bungie name NAME#CODE such as Guardian#0042, or a membership \
             id such as 4611686018467284386 or 3:4611686018467284386)",
            self.input, self.reason
        )
    }
}

impl std::error::Error for NameError {}

impl FromStr for BungieName {
    type Err = NameError;

    /// Splits at the last `#`: names may themselves contain `#`, codes never do.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let err = |reason| NameError { input: input.to_string(), reason };
        let (name, code) = input.rsplit_once('#').ok_or_else(|| err("it has no #CODE"))?;
        if name.trim().is_empty() {
            return Err(err("the name before # is empty"));
        }
        if code.is_empty() || code.len() > MAX_CODE_DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err("the code after # must be 1 to 4 digits"));
        }
        let code = code.parse().map_err(|_| err("the code after # must be 1 to 4 digits"))?;
        Ok(BungieName::new(name, code))
    }
}

impl fmt::Display for BungieName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.name, self.code_text())
    }
}

/// The highest platform number Bungie uses (254: BungieNext, the Bungie.net account itself).
const MAX_MEMBERSHIP_TYPE: i64 = 254;

/// A player as the command line gives one: by Bungie name, or by membership id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PlayerRef {
    Name(BungieName),
    /// A membership id, with its platform (`membershipType`) when given as `TYPE:ID`.
    Id {
        platform: Option<i64>,
        id: MemberId,
    },
}

impl FromStr for PlayerRef {
    type Err = NameError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        if input.contains('#') {
            return input.parse().map(PlayerRef::Name);
        }
        let err = |reason| NameError { input: input.to_string(), reason };
        let (platform, id) = match input.split_once(':') {
            Some((platform, id)) => (Some(platform), id),
            None => (None, input),
        };
        let Some(id) = positive_number(id) else {
            return Err(err(match platform {
                Some(_) => "after TYPE: comes the membership id, all digits",
                None => "it has no #CODE, and is not a membership id (all digits, or TYPE:ID)",
            }));
        };
        let platform = match platform {
            None => None,
            Some(text) => match positive_number(text).filter(|t| *t <= MAX_MEMBERSHIP_TYPE) {
                Some(t) => Some(t),
                None => return Err(err("before : comes the platform, a number from 1 to 254")),
            },
        };
        Ok(PlayerRef::Id { platform, id: MemberId(id) })
    }
}

/// All ASCII digits, a positive number that fits in an `i64`.
fn positive_number(text: &str) -> Option<i64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<i64>().ok().filter(|n| *n > 0)
}

impl fmt::Display for PlayerRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlayerRef::Name(name) => name.fmt(f),
            PlayerRef::Id { platform: Some(platform), id } => write!(f, "{platform}:{id}"),
            PlayerRef::Id { platform: None, id } => write!(f, "{id}"),
        }
    }
}

impl From<BungieName> for PlayerRef {
    fn from(name: BungieName) -> Self {
        PlayerRef::Name(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn players_by_name_or_id() {
        let id = |platform, id| PlayerRef::Id { platform, id: MemberId(id) };
        let cases = [
            ("a name", "Guardian#42", PlayerRef::Name(BungieName::new("Guardian", 42)), "Guardian#0042"),
            ("a name with a colon", "a:1#7", PlayerRef::Name(BungieName::new("a:1", 7)), "a:1#0007"),
            ("digits and a code", "123#1", PlayerRef::Name(BungieName::new("123", 1)), "123#0001"),
            ("a bare id", "4611686018467284386", id(None, 4_611_686_018_467_284_386), "4611686018467284386"),
            (
                "a platform and id",
                "3:4611686018467284386",
                id(Some(3), 4_611_686_018_467_284_386),
                "3:4611686018467284386",
            ),
            ("BungieNext", "254:7094", id(Some(254), 7094), "254:7094"),
            ("leading zeros", "007", id(None, 7), "7"),
        ];
        for (what, input, expected, shown) in cases {
            let parsed: PlayerRef = input.parse().unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(parsed, expected, "{what}");
            assert_eq!(parsed.to_string(), shown, "{what}");
        }
    }

    #[test]
    fn rejects_what_is_neither_a_name_nor_an_id() {
        let cases = [
            ("Guardian", "not a membership id"),
            ("", "not a membership id"),
            ("0", "not a membership id"),
            ("-5", "not a membership id"),
            ("12a", "not a membership id"),
            ("+5", "not a membership id"),
            ("3:+5", "membership id, all digits"),
            ("99999999999999999999", "not a membership id"),
            ("3:", "membership id, all digits"),
            ("3:abc", "membership id, all digits"),
            (":7094", "platform"),
            ("255:7094", "platform"),
            ("0:7094", "platform"),
            ("x:7094", "platform"),
            ("Guardian#", "1 to 4 digits"),
        ];
        for (input, reason) in cases {
            let err = input.parse::<PlayerRef>().expect_err(input);
            assert!(err.to_string().contains(reason), "{input}: {err}");
            assert!(err.to_string().contains(&format!("'{input}'")), "the message names the argument: {err}");
        }
    }

    #[test]
    fn parses_and_pads_codes() {
        let cases = [
            ("Guardian#42", "Guardian", 42, "Guardian#0042"),
            ("Guardian#0042", "Guardian", 42, "Guardian#0042"),
            ("Zoë ☆#7", "Zoë ☆", 7, "Zoë ☆#0007"),
            ("a#b#1234", "a#b", 1234, "a#b#1234"),
            ("x#0", "x", 0, "x#0000"),
        ];
        for (input, name, code, shown) in cases {
            let parsed: BungieName = input.parse().unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(parsed.name, name, "{input}");
            assert_eq!(parsed.code, code, "{input}");
            assert_eq!(parsed.to_string(), shown, "{input}");
        }
    }

    #[test]
    fn rejects_malformed_names() {
        let cases = [
            ("Guardian", "no #CODE"),
            ("#1234", "empty"),
            ("   #1234", "empty"),
            ("Guardian#", "1 to 4 digits"),
            ("Guardian#12345", "1 to 4 digits"),
            ("Guardian#12a", "1 to 4 digits"),
            ("Guardian#-1", "1 to 4 digits"),
            ("Guardian#+1", "1 to 4 digits"),
        ];
        for (input, reason) in cases {
            let err = input.parse::<BungieName>().expect_err(input);
            assert!(err.to_string().contains(reason), "{input}: {err}");
            assert!(err.to_string().contains(input), "the message names the argument: {err}");
        }
    }

    proptest! {
        /// Formatting a name and parsing it back gives the same name, for any name text
        /// (including `#`, spaces and non-ASCII) and any code.
        #[test]
        fn names_round_trip(name in "\\PC*[^\\s#]\\PC*", code in 0u16..=9999) {
            let original = BungieName::new(name, code);
            let parsed: BungieName = original.to_string().parse().unwrap();
            prop_assert_eq!(parsed, original);
        }

        /// A player given by id, with or without its platform, formats to text that parses back
        /// to the same id (and never to a name).
        #[test]
        fn player_ids_round_trip(platform in proptest::option::of(1i64..=254), id in 1i64..=i64::MAX) {
            let original = PlayerRef::Id { platform, id: MemberId(id) };
            let parsed: PlayerRef = original.to_string().parse().unwrap();
            prop_assert_eq!(parsed, original);
        }

        /// Any text parses to a player or to an error, never a panic; a player formats back to
        /// text that parses the same, and a name keeps parsing as a name.
        #[test]
        fn parsing_any_player_is_total(input in "\\PC*") {
            if let Ok(parsed) = input.parse::<PlayerRef>() {
                let again: PlayerRef = parsed.to_string().parse().unwrap();
                prop_assert_eq!(again, parsed);
            }
        }

        /// Parsing never panics, and what parses formats back to a string that parses the same.
        #[test]
        fn parsing_arbitrary_text_is_total(input in "\\PC*") {
            if let Ok(parsed) = input.parse::<BungieName>() {
                let again: BungieName = parsed.to_string().parse().unwrap();
                prop_assert_eq!(again, parsed);
            }
        }
    }
}
