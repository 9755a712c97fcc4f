//! `--reparse`: deriving a report's rows again from its archive copy, with the rules in force,
//! without Bungie. Each copy is unpacked, read as a report, and normalized as a sync would
//! ([`crate::core::pgcr::normalize`]). Its rows are rewritten only when their digest differs
//! from the one stored with the copy (the rows last derived from it), so a second reparse with
//! the same rules rewrites nothing and leaves the database byte for byte as it was. A copy that
//! cannot be read is reported and left alone, with its rows.
//!
//! A changed report is rewritten table group by table group ([`Tables`]): beside the digest of
//! all its rows, the copy keeps one digest per group ([`part_digests`]), and only the groups
//! whose digest changed are written again. A mode rule then touches the `modes` rows (and the
//! `activity` row when it sets the primary mode), not the hundred-odd stats, weapon and medal
//! rows of the match. Without stored group digests (a copy kept by an earlier release, or rows
//! never derived from it) every group is written.

use std::fmt::Write as _;

use crate::core::archive::{self, Archived};
use crate::core::bungie::model::Pgcr;
use crate::core::fixups::Rules;
use crate::core::ids::ActivityId;
use crate::core::pgcr::{self, PgcrRows};
use crate::core::refresh;

/// The groups of tables a report's rows fill; `true`: write that group again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tables {
    /// The `activity` row (updated in place; every other row hangs off it).
    pub activity: bool,
    /// The `modes` rows.
    pub modes: bool,
    /// The `team_result` rows.
    pub teams: bool,
    /// The `member` and `character` rows the report fills in (shared with other matches, so
    /// only ever filled in, never deleted).
    pub members: bool,
    /// The `character_activity_stats` rows and the `weapon_result` and `medal_result` rows that
    /// hang off them.
    pub stats: bool,
}

impl Tables {
    /// Every group: the report's rows are replaced whole.
    pub const ALL: Tables = Tables { activity: true, modes: true, teams: true, members: true, stats: true };

    pub fn is_all(&self) -> bool {
        *self == Tables::ALL
    }
}

/// A report whose rows must be written again: the new rows, their digests, and which groups.
#[derive(Debug, Clone, PartialEq)]
pub struct Rewrite {
    pub rows: Box<PgcrRows>,
    pub digest: String,
    pub parts: String,
    pub tables: Tables,
}

/// What the archive copy of a report now gives.
#[derive(Debug, Clone, PartialEq)]
pub enum Rederived {
    /// The same rows as last derived: nothing to write.
    Same,
    /// Other rows (or rows never derived from this copy): write the groups that changed.
    Rewrite(Rewrite),
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
    let parts = part_digests(&rows);
    // Group digests are trusted only beside the digest they were stored with.
    let stored = copy.digest.as_ref().and(copy.parts.as_deref());
    let tables = tables_to_rewrite(stored, &parts);
    Ok(Rederived::Rewrite(Rewrite { rows: Box::new(rows), digest, parts, tables }))
}

/// The digests of a report's rows, one per group of [`Tables`] in its field order, as stored
/// beside the copy: five hexadecimal digests joined by spaces.
pub fn part_digests(rows: &PgcrRows) -> String {
    let members: Vec<_> = rows.players.iter().map(|p| (&p.member, &p.character)).collect();
    // The character id ties each stats row to its character.
    let stats: Vec<_> =
        rows.players.iter().map(|p| (p.character.character_id, &p.stats, &p.medals, &p.weapons)).collect();
    let mut out = String::with_capacity(5 * 17);
    use refresh::fnv;
    for hash in [fnv(&rows.activity), fnv(&rows.modes), fnv(&rows.teams), fnv(&members), fnv(&stats)] {
        if !out.is_empty() {
            out.push(' ');
        }
        let _ = write!(out, "{hash:016x}");
    }
    out
}

