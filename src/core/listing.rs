//! What `--list` prints: per player on the sync list, their Bungie name, platform, last successful
//! sync in local time, activities stored, queued and stuck, and characters (deleted ones
//! marked); as plain aligned columns, or as JSON for scripts.
//!
//! The last sync is the end of dclisync's last complete sync of the player; for a player the
//! reference tool added and dclisync has not synced yet, the reference tool's own `sync.last_sync`.
//! In JSON, ids are decimal strings, as Bungie sends them, since they do not fit a JavaScript
//! number.
//!
//! Below the players, the text list names the clans `--import-group` remembers (their members,
//! how many are on the sync list, when their roster was last read whole) and what the roster
//! gate did in the last round that synced the whole list: profiles read, of those read only
//! because `--max-staleness` had passed, and players skipped. The JSON list is the players alone.
//!
//! Pure: the shell passes what the store holds and the local time zone.

use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::Serialize;

use crate::core::ids::CharacterId;
use crate::core::pgcr::MemberRow;
use crate::core::roster::GateCounts;
use crate::core::time::parse_rfc3339;

/// A player on the sync list, as the store knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedPlayer {
    pub member: MemberRow,
    /// When the last sync finished (RFC 3339 text, as stored); `None`: never.
    pub last_sync: Option<String>,
    /// Activities stored with one of the player's characters in them.
    pub stored: i64,
    /// Activities queued and not stored yet (stuck ones included).
    pub queued: i64,
    /// Queued activities whose download failed in many runs.
    pub stuck: i64,
    /// The player's characters, live ones first.
    pub characters: Vec<ListedCharacter>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedCharacter {
    pub character_id: CharacterId,
    /// 0 Titan, 1 Hunter, 2 Warlock, else unknown.
    pub class: i64,
    pub deleted: bool,
}

/// A clan `--import-group` remembers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RememberedGroup {
    pub group_id: i64,
    /// Unix seconds of the last complete roster read; none: never read whole.
    pub roster_read_at: Option<i64>,
    /// Members its last complete roster listed.
    pub members: i64,
    /// Of those, players on the sync list.
    pub tracked: i64,
}

/// The roster gate's figures of the last round that synced the whole list with the gate on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastGateRound {
    /// Unix seconds of the round's end.
    pub at: i64,
    pub counts: GateCounts,
    pub rosters_failed: i64,
}

/// The lines about remembered clans and the last round's gate, for the text list.
pub fn clan_lines(groups: &[RememberedGroup], last: Option<&LastGateRound>, tz: &TimeZone) -> Vec<String> {
    let mut out = Vec::new();
    if groups.is_empty() {
        return out;
    }
    out.push(String::new());
    out.push("CLANS (remembered by --import-group; forget one with --remove-group ID)".to_string());
    for g in groups {
        let read = g.roster_read_at.map_or_else(|| "never".to_string(), |t| local_unix(t, tz));
        out.push(format!(
            "clan {}: {} member(s), {} on the sync list, roster last read {read}",
            g.group_id, g.members, g.tracked
        ));
    }
    if let Some(last) = last {
        let failed = match last.rosters_failed {
            0 => String::new(),
            n => format!("; {n} clan roster(s) could not be read"),
        };
        out.push(format!(
            "last round ({}): {} profile(s) read, {} of them only after --max-staleness; {} skipped by roster{failed}",
            local_unix(last.at, tz),
            last.counts.read,
            last.counts.stale,
            last.counts.skipped
        ));
    }
    out
}

/// Unix seconds in `tz`, as `YYYY-MM-DD HH:MM:SS ZONE`.
fn local_unix(secs: i64, tz: &TimeZone) -> String {
    Timestamp::from_second(secs)
        .map(|t| t.to_zoned_datetime(tz.clone()).strftime("%Y-%m-%d %H:%M:%S %Z").to_string())
        .unwrap_or_else(|_| secs.to_string())
}

/// One line of the list, ready to print.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListRow {
    /// `Name#0042`, or the platform name or the id when the player has no Bungie name.
    pub name: String,
    /// Ids as decimal strings, as Bungie sends them (they do not fit a JavaScript number).
    pub member_id: String,
    pub platform: String,
    pub platform_id: i64,
    /// The last successful sync in local time, RFC 3339 with the local offset; `None`: never.
    pub last_sync: Option<String>,
    #[serde(skip)]
    last_sync_text: String,
    pub activities_stored: i64,
    pub activities_queued: i64,
    pub activities_stuck: i64,
    pub characters: Vec<CharacterEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CharacterEntry {
    pub character_id: String,
    pub class: String,
    pub deleted: bool,
}

