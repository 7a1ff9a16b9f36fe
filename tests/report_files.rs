//! The report files of a crash run agree with the run: the CSV series adds
//! up to the counts in result.json, the HdrHistogram interval log decodes
//! with the reference crate to the same p99, and a sweep's junit.xml parses
//! with one test case per (scenario, seed).

use crate::common;

use std::fs;
use std::process::Command;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::Histogram;

#[test]
fn run_report_files_agree_with_the_run() {
    let dir = common::scratch("report", "run").join("leader-crash");
    let scenario = common::scenario("leader-crash").display().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_streamsim"))
        .args([
            "run",
            &scenario,
            "--seed",
            "2",
            "--json",
            "--out",
            dir.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let stdout: serde_json::Value = serde_json::from_slice(&out.stdout).expect("--json prints one object");
    let result: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.join("result.json")).unwrap()).unwrap();
    assert_eq!(stdout, result, "result.json and --json disagree");

    // Verdict and exit code agree.
    let code = out.status.code().unwrap();
    match result["verdict"].as_str().unwrap() {
        "pass" => assert_eq!(code, 0),
        "violation" => assert_eq!(code, 1),
        v => panic!("verdict {v}"),
    }
    assert_eq!(
        result["verdict"], "pass",
        "leader-crash must pass: {}",
        result["violations"]
    );

    // timeseries.csv: per-second counts add up to the run's totals.
    let mut csv = csv_rows(&fs::read_to_string(dir.join("timeseries.csv")).unwrap());
    let header = csv.remove(0);
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no {name}"))
    };
    let sum = |name: &str| -> u64 { csv.iter().map(|r| r[col(name)].parse::<u64>().unwrap()).sum() };
    assert_eq!(sum("sent"), result["events_sent"].as_u64().unwrap(), "sent");
    assert_eq!(sum("acked"), result["events_acked"].as_u64().unwrap(), "acked");
    assert!(result["events_acked"].as_u64().unwrap() > 500_000);

    // ack_latency.hlog: the interval histograms, added, give the run's p99.
    let log = fs::read(dir.join("ack_latency.hlog")).unwrap();
    let mut total: Histogram<u64> = Histogram::new_with_bounds(1, 3_600_000_000, 3).unwrap();
    let mut deserializer = Deserializer::new();
    let mut intervals = 0;
    for entry in IntervalLogIterator::new(&log) {
        if let LogEntry::Interval(h) = entry.expect("the interval log parses") {
            let bytes = STANDARD.decode(h.encoded_histogram()).expect("base64");
            let hist: Histogram<u64> = deserializer
                .deserialize(&mut bytes.as_slice())
                .expect("histogram decodes");
            total.add(&hist).unwrap();
            intervals += 1;
        }
    }
    assert_eq!(intervals, csv.len(), "one interval per CSV bucket");
    assert_eq!(
        total.len(),
        result["events_acked"].as_u64().unwrap(),
        "every ack is in the log"
    );
    let p99_ms = total.value_at_quantile(0.99) as f64 / 1000.0;
    let want = result["ack_latency_ms"]["p99"].as_f64().unwrap();
    // The intervals keep two significant digits (the run-wide histogram three),
    // so the two p99s agree to within the intervals' 1% bucket width.
    assert!(
        (p99_ms - want).abs() <= want * 1e-2 + 1e-3,
        "hlog p99 {p99_ms} ms, result.json p99 {want} ms"
    );
}

#[test]
fn sweep_junit_has_one_case_per_seed() {
    let dir = common::scratch("report", "sweep");
    let scenario = common::scenario("leader-crash").display().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_streamsim"))
        .args([
            "sweep",
            &scenario,
            "--seeds",
            "1..4",
            "--jobs",
            "2",
            "--out",
            dir.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let xml = fs::read_to_string(dir.join("junit.xml")).unwrap();
    let doc = roxmltree::Document::parse(&xml).expect("junit.xml is well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    assert_eq!(root.attribute("tests"), Some("3"));
    assert_eq!(root.attribute("failures"), Some("0"));
    let suites: Vec<_> = root.children().filter(|n| n.has_tag_name("testsuite")).collect();
    assert_eq!(suites.len(), 1);
    assert_eq!(suites[0].attribute("name"), Some("leader-crash"));
    let cases: Vec<(&str, &str)> = suites[0]
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .map(|c| (c.attribute("classname").unwrap(), c.attribute("name").unwrap()))
        .collect();
    assert_eq!(
        cases,
        [
            ("leader-crash", "seed-1"),
            ("leader-crash", "seed-2"),
            ("leader-crash", "seed-3")
        ]
    );
}

/// Rows of a CSV file with no quoted fields (the time series has none).
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}
