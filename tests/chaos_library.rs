//! Every scenario file in `scenarios/` (found by listing the folder, so new
//! files are included without touching this test), all runs in parallel: a
//! scenario that expects to pass must pass on each of 2 seeds; a negative
//! control must be caught on at least one of 3, and every violation it
//! shows must be of the invariants it names (`expect_invariant`, or, for a
//! file that names none, those its first caught seed violated). In the test
//! suite a negative control stops at its first caught seed; the soak
//! (`cargo xtask soak`, which sets `STREAMSIM_SEEDS`) runs every seed of
//! every file, so that the intended invariants are held on each of them.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;
use streamsim_reports::{RunResult, Verdict};
use streamsim_sim::scenario::{load_scenario, Expect, LoadedScenario};

use crate::common;

/// Seeds a scenario that expects to pass runs in the test suite: the workflow's sweep
/// runs the library over 32 seeds and the soak over 50, so here a regression has only to show.
const PASS_SEEDS: u64 = 2;
/// Seeds within which the suite must catch each negative control (every one in the library
/// is caught within them); it stops at the first catch.
const CATCH_WITHIN: u64 = 3;

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

/// Runs `(scenario, seed)` jobs on every core (each once per test process: other tests ask for
/// many of the same runs).
fn run_jobs(lib: &[LoadedScenario], jobs: &[(usize, u64)]) -> Vec<(usize, RunResult)> {
    let next = AtomicUsize::new(0);
    let out = Mutex::new(Vec::with_capacity(jobs.len()));
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(i, seed)) = jobs.get(k) else { break };
                out.lock().unwrap().push((i, common::run_result(&lib[i], seed)));
            });
        }
    });
    out.into_inner().unwrap()
}

/// Seeds `1..=pass_seeds` of every scenario that expects to pass and `1..=catch_within` of
/// every negative control, by scenario in seed order. With `stop_at_catch`, a negative
/// control's next seed runs only if none before it was caught.
fn run_all(lib: &[LoadedScenario], pass_seeds: u64, catch_within: u64, stop_at_catch: bool) -> Vec<Vec<RunResult>> {
    let negative = |i: usize| lib[i].scenario.expect == Expect::Violation;
    let mut jobs: Vec<(usize, u64)> = (0..lib.len())
        .flat_map(|i| {
            let last = match (negative(i), stop_at_catch) {
                (false, _) => pass_seeds,
                (true, true) => 1,
                (true, false) => catch_within,
            };
            (1..=last).map(move |s| (i, s))
        })
        .collect();
    let mut v: Vec<Vec<RunResult>> = vec![Vec::new(); lib.len()];
    let mut seed = 1;
    loop {
        for (i, r) in run_jobs(lib, &jobs) {
            v[i].push(r);
        }
        seed += 1;
        if !stop_at_catch || seed > catch_within {
            break;
        }
        jobs = (0..lib.len())
            .filter(|&i| negative(i) && v[i].iter().all(|r| r.verdict != Verdict::Violation))
            .map(|i| (i, seed))
            .collect();
    }
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
    let (pass_seeds, catch_within) = (common::seeds(PASS_SEEDS), common::seeds(CATCH_WITHIN));
    let results = run_all(&lib, pass_seeds, catch_within, !common::soak());
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
                eprintln!("{name}: pass on {pass_seeds} seeds ({secs:.1} s of runs)");
            }
            Expect::Violation => {
                let caught: Vec<&RunResult> = rs.iter().filter(|r| r.verdict == Verdict::Violation).collect();
                let Some(first) = caught.first() else {
                    problems.push(format!(
                        "{name}: negative control not caught on any of {catch_within} seeds"
                    ));
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
                    "{name}: {names} caught on {} of {} seeds (first: seed {}) ({secs:.1} s of runs)",
                    caught.len(),
                    rs.len(),
                    first.seed
                );
            }
        }
    }
    eprintln!(
        "chaos library: {} scenarios x up to {catch_within} seeds in {:.1} s of wall time",
        lib.len(),
        t.elapsed().as_secs_f64()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
