//! Overload is a verdict: the `throughput` check compares what the workload
//! offered with what was acknowledged in time, and the producers' bounded
//! buffers (Kafka's `buffer.memory` and `max.block.ms`) turn an overload
//! into blocked and failed sends, never into loss or unbounded memory.

use std::path::{Path, PathBuf};
use streamsim_reports::{RunResult, Verdict};
use streamsim_sim::scenario::load_scenario;

use crate::common;

const NEG: &str = "scenarios/neg-overload.toml";

fn run(path: &Path) -> RunResult {
    common::run_file(path, 1).report.result
}

/// The negative control with `from` replaced by `to`, as a file of its own.
fn variant(name: &str, edits: &[(&str, &str)]) -> PathBuf {
    let mut text = std::fs::read_to_string(NEG).unwrap();
    for (from, to) in edits {
        assert!(text.contains(from), "{from:?} not in {NEG}");
        text = text.replacen(from, to, 1);
    }
    let dir = std::env::temp_dir().join(format!("streamsim-throughput-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

fn safe(r: &RunResult) {
    assert_eq!(r.events_lost, 0, "overload is not loss");
    assert_eq!(r.events_duplicated, 0);
    assert_eq!(r.events_uncertain, 0);
}

#[test]
fn an_overloaded_cluster_fails_the_throughput_check_and_loses_nothing() {
    let r = run(Path::new(NEG));
    let t = r.throughput;
    assert_eq!(r.verdict, Verdict::Violation);
    let names: Vec<&str> = r.violations.iter().map(|v| v.invariant.as_str()).collect();
    assert_eq!(names, ["throughput"], "{:?}", r.violations);
    assert!(!t.kept_up);
    assert!(t.ratio < 0.97, "ratio {}", t.ratio);
    assert_eq!(t.grace_s, 10.0, "the client's request timeout");
    assert!(
        (t.offered_per_s - 30_000.0).abs() < 300.0,
        "offered {}",
        t.offered_per_s
    );
    assert!(t.achieved_per_s < 0.97 * t.offered_per_s);
    // The default 32 MiB buffers filled and blocked the sends, and the backlog drained after the end.
    assert!(t.blocked_ms > 0);
    assert!(t.peak_buffer_bytes >= 31 << 20, "peak {}", t.peak_buffer_bytes);
    assert!(t.write_drain_s > 5.0, "drain {}", t.write_drain_s);
    safe(&r);
    // Everything was eventually acknowledged: the producers held it, they did not drop it.
    assert_eq!(r.events_acked, t.offered_events);
}

#[test]
fn the_same_cluster_keeps_up_at_half_the_rate() {
    let r = run(&variant(
        "half-rate",
        &[
            ("events_per_s = 30000", "events_per_s = 15000"),
            ("expect = \"violation\"", "expect = \"pass\""),
            ("expect_invariant = \"throughput\"\n", ""),
        ],
    ));
    assert_eq!(r.verdict, Verdict::Pass, "{:?}", r.violations);
    let t = r.throughput;
    assert!(t.kept_up);
    assert!(t.ratio >= 0.99 && t.ratio <= 1.0, "ratio {}", t.ratio);
    assert!(t.write_drain_s < 1.0, "drain {}", t.write_drain_s);
    assert_eq!(t.blocked_ms, 0);
    assert_eq!(t.failed_sends, 0);
    safe(&r);
}

#[test]
fn a_small_producer_buffer_blocks_then_fails_sends_without_loss() {
    let limit = 1u64 << 20;
    let r = run(&variant(
        "small-buffer",
        &[(
            "[resources]",
            "[client]\nbuffer_memory_bytes = 1048576\nmax_block_ms = 2000\n\n[resources]",
        )],
    ));
    let t = r.throughput;
    assert_eq!(r.verdict, Verdict::Violation);
    assert!(!t.kept_up);
    // 8 clients blocked for most of the run; sends blocked past 2 s failed.
    assert!(t.failed_sends > 10_000, "failed {}", t.failed_sends);
    assert!(t.blocked_ms > 8 * 20_000, "blocked {} ms", t.blocked_ms);
    // The buffer holds at most its limit plus the events of one linger tick (5 ms at 3,750/s per client).
    assert!(t.peak_buffer_bytes <= limit + 40 * 1024, "peak {}", t.peak_buffer_bytes);
    // Failed sends are counted apart: never acknowledged, never in the log, never lost.
    safe(&r);
    assert_eq!(t.offered_events, r.events_sent + t.failed_sends + t.never_sent);
    assert_eq!(r.events_acked, r.events_sent);
}

#[test]
fn a_scenario_that_means_to_overload_turns_the_check_off() {
    let r = run(&variant(
        "check-off",
        &[
            ("expect = \"violation\"", "expect = \"pass\""),
            ("expect_invariant = \"throughput\"\n", ""),
            ("[resources]", "[invariants]\nthroughput = false\n\n[resources]"),
        ],
    ));
    assert_eq!(r.verdict, Verdict::Pass, "{:?}", r.violations);
    // The figures still say it did not keep up.
    assert!(!r.throughput.kept_up);
}

#[test]
fn an_impossible_throughput_setting_is_refused_before_the_run() {
    for (edit, field) in [
        (
            "[invariants]\nthroughput_min_ratio = 1.5\n\n[resources]",
            "invariants.throughput_min_ratio",
        ),
        (
            "[invariants]\nthroughput_grace_s = -1\n\n[resources]",
            "invariants.throughput_grace_s",
        ),
        (
            "[client]\nbuffer_memory_bytes = 100\n\n[resources]",
            "client.buffer_memory_bytes",
        ),
    ] {
        let path = variant("refused", &[("[resources]", edit)]);
        let err = load_scenario(&path)
            .err()
            .unwrap_or_else(|| panic!("{field}: accepted"));
        assert_eq!(err.field(), field, "{err}");
        assert!(err.line().is_some(), "{err}: no line");
    }
}