/// The platform a membership type names.
pub fn platform_name(platform_id: i64) -> String {
    match platform_id {
        1 => "Xbox".to_string(),
        2 => "PlayStation".to_string(),
        3 => "Steam".to_string(),
        4 => "Blizzard".to_string(),
        5 => "Stadia".to_string(),
        6 => "Epic".to_string(),
        10 => "Demon".to_string(),
        254 => "BungieNext".to_string(),
        other => format!("platform {other}"),
    }
}

/// The class a dcli class number names.
pub fn class_name(class: i64) -> &'static str {
    match class {
        0 => "Titan",
        1 => "Hunter",
        2 => "Warlock",
        _ => "unknown class",
    }
}

/// The rows of the list, in the order given, with times in `tz`.
pub fn rows(players: &[ListedPlayer], tz: &TimeZone) -> Vec<ListRow> {
    players
        .iter()
        .map(|p| {
            let local = p.last_sync.as_deref().map(|text| local_time(text, tz));
            ListRow {
                name: p.member.label(),
                member_id: p.member.member_id.to_string(),
                platform: platform_name(p.member.platform_id),
                platform_id: p.member.platform_id,
                last_sync: local.as_ref().map(|(rfc, _)| rfc.clone()),
                last_sync_text: local.map_or_else(|| "never".to_string(), |(_, text)| text),
                activities_stored: p.stored,
                activities_queued: p.queued,
                activities_stuck: p.stuck,
                characters: p
                    .characters
                    .iter()
                    .map(|c| CharacterEntry {
                        character_id: c.character_id.to_string(),
                        class: class_name(c.class).to_string(),
                        deleted: c.deleted,
                    })
                    .collect(),
            }
        })
        .collect()
}

/// A stored time in `tz`: (RFC 3339 with the local offset, `YYYY-MM-DD HH:MM:SS ZONE`). Text that
/// is not a time is shown as it is.
fn local_time(text: &str, tz: &TimeZone) -> (String, String) {
    let Some(zoned) =
        parse_rfc3339(text).and_then(|s| Timestamp::from_second(s).ok()).map(|t| t.to_zoned_datetime(tz.clone()))
    else {
        return (text.to_string(), text.to_string());
    };
    (zoned.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string(), zoned.strftime("%Y-%m-%d %H:%M:%S %Z").to_string())
}

/// The list as plain aligned columns, a header first; numbers right-aligned.
pub fn table(rows: &[ListRow]) -> String {
    table_lines(rows).join("\n")
}

/// The lines of [`table`], each printed on its own (names are escaped line by line).
pub fn table_lines(rows: &[ListRow]) -> Vec<String> {
    const HEADER: [&str; 7] = ["PLAYER", "PLATFORM", "LAST SYNC", "STORED", "QUEUED", "STUCK", "CHARACTERS"];
    let cells: Vec<[String; 7]> = rows
        .iter()
        .map(|r| {
            let characters: Vec<String> = r
                .characters
                .iter()
                .map(|c| if c.deleted { format!("{} (deleted)", c.class) } else { c.class.clone() })
                .collect();
            [
                r.name.clone(),
                r.platform.clone(),
                r.last_sync_text.clone(),
                r.activities_stored.to_string(),
                r.activities_queued.to_string(),
                r.activities_stuck.to_string(),
                if characters.is_empty() { "none known".to_string() } else { characters.join(", ") },
            ]
        })
        .collect();
    let width = |i: usize| {
        cells.iter().map(|c| c[i].chars().count()).chain(std::iter::once(HEADER[i].chars().count())).max().unwrap_or(0)
    };
    let widths: Vec<usize> = (0..HEADER.len()).map(width).collect();
    let line = |cells: [&str; 7]| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let pad = " ".repeat(widths[i].saturating_sub(cell.chars().count()));
            let numeric = (3..=5).contains(&i);
            match (i, numeric) {
                (0, _) => out.push_str(&format!("{cell}{pad}")),
                (_, true) => out.push_str(&format!("  {pad}{cell}")),
                // The last column is not padded: no trailing spaces.
                (6, _) => out.push_str(&format!("  {cell}")),
                _ => out.push_str(&format!("  {cell}{pad}")),
            }
        }
        out
    };
    let mut out = vec![line(HEADER)];
    for c in &cells {
        out.push(line([&c[0], &c[1], &c[2], &c[3], &c[4], &c[5], &c[6]]));
    }
    out
}

