//! The processor's `exactly_once_txn` (Kafka Streams' `exactly_once_v2`,
//! KIP-447) end to end: output rows and consumed offsets in one Kafka
//! transaction per commit, the sink reading the output topic with
//! read_committed. A processor crashing mid-transaction and the
//! coordinator's broker crashing mid-commit leave every event in the sink
//! exactly once; offsets committed outside the transaction (the naive
//! consume-produce loop) are caught as duplicates.

use crate::common;

use streamsim_sim::world::TimelineKind;

/// Seeds each scenario runs in the suite (1 to 50 by hand: docs/SCENARIOS.md).
const SEEDS: u64 = 5;

#[test]
fn a_processor_and_the_coordinators_broker_crashing_leave_the_sink_exactly_once() {
    for r in common::assert_passes_every_seed("txn-eos-v2-broker-crash", common::seeds(SEEDS)) {
        let t = r
            .transactions
            .as_ref()
            .expect("transactional processors report their transactions");
        // The crashed processor's open transaction was aborted by its restart's new epoch,
        // and commits the cut coordinator had decided were finished by its successor.
        assert!(t.aborted >= 1, "seed {}: {t:?}", r.seed);
        assert!(t.resumed_after_failover >= 1, "seed {}: {t:?}", r.seed);
        assert!(t.committed > 50, "seed {}: {t:?}", r.seed);
        // The sink read committed rows only, and read some.
        assert!(t.records_read > 0, "seed {}: {t:?}", r.seed);
        assert_eq!((t.aborted_reads, t.intermediate_reads), (0, 0), "seed {}", r.seed);
        assert_eq!(r.read.events_in_sink, Some(r.events_acked), "seed {}", r.seed);
        // The LSO plotted is the first output partition's, and it never moves backwards.
        assert!(t.lso_series.len() > 5, "seed {}", r.seed);
        assert!(t.lso_series.windows(2).all(|w| w[0].lso <= w[1].lso), "seed {}", r.seed);
    }
    let run = common::run_with_timeline("txn-eos-v2-broker-crash", 1);
    let has = |kind: TimelineKind, text: &str| run.timeline.iter().any(|e| e.kind == kind && e.text.contains(text));
    assert!(has(TimelineKind::Transaction, "processor-0 begins transaction"));
    assert!(has(TimelineKind::Transaction, "processor-0's transaction"));
    assert!(has(TimelineKind::Transaction, "aborts (a new epoch of the id)"));
    assert!(has(TimelineKind::Transaction, "takes over processor-"));
}

#[test]
fn offsets_committed_outside_the_transaction_duplicate_rows_after_a_crash() {
    let r = common::assert_caught("neg-txn-eos-offsets-outside", "sink.exactly_once", 50);
    assert!(r.seed <= 5, "caught only at seed {}", r.seed);
}

#[test]
fn a_sink_crash_neither_loses_nor_doubles_the_output_topics_rows() {
    // The sink keeps each output partition's next offset with the rows read from it, in
    // one database transaction: a crash loses its position and the transactions under
    // way, and the restarted sink reads on from what it stored.
    let base = std::fs::read_to_string(common::scenario("txn-eos-v2-broker-crash")).expect("scenario");
    let head = base.split("[[faults]]").next().expect("a scenario");
    let text = head.replacen(
        "name = \"txn-eos-v2-broker-crash\"",
        "name = \"txn-eos-v2-sink-crash\"",
        1,
    ) + "[[faults]]\nat_s = 6\nkind = \"crash\"\ntarget = \"sink\"\nrestart_after_s = 2\n";
    let file = common::scratch("txn_eos_v2", "sink-crash").join("txn-eos-v2-sink-crash.toml");
    std::fs::write(&file, text).expect("written");
    for r in common::assert_passes_every_seed_file("txn-eos-v2-sink-crash", &file, common::seeds(SEEDS)) {
        assert_eq!(r.read.events_in_sink, Some(r.events_acked), "seed {}", r.seed);
    }
    let run = common::run_file(&file, 1);
    assert!(run
        .timeline
        .iter()
        .any(|e| e.kind == TimelineKind::NodeStarted && e.text.contains("sink started (incarnation 2)")));
}

