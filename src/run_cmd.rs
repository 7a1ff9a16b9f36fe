//! `streamsim run`: one scenario, one seed, its summary and its report.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use streamsim_reports::Verdict;
use streamsim_sim::run::{run_scenario, RunOptions};
use streamsim_sim::scenario::load_scenario;

use crate::progress::Progress;
use crate::{EXIT_BAD_INPUT, EXIT_RUN_ERROR, EXIT_UNEXPECTED};

/// Arguments of `streamsim run`.
#[derive(Args)]
pub struct RunArgs {
    /// Scenario file (TOML), or an OpenMessaging Benchmark workload file (YAML, told by its content).
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
    /// Write the full timeline as JSON lines (one object per entry) to FILE.
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
    #[command(flatten)]
    omb: crate::omb_cmd::OmbArgs,
    /// For an OpenMessaging Benchmark workload: also write OMB's own result file (its field names and units) to FILE.
    #[arg(long, value_name = "FILE")]
    omb_result: Option<PathBuf>,
}

/// Runs it; exit 0 on pass, 1 on a violation, 2 on bad input, 3 if the run could not finish.
pub fn run(args: RunArgs) -> ExitCode {
    let RunArgs {
        scenario,
        seed,
        json,
        timeline,
        wall_limit_s,
        out: out_dir,
        no_report,
        trace,
        omb,
        omb_result,
    } = args;
    let opts = RunOptions {
        seed,
        wall_limit: Duration::from_secs(wall_limit_s),
    };
    // An OMB workload file is told by its content, so it never meets the TOML parser.
    let omb_plan = match crate::omb_cmd::prepare(&scenario, &omb, omb_result.is_some(), &opts) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let loaded = match &omb_plan {
        Some(p) => p.plan.loaded.clone(),
        None => match load_scenario(&scenario) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("{}", crate::ui::scenario_error(&e));
                return ExitCode::from(EXIT_BAD_INPUT);
            }
        },
    };
    let progress = Progress::run(&format!(
        "{} seed {seed}: {} virtual s",
        loaded.scenario.name, loaded.scenario.duration_s
    ));
    let result = run_scenario(&loaded, &opts);
    progress.finish();
    let mut out = match result {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            eprintln!("replay: {}", crate::replay::command(&scenario, seed));
            return ExitCode::from(EXIT_RUN_ERROR);
        }
    };
    out.report.result.replay = crate::replay::command(&scenario, seed);
    if let Err(code) = crate::shrink::write_trace(&out, trace.as_deref()) {
        return code;
    }
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
    let omb_out = omb_plan.map(|p| p.finish(&out.report));
    if let (Some(o), Some(file)) = (&omb_out, &omb_result) {
        if let Err(code) = o.write_result(file) {
            return code;
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
            Ok(_) => {
                if !crate::ui::quiet() {
                    eprintln!("report: {}", dir.display());
                }
                crate::shrink::save_schedule(&loaded, seed, &dir);
                if let Some(o) = &omb_out {
                    if let Err(code) = o.write_figures(&dir) {
                        return code;
                    }
                }
            }
            Err(e) => {
                eprintln!("error: cannot write the report to {}: {e}", dir.display());
                return ExitCode::from(EXIT_BAD_INPUT);
            }
        }
    }
    if json {
        let mut v = serde_json::to_value(r).expect("result serialises");
        if let Some(o) = &omb_out {
            o.add_to_json(&mut v);
        }
        println!("{v}");
    } else if !crate::ui::quiet() {
        print!("{}", crate::ui::highlight(&streamsim_reports::render_summary_text(r)));
        if let Some(o) = &omb_out {
            print!("{}", o.summary());
        }
    } else if r.verdict == Verdict::Violation {
        // The headline alone: scenario, seed and what was violated.
        let text = streamsim_reports::render_summary_text(r);
        let head = text.lines().next().unwrap_or_default();
        let what: Vec<&str> = r.violations.iter().map(|v| v.invariant.as_str()).collect();
        println!("{}: {}", crate::ui::highlight(head), what.join(", "));
    }
    if r.verdict == Verdict::Violation {
        eprintln!("violation with seed {seed}; replay with: {}", r.replay);
        ExitCode::from(EXIT_UNEXPECTED)
    } else {
        ExitCode::SUCCESS
    }
}
