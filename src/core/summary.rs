//! What a sync did, at each of its three levels, and the one place that words it.
//!
//! - [`Downloads`]: the reports one pass of downloads set out to fetch — stored new, found
//!   already stored (another tracked player was in the match), or left queued for a later try.
//! - [`PlayerSummary`]: one player's sync — its downloads, plus stuck activities, early reports
//!   refreshed, and what a whole-history rescan found.
//! - [`RoundSummary`]: a round over the players of a `--sync` — the sums, how many players were
//!   synced, and the problems already reported (players that failed, names not found).
//!
//! A one-off run prints a line per player and, for several players, a round line; a daemon
//! prints one line per round (the player lines go to the log, shown with `-v`).

use crate::core::bungie::envelope::ApiError;
use crate::core::plan::STUCK_AFTER_ATTEMPTS;
use crate::core::roster::GateCounts;

/// What became of the reports one pass of downloads set out to fetch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Downloads {
    /// Stored for the first time.
    pub new: usize,
    /// Stored already, by the time their turn came.
    pub already_stored: usize,
    /// Failed, or not tried before the round ended: still queued.
    pub left_queued: usize,
}

/// The outcome of one player's sync.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlayerSummary {
    pub new: usize,
    pub already_stored: usize,
    pub left_queued: usize,
    /// Queued activities that failed in many runs and wait for their daily try.
    pub stuck: usize,
    /// Reports fetched too early, fetched once more and replaced because they changed.
    pub refreshed: usize,
    /// Whether the player's whole history was walked.
    pub rescanned: bool,
    /// Matches the whole walk queued that a plain sync would have missed.
    pub found_by_rescan: usize,
}

impl PlayerSummary {
    /// Counts a pass of downloads in.
    pub fn add(&mut self, downloads: Downloads) {
        self.new += downloads.new;
        self.already_stored += downloads.already_stored;
        self.left_queued += downloads.left_queued;
    }
}

/// The figures of a round.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoundSummary {
    /// Players the round set out to sync.
    pub players: usize,
    /// Players synced completely.
    pub synced: usize,
    /// Activities stored for the first time.
    pub new: usize,
    /// Activities still queued for a later round.
    pub left_queued: usize,
    pub stuck: usize,
    pub refreshed: usize,
    /// Players whose whole history was walked, and what those walks found.
    pub rescanned: usize,
    pub found_by_rescan: usize,
    /// Problems already reported as they happened (players that failed, unknown names).
    pub problems: usize,
    /// Players that failed because Bungie.net could not be reached (counted in `problems` too):
    /// when nobody could be reached, the daemon reports an outage once instead of these
    /// failures every round.
    pub unreachable: usize,
    /// The roster gate: profiles read (stale reads among them) and players skipped.
    pub gate: GateCounts,
    /// Remembered clans whose roster could not be read whole.
    pub rosters_failed: usize,
}

impl RoundSummary {
    /// Counts a player synced completely.
    pub fn add(&mut self, player: &PlayerSummary) {
        self.synced += 1;
        self.new += player.new;
        self.left_queued += player.left_queued;
        self.stuck += player.stuck;
        self.refreshed += player.refreshed;
        self.rescanned += usize::from(player.rescanned);
        self.found_by_rescan += player.found_by_rescan;
    }

    /// Counts a player that could not be synced (already reported).
    pub fn add_failure(&mut self, unreachable: bool) {
        self.problems += 1;
        self.unreachable += usize::from(unreachable);
    }
}

/// What a player's failure means for the round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlayerFailed {
    /// A request was not sent because a stop was asked for: the round stops.
    Stopped,
    /// Every try failed on a passing kind of error: Bungie.net is down or unreachable, and the
    /// next player would only fail the same way, slowly. The round stops, saying this.
    BungieDown(String),
    /// This player only (privacy, an unknown account): say this line, count a problem, and go
    /// on with the next player.
    Skip { line: String, unreachable: bool },
    /// Maintenance or a bad key: the round ends with the error itself.
    EndRound,
}

