//! The scenario library over many seeds: safe settings hold on every seed,
//! known-unsafe settings are caught on some seed.

use crate::common;

// The library's must-pass scenarios (steady, leader-crash, leader-isolated,
// zombie-leader-acks-all, lossy-network) are held to their verdict, with no
// loss and no duplicate, on every seed by the chaos library test; the tests
// here check what a verdict does not show.

/// Seeds a must-pass scenario runs here for the checks beyond its verdict (`cargo xtask soak`
/// runs more).
const QUICK_SEEDS: u64 = 2;
/// Seeds a negative control may take to be caught; the sweep stops at the first catch.
const CATCH_WITHIN: u64 = 50;

fn assert_caught(name: &str, invariant: &str) {
    common::assert_caught(name, invariant, CATCH_WITHIN);
}

#[test]
fn acks_1_loses_acknowledged_events() {
    let r = common::assert_caught("neg-acks1-zombie-leader", "no_loss", CATCH_WITHIN);
    // The loss is found although most of the log was counted and summarised while the run went.
    assert!(r.events_lost > 0 && r.log_records_summarised * 2 > r.events_acked);
}

#[test]
fn min_isr_1_with_unclean_election_loses_acknowledged_events() {
    assert_caught("neg-unclean-min-isr-1", "no_loss");
}

#[test]
fn retries_without_idempotence_duplicate_events() {
    assert_caught("neg-no-idempotence", "no_duplicates");
}

#[test]
fn pipelined_requests_over_a_reordering_network_break_key_order() {
    assert_caught("neg-reorder-in-flight", "per_key_order");
}

#[test]
fn an_unreachable_latency_budget_is_reported() {
    assert_caught("neg-tight-budget", "budget.ack_p99_ms");
}

/// Producers batch per partition: when a broker dies, the partitions with no
/// replica on it keep their full acknowledged rate until the controller
/// fences the dead broker. With replicas on consecutive brokers, broker 0 of
/// 6 holds a replica of half the partitions, so half the rate goes on.
#[test]
fn a_dead_broker_holds_back_only_the_partitions_it_replicates() {
    use streamsim_sim::run::run_scenario;
    let loaded = streamsim_sim::load_scenario(&common::scenario("broker-crash-partial-outage")).expect("loads");
    for seed in 1..=common::seeds(2) {
        let out = run_scenario(&loaded, &common::options(seed)).expect("runs");
        let r = &out.report;
        assert_eq!(
            r.result.verdict,
            streamsim_reports::Verdict::Pass,
            "{:?}",
            r.result.violations
        );
        assert_eq!(r.bucket_ms, 1000);
        let acked = |from: usize, to: usize| {
            r.buckets[from..to].iter().map(|b| b.acked).sum::<u64>() as f64 / (to - from) as f64
        };
        // 10 to 20 s: before the crash; 21 to 25 s: broker 0 is dead and not yet fenced (at about 26 s).
        let (before, during) = (acked(10, 20), acked(21, 25));
        let min_per_s = r.buckets[21..25].iter().map(|b| b.acked).min().unwrap();
        assert!(
            during >= 0.45 * before && min_per_s as f64 >= 0.4 * before,
            "seed {seed}: {during:.0} acknowledged/s while broker 0 was down against {before:.0}/s before \
             (slowest second {min_per_s})"
        );
        // The other half really stalled: acks=all waits for the dead ISR member until it is fenced.
        assert!(
            during <= 0.6 * before,
            "seed {seed}: {during:.0}/s during against {before:.0}/s"
        );
    }
}

#[test]
fn retention_deletes_settled_segments_and_keeps_every_check() {
    for r in common::assert_passes_every_seed("retention-short", common::seeds(QUICK_SEEDS)) {
        // 40 s at 5,000 events/s with 15 s of retention: the first half of every partition
        // is gone from all three replicas by the end, and everything was still checked.
        assert!(
            r.log_records_deleted_by_retention > r.events_acked,
            "seed {}: retention deleted {} records over the replicas of {} acknowledged",
            r.seed,
            r.log_records_deleted_by_retention,
            r.events_acked
        );
        assert_eq!(
            r.read.events_in_sink.unwrap() + r.read.events_late.unwrap(),
            r.events_acked
        );
    }
}

