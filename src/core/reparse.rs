//! `--reparse`: deriving a report's rows again from its archive copy, with the rules in force,
//! without Bungie. Each copy is unpacked, read as a report, and normalized as a sync would
//! ([`crate::core::pgcr::normalize`]); its rows are rewritten only when their digest differs
//! from the one stored with the copy (the rows last derived from it), so a second reparse with
//! the same rules rewrites nothing and leaves the database byte for byte as it was. A copy that
//! cannot be read is reported and left alone, with its rows.

use crate::core::archive::{self, Archived};
use crate::core::bungie::model::Pgcr;
use crate::core::fixups::Rules;
use crate::core::ids::ActivityId;
use crate::core::pgcr::{self, PgcrRows};
use crate::core::refresh;

/// What the archive copy of a report now gives.
#[derive(Debug, Clone, PartialEq)]
pub enum Rederived {
    /// The same rows as last derived: nothing to write.
    Same,
    /// Other rows (or rows never derived from this copy): replace the stored ones.
    Rewrite { rows: Box<PgcrRows>, digest: String },
}

/// Derives the rows of report `id` from its archive copy with `rules`.
pub fn rederive(id: ActivityId, copy: &Archived, rules: &Rules) -> Result<Rederived, String> {
    let text = archive::unpack(&copy.copy).map_err(|e| format!("match {id}: {e}"))?;
    let report: Pgcr =
        serde_json::from_str(&text).map_err(|e| format!("match {id}: the archive copy is not a report ({e})"))?;
    let rows = pgcr::normalize(id, &report, rules).map_err(|e| format!("match {id}: {e}"))?;
    let digest = refresh::digest(&rows);
    if copy.digest.as_deref() == Some(digest.as_str()) {
        return Ok(Rederived::Same);
    }
    Ok(Rederived::Rewrite { rows: Box::new(rows), digest })
}

/// What a reparse did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Archive copies read.
    pub reparsed: u64,
    /// Reports whose rows were rewritten.
    pub changed: u64,
    /// Copies that could not be read (their rows stay).
    pub unreadable: u64,
    /// Stored reports without an archive copy (left as they are).
    pub without_copy: u64,
}

/// The closing line of a reparse.
pub fn summary_line(t: &Tally) -> String {
    let mut line = format!(
        "{} reports reparsed, {} changed, {} stored without an archive copy",
        t.reparsed, t.changed, t.without_copy
    );
    if t.unreadable > 0 {
        line.push_str(&format!(" ({} archive copies could not be read; their rows are kept)", t.unreadable));
    }
    if t.without_copy > 0 {
        line.push_str("; fetch their copies with --archive-missing");
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copy_of(name: &str) -> (ActivityId, String) {
        let whole = crate::testdata::json(&format!("pgcr/{name}.json"));
        let id = whole["Response"]["activityDetails"]["instanceId"].as_str().and_then(|s| s.parse().ok()).expect("id");
        (ActivityId(id), serde_json::to_string(&whole["Response"]).expect("json"))
    }

    #[test]
    fn rederiving_rewrites_only_what_the_rules_change() {
        let (id, text) = copy_of("competitive_clash");
        let builtin = Rules::builtin();
        let first = rederive(id, &Archived { copy: archive::pack(&text), digest: None }, builtin).expect("readable");
        let Rederived::Rewrite { rows, digest } = first else { panic!("no digest yet: rewrite") };
        let copy = Archived { copy: archive::pack(&text), digest: Some(digest) };
        assert_eq!(rederive(id, &copy, builtin), Ok(Rederived::Same), "same rules: nothing to write");
        let user = Rules::with_user("fixups.toml", "[[rule]]\nmode = 72\nset = 999\n").expect("valid");
        match rederive(id, &copy, &user) {
            Ok(Rederived::Rewrite { rows: new, .. }) => {
                assert_eq!((rows.activity.mode, new.activity.mode), (72, 999));
                assert!(new.modes.contains(&999));
            }
            other => panic!("a new rule rewrites: {other:?}"),
        }
    }

    #[test]
    fn unreadable_copies_are_named() {
        let (id, _) = copy_of("control_6v6");
        let cases = [
            ("damaged", Archived { copy: vec![1, 0xff, 0xff], digest: None }, "damaged"),
            ("truncated", Archived { copy: archive::pack("{\"period\": "), digest: None }, "not a report"),
            ("another match", Archived { copy: archive::pack(&copy_of("trials_3v3").1), digest: None }, "match"),
        ];
        for (name, copy, needle) in cases {
            let err = rederive(id, &copy, Rules::builtin()).expect_err(name);
            assert!(err.contains(needle) && err.contains(&id.to_string()), "{name}: {err}");
        }
    }

    #[test]
    fn summary_lines() {
        let cases = [
            (Tally { reparsed: 5, changed: 2, unreadable: 0, without_copy: 0 }, "5 reports reparsed, 2 changed, 0 stored without an archive copy"),
            (
                Tally { reparsed: 5, changed: 0, unreadable: 1, without_copy: 3 },
                "5 reports reparsed, 0 changed, 3 stored without an archive copy (1 archive copies could not be read; their rows are kept); fetch their copies with --archive-missing",
            ),
        ];
        for (tally, line) in cases {
            assert_eq!(summary_line(&tally), line);
        }
    }
}
