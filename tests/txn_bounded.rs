//! The transaction bookkeeping is bounded by what is in flight, not by the
//! run's length: the reads waiting to be judged, the marker times they need,
//! every replica's transaction index and the output topic's row table stay
//! the same size whether a run lasts 20 or 80 virtual seconds at one rate (10
//! or 40 for the output rows and the negative controls), and so do the logs
//! under `exactly_once_txn`; the negative controls are still caught with the
//! same witnesses.

use crate::common;

use std::path::{Path, PathBuf};
use streamsim_reports::{RunResult, TxnBookkeeping};

/// A library scenario at `duration_s`, without its faults when `calm`, with the
/// brokers' writeback shortened so the log audit folds as the run goes, and
/// `log_line` added to its `[log]` section.
fn variant(name: &str, duration_s: u64, calm: bool, log_line: Option<&str>) -> PathBuf {
    let text = std::fs::read_to_string(common::scenario(name)).expect("library scenario");
    let mut text: String = text
        .lines()
        .map(|l| {
            if l.starts_with("duration_s = ") {
                format!("duration_s = {duration_s}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    if calm {
        let start = text.find("[[faults]]").expect("a fault to remove");
        let end = text[start..]
            .find("\n[invariants]")
            .map_or(text.len(), |i| start + i + 1);
        text.replace_range(start..end, "");
    }
    if let Some(line) = log_line {
        text = text.replacen("[log]\n", &format!("[log]\n{line}\n"), 1);
    }
    text.push_str("\n[resources]\ndirty_expire_centisecs = 100\ndirty_writeback_centisecs = 100\n");
    let tag: String = log_line
        .unwrap_or("")
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    let dir = common::scratch("txn_bounded", &format!("{name}-{duration_s}-{calm}-{tag}"));
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

fn run(path: &Path) -> RunResult {
    common::run_file(path, 1).report.result
}

fn peak(r: &RunResult) -> TxnBookkeeping {
    r.transactions
        .as_ref()
        .expect("a transactional run reports its transactions")
        .bookkeeping_peak
}

/// Every size of `long` within 1.5x of `short`'s (and of a small floor for the empty ones).
fn assert_flat(what: &str, short: TxnBookkeeping, long: TxnBookkeeping, secs: (u64, u64)) {
    let pairs = [
        ("reads_pending", short.reads_pending, long.reads_pending),
        ("marker_times", short.marker_times, long.marker_times),
        ("index_entries", short.index_entries, long.index_entries),
        ("output_rows", short.output_rows, long.output_rows),
    ];
    for (name, s, l) in pairs {
        assert!(
            l as f64 <= 1.5 * s.max(10) as f64,
            "{what}: {name} grew with the run: {s} at {} s, {l} at {} s",
            secs.0,
            secs.1
        );
    }
}

#[test]
fn transaction_bookkeeping_does_not_grow_with_the_run() {
    // Transactional gateways, read_committed processors, no fault: a steady run.
    // 20 s, not 10: the first folds come only once the audit's cadence and the
    // writeback have both passed, so a 10 s run has not reached its steady size yet.
    let short = run(&variant("txn-zombie-fenced", 20, true, None));
    let long = run(&variant("txn-zombie-fenced", 80, true, None));
    for r in [&short, &long] {
        assert!(r.violations.is_empty(), "{:?}", r.violations);
    }
    assert!(long.events_acked > 3 * short.events_acked);
    let (s, l) = (peak(&short), peak(&long));
    assert!(
        s.reads_pending > 0 && s.index_entries > 0 && s.marker_times > 0,
        "{s:?}"
    );
    assert_flat("txn-zombie-fenced", s, l, (20, 80));
    // Negative control: where the audit may not fold (unclean election on), nothing is
    // judged or trimmed as the run goes, and the same measure sees everything grow.
    let short = run(&variant(
        "txn-zombie-fenced",
        20,
        true,
        Some("unclean_leader_election = true"),
    ));
    let long = run(&variant(
        "txn-zombie-fenced",
        80,
        true,
        Some("unclean_leader_election = true"),
    ));
    let (s, l) = (peak(&short), peak(&long));
    assert!(l.reads_pending > 3 * s.reads_pending, "{s:?} {l:?}");
    assert!(l.index_entries > 3 * s.index_entries, "{s:?} {l:?}");
    assert!(l.marker_times > 3 * s.marker_times, "{s:?} {l:?}");
}

#[test]
fn the_output_row_table_holds_only_rows_the_sink_may_still_read() {
    // exactly_once_txn with a processor crash (re-read from the committed offsets) and a
    // coordinator failover: every row reaches the sink once, and the table stays small.
    let short = run(&variant("txn-eos-v2-broker-crash", 10, false, None));
    let long = run(&variant("txn-eos-v2-broker-crash", 40, false, None));
    for r in [&short, &long] {
        assert!(r.violations.is_empty(), "{:?}", r.violations);
    }
    let (s, l) = (peak(&short), peak(&long));
    assert!(s.output_rows > 0, "{s:?}");
    assert!(
        l.output_rows as f64 <= 1.5 * s.output_rows as f64,
        "output rows grew with the run: {} at 10 s, {} at 40 s",
        s.output_rows,
        l.output_rows
    );
    // Rows produced over the long run are several times the table's peak.
    assert!(
        long.read.events_in_sink.unwrap_or(0) > 10 * l.output_rows,
        "{} rows held",
        l.output_rows
    );
}

/// The brokers checkpoint their high watermark every second (as the variants' writeback
/// runs every second), so the audit's 5 s folds trail the run by one interval, not two.
const HW_EVERY_SECOND: &str = "hw_checkpoint_interval_ms = 1000";

#[test]
fn under_exactly_once_txn_the_logs_and_the_reads_are_folded_as_the_run_goes() {
    // The processors commit their offsets in transactions and the sink reads the output
    // topic: the audit folds the events partitions behind the offsets committed (once the
    // sink stored their rows) and the output partitions behind the sink's stored offsets.
    let short = run(&variant("txn-eos-v2-broker-crash", 10, true, Some(HW_EVERY_SECOND)));
    let long = run(&variant("txn-eos-v2-broker-crash", 40, true, Some(HW_EVERY_SECOND)));
    for r in [&short, &long] {
        assert!(r.violations.is_empty(), "{:?}", r.violations);
        assert!(r.log_records_summarised > 0, "the audit folded");
    }
    assert!(long.events_acked > 3 * short.events_acked);
    let (s, l) = (peak(&short), peak(&long));
    assert!(s.reads_pending > 0 && s.index_entries > 0, "{s:?}");
    assert_flat("txn-eos-v2-broker-crash", s, l, (10, 40));
    assert!(
        l.log_records_held as f64 <= 1.5 * s.log_records_held as f64,
        "the logs grew with the run: {} records held at 10 s, {} at 40 s",
        s.log_records_held,
        l.log_records_held
    );
    // Negative control: where the audit may not fold (unclean election on), the same
    // measures see the logs, the reads and the index grow with the run.
    let unfolded = format!("{HW_EVERY_SECOND}\nunclean_leader_election = true");
    let short = run(&variant("txn-eos-v2-broker-crash", 10, true, Some(&unfolded)));
    let long = run(&variant("txn-eos-v2-broker-crash", 40, true, Some(&unfolded)));
    let (s, l) = (peak(&short), peak(&long));
    assert!(l.log_records_held > 3 * s.log_records_held, "{s:?} {l:?}");
    assert!(l.reads_pending > 3 * s.reads_pending, "{s:?} {l:?}");
    assert!(l.index_entries > 3 * s.index_entries, "{s:?} {l:?}");
}

#[test]
fn judged_as_they_go_the_reads_still_catch_the_negative_control() {
    // The read_uncommitted processors read aborted and open transactions' records; the
    // reads are judged as the audit folds and forgotten, and both checks still catch them,
    // with witnesses in the order the reads were made.
    let short = run(&variant("neg-txn-read-uncommitted", 10, false, None));
    let long = run(&variant("neg-txn-read-uncommitted", 40, false, None));
    for r in [&short, &long] {
        for check in ["aborted_read", "intermediate_read"] {
            let v = r
                .violations
                .iter()
                .find(|v| v.invariant == check)
                .unwrap_or_else(|| panic!("{check} not caught: {:?}", r.violations));
            assert_eq!(v.detail.matches("; ").count(), 4, "five witnesses: {}", v.detail);
        }
        assert!(r.log_records_summarised > 0, "the audit folded");
    }
    let t = long.transactions.as_ref().unwrap();
    assert!(t.aborted_reads > 0 && t.intermediate_reads > 0, "{t:?}");
    assert_flat("neg-txn-read-uncommitted", peak(&short), peak(&long), (10, 40));
}
