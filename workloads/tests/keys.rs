//! Statistical checks of the key distributions, with fixed seeds.

use crate::common;

use common::{all_events, timed, workload};

/// Least-squares slope of log(count) against log(rank) over the `top` most
/// frequent keys: the rank-frequency plot of a sample.
fn rank_frequency_slope(keys: impl Iterator<Item = u64>, key_count: u64, top: usize) -> f64 {
    let mut counts = vec![0u32; key_count as usize];
    for k in keys {
        counts[k as usize] += 1;
    }
    counts.sort_unstable_by(|a, b| b.cmp(a));
    let pts: Vec<(f64, f64)> = counts[..top]
        .iter()
        .enumerate()
        .map(|(i, &c)| (((i + 1) as f64).ln(), f64::from(c.max(1)).ln()))
        .collect();
    let n = pts.len() as f64;
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / n;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / n;
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx) * (p.0 - mx)).sum();
    sxy / sxx
}

/// The check the tests apply: slope within `tol` of `-exponent`.
fn looks_zipf(slope: f64, exponent: f64, tol: f64) -> bool {
    (slope + exponent).abs() <= tol
}

/// Over the top 100 ranks, each with >= ~1,000 hits at 2 M draws, the fitted slope
/// has a standard error around 0.01: a tolerance of 0.05 is five of them.
const SLOPE_TOL: f64 = 0.05;
const DRAWS_MS: u64 = 1_000;

#[test]
fn zipf_rank_frequency_slope_matches_exponent() {
    for exponent in [0.8, 1.0, 1.3] {
        let w = workload(&format!(
            r#"
            rate = {{ kind = "constant", events_per_s = 2_000_000.0 }}
            keys = {{ kind = "zipf", count = 1_000_000, exponent = {exponent} }}
            "#
        ));
        let ev = all_events(&w, 11, 4, DRAWS_MS, 10);
        assert!(ev.iter().all(|e| e.key < 1_000_000));
        let slope = rank_frequency_slope(ev.iter().map(|e| e.key), 1_000_000, 100);
        assert!(
            looks_zipf(slope, exponent, SLOPE_TOL),
            "exponent {exponent}: fitted slope {slope:.4} over {} events",
            ev.len()
        );
    }
}

#[test]
fn zipf_most_frequent_key_is_zero_with_the_right_share() {
    // P(key 0) = 1 / H(n, s); for n = 1000, s = 1, H = 7.4855 so P = 0.13359.
    let w = workload(
        r#"
        rate = { kind = "constant", events_per_s = 500_000.0 }
        keys = { kind = "zipf", count = 1000, exponent = 1.0 }
        "#,
    );
    let ev = all_events(&w, 5, 1, 1_000, 10);
    let share = ev.iter().filter(|e| e.key == 0).count() as f64 / ev.len() as f64;
    // Standard error sqrt(p(1-p)/n) = 0.0005 at n = 500 k; tolerance 0.003.
    assert!((share - 0.13359).abs() < 0.003, "share of key 0: {share}");
}

#[test]
fn negative_control_uniform_keys_fail_the_zipf_check() {
    let w = workload(
        r#"
        rate = { kind = "constant", events_per_s = 2_000_000.0 }
        keys = { kind = "uniform", count = 1_000_000 }
        "#,
    );
    let ev = all_events(&w, 11, 4, DRAWS_MS, 10);
    let slope = rank_frequency_slope(ev.iter().map(|e| e.key), 1_000_000, 100);
    assert!(
        !looks_zipf(slope, 1.0, SLOPE_TOL),
        "uniform keys passed as Zipf(1): slope {slope}"
    );
    // And a Zipf sample is told apart from the wrong exponent.
    let w = workload(
        r#"
        rate = { kind = "constant", events_per_s = 2_000_000.0 }
        keys = { kind = "zipf", count = 1_000_000, exponent = 1.0 }
        "#,
    );
    let ev = all_events(&w, 11, 4, DRAWS_MS, 10);
    let slope = rank_frequency_slope(ev.iter().map(|e| e.key), 1_000_000, 100);
    assert!(
        !looks_zipf(slope, 1.3, SLOPE_TOL),
        "Zipf(1) passed as Zipf(1.3): slope {slope}"
    );
}

