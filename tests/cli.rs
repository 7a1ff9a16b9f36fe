//! The command line as a user meets it: exit codes, JSON, replay lines,
//! errors that name file, line and field, and determinism across processes.

use crate::common;

use std::process::Command;

fn streamsim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_streamsim"))
        .args(args)
        .output()
        .expect("run streamsim")
}

fn json_of(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

fn path(name: &str) -> String {
    common::scenario(name).display().to_string()
}

/// `run`'s result twice, from two calls made at once: two processes of the CLI side by
/// side check determinism across processes in half the wall time.
fn twice_at_once<T: Send>(run: impl Fn() -> T + Sync) -> (T, T) {
    std::thread::scope(|t| {
        let a = t.spawn(&run);
        let b = run();
        (a.join().unwrap(), b)
    })
}

#[test]
fn same_seed_same_trace_hash_in_separate_processes() {
    let s = path("leader-crash");
    let (a, b) = twice_at_once(|| json_of(&streamsim(&["run", &s, "--seed", "7", "--json", "--no-report"])));
    let c = json_of(&streamsim(&["run", &s, "--seed", "8", "--json", "--no-report"]));
    assert_eq!(a["trace_hash"], b["trace_hash"]);
    assert_eq!(a["events_acked"], b["events_acked"]);
    assert_eq!(a["ack_latency_ms"], b["ack_latency_ms"]);
    assert_ne!(a["trace_hash"], c["trace_hash"]);
}

#[test]
fn read_path_runs_are_deterministic_across_processes() {
    for name in [
        "processor-crash-eos",
        "neg-processor-crash-alo",
        "gateway-crash-dedup",
        "sink-outage",
    ] {
        let s = path(name);
        let (a, b) = twice_at_once(|| json_of(&streamsim(&["run", &s, "--seed", "5", "--json", "--no-report"])));
        assert_eq!(a["trace_hash"], b["trace_hash"], "{name}");
        assert_eq!(a["events_in_sink"], b["events_in_sink"], "{name}");
        assert_eq!(a["e2e_latency_ms"], b["e2e_latency_ms"], "{name}");
        assert_eq!(a["verdict"], b["verdict"], "{name}");
    }
}

#[test]
fn read_path_json_fields() {
    let j = json_of(&streamsim(&[
        "run",
        &path("processor-crash-eos"),
        "--seed",
        "2",
        "--json",
        "--no-report",
    ]));
    assert_eq!(j["events_in_sink"], j["events_acked"]);
    for k in ["p50", "p99", "p999", "max"] {
        assert!(j["e2e_latency_ms"][k].as_f64().unwrap() > 0.0, "e2e_latency_ms.{k}");
    }
    assert!(j["max_consumer_lag"].as_u64().is_some());
    assert!(j["drain_s"].as_f64().is_some());
    // A write-path-only scenario reports the read-path fields as null.
    let w = json_of(&streamsim(&[
        "run",
        &path("steady"),
        "--seed",
        "2",
        "--json",
        "--no-report",
    ]));
    assert!(w["events_in_sink"].is_null() && w["e2e_latency_ms"].is_null());
}

#[test]
fn json_has_the_documented_fields_and_pass_exits_0() {
    let out = streamsim(&["run", &path("steady"), "--seed", "3", "--json", "--no-report"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let j = json_of(&out);
    for k in [
        "scenario",
        "seed",
        "verdict",
        "violations",
        "trace_hash",
        "events_sent",
        "events_acked",
        "events_lost",
        "events_duplicated",
        "ack_latency_ms",
        "virtual_s",
        "wall_s",
    ] {
        assert!(j.get(k).is_some(), "missing {k} in {j}");
    }
    for k in ["p50", "p99", "p999", "max"] {
        assert!(j["ack_latency_ms"][k].as_f64().is_some(), "missing ack_latency_ms.{k}");
    }
    assert_eq!(j["verdict"], "pass");
    assert_eq!(j["seed"], 3);
    assert!(j["events_acked"].as_u64().unwrap() > 100_000);
    assert_eq!(j["events_acked"], j["events_sent"]);
    assert!(j["trace_hash"].as_str().unwrap().len() == 16);
}

#[test]
fn violation_exits_1_and_prints_the_replay_command() {
    let s = path("neg-unclean-min-isr-1");
    let out = streamsim(&["run", &s, "--seed", "1", "--no-report"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Named from the repository's root, however the path was given.
    assert!(
        stderr.contains(" run scenarios/neg-unclean-min-isr-1.toml --seed 1\n"),
        "{stderr}"
    );
    let j = json_of(&streamsim(&["run", &s, "--seed", "1", "--json", "--no-report"]));
    assert_eq!(j["verdict"], "violation");
    assert_eq!(j["violations"][0]["invariant"], "no_loss");
    assert!(j["events_lost"].as_u64().unwrap() > 0);
    assert!(j["violations"][0]["at_ms"].as_u64().unwrap() > 0);
}

fn bad(contents: &str) -> (i32, String) {
    let dir = std::env::temp_dir().join(format!("streamsim-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join(format!(
        "bad-{:x}.toml",
        contents.len() * 7919 + contents.bytes().map(|b| b as usize).sum::<usize>()
    ));
    std::fs::write(&f, contents).unwrap();
    let out = streamsim(&["run", f.to_str().unwrap(), "--seed", "1"]);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).replace(f.to_str().unwrap(), "FILE"),
    )
}

const HEAD: &str =
    "name = \"x\"\nexpect = \"pass\"\nduration_s = 5\n[workload]\nrate = { kind = \"constant\", events_per_s = 100 }\n";

#[test]
fn unknown_field_names_file_line_and_field() {
    let (code, err) = bad(&format!("{HEAD}[log]\nacks = \"all\"\nmin_isr = 2\n"));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("FILE:8"), "{err}");
    assert!(err.contains("min_isr"), "{err}");
}

#[test]
fn min_isr_above_replication_factor_is_refused_before_the_run() {
    let (code, err) = bad(&format!(
        "{HEAD}[topology]\nreplication_factor = 3\n[log]\nmin_insync_replicas = 4\n"
    ));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("FILE:9"), "{err}");
    assert!(err.contains("log.min_insync_replicas"), "{err}");
    assert!(err.contains("above the replication factor"), "{err}");
}

#[test]
fn eligible_leader_replicas_under_high_watermark_truncation_are_refused() {
    let (code, err) = bad(&format!(
        "{HEAD}[log]\ntruncation = \"high_watermark\"\neligible_leader_replicas = true\n"
    ));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("FILE:8")
            && err.contains("log.eligible_leader_replicas")
            && err.contains("leader-epoch truncation"),
        "{err}"
    );
    // Each on its own, and ELR with unclean election as the last resort, are accepted.
    for log in [
        "truncation = \"high_watermark\"",
        "eligible_leader_replicas = true\nunclean_leader_election = true",
    ] {
        let dir = std::env::temp_dir().join(format!("streamsim-cli-ok-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join(format!("ok-{}.toml", log.len()));
        std::fs::write(&f, format!("{HEAD}[log]\n{log}\n")).unwrap();
        let out = streamsim(&["check", f.to_str().unwrap()]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{log}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn budget_below_clock_resolution_is_refused() {
    let (code, err) = bad(&format!("{HEAD}[budgets]\nack_p99_ms = 0.5\n"));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("FILE:7") && err.contains("budgets.ack_p99_ms") && err.contains("clock resolution"),
        "{err}"
    );
}

#[test]
fn a_bucket_coarser_than_the_run_is_refused() {
    let (code, err) = bad(&format!("{HEAD}[report]\nbucket_s = 60\n"));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("FILE:7") && err.contains("report.bucket_s") && err.contains("coarser than the run"),
        "{err}"
    );
    let (code, err) = bad(&format!("{HEAD}[report]\nbucket_s = 0.25\n"));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("report.bucket_s") && err.contains("at least 1 s"), "{err}");
}

#[test]
fn retention_shorter_than_the_checkpoint_interval_is_refused() {
    let (code, err) = bad(&format!(
        "{HEAD}[processor]\ninstances = 1\ncommit_interval_ms = 1000\n[log]\nretention_ms = 500\n"
    ));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("FILE:10") && err.contains("log.retention_ms") && err.contains("checkpoint interval"),
        "{err}"
    );
    let (code, err) = bad(&format!("{HEAD}[log]\nretention_bytes = 0\n"));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("log.retention_bytes") && err.contains("positive"), "{err}");
}

