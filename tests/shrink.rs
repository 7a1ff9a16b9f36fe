//! Shrinking and replay: a failing seed of a swarm negative control shrinks
//! to a smaller scheduled scenario that still fails the same way; a swarm
//! run's drawn schedule replays to the same outcome; the CLI's `shrink`
//! errors and `--trace` file.

use crate::common;

use std::process::Command;
use std::time::Duration;
use streamsim_reports::Verdict;
use streamsim_sim::run::run_scenario;
use streamsim_sim::scenario::{load_scenario, parse_scenario, LoadedScenario};
use streamsim_sim::shrink::{shrink, ShrinkOptions};

const NEG_SWARM: &str = "chaos-neg-swarm-acks1";

/// The lowest seed in 1..=32 on which a negative control is caught.
fn failing_seed(l: &LoadedScenario) -> u64 {
    (1..=32)
        .find(|&s| run_scenario(l, &common::options(s)).unwrap().report.result.verdict == Verdict::Violation)
        .expect("the negative control is caught on some seed")
}

#[test]
fn a_failing_swarm_seed_shrinks_to_fewer_faults_that_still_fail_the_same_way() {
    let l = load_scenario(&common::scenario(NEG_SWARM)).unwrap();
    let seed = failing_seed(&l);
    let original = run_scenario(&l, &common::options(seed)).unwrap().report.result;
    let invariant = original.violations[0].invariant.clone();
    let mut o = ShrinkOptions::new(seed);
    o.max_runs = 80;
    o.wall_limit = Duration::from_secs(300);
    let s = shrink(&l, &o, &mut |line| eprintln!("{line}")).expect("shrinks");
    eprintln!(
        "seed {seed}: faults {} -> {}, duration {} -> {} s, rate x{}, {} runs",
        s.faults_before, s.faults_after, s.duration_before_s, s.duration_after_s, s.rate_factor, s.runs
    );
    assert_eq!(s.invariant, invariant);
    assert!(
        s.faults_after < s.faults_before,
        "{} fault events before, {} after",
        s.faults_before,
        s.faults_after
    );
    // The written file is a plain scheduled scenario that fails the same way.
    let shrunk = parse_scenario(&l.path, &s.text).unwrap_or_else(|e| panic!("{e}\n{}", s.text));
    assert!(shrunk.scenario.faults.swarm().is_none(), "{}", s.text);
    assert_eq!(shrunk.scenario.faults.len(), s.faults_after);
    let r = run_scenario(&shrunk, &common::options(seed)).unwrap().report.result;
    assert!(
        r.violations.iter().any(|v| v.invariant == invariant),
        "the shrunk scenario no longer violates {invariant}: {:?}",
        r.violations
    );
    // Deterministic: a second run of the shrunk file gives the same trace.
    let again = run_scenario(&shrunk, &common::options(seed)).unwrap().report.result;
    assert_eq!(r.trace_hash, again.trace_hash);
}

#[test]
fn a_swarm_run_and_the_replay_of_its_drawn_schedule_have_the_same_outcome() {
    let l = load_scenario(&common::scenario("chaos-swarm")).unwrap();
    for seed in [3, 11] {
        let text = streamsim_sim::swarm::scheduled_text(&l, seed).expect("a swarm scenario");
        let replay = parse_scenario(&l.path, &text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert!(replay.scenario.faults.swarm().is_none());
        let a = run_scenario(&l, &common::options(seed)).unwrap();
        let b = run_scenario(&replay, &common::options(seed)).unwrap();
        let (ra, rb) = (&a.report.result, &b.report.result);
        assert_eq!(ra.trace_hash, rb.trace_hash, "seed {seed}");
        assert_eq!(ra.verdict, rb.verdict);
        assert_eq!(ra.events_acked, rb.events_acked);
        assert_eq!(a.report.faults, b.report.faults, "fault windows differ");
        assert!(!a.report.faults.is_empty(), "seed {seed} drew no fault");
    }
}

fn streamsim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_streamsim"))
        .args(args)
        .output()
        .expect("run streamsim")
}

#[test]
fn shrinking_a_passing_seed_or_a_missing_file_is_a_clear_error() {
    let steady = common::scenario("chaos-slow-links");
    let out = streamsim(&["shrink", steady.to_str().unwrap(), "--seed", "1"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("seed 1 passes"), "{err}");
    let out = streamsim(&["shrink", "/nonexistent/x.toml", "--seed", "1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read the file"));
}

#[test]
fn the_trace_file_is_json_lines_and_the_same_on_every_run() {
    let dir = std::env::temp_dir().join(format!("streamsim-trace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let s = common::scenario("chaos-bridge-acks-all");
    let mut files = Vec::new();
    for i in 0..2 {
        let f = dir.join(format!("trace-{i}.jsonl"));
        let out = streamsim(&[
            "run",
            s.to_str().unwrap(),
            "--seed",
            "2",
            "--no-report",
            "--trace",
            f.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        files.push(std::fs::read_to_string(&f).unwrap());
    }
    assert_eq!(files[0], files[1], "the trace differs between two runs");
    let kinds: Vec<String> = files[0]
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            assert!(v["at_ms"].is_u64() && v["text"].is_string(), "{l}");
            v["kind"].as_str().unwrap().to_string()
        })
        .collect();
    for k in ["fault_start", "fault_end", "election", "isr_expand"] {
        assert!(kinds.iter().any(|x| x == k), "no {k} entry in the trace");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
