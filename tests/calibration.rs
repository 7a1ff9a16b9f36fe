//! The resource model's defaults against published Kafka figures: every case
//! `scenarios/calibration/cases.toml` claims lands within ±25% of its
//! publication with each of three seeds, and a case moved off its fitted
//! machine falls outside.

use std::path::{Path, PathBuf};
use std::process::Command;
use streamsim_sim::calibration::{load_cases, run_case, Case, BAND};

fn cases_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/calibration/cases.toml")
}

/// A claim holds for more than the seed the table prints: a figure that
/// lands in its band for one seed and not the next is a transient, not a fit.
const SEEDS: [u64; 3] = [1, 2, 3];

#[test]
fn every_claimed_case_is_within_its_band() {
    let cases: Vec<Case> = load_cases(&cases_file())
        .unwrap()
        .into_iter()
        .filter(|c| c.miss.is_none())
        .collect();
    assert!(cases.len() >= 3, "the calibration lost its cases: {}", cases.len());
    let runs: Vec<(&Case, u64)> = cases.iter().flat_map(|c| SEEDS.map(|seed| (c, seed))).collect();
    let results: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = runs
            .iter()
            .map(|&(c, seed)| s.spawn(move || (seed, run_case(c, seed))))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                let (seed, r) = h.join().unwrap();
                (seed, r.unwrap())
            })
            .collect()
    });
    let outside: Vec<String> = results
        .iter()
        .filter(|(_, r)| r.failed())
        .map(|(seed, r)| {
            format!(
                "{} seed {seed}: published {} {}, simulated {:.1} (ratio {:.2})",
                r.name, r.published, r.unit, r.simulated, r.ratio
            )
        })
        .collect();
    assert!(outside.is_empty(), "outside ±{:.0}%: {outside:#?}", BAND * 100.0);
}

#[test]
fn a_case_off_its_fitted_machine_falls_outside_the_band() {
    // The 2014 single-producer case on 10 GbE instead of the published 1 GbE: the producer's
    // link no longer binds, and the simulated rate leaves the published one behind.
    let case = load_cases(&cases_file())
        .unwrap()
        .into_iter()
        .find(|c| c.name == "kreps-2014-no-replication")
        .unwrap();
    let text = std::fs::read_to_string(&case.scenario).unwrap();
    let text = text.replace("[resources]\n", "[resources]\nnic_gbps = 10\n");
    let dir = std::env::temp_dir().join(format!("streamsim-calibration-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let scenario = dir.join("kreps-10gbe.toml");
    std::fs::write(&scenario, text).unwrap();
    let r = run_case(&Case { scenario, ..case }, 1).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert!(r.failed() && r.ratio > 1.0 + BAND, "ratio {:.2}", r.ratio);
}

#[test]
fn calibrate_prints_the_cases_as_json() {
    let out = Command::new(env!("CARGO_BIN_EXE_streamsim"))
        .args(["calibrate", "--json", "--only", "kreps-2014-latency", "--cases"])
        .arg(cases_file())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let cases = v["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 3);
    for c in cases {
        for field in ["name", "source", "unit", "published", "simulated", "ratio"] {
            assert!(!c[field].is_null(), "{field} missing in {c}");
        }
        assert!(c["miss"].as_str().is_some_and(|m| m.contains("consumer")), "{c}");
        let ratio = c["simulated"].as_f64().unwrap() / c["published"].as_f64().unwrap();
        assert!((ratio - c["ratio"].as_f64().unwrap()).abs() < 1e-9);
    }
}

#[test]
fn a_malformed_cases_file_names_the_file_and_line() {
    let dir = std::env::temp_dir().join(format!("streamsim-calibration-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("cases.toml");
    std::fs::write(
        &bad,
        "[[case]]\nname = \"x\"\nscenario = \"x.toml\"\nsource = \"s\"\nunit = \"ms\"\npublished = \"five\"\nmeasure = \"ack_p99_ms\"\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_streamsim"))
        .args(["calibrate", "--cases"])
        .arg(&bad)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cases.toml:6"), "{err}");
}
