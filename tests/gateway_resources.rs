//! The gateways' resource model: a gateway with too little CPU is the
//! bottleneck (its CPU saturates, the throughput check fails, the brokers
//! idle), enough gateways keep up, and impossible settings are refused
//! before the run with the file, line and field.

use std::path::{Path, PathBuf};
use streamsim_reports::{RunResult, Verdict};
use streamsim_sim::scenario::parse_scenario;

use crate::common;

const NEG: &str = "scenarios/neg-gateway-bottleneck.toml";

/// The negative control with `from` replaced by `to`, as a file of its own.
fn variant(name: &str, from: &str, to: &str) -> PathBuf {
    let text = std::fs::read_to_string(NEG).unwrap();
    assert!(text.contains(from), "{from:?} not in {NEG}");
    let dir = std::env::temp_dir().join(format!("streamsim-gwres-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    path
}

/// The busiest bucket's CPU of the busiest broker.
fn broker_cpu_peak(report: &streamsim_reports::RunReport) -> f64 {
    report
        .buckets
        .iter()
        .flat_map(|b| b.brokers.iter().map(|u| u.cpu))
        .fold(0.0, f64::max)
}

#[test]
fn one_small_gateway_is_the_bottleneck_and_the_brokers_idle() {
    let report = common::run_file(Path::new(NEG), 1).report;
    let r: &RunResult = &report.result;
    assert_eq!(r.verdict, Verdict::Violation);
    let names: Vec<&str> = r.violations.iter().map(|v| v.invariant.as_str()).collect();
    assert_eq!(names, ["throughput"], "{:?}", r.violations);
    assert!(!r.throughput.kept_up);
    assert_eq!(r.events_lost, 0, "a slow gateway is not loss");
    assert_eq!(r.events_duplicated, 0);
    assert_eq!(r.gateway_utilisation.len(), 1);
    let g = r.gateway_utilisation[0];
    assert!(g.cpu_peak > 0.97, "gateway CPU peak {}", g.cpu_peak);
    assert!(g.cpu_mean > 0.8, "gateway CPU mean {}", g.cpu_mean);
    let brokers = broker_cpu_peak(&report);
    assert!(brokers < 0.2, "broker CPU peak {brokers}");
    // The plot of the gateways is in the report.
    assert!(streamsim_reports::run_plots(&report).contains(&"gateway_utilisation"));
}

#[test]
fn four_gateways_carry_the_same_load() {
    let path = variant("four-gateways", "gateways = 1", "gateways = 4");
    let text = std::fs::read_to_string(&path).unwrap().replacen(
        "expect = \"violation\"\nexpect_invariant = \"throughput\"",
        "expect = \"pass\"",
        1,
    );
    std::fs::write(&path, text).unwrap();
    let r = common::run_file(&path, 1).report.result;
    assert_eq!(r.verdict, Verdict::Pass, "{:?}", r.violations);
    assert!(r.throughput.kept_up);
    assert_eq!(r.gateway_utilisation.len(), 4);
    for g in &r.gateway_utilisation {
        assert!(g.cpu_peak < 0.8, "gateway-{} CPU peak {}", g.gateway, g.cpu_peak);
        assert!(g.cpu_mean > 0.1, "gateway-{} CPU mean {}", g.gateway, g.cpu_mean);
    }
}

#[test]
fn impossible_gateway_resources_are_refused_with_file_line_and_field() {
    let base = std::fs::read_to_string(NEG).unwrap();
    let cases = [
        ("cores = 1", "cores = 0", "gateway.cores"),
        ("cpu_us_per_kib = 40", "cpu_us_per_kib = -1", "gateway.cpu_us_per_kib"),
        ("cpu_us_per_kib = 40", "nic_mb_s = 0", "gateway.nic_mb_s"),
        ("cpu_us_per_kib = 40", "nic_mb_s = -5", "gateway.nic_mb_s"),
        ("cores = 1", "cpu_us_per_request = -3", "gateway.cpu_us_per_request"),
    ];
    for (from, to, field) in cases {
        let text = base.replacen(from, to, 1);
        let e = parse_scenario(Path::new("neg-gateway-bottleneck.toml"), &text).expect_err(to);
        assert_eq!(e.field(), field, "{to}: {e}");
        let line = text.lines().position(|l| l.starts_with(to)).expect("changed line") + 1;
        assert_eq!(e.line(), Some(line), "{to}: {e}");
        assert!(e.to_string().contains("neg-gateway-bottleneck.toml"), "{e}");
    }
    // The default and a set NIC are taken.
    let ok = base.replacen("cores = 1", "cores = 1\nnic_mb_s = 125", 1);
    parse_scenario(Path::new("ok.toml"), &ok).expect("a 1 Gbit/s gateway NIC");
}