/// Decides what the failure `error` of the player named `label` means.
pub fn player_failed(label: &str, error: &ApiError) -> PlayerFailed {
    if *error == ApiError::Stopped {
        PlayerFailed::Stopped
    } else if error.is_transient() {
        PlayerFailed::BungieDown(format!(
            "could not sync {label}: {error}; stopped this round, unfinished work stays queued for the next run"
        ))
    } else if error.stops_round() {
        PlayerFailed::EndRound
    } else {
        let what = if *error == ApiError::Privacy { "skipping" } else { "error: could not sync" };
        PlayerFailed::Skip { line: format!("{what} {label}: {error}"), unreachable: error.is_transient() }
    }
}

/// A player's line: `NAME#0001: 3 new, 1 already stored, 0 left queued for retry (1.2 s)`.
pub fn player_line(label: &str, s: &PlayerSummary, seconds: f64) -> String {
    let mut extras = String::new();
    if s.rescanned {
        extras.push_str(&format!(", rescan found {} missed match(es)", s.found_by_rescan));
    }
    if s.refreshed > 0 {
        extras.push_str(&format!(", {} early report(s) refreshed", s.refreshed));
    }
    if s.stuck > 0 {
        extras.push_str(&format!(
            ", {} stuck (failed in {STUCK_AFTER_ATTEMPTS} runs or more; tried once a day)",
            s.stuck
        ));
    }
    format!(
        "{label}: {} new, {} already stored, {} left queued for retry{extras} ({seconds:.1} s)",
        s.new, s.already_stored, s.left_queued
    )
}

/// A one-off round's line, after the player lines of a sync of several players.
pub fn round_line(r: &RoundSummary, seconds: f64) -> String {
    let mut extras = String::new();
    if r.rescanned > 0 {
        extras.push_str(&format!(", rescans of {} found {} missed match(es)", r.rescanned, r.found_by_rescan));
    }
    if r.refreshed > 0 {
        extras.push_str(&format!(", {} early report(s) refreshed", r.refreshed));
    }
    extras.push_str(&gate_extras(r));
    format!(
        "synced {} of {} players: {} new, {} left queued for retry{extras} ({seconds:.1} s)",
        r.synced, r.players, r.new, r.left_queued
    )
}

/// A daemon round's end line.
pub fn daemon_round_line(round: u64, r: &RoundSummary, seconds: f64) -> String {
    let mut line = format!(
        "round {round} ended: {} of {} synced, {} new {}, {} still queued",
        r.synced,
        players(r.players),
        r.new,
        if r.new == 1 { "activity" } else { "activities" },
        r.left_queued
    );
    line.push_str(&gate_extras(r));
    if r.problems > 0 {
        line.push_str(&format!(", {} reported above", problems(r.problems)));
    }
    line.push_str(&format!(" ({seconds:.1} s)"));
    line
}

/// What the roster gate did, for the round lines: nothing when it skipped nobody, read nobody
/// as stale and every roster was read.
fn gate_extras(r: &RoundSummary) -> String {
    let mut extras = String::new();
    if r.gate.skipped > 0 {
        extras.push_str(&format!(", {} skipped by roster", players(r.gate.skipped)));
    }
    if r.gate.stale > 0 {
        extras.push_str(&format!(", {} read after --max-staleness", r.gate.stale));
    }
    if r.rosters_failed > 0 {
        extras.push_str(&format!(", {} clan roster(s) unread", r.rosters_failed));
    }
    extras
}

/// `1 player`, `3 players`.
pub fn players(n: usize) -> String {
    format!("{n} player{}", if n == 1 { "" } else { "s" })
}

