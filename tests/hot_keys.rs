//! Hot keys: the gateways' rate limit refuses a hot key's excess, the
//! clients' retries deliver every refused event, and salting spreads the
//! hot key's processing so the read path keeps its budgets; without salting
//! the hot key's task falls behind and the budgets are missed.

use crate::common;

use std::path::Path;
use streamsim_reports::{RunReport, RunResult};
use streamsim_sim::run::run_scenario;
use streamsim_sim::scenario::parse_scenario;

/// The issue's bar: every seed of 1 to 20 passes, and the negative control
/// is caught on at least one of them.
const SEEDS: u64 = 20;

fn run_report(text: &str, seed: u64) -> RunReport {
    let loaded = parse_scenario(Path::new("inline.toml"), text).unwrap_or_else(|e| panic!("{e}"));
    run_scenario(&loaded, &common::options(seed))
        .unwrap_or_else(|e| panic!("{e}"))
        .report
}

fn run_text(text: &str, seed: u64) -> RunResult {
    run_report(text, seed).result
}

#[test]
fn the_salted_hot_key_keeps_its_budgets_and_every_refused_event_is_delivered() {
    let runs = common::assert_passes_every_seed("seed-hot-keys", common::seeds(SEEDS));
    for r in &runs {
        let rl = r.rate_limited.expect("a rate-limited scenario reports its refusals");
        // The spike pushes the hot key over its bucket on every seed.
        assert!(rl.rejected > 0, "seed {}: nothing refused", r.seed);
        assert!(rl.refusals >= rl.rejected, "seed {}", r.seed);
        // Refused is not lost: every refused event came back and was acknowledged.
        assert_eq!(rl.delivered_after_retry, rl.rejected, "seed {}", r.seed);
        assert_eq!((r.events_lost, r.events_uncertain), (0, 0), "seed {}", r.seed);
        assert_eq!(r.events_acked, r.events_sent, "seed {}", r.seed);
        assert_eq!(r.read.events_in_sink, Some(r.events_acked), "seed {}", r.seed);
    }
}

#[test]
fn without_salting_the_hot_keys_task_falls_behind_its_budgets() {
    let r = common::assert_caught("neg-hot-keys-unsalted", "budget.e2e_p99_ms", SEEDS);
    // The write path kept everything and the sink got it all, late: the miss is latency, not loss.
    assert_eq!(r.events_lost, 0);
    assert_eq!(r.read.events_in_sink, Some(r.events_acked));
    let drain = r.read.drain_s.expect("the read path drained");
    assert!(drain > 5.0, "the hot task's backlog took {drain} s to drain");
    let rl = r.rate_limited.expect("rate limit on");
    assert_eq!(rl.delivered_after_retry, rl.rejected);
}

/// A write-path scenario whose clients each offer 250 events/s against a per-client
/// limit of 50/s, with producer buffers of 64 KiB that block sends for at most 1 s.
const TOO_LOW: &str = r#"
name = "rate-limit-too-low"
expect = "violation"
duration_s = 6
[topology]
brokers = 3
partitions = 4
replication_factor = 3
gateways = 2
clients = 4
[log]
acks = "all"
min_insync_replicas = 2
[client]
buffer_memory_bytes = 65536
max_block_ms = 1000
[workload]
rate = { kind = "constant", events_per_s = 1000 }
keys = { kind = "uniform", count = 1000 }
size = { kind = "fixed", bytes = 512 }
[gateway.rate_limit]
by = "client"
events_per_s = 50
burst = 50
"#;

