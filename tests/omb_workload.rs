//! A scenario that replays an OpenMessaging Benchmark workload file, end to
//! end through the command line: the OMB file sets the rate, the message
//! size and the partition count, and bad references are refused up front.

use crate::common;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

fn streamsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_streamsim"))
        .args(args)
        .output()
        .expect("run streamsim")
}

/// The scaled OMB workload's `producerRate`.
const OMB_RATE: f64 = 10_000.0;

#[test]
fn omb_scenario_passes_at_the_producer_rate() {
    let out_dir = common::scratch("omb", "run");
    let scenario = common::scenario("omb-simple").display().to_string();
    let out = streamsim(&[
        "run",
        &scenario,
        "--seed",
        "4",
        "--json",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["verdict"], "pass", "{}", j["violations"]);
    assert_eq!(j["scenario"], "omb-simple");

    // Acknowledged at the producer rate over the scenario's 20 s: a Poisson
    // count of 200,000 has a standard deviation of 450, so 2 % is 9 of them.
    let acked = j["events_acked"].as_u64().unwrap() as f64;
    let per_s = acked / 20.0;
    assert!(
        (per_s - OMB_RATE).abs() < OMB_RATE * 0.02,
        "acknowledged {per_s} events/s, OMB producerRate {OMB_RATE}"
    );
    assert_eq!(j["events_acked"], j["events_sent"]);

    // The topic has the OMB file's 16 partitions (topics × partitionsPerTopic).
    let csv = fs::read_to_string(out_dir.join("timeseries.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    let partitions = header.split(',').filter(|c| c.ends_with("_appends")).count();
    assert_eq!(partitions, 16, "{header}");
}

/// Writes a scenario and an OMB file next to it; returns the scenario path.
fn case(dir: &Path, name: &str, scenario_tail: &str, yaml: Option<&str>) -> String {
    if let Some(y) = yaml {
        fs::write(dir.join(format!("{name}.yaml")), y).unwrap();
    }
    let p = dir.join(format!("{name}.toml"));
    fs::write(
        &p,
        format!("name = \"{name}\"\nexpect = \"pass\"\nduration_s = 5\n{scenario_tail}"),
    )
    .unwrap();
    p.display().to_string()
}

const YAML: &str = "topics: 1\npartitionsPerTopic: 16\nmessageSize: 1024\nproducerRate: 1000\ntestDurationMinutes: 1\n";

#[test]
fn bad_omb_references_are_refused_with_file_and_reason() {
    let d = common::scratch("omb", "bad");
    let check = |path: &str| -> (i32, String) {
        let out = streamsim(&["check", path]);
        (
            out.status.code().unwrap(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };

    let p = case(&d, "missing", "[workload]\nomb = \"nowhere.yaml\"\n", None);
    let (code, err) = check(&p);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("workload.omb") && err.contains("nowhere.yaml") && err.contains("cannot read"),
        "{err}"
    );
    assert!(err.contains("missing.toml:5"), "the line of `omb`: {err}");

    let p = case(
        &d,
        "zero-rate",
        "[workload]\nomb = \"zero-rate.yaml\"\n",
        Some(&YAML.replace("producerRate: 1000", "producerRate: 0")),
    );
    let (code, err) = check(&p);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("zero-rate.yaml") && err.contains("producerRate"), "{err}");

    let p = case(
        &d,
        "not-yaml",
        "[workload]\nomb = \"not-yaml.yaml\"\n",
        Some("topics: [1\n"),
    );
    let (code, err) = check(&p);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not-yaml.yaml") && err.contains("YAML"), "{err}");

    let p = case(
        &d,
        "mismatch",
        "[topology]\npartitions = 12\n[workload]\nomb = \"mismatch.yaml\"\n",
        Some(YAML),
    );
    let (code, err) = check(&p);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("topology.partitions") && err.contains("12 partitions") && err.contains("= 16"),
        "{err}"
    );

    let p = case(
        &d,
        "both",
        "[workload]\nomb = \"both.yaml\"\nrate = { kind = \"constant\", events_per_s = 5 }\n",
        Some(YAML),
    );
    let (code, err) = check(&p);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("`rate` cannot be set together with `omb`"), "{err}");

    // Agreeing counts, and the file's other fields kept, are accepted.
    let p = case(
        &d,
        "agree",
        "[topology]\npartitions = 16\n[workload]\nomb = \"agree.yaml\"\nmalformed_fraction = 0.01\n",
        Some(YAML),
    );
    let (code, err) = check(&p);
    assert_eq!(code, 0, "{err}");
}
