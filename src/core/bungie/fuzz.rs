//! Fuzzing the readers of Bungie's answers: arbitrary bytes, arbitrary JSON, and real answers
//! with a part replaced by something hostile (deep nesting, huge numbers, wrong types, NaN-like
//! text) go through every reader dclisync has — the envelope, search cards, linked profiles,
//! profile, account stats, history page, match report and its rows, clan page, memberships —
//! and none may panic. Each case runs every reader, so the default case count stays modest;
//! `PROPTEST_CASES=20000 cargo test --lib fuzz` runs it long.

use std::collections::HashSet;

use proptest::prelude::*;
use serde_json::Value;

use super::envelope::{classify, classify_as};
use super::model::{
    AccountStats, ClanMembersPage, HistoryPage, LinkedProfiles, MembershipsById, Pgcr, Profile, UserCard,
};
use crate::core::fixups::Rules;
use crate::core::ids::ActivityId;
use crate::core::pgcr::{normalize, MemberRow};
use crate::core::{plan, walk};

/// Real answers, as the starting points of the mutations.
const FIXTURES: &[&str] = &[
    "search/single.json",
    "search/crosssave.json",
    "search/linked_profiles.json",
    "profile/profile_100_200.json",
    "profile/account_stats_with_deleted.json",
    "profile/memberships_by_id.json",
    "history/page_mode5_page0.json",
    "pgcr/control_6v6.json",
    "pgcr/trials_3v3.json",
    "pgcr/mode0_rumble_fixup.json",
    "clan/members_page1.json",
    "errors/throttled.json",
];

/// Runs `body` through every reader, with and without a JSON content type.
fn read_everything(status: u16, body: &[u8]) {
    for content_type in [Some("application/json; charset=utf-8"), None, Some("text/html")] {
        let retry_after = Some(u64::MAX);
        if let Ok(Value::Array(items)) = classify(status, content_type, retry_after, body) {
            let cards: Vec<UserCard> = items.into_iter().filter_map(|v| serde_json::from_value(v).ok()).collect();
            let _ = crate::core::player::choose_card(&cards);
            let _ = cards.iter().filter_map(MemberRow::from_card).count();
        }
        if let Ok(linked) = classify_as::<LinkedProfiles>(status, content_type, retry_after, body) {
            let _ = format!("{linked:?}");
        }
        if let Ok(profile) = classify_as::<Profile>(status, content_type, retry_after, body) {
            let member = MemberRow {
                member_id: crate::core::ids::MemberId(1),
                platform_id: 3,
                display_name: None,
                bungie_display_name: None,
                bungie_display_name_code: None,
            };
            let _ = walk::read_profile(profile, &member);
        }
        let _ = classify_as::<AccountStats>(status, content_type, retry_after, body);
        if let Ok(page) = classify_as::<HistoryPage>(status, content_type, retry_after, body) {
            let _ = plan::scan_history_page(&page, &HashSet::new());
            let _ = plan::listed_activities(&page).count();
        }
        if let Ok(pgcr) = classify_as::<Pgcr>(status, content_type, retry_after, body) {
            let asked = pgcr.activity_details.as_ref().and_then(|d| d.instance_id).unwrap_or(1);
            let _ = normalize(ActivityId(asked), &pgcr, Rules::builtin());
            let _ = normalize(ActivityId(7), &pgcr, Rules::builtin());
        }
        let _ = classify_as::<ClanMembersPage>(status, content_type, retry_after, body);
        let _ = classify_as::<MembershipsById>(status, content_type, retry_after, body);
    }
}

