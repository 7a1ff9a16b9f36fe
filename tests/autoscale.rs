//! Broker autoscaling: over a diurnal day compressed into 24 s the cluster
//! scales out at the peak and back in after, each step a set of partition
//! reassignments, with nothing acknowledged lost or doubled; a reassignment
//! that drops the old replica before the new one is in the ISR is caught as
//! loss when a broker crashes during the move, and the same crash with the
//! safe order loses nothing.

use crate::common;

use streamsim_reports::Verdict;

/// The bar: every seed of 1 to 20 passes, and the negative control
/// is caught on at least one of them.
const SEEDS: u64 = 20;

#[test]
fn the_cluster_scales_out_at_the_peak_and_back_in_after_on_every_seed() {
    let runs = common::assert_passes_every_seed("seed-autoscale", common::seeds(SEEDS));
    for r in &runs {
        let a = r.autoscale.as_ref().expect("an autoscaled run reports its scaling");
        assert_eq!((a.min_brokers, a.max_brokers), (3, 6));
        let events = &a.scale_events;
        // Out while the load climbs to its noon peak (8 s in), back in once it falls.
        let out = events.iter().find(|e| e.to > e.from).expect("a scale-out");
        assert!(
            out.at_ms <= 8_000,
            "seed {}: first scale-out at {} ms",
            r.seed,
            out.at_ms
        );
        let back = events.iter().find(|e| e.to < e.from).expect("a scale-in");
        assert!(
            back.at_ms > 12_000,
            "seed {}: first scale-in at {} ms",
            r.seed,
            back.at_ms
        );
        // One broker at a time, and never outside the range.
        for e in events {
            assert_eq!(e.from.abs_diff(e.to), 1, "seed {}: {e:?}", r.seed);
            assert!((3..=6).contains(&e.to));
        }
        assert!(a.reassignments > 0);
        // The decision saw the mean CPU above the scale-out threshold before the first step.
        let before = a
            .periods
            .iter()
            .take_while(|p| p.at_ms <= out.at_ms)
            .last()
            .expect("a period");
        assert!(before.cpu > a.cpu_scale_out, "seed {}: {before:?}", r.seed);
    }
}

#[test]
fn dropping_the_old_replica_before_the_new_one_is_in_sync_loses_records_under_a_crash() {
    let r = common::assert_caught("neg-autoscale-drop-before-isr", "no_loss", SEEDS);
    assert!(r.events_lost > 0);
    assert_eq!(r.verdict, Verdict::Violation);
}

#[test]
fn the_same_crash_during_a_move_in_the_safe_order_loses_nothing() {
    // The negative control with the old replica kept until the new one is in the ISR.
    let neg = common::scenario("neg-autoscale-drop-before-isr");
    let mut text = std::fs::read_to_string(&neg).unwrap();
    for (from, to) in [
        ("drop_old_replica_first = true", "drop_old_replica_first = false"),
        ("expect = \"violation\"", "expect = \"pass\""),
        (
            "expect_invariant = [\"no_loss\", \"throughput\", \"per_key_order\", \"liveness.settle\"]\n",
            "",
        ),
    ] {
        // The variant must be the negative control with only these changed.
        assert!(text.contains(from), "the negative control no longer has {from:?}");
        text = text.replace(from, to);
    }
    let dir = std::env::temp_dir().join(format!("streamsim-autoscale-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let safe = dir.join("safe-order.toml");
    std::fs::write(&safe, text).unwrap();
    let runs = common::assert_passes_every_seed_file("safe order", &safe, 3);
    for r in &runs {
        assert!(r.autoscale.as_ref().is_some_and(|a| !a.scale_events.is_empty()));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_autoscaled_run_is_deterministic_and_plots_brokers_and_cpu() {
    let a = common::run_with_timeline("seed-autoscale", 4);
    let b = common::run_with_timeline("seed-autoscale", 4);
    assert_eq!(a.report.result.trace_hash, b.report.result.trace_hash);
    assert_eq!(a.report.result.autoscale, b.report.result.autoscale);
    assert!(streamsim_reports::run_plots(&a.report).contains(&streamsim_reports::AUTOSCALE_PLOT));
    // The timeline names each step and each move.
    let text: Vec<&str> = a.timeline.iter().map(|e| e.text.as_str()).collect();
    assert!(text.iter().any(|t| t.contains("joins (3 -> 4 brokers)")), "{text:?}");
    assert!(text
        .iter()
        .any(|t| t.starts_with("reassignment of partition") && t.contains("completes")));
    assert!(text.iter().any(|t| t.contains("deletes its replica of partition")));
    assert!(text.iter().any(|t| t.contains("leaves the cluster")));
}