#[test]
fn a_delivery_grid_outside_the_millisecond_is_refused() {
    for q in ["0", "1500"] {
        let (code, err) = bad(&format!("{HEAD}[network]\ndelivery_quantum_us = {q}\n"));
        assert_eq!(code, 2, "{err}");
        assert!(
            err.contains("FILE:7") && err.contains("network.delivery_quantum_us") && err.contains("between 1"),
            "{err}"
        );
    }
}

#[test]
fn impossible_group_settings_are_refused_before_the_run() {
    // duration_s = 5: a fourth instance 2 s apart would start at 6 s.
    let (code, err) = bad(&format!("{HEAD}[processor]\ninstances = 4\nstart_stagger_ms = 2000\n"));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("FILE:8") && err.contains("processor.start_stagger_ms") && err.contains("after the workload ends"),
        "{err}"
    );
    let (code, err) = bad(&format!(
        "{HEAD}[processor]\ninstances = 1\nrebalance_timeout_ms = 1000\ninitial_rebalance_delay_ms = 3000\n"
    ));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("FILE:9") && err.contains("processor.initial_rebalance_delay_ms"),
        "{err}"
    );
}

#[test]
fn wrong_type_and_bad_target_are_reported_with_lines() {
    let (code, err) = bad(&format!("{HEAD}[topology]\nbrokers = \"three\"\n"));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("FILE:7"), "{err}");
    let (code, err) = bad(&format!(
        "{HEAD}[[faults]]\nat_s = 1\nkind = \"crash\"\ntarget = \"broker:9\"\n"
    ));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("faults[0].target") && err.contains("broker:9 does not exist"),
        "{err}"
    );
    let (code, err) = bad("name = \"x\"\nexpect = \"pass\"\nduration_s = 5\n[workload]\nrate = { kind = \"constant\", events_per_s = -3 }\n");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("workload.rate"), "{err}");
}

