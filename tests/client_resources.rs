//! The clients' resource model: a client with too little CPU is the
//! bottleneck (its CPU saturates, the throughput check fails, gateways and
//! brokers idle), the same client with more cores keeps up, the clients'
//! utilisation reaches the JSON, the plot and `timeseries.csv`, and
//! impossible settings are refused before the run with the file, line and field.

use std::path::{Path, PathBuf};
use streamsim_reports::{RunReport, Verdict};
use streamsim_sim::scenario::parse_scenario;

use crate::common;

const NAME: &str = "neg-client-bottleneck";

/// The busiest bucket's CPU of the busiest broker.
fn broker_cpu_peak(report: &RunReport) -> f64 {
    report
        .buckets
        .iter()
        .flat_map(|b| b.brokers.iter().map(|u| u.cpu))
        .fold(0.0, f64::max)
}

/// The negative control with four cores, marked as passing.
fn four_cores() -> PathBuf {
    let text = std::fs::read_to_string(common::scenario(NAME)).unwrap();
    let text = text.replacen("cores = 1", "cores = 4", 1).replacen(
        "expect = \"violation\"\nexpect_invariant = \"throughput\"",
        "expect = \"pass\"",
        1,
    );
    let path = common::scratch("client-resources", "four-cores").join("four-cores.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn one_small_client_is_the_bottleneck_and_the_cluster_idles() {
    let report = common::run_file(&common::scenario(NAME), 1).report;
    let r = &report.result;
    assert_eq!(r.verdict, Verdict::Violation);
    let names: Vec<&str> = r.violations.iter().map(|v| v.invariant.as_str()).collect();
    assert_eq!(names, ["throughput"], "{:?}", r.violations);
    assert!(!r.throughput.kept_up);
    assert!(r.throughput.ratio < 0.9, "ratio {}", r.throughput.ratio);
    assert_eq!(r.events_lost, 0, "a slow client is not loss");
    assert_eq!(r.events_duplicated, 0);
    let c = r.client_utilisation.expect("clients sampled");
    assert_eq!(c.clients, 1);
    assert!(c.cpu_peak > 0.97, "client CPU peak {}", c.cpu_peak);
    assert!(c.cpu_mean > 0.8, "client CPU mean {}", c.cpu_mean);
    // Nothing downstream is anywhere near busy.
    let brokers = broker_cpu_peak(&report);
    assert!(brokers < 0.1, "broker CPU peak {brokers}");
    for g in &r.gateway_utilisation {
        assert!(g.cpu_peak < 0.1 && g.nic_peak < 0.1, "gateway-{} {g:?}", g.gateway);
    }
    assert!(streamsim_reports::run_plots(&report).contains(&"client_utilisation"));

    // timeseries.csv carries the clients' and the gateways' columns, last.
    let dir = common::scratch("client-resources", "report");
    streamsim_reports::write_run_report(&report, &dir).unwrap();
    let csv = std::fs::read_to_string(dir.join("timeseries.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let tail = &header[header.len() - 8..];
    assert_eq!(
        tail,
        [
            "gateway_cpu_max",
            "gateway_cpu_mean",
            "gateway_nic_max",
            "gateway_nic_mean",
            "client_cpu_max",
            "client_cpu_mean",
            "client_nic_max",
            "client_nic_mean"
        ]
    );
    let col = header.iter().position(|&h| h == "client_cpu_max").unwrap();
    let busy: Vec<f64> = lines.map(|l| l.split(',').nth(col).unwrap().parse().unwrap()).collect();
    assert_eq!(busy.len(), report.buckets.len());
    assert!(busy[2..10].iter().all(|&b| b > 0.97), "client CPU by second {busy:?}");
    assert!(dir.join("client_utilisation.png").exists());
}

#[test]
fn the_same_client_with_four_cores_keeps_up() {
    let r = common::run_file(&four_cores(), 1).report.result;
    assert_eq!(r.verdict, Verdict::Pass, "{:?}", r.violations);
    assert!(r.throughput.kept_up);
    let c = r.client_utilisation.expect("clients sampled");
    assert!(c.cpu_peak < 0.8, "client CPU peak {}", c.cpu_peak);
    assert!(c.cpu_mean > 0.3, "client CPU mean {}", c.cpu_mean);
}

#[test]
fn impossible_client_resources_are_refused_with_file_line_and_field() {
    let base = std::fs::read_to_string(common::scenario(NAME)).unwrap();
    let cases = [
        ("cores = 1", "cores = 0", "client.cores"),
        ("cpu_us_per_kib = 100", "cpu_us_per_kib = -1", "client.cpu_us_per_kib"),
        ("cores = 1", "cpu_us_per_request = -3", "client.cpu_us_per_request"),
        (
            "cpu_us_per_kib = 100",
            "cpu_us_per_kib = 1e300",
            "client.cpu_us_per_kib",
        ),
        ("cpu_us_per_kib = 100", "nic_mb_s = 0", "client.nic_mb_s"),
        ("cpu_us_per_kib = 100", "nic_mb_s = -5", "client.nic_mb_s"),
    ];
    for (from, to, field) in cases {
        let text = base.replacen(from, to, 1);
        let e = parse_scenario(Path::new("neg-client-bottleneck.toml"), &text).expect_err(to);
        assert_eq!(e.field(), field, "{to}: {e}");
        let line = text.lines().position(|l| l.starts_with(to)).expect("changed line") + 1;
        assert_eq!(e.line(), Some(line), "{to}: {e}");
        assert!(e.to_string().contains("neg-client-bottleneck.toml"), "{e}");
    }
    let ok = base.replacen("cores = 1", "cores = 1\nnic_mb_s = 125", 1);
    parse_scenario(Path::new("ok.toml"), &ok).expect("a 1 Gbit/s client NIC");
}