/// Which groups to write again, from the group digests stored with the copy (`None`, or not
/// five digests: unknown, so every group) and those of the rows derived now.
pub fn tables_to_rewrite(stored: Option<&str>, now: &str) -> Tables {
    let Some(stored) = stored else { return Tables::ALL };
    let old: Vec<&str> = stored.split(' ').collect();
    let new: Vec<&str> = now.split(' ').collect();
    if old.len() != 5 || new.len() != 5 {
        return Tables::ALL;
    }
    let differs = |i: usize| old[i] != new[i];
    Tables { activity: differs(0), modes: differs(1), teams: differs(2), members: differs(3), stats: differs(4) }
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

    #[test]
    fn only_every_group_is_all() {
        assert!(Tables::ALL.is_all());
        let one_short = [
            Tables { activity: false, ..Tables::ALL },
            Tables { modes: false, ..Tables::ALL },
            Tables { teams: false, ..Tables::ALL },
            Tables { members: false, ..Tables::ALL },
            Tables { stats: false, ..Tables::ALL },
        ];
        for tables in one_short {
            assert!(!tables.is_all(), "{tables:?}");
        }
        assert!(!Tables::default().is_all());
    }

    fn copy_of(name: &str) -> (ActivityId, String) {
        let whole = crate::testdata::json(&format!("pgcr/{name}.json"));
        let id = whole["Response"]["activityDetails"]["instanceId"].as_str().and_then(|s| s.parse().ok()).expect("id");
        (ActivityId(id), serde_json::to_string(&whole["Response"]).expect("json"))
    }

    fn copy(text: &str, digest: Option<String>, parts: Option<String>) -> Archived {
        Archived { copy: archive::pack(text), digest, parts }
    }

    #[test]
    fn rederiving_rewrites_only_the_tables_the_rules_change() {
        let (id, text) = copy_of("competitive_clash");
        let builtin = Rules::builtin();
        let Ok(Rederived::Rewrite(first)) = rederive(id, &copy(&text, None, None), builtin) else {
            panic!("no digest yet: rewrite")
        };
        assert_eq!(first.tables, Tables::ALL, "rows never derived from the copy: every table");
        let stored = copy(&text, Some(first.digest.clone()), Some(first.parts.clone()));
        assert_eq!(rederive(id, &stored, builtin), Ok(Rederived::Same), "same rules: nothing to write");

        let cases = [
            // (name, user rules, tables written again)
            (
                "a new primary mode",
                "[[rule]]\nmode = 72\nset = 999\n",
                Tables { activity: true, modes: true, ..Tables::default() },
            ),
            ("one more mode", "[[rule]]\nmode = 72\nadd = [999]\n", Tables { modes: true, ..Tables::default() }),
        ];
        for (name, rules, tables) in cases {
            let user = Rules::with_user("fixups.toml", rules).expect("valid");
            match rederive(id, &stored, &user) {
                Ok(Rederived::Rewrite(new)) => {
                    assert_eq!(new.tables, tables, "{name}");
                    assert!(new.rows.modes.contains(&999), "{name}");
                }
                other => panic!("{name}: a new rule rewrites: {other:?}"),
            }
            let without_parts = copy(&text, Some(first.digest.clone()), None);
            let Ok(Rederived::Rewrite(new)) = rederive(id, &without_parts, &user) else { panic!("{name}: rewrite") };
            assert_eq!(new.tables, Tables::ALL, "{name}: no group digests stored (an earlier release): every table");
        }
    }

    #[test]
    fn tables_to_rewrite_compares_group_by_group() {
        let now = "a m t p s";
        let cases = [
            ("unknown", None, Tables::ALL),
            ("an earlier format", Some("0123456789abcdef"), Tables::ALL),
            ("the same", Some("a m t p s"), Tables::default()),
            ("activity", Some("x m t p s"), Tables { activity: true, ..Tables::default() }),
            ("modes", Some("a x t p s"), Tables { modes: true, ..Tables::default() }),
            ("teams", Some("a m x p s"), Tables { teams: true, ..Tables::default() }),
            ("members", Some("a m t x s"), Tables { members: true, ..Tables::default() }),
            ("stats", Some("a m t p x"), Tables { stats: true, ..Tables::default() }),
        ];
        for (name, stored, tables) in cases {
            assert_eq!(tables_to_rewrite(stored, now), tables, "{name}");
        }
    }

    #[test]
    fn each_group_digest_follows_its_own_rows() {
        let (id, text) = copy_of("control_6v6");
        let whole = serde_json::from_str::<Pgcr>(&text).expect("report");
        let rows = pgcr::normalize(id, &whole, Rules::builtin()).expect("rows");
        let before = part_digests(&rows);
        type Change = fn(&mut PgcrRows);
        let cases: [(&str, Change, Tables); 5] = [
            ("activity", |r| r.activity.platform += 1, Tables { activity: true, ..Tables::default() }),
            ("modes", |r| r.modes.push(999), Tables { modes: true, ..Tables::default() }),
            ("teams", |r| r.teams[0].score += 1, Tables { teams: true, ..Tables::default() }),
            ("members", |r| r.players[0].character.class = 255, Tables { members: true, ..Tables::default() }),
            ("medals", |r| r.players[0].medals.clear(), Tables { stats: true, ..Tables::default() }),
        ];
        for (name, change, tables) in cases {
            let mut changed = rows.clone();
            change(&mut changed);
            assert_eq!(tables_to_rewrite(Some(&before), &part_digests(&changed)), tables, "{name}");
        }
    }

    #[test]
    fn unreadable_copies_are_named() {
        let (id, _) = copy_of("control_6v6");
        let cases = [
            ("damaged", Archived { copy: vec![1, 0xff, 0xff], digest: None, parts: None }, "damaged"),
            ("truncated", copy("{\"period\": ", None, None), "not a report"),
            ("another match", copy(&copy_of("trials_3v3").1, None, None), "match"),
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