#[test]
fn a_processor_dedup_ttl_beyond_thirty_days_is_refused() {
    let (code, err) = bad(&format!("{HEAD}[processor]\ninstances = 1\ndedup_ttl_s = 3000000\n"));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("FILE:8") && err.contains("processor.dedup_ttl_s") && err.contains("30 days"),
        "{err}"
    );
}

#[test]
fn impossible_gateway_dedup_settings_and_absent_clients_are_refused() {
    let (code, err) = bad(&format!("{HEAD}[gateway]\ndedup = true\ndedup_capacity = 0\n"));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("FILE:8") && err.contains("gateway.dedup_capacity") && err.contains("at least 1"),
        "{err}"
    );
    let (code, err) = bad(&format!("{HEAD}[gateway]\ndedup = true\ndedup_ttl_s = -5\n"));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("FILE:8") && err.contains("gateway.dedup_ttl_s") && err.contains("positive"),
        "{err}"
    );
    let (code, err) = bad(&format!("{HEAD}[gateway]\ndedup = true\ndedup_scope = \"global\"\n"));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("FILE:8") && err.contains("dedup_scope") && err.contains("per_instance"),
        "{err}"
    );
    let (code, err) = bad(&format!("{HEAD}[gateway]\ndedup = true\ndedup_lookup_ms = 2\n"));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("FILE:8") && err.contains("gateway.dedup_lookup_ms") && err.contains("shared"),
        "{err}"
    );
    let (code, err) = bad(&format!(
        "{HEAD}[topology]\nclients = 4\n[[faults]]\nat_s = 1\nkind = \"pause\"\ntarget = \"client:4\"\nduration_s = 2\n"
    ));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("FILE:11") && err.contains("faults[0].target") && err.contains("client:4 does not exist"),
        "{err}"
    );
}

