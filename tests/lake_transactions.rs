//! Lake writers under a transactional gateway: they step over markers and,
//! reading committed (the default there), never put a record of an aborted
//! transaction in a lake file, while every committed record still lands in
//! exactly one; reading uncommitted, `lake.no_aborted` catches the files
//! that hold aborted records.

use crate::common;

use streamsim_reports::Verdict;

#[test]
fn read_committed_lake_writers_hold_no_aborted_record_through_a_gateway_pause() {
    let results = common::assert_passes_every_seed("txn-lake-gateway-pause", common::seeds(5));
    for r in &results {
        // The pause made the coordinator abort a transaction whose records reached the log.
        let t = r.transactions.as_ref().expect("transactions");
        assert!(t.timed_out >= 1, "seed {}: nothing aborted", r.seed);
        let lake = r.lake.as_ref().expect("lake");
        assert_eq!(lake.events_aborted, 0, "seed {}", r.seed);
        assert_eq!(lake.events_missing, 0, "seed {}", r.seed);
        assert_eq!(lake.events_duplicated, 0, "seed {}", r.seed);
        assert!(lake.files > 0 && lake.events_archived > 0, "seed {}", r.seed);
    }
}

#[test]
fn read_uncommitted_lake_writers_are_caught_holding_aborted_records() {
    let r = common::assert_caught("neg-txn-lake-read-uncommitted", "lake.no_aborted", 20);
    let lake = r.lake.as_ref().expect("lake");
    assert!(lake.events_aborted > 0);
    // The files still tile the log: the fault is what they hold, not what they miss.
    assert_eq!(lake.events_missing, 0);
    // Only the lake is wrong: the processors read committed.
    let invariants: Vec<&str> = r.violations.iter().map(|v| v.invariant.as_str()).collect();
    assert_eq!(invariants, ["lake.no_aborted"]);
}

#[test]
fn the_lake_follows_a_transaction_coordinator_failover() {
    // The coordinator's broker cut off then crashed mid-commit, with a cold path added.
    let path = common::scenario("txn-coordinator-crash");
    let text = std::fs::read_to_string(&path).unwrap()
        + "\n[lake]\nwriters = 2\nroll_mb = 0.25\nroll_interval_s = 2.0\nsession_timeout_ms = 6000\n";
    let loaded = streamsim_sim::scenario::parse_scenario(&path, &text).unwrap();
    for seed in 1..=common::seeds(2) {
        let r = streamsim_sim::run::run_scenario(&loaded, &common::options(seed))
            .unwrap()
            .report
            .result;
        assert_eq!(r.verdict, Verdict::Pass, "seed {seed}: {:?}", r.violations);
        let lake = r.lake.as_ref().expect("lake");
        assert_eq!((lake.events_missing, lake.events_aborted), (0, 0), "seed {seed}");
        assert!(lake.events_archived > 0, "seed {seed}");
    }
}
