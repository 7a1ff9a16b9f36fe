//! `streamsim sweep`: many seeds of many scenarios on a pool of worker
//! threads, judged against what each scenario expects.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use clap::Args;
use streamsim_reports::sweep::SweepRunError;
use streamsim_reports::{SweepEntry, Verdict};
use streamsim_sim::run::{run_scenario, RunOptions};
use streamsim_sim::scenario::{load_scenario, Expect, LoadedScenario};

use crate::outcome::SweepOutcome;
use crate::progress::Progress;
use crate::seeds::{parse_seeds, parse_shard, SeedRange, Shard};
use crate::shard_file::{digest, ScenarioRef, SweepFile};
use crate::EXIT_BAD_INPUT;

/// Arguments of `streamsim sweep`.
#[derive(Args)]
pub struct SweepArgs {
    /// Scenario files (TOML), or OpenMessaging Benchmark workload files (YAML, told by their content).
    #[arg(required = true, value_name = "SCENARIO")]
    scenarios: Vec<PathBuf>,
    /// Seeds: `A..B` is half-open (`0..32` is the 32 seeds 0 to 31), `A..=B` inclusive, `N` one seed.
    #[arg(long, value_name = "A..B", value_parser = parse_seeds)]
    seeds: SeedRange,
    /// Run only slice K of N of the seeds (seed index i, from 0, with i % N == K-1), for a CI matrix or an indexed Job; join the slices with `streamsim merge`.
    #[arg(long, value_name = "K/N", value_parser = parse_shard)]
    shard: Option<Shard>,
    /// Runs at a time (default: the number of cores).
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
    /// Stop scheduling runs at the first outcome that differs from the scenario's `expect` (runs under way finish).
    #[arg(long)]
    fail_fast: bool,
    /// Sweep report directory (default: target/streamsim/sweep/all, or target/streamsim/sweep/shard-K-of-N).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Also append the markdown summary to FILE (e.g. "$GITHUB_STEP_SUMMARY").
    #[arg(long, value_name = "FILE")]
    summary_md: Option<PathBuf>,
    /// Wall-clock seconds before the watchdog abandons one run.
    #[arg(long, default_value_t = 600, value_name = "S")]
    wall_limit_s: u64,
    #[command(flatten)]
    omb: crate::omb_cmd::OmbArgs,
}

/// One run to do: scenario index and seed.
type Task = (usize, u64);

