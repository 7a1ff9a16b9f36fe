//! OpenMessaging Benchmark files run as they are, through the command line:
//! OMB's own workload and Kafka driver files (tests/fixtures/omb, copied
//! from OMB's repository), the fields they set visible in the run, OMB's
//! result format read back against the run's own JSON, and the errors a
//! malformed file gets.

use crate::common;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn streamsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_streamsim"))
        .args(args)
        .output()
        .expect("run streamsim")
}

/// OMB's `kafka-latency.yaml` with one line changed, written to `dir`.
fn driver_variant(dir: &Path, name: &str, from: &str, to: &str) -> String {
    let text = fs::read_to_string(common::omb_fixture("driver-kafka/kafka-latency.yaml")).unwrap();
    assert!(text.contains(from), "the stock driver has `{from}`");
    let p = dir.join(name);
    fs::write(&p, text.replace(from, to)).unwrap();
    p.display().to_string()
}

/// Runs and returns the JSON, the OMB result (when asked) and stderr.
fn run_json(args: &[&str], omb_result: Option<&Path>) -> (Value, Option<Value>, String) {
    let mut all: Vec<&str> = vec!["run"];
    all.extend_from_slice(args);
    let r;
    if let Some(p) = omb_result {
        r = p.display().to_string();
        all.extend(["--omb-result", &r]);
    }
    all.extend(["--json", "--no-report"]);
    let out = streamsim(&all);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    let omb = omb_result.map(|p| serde_json::from_str(&fs::read_to_string(p).unwrap()).unwrap());
    (j, omb, stderr)
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("a number, got {v}"))
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1e-9)
}

