//! The transaction-state partition's leader cut from its followers: the
//! coordinator's writes stall until the cut heals, clients retry what the
//! gateways hold past their request timeout, and the gateways'
//! de-duplication keeps every event exactly once. Without it the retry
//! copies commit in a later transaction (the negative control): the stall is
//! Kafka's, the duplicates are the ingestion tier's.

mod common;

use std::path::PathBuf;
use streamsim_reports::Verdict;

const NAME: &str = "txn-state-partition-cut";

/// The scenario without the gateways' de-duplication cache.
fn without_dedup() -> PathBuf {
    let base = std::fs::read_to_string(common::scenario(NAME)).expect("scenario");
    let text: String = base
        .lines()
        // The gateways' cache only: the processors' de-duplication stays off.
        .filter(|l| !(l.starts_with("dedup = true") || l.starts_with("dedup_")))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(!text.contains("\ndedup = true") && text.contains("\ndedup = false"));
    let file = common::scratch("txn_state_partition", "no-dedup").join("no-dedup.toml");
    std::fs::write(&file, text).expect("written");
    file
}

#[test]
fn a_stalled_state_partition_keeps_every_event_once_with_dedup() {
    // Seed 17 is the one the fault schedule was found with; 1 to 21 pass by hand.
    let run = common::run_file(&common::scenario(NAME), 17);
    let r = &run.report.result;
    assert_eq!(r.verdict, Verdict::Pass, "seed 17: {:?}", r.violations);
    // The stall outlasted the clients' request timeout: retries came, and were answered.
    let dedup = r.gateway_dedup.as_ref().expect("dedup on");
    assert!(dedup.hits > 0, "{dedup:?}");
    assert_eq!(r.retry_copies, 0);
    common::assert_passes_every_seed(NAME, common::seeds(2));
}

#[test]
fn without_dedup_the_retry_copies_reach_the_sink_twice() {
    let run = common::run_file(&without_dedup(), 17);
    let r = &run.report.result;
    let caught: Vec<&str> = r.violations.iter().map(|v| v.invariant.as_str()).collect();
    assert!(caught.contains(&"sink.exactly_once"), "seed 17: {caught:?}");
    assert!(r.retry_copies > 0, "the duplicates are the clients' retries");
}