/// Runs the sweep; see the command's help for the exit codes.
pub fn sweep(args: SweepArgs) -> ExitCode {
    let shard = args.shard.unwrap_or(Shard::ALL);
    let scenarios = match load_all(&args.scenarios, &args.omb) {
        Ok(s) => s,
        Err(errors) => {
            for e in errors {
                eprintln!("{e}");
            }
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let out_dir = args.out.clone().unwrap_or_else(|| {
        let base = PathBuf::from("target/streamsim/sweep");
        if shard == Shard::ALL {
            base.join("all")
        } else {
            base.join(format!("shard-{}-of-{}", shard.index, shard.count))
        }
    });
    if let Err(e) = prepare(&out_dir) {
        eprintln!("error: cannot use {} as the report directory: {e}", out_dir.display());
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    // Seed-major order: every scenario gets its first seeds early, which is
    // what a --fail-fast or an interrupted sweep should have covered.
    let tasks: Vec<Task> = args
        .seeds
        .seeds(shard)
        .flat_map(|seed| (0..scenarios.len()).map(move |i| (i, seed)))
        .collect();
    let jobs = args
        .jobs
        .map(usize::from)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .min(tasks.len().max(1));
    if !crate::ui::quiet() {
        eprintln!(
            "sweep: {} scenario(s) × seeds {} (shard {shard}): {} runs on {jobs} thread(s)",
            scenarios.len(),
            args.seeds,
            tasks.len()
        );
    }

    let started = Instant::now();
    let pool = Pool {
        scenarios: &scenarios,
        tasks: &tasks,
        out_dir: &out_dir,
        wall_limit: Duration::from_secs(args.wall_limit_s),
        fail_fast: args.fail_fast,
    };
    let (mut outcome, stopped_early) = pool.run(jobs);
    outcome.sort();
    let done = outcome.entries.len() + outcome.errors.len();

    let refs = scenarios
        .iter()
        .map(|l| ScenarioRef {
            name: l.scenario.name.clone(),
            path: l.path.display().to_string(),
            digest: digest(&l.text),
        })
        .collect();
    let mut file = SweepFile::new(args.seeds, shard, refs);
    file.complete = !stopped_early;
    print!("{}", crate::ui::highlight(&outcome.render(crate::ui::quiet())));
    if stopped_early {
        println!(
            "\n--fail-fast: stopped after {done} of {} runs at the first unexpected outcome",
            tasks.len()
        );
    }
    if let Err(e) = outcome.write(&mut file, &out_dir, args.summary_md.as_deref()) {
        eprintln!("error: {e}");
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    if !crate::ui::quiet() {
        eprintln!(
            "report: {} ({done} runs in {:.1} s)",
            out_dir.display(),
            started.elapsed().as_secs_f64()
        );
    }
    outcome.exit_code()
}

/// Creates the report directory before any run, so an unwritable one is
/// found at once. Run reports left by an earlier sweep into the same
/// directory are removed, or they would sit next to this sweep's as if they
/// were its failures; `runs/` is only removed where a `sweep.json` shows the
/// directory is a sweep's.
fn prepare(dir: &Path) -> std::io::Result<()> {
    if dir.join(crate::shard_file::FILE_NAME).is_file() {
        match std::fs::remove_dir_all(dir.join("runs")) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    std::fs::create_dir_all(dir)
}

/// Loads every scenario, reporting every bad file rather than the first.
/// The same file given twice runs once; two files with one name are refused,
/// since reports group runs by name.
fn load_all(paths: &[PathBuf], omb: &crate::omb_cmd::OmbArgs) -> Result<Vec<LoadedScenario>, Vec<String>> {
    let mut loaded: Vec<LoadedScenario> = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        // An OpenMessaging Benchmark workload is told by its content, never parsed as TOML.
        let one = match crate::omb_cmd::sweep_scenario(p, omb) {
            Ok(Some(l)) => Ok(l),
            Ok(None) => load_scenario(p).map_err(|e| crate::ui::scenario_error(&e)),
            Err(e) => Err(e),
        };
        match one {
            Ok(l) => {
                if let Some(other) = loaded.iter().find(|o| o.scenario.name == l.scenario.name) {
                    if same_file(&other.path, &l.path) {
                        continue;
                    }
                    errors.push(format!(
                        "error: {} and {} are both named {:?}: scenario names must be unique in a sweep (reports group runs by name)",
                        other.path.display(),
                        l.path.display(),
                        l.scenario.name
                    ));
                } else {
                    loaded.push(l);
                }
            }
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(loaded)
    } else {
        Err(errors)
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// A directory name from a scenario name, which is free text.
fn dir_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The worker threads of a sweep and what they share.
struct Pool<'a> {
    scenarios: &'a [LoadedScenario],
    tasks: &'a [Task],
    out_dir: &'a Path,
    wall_limit: Duration,
    fail_fast: bool,
}

impl Pool<'_> {
    /// Runs the tasks on `jobs` threads; returns what finished and whether
    /// `--fail-fast` left tasks unscheduled.
    fn run(&self, jobs: usize) -> (SweepOutcome, bool) {
        let next = AtomicUsize::new(0);
        let stop = AtomicBool::new(false);
        let found = Mutex::new(SweepOutcome::default());
        let unexpected = AtomicUsize::new(0);
        let progress = Progress::sweep(self.tasks.len() as u64);
        std::thread::scope(|s| {
            for _ in 0..jobs {
                s.spawn(|| loop {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(&(sc, seed)) = self.tasks.get(i) else {
                        break;
                    };
                    let ok = self.one(&self.scenarios[sc], seed, &found, &progress);
                    if !ok {
                        unexpected.fetch_add(1, Ordering::SeqCst);
                        if self.fail_fast {
                            stop.store(true, Ordering::SeqCst);
                        }
                    }
                    let n = unexpected.load(Ordering::SeqCst);
                    progress.advance(if n > 0 {
                        format!("{n} unexpected")
                    } else {
                        String::new()
                    });
                });
            }
        });
        progress.finish();
        let started = next.load(Ordering::SeqCst).min(self.tasks.len());
        let outcome = found.into_inner().unwrap_or_else(|p| p.into_inner());
        (outcome, started < self.tasks.len())
    }

    /// Runs one (scenario, seed); returns whether its outcome was expected.
    fn one(&self, loaded: &LoadedScenario, seed: u64, found: &Mutex<SweepOutcome>, progress: &Progress) -> bool {
        let opts = RunOptions {
            seed,
            wall_limit: self.wall_limit,
        };
        let name = &loaded.scenario.name;
        let expect = match loaded.scenario.expect {
            Expect::Pass => Verdict::Pass,
            Expect::Violation => Verdict::Violation,
        };
        match run_scenario(loaded, &opts) {
            Ok(mut out) => {
                out.report.result.replay = crate::replay::command(&loaded.path, seed);
                let r = &out.report.result;
                // One run can only break a scenario that must pass; whether a
                // negative control was caught is judged over all its seeds.
                let expected = r.verdict == Verdict::Pass || r.expect == Verdict::Violation;
                // Only unexpected runs get a report: that is what someone
                // opens after a red CI job, and reports of every seed of a
                // large sweep would be gigabytes.
                let report_dir = if expected {
                    None
                } else {
                    let dir = self
                        .out_dir
                        .join("runs")
                        .join(dir_name(name))
                        .join(format!("seed-{seed}"));
                    match streamsim_reports::write_run_report(&out.report, &dir) {
                        Ok(_) => Some(dir),
                        Err(e) => {
                            progress.eprintln(&format!(
                                "warning: cannot write the report of {name} seed {seed} to {}: {e}",
                                dir.display()
                            ));
                            None
                        }
                    }
                };
                let entry = SweepEntry {
                    result: out.report.result,
                    report_dir,
                };
                lock(found).entries.push(entry);
                expected
            }
            Err(e) => {
                let replay = crate::replay::command(&loaded.path, seed);
                // Printed at once: a hung seed is worth knowing before the end.
                progress.eprintln(&format!("error: {name}: {e}\n  replay: {replay}"));
                lock(found).errors.push(SweepRunError {
                    scenario: name.clone(),
                    scenario_path: loaded.path.display().to_string(),
                    seed,
                    expect,
                    message: e.to_string(),
                    replay,
                });
                false
            }
        }
    }
}

fn lock(m: &Mutex<SweepOutcome>) -> std::sync::MutexGuard<'_, SweepOutcome> {
    // A worker that panicked while holding the lock left whole entries.
    m.lock().unwrap_or_else(|p| p.into_inner())
}
