//! `streamsim sweep` and `streamsim merge` as CI uses them: shards merge to
//! the unsplit sweep, results do not depend on --jobs, exit codes follow
//! each scenario's `expect`, --fail-fast stops early, bad input is refused.
//!
//! Short scenarios keep this to seconds: a 5-second steady workload and the
//! library's 10-second budget negative control.

use crate::common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn streamsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_streamsim"))
        .args(args)
        .output()
        .expect("run streamsim")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("streamsim-sweep-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

/// A short safe scenario in `dir`; `extra` is appended (e.g. a budget).
fn mini(dir: &Path, name: &str, expect: &str, extra: &str) -> String {
    let p = dir.join(format!("{name}.toml"));
    fs::write(
        &p,
        format!(
            "name = \"{name}\"\nexpect = \"{expect}\"\nduration_s = 5\n\n[workload]\n\
             rate = {{ kind = \"constant\", events_per_s = 2000 }}\n{extra}"
        ),
    )
    .unwrap();
    p.display().to_string()
}

fn neg_control() -> String {
    common::scenario("neg-tight-budget").display().to_string()
}

fn sweep_json(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&fs::read_to_string(dir.join("sweep.json")).unwrap()).unwrap()
}

/// The entries of a sweep.json without wall time, which is all that may
/// differ between equal sweeps.
fn entries(dir: &Path) -> Vec<serde_json::Value> {
    let mut v = sweep_json(dir)["entries"].as_array().unwrap().clone();
    for e in &mut v {
        e.as_object_mut().unwrap().remove("wall_s");
    }
    v
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

#[test]
fn four_shards_merged_equal_the_unsplit_sweep() {
    let d = scratch("shards");
    let steady = mini(&d, "mini-steady", "pass", "");
    let neg = neg_control();
    let whole = d.join("whole");
    let out = streamsim(&[
        "sweep",
        &steady,
        &neg,
        "--seeds",
        "0..8",
        "--jobs",
        "2",
        "--out",
        &s(&whole),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("mini-steady") && table.contains("neg-tight-budget"),
        "{table}"
    );
    assert!(table.contains("violations caught as expected (8)"), "{table}");

    let mut shard_dirs = Vec::new();
    for k in 1..=4 {
        let dir = d.join(format!("shard-{k}"));
        let out = streamsim(&[
            "sweep",
            &steady,
            &neg,
            "--seeds",
            "0..8",
            "--shard",
            &format!("{k}/4"),
            "--jobs",
            "1",
            "--out",
            &s(&dir),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let j = sweep_json(&dir);
        assert_eq!(j["shard"]["index"], k);
        assert_eq!(j["entries"].as_array().unwrap().len(), 4, "2 seeds × 2 scenarios");
        shard_dirs.push(s(&dir));
    }
    let merged = d.join("merged");
    let mut args = vec!["merge".to_string()];
    args.extend(shard_dirs.iter().rev().cloned());
    args.extend(["--out".into(), s(&merged)]);
    let out = streamsim(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let (a, b) = (entries(&whole), entries(&merged));
    assert_eq!(a.len(), 16);
    assert_eq!(a, b, "merged shards differ from the unsplit sweep");
    for e in &a {
        assert_eq!(e["verdict"], e["expect"], "{e}");
        assert_eq!(e["trace_hash"].as_str().unwrap().len(), 16);
    }
    for f in [
        "results.csv",
        "junit.xml",
        "summary.md",
        "p99_across_seeds.svg",
        "p99_across_seeds.png",
    ] {
        assert!(merged.join(f).is_file(), "merge wrote no {f}");
    }
    assert_eq!(
        fs::read(whole.join("results.csv")).unwrap(),
        fs::read(merged.join("results.csv")).unwrap(),
        "results.csv of the merge is not byte-identical"
    );

    // Refusals: the same shard twice, a missing shard, another sweep's shard.
    let out = streamsim(&["merge", &shard_dirs[0], &shard_dirs[0], "--out", &s(&d.join("m2"))]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("overlapping"), "{}", text(&out));
    let out = streamsim(&["merge", &shard_dirs[0], &shard_dirs[1], "--out", &s(&d.join("m3"))]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("missing shard(s) 3/4, 4/4"), "{}", text(&out));
    let out = streamsim(&[
        "merge",
        &shard_dirs[0],
        &shard_dirs[1],
        "--partial",
        "--out",
        &s(&d.join("m4")),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(entries(&d.join("m4")).len(), 8);
    let other = d.join("other");
    let out = streamsim(&["sweep", &neg, "--seeds", "0..1", "--shard", "2/4", "--out", &s(&other)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = streamsim(&["merge", &shard_dirs[0], &s(&other), "--out", &s(&d.join("m5"))]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("not shards of one sweep"), "{}", text(&out));
    let out = streamsim(&["merge", &shard_dirs[0], "--partial", "--out", &shard_dirs[0]]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("would overwrite"), "{}", text(&out));
    let out = streamsim(&["merge", &s(&d), "--out", &s(&d.join("m6"))]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("no sweep.json"), "{}", text(&out));
}

#[test]
fn results_do_not_depend_on_jobs() {
    let d = scratch("jobs");
    let steady = mini(&d, "mini-steady", "pass", "");
    let neg = neg_control();
    let (one, two) = (d.join("one"), d.join("two"));
    for (jobs, dir) in [("1", &one), ("2", &two)] {
        let out = streamsim(&[
            "sweep",
            &neg,
            &steady,
            "--seeds",
            "3..=6",
            "--jobs",
            jobs,
            "--out",
            &s(dir),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    }
    assert_eq!(entries(&one), entries(&two));
    assert_eq!(entries(&one).len(), 8);
    assert_eq!(
        fs::read(one.join("results.csv")).unwrap(),
        fs::read(two.join("results.csv")).unwrap()
    );
}

#[test]
fn unexpected_outcomes_exit_1_with_replay_and_report() {
    let d = scratch("unexpected");
    // A 1 ms p99 cannot be met through 5 ms of client and gateway linger.
    let tight = mini(&d, "mini-impossible-budget", "pass", "\n[budgets]\nack_p99_ms = 1\n");
    let out_dir = d.join("out");
    let summary = d.join("step-summary.md");
    let out = streamsim(&[
        "sweep",
        &tight,
        "--seeds",
        "0..2",
        "--out",
        &s(&out_dir),
        "--summary-md",
        &s(&summary),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("unexpected outcomes (2)"), "{stdout}");
    for seed in 0..2 {
        assert!(stdout.contains(&format!(" run {tight} --seed {seed}\n")), "{stdout}");
        let run = out_dir.join(format!("runs/mini-impossible-budget/seed-{seed}"));
        assert!(run.join("result.json").is_file(), "no report for seed {seed}");
    }
    let md = fs::read_to_string(out_dir.join("summary.md")).unwrap();
    assert!(md.contains("(runs/mini-impossible-budget/seed-0)"), "{md}");
    let step = fs::read_to_string(&summary).unwrap();
    assert!(
        step.contains("unexpected outcomes") && step.contains("--seed 1"),
        "{step}"
    );
    let j = sweep_json(&out_dir);
    assert_eq!(j["entries"][0]["report_dir"], "runs/mini-impossible-budget/seed-0");
    assert_eq!(j["entries"][0]["matches_expect"], false);

    // A safe scenario marked as a negative control: every pass is unexpected.
    let wrong = mini(&d, "mini-wrong-expect", "violation", "");
    let out = streamsim(&["sweep", &wrong, "--seeds", "5", "--out", &s(&d.join("wrong"))]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains(&format!(" run {wrong} --seed 5\n")),
        "{}",
        text(&out)
    );
}

#[test]
fn fail_fast_stops_scheduling() {
    let d = scratch("failfast");
    let wrong = mini(&d, "mini-impossible-budget", "pass", "\n[budgets]\nack_p99_ms = 1\n");
    let out_dir = d.join("out");
    let out = streamsim(&[
        "sweep",
        &wrong,
        "--seeds",
        "0..6",
        "--jobs",
        "1",
        "--fail-fast",
        "--out",
        &s(&out_dir),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("--fail-fast: stopped after 1 of 6 runs"),
        "{}",
        text(&out)
    );
    let j = sweep_json(&out_dir);
    assert_eq!(j["entries"].as_array().unwrap().len(), 1);
    assert_eq!(j["complete"], false);
}

#[test]
fn bad_seeds_shards_and_scenarios_exit_2() {
    let neg = neg_control();
    for (flag, value, says) in [
        ("--seeds", "5..5", "empty"),
        ("--seeds", "9..2", "empty"),
        ("--seeds", "zero..4", "not a seed"),
        ("--seeds", "0..99999999999", "at most"),
        ("--shard", "0/4", "from 1 to 4"),
        ("--shard", "5/4", "from 1 to 4"),
        ("--shard", "1/0", "at least 1"),
        ("--shard", "two", "K/N"),
    ] {
        let mut args = vec!["sweep", neg.as_str(), flag, value];
        if flag == "--shard" {
            args.extend(["--seeds", "0..4"]);
        }
        let out = streamsim(&args);
        assert_eq!(out.status.code(), Some(2), "{flag} {value}: {}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(flag) && err.contains(says), "{flag} {value}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let out = streamsim(&["sweep", "/nonexistent/scenario.toml", "--seeds", "0..2"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("cannot read the file"), "{}", text(&out));
    let out = streamsim(&["sweep", &neg]);
    assert_eq!(out.status.code(), Some(2), "--seeds is required");
}

#[test]
fn runs_that_do_not_finish_exit_3_with_their_seed() {
    let d = scratch("watchdog");
    let out_dir = d.join("out");
    // A wall limit of 0 s: the watchdog gives up on every run at once.
    let out = streamsim(&[
        "sweep",
        &neg_control(),
        "--seeds",
        "0..2",
        "--wall-limit-s",
        "0",
        "--out",
        &s(&out_dir),
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("runs that did not finish (2)"), "{stdout}");
    assert!(stdout.contains("neg-tight-budget seed 1: watchdog"), "{stdout}");
    assert!(
        stdout.contains(" run scenarios/neg-tight-budget.toml --seed 1\n"),
        "{stdout}"
    );
    let j = sweep_json(&out_dir);
    assert_eq!(j["errors"].as_array().unwrap().len(), 2);
    let junit = fs::read_to_string(out_dir.join("junit.xml")).unwrap();
    assert_eq!(junit.matches("<error ").count(), 2, "{junit}");
    let csv = fs::read_to_string(out_dir.join("results.csv")).unwrap();
    assert_eq!(
        csv.lines().filter(|l| l.contains(",error,violation,false,")).count(),
        2,
        "{csv}"
    );
}
