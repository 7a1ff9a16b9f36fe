//! Every scenario file in `scenarios/` (found by listing the folder, so new
//! files are included without touching this test) over 3 seeds (the soak,
//! `cargo xtask soak`, sets `STREAMSIM_SEEDS` for more), all runs
//! in parallel: a scenario that expects to pass must pass on every seed; a
//! negative control must be caught on at least one seed, and every
//! violation it shows must be of the invariants it names
//! (`expect_invariant`, or, for a file that names none, those its first
//! caught seed violated).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use streamsim_reports::{RunResult, Verdict};
use streamsim_sim::run::{run_scenario, RunOptions};
use streamsim_sim::scenario::{load_scenario, Expect, LoadedScenario};

use crate::common;

/// Seeds per scenario in the test suite; every negative control in the library is caught within them.
const QUICK_SEEDS: u64 = 3;

fn library() -> Vec<LoadedScenario> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("scenarios/ exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| load_scenario(f).unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

/// Every (scenario, seed) pair, on every core.
fn run_all(lib: &[LoadedScenario], seeds: u64) -> Vec<Vec<RunResult>> {
    let jobs: Vec<(usize, u64)> = (0..lib.len()).flat_map(|i| (1..=seeds).map(move |s| (i, s))).collect();
    let next = AtomicUsize::new(0);
    let out: Mutex<Vec<Vec<RunResult>>> = Mutex::new(vec![Vec::new(); lib.len()]);
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(i, seed)) = jobs.get(k) else { break };
                let opts = RunOptions {
                    seed,
                    wall_limit: Duration::from_secs(300),
                };
                let r = run_scenario(&lib[i], &opts)
                    .unwrap_or_else(|e| panic!("{}: {e}", lib[i].path.display()))
                    .report
                    .result;
                out.lock().unwrap()[i].push(r);
            });
        }
    });
    let mut v = out.into_inner().unwrap();
    for rs in &mut v {
        rs.sort_by_key(|r| r.seed);
    }
    v
}

#[test]
fn every_library_scenario_meets_its_expectation_over_many_seeds() {
    let t = Instant::now();
    let lib = library();
    assert!(lib.len() >= 20, "the library lost scenarios: {}", lib.len());
    let seeds = common::seeds(QUICK_SEEDS);
    let results = run_all(&lib, seeds);
    let mut problems = Vec::new();
    for (l, rs) in lib.iter().zip(&results) {
        let name = &l.scenario.name;
        let secs: f64 = rs.iter().map(|r| r.wall_s).sum();
        match l.scenario.expect {
            Expect::Pass => {
                for r in rs.iter().filter(|r| r.verdict != Verdict::Pass) {
                    problems.push(format!(
                        "{name} seed {} expected to pass, violated {:?}; replay: {}",
                        r.seed,
                        r.violations.iter().map(|v| &v.invariant).collect::<Vec<_>>(),
                        r.replay
                    ));
                }
                // The verdict says it, but a regression in the verdict itself must not hide a loss.
                for r in rs
                    .iter()
                    .filter(|r| r.events_acked == 0 || r.events_lost > 0 || r.events_duplicated > 0)
                {
                    problems.push(format!(
                        "{name} seed {}: {} acknowledged, {} lost, {} duplicated; replay: {}",
                        r.seed, r.events_acked, r.events_lost, r.events_duplicated, r.replay
                    ));
                }
                eprintln!("{name}: pass on {seeds} seeds ({secs:.1} s of runs)");
            }
            Expect::Violation => {
                let caught: Vec<&RunResult> = rs.iter().filter(|r| r.verdict == Verdict::Violation).collect();
                let Some(first) = caught.first() else {
                    problems.push(format!("{name}: negative control not caught on any of {seeds} seeds"));
                    continue;
                };
                // A file that names no invariant is held to what its first caught seed broke.
                let intended: Vec<String> = if l.scenario.expect_invariant.is_empty() {
                    eprintln!("{name}: names no expect_invariant; holding it to its first caught seed's");
                    first.violations.iter().map(|v| v.invariant.clone()).collect()
                } else {
                    l.scenario.expect_invariant.clone()
                };
                let names = intended.join(" / ");
                for r in &caught {
                    for v in r.violations.iter().filter(|v| !intended.contains(&v.invariant)) {
                        problems.push(format!(
                            "{name} seed {} violated {} ({}), not the intended {names}; replay: {}",
                            r.seed, v.invariant, v.detail, r.replay
                        ));
                    }
                }
                eprintln!(
                    "{name}: {names} caught on {} of {seeds} seeds (first: seed {}) ({secs:.1} s of runs)",
                    caught.len(),
                    first.seed
                );
            }
        }
    }
    eprintln!(
        "chaos library: {} scenarios x {seeds} seeds in {:.1} s of wall time",
        lib.len(),
        t.elapsed().as_secs_f64()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
