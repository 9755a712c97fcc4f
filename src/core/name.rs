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

use std::fmt;
use std::str::FromStr;

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

/// Why a command-line argument is not a Bungie name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameError {
    pub input: String,
    pub reason: &'static str,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "'{}' is not a Bungie name: {} (expected NAME#CODE, e.g. Guardian#0042)", self.input, self.reason)
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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