/// `txn-eos-v2-broker-crash` with processor 0 paused for 5 s mid-transaction in place of
/// its faults (past its 3 s session, so the group moves its partition), and `extra`
/// processor settings.
fn zombie_variant(name: &str, extra: &str) -> std::path::PathBuf {
    let base = std::fs::read_to_string(common::scenario("txn-eos-v2-broker-crash")).expect("scenario");
    let head = base.split("[[faults]]").next().expect("a scenario");
    let head = head.replacen("name = \"txn-eos-v2-broker-crash\"", &format!("name = \"{name}\""), 1);
    let head = head.replacen(
        "delivery = \"exactly_once_txn\"\n",
        &format!("delivery = \"exactly_once_txn\"\n{extra}"),
        1,
    );
    let text = head + "[[faults]]\nat_s = 6\nkind = \"pause\"\ntarget = \"processor:0@checkpoint\"\nduration_s = 5\n";
    let file = common::scratch("txn_eos_v2", name).join(format!("{name}.toml"));
    std::fs::write(&file, text).expect("written");
    file
}

#[test]
fn a_zombie_member_is_fenced_by_its_generation() {
    let file = zombie_variant("txn-eos-v2-zombie", "");
    for r in common::assert_passes_every_seed_file("txn-eos-v2-zombie", &file, common::seeds(SEEDS)) {
        let t = r.transactions.as_ref().expect("transactions");
        assert!(t.fenced >= 1, "seed {}: the zombie was not fenced: {t:?}", r.seed);
    }
    let run = common::run_file(&file, 1);
    assert!(run
        .timeline
        .iter()
        .any(|e| e.kind == TimelineKind::ProducerFenced
            && e.text.contains("refuses processor-0's offsets of generation 1")));
}

#[test]
fn without_generation_fencing_a_zombie_member_commits_duplicates() {
    // The negative control of KIP-447's fencing: the zombie's transaction commits its
    // rows and offsets next to those of its partition's new owner.
    let file = zombie_variant("neg-txn-eos-no-generation-fencing", "generation_fencing = false\n");
    let text = std::fs::read_to_string(&file).expect("written");
    let text = text.replacen(
        "expect = \"pass\"",
        "expect = \"violation\"\nexpect_invariant = [\"sink.exactly_once\"]",
        1,
    );
    std::fs::write(&file, text).expect("written");
    let r = common::assert_caught_file("neg-txn-eos-no-generation-fencing", &file, "sink.exactly_once", 20);
    assert_eq!(r.transactions.as_ref().map(|t| t.fenced), Some(0), "{r:?}");
}

#[test]
fn a_paused_processor_behind_the_audits_folds_still_finds_its_offsets() {
    // Its successor commits past its position while it sleeps; the audit folds behind the
    // committed offsets, but not past a position an unfenced instance still holds, so the
    // paused instance's first fetch after it wakes finds its records (no summaries breach).
    for r in common::assert_passes_every_seed("eos-v2-processor-paused", common::seeds(SEEDS)) {
        assert!(r.log_records_summarised > 0, "seed {}: the audit folded", r.seed);
        assert_eq!(r.read.events_in_sink, Some(r.events_acked), "seed {}", r.seed);
    }
    // The sink-transaction mode (`exactly_once`), which had the same gap.
    let text = std::fs::read_to_string(common::scenario("eos-v2-processor-paused")).unwrap();
    let text = text.replace("delivery = \"exactly_once_txn\"", "delivery = \"exactly_once\"");
    let path = common::scratch("txn_eos_v2", "sink-transactions").join("paused.toml");
    std::fs::write(&path, text).unwrap();
    for r in common::assert_passes_every_seed_file("eos-v1-processor-paused", &path, common::seeds(SEEDS)) {
        assert!(r.log_records_summarised > 0, "seed {}: the audit folded", r.seed);
    }
}