#[test]
fn a_limit_below_the_load_fails_sends_and_loses_nothing() {
    let report = run_report(TOO_LOW, 1);
    let r = &report.result;
    let invariants: Vec<&str> = r.violations.iter().map(|v| v.invariant.as_str()).collect();
    // The clients could not keep up, which the throughput check says; nothing else broke.
    assert_eq!(invariants, ["throughput"], "{:?}", r.violations);
    assert!(r.throughput.failed_sends > 0, "no send failed");
    assert_eq!((r.events_lost, r.events_duplicated, r.events_uncertain), (0, 0, 0));
    // What the producers took in was refused, retried and in the end all delivered.
    let rl = r.rate_limited.expect("rate limit on");
    assert!(rl.rejected > 0 && rl.refusals > rl.rejected);
    assert_eq!(rl.delivered_after_retry, rl.rejected);
    assert_eq!(r.events_acked, r.events_sent);
    // At most the limit gets through: 4 clients at 50/s plus their bursts over the run.
    let achieved = r.events_acked as f64 / r.virtual_s;
    assert!(
        achieved < 4.0 * 50.0 * 1.5,
        "{achieved} events/s got through a 200/s limit"
    );
    // Every refusal is in the time series the plot and the CSV draw from.
    let per_bucket: u64 = report.buckets.iter().map(|b| b.rate_limited).sum();
    assert_eq!(per_bucket, rl.refusals);
    assert!(streamsim_reports::run_plots(&report).contains(&"rate_limited"));
}

#[test]
fn a_run_with_the_limit_off_reports_no_rate_limit() {
    let text = TOO_LOW.replace(
        "[gateway.rate_limit]\nby = \"client\"\nevents_per_s = 50\nburst = 50\n",
        "",
    );
    let text = text.replace("events_per_s = 1000", "events_per_s = 200");
    let r = run_text(&text, 1);
    assert!(r.rate_limited.is_none());
    assert_eq!(r.throughput.failed_sends, 0);
}

#[test]
fn the_second_stage_is_what_makes_salted_windows_match_the_reference() {
    use streamsim_sim::checker::e2e::{compare_windows, WindowComparison};
    use streamsim_sim::config::SaltConfig;
    use streamsim_sim::stream::salt::reaggregate;
    use streamsim_sim::stream::Window;
    let salt = SaltConfig {
        hot_keys: vec![0],
        sub_keys: 4,
    };
    let w = Window {
        start_ms: 0,
        end_ms: 2000,
    };
    // 100 events of the hot key and 3 of key 5, aggregated per routing key as the first stage does.
    let mut first_stage = std::collections::BTreeMap::new();
    for seq in 0..103u64 {
        let key = if seq < 100 { 0 } else { 5 };
        let e = first_stage
            .entry((salt.routing_key(key, 1, seq), w))
            .or_insert((0u64, 0u64));
        e.0 += 1;
        e.1 += 512;
    }
    let reference = [((0, w), (100, 51_200)), ((5, w), (3, 1_536))].into();
    let mut merged = WindowComparison::default();
    compare_windows(&reference, &reaggregate(&salt, &first_stage), &mut merged);
    assert_eq!(merged.mismatches, 0, "{:?}", merged.witness);
    // Negative control: the partial rows alone differ from the reference for the hot key.
    let mut partial = WindowComparison::default();
    compare_windows(&reference, &first_stage, &mut partial);
    assert_eq!(partial.mismatches, 5, "{:?}", partial.witness);
}

