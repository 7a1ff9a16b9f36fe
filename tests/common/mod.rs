#![allow(dead_code)] // each test binary uses a different part
//! Helpers shared by the end-to-end tests.

use std::path::{Path, PathBuf};

/// The CLI's allocator, so the tests run what users run, as fast (it says why).
#[path = "../../src/allocator.rs"]
mod allocator;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use streamsim_reports::{RunResult, Verdict};
use streamsim_sim::run::{run_scenario, RunOptions};
use streamsim_sim::scenario::{load_scenario, LoadedScenario};

/// Seeds a many-seed test runs: `quick` in the test suite, or the count in
/// `STREAMSIM_SEEDS` when the soak (`cargo xtask soak`) sets it.
pub fn seeds(quick: u64) -> u64 {
    match std::env::var("STREAMSIM_SEEDS") {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("STREAMSIM_SEEDS must be a whole number, got {v:?}")),
        Err(_) => quick,
    }
}

/// Whether the soak runs the tests (`STREAMSIM_SEEDS` set), which wants every seed's run.
pub fn soak() -> bool {
    std::env::var_os("STREAMSIM_SEEDS").is_some()
}

/// An empty directory of its own for one test: `streamsim-{test}-{pid}-{name}` under the
/// system's temporary directory, emptied first if an earlier run left it.
pub fn scratch(test: &str, name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("streamsim-{test}-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Path of a file among the OpenMessaging Benchmark fixtures (`tests/fixtures/omb/`).
pub fn omb_fixture(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/omb")
        .join(rel)
        .display()
        .to_string()
}

/// Path of a scenario in the library.
pub fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(format!("{name}.toml"))
}

/// Run seeds `1..=n` of a scenario on all cores, each in its own thread;
/// `stop_at_first_violation` ends early once a violation is seen.
pub fn sweep(name: &str, n: u64, stop_at_first_violation: bool) -> Vec<RunResult> {
    sweep_file(&scenario(name), n, stop_at_first_violation)
}

/// A copy of a library scenario whose brokers' kernels write dirty pages back
/// within a second or two instead of Linux's 30 to 35 s: most of a short run is
/// then durable on every replica, so the logs summarise it while the run goes.
pub fn with_fast_writeback(name: &str) -> PathBuf {
    let text = std::fs::read_to_string(scenario(name)).expect("library scenario");
    let tuned = "dirty_expire_centisecs = 100\ndirty_writeback_centisecs = 100\n";
    let text = if text.contains("[resources]\n") {
        text.replacen("[resources]\n", &format!("[resources]\n{tuned}"), 1)
    } else {
        format!("{text}\n[resources]\n{tuned}")
    };
    let dir = std::env::temp_dir().join(format!("streamsim-fast-writeback-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// The options of every run the tests make: `seed`, and a 300 s wall-clock watchdog.
pub fn options(seed: u64) -> RunOptions {
    RunOptions {
        seed,
        wall_limit: Duration::from_secs(300),
    }
}

/// A run is a pure function of the binary, the scenario's text and the seed (the
/// determinism tests check it, across processes too), so the suite makes each run
/// once and hands its result to every test that asks for it: the chaos library and
/// the tests that hold a library scenario to more than its verdict ask for many of
/// the same. Tests that compare two runs call `run_scenario` themselves.
type RunKey = (PathBuf, String, u64);

fn runs_made() -> &'static Mutex<HashMap<RunKey, Arc<OnceLock<RunResult>>>> {
    static RUNS: OnceLock<Mutex<HashMap<RunKey, Arc<OnceLock<RunResult>>>>> = OnceLock::new();
    RUNS.get_or_init(Default::default)
}

/// The result of `seed` of a loaded scenario, run once per test process; a second
/// caller of a run under way waits for it.
pub fn run_result(loaded: &LoadedScenario, seed: u64) -> RunResult {
    let key = (loaded.path.clone(), loaded.text.clone(), seed);
    let cell = runs_made().lock().unwrap().entry(key).or_default().clone();
    cell.get_or_init(|| {
        run_scenario(loaded, &options(seed))
            .unwrap_or_else(|e| panic!("{}: {e}", loaded.path.display()))
            .report
            .result
    })
    .clone()
}

/// Seeds `1..=n` of the scenario in `file`, as [`sweep`] does.
pub fn sweep_file(file: &Path, n: u64, stop_at_first_violation: bool) -> Vec<RunResult> {
    let loaded = Arc::new(load_scenario(file).expect("scenario loads"));
    let next = Arc::new(AtomicU64::new(1));
    let out = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let jobs = std::thread::available_parallelism().map_or(2, |n| n.get());
    let handles: Vec<_> = (0..jobs)
        .map(|_| {
            let (loaded, next, out, stop) = (loaded.clone(), next.clone(), out.clone(), stop.clone());
            std::thread::spawn(move || loop {
                let seed = next.fetch_add(1, Ordering::Relaxed);
                if seed > n || stop.load(Ordering::Relaxed) {
                    break;
                }
                let r = run_result(&loaded, seed);
                if stop_at_first_violation && r.verdict == Verdict::Violation {
                    stop.store(true, Ordering::Relaxed);
                }
                out.lock().unwrap().push(r);
            })
        })
        .collect();
    for h in handles {
        h.join().expect("sweep worker");
    }
    let mut v = Arc::try_unwrap(out).unwrap().into_inner().unwrap();
    v.sort_by_key(|r| r.seed);
    v
}

/// One run of a library scenario, with its timeline.
pub fn run_with_timeline(name: &str, seed: u64) -> streamsim_sim::run::RunOutcome {
    run_file(&scenario(name), seed)
}

/// One run of a scenario file (a library one or a variant a test wrote).
pub fn run_file(path: &Path, seed: u64) -> streamsim_sim::run::RunOutcome {
    let loaded = load_scenario(path).unwrap_or_else(|e| panic!("{e}"));
    run_scenario(&loaded, &options(seed)).unwrap_or_else(|e| panic!("{e}"))
}

/// Seeds `1..=n` of a scenario all pass, with events acknowledged and none
/// lost or duplicated in the log; returns the results for further checks.
pub fn assert_passes_every_seed(name: &str, n: u64) -> Vec<RunResult> {
    assert_passes_every_seed_file(name, &scenario(name), n)
}

/// [`assert_passes_every_seed`] for the scenario in `file`, named `name` in messages.
pub fn assert_passes_every_seed_file(name: &str, file: &Path, n: u64) -> Vec<RunResult> {
    let t = std::time::Instant::now();
    let results = sweep_file(file, n, false);
    assert_eq!(results.len() as u64, n);
    for r in &results {
        assert_eq!(
            r.verdict,
            Verdict::Pass,
            "{name} seed {} violated {:?}; replay: {}",
            r.seed,
            r.violations,
            r.replay
        );
        assert!(r.events_acked > 0, "{name} seed {} acknowledged nothing", r.seed);
        assert_eq!(r.events_lost, 0);
        assert_eq!(r.events_duplicated, 0);
    }
    eprintln!("{name}: {n} seeds passed in {:.1} s", t.elapsed().as_secs_f64());
    results
}

/// Some seed of `1..=n` of a negative control violates `invariant`; returns that run.
pub fn assert_caught(name: &str, invariant: &str, n: u64) -> RunResult {
    assert_caught_file(name, &scenario(name), invariant, n)
}

/// [`assert_caught`] for the scenario in `file`, named `name` in messages.
pub fn assert_caught_file(name: &str, file: &Path, invariant: &str, n: u64) -> RunResult {
    let t = std::time::Instant::now();
    let results = sweep_file(file, n, true);
    let r = results
        .into_iter()
        .find(|r| r.violations.iter().any(|v| v.invariant == invariant))
        .unwrap_or_else(|| panic!("{name}: no seed of {n} violated {invariant}"));
    assert_eq!(
        r.expect,
        Verdict::Violation,
        "{name} must be marked as a negative control"
    );
    eprintln!(
        "{name}: caught {invariant} on seed {} in {:.1} s",
        r.seed,
        t.elapsed().as_secs_f64()
    );
    r
}
