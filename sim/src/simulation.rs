//! Running a scenario from Rust, with a user's own operator, sink and
//! reference: [`Simulation`], and [`SeedRuns`] for seed loops in tests.

use crate::operator::{Operator, Record};
use crate::plugins::Plugins;
use crate::run::{run_scenario_with, RunError, RunOptions};
use crate::scenario::{load_scenario, LoadedScenario, ScenarioError};
use crate::sink::{Sink, Table};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use streamsim_reports::{RunResult, Verdict};

/// The variable [`Simulation::run_seeds`] reads to run one seed only: what
/// a printed replay command sets.
pub const SEED_VAR: &str = "STREAMSIM_SEED";

/// A scenario ready to run, with the parts a user plugged in.
///
/// ```no_run
/// # use streamsim_sim::Simulation;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let sim = Simulation::from_file("scenarios/processor-crash-eos.toml")?;
/// let result = sim.run(1)?;
/// println!("{:?}: {}", result.verdict, result.replay);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Simulation {
    loaded: LoadedScenario,
    plugins: Plugins,
    custom: bool,
    wall_limit: Duration,
    replay: Option<Arc<dyn Fn(u64) -> String + Send + Sync>>,
}

impl Simulation {
    /// Loads and validates a scenario file (the CLI's errors: file, line, field).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ScenarioError> {
        load_scenario(path.as_ref()).map(Self::from_loaded)
    }

    /// A scenario already loaded.
    pub fn from_loaded(loaded: LoadedScenario) -> Self {
        Simulation {
            plugins: Plugins::builtin(&loaded.scenario.processor),
            loaded,
            custom: false,
            wall_limit: Duration::from_secs(600),
            replay: None,
        }
    }

    /// The scenario as loaded.
    pub fn scenario(&self) -> &LoadedScenario {
        &self.loaded
    }

    /// Runs `op` in every processor task instead of the scenario's chain;
    /// each task gets a clone. Give the checker a [`reference`](Self::reference)
    /// too, or it checks only that every event reached the sink once.
    pub fn operator<O: Operator + Clone + Sync>(mut self, op: O) -> Self {
        self.plugins = self.plugins.with_operator(op, &self.loaded.scenario.processor);
        self.custom = true;
        self
    }

    /// Sends committed rows to a clone of `sink` (one per run) instead of the built-in table.
    pub fn sink<S: Sink + Clone + Sync>(mut self, sink: S) -> Self {
        self.plugins = self.plugins.with_sink(sink);
        self.custom = true;
        self
    }

    /// What the sink's aggregate rows must equal, from the events it accepted.
    pub fn reference(mut self, f: impl Fn(&[Record]) -> Table + Send + Sync + 'static) -> Self {
        self.plugins = self.plugins.with_reference(Some(Arc::new(f)));
        self.custom = true;
        self
    }

    /// Checks no aggregate rows, only that every acknowledged event reached the sink once.
    pub fn no_reference(mut self) -> Self {
        self.plugins = self.plugins.with_reference(None);
        self.custom = true;
        self
    }

    /// Wall-clock limit of one run (default 600 s).
    pub fn wall_limit(mut self, limit: Duration) -> Self {
        self.wall_limit = limit;
        self
    }

    /// How a run's `replay` field reads, from its seed. By default the CLI's
    /// command for a scenario with the built-in parts, and, with a user's
    /// parts, this test re-run with [`SEED_VAR`] set.
    pub fn replay_command(mut self, f: impl Fn(u64) -> String + Send + Sync + 'static) -> Self {
        self.replay = Some(Arc::new(f));
        self
    }

    /// Runs one seed in a fresh thread; the result is what `streamsim run --json` prints.
    pub fn run(&self, seed: u64) -> Result<RunResult, RunError> {
        self.run_as(seed, std::thread::current().name())
    }

    /// [`run`](Self::run) on behalf of the thread named `caller` (a test), for its replay command.
    fn run_as(&self, seed: u64, caller: Option<&str>) -> Result<RunResult, RunError> {
        let opts = RunOptions {
            seed,
            wall_limit: self.wall_limit,
        };
        let mut result = run_scenario_with(&self.loaded, &opts, &self.plugins)?.report.result;
        if let Some(f) = &self.replay {
            result.replay = f(seed);
        } else if self.custom {
            result.replay = test_replay(seed, caller);
        }
        Ok(result)
    }

    /// Runs every seed on all cores (one seed only when [`SEED_VAR`] is set),
    /// each in its own thread and simulator, and returns the results by seed.
    pub fn run_seeds(&self, seeds: impl IntoIterator<Item = u64>) -> SeedRuns {
        let mut todo: Vec<u64> = match std::env::var(SEED_VAR).ok().and_then(|s| s.parse().ok()) {
            Some(one) => vec![one],
            None => seeds.into_iter().collect(),
        };
        todo.reverse();
        let queue = Mutex::new(todo);
        let done = Mutex::new(Vec::new());
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
        let caller = std::thread::current().name().map(String::from);
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(|| loop {
                    let Some(seed) = queue.lock().expect("seed queue").pop() else {
                        break;
                    };
                    let r = self.run_as(seed, caller.as_deref());
                    done.lock().expect("results").push((seed, r));
                });
            }
        });
        let mut runs = done.into_inner().expect("results");
        runs.sort_by_key(|(seed, _)| *seed);
        SeedRuns { runs }
    }
}

