//! The brokers' CPU cost per record and per batch: at the same offered MB/s
//! on the same small cluster, 100-byte records saturate the brokers' CPU and
//! fail the throughput check while 10 KiB records keep up; with the
//! per-record cost at zero the small records keep up too (the model, not the
//! cluster, is what binds); impossible costs are refused before the run.

use std::path::{Path, PathBuf};
use streamsim_reports::{RunReport, Verdict};
use streamsim_sim::scenario::parse_scenario;

use crate::common;

const NAME: &str = "neg-small-records-cpu";

fn neg_text() -> String {
    std::fs::read_to_string(common::scenario(NAME)).unwrap()
}

/// The negative control with each `(from, to)` applied once, as a passing scenario of its own.
fn variant(name: &str, edits: &[(&str, &str)]) -> PathBuf {
    let mut text = neg_text().replacen(
        "expect = \"violation\"\nexpect_invariant = \"throughput\"",
        "expect = \"pass\"",
        1,
    );
    for (from, to) in edits {
        assert!(text.contains(from), "{from:?} not in {NAME}");
        text = text.replacen(from, to, 1);
    }
    let path = common::scratch("record-cost", name).join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// Highest and mean (over the buckets of the offered load) CPU busy fraction of the busiest broker.
fn broker_cpu(report: &RunReport) -> (f64, f64) {
    let per_bucket: Vec<f64> = report
        .buckets
        .iter()
        .map(|b| b.brokers.iter().map(|u| u.cpu).fold(0.0, f64::max))
        .collect();
    let load = &per_bucket[..10.min(per_bucket.len())];
    let peak = per_bucket.iter().copied().fold(0.0, f64::max);
    (peak, load.iter().sum::<f64>() / load.len() as f64)
}

#[test]
fn small_records_saturate_the_brokers_cpu_and_large_ones_at_the_same_mb_per_s_do_not() {
    let small = common::run_file(&common::scenario(NAME), 1).report;
    let r = &small.result;
    assert_eq!(r.verdict, Verdict::Violation);
    let names: Vec<&str> = r.violations.iter().map(|v| v.invariant.as_str()).collect();
    assert_eq!(names, ["throughput"], "{:?}", r.violations);
    assert!(!r.throughput.kept_up);
    assert!(
        r.throughput.achieved_per_s < 0.8 * r.throughput.offered_per_s,
        "{:?}",
        r.throughput
    );
    assert_eq!(r.events_lost, 0, "a busy broker is slow, not lossy");
    assert_eq!(r.events_duplicated, 0);
    let (peak, mean) = broker_cpu(&small);
    assert!(peak > 0.99, "broker CPU peak {peak}");
    assert!(mean > 0.9, "broker CPU mean under load {mean}");

    // The same MB/s in records a hundred times larger.
    let path = variant(
        "large",
        &[
            ("events_per_s = 20000", "events_per_s = 200"),
            ("bytes = 100 }", "bytes = 10000 }"),
        ],
    );
    let large = common::run_file(&path, 1).report;
    let l = &large.result;
    assert_eq!(l.verdict, Verdict::Pass, "{:?}", l.violations);
    assert!(l.throughput.kept_up);
    let same_mb = l.throughput.offered_mb_per_s / r.throughput.offered_mb_per_s;
    assert!((0.95..1.05).contains(&same_mb), "offered MB/s ratio {same_mb}");
    let (peak, _) = broker_cpu(&large);
    assert!(peak < 0.1, "broker CPU peak with 10 KB records {peak}");
}

#[test]
fn without_the_per_record_cost_the_small_records_keep_up() {
    let path = variant(
        "no-record-cost",
        &[("cpu_per_record_us = 450", "cpu_per_record_us = 0")],
    );
    let report = common::run_file(&path, 1).report;
    let r = &report.result;
    assert_eq!(r.verdict, Verdict::Pass, "{:?}", r.violations);
    assert!(r.throughput.kept_up);
    let (peak, _) = broker_cpu(&report);
    assert!(peak < 0.1, "broker CPU peak without the per-record cost {peak}");
}

#[test]
fn the_saturation_is_caught_and_the_variants_pass_on_several_seeds() {
    common::assert_caught(NAME, "throughput", 3);
    for (name, edits) in [
        (
            "large-seeds",
            &[
                ("events_per_s = 20000", "events_per_s = 200"),
                ("bytes = 100 }", "bytes = 10000 }"),
            ][..],
        ),
        (
            "no-record-cost-seeds",
            &[("cpu_per_record_us = 450", "cpu_per_record_us = 0")][..],
        ),
    ] {
        common::assert_passes_every_seed_file(name, &variant(name, edits), common::seeds(3));
    }
}

#[test]
fn negative_or_non_finite_record_costs_are_refused_with_file_line_and_field() {
    let base = neg_text();
    let cases = [
        (
            "cpu_per_record_us = 450",
            "cpu_per_record_us = -1",
            "resources.cpu_per_record_us",
        ),
        (
            "cpu_per_record_us = 450",
            "cpu_per_record_us = nan",
            "resources.cpu_per_record_us",
        ),
        (
            "cpu_per_record_us = 450",
            "cpu_per_record_us = inf",
            "resources.cpu_per_record_us",
        ),
        ("cores = 1", "cpu_per_batch_us = -0.5", "resources.cpu_per_batch_us"),
        ("cores = 1", "cpu_per_batch_us = inf", "resources.cpu_per_batch_us"),
    ];
    for (from, to, field) in cases {
        let text = base.replacen(from, to, 1);
        let e = parse_scenario(Path::new("neg-small-records-cpu.toml"), &text).expect_err(to);
        assert_eq!(e.field(), field, "{to}: {e}");
        let line = text.lines().position(|l| l == to).expect("changed line") + 1;
        assert_eq!(e.line(), Some(line), "{to}: {e}");
        assert!(e.to_string().contains("neg-small-records-cpu.toml"), "{e}");
    }
    // Zero is a cost like any other: the model off.
    let zero = base.replacen("cores = 1", "cores = 1\ncpu_per_batch_us = 0", 1);
    parse_scenario(Path::new("ok.toml"), &zero).expect("zero per-batch cost");
}
