//! Rate profiles: shapes, integrals, and counts actually drawn, with fixed seeds.

use crate::common;

use std::path::PathBuf;

use common::{all_events, spec, timed, workload};
use streamsim_workloads::Workload;

const DAY_MS: u64 = 86_400_000;

/// Max over mean and min over mean of `rate_at`, sampled every second of one day,
/// and the hour of the maximum.
fn day_shape(w: &Workload) -> (f64, f64, f64) {
    let rates: Vec<f64> = (0..86_400u64).map(|s| w.rate_at(s * 1000)).collect();
    let mean = rates.iter().sum::<f64>() / rates.len() as f64;
    let (imax, max) = rates
        .iter()
        .enumerate()
        .fold((0, f64::MIN), |acc, (i, &r)| if r > acc.1 { (i, r) } else { acc });
    let min = rates.iter().cloned().fold(f64::MAX, f64::min);
    (max / mean, min / mean, imax as f64 / 3600.0)
}

#[test]
fn diurnal_peak_to_mean_and_daily_total() {
    // (peak_factor, trough_factor or none, expected trough)
    for (pf, tf, want_trough) in [
        (1.8, None, 0.2),
        (3.0, None, 0.0),
        (4.0, Some(0.25), 0.25),
        (1.0, None, 1.0),
    ] {
        let trough = tf.map(|t| format!(", trough_factor = {t}")).unwrap_or_default();
        let w = workload(&format!(
            r#"rate = {{ kind = "diurnal", events_per_day = 300_000_000.0, peak_factor = {pf}, peak_hour = 14.0{trough} }}"#
        ));
        let (peak, low, peak_hour) = day_shape(&w);
        // Sampling every second of a smooth curve: ratios are exact to 1e-3.
        assert!((peak - pf).abs() < 1e-3 * pf, "pf {pf}: peak/mean {peak}");
        assert!((low - want_trough).abs() < 1e-3, "pf {pf}: trough/mean {low}");
        if pf > 1.0 {
            assert!((peak_hour - 14.0).abs() < 0.02, "pf {pf}: peak at hour {peak_hour}");
        }
        // The integral over whole days is exact to well under one event.
        for days in [1, 2, 7] {
            let total = w.expected_events(0, days * DAY_MS);
            assert!(
                (total - 3e8 * days as f64).abs() < 1.0,
                "pf {pf}: {total} events in {days} days"
            );
        }
        assert!((w.mean_rate(DAY_MS) - 3e8 / 86_400.0).abs() < 1e-6);
    }
}

