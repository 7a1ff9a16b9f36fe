//! A broker down for a long stretch does not make the others hold its
//! outage's records in memory: the log audit folds what the in-sync replicas
//! hold durably, and the broker, back, catches up across the summarised
//! prefix from the leader's summary spans. Every event is still counted, so
//! the run passes with the same checks, and the records the logs hold stay
//! the same whether the broker was down 8 or 24 virtual seconds.

mod common;

use std::path::PathBuf;
use streamsim_reports::{RunResult, Verdict};

/// `leader-crash` 36 s long with the leader of partition 0 down from 4 s for `down_s`
/// (no crash for `None`), with the kernel's writeback shortened so the audit folds as
/// the run goes.
fn outage(down_s: Option<u64>) -> PathBuf {
    let text = std::fs::read_to_string(common::scenario("leader-crash")).expect("library scenario");
    let mut text = text
        .replace("duration_s = 60", "duration_s = 36")
        .replace("at_s = 20", "at_s = 4")
        .replace(
            "restart_after_s = 10",
            &format!("restart_after_s = {}", down_s.unwrap_or(0)),
        );
    let fault = text.find("[[faults]]").expect("the library scenario's crash");
    assert!(text[fault..].contains("at_s = 4"), "the library scenario changed");
    if down_s.is_none() {
        text.truncate(fault);
    }
    let text = format!("{text}\n[resources]\ndirty_expire_centisecs = 100\ndirty_writeback_centisecs = 100\n");
    let dir = common::scratch("summary_catch_up", &format!("down-{down_s:?}"));
    let path = dir.join("outage.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn run(down_s: Option<u64>) -> RunResult {
    common::run_file(&outage(down_s), 1).report.result
}

#[test]
fn a_long_outage_neither_holds_records_in_memory_nor_hides_an_event() {
    let calm = run(None);
    let long = run(Some(24));
    for r in [&calm, &long] {
        assert_eq!(r.verdict, Verdict::Pass, "{:?}", r.violations);
        assert!(r.events_acked > 300_000, "the workload went on: {}", r.events_acked);
        assert_eq!((r.events_lost, r.events_duplicated), (0, 0));
        assert!(
            r.log_records_summarised > r.events_acked / 2,
            "the audit folded while the run went"
        );
    }
    // Back after 24 s, the broker took most of its outage from summaries: at 10,000
    // events/s, about 200,000 offsets of the partitions it replicates.
    assert!(
        long.log_offsets_caught_up_from_summaries > 100_000,
        "{} offsets caught up from summaries",
        long.log_offsets_caught_up_from_summaries
    );
    assert_eq!(calm.log_offsets_caught_up_from_summaries, 0, "nobody fell behind");
    // Had the audit waited for every replica, the outage would keep about 30 s of records
    // on the other two replicas (some 870,000 counted per replica, four times the calm run's).
    assert!(
        (long.log_records_held_peak as f64) <= 1.5 * calm.log_records_held_peak as f64,
        "the logs held {} records at most without the crash, {} with a broker down 24 s",
        calm.log_records_held_peak,
        long.log_records_held_peak
    );
}