#[test]
fn bad_hot_key_settings_are_refused_at_their_field_and_line() {
    let base = std::fs::read_to_string(common::scenario("seed-hot-keys")).unwrap();
    let cases = [
        (
            "events_per_s = 700",
            "events_per_s = 0",
            "gateway.rate_limit.events_per_s",
        ),
        ("burst = 100", "burst = 0.5", "gateway.rate_limit.burst"),
        ("sub_keys = 12", "sub_keys = 1", "processor.salt.sub_keys"),
        ("sub_keys = 12", "sub_keys = 0", "processor.salt.sub_keys"),
        ("hot_keys = [0]", "hot_keys = []", "processor.salt.hot_keys"),
        ("hot_keys = [0]", "hot_keys = [0, 0]", "processor.salt.hot_keys"),
        (
            "task_us_per_record = 2000",
            "task_us_per_record = -1",
            "processor.task_us_per_record",
        ),
        (
            "task_us_per_record = 2000",
            "task_us_per_record = 1e19",
            "processor.task_us_per_record",
        ),
        (
            "burst = 100",
            "retry_after_ms = 7200000",
            "gateway.rate_limit.retry_after_ms",
        ),
    ];
    for (from, to, field) in cases {
        assert!(base.contains(from), "{from}");
        let text = base.replacen(from, to, 1);
        let e = parse_scenario(Path::new("seed-hot-keys.toml"), &text).expect_err(to);
        assert_eq!(e.field(), field, "{to}: {e}");
        let line = text.lines().position(|l| l.starts_with(to)).expect("changed line") + 1;
        assert_eq!(e.line(), Some(line), "{to}: {e}");
        assert!(e.to_string().contains("seed-hot-keys.toml"), "{e}");
    }
    // Sessions cannot be re-aggregated from sub-keys, and salting needs a read path.
    let session = base.replacen(
        "window = { kind = \"tumbling\", size_ms = 2000 }",
        "window = { kind = \"session\", gap_ms = 500 }",
        1,
    );
    let e = parse_scenario(Path::new("s.toml"), &session).expect_err("session");
    assert_eq!(e.field(), "processor.salt", "{e}");
    let no_read = base.replacen("instances = 4", "instances = 0", 1);
    let e = parse_scenario(Path::new("s.toml"), &no_read).expect_err("no processor");
    assert!(e.problems.iter().any(|d| d.field == "processor.salt"), "{e}");
    // Unset, the burst is a second of the rate: under 1 event/s no bucket ever holds a token.
    let slow = base
        .replacen("events_per_s = 700", "events_per_s = 0.5", 1)
        .replacen("burst = 100\n", "", 1);
    let e = parse_scenario(Path::new("s.toml"), &slow).expect_err("a bucket under one token");
    assert!(
        e.problems.iter().any(|d| d.field == "gateway.rate_limit.events_per_s"),
        "{e}"
    );
    // A sub-key keeps its salt above bit 48, so the workload's keys must stay below it.
    let wide = base.replacen("count = 10000,", "count = 300000000000000,", 1);
    let e = parse_scenario(Path::new("s.toml"), &wide).expect_err("keys beyond 2^48");
    assert!(e.problems.iter().any(|d| d.field == "workload.keys"), "{e}");
    // The serving layer's per-key view would hold sub-keys' partial counts.
    let served = format!("{base}\n[serving]\nreads_per_s = 100\n");
    let e = parse_scenario(Path::new("s.toml"), &served).expect_err("salting with serving");
    assert!(e.problems.iter().any(|d| d.field == "processor.salt"), "{e}");
}

#[test]
fn salting_spreads_the_hot_keys_records_over_the_partitions() {
    // The share of the log's records on the busiest partition, seed 1.
    let hottest = |name: &str| {
        let text = std::fs::read_to_string(common::scenario(name)).unwrap();
        let report = run_report(&text, 1);
        let mut per_partition = vec![0u64; report.partitions];
        for b in &report.buckets {
            for (t, n) in per_partition.iter_mut().zip(&b.partition_appends) {
                *t += n;
            }
        }
        let total: u64 = per_partition.iter().sum();
        *per_partition.iter().max().unwrap() as f64 / total as f64
    };
    // Unsalted, the hot key's 30% sits on one partition with its share of the rest;
    // salted over 12 sub-keys, no partition holds much more than its twelfth.
    let (salted, unsalted) = (hottest("seed-hot-keys"), hottest("neg-hot-keys-unsalted"));
    assert!(unsalted > 0.3, "unsalted hottest partition {unsalted:.3}");
    assert!(salted < 0.2, "salted hottest partition {salted:.3}");
}
