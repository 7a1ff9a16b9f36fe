//! The `streamsim` command line.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use streamsim_reports::Verdict;
use streamsim_sim::run::{run_scenario, RunOptions};
use streamsim_sim::scenario::load_scenario;

/// Deterministic simulation and load testing of event pipelines.
#[derive(Parser)]
#[command(name = "streamsim", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one scenario with one seed; exit 0 on pass, 1 on a violation, 2 on bad input, 3 if the run could not finish.
    Run {
        /// Scenario file (TOML).
        scenario: PathBuf,
        /// Seed; the same binary, scenario and seed give the same trace hash.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Print one JSON object instead of the human summary.
        #[arg(long)]
        json: bool,
        /// Print the timeline of faults and protocol steps.
        #[arg(long)]
        timeline: bool,
        /// Wall-clock seconds before the watchdog abandons the run.
        #[arg(long, default_value_t = 600)]
        wall_limit_s: u64,
        /// Report directory (default: target/streamsim/<scenario>/seed-<N>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Write no report (the summary or JSON is still printed).
        #[arg(long, conflicts_with = "out")]
        no_report: bool,
    },
    /// Parse and validate scenario files without running them.
    Check {
        /// Scenario files.
        scenarios: Vec<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run {
            scenario,
            seed,
            json,
            timeline,
            wall_limit_s,
            out: out_dir,
            no_report,
        } => {
            let loaded = match load_scenario(&scenario) {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            };
            let opts = RunOptions {
                seed,
                wall_limit: Duration::from_secs(wall_limit_s),
            };
            let out = match run_scenario(&loaded, &opts) {
                Ok(o) => o,
                Err(e) => {
                    eprintln!("error: {e}");
                    eprintln!("replay: {}", streamsim_sim::run::replay_command(&scenario, seed));
                    return ExitCode::from(3);
                }
            };
            if timeline {
                for t in &out.timeline {
                    println!(
                        "{:>10.3}s  {:<12} {}",
                        t.at_ms as f64 / 1000.0,
                        format!("{:?}", t.kind),
                        t.text
                    );
                }
            }
            let r = &out.report.result;
            if !no_report {
                let dir = out_dir.unwrap_or_else(|| {
                    PathBuf::from("target/streamsim")
                        .join(&r.scenario)
                        .join(format!("seed-{seed}"))
                });
                match streamsim_reports::write_run_report(&out.report, &dir) {
                    Ok(_) => eprintln!("report: {}", dir.display()),
                    Err(e) => {
                        eprintln!("error: cannot write the report to {}: {e}", dir.display());
                        return ExitCode::from(2);
                    }
                }
            }
            if json {
                println!("{}", serde_json::to_string(r).expect("result serialises"));
            } else {
                print!("{}", streamsim_reports::render_summary_text(r));
            }
            if r.verdict == Verdict::Violation {
                eprintln!("violation with seed {seed}; replay with: {}", r.replay);
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        Command::Check { scenarios } => {
            let mut bad = false;
            for s in scenarios {
                match load_scenario(&s) {
                    Ok(l) => println!("ok: {} ({})", s.display(), l.scenario.name),
                    Err(e) => {
                        eprintln!("error: {e}");
                        bad = true;
                    }
                }
            }
            if bad {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            }
        }
    }
}
