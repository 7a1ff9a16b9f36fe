//! `streamsim size`: an answer found by simulation, minimal (one broker fewer
//! fails, and the candidates show that run), replayable with its failure on
//! more seeds, and impossible questions refused with the input named.

use std::path::Path;
use std::process::Command;
use streamsim_reports::Verdict;
use streamsim_sim::run::{run_scenario, RunOptions};
use streamsim_sim::scenario::load_scenario;

fn streamsim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_streamsim"))
}

#[test]
fn the_answer_is_minimal_and_replays_with_its_failure() {
    // 100M events a day of 32 KiB kept 2 days at RF 3 need 19.7 TB of log: on
    // i3en.2xlarge's 5,000 GB (70% of it usable) that is 6 brokers, and 5 must fail.
    let dir = std::env::temp_dir().join(format!("streamsim-size-{}", std::process::id()));
    let out = streamsim()
        .args([
            "size",
            "--events-per-day",
            "100M",
            "--event-bytes",
            "32KiB",
            "--retention-days",
            "2",
            "--machines",
            "i3en.2xlarge",
            "--json",
            "--out",
        ])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rec = &v["recommendation"];
    assert_eq!(rec["machine"], "i3en.2xlarge");
    let brokers = rec["brokers"].as_u64().unwrap();
    assert_eq!(brokers, 6, "{v:#}");
    for field in [
        "machine",
        "brokers",
        "partitions",
        "processors",
        "monthly_cost_usd",
        "cost_per_million_events_usd",
        "scenario",
    ] {
        assert!(!rec[field].is_null(), "recommendation lacks {field}");
    }
    // 6 x $0.904 an hour, 730 hours; storage comes with the machine.
    let monthly = rec["monthly_cost_usd"].as_f64().unwrap();
    assert!((monthly - 6.0 * 0.904 * 730.0).abs() < 0.01, "{monthly}");
    let per_million = rec["cost_per_million_events_usd"].as_f64().unwrap();
    assert!((per_million - monthly / (100.0 * 365.0 / 12.0)).abs() < 1e-6);
    // Minimal: the run with one broker fewer is in the candidates, and failed.
    let candidates = v["candidates"].as_array().unwrap();
    let fewer = candidates
        .iter()
        .find(|c| c["brokers"].as_u64() == Some(brokers - 1))
        .expect("the run with one broker fewer");
    let verdict = fewer["verdict"].as_str().unwrap();
    assert!(
        verdict.starts_with("fail") && verdict.contains("retention"),
        "{verdict}"
    );
    for c in candidates {
        for field in [
            "ack_p99_ms",
            "cpu_peak",
            "disk_peak",
            "nic_peak",
            "storage_gb",
            "monthly_cost_usd",
        ] {
            assert!(c[field].is_number(), "candidate lacks {field}: {c}");
        }
    }
    // The written scenario replays with its failure and passes on more seeds.
    let scenario = Path::new(rec["scenario"].as_str().unwrap()).to_path_buf();
    let text = std::fs::read_to_string(&scenario).unwrap();
    assert!(text.contains("kind = \"crash\""), "the failure is in the scenario");
    let loaded = load_scenario(&scenario).unwrap();
    for seed in 2..=3 {
        let opts = RunOptions {
            seed,
            wall_limit: std::time::Duration::from_secs(600),
        };
        let r = run_scenario(&loaded, &opts).unwrap().report.result;
        assert_eq!(r.verdict, Verdict::Pass, "seed {seed}: {:?}", r.violations);
    }
    for file in [
        "sizing.md",
        "sizing.json",
        "sizing_p99.png",
        "winner-100M/broker_utilisation.png",
    ] {
        assert!(dir.join(file).exists(), "{file} missing");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn impossible_questions_exit_2_naming_the_input() {
    let cases: [(&[&str], &str); 3] = [
        (
            &["--events-per-day", "1M", "--replication-factor", "40"],
            "--replication-factor 40",
        ),
        (&["--events-per-day", "1M", "--ack-p99-ms", "1"], "--ack-p99-ms 1"),
        (&["--events-per-day", "1000000B"], "largest feasible volume"),
    ];
    for (args, expected) in cases {
        let out = streamsim().arg("size").args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected), "{args:?}: {err}");
    }
    let out = streamsim().args(["size", "--events-per-day", "lots"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a count"));
}