#[test]
fn hot_keys_get_their_share_and_the_rest_is_uniform() {
    let w = workload(
        r#"
        rate = { kind = "constant", events_per_s = 400_000.0 }
        keys = { kind = "hot", count = 100_000, hot_keys = 10, hot_share = 0.3 }
        "#,
    );
    let ev = all_events(&w, 3, 8, 1_000, 10);
    let n = ev.len() as f64;
    let hot = ev.iter().filter(|e| e.key < 10).count() as f64 / n;
    // Standard error of the share is 0.0007 at 400 k events; tolerance 0.004.
    assert!((hot - 0.3).abs() < 0.004, "hot share {hot}");
    // The cold keys split evenly: their lower half takes half of the remaining 0.7.
    let low_cold = ev.iter().filter(|e| (10..50_005).contains(&e.key)).count() as f64 / n;
    assert!((low_cold - 0.35).abs() < 0.004, "lower cold half {low_cold}");
    assert!(ev.iter().all(|e| e.key < 100_000));
}

#[test]
fn moving_hotspot_moves_and_all_clients_agree() {
    let w = workload(
        r#"
        rate = { kind = "constant", events_per_s = 200_000.0 }
        keys = { kind = "moving_hotspot", count = 1_000_000, hot_keys = 20, hot_share = 0.5, move_every_s = 1.0 }
        "#,
    );
    let epochs = 4u64;
    let hot_set = |client: u32, epoch: u64| -> (Vec<u64>, f64) {
        let ev = timed(&w, 9, client, 2, epochs * 1000, 7);
        let in_epoch: Vec<u64> = ev
            .iter()
            .filter(|d| d.t_ms / 1000 == epoch)
            .map(|d| d.event.key)
            .collect();
        let mut counts = std::collections::BTreeMap::new();
        for k in &in_epoch {
            *counts.entry(*k).or_insert(0u32) += 1;
        }
        // With 50 k events per client per epoch, a hot key gets ~1,250 hits and a
        // cold one almost never more than 3.
        let mut hot: Vec<u64> = counts.iter().filter(|(_, &c)| c > 100).map(|(&k, _)| k).collect();
        hot.sort_unstable();
        let share = in_epoch.iter().filter(|k| hot.binary_search(k).is_ok()).count() as f64 / in_epoch.len() as f64;
        (hot, share)
    };
    let mut previous: Option<Vec<u64>> = None;
    for epoch in 0..epochs {
        let (a, share_a) = hot_set(0, epoch);
        let (b, _) = hot_set(1, epoch);
        assert_eq!(a.len(), 20, "epoch {epoch}: hot set {a:?}");
        assert_eq!(a, b, "clients disagree on the hot set in epoch {epoch}");
        // Standard error of the share is 0.0022 at 50 k events; tolerance 0.01.
        assert!((share_a - 0.5).abs() < 0.01, "epoch {epoch}: share {share_a}");
        // Consecutive keys modulo the key count.
        let span = a.windows(2).filter(|p| p[1] - p[0] != 1).count();
        assert!(span <= 1, "hot set not one window: {a:?}");
        if let Some(prev) = &previous {
            assert_ne!(prev, &a, "hot set did not move at epoch {epoch}");
        }
        previous = Some(a);
    }
}

#[test]
fn round_robin_cycles_through_every_key() {
    let w = workload(
        r#"
        rate = { kind = "constant", events_per_s = 10_000.0 }
        keys = { kind = "round_robin", count = 7 }
        "#,
    );
    let ev = timed(&w, 1, 0, 1, 100, 10);
    assert!(ev.len() > 900);
    for (i, d) in ev.iter().enumerate() {
        assert_eq!(d.event.key, i as u64 % 7);
    }
    // Client 1 of 2 starts half-way round.
    let second = timed(&w, 1, 1, 2, 10, 10);
    assert_eq!(second[0].event.key, 3);
}