#[test]
fn every_truncation_is_on_the_timeline_with_the_acknowledged_events_it_removed() {
    use streamsim_sim::run::run_scenario;
    use streamsim_sim::world::TimelineKind;
    let loaded = streamsim_sim::scenario::load_scenario(&common::scenario("neg-acks1-zombie-leader")).unwrap();
    let out = run_scenario(&loaded, &common::options(1)).unwrap();
    let field = |e: &streamsim_sim::world::TimelineEntry, name: &str| {
        e.fields
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.as_u64())
            .unwrap_or_else(|| panic!("truncation entry without {name}: {}", e.text))
    };
    let truncations: Vec<_> = out
        .timeline
        .iter()
        .filter(|e| e.kind == TimelineKind::Truncation)
        .collect();
    let lost = out.report.result.events_lost;
    assert!(lost > 0, "the negative control must lose acknowledged events");
    for e in &truncations {
        assert_eq!(
            field(e, "removed"),
            field(e, "from_offset") - field(e, "to_offset"),
            "{}",
            e.text
        );
        assert!(field(e, "acknowledged_removed") <= field(e, "removed"), "{}", e.text);
    }
    // Every lost event was acknowledged and cut from some replica's log, its
    // acknowledgement reaching the client before the cut or after it, so the
    // truncations account for at least as many acknowledged records as were lost.
    let acked_removed: u64 = truncations
        .iter()
        .map(|e| field(e, "acknowledged_removed") + field(e, "acknowledged_after_cut"))
        .sum();
    assert!(
        acked_removed >= lost,
        "{} truncation(s) removed {acked_removed} acknowledged records, but {lost} events were lost",
        truncations.len()
    );
}

fn field<'a>(e: &'a streamsim_sim::world::TimelineEntry, name: &str) -> &'a serde_json::Value {
    e.fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("{:?} entry without {name}: {}", e.kind, e.text))
}

/// Broker 0's partitions in the KIP-966 schedule (its power loss hits their leader).
const LED_BY_BROKER_0: [u64; 4] = [0, 3, 6, 9];

/// KIP-966's "last replica standing": the acknowledged records lost are the ones broker 2
/// held and cut when broker 0, re-elected as the last ISR member, led with a shorter log.
#[test]
fn without_eligible_leader_replicas_the_last_replica_standing_loses_acknowledged_records() {
    use streamsim_sim::world::TimelineKind;
    let out = common::run_with_timeline("neg-kip966-no-elr", 1);
    let lost = out.report.result.events_lost;
    assert!(lost > 0, "the negative control must lose acknowledged events");
    let reelected: Vec<u64> = out
        .timeline
        .iter()
        .filter(|e| e.kind == TimelineKind::Election && field(e, "leader") == 0 && field(e, "previous").is_null())
        .map(|e| field(e, "partition").as_u64().unwrap())
        .collect();
    assert_eq!(
        reelected,
        [0, 3, 6, 9, 12],
        "broker 0 is re-elected as the last ISR member"
    );
    let cut_by_broker_2: u64 = out
        .timeline
        .iter()
        .filter(|e| e.kind == TimelineKind::Truncation && field(e, "broker") == 2)
        .filter(|e| LED_BY_BROKER_0.contains(&field(e, "partition").as_u64().unwrap()))
        .map(|e| field(e, "acknowledged_removed").as_u64().unwrap())
        .sum();
    assert!(
        cut_by_broker_2 >= lost && cut_by_broker_2 < lost + lost / 10,
        "broker 2 cut {cut_by_broker_2} acknowledged records from broker 0's partitions; {lost} events were lost"
    );
}

/// The same schedule with eligible leader replicas: broker 2 stays electable, broker 0's
/// unclean shutdown takes it out of the ELR, and broker 2 leads with every acknowledged record.
#[test]
fn eligible_leader_replicas_elect_the_replica_that_kept_the_acknowledged_records() {
    use streamsim_sim::world::TimelineKind;
    let out = common::run_with_timeline("kip966-elr", 1);
    let r = &out.report.result;
    assert_eq!(r.verdict, streamsim_reports::Verdict::Pass, "{:?}", r.violations);
    let unclean: Vec<_> = out
        .timeline
        .iter()
        .filter(|e| e.kind == TimelineKind::UncleanShutdown)
        .collect();
    assert_eq!(unclean.len(), 1);
    assert_eq!(field(unclean[0], "broker"), 0);
    assert_eq!(field(unclean[0], "partitions"), &serde_json::json!([0, 3, 6, 9, 12]));
    let from_elr: Vec<(u64, u64)> = out
        .timeline
        .iter()
        .filter(|e| e.kind == TimelineKind::Election && field(e, "elected_from") == "elr")
        .filter(|e| e.at_ms > unclean[0].at_ms)
        .map(|e| {
            (
                field(e, "partition").as_u64().unwrap(),
                field(e, "leader").as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(from_elr, [(0, 2), (3, 2), (6, 2), (9, 2), (12, 2)]);
    // Nobody cut an acknowledged record of broker 0's partitions but broker 0's own power loss.
    for e in out.timeline.iter().filter(|e| e.kind == TimelineKind::Truncation) {
        let p = field(e, "partition").as_u64().unwrap();
        if LED_BY_BROKER_0.contains(&p) && field(e, "broker") != 0 {
            assert_eq!(field(e, "acknowledged_removed"), 0, "{}", e.text);
        }
    }
}
