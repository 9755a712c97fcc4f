//! `--metrics-file`: the Prometheus text file written after a one-off sync and after every
//! daemon round, read back with a real Prometheus text parser and compared with what the run
//! did, as the fake Bungie and the database saw it.

use std::collections::BTreeMap;
use std::path::Path;

use prometheus_parse::{Scrape, Value};

use crate::common::{add_all, data_dir, Db, Dclisync, FakeBungie, World, WorldConfig, API_KEY};
use dclisync_testkit::fake::{FaultKind, LoggedRequest};

const PGCR_PREFIX: &str = "/Platform/Destiny2/Stats/PostGameCarnageReport/";

/// The file parsed: every sample as `name{label=value,…}` → value.
fn read_metrics(path: &Path) -> BTreeMap<String, f64> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).expect("Prometheus text format");
    let mut samples = BTreeMap::new();
    for s in scrape.samples {
        let value = match s.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => v,
            other => panic!("{}: unexpected {other:?}", s.metric),
        };
        let mut labels: Vec<String> = s.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        labels.sort();
        let key = if labels.is_empty() { s.metric } else { format!("{}{{{}}}", s.metric, labels.join(",")) };
        samples.insert(key, value);
    }
    assert!(samples.contains_key("dclisync_last_success_timestamp_seconds"), "{text}");
    samples
}

/// The sum of `dclisync_requests_total` samples whose key contains `filter`.
fn requests(m: &BTreeMap<String, f64>, filter: &str) -> u64 {
    m.iter()
        .filter(|(k, _)| k.starts_with("dclisync_requests_total{") && k.contains(filter))
        .map(|(_, v)| *v as u64)
        .sum()
}

fn throttle_answers(log: &[LoggedRequest]) -> u64 {
    log.iter().filter(|r| r.throttled || r.fault == Some(FaultKind::Throttle36)).count() as u64
}

#[test]
fn a_one_off_sync_writes_what_it_did() {
    let fake = FakeBungie::start(World::generate(&WorldConfig::small()), API_KEY);
    let dir = data_dir();
    add_all(dir.path(), &fake);
    fake.fail_next(FaultKind::Throttle36, 2, PGCR_PREFIX);
    let metrics = dir.path().join("textfile").join("dclisync.prom");
    std::fs::create_dir_all(metrics.parent().unwrap()).unwrap();
    let mark = fake.mark();
    let started = dclisync_now();
    let out = Dclisync::new(dir.path())
        .api(&fake)
        .env("DCLISYNC_MAX_RPS", "0")
        .args(["--sync", "--metrics-file"])
        .arg(&metrics)
        .run();
    out.assert_success();
    let log = fake.requests_since(mark);
    let m = read_metrics(&metrics);
    let stored = Db::open(dir.path()).activity_ids().len() as f64;
    assert_eq!(m["dclisync_reports_stored_total"], stored, "{m:#?}");
    assert_eq!(requests(&m, ""), log.len() as u64, "every request the fake saw\n{m:#?}");
    assert_eq!(requests(&m, "endpoint=pgcr"), fake.pgcr_requests() as u64, "{m:#?}");
    assert_eq!(requests(&m, "endpoint=pgcr,outcome=ok") as f64, stored, "{m:#?}");
    assert_eq!(throttle_answers(&log), 2);
    assert_eq!(m["dclisync_throttle_answers_total"], 2.0, "{m:#?}");
    assert_eq!(requests(&m, "outcome=throttled"), 2, "{m:#?}");
    assert_eq!(m["dclisync_rounds_total{outcome=ok}"], 1.0, "{m:#?}");
    assert_eq!(m["dclisync_rounds_total{outcome=failed}"], 0.0, "{m:#?}");
    assert_eq!(m["dclisync_activities_queued"], 0.0);
    assert_eq!(m["dclisync_pace_requests_per_second"], 0.0, "no limit");
    let success = m["dclisync_last_success_timestamp_seconds"];
    assert!(success >= started as f64 && success <= dclisync_now() as f64, "{success}");
    assert!(m["dclisync_round_duration_seconds"] > 0.0);
    // Only the file itself is left in the folder: the temporary file was renamed over it.
    assert_eq!(std::fs::read_dir(metrics.parent().unwrap()).unwrap().count(), 1);
}

fn dclisync_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

#[cfg(unix)]
#[test]
fn a_daemon_rewrites_the_file_after_every_round() {
    use std::time::Duration;
    let fake = FakeBungie::start(World::generate(&WorldConfig::small()), API_KEY);
    let dir = data_dir();
    add_all(dir.path(), &fake);
    let metrics = dir.path().join("dclisync.prom");
    let mark = fake.mark();
    let mut running = Dclisync::new(dir.path())
        .api(&fake)
        .env("DCLISYNC_METRICS_FILE", metrics.to_str().unwrap())
        .args(["--sync", "--daemon", "--interval", "30", "--max-rps", "1000"])
        .timeout(Duration::from_secs(90))
        .spawn();
    assert!(running.wait_for(Duration::from_secs(30), |out, _| out.contains("round 1 ended")), "no round 1");
    let after_1 = read_metrics(&metrics);
    let requests_1 = fake.requests_since(mark).len() as u64;
    // An idle round next: SIGUSR1 starts it now instead of after the interval.
    fake.fail_next(FaultKind::Throttle36, 1, "/Platform/Destiny2/");
    running.signal(libc::SIGUSR1);
    assert!(running.wait_for(Duration::from_secs(30), |out, _| out.contains("round 2 ended")), "no round 2");
    let after_2 = read_metrics(&metrics);
    let log = fake.requests_since(mark);
    running.signal(libc::SIGTERM);
    let out = running.wait();
    assert_eq!(out.code, Some(143), "{out}");

    let stored = Db::open(dir.path()).activity_ids().len() as f64;
    assert_eq!(after_1["dclisync_rounds_total{outcome=ok}"], 1.0, "{after_1:#?}");
    assert_eq!(after_1["dclisync_reports_stored_total"], stored);
    assert_eq!(requests(&after_1, ""), requests_1, "{after_1:#?}");
    assert_eq!(after_2["dclisync_rounds_total{outcome=ok}"], 2.0, "{after_2:#?}");
    assert_eq!(after_2["dclisync_reports_stored_total"], stored, "the idle round stored nothing new");
    assert_eq!(requests(&after_2, ""), log.len() as u64, "counted since the start\n{after_2:#?}");
    assert_eq!(after_2["dclisync_throttle_answers_total"], throttle_answers(&log) as f64, "{after_2:#?}");
    assert_eq!(throttle_answers(&log), 1);
    assert!(after_2["dclisync_pace_requests_per_second"] > 0.0, "{after_2:#?}");
    assert!(after_2["dclisync_last_success_timestamp_seconds"] >= after_1["dclisync_last_success_timestamp_seconds"]);
}
