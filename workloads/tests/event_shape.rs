//! Sizes, event-time lag, malformed and duplicate sends, schema versions.

use crate::common;

use common::{all_events, workload};
use streamsim_workloads::EventTimeSpec;

#[test]
fn lateness_fraction_and_mean() {
    let w = workload(
        r#"
        rate = { kind = "constant", events_per_s = 400_000.0 }
        event_time = { late_fraction = 0.05, late_mean_ms = 2000.0, max_lateness_ms = 1_000_000 }
        "#,
    );
    let ev = all_events(&w, 21, 4, 1_000, 10);
    let n = ev.len() as f64;
    let late: Vec<u64> = ev.iter().map(|e| e.event_time_lag_ms).filter(|&l| l > 0).collect();
    let frac = late.len() as f64 / n;
    // Standard error of the fraction is 0.00034 at 400 k events; tolerance 0.002.
    assert!((frac - 0.05).abs() < 0.002, "late fraction {frac}");
    let mean = late.iter().sum::<u64>() as f64 / late.len() as f64;
    // Standard error of the mean is 2000 / sqrt(20 k) = 14 ms; tolerance 3 % (60 ms).
    assert!((mean - 2000.0).abs() < 60.0, "mean lateness {mean}");
    assert!(late.iter().all(|&l| l <= 1_000_000));
}

#[test]
fn lateness_is_capped() {
    let spec = EventTimeSpec {
        late_fraction: 1.0,
        late_mean_ms: 1000.0,
        max_lateness_ms: 1500,
        ..EventTimeSpec::default()
    };
    let w = workload(
        r#"
        rate = { kind = "constant", events_per_s = 100_000.0 }
        event_time = { late_fraction = 1.0, late_mean_ms = 1000.0, max_lateness_ms = 1500 }
        "#,
    );
    let ev = all_events(&w, 22, 1, 1_000, 10);
    assert!(ev.iter().all(|e| (1..=1500).contains(&e.event_time_lag_ms)));
    // E[min(X, 1500)] for an exponential of mean 1000 is 776.9 ms; P(capped) = e^-1.5.
    let mean = ev.iter().map(|e| e.event_time_lag_ms).sum::<u64>() as f64 / ev.len() as f64;
    assert!((mean - spec.expected_late_lag_ms()).abs() < 10.0, "mean {mean}");
    let capped = ev.iter().filter(|e| e.event_time_lag_ms == 1500).count() as f64 / ev.len() as f64;
    assert!((capped - (-1.5f64).exp()).abs() < 0.005, "capped share {capped}");
}

#[test]
fn out_of_order_lags_are_bounded_and_uniform() {
    let w = workload(
        r#"
        rate = { kind = "constant", events_per_s = 200_000.0 }
        event_time = { out_of_order_fraction = 0.2, out_of_order_max_ms = 100 }
        "#,
    );
    let ev = all_events(&w, 23, 2, 1_000, 10);
    let lagged: Vec<u64> = ev.iter().map(|e| e.event_time_lag_ms).filter(|&l| l > 0).collect();
    let frac = lagged.len() as f64 / ev.len() as f64;
    // Standard error 0.0009; tolerance 0.005.
    assert!((frac - 0.2).abs() < 0.005, "out-of-order fraction {frac}");
    assert!(lagged.iter().all(|&l| (1..=100).contains(&l)));
    // Uniform on 1..=100 has mean 50.5 and standard deviation 28.9; 40 k draws give
    // a standard error of 0.14 ms.
    let mean = lagged.iter().sum::<u64>() as f64 / lagged.len() as f64;
    assert!((mean - 50.5).abs() < 1.0, "mean lag {mean}");
}

#[test]
fn sizes_follow_their_distribution() {
    let w = workload(
        r#"
        rate = { kind = "constant", events_per_s = 100_000.0 }
        size = { kind = "uniform", min = 100, max = 199 }
        "#,
    );
    let ev = all_events(&w, 31, 1, 1_000, 10);
    assert!(ev.iter().all(|e| (100..=199).contains(&e.size_bytes)));
    assert!(ev.iter().any(|e| e.size_bytes == 100) && ev.iter().any(|e| e.size_bytes == 199));
    let mean = ev.iter().map(|e| f64::from(e.size_bytes)).sum::<f64>() / ev.len() as f64;
    assert!((mean - 149.5).abs() < 0.5, "uniform mean {mean}");

    let w = workload(
        r#"
        rate = { kind = "constant", events_per_s = 100_000.0 }
        size = { kind = "lognormal", median_bytes = 800.0, sigma = 0.5, max_bytes = 4000 }
        "#,
    );
    let mut sizes: Vec<u32> = all_events(&w, 32, 1, 1_000, 10).iter().map(|e| e.size_bytes).collect();
    sizes.sort_unstable();
    let median = sizes[sizes.len() / 2];
    // The sample median of 100 k draws is within ~0.5 % of 800.
    assert!((780..=820).contains(&median), "lognormal median {median}");
    assert!(*sizes.last().unwrap() <= 4000 && sizes[0] >= 1);
    // P(X > 4000) = P(Z > ln 5 / 0.5 = 3.22) = 0.00064: a few dozen clamped draws.
    let clamped = sizes.iter().filter(|&&s| s == 4000).count();
    assert!((20..=120).contains(&clamped), "clamped {clamped}");

    let w = workload(r#"rate = { kind = "constant", events_per_s = 1000.0 }"#);
    assert!(all_events(&w, 33, 1, 1_000, 10).iter().all(|e| e.size_bytes == 1024));
}

#[test]
fn malformed_duplicate_and_schema_mix() {
    let w = workload(
        r#"
        rate = { kind = "constant", events_per_s = 200_000.0 }
        malformed_fraction = 0.01
        duplicate_fraction = 0.05
        schema_versions = [{ version = 1, weight = 3.0 }, { version = 2, weight = 1.0 }, { version = 9, weight = 0.0 }]
        "#,
    );
    let ev = all_events(&w, 41, 4, 1_000, 10);
    let n = ev.len() as f64;
    let share = |f: &dyn Fn(&streamsim_workloads::EventDraw) -> bool| ev.iter().filter(|e| f(e)).count() as f64 / n;
    // Standard errors at 200 k events: 0.00022, 0.00049, 0.00097; tolerances ~5x.
    assert!((share(&|e| e.malformed) - 0.01).abs() < 0.0012);
    assert!((share(&|e| e.duplicate_send) - 0.05).abs() < 0.0025);
    assert!((share(&|e| e.schema_version == 2) - 0.25).abs() < 0.005);
    assert_eq!(share(&|e| e.schema_version == 9), 0.0);
    assert_eq!(
        share(&|e| e.schema_version == 1) + share(&|e| e.schema_version == 2),
        1.0
    );

    let w = workload(r#"rate = { kind = "constant", events_per_s = 1000.0 }"#);
    let ev = all_events(&w, 42, 1, 1_000, 10);
    assert!(ev
        .iter()
        .all(|e| !e.malformed && !e.duplicate_send && e.schema_version == 1 && e.event_time_lag_ms == 0));
}