/// Hostile JSON: wrong types, extreme numbers, NaN-like text, deep nesting.
fn hostile_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        Just(Value::from(1e300)),
        Just(Value::from(-1e300)),
        Just(Value::from(f64::MIN_POSITIVE)),
        prop_oneof![Just("NaN"), Just("Infinity"), Just("-inf"), Just("1e300"), Just(""), Just("\u{1b}[2J\n")]
            .prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..8).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Keys Bungie's answers use, so that hostile objects reach the readers' fields.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "Response",
            "ErrorCode",
            "ThrottleSeconds",
            "ErrorStatus",
            "Message",
            "activityDetails",
            "entries",
            "teams",
            "period",
            "instanceId",
            "mode",
            "modes",
            "values",
            "extended",
            "weapons",
            "player",
            "destinyUserInfo",
            "membershipId",
            "membershipType",
            "characterId",
            "characters",
            "data",
            "profiles",
            "activities",
            "results",
            "hasMore",
            "bungieGlobalDisplayName",
            "bungieGlobalDisplayNameCode",
            "basic",
            "value",
            "displayValue",
            "standing",
            "score",
            "teamId",
            "referenceId",
            "directorActivityHash",
        ])
        .prop_map(str::to_string),
        "[a-zA-Z]{1,8}",
    ]
}

/// Replaces the `n`th node (in a depth-first walk, modulo the node count) of `value`.
fn replace_node(value: &mut Value, n: usize, with: Value) {
    fn count(v: &Value) -> usize {
        1 + match v {
            Value::Array(items) => items.iter().map(count).sum(),
            Value::Object(map) => map.values().map(count).sum(),
            _ => 0,
        }
    }
    fn walk(v: &mut Value, n: &mut usize, with: &mut Option<Value>) {
        if *n == 0 {
            if let Some(w) = with.take() {
                *v = w;
            }
            return;
        }
        *n -= 1;
        match v {
            Value::Array(items) => items.iter_mut().for_each(|i| walk(i, n, with)),
            Value::Object(map) => map.values_mut().for_each(|i| walk(i, n, with)),
            _ => {}
        }
    }
    let mut n = n % count(value);
    walk(value, &mut n, &mut Some(with));
}

/// Text that JSON values cannot hold: numbers beyond every type, deep nesting, broken escapes.
fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("1e400".to_string()),
        Just("-1e400".to_string()),
        Just("18446744073709551616".to_string()),
        Just("-9223372036854775809".to_string()),
        Just("NaN".to_string()),
        Just("\"\\ud800\"".to_string()),
        (1usize..2000).prop_map(|d| format!("{}{}", "[".repeat(d), "]".repeat(d))),
        (1usize..2000).prop_map(|d| "{\"a\":".repeat(d)),
    ]
}

fn status() -> impl Strategy<Value = u16> {
    prop_oneof![Just(200u16), Just(500), Just(503), Just(429), 100u16..600]
}

proptest! {
    /// Arbitrary bytes: no reader panics.
    #[test]
    fn readers_survive_arbitrary_bytes(status in status(), body in prop::collection::vec(any::<u8>(), 0..512)) {
        read_everything(status, &body);
    }

    /// Arbitrary JSON, bare and as the `Response` of a successful envelope: no reader panics.
    #[test]
    fn readers_survive_arbitrary_json(status in status(), value in hostile_value(), code in prop_oneof![Just(1i64), any::<i64>()]) {
        read_everything(status, value.to_string().as_bytes());
        let envelope = serde_json::json!({"Response": value, "ErrorCode": code, "ThrottleSeconds": 0});
        read_everything(status, envelope.to_string().as_bytes());
    }

    /// A real answer with one part replaced by hostile JSON: no reader panics.
    #[test]
    fn readers_survive_real_answers_with_a_hostile_part(
        fixture in prop::sample::select(FIXTURES),
        node in any::<usize>(),
        with in hostile_value(),
    ) {
        let mut value = crate::testdata::json(fixture);
        replace_node(&mut value, node, with);
        read_everything(200, value.to_string().as_bytes());
    }

    /// A real answer with a stretch of its text replaced by hostile text: no reader panics.
    #[test]
    fn readers_survive_real_answers_with_hostile_text(
        fixture in prop::sample::select(FIXTURES),
        at in any::<usize>(),
        cut in 0usize..16,
        text in hostile_text(),
    ) {
        let original = crate::testdata::json(fixture).to_string();
        let mut at = at % (original.len() + 1);
        while !original.is_char_boundary(at) {
            at -= 1;
        }
        let mut end = (at + cut).min(original.len());
        while !original.is_char_boundary(end) {
            end -= 1;
        }
        let body = format!("{}{}{}", &original[..at], text, &original[end..]);
        read_everything(200, body.as_bytes());
    }
}
