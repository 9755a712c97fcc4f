//! What may reach the terminal and the log: text made safe to print on one line.
//!
//! Names, Bungie's `Message`s and error texts come from the server and are shown inside
//! dclisync's own lines. Printed raw, a control character in them could rewrite the user's
//! terminal (an escape sequence such as `ESC [2J` clears it) or forge a line in a log or the
//! journal (a line break). So every line the output layer writes passes [`one_line`] first:
//! control characters (C0, DEL, C1) and the Unicode marks that reorder text on screen come out
//! as visible escapes (`\n`, `\r`, `\t`, `\u{1b}`), and a backslash stays a backslash. Text
//! without such characters is returned as it is, without copying.

use std::borrow::Cow;
use std::fmt::Write;

/// Whether a character would act on the terminal instead of showing: a control character, or
/// a mark that reorders the text around it (bidirectional overrides and isolates).
fn acts_on_terminal(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `text` as one printable line: every character that would act on the terminal escaped.
pub fn one_line(text: &str) -> Cow<'_, str> {
    if !text.chars().any(acts_on_terminal) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if acts_on_terminal(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn escapes() {
        let cases: &[(&str, &str, &str)] = &[
            ("plain", "added Guardian#1234 to the sync list", "added Guardian#1234 to the sync list"),
            ("non-ascii stays", "Ünïcødé 名前 🎮", "Ünïcødé 名前 🎮"),
            ("clear screen", "a\u{1b}[2Jb", "a\\u{1b}[2Jb"),
            ("forged line", "name\nERROR: forged", "name\\nERROR: forged"),
            ("carriage return", "a\rb", "a\\rb"),
            ("tab", "a\tb", "a\\tb"),
            ("bell and nul", "\u{7}\0", "\\u{7}\\u{0}"),
            ("delete", "\u{7f}", "\\u{7f}"),
            ("c1 control", "\u{9b}2J", "\\u{9b}2J"),
            ("right-to-left override", "abc\u{202e}fed", "abc\\u{202e}fed"),
            ("backslash stays", "a\\nb", "a\\nb"),
        ];
        for (what, text, expected) in cases {
            assert_eq!(one_line(text), *expected, "{what}");
        }
        assert!(matches!(one_line("plain"), Cow::Borrowed(_)), "clean text is not copied");
    }

    proptest! {
        /// Whatever comes in, what goes out holds nothing that acts on the terminal, and text
        /// without such characters comes out unchanged.
        #[test]
        fn output_is_one_printable_line(text in any::<String>()) {
            let out = one_line(&text);
            prop_assert!(!out.chars().any(acts_on_terminal));
            if !text.chars().any(acts_on_terminal) {
                prop_assert_eq!(out.as_ref(), text.as_str());
            }
        }
    }
}
