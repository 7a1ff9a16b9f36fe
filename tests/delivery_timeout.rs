//! The clients' delivery timeout (Kafka's `delivery.timeout.ms`): with the
//! log out of reach for longer than it, events are given up on and counted
//! as failed sends, never as lost, uncertain or duplicated (even those an
//! earlier attempt left in the log), and the producers' buffers stay small;
//! with the default timeout the same run gives up on nothing. A run that gives
//! up on events is not a silent pass: with the throughput check on, it fails.

use std::path::{Path, PathBuf};
use streamsim_reports::{RunResult, Verdict};
use streamsim_sim::scenario::parse_scenario;

use crate::common;

const NAME: &str = "delivery-timeout";

/// The library scenario with each `from` replaced by its `to`, as a file of its own.
fn variant(name: &str, edits: &[(&str, &str)]) -> PathBuf {
    let mut text = std::fs::read_to_string(common::scenario(NAME)).unwrap();
    for (from, to) in edits {
        assert!(text.contains(from), "{from:?} not in {NAME}");
        text = text.replacen(from, to, 1);
    }
    let path = common::scratch("delivery-timeout", name).join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

fn safe(r: &RunResult) {
    assert_eq!(r.events_lost, 0, "a given-up event was never acknowledged: not loss");
    assert_eq!(
        r.events_duplicated, 0,
        "a given-up event's copy in the log is a retry's"
    );
    assert_eq!(r.events_uncertain, 0, "a given-up event is failed, not uncertain");
}

#[test]
fn a_short_delivery_timeout_gives_up_on_events_and_loses_nothing() {
    let r = common::run_file(&common::scenario(NAME), 1).report.result;
    assert_eq!(r.verdict, Verdict::Pass, "{:?}", r.violations);
    safe(&r);
    let t = r.throughput;
    // The cut lasts 8 s and events are given up 3 s after they entered the producer: about
    // 5 s of the 2,000 events/s workload fails.
    assert!(
        (8_000..=14_000).contains(&t.expired_sends),
        "expired {}",
        t.expired_sends
    );
    assert_eq!(t.failed_sends, 0, "no send blocked on a full buffer");
    // Every event is either acknowledged or given up on.
    assert_eq!(r.events_acked + t.expired_sends, t.offered_events);
    // The gateway produced its copies of them once the cut healed: the log holds them anyway.
    assert!(t.expired_in_log > 0, "no given-up event landed");
    assert!(t.expired_in_log <= t.expired_sends);
    // Memory is bounded by the delivery timeout: four clients hold about 3 s of 500 events/s
    // of 512 bytes each, not the whole cut.
    assert!(
        t.peak_buffer_bytes <= 500 * 512 * 4,
        "peak buffer {}",
        t.peak_buffer_bytes
    );
    let summary = streamsim_reports::render_summary_text(&r);
    assert!(summary.contains("delivery timeout"), "{summary}");
}

#[test]
fn the_default_delivery_timeout_outlasts_the_cut_and_fails_nothing() {
    let short = common::run_file(&common::scenario(NAME), 1).report.result;
    let path = variant("default-timeout", &[("delivery_timeout_ms = 3000\n", "")]);
    let r = common::run_file(&path, 1).report.result;
    assert_eq!(r.verdict, Verdict::Pass, "{:?}", r.violations);
    safe(&r);
    let t = r.throughput;
    assert_eq!(t.expired_sends, 0);
    assert_eq!(t.failed_sends, 0);
    assert_eq!(
        r.events_acked, t.offered_events,
        "everything held was acknowledged after the heal"
    );
    assert!(t.kept_up);
    // Holding on costs memory: the whole cut's events wait in the buffers.
    assert!(
        t.peak_buffer_bytes > 2 * short.throughput.peak_buffer_bytes,
        "peak {} against {} with the short timeout",
        t.peak_buffer_bytes,
        short.throughput.peak_buffer_bytes
    );
}

#[test]
fn the_delivery_timeout_scenario_passes_on_every_seed() {
    for r in common::assert_passes_every_seed(NAME, common::seeds(8)) {
        safe(&r);
        assert!(r.throughput.expired_sends > 0, "seed {} gave up on nothing", r.seed);
    }
}

#[test]
fn given_up_events_fail_the_throughput_check_when_it_is_on() {
    let path = variant(
        "throughput-on",
        &[
            (
                "expect = \"pass\"",
                "expect = \"violation\"\nexpect_invariant = \"throughput\"",
            ),
            ("throughput = false", "throughput = true"),
        ],
    );
    let r = common::assert_caught_file("delivery-timeout with the throughput check", &path, "throughput", 1);
    safe(&r);
    let v = r.violations.iter().find(|v| v.invariant == "throughput").unwrap();
    assert!(v.detail.contains("failed at their delivery timeout"), "{}", v.detail);
}

#[test]
fn a_delivery_timeout_below_linger_and_request_timeout_is_refused_at_its_line() {
    let base = std::fs::read_to_string(common::scenario(NAME)).unwrap();
    for (to, ok) in [
        ("delivery_timeout_ms = 1004", false),
        ("delivery_timeout_ms = 0", false),
        ("delivery_timeout_ms = 1005", true),
    ] {
        let text = base.replacen("delivery_timeout_ms = 3000", to, 1);
        let parsed = parse_scenario(Path::new("delivery-timeout.toml"), &text);
        if ok {
            parsed.expect("linger 5 ms + request timeout 1,000 ms is the least");
            continue;
        }
        let e = parsed.expect_err(to);
        assert_eq!(e.field(), "client.delivery_timeout_ms", "{e}");
        let line = text.lines().position(|l| l == to).expect("changed line") + 1;
        assert_eq!(e.line(), Some(line), "{e}");
        let msg = e.to_string();
        assert!(msg.contains("delivery-timeout.toml") && msg.contains("1005"), "{msg}");
    }
}

/// OMB's stock latency driver with `extra` producer settings, written to a scratch file.
fn omb_driver(name: &str, extra: &str) -> PathBuf {
    let text = std::fs::read_to_string(common::omb_fixture("driver-kafka/kafka-latency.yaml")).unwrap();
    let from = "  batch.size=131072\n";
    assert!(text.contains(from));
    let path = common::scratch("delivery-timeout", name).join("driver.yaml");
    std::fs::write(&path, text.replacen(from, &format!("{from}{extra}"), 1)).unwrap();
    path
}

#[test]
fn an_omb_driver_sets_the_producers_delivery_timeout_and_buffer() {
    use streamsim_sim::omb::{plan, OmbOptions};
    let workload = common::omb_fixture("workloads/simple-workload.yaml");
    let options = |driver: PathBuf| OmbOptions {
        driver: Some(driver),
        virtual_minutes: Some(0.05),
    };
    let driver = omb_driver(
        "omb",
        "  delivery.timeout.ms=30000\n  buffer.memory=1048576\n  max.block.ms=2000\n",
    );
    let p = plan(Path::new(&workload), &options(driver)).unwrap_or_else(|e| panic!("{e:?}"));
    let c = &p.loaded.scenario.client;
    assert_eq!(
        (c.delivery_timeout_ms, c.buffer_memory_bytes, c.max_block_ms),
        (30_000, 1 << 20, 2_000)
    );
    let ignored: Vec<&str> = p.ignored.iter().map(|i| i.field.as_str()).collect();
    for f in ["delivery.timeout.ms", "buffer.memory", "max.block.ms"] {
        assert!(!ignored.iter().any(|i| i.ends_with(f)), "{f} ignored: {ignored:?}");
    }
    // Kafka's own refusal, placed on the driver's line.
    let bad = omb_driver("omb-bad", "  delivery.timeout.ms=500\n");
    let errors = plan(Path::new(&workload), &options(bad.clone())).expect_err("below linger + request timeout");
    let e = &errors[0];
    assert_eq!(e.file, bad);
    assert_eq!(e.field, "producerConfig.delivery.timeout.ms", "{e}");
    let text = std::fs::read_to_string(&bad).unwrap();
    let line = text.lines().position(|l| l.contains("delivery.timeout.ms")).unwrap() + 1;
    assert_eq!(e.line, Some(line), "{e}");
}

/// A client crashed for longer than its delivery timeout, on a healthy cluster.
const CLIENT_CRASH: &str = r#"
name = "client-crash-delivery-timeout"
expect = "pass"
duration_s = 12

[topology]
brokers = 3
partitions = 6
replication_factor = 3
gateways = 1
clients = 4

[log]
acks = "all"
min_insync_replicas = 2

[client]
request_timeout_ms = 1000
delivery_timeout_ms = 3000

[workload]
rate = { kind = "constant", events_per_s = 2000 }
keys = { kind = "uniform", count = 10000 }
size = { kind = "fixed", bytes = 512 }

[[faults]]
at_s = 4
kind = "crash"
target = "client:0"
restart_after_s = 5
"#;

#[test]
fn a_client_down_longer_than_its_delivery_timeout_re_sends_its_events_with_a_fresh_one() {
    // The restarted client re-sends what it held unacknowledged at the crash. Giving up on an
    // event moves the source's checkpoint, so expiry must not run while the client holds its
    // source (the run stood still at the restart); and a re-send is a new send(), whose delivery
    // timeout runs from the restart, not from the event's birth 5 s before (all would expire on
    // the first tick, on a cluster that is healthy throughout).
    let path = common::scratch("delivery-timeout", "client-crash").join("client-crash.toml");
    std::fs::write(&path, CLIENT_CRASH).unwrap();
    for seed in 1..=2 {
        let r = common::run_file(&path, seed).report.result;
        assert_eq!(r.verdict, Verdict::Pass, "seed {seed}: {:?}", r.violations);
        safe(&r);
        assert_eq!(r.throughput.expired_sends, 0, "seed {seed}: re-sent events given up on");
        assert!(r.events_acked > 20_000, "seed {seed}: {}", r.events_acked);
    }
}
