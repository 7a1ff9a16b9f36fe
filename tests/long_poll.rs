//! Consumers' fetches wait at the broker (Kafka's long poll,
//! `fetch.max.wait.ms`) instead of polling: an idle consumer sends about one
//! fetch per leader and max wait, and one with data flowing gets it at once.

use crate::common;

use std::fs;
use std::process::Command;

use serde_json::Value;

/// OMB's simple workload at `rate` messages/s, and OMB's `kafka-latency`
/// driver with `fetch.max.wait.ms` set to `max_wait_ms`; returns the run's JSON.
fn run(name: &str, rate: u32, max_wait_ms: u64) -> Value {
    let dir = common::scratch("long-poll", name);
    let workload = fs::read_to_string(common::omb_fixture("workloads/simple-workload.yaml"))
        .unwrap()
        .replace("producerRate: 10000", &format!("producerRate: {rate}"))
        .replace(
            "payload/payload-1Kb.data",
            &common::omb_fixture("payload/payload-1Kb.data"),
        );
    let w = dir.join("workload.yaml");
    fs::write(&w, workload).unwrap();
    let driver = fs::read_to_string(common::omb_fixture("driver-kafka/kafka-latency.yaml"))
        .unwrap()
        .replace(
            "max.partition.fetch.bytes=10485760",
            &format!("max.partition.fetch.bytes=10485760\n  fetch.max.wait.ms={max_wait_ms}"),
        );
    let d = dir.join("driver.yaml");
    fs::write(&d, driver).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_streamsim"))
        .args(["run", &w.display().to_string(), "--driver", &d.display().to_string()])
        .args(["--seed", "1", "--virtual-minutes", "0.1", "--json", "--no-report"])
        .output()
        .expect("run streamsim");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        !stderr.contains("fetch.max.wait.ms"),
        "the field is honoured, not ignored: {stderr}"
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn fetches(j: &Value) -> f64 {
    j["consumer_fetches"].as_f64().expect("consumer_fetches in the JSON")
}

#[test]
fn an_idle_consumer_fetches_about_once_per_max_wait() {
    // One message a second on 10 partitions led by 3 brokers: the one consumer
    // holds fetches at each leader (one per leader at best, one per partition when
    // its partitions' fetches fell apart in time), answered at the end of their wait
    // nearly always.
    let j = run("idle", 1, 500);
    let virtual_s = j["virtual_s"].as_f64().unwrap();
    let waits = virtual_s * 1000.0 / 500.0;
    let n = fetches(&j);
    let msgs = j["events_acked"].as_f64().unwrap();
    assert!(
        n >= 0.5 * 3.0 * waits && n <= 1.2 * 10.0 * waits + 2.0 * msgs,
        "{n} fetches in {virtual_s} s, {waits} waits of 500 ms, 3 leaders, 10 partitions, {msgs} messages"
    );
    // Negative control: a 1 ms wait is polling every millisecond, hundreds of times as many.
    let polling = fetches(&run("idle-polling", 1, 1));
    assert!(
        polling > 100.0 * n,
        "{polling} fetches polling against {n} long-polling"
    );
}

#[test]
fn data_flowing_reaches_the_consumer_without_waiting_out_the_max_wait() {
    let j = run("flowing", 10_000, 500);
    let e2e = &j["e2e_latency_ms"];
    let (p50, p99) = (e2e["p50"].as_f64().unwrap(), e2e["p99"].as_f64().unwrap());
    // A fetch parked at the leader is answered when the high watermark moves, so
    // the 500 ms wait never shows: end-to-end stays a few milliseconds.
    assert!(p50 < 10.0 && p99 < 20.0, "end-to-end p50 {p50} ms, p99 {p99} ms");
    assert_eq!(j["events_lost"], 0);
}
