//! `streamsim diff`: the same seeds for both sides, a deterministic
//! comparison, and a `--fail-if-worse` gate that a regression trips.

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

/// A short steady scenario; `extra` is appended.
fn scenario(dir: &Path, name: &str, extra: &str) -> String {
    let p = dir.join(format!("{name}.toml"));
    fs::write(
        &p,
        format!(
            "name = \"{name}\"\nexpect = \"pass\"\nduration_s = 3\n[workload]\n\
             rate = {{ kind = \"constant\", events_per_s = 1000 }}\n{extra}"
        ),
    )
    .unwrap();
    p.display().to_string()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

fn metric<'a>(j: &'a serde_json::Value, key: &str) -> &'a serde_json::Value {
    j["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["metric"] == key)
        .unwrap_or_else(|| panic!("no {key} in {j}"))
}

#[test]
fn a_larger_linger_trips_the_p99_gate() {
    let d = common::scratch("diff", "linger");
    let a = scenario(&d, "base", "");
    let b = scenario(&d, "linger-50", "[producer]\nlinger_ms = 50\n");
    let args = [
        "diff",
        &a,
        &b,
        "--seeds",
        "0..4",
        "--fail-if-worse",
        "p99=10%",
        "--json",
    ];
    let out = streamsim(&args);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let j = json(&out);
    let p99 = metric(&j, "ack_p99");
    let (am, bm) = (p99["a_mean"].as_f64().unwrap(), p99["b_mean"].as_f64().unwrap());
    assert!(bm > am * 2.0, "A {am} ms, B {bm} ms");
    let ci = p99["ci95"].as_array().unwrap();
    assert!(ci[0].as_f64().unwrap() > 0.0, "the interval should exclude 0: {ci:?}");
    assert_eq!(p99["a"].as_array().unwrap().len(), 4);
    assert_eq!(j["gates"][0]["metric"], "ack_p99");
    assert_eq!(j["gates"][0]["tripped"], true);
    // The comparison is a pure function of the two files and the seeds.
    assert_eq!(streamsim(&args).stdout, out.stdout, "diff --json is not deterministic");

    // A gate on a metric that did not get worse passes.
    let out = streamsim(&["diff", &a, &b, "--seeds", "0..4", "--fail-if-worse", "throughput=5%"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("ack p99 (ms)") && table.contains("throughput=5%"),
        "{table}"
    );
    assert!(table.contains("95% CI of B - A"), "{table}");
}

#[test]
fn a_scenario_against_itself_differs_by_nothing() {
    let d = common::scratch("diff", "self");
    let a = scenario(&d, "base", "");
    let b = scenario(&d, "copy", "");
    let out = streamsim(&[
        "diff",
        &a,
        &b,
        "--seeds",
        "3..6",
        "--fail-if-worse",
        "p999=0%",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let j = json(&out);
    // Same seeds on both sides: the same runs, run for run.
    assert_eq!(j["a"]["trace_hashes"], j["b"]["trace_hashes"]);
    assert_eq!(j["seed_list"], serde_json::json!([3, 4, 5]));
    for m in j["metrics"].as_array().unwrap() {
        assert_eq!(m["diff"], 0.0, "{m}");
    }
}

#[test]
fn bad_gates_and_files_exit_2() {
    let d = common::scratch("diff", "bad");
    let a = scenario(&d, "base", "");
    for gate in ["p98=10%", "p99", "p99=lots"] {
        let out = streamsim(&["diff", &a, &a, "--seeds", "0..2", "--fail-if-worse", gate]);
        assert_eq!(out.status.code(), Some(2), "{gate}");
        assert!(String::from_utf8_lossy(&out.stderr).contains(gate), "{gate}");
    }
    // e2e latency needs a read path, which this scenario has not.
    let out = streamsim(&["diff", &a, &a, "--seeds", "0", "--fail-if-worse", "e2e_p99=10%"]);
    assert_eq!(out.status.code(), Some(2));
    let out = streamsim(&["diff", &a, "no/such.toml", "--seeds", "0..2"]);
    assert_eq!(out.status.code(), Some(2));
}