/// The command that re-runs the calling test with one seed: libtest names a
/// test's thread after the test, and Cargo its binary after the target.
fn test_replay(seed: u64, caller: Option<&str>) -> String {
    let test = caller.filter(|n| *n != "main");
    let target = std::env::current_exe().ok().and_then(|p| {
        let stem = p.file_stem()?.to_string_lossy().into_owned();
        // Cargo names test binaries `<target>-<hash>`.
        Some(stem.rsplit_once('-').map_or(stem.clone(), |(t, _)| t.to_string()))
    });
    match (test, target) {
        (Some(test), Some(target)) => {
            format!("{SEED_VAR}={seed} cargo test --release --test {target} -- {test} --exact")
        }
        _ => format!("{SEED_VAR}={seed} (re-run this program with the variable set)"),
    }
}

/// The results of a seed loop, by seed.
pub struct SeedRuns {
    /// `(seed, result)` in seed order.
    pub runs: Vec<(u64, Result<RunResult, RunError>)>,
}

impl SeedRuns {
    /// Seeds whose run violated an invariant or a budget, with their results.
    pub fn violations(&self) -> impl Iterator<Item = (u64, &RunResult)> {
        self.runs.iter().filter_map(|(seed, r)| match r {
            Ok(r) if r.verdict == Verdict::Violation => Some((*seed, r)),
            _ => None,
        })
    }

    /// Seeds whose run could not finish (watchdog, panic), with why.
    pub fn errors(&self) -> impl Iterator<Item = (u64, &RunError)> {
        self.runs
            .iter()
            .filter_map(|(seed, r)| r.as_ref().err().map(|e| (*seed, e)))
    }

    /// Panics unless every seed passed, naming the first failing seed's
    /// violations and its replay command.
    pub fn assert_all_pass(&self) {
        if let Some((seed, e)) = self.errors().next() {
            panic!("seed {seed} did not finish: {e}");
        }
        if let Some((seed, r)) = self.violations().next() {
            panic!("seed {seed} failed:\n{}\nreplay: {}", describe(r), r.replay);
        }
    }

    /// Panics unless some seed was caught violating an invariant (a negative
    /// control); returns the first such result, whose replay it prints.
    pub fn assert_caught(&self) -> &RunResult {
        if let Some((seed, e)) = self.errors().next() {
            panic!("seed {seed} did not finish: {e}");
        }
        match self.violations().next() {
            Some((seed, r)) => {
                println!("seed {seed} caught:\n{}\nreplay: {}", describe(r), r.replay);
                r
            }
            None => panic!("no seed of {} caught a violation", self.runs.len()),
        }
    }
}

/// A result's violations, one line each.
pub fn describe(r: &RunResult) -> String {
    r.violations
        .iter()
        .map(|v| format!("  {} at {} ms: {}", v.invariant, v.at_ms, v.detail))
        .collect::<Vec<_>>()
        .join("\n")
}