/// The list as a JSON array, one object per player.
pub fn json(rows: &[ListRow]) -> String {
    serde_json::to_string_pretty(rows).unwrap_or_else(|_| "[]".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clans_and_the_last_gate_round() {
        assert!(clan_lines(&[], None, &TimeZone::UTC).is_empty(), "nothing without a remembered clan");
        let groups = [
            RememberedGroup { group_id: 42, roster_read_at: Some(1_717_200_000), members: 300, tracked: 298 },
            RememberedGroup { group_id: 43, roster_read_at: None, members: 0, tracked: 0 },
        ];
        let last = LastGateRound {
            at: 1_717_200_060,
            counts: GateCounts { read: 30, stale: 4, skipped: 270 },
            rosters_failed: 1,
        };
        assert_eq!(
            clan_lines(&groups, Some(&last), &TimeZone::UTC),
            vec![
                String::new(),
                "CLANS (remembered by --import-group; forget one with --remove-group ID)".to_string(),
                "clan 42: 300 member(s), 298 on the sync list, roster last read 2024-06-01 00:00:00 UTC".to_string(),
                "clan 43: 0 member(s), 0 on the sync list, roster last read never".to_string(),
                "last round (2024-06-01 00:01:00 UTC): 30 profile(s) read, 4 of them only after --max-staleness; 270 \
                 skipped by roster; 1 clan roster(s) could not be read"
                    .to_string(),
            ]
        );
    }
    use crate::core::ids::MemberId;

    fn member(id: i64, name: Option<(&str, &str)>, platform: i64) -> MemberRow {
        MemberRow {
            member_id: MemberId(id),
            platform_id: platform,
            display_name: Some(format!("platform name {id}")),
            bungie_display_name: name.map(|(n, _)| n.to_string()),
            bungie_display_name_code: name.map(|(_, c)| c.to_string()),
        }
    }

    fn players() -> Vec<ListedPlayer> {
        let character = |id, class, deleted| ListedCharacter { character_id: CharacterId(id), class, deleted };
        vec![
            ListedPlayer {
                member: member(4_611_686_018_400_000_001, Some(("Ñandú Fénix", "0042")), 3),
                last_sync: Some("2024-06-01T10:30:00+00:00".to_string()),
                stored: 1234,
                queued: 12,
                stuck: 2,
                characters: vec![
                    character(2_305_843_009_300_000_001, 0, false),
                    character(2_305_843_009_300_000_002, 2, false),
                    character(2_305_843_009_300_000_003, 255, true),
                ],
            },
            ListedPlayer {
                member: member(4_611_686_018_400_000_002, Some(("Sunbreaker", "7777")), 2),
                last_sync: Some("2024-01-15T23:59:59.123456+00:00".to_string()),
                stored: 7,
                queued: 0,
                stuck: 0,
                characters: vec![character(2_305_843_009_300_000_004, 1, false)],
            },
            ListedPlayer {
                member: member(4_611_686_018_400_000_003, None, 9),
                last_sync: None,
                stored: 0,
                queued: 0,
                stuck: 0,
                characters: vec![],
            },
        ]
    }

    /// Central European time, with its summer time, without a time zone database.
    fn berlin() -> TimeZone {
        TimeZone::posix("CET-1CEST,M3.5.0,M10.5.0/3").expect("a POSIX time zone")
    }

    #[test]
    fn the_list_in_local_time_as_columns_and_as_json() {
        let rows = rows(&players(), &berlin());
        insta::with_settings!({snapshot_path => "../../snapshots", prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!("list_table", table(&rows));
            insta::assert_snapshot!("list_json", json(&rows));
        });
    }

    #[test]
    fn names_times_and_numbers() {
        assert_eq!(platform_name(3), "Steam");
        assert_eq!(platform_name(77), "platform 77");
        assert_eq!(class_name(255), "unknown class");
        let utc = TimeZone::UTC;
        assert_eq!(
            local_time("2024-06-01T10:30:00Z", &utc),
            ("2024-06-01T10:30:00+00:00".to_string(), "2024-06-01 10:30:00 UTC".to_string())
        );
        assert_eq!(local_time("yesterday", &utc), ("yesterday".to_string(), "yesterday".to_string()));
        assert_eq!(json(&[]), "[]");
        assert_eq!(table(&[]).lines().count(), 1, "the header alone");
    }
}
