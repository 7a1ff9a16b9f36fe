//! Kafka transactions end to end: a gateway stalled past its transaction
//! timeout is fenced as a zombie and its records are sent again once; the
//! coordinator's broker crashing with commits half-written loses nothing,
//! as its successor finishes them; and the two safety switches (fencing,
//! read_committed) are each caught by the check they stand for.

use crate::common;

use streamsim_sim::world::TimelineKind;

/// Seeds each scenario runs in the suite (more by hand: docs/SCENARIOS.md).
const SEEDS: u64 = 5;

fn transactions(r: &streamsim_reports::RunResult) -> &streamsim_reports::TransactionsResult {
    r.transactions
        .as_ref()
        .expect("transactional gateways report their transactions")
}

#[test]
fn a_gateway_stalled_past_its_timeout_is_fenced_and_its_records_committed_once() {
    for r in common::assert_passes_every_seed("txn-zombie-fenced", common::seeds(SEEDS)) {
        let t = transactions(&r);
        assert!(
            t.timed_out >= 1,
            "seed {}: the stalled transaction was not aborted",
            r.seed
        );
        assert!(t.fenced >= 1, "seed {}: the zombie was not fenced", r.seed);
        assert!(t.committed > 20 && t.records_read > 0, "seed {}: {t:?}", r.seed);
        assert_eq!((t.aborted_reads, t.intermediate_reads), (0, 0), "seed {}", r.seed);
        // Nothing was resent by a client: every copy of every event came from the gateways.
        assert_eq!(r.retry_copies, 0, "seed {}", r.seed);
    }
    let run = common::run_with_timeline("txn-zombie-fenced", 1);
    let at = |kind: TimelineKind, text: &str| {
        run.timeline
            .iter()
            .find(|e| e.kind == kind && e.text.contains(text))
            .map(|e| e.at_ms)
            .unwrap_or_else(|| panic!("no {kind:?} entry containing {text:?}"))
    };
    let aborted = at(TimelineKind::Transaction, "open past its 2000 ms timeout, epoch bumped");
    let fenced = at(TimelineKind::ProducerFenced, "gateway-0 at epoch 0");
    // The coordinator aborts during the 5 s stall (from 5 s); the zombie is fenced once it is back.
    assert!((5_000..10_000).contains(&aborted), "aborted at {aborted} ms");
    assert!(fenced >= 10_000, "fenced at {fenced} ms");
    assert!(run
        .timeline
        .iter()
        .any(|e| e.kind == TimelineKind::Transaction && e.text.contains("begins transaction")));
}

#[test]
fn the_coordinators_broker_crashing_mid_commit_loses_nothing() {
    for r in common::assert_passes_every_seed("txn-coordinator-crash", common::seeds(SEEDS)) {
        let t = transactions(&r);
        // Both gateways' commits were decided on the cut broker and finished by its successor.
        assert!(
            t.resumed_after_failover >= 1,
            "seed {}: no commit finished after failover",
            r.seed
        );
        assert_eq!((t.aborted_reads, t.intermediate_reads), (0, 0), "seed {}", r.seed);
        // The last stable offset never moves backwards (a leader change keeps it, as a
        // marker counts only once replicated); while the commits hang half-written it
        // stays put behind the high watermark, and it moves on once they are finished.
        assert!(
            t.lso_series.windows(2).all(|w| w[0].lso <= w[1].lso),
            "seed {}: the LSO moved backwards: {:?}",
            r.seed,
            t.lso_series
        );
        let stuck: Vec<_> = t
            .lso_series
            .iter()
            .filter(|p| (7_000..=9_000).contains(&p.at_ms))
            .collect();
        assert!(stuck.len() == 3, "seed {}: {:?}", r.seed, t.lso_series);
        assert!(
            stuck.iter().all(|p| p.lso == stuck[0].lso && p.lso < p.hw),
            "seed {}: {stuck:?}",
            r.seed
        );
        let last = t.lso_series.last().expect("sampled");
        assert!(last.lso > stuck[0].hw, "seed {}: {last:?}", r.seed);
    }
}

#[test]
fn without_fencing_a_zombie_commits_duplicates() {
    let r = common::assert_caught("neg-txn-no-fencing", "no_duplicates", SEEDS);
    assert!(transactions(&r).fenced == 0 && r.events_duplicated > 0, "{r:?}");
}

#[test]
fn a_read_uncommitted_processor_reads_aborted_records() {
    let r = common::assert_caught("neg-txn-read-uncommitted", "aborted_read", SEEDS);
    let t = transactions(&r);
    assert!(t.aborted_reads > 0 && t.intermediate_reads > 0, "{t:?}");
}

/// The transactions of `txn-coordinator-crash` under other faults, as a scenario file:
/// `transaction_timeout_ms` and the fault list are the variant's.
fn coordinator_variant(name: &str, timeout_ms: u64, faults: &str) -> std::path::PathBuf {
    let base = std::fs::read_to_string(common::scenario("txn-coordinator-crash")).expect("scenario");
    let head = base.split("[[faults]]").next().expect("a scenario");
    let head = head.replace(
        "transaction_timeout_ms = 10000",
        &format!("transaction_timeout_ms = {timeout_ms}"),
    );
    assert!(
        head.contains(&format!("transaction_timeout_ms = {timeout_ms}")),
        "{head}"
    );
    let file = common::scratch("transactions", name).join(format!("{name}.toml"));
    let text = head.replacen("name = \"txn-coordinator-crash\"", &format!("name = \"{name}\""), 1) + faults;
    std::fs::write(&file, text).expect("written");
    file
}

/// Half the messages to and from the coordinator's broker arrive twice while the
/// gateways stall past their transaction timeout: a late `EndTxn`, `InitProducerId`,
/// `AddPartitionsToTxn` or marker copy must never act on a later transaction (before
/// transactions were numbered, seed 13 lost 885 acknowledged events).
#[test]
fn duplicated_coordinator_messages_never_decide_a_later_transaction() {
    let faults = r#"
[[faults]]
at_s = 3
kind = "duplicate"
side_a = ["broker:5"]
probability = 0.5
duration_s = 14

[[faults]]
at_s = 5
kind = "pause"
target = "gateway:0"
duration_s = 3

[[faults]]
at_s = 10
kind = "pause"
target = "gateway:1"
duration_s = 3
"#;
    let file = coordinator_variant("txn-duplicated-coordinator", 1500, faults);
    for r in common::assert_passes_every_seed_file("txn-duplicated-coordinator", &file, common::seeds(13)) {
        let t = transactions(&r);
        assert!(t.timed_out >= 1 && t.fenced >= 1, "seed {}: {t:?}", r.seed);
    }
}

/// A partition's leader pauses with a marker just written and is replaced: the marker
/// the paused leader wrote at an offset (later truncated) is not the one the consumers
/// read past, so no correct read is an `intermediate_read` (seed 2 reported one).
#[test]
fn a_stale_leaders_truncated_marker_is_not_taken_for_the_surviving_one() {
    let faults = r#"
[[faults]]
at_s = 6
kind = "pause"
target = "leader:0"
duration_s = 5
"#;
    let file = coordinator_variant("txn-paused-leader", 10000, faults);
    for r in common::assert_passes_every_seed_file("txn-paused-leader", &file, common::seeds(4)) {
        let t = transactions(&r);
        assert_eq!((t.aborted_reads, t.intermediate_reads), (0, 0), "seed {}", r.seed);
    }
}