#[test]
fn every_problem_in_a_file_is_shown_at_once_with_line_column_and_a_guess() {
    let (code, err) = bad(&format!(
        "{HEAD}[topology]\npartitons = 6\nreplication_factor = 3\n[log]\nmin_insync_replicas = 4\n[budgets]\nack_p99_ms = 0.5\n"
    ));
    assert_eq!(code, 2, "{err}");
    for expected in [
        "FILE:7:1",
        "partitons = 6",
        "did you mean `partitions`?",
        "FILE:10:1",
        "log.min_insync_replicas",
        "FILE:12:1",
        "budgets.ack_p99_ms",
        "3 problems in FILE",
    ] {
        assert!(err.contains(expected), "{expected:?} missing from:\n{err}");
    }
}

#[test]
fn a_file_with_only_a_workload_runs_with_defaults() {
    let dir = std::env::temp_dir().join(format!("streamsim-cli-min-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("quick-look.toml");
    std::fs::write(&f, "[workload]\nrate = { kind = \"constant\", events_per_s = 50 }\n").unwrap();
    let out = streamsim(&["check", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("(quick-look)"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn missing_file_is_a_clear_error() {
    let out = streamsim(&["run", "/nonexistent/scenario.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read the file"));
}

#[test]
fn every_library_scenario_validates() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    // The library and the long virtual days beside it.
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .chain(std::fs::read_dir(dir.join("scale")).unwrap())
        .chain(std::fs::read_dir(dir.join("scale/peak")).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|p| p.display().to_string())
        .collect();
    files.sort();
    assert!(files.len() >= 8);
    let mut args = vec!["check"];
    args.extend(files.iter().map(|s| s.as_str()));
    let out = streamsim(&args);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}

/// `day-1b-peak` stands for the billion-event day at its peak in the memory figures
/// (docs/PERFORMANCE.md): it must stay that day, cut to the window around its crash.
#[test]
fn the_peak_window_is_the_billion_event_days() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/scale");
    let load = |p: std::path::PathBuf| -> toml::Table { std::fs::read_to_string(&p).unwrap().parse().unwrap() };
    let (mut day, mut peak) = (load(dir.join("day-1b.toml")), load(dir.join("peak/day-1b-peak.toml")));
    let take = |t: &mut toml::Table, path: &[&str]| -> Option<toml::Value> {
        let (last, parents) = path.split_last().unwrap();
        let mut at = t;
        for k in parents {
            at = match at.get_mut(*k).unwrap() {
                toml::Value::Table(t) => t,
                toml::Value::Array(a) => a[0].as_table_mut().unwrap(),
                v => panic!("{k}: {v}"),
            };
        }
        at.remove(*last)
    };
    let as_f = |v: Option<toml::Value>| {
        let v = v.expect("a field both files set");
        v.as_float().or(v.as_integer().map(|i| i as f64)).unwrap()
    };
    for t in [&mut day, &mut peak] {
        take(t, &["name"]);
        take(t, &["description"]);
    }
    // The day starts at midnight, so its times are the window's start plus the window's.
    assert_eq!(take(&mut day, &["workload", "rate", "start_hour"]), None);
    let start_s = as_f(take(&mut peak, &["workload", "rate", "start_hour"])) * 3600.0;
    let (day_crash, peak_crash) = (
        as_f(take(&mut day, &["faults", "at_s"])),
        as_f(take(&mut peak, &["faults", "at_s"])),
    );
    assert_eq!(start_s + peak_crash, day_crash, "the window's crash is the day's");
    let restart = as_f(Some(peak["faults"][0]["restart_after_s"].clone()));
    let duration = as_f(take(&mut peak, &["duration_s"]));
    assert!(
        duration >= peak_crash + 2.0 * restart,
        "the window runs {duration} s: past the restart and as long again"
    );
    take(&mut day, &["duration_s"]);
    assert_eq!(day, peak, "everything else is the day's");
}

#[test]
fn version_names_the_git_commit() {
    let out = streamsim(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    let line = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let commit = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".to_string());
    assert_eq!(line, format!("streamsim {} ({commit})", env!("CARGO_PKG_VERSION")));
}
