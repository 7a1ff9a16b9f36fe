//! The transaction coordinator's state as records of the replicated
//! transaction-state partition: a new leader of the partition loads the
//! state from its replica and finishes what its predecessor decided; the
//! partition stays compacted to a record per id; a coordinator that answers
//! before its state change is replicated loses a decided commit in a
//! failover (the negative control), and its twin with the default passes;
//! and an exhausted producer epoch gives the id a new producer id.

use crate::common;

use std::path::PathBuf;
use streamsim_sim::log::transaction_coordinator::{tid_of, TxnCache, TxnStep, MAX_PRODUCER_EPOCH};
use streamsim_sim::world::TimelineKind;

/// Seeds the safe twin runs in the suite (seeds 1 to 50 by hand: docs/TRANSACTIONS.md).
const SEEDS: u64 = 3;

/// `neg-txn-state-unreplicated` with the coordinator waiting for replication (the default).
fn safe_twin() -> PathBuf {
    let name = "txn-state-replicated";
    let base = std::fs::read_to_string(common::scenario("neg-txn-state-unreplicated")).expect("scenario");
    let text = base
        .replacen("\ncoordinator_waits_for_replication = false\n", "\n", 1)
        .replacen("expect = \"violation\"", "expect = \"pass\"", 1)
        .replacen(
            "name = \"neg-txn-state-unreplicated\"",
            &format!("name = \"{name}\""),
            1,
        );
    // A passing scenario names no invariant to violate.
    let text: String = text
        .lines()
        .filter(|l| !l.starts_with("expect_invariant"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(!text.contains("\ncoordinator_waits_for_replication"));
    let file = common::scratch("txn_state_log", name).join(format!("{name}.toml"));
    std::fs::write(&file, text).expect("written");
    file
}

#[test]
fn a_coordinator_answering_before_replication_loses_a_decided_commit() {
    let r = common::assert_caught("neg-txn-state-unreplicated", "no_loss", 50);
    let t = r.transactions.as_ref().expect("a transactional run");
    // The successor found the transaction open and aborted it on its timeout.
    assert!(t.timed_out >= 1, "seed {}: {t:?}", r.seed);
}

#[test]
fn the_same_faults_with_replicated_state_lose_nothing() {
    for r in common::assert_passes_every_seed_file("txn-state-replicated", &safe_twin(), common::seeds(SEEDS)) {
        let t = r.transactions.as_ref().expect("a transactional run");
        assert_eq!(t.timed_out, 0, "seed {}: {t:?}", r.seed);
    }
}

#[test]
fn a_new_coordinator_loads_the_state_and_the_partition_stays_compacted() {
    let run = common::run_with_timeline("txn-coordinator-crash", 1);
    let at = |text: &str| {
        run.timeline
            .iter()
            .find(|e| e.kind == TimelineKind::Transaction && e.text.contains(text))
            .map(|e| e.at_ms)
            .unwrap_or_else(|| panic!("no transaction entry containing {text:?}"))
    };
    // Broker 5 led the state partition from the start; broker 6 takes it over after the
    // crash, loads the two gateways' ids, and then finishes the commits broker 5 decided.
    let loaded = at("broker-6 loads the transaction state of 2 ids from partition 5");
    let resumed = at("coordinator on broker-6 takes over gateway-0's transaction");
    assert!((7_000..12_000).contains(&loaded), "loaded at {loaded} ms");
    assert!(
        resumed >= loaded,
        "resumed at {resumed} ms, before the load at {loaded} ms"
    );
    let t = run.report.result.transactions.as_ref().expect("a transactional run");
    // Hundreds of state changes over 20 s; compaction leaves about one record per id
    // (two ids) and the few written above the high watermark since the last compaction.
    assert!(t.state_records_written > 300, "{t:?}");
    assert!(t.state_records_held <= 4, "{t:?}");
}

#[test]
fn an_exhausted_epoch_gives_the_id_a_new_producer_id() {
    let mut c = TxnCache::default();
    let (Ok((pid, _)), _) = c.init(1, 1000, None, 0) else {
        panic!("init")
    };
    // The id's record as a coordinator would load it, one bump from the largest epoch.
    let mut meta = c.get(1).cloned().expect("registered");
    meta.epoch = MAX_PRODUCER_EPOCH;
    c.restore(1, meta);
    let (Ok((pid2, epoch)), _) = c.init(1, 1000, Some((pid, MAX_PRODUCER_EPOCH)), 0) else {
        panic!("init")
    };
    assert_ne!(pid2, pid, "a new producer id");
    assert_eq!((tid_of(pid2), epoch), (1, 0));
    // The new producer id works at epoch 0 and verifies at the partitions; the old one is fenced.
    assert_eq!(c.add_partitions(1, 0, 1, &[3], 0, true).1, TxnStep::Began);
    assert!(c.verifies(pid2, 0, 3, true));
    assert!(!c.verifies(pid, MAX_PRODUCER_EPOCH, 3, true));
    assert!(c.add_partitions(1, MAX_PRODUCER_EPOCH, 1, &[3], 0, true).0.is_err());
}
