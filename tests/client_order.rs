//! Per-key order with several batches in flight: with idempotence on, a
//! client numbers its batches per partition and a gateway takes them only in
//! sequence, so a lossy, reordering network cannot reorder a key's events;
//! with idempotence off the same run is caught breaking the order.

use crate::common;

#[test]
fn five_in_flight_with_idempotence_keep_every_key_in_order() {
    let results = common::assert_passes_every_seed("reorder-in-flight-idempotent", common::seeds(8));
    for r in &results {
        // The order held because gateways refused batches that would have overtaken
        // another, not because nothing was reordered.
        assert!(
            r.throughput.out_of_order_refusals > 0,
            "seed {}: no batch was refused out of sequence",
            r.seed
        );
        assert_eq!(r.events_lost, 0, "seed {}", r.seed);
        assert_eq!(r.events_duplicated, 0, "seed {}", r.seed);
    }
}

#[test]
fn five_in_flight_without_idempotence_reorder_a_key() {
    let r = common::assert_caught("neg-reorder-in-flight", "per_key_order", 50);
    // Off, nothing is numbered and nothing is refused out of sequence.
    assert_eq!(r.throughput.out_of_order_refusals, 0);
}

#[test]
fn one_in_flight_is_never_refused_out_of_sequence() {
    // With one batch in flight per partition every batch is its partition's lowest
    // unsettled one, so numbering changes nothing (trace hashes stay as they were).
    let r = common::run_with_timeline("lossy-network", 1).report.result;
    assert_eq!(r.verdict, streamsim_reports::Verdict::Pass, "{:?}", r.violations);
    assert_eq!(r.throughput.out_of_order_refusals, 0);
}
