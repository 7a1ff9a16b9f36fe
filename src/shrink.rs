//! `streamsim shrink`: the smallest scenario that still fails the way a
//! seed failed (the search is `streamsim_sim::shrink`), and the chaos
//! extras of `streamsim run`: the JSON-lines trace (`--trace FILE`) and a
//! swarm run's drawn schedule (`schedule.toml` in the report directory).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use streamsim_sim::run::RunOutcome;
use streamsim_sim::scenario::LoadedScenario;
use streamsim_sim::shrink::{shrink, ShrinkError, ShrinkOptions};

use crate::{EXIT_BAD_INPUT, EXIT_RUN_ERROR};

/// Arguments of `streamsim shrink`.
#[derive(Args)]
pub struct ShrinkArgs {
    /// Scenario file (TOML), scheduled or swarm.
    scenario: PathBuf,
    /// The failing seed.
    #[arg(long)]
    seed: u64,
    /// Where to write the shrunk scenario (default: target/streamsim/<scenario>/seed-<N>/shrunk.toml).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Wall-clock seconds before the watchdog abandons one run.
    #[arg(long, default_value_t = 600)]
    wall_limit_s: u64,
    /// Runs at once (default: one per core).
    #[arg(long)]
    jobs: Option<usize>,
    /// Stop searching after this many runs and keep the smallest failure found.
    #[arg(long, default_value_t = 300)]
    max_runs: usize,
}

/// Runs it; exit 0 when a failing scenario was written, 2 on bad input or a
/// seed that passes, 3 if the original run could not finish.
pub fn main(args: ShrinkArgs) -> ExitCode {
    let loaded = match crate::omb_cmd::load(&args.scenario) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let mut opts = ShrinkOptions::new(args.seed);
    opts.wall_limit = Duration::from_secs(args.wall_limit_s);
    opts.max_runs = args.max_runs.max(1);
    if let Some(j) = args.jobs {
        opts.jobs = j.max(1);
    }
    let out = args.out.unwrap_or_else(|| {
        PathBuf::from("target/streamsim")
            .join(&loaded.scenario.name)
            .join(format!("seed-{}", args.seed))
            .join("shrunk.toml")
    });
    let started = Instant::now();
    let result = shrink(&loaded, &opts, &mut |line| {
        if !crate::ui::quiet() {
            eprintln!("{line}");
        }
    });
    let s = match result {
        Ok(s) => s,
        Err(e @ ShrinkError::Run(_)) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_RUN_ERROR);
        }
        Err(e) => {
            eprintln!("error: {}: {e}", args.scenario.display());
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let text = s.text.replace("THIS_FILE", &out.display().to_string());
    if let Err(e) = write(&out, &text) {
        eprintln!("error: cannot write {}: {e}", out.display());
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    println!(
        "shrunk {} seed {}: still violates {}",
        args.scenario.display(),
        args.seed,
        s.invariant
    );
    if !crate::ui::quiet() {
        println!("  fault events  {} -> {}", s.faults_before, s.faults_after);
        println!("  duration      {} s -> {} s", s.duration_before_s, s.duration_after_s);
        println!("  mean rate     {:.0} -> {:.0} events/s", s.rate_before, s.rate_after);
        println!("  runs          {} in {:.1} s", s.runs, started.elapsed().as_secs_f64());
        println!("  witness       {}", s.detail);
    }
    println!("wrote {}", out.display());
    println!("replay: {}", crate::replay::command(&out, args.seed));
    ExitCode::SUCCESS
}

fn write(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, text)
}

/// After a run: write the `--trace` file if one was asked for.
pub fn write_trace(out: &RunOutcome, trace: Option<&Path>) -> Result<(), ExitCode> {
    let Some(path) = trace else { return Ok(()) };
    streamsim_sim::trace_log::write_file(&out.timeline, path).map_err(|e| {
        eprintln!("error: cannot write the trace to {}: {e}", path.display());
        ExitCode::from(EXIT_BAD_INPUT)
    })?;
    if !crate::ui::quiet() {
        eprintln!("trace: {}", path.display());
    }
    Ok(())
}

/// After a report was written: a swarm run also leaves the schedule it
/// drew as a plain scheduled scenario, `schedule.toml`, beside it.
pub fn save_schedule(loaded: &LoadedScenario, seed: u64, dir: &Path) {
    let Some(text) = streamsim_sim::swarm::scheduled_text(loaded, seed) else {
        return;
    };
    let path = dir.join("schedule.toml");
    match write(&path, &text) {
        Ok(()) if crate::ui::quiet() => {}
        Ok(()) => eprintln!(
            "swarm schedule: {} (replay: {})",
            path.display(),
            crate::replay::command(&path, seed)
        ),
        Err(e) => eprintln!("warning: cannot write {}: {e}", path.display()),
    }
}