#[test]
fn several_topics_are_groups_of_partitions_and_omb_result_matches_the_run() {
    let dir = common::scratch("omb-files", "topics");
    let result = dir.join("omb-result.json");
    let workload = common::omb_fixture("workloads/100-topics-1-partitions-1kb.yaml");
    let driver = common::omb_fixture("driver-kafka/kafka-latency.yaml");
    let (j, r, stderr) = run_json(
        &[
            &workload,
            "--driver",
            &driver,
            "--virtual-minutes",
            "0.01",
            "--seed",
            "3",
        ],
        Some(&result),
    );
    assert_eq!(j["verdict"], "pass", "{}", j["violations"]);
    let o = &j["omb"];
    // The workload's shape: 100 topics of 1 partition, one producer each.
    assert_eq!(o["topics"], 100);
    assert_eq!(o["partitions_per_topic"], 1);
    assert_eq!(o["producers"], 100);
    assert_eq!(o["consumers"], 100, "one subscription of 1 consumer per topic");
    let topics = o["per_topic"].as_array().unwrap();
    assert_eq!(topics.len(), 100);
    for (i, t) in topics.iter().enumerate() {
        assert_eq!(t["topic"], format!("topic-{i}"));
        assert_eq!(t["partitions"], serde_json::json!([i, i]));
    }
    // Each topic takes its share of the 150,000 msg/s, and the shares add up.
    let sum: f64 = topics.iter().map(|t| f(&t["publish_rate"])).sum();
    assert!(
        close(sum, f(&o["publish_rate"]), 0.02),
        "{sum} vs {}",
        o["publish_rate"]
    );
    assert!(close(f(&o["publish_rate"]), 150_000.0, 0.03), "{}", o["publish_rate"]);
    for t in topics {
        assert!((1_000.0..2_100.0).contains(&f(&t["publish_rate"])), "{t}");
    }
    // subscriptionsPerTopic: 3 is the processor group and two more independent groups of the
    // same 100 consumers, each reading every committed record.
    let subs = j["subscriptions"].as_object().unwrap();
    assert_eq!(subs.keys().collect::<Vec<_>>(), ["sub-001", "sub-002"]);
    for (name, s) in subs {
        assert_eq!(s["consumers"], 100, "{name}");
        assert_eq!(s["offsets_received"], j["events_acked"], "{name}");
        assert!(s["checks"].as_object().unwrap().values().all(|n| n == 0), "{name}: {s}");
    }
    // Not modelled, and said so: the deployment address.
    let ignored: Vec<&str> = j["ignored_fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["field"].as_str().unwrap())
        .collect();
    assert!(!ignored.contains(&"subscriptionsPerTopic"), "{ignored:?}");
    assert!(ignored.contains(&"commonConfig.bootstrap.servers"), "{ignored:?}");
    assert!(!stderr.contains("`subscriptionsPerTopic` is not modelled"), "{stderr}");
    // The scaling is stated, in the JSON and on stderr.
    assert!(o["scaled"].as_str().unwrap().contains("--virtual-minutes 0.01"), "{o}");
    assert!(stderr.contains("durations scaled by"), "{stderr}");

    // OMB's result file: its names, its units, the run's figures.
    let r = r.unwrap();
    assert_eq!(r["workload"], "1 producer / 3 consumers on 100 topics");
    assert_eq!(r["driver"], "Kafka");
    assert_eq!(r["messageSize"], 1024);
    assert_eq!(r["topics"], 100);
    assert_eq!(r["partitions"], 1);
    assert_eq!(r["producersPerTopic"], 1);
    assert_eq!(r["consumersPerTopic"], 1);
    let rate = r["publishRate"].as_array().unwrap();
    assert_eq!(rate.len(), 1, "a measured span under 10 s is one period");
    assert!(close(f(&rate[0]), f(&o["publish_rate"]), 1e-9));
    assert!(close(f(&r["consumeRate"][0]), f(&o["consume_rate"]), 1e-9));
    // OMB's consume rate sums every subscription's consumers: the processor group's and the
    // two further groups', each taking about the publish rate.
    let by_sub = o["consume_rate_by_subscription"].as_object().unwrap();
    assert_eq!(by_sub.keys().collect::<Vec<_>>(), ["processor", "sub-001", "sub-002"]);
    let sum: f64 = by_sub.values().map(f).sum();
    assert!(
        close(sum, f(&o["consume_rate"]), 1e-9),
        "{sum} vs {}",
        o["consume_rate"]
    );
    for (name, rate) in by_sub {
        assert!(
            close(f(rate), f(&o["publish_rate"]), 0.2),
            "{name}: {rate} vs {}",
            o["publish_rate"]
        );
    }
    assert!(close(f(&o["consume_rate"]), 3.0 * f(&o["publish_rate"]), 0.2), "{o}");
    // Its backlog, as OMB's, owes each of the three subscriptions every message sent.
    let backlog = f(&r["backlog"][0]);
    let sent = f(&rate[0]) * f(&o["measured_s"]);
    assert!(backlog <= 3.0 * sent, "{backlog} vs {sent}");
    // Latencies in ms, as the run's own JSON gives them (the whole run here,
    // since a scaled minute of warm-up is under one 1-second bucket). The
    // run's end-to-end figures also count the messages consumed after the
    // measured span, during the drain, so only their median is held close.
    assert_eq!(o["warmup_s"], 0.0);
    for (omb, ours, within) in [
        ("aggregatedPublishLatency50pct", &j["ack_latency_ms"]["p50"], 0.05),
        ("aggregatedPublishLatency99pct", &j["ack_latency_ms"]["p99"], 0.05),
        ("aggregatedEndToEndLatency50pct", &j["e2e_latency_ms"]["p50"], 0.05),
        ("aggregatedEndToEndLatency99pct", &j["e2e_latency_ms"]["p99"], 0.25),
    ] {
        assert!(close(f(&r[omb]), f(ours), within), "{omb} {} vs {ours}", r[omb]);
    }
    assert!(close(
        f(&r["publishLatency50pct"][0]),
        f(&r["aggregatedPublishLatency50pct"]),
        1e-9
    ));
    // Quantile maps run from 0 to 100 percent, increasing.
    let q = r["aggregatedPublishLatencyQuantiles"].as_object().unwrap();
    // (Read back into a map sorted by text, so put them in numeric order again.)
    let mut pts: Vec<(f64, f64)> = q.iter().map(|(k, v)| (k.parse().unwrap(), f(v))).collect();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert!(pts.len() > 10 && pts.last().unwrap().0 == 100.0, "{pts:?}");
    assert!(pts.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1), "{pts:?}");
    assert!(close(pts.last().unwrap().1, f(&r["aggregatedPublishLatencyMax"]), 0.01));
    // Every field OMB's chart script reads is there.
    for k in [
        "publishErrorRate",
        "publishDelayLatency99pct",
        "aggregatedPublishDelayLatencyQuantiles",
        "endToEndLatency95pct",
        "endToEndLatencyAvg",
        "aggregatedEndToEndLatencyQuantiles",
        "backlog",
    ] {
        assert!(r.get(k).is_some(), "{k} missing");
    }
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn acks_and_flush_from_the_driver_change_publish_latency() {
    let dir = common::scratch("omb-files", "acks");
    let workload = common::omb_fixture("workloads/simple-workload.yaml");
    let p50 = |driver: &str| -> f64 {
        let res = dir.join("r.json");
        let (j, r, _) = run_json(
            &[&workload, "--driver", driver, "--virtual-minutes", "0.02"],
            Some(&res),
        );
        assert_eq!(j["verdict"], "pass", "{}", j["violations"]);
        // 10,000 msg/s of 1 KiB messages (the size from the payload file).
        assert!(close(f(&j["omb"]["publish_rate"]), 10_000.0, 0.03), "{}", j["omb"]);
        assert_eq!(j["omb"]["message_size"], 1024);
        f(&r.unwrap()["aggregatedPublishLatency50pct"])
    };
    let all = p50(&common::omb_fixture("driver-kafka/kafka-latency.yaml"));
    let one = p50(&driver_variant(&dir, "acks1.yaml", "acks=all", "acks=1"));
    let sync = p50(&common::omb_fixture("driver-kafka/kafka-sync.yaml"));
    // acks=1 answers at the leader's append, acks=all after the followers' fetch.
    assert!(one < all * 0.8, "acks=1 p50 {one} ms, acks=all {all} ms");
    // flush.messages=1 puts an fsync in front of every acknowledgement.
    assert!(sync > all * 2.0, "fsync per batch p50 {sync} ms, page cache {all} ms");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_zero_rate_searches_for_the_maximum_sustainable_rate() {
    let dir = common::scratch("omb-files", "max");
    let workload = common::omb_fixture("workloads/max-rate-1-topic-16-partitions-1kb.yaml");
    // One message per batch and one batch in flight per partition: a producer
    // that cannot go much past 10,000 msg/s, so the search stays short.
    let small = driver_variant(
        &dir,
        "small-batches.yaml",
        "batch.size=131072",
        "batch.size=1024\n  max.in.flight.requests.per.connection=1",
    );
    let (j, _, stderr) = run_json(&[&workload, "--driver", &small, "--virtual-minutes", "0.02"], None);
    let m = &j["omb"]["max_rate"];
    let trials = m["trials"].as_array().unwrap();
    // OMB's start, doubled while it keeps up, then the interval halved four times.
    assert_eq!(f(&trials[0]["rate"]), 10_000.0);
    assert_eq!(trials[0]["sustainable"], true, "{m}");
    assert_eq!(f(&trials[1]["rate"]), 20_000.0);
    assert_eq!(trials[1]["sustainable"], false, "{m}");
    assert!(f(&trials[1]["published"]) < 0.95 * 20_000.0, "{m}");
    assert_eq!(trials.len(), 2 + 4, "{m}");
    let found = f(&m["found"]);
    assert!((10_000.0..20_000.0).contains(&found), "{m}");
    let best_kept_up = trials
        .iter()
        .filter(|t| t["sustainable"] == true)
        .map(|t| f(&t["rate"]))
        .fold(0.0, f64::max);
    assert_eq!(found, best_kept_up);
    // The reported run is at the rate found.
    assert_eq!(f(&j["omb"]["producer_rate"]), found);
    assert!(stderr.contains("maximum sustainable rate"), "{stderr}");

    // The stock driver's batches (128 KiB, 5 in flight) go well past that:
    // its first two trials both keep up. Checked on the first trials only, to
    // keep the test short.
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_backlog_is_built_with_consumers_stopped_then_drained() {
    let workload = common::omb_fixture("workloads/1-topic-100-partitions-1kb-4p-4c-200k-backlog.yaml");
    // Without a driver: the project's 5 ms linger makes fewer, larger batches
    // of the 200,000 msg/s than the stock driver's 1 ms, and a faster test.
    let (j, _, _) = run_json(&[&workload, "--virtual-minutes", "0.001"], None);
    assert_eq!(j["verdict"], "pass", "{}", j["violations"]);
    let o = &j["omb"];
    assert_eq!(o["topics"], 1);
    assert_eq!(o["partitions_per_topic"], 100);
    assert_eq!(o["producers"], 4);
    assert_eq!(o["consumers"], 4);
    let b = &o["backlog"];
    // 512 GiB scaled by 0.001 / 5 minutes: 107,375 messages of 1 KiB.
    assert_eq!(b["requested_messages"], 107_375);
    assert!(f(&b["backlog_at_resume"]) >= f(&b["requested_messages"]), "{b}");
    assert_eq!(b["drained"], true, "{b}");
    // Draining, the consumers take more than the producers add.
    assert!(f(&b["drain_rate_msgs_per_s"]) > 200_000.0, "{b}");
    // Messages waited out the pause: end-to-end latency reaches the build time.
    assert!(
        f(&j["e2e_latency_ms"]["max"]) >= 1_000.0 * f(&b["build_s"]) * 0.9,
        "{}",
        j["e2e_latency_ms"]
    );
}

#[test]
fn malformed_files_get_file_line_and_column_never_a_toml_error() {
    let dir = common::scratch("omb-files", "errors");
    let bad = |name: &str, text: &str, extra: &[&str]| -> String {
        let p = dir.join(name);
        fs::write(&p, text).unwrap();
        let ps = p.display().to_string();
        let mut args = vec!["run", ps.as_str(), "--no-report"];
        args.extend_from_slice(extra);
        let out = streamsim(&args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            !stderr.contains("TOML") && !stderr.contains("missing field"),
            "{stderr}"
        );
        stderr
    };
    let good = fs::read_to_string(common::omb_fixture("workloads/simple-workload.yaml")).unwrap();
    let line_of = |text: &str, key: &str| text.lines().position(|l| l.starts_with(key)).unwrap() + 1;

    // A wrong value: its line, and the column where the value starts.
    let text = good.replace("partitionsPerTopic: 10", "partitionsPerTopic: ten");
    let e = bad("value.yaml", &text, &[]);
    let l = line_of(&text, "partitionsPerTopic");
    // Shown as scenario errors are: the field, the place, the line with the value underlined.
    assert!(e.contains("field `partitionsPerTopic`"), "{e}");
    assert!(e.contains(&format!("value.yaml:{l}:21")), "{e}");
    assert!(e.contains("partitionsPerTopic: ten") && e.contains("^^^"), "{e}");

    // Broken YAML, even without a YAML extension.
    let text = good.replace("messageSize: 1024", "messageSize: [1024");
    let e = bad("broken.txt", &text, &[]);
    assert!(e.contains("broken.txt:") && e.contains("not valid YAML"), "{e}");

    // A driver value: the driver file's line and column.
    let d = dir.join("driver.yaml");
    let dtext = fs::read_to_string(common::omb_fixture("driver-kafka/kafka-latency.yaml"))
        .unwrap()
        .replace("acks=all", "acks=most");
    fs::write(&d, &dtext).unwrap();
    let e = bad("w.yaml", &good, &["--driver", d.to_str().unwrap()]);
    let l = line_of(&dtext, "  acks=");
    assert!(e.contains("field `producerConfig.acks`"), "{e}");
    assert!(e.contains(&format!("driver.yaml:{l}:8")), "{e}");

    // A setting the log refuses, placed on the driver line that set it.
    let dtext = fs::read_to_string(common::omb_fixture("driver-kafka/kafka-latency.yaml"))
        .unwrap()
        .replace("min.insync.replicas=2", "min.insync.replicas=5");
    fs::write(&d, &dtext).unwrap();
    let e = bad("w.yaml", &good, &["--driver", d.to_str().unwrap()]);
    let l = line_of(&dtext, "  min.insync.replicas");
    assert!(e.contains("field `topicConfig.min.insync.replicas`"), "{e}");
    assert!(e.contains(&format!("driver.yaml:{l}:23")), "{e}");

    // OMB's own backlog file unscaled: 512 GiB takes hours to build.
    let e = bad(
        "backlog.yaml",
        &fs::read_to_string(common::omb_fixture(
            "workloads/1-topic-100-partitions-1kb-4p-4c-200k-backlog.yaml",
        ))
        .unwrap(),
        &[],
    );
    assert!(
        e.contains("consumerBacklogSizeGB") && e.contains("--virtual-minutes"),
        "{e}"
    );

    // A driver given as the workload, and OMB options on a scenario.
    let e = bad("d2.yaml", &dtext, &[]);
    assert!(e.contains("driver file, not a workload"), "{e}");
    let e = bad(
        "s.toml",
        "name = \"s\"\nexpect = \"pass\"\nduration_s = 1\n",
        &["--virtual-minutes", "1"],
    );
    assert!(e.contains("for OpenMessaging Benchmark workload files"), "{e}");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn every_problem_of_a_file_is_listed_with_its_place() {
    let dir = common::scratch("omb-files", "problems");
    let good = fs::read_to_string(common::omb_fixture("workloads/simple-workload.yaml")).unwrap();
    let line_of = |text: &str, key: &str| text.lines().position(|l| l.starts_with(key)).unwrap() + 1;
    // Three problems: a wrong value, an unknown distributor and a required field left out.
    let text = good
        .replace("partitionsPerTopic: 10", "partitionsPerTopic: ten")
        .replace("producerRate: 10000", "producerRate: 10000\nkeyDistributor: SOMETIMES")
        .replace("testDurationMinutes: 5\n", "");
    assert_ne!(text, good);
    assert!(!text.contains("testDurationMinutes"), "{text}");
    let w = dir.join("w.yaml");
    fs::write(&w, &text).unwrap();
    // And two in the driver.
    let dtext = fs::read_to_string(common::omb_fixture("driver-kafka/kafka-latency.yaml"))
        .unwrap()
        .replace("acks=all", "acks=most")
        .replace("linger.ms=1", "linger.ms=soon");
    let d = dir.join("d.yaml");
    fs::write(&d, &dtext).unwrap();
    let (ws, ds) = (w.display().to_string(), d.display().to_string());

    let out = streamsim(&["run", &ws, "--driver", &ds, "--no-report"]);
    let e = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{e}");
    let l = line_of(&text, "partitionsPerTopic");
    assert!(
        e.contains(&format!("w.yaml:{l}:21")) && e.contains("must be a whole number, got ten"),
        "{e}"
    );
    let l = line_of(&text, "keyDistributor");
    assert!(
        e.contains(&format!("w.yaml:{l}:17")) && e.contains("got SOMETIMES"),
        "{e}"
    );
    assert!(e.contains("field `testDurationMinutes`: is required"), "{e}");
    assert!(e.contains("3 problems in") && e.contains("w.yaml"), "{e}");
    let l = line_of(&dtext, "  acks=");
    assert!(e.contains(&format!("d.yaml:{l}:8")) && e.contains("got `most`"), "{e}");
    let l = line_of(&dtext, "  linger.ms=");
    assert!(e.contains(&format!("d.yaml:{l}:13")) && e.contains("got `soon`"), "{e}");
    assert!(e.contains("2 problems in"), "{e}");
    // Each problem once, none made up by reading on.
    assert_eq!(e.matches("error: field").count(), 5, "{e}");

    // `check` lists them too; a file with one problem gets no count.
    let out = streamsim(&["check", &ws]);
    let e = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{e}");
    assert_eq!(e.matches("error: field").count(), 3, "{e}");
    fs::write(&w, good.replace("partitionsPerTopic: 10", "partitionsPerTopic: ten")).unwrap();
    let out = streamsim(&["check", &ws]);
    let e = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(e.matches("error: field").count(), 1, "{e}");
    assert!(!e.contains("problems in"), "{e}");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_workload_runs_whatever_its_extension_and_through_sweep() {
    let dir = common::scratch("omb-files", "sweep");
    let w = dir.join("workload.txt");
    fs::copy(common::omb_fixture("workloads/simple-workload.yaml"), &w).unwrap();
    // The payload file is not beside this copy: said, not silently dropped.
    let (a, _, stderr) = run_json(&[w.to_str().unwrap(), "--virtual-minutes", "0.02", "--seed", "5"], None);
    assert!(stderr.contains("`payloadFile` is not modelled"), "{stderr}");
    assert_eq!(a["omb"]["driver"], "Kafka (streamsim defaults, no driver file)");
    // Same seed, same trace.
    let (b, _, _) = run_json(&[w.to_str().unwrap(), "--virtual-minutes", "0.02", "--seed", "5"], None);
    assert_eq!(a["trace_hash"], b["trace_hash"]);
    // The replay command repeats the OMB options.
    let replay = a["replay"].as_str().unwrap();
    assert!(replay.ends_with("--seed 5 --virtual-minutes 0.02"), "{replay}");

    let out_dir = dir.join("sweep-out");
    let driver = common::omb_fixture("driver-kafka/kafka-latency.yaml");
    let out = streamsim(&[
        "sweep",
        w.to_str().unwrap(),
        "--seeds",
        "1..3",
        "--driver",
        &driver,
        "--virtual-minutes",
        "0.02",
        "--out",
        out_dir.to_str().unwrap(),
        "-j",
        "1",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let csv = fs::read_to_string(out_dir.join("results.csv")).unwrap();
    assert_eq!(csv.matches("Simple Workload 1 producer on 1 topic").count(), 2, "{csv}");

    // A max-rate workload needs one run after another: refused in a sweep.
    let out = streamsim(&[
        "sweep",
        &common::omb_fixture("workloads/max-rate-1-topic-16-partitions-1kb.yaml"),
        "--seeds",
        "1..2",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("streamsim run"));
    fs::remove_dir_all(&dir).unwrap();
}
