//! Latency from links, queues and lingers rather than from rounding: the
//! 200 MB/s case of the published Kafka benchmarks, with every hop delivered
//! at the microsecond it arrives, and the same case rounded to the
//! millisecond at every hop as the harness once did.

use std::path::Path;
use streamsim_reports::{RunResult, Verdict};

use crate::common;

const CASE: &str = "scenarios/calibration/latency-200mbps.toml";

fn run(path: &Path) -> RunResult {
    common::run_file(path, 1).report.result
}

#[test]
fn microsecond_delivery_keeps_the_200_mbps_p99_under_10_ms() {
    let r = run(&Path::new(env!("CARGO_MANIFEST_DIR")).join(CASE));
    assert_eq!(r.verdict, Verdict::Pass, "{:?}", r.violations);
    assert!(r.events_acked > 500_000, "{} acknowledged", r.events_acked);
    let l = r.ack_latency_ms;
    assert!(l.p99 < 10.0, "ack p99 {} ms", l.p99);
    // Two 1 ms lingers and a replication round trip are a floor no rounding made.
    assert!(l.p50 > 1.0, "ack p50 {} ms", l.p50);
}

#[test]
fn rounding_every_hop_to_the_millisecond_misses_it() {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(CASE)).unwrap();
    let text = text.replacen("[log]", "[network]\ndelivery_quantum_us = 1000\n\n[log]", 1);
    let dir = std::env::temp_dir().join(format!("streamsim-latency-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("latency-200mbps-ms.toml");
    std::fs::write(&path, text).unwrap();
    let r = run(&path);
    std::fs::remove_dir_all(&dir).ok();
    // The same load, but a 1 ms tick at each of about ten hops: the p99 doubles past the budget.
    assert_eq!(r.verdict, Verdict::Violation);
    assert!(r.ack_latency_ms.p99 > 10.0, "ack p99 {} ms", r.ack_latency_ms.p99);
    assert!(r.violations.iter().any(|v| v.invariant == "budget.ack_p99_ms"));
}
