//! RFC 3339 timestamps as Bungie sends them and as the dcli readers compare them (as text).
//!
//! Only what dclisync needs: parse a timestamp into Unix seconds, and format Unix seconds as
//! `YYYY-MM-DDTHH:MM:SS+00:00`, the form the reference tool stores and the readers expect.
//!
//! Every time dclisync stores as text (a match's `period`, `sync.last_sync`, the times in its
//! own tables) is written in that one form, in UTC and without fractions: the readers compare
//! and sort these columns as text, which only works if no row uses another offset or precision.
//! Times dclisync only computes with are kept as Unix seconds instead.

/// Seconds in one day.
const SECONDS_PER_DAY: i64 = 86_400;

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` into Unix seconds (fractions dropped).
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &fraction[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            if rest.len() != 6 || rest.as_bytes()[3] != b':' {
                return None;
            }
            let hours: i64 = rest.get(1..3)?.parse().ok()?;
            let minutes: i64 = rest.get(4..6)?.parse().ok()?;
            sign * (hours * 3600 + minutes * 60)
        }
    };
    let days = days_from_civil(year, month, day);
    Some(days * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second - offset)
}

/// Formats Unix seconds as `YYYY-MM-DDTHH:MM:SS+00:00`.
pub fn format_utc(seconds: i64) -> String {
    let days = seconds.div_euclid(SECONDS_PER_DAY);
    let of_day = seconds.rem_euclid(SECONDS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}+00:00", of_day / 3600, of_day % 3600 / 60, of_day % 60)
}

/// Normalizes a Bungie timestamp to the stored form; text that is not a timestamp is kept as is,
/// so an odd value never makes a report unstorable.
pub fn normalize_period(text: &str) -> String {
    parse_rfc3339(text).map(format_utc).unwrap_or_else(|| text.to_string())
}

// Howard Hinnant's days-from-civil algorithm (proleptic Gregorian calendar).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The last day of a 400-year era, and the days around the leap-day rules, read and
    /// formatted back the same (the era's last day is where one term of the calendar counts).
    #[test]
    fn calendar_edges_round_trip() {
        let days = [
            "2000-02-29T00:00:00+00:00",
            "2000-12-31T23:59:59+00:00",
            "2001-01-01T00:00:00+00:00",
            "2100-02-28T12:00:00+00:00",
            "2100-03-01T12:00:00+00:00",
            "1999-12-31T00:00:00+00:00",
        ];
        for day in days {
            assert_eq!(parse_rfc3339(day).map(format_utc).as_deref(), Some(day), "{day}");
        }
        assert_eq!(format_utc(978_220_800 - 1), "2000-12-30T23:59:59+00:00");
    }

    #[test]
    fn normalizes_bungie_periods() {
        let cases = [
            ("2024-01-01T15:45:00Z", "2024-01-01T15:45:00+00:00"),
            ("2024-01-01T15:45:00.123Z", "2024-01-01T15:45:00+00:00"),
            ("2024-01-01T15:45:00+00:00", "2024-01-01T15:45:00+00:00"),
            ("2024-01-01T01:45:00+02:00", "2023-12-31T23:45:00+00:00"),
            ("2020-02-29T23:59:59-00:30", "2020-03-01T00:29:59+00:00"),
            ("1970-01-01T00:00:00Z", "1970-01-01T00:00:00+00:00"),
            ("not a date", "not a date"),
            ("", ""),
        ];
        for (input, stored) in cases {
            assert_eq!(normalize_period(input), stored, "{input}");
        }
    }

    #[test]
    fn parses_known_instants() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2024-01-06T03:33:00Z"), Some(1_704_511_980));
        assert_eq!(parse_rfc3339("2024-13-06T03:33:00Z"), None);
        assert_eq!(parse_rfc3339("2024-01-06T03:33:00"), None);
        assert_eq!(parse_rfc3339("2024-01-06T03:33:00+0200"), None);
    }

    proptest! {
        /// Formatting any instant and parsing it back gives the same instant.
        #[test]
        fn formatting_round_trips(seconds in -62_135_596_800i64..253_402_300_799) {
            prop_assert_eq!(parse_rfc3339(&format_utc(seconds)), Some(seconds));
        }

        /// Parsing arbitrary text never panics.
        #[test]
        fn parsing_is_total(text in "\\PC*") {
            let _ = parse_rfc3339(&text);
        }
    }
}
