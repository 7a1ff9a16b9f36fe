//! Kafka transactions end to end: a gateway stalled past its transaction
//! timeout is fenced as a zombie and its records are sent again once; the
//! coordinator's broker crashing with commits half-written loses nothing,
//! as its successor finishes them; and the two safety switches (fencing,
//! read_committed) are each caught by the check they stand for.

mod common;

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
        // The last stable offset never passes the high watermark; while the commits hang
        // half-written it stays put behind it, and it moves on once they are finished.
        assert!(t.lso_series.iter().all(|p| p.lso <= p.hw), "seed {}", r.seed);
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