/// `1 problem`, `2 problems`.
pub fn problems(n: usize) -> String {
    format!("{n} problem{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_lines_say_what_the_roster_gate_did() {
        let r = RoundSummary {
            players: 3,
            synced: 3,
            gate: GateCounts { read: 3, stale: 2, skipped: 297 },
            rosters_failed: 1,
            ..RoundSummary::default()
        };
        assert_eq!(
            round_line(&r, 1.0),
            "synced 3 of 3 players: 0 new, 0 left queued for retry, 297 players skipped by roster, 2 read after \
             --max-staleness, 1 clan roster(s) unread (1.0 s)"
        );
        assert_eq!(
            daemon_round_line(4, &r, 1.0),
            "round 4 ended: 3 of 3 players synced, 0 new activities, 0 still queued, 297 players skipped by roster, \
             2 read after --max-staleness, 1 clan roster(s) unread (1.0 s)"
        );
    }

    #[test]
    fn lines_say_what_happened() {
        let quiet = PlayerSummary { new: 3, already_stored: 1, ..PlayerSummary::default() };
        let busy = PlayerSummary {
            new: 1,
            left_queued: 2,
            stuck: 4,
            refreshed: 1,
            rescanned: true,
            found_by_rescan: 5,
            ..PlayerSummary::default()
        };
        let cases = [
            (player_line("A#0001", &quiet, 1.25), "A#0001: 3 new, 1 already stored, 0 left queued for retry (1.2 s)"),
            (
                player_line("B#0002", &busy, 0.0),
                "B#0002: 1 new, 0 already stored, 2 left queued for retry, rescan found 5 missed match(es), \
                 1 early report(s) refreshed, 4 stuck (failed in 10 runs or more; tried once a day) (0.0 s)",
            ),
        ];
        for (line, expected) in cases {
            assert_eq!(line, expected);
        }
        let mut round = RoundSummary { players: 3, ..RoundSummary::default() };
        round.add(&quiet);
        round.add(&busy);
        round.add_failure(true);
        assert_eq!(
            round_line(&round, 2.0),
            "synced 2 of 3 players: 4 new, 2 left queued for retry, rescans of 1 found 5 missed match(es), \
             1 early report(s) refreshed (2.0 s)"
        );
        assert_eq!(
            daemon_round_line(7, &round, 2.0),
            "round 7 ended: 2 of 3 players synced, 4 new activities, 2 still queued, 1 problem reported above (2.0 s)"
        );
        assert_eq!((round.problems, round.unreachable, round.stuck), (1, 1, 4));
    }

    #[test]
    fn downloads_add_up_in_a_player() {
        let mut s = PlayerSummary::default();
        s.add(Downloads { new: 2, already_stored: 1, left_queued: 3 });
        s.add(Downloads { new: 1, already_stored: 0, left_queued: 0 });
        assert_eq!((s.new, s.already_stored, s.left_queued), (3, 1, 3));
    }

    #[test]
    fn what_a_players_failure_means() {
        let network = ApiError::Network("reset".to_string());
        let unknown = ApiError::Bungie { code: 217, status: "x".to_string(), message: "m".to_string() };
        let cases = [
            (ApiError::Stopped, PlayerFailed::Stopped),
            (
                network.clone(),
                PlayerFailed::BungieDown(format!(
                    "could not sync P#0001: {network}; stopped this round, unfinished work stays queued for the next run"
                )),
            ),
            (ApiError::Maintenance(String::new()), PlayerFailed::EndRound),
            (ApiError::BadKey(String::new()), PlayerFailed::EndRound),
            (
                ApiError::Privacy,
                PlayerFailed::Skip { line: format!("skipping P#0001: {}", ApiError::Privacy), unreachable: false },
            ),
            (
                unknown.clone(),
                PlayerFailed::Skip { line: format!("error: could not sync P#0001: {unknown}"), unreachable: false },
            ),
        ];
        for (error, expected) in cases {
            assert_eq!(player_failed("P#0001", &error), expected, "{error:?}");
        }
    }
}