#[test]
fn diurnal_start_hour_shifts_the_curve() {
    let w =
        workload(r#"rate = { kind = "diurnal", events_per_day = 86_400_000.0, peak_factor = 2.0, start_hour = 14.0 }"#);
    // Time 0 is the 14:00 peak: twice the mean of 1000/s; twelve hours later, zero.
    assert!((w.rate_at(0) - 2000.0).abs() < 1e-6);
    assert!(w.rate_at(12 * 3_600_000).abs() < 1e-6);
    // Any window of 24 hours still holds one day of events.
    let total = w.expected_events(5 * 3_600_000, 29 * 3_600_000);
    assert!((total - 86_400_000.0).abs() < 1.0, "{total}");
}

#[test]
fn diurnal_drawn_events_over_a_day_match_the_daily_total() {
    // Scaled down to 1 M events a day so that a whole day is drawn quickly.
    let w = workload(r#"rate = { kind = "diurnal", events_per_day = 1_000_000.0, peak_factor = 2.5 }"#);
    let clients = 8;
    let mut per_hour = [0u64; 24];
    for c in 0..clients {
        for d in timed(&w, 77, c, clients, DAY_MS, 1_000) {
            per_hour[(d.t_ms / 3_600_000) as usize] += 1;
        }
    }
    let total: u64 = per_hour.iter().sum();
    // Poisson: standard deviation 1,000; tolerance 5,000 (0.5 %).
    assert!((total as f64 - 1e6).abs() < 5_000.0, "drawn {total} events in a day");
    // Each hour's count follows the curve: within 5 standard deviations of its expectation.
    for (h, &n) in per_hour.iter().enumerate() {
        let want = w.expected_events(h as u64 * 3_600_000, (h as u64 + 1) * 3_600_000);
        assert!(
            (n as f64 - want).abs() < 5.0 * want.sqrt() + 1.0,
            "hour {h}: {n} vs {want}"
        );
    }
}

#[test]
fn fractional_rates_are_honoured_over_time() {
    // 0.37 events/s per client: most 10 ms intervals hold no event, yet the count
    // over an hour is right. Expected 1,332 per client, standard deviation 36.5.
    let w = workload(r#"rate = { kind = "constant", events_per_s = 37.0 }"#);
    for c in [0, 57, 99] {
        let n = timed(&w, 4, c, 100, 3_600_000, 10).len() as f64;
        assert!((n - 1332.0).abs() < 5.0 * 36.5, "client {c}: {n}");
    }
}

#[test]
fn ramp_step_and_spikes_give_the_expected_counts() {
    let cases = [
        (
            r#"rate = { kind = "ramp", from_per_s = 0.0, to_per_s = 20000.0, start_s = 0.0, end_s = 10.0 }"#,
            vec![
                (0, 5_000, 25_000.0),
                (5_000, 10_000, 75_000.0),
                (10_000, 12_000, 40_000.0),
            ],
        ),
        (
            r#"rate = { kind = "step", steps = [{ at_s = 1.0, events_per_s = 1000.0 }, { at_s = 3.0, events_per_s = 10000.0 }] }"#,
            vec![(0, 1_000, 0.0), (1_000, 3_000, 2_000.0), (3_000, 5_000, 20_000.0)],
        ),
        (
            r#"rate = { kind = "with_spikes", base = { kind = "constant", events_per_s = 2000.0 }, spikes = [{ at_s = 2.0, duration_s = 1.0, factor = 10.0 }] }"#,
            vec![(0, 2_000, 4_000.0), (2_000, 3_000, 20_000.0), (3_000, 4_000, 2_000.0)],
        ),
        (
            r#"rate = { kind = "sum", profiles = [{ kind = "constant", events_per_s = 1000.0 }, { kind = "ramp", from_per_s = 0.0, to_per_s = 1000.0, start_s = 0.0, end_s = 2.0 }] }"#,
            vec![(0, 2_000, 3_000.0), (2_000, 4_000, 4_000.0)],
        ),
    ];
    for (text, windows) in cases {
        let w = workload(text);
        let mut ev = Vec::new();
        for c in 0..4 {
            ev.extend(timed(&w, 8, c, 4, 12_000, 5));
        }
        for (t0, t1, want) in windows {
            assert!(
                (w.expected_events(t0, t1) - want).abs() < 1e-6,
                "{text}: expected {want} in [{t0}, {t1})"
            );
            let n = ev.iter().filter(|d| (t0..t1).contains(&d.t_ms)).count() as f64;
            assert!(
                (n - want).abs() <= 5.0 * want.sqrt() + 1.0,
                "{text}: {n} drawn in [{t0}, {t1}), want {want}"
            );
        }
    }
}

fn temp_csv(name: &str, body: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("streamsim-workloads-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    path
}

#[test]
fn csv_rate_series_interpolates_and_resolves_relative_paths() {
    let file = temp_csv(
        "rates.csv",
        "# hourly profile\nt_s,events_per_s,other\n0,100,5\n10,300,5\n20,300,1\n",
    );
    let dir = file.parent().unwrap();
    for (interp, at5, first20) in [("linear", 200.0, 5_000.0), ("step", 100.0, 4_000.0)] {
        let s = spec(&format!(
            r#"rate = {{ kind = "csv", path = "rates.csv", interpolation = "{interp}" }}"#
        ));
        let w = Workload::new(&s, dir).unwrap();
        assert_eq!(w.rate_at(5_000), at5, "{interp}");
        assert_eq!(w.rate_at(25_000), 300.0, "{interp}: held after the last row");
        assert!((w.expected_events(0, 20_000) - first20).abs() < 1e-6, "{interp}");
        let n = all_events(&w, 2, 2, 20_000, 10).len() as f64;
        assert!((n - first20).abs() < 5.0 * first20.sqrt(), "{interp}: drew {n}");
    }
    let s = spec(r#"rate = { kind = "csv", path = "rates.csv", column = "other", interpolation = "step" }"#);
    let w = Workload::new(&s, dir).unwrap();
    assert_eq!(w.rate_at(25_000), 1.0);
}

#[test]
fn malformed_csv_names_the_field_and_the_line() {
    let cases = [
        ("bad-number.csv", "t_s,events_per_s\n0,10\n5,lots\n", "line 3"),
        ("not-increasing.csv", "t_s,events_per_s\n0,10\n5,10\n5,20\n", "line 4"),
        ("negative.csv", "t_s,events_per_s\n0,-1\n", "line 2"),
        ("ragged.csv", "t_s,events_per_s\n0,10\n1,2,3\n", "line 3"),
        ("no-column.csv", "time,events_per_s\n0,10\n", "no column `t_s`"),
        ("empty.csv", "t_s,events_per_s\n", "no rows"),
    ];
    for (name, body, needle) in cases {
        let file = temp_csv(name, body);
        let s = spec(&format!(
            r#"rate = {{ kind = "sum", profiles = [{{ kind = "constant", events_per_s = 1.0 }}, {{ kind = "csv", path = "{name}" }}] }}"#
        ));
        let err = Workload::new(&s, file.parent().unwrap()).unwrap_err();
        assert_eq!(err.field, "rate.profiles[1].path", "{name}");
        assert!(err.message.contains(needle), "{name}: {err}");
    }
    let s = spec(r#"rate = { kind = "csv", path = "does-not-exist.csv" }"#);
    let err = Workload::new(&s, &std::env::temp_dir()).unwrap_err();
    assert_eq!(err.field, "rate.path");
}

#[test]
fn mean_rate_of_a_spec() {
    let s = spec(r#"rate = { kind = "ramp", from_per_s = 0.0, to_per_s = 100.0, start_s = 0.0, end_s = 10.0 }"#);
    assert!((s.mean_rate(std::path::Path::new("."), 10_000).unwrap() - 50.0).abs() < 1e-9);
    assert!((s.expected_events(std::path::Path::new("."), 20_000).unwrap() - 1500.0).abs() < 1e-9);
}

#[test]
fn silent_stretches_cost_nothing_and_end_on_time() {
    // No traffic at all: nothing is drawn, however long the run.
    let w = workload(r#"rate = { kind = "constant", events_per_s = 0.0 }"#);
    assert!(timed(&w, 1, 0, 1, 100_000, 10).is_empty());
    // Silent for a day, then 1000/s: the first event comes right after the step.
    let w = workload(
        r#"rate = { kind = "step", steps = [{ at_s = 0.0, events_per_s = 0.0 }, { at_s = 86400.0, events_per_s = 1000.0 }] }"#,
    );
    let mut s = w.client_stream(3, 0, 1);
    let mut out = Vec::new();
    let mut t = 0;
    while t < DAY_MS + 1_000 {
        s.draw_timed(t, t + 100, &mut out);
        t += 100;
    }
    assert!(out.iter().all(|d| d.t_ms >= DAY_MS));
    // 1,000 expected in the last second: standard deviation 32.
    assert!((out.len() as f64 - 1000.0).abs() < 160.0, "{}", out.len());
}
