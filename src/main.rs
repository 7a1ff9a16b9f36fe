//! The `streamsim` command line. Each command lives in its own module;
//! this file holds the command list and the exit codes they share.

mod allocator;
mod calibrate;
mod diff;
mod merge;
mod omb_cmd;
mod outcome;
mod pool;
mod progress;
mod replay;
mod run_cmd;
mod seeds;
mod shard_file;
mod shrink;
mod size;
mod size_text;
mod sweep;
mod ui;

use clap::{CommandFactory, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit code of a violated invariant or budget, or an outcome a sweep did not expect.
pub const EXIT_UNEXPECTED: u8 = 1;
/// Exit code of bad input: a scenario file, an argument, an unwritable report.
pub const EXIT_BAD_INPUT: u8 = 2;
/// Exit code of a run that could not finish (watchdog or harness panic).
pub const EXIT_RUN_ERROR: u8 = 3;

/// The version and the git commit it was built from ("unknown" outside a
/// checkout): a trace hash is only comparable between equal binaries.
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("STREAMSIM_GIT_COMMIT"), ")");

/// Deterministic simulation and load testing of event pipelines.
#[derive(Parser)]
#[command(name = "streamsim", version = VERSION, about)]
struct Cli {
    /// No progress and no non-essential lines; errors and the replay command of a failing seed still print.
    #[arg(long, short = 'q', global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one scenario with one seed; exit 0 on pass, 1 on a violation, 2 on bad input, 3 if the run could not finish.
    Run(run_cmd::RunArgs),
    /// Run scenarios over a range of seeds in parallel; exit 0 when every outcome is what its scenario expects, 1 otherwise, 2 on bad input, 3 if a run could not finish.
    Sweep(sweep::SweepArgs),
    /// Join the results of the shards of a sweep into one sweep report; exit codes as for sweep.
    Merge(merge::MergeArgs),
    /// Shrink a failing seed to the smallest scenario that still violates the same invariant; exit 0 when written, 2 on bad input or a passing seed, 3 if the run could not finish.
    Shrink(shrink::ShrinkArgs),
    /// Run two scenarios over the same seeds and compare them side by side; exit 0, 1 when a --fail-if-worse gate trips, 2 on bad input, 3 if a run could not finish.
    Diff(diff::DiffArgs),
    /// Run the calibration cases (published Kafka benchmarks as scenarios) and print published against simulated figures; exit 0 when every claimed case is within ±25%, 1 otherwise, 2 on bad input, 3 if a run could not finish.
    Calibrate(calibrate::CalibrateArgs),
    /// Size a cluster for a daily volume by simulating candidates at the peak with a failure; exit 0 with an answer, 2 when the question is impossible or no candidate passes, 3 if a run could not finish.
    Size(Box<size::SizeArgs>),
    /// Parse and validate scenario files without running them.
    Check {
        /// Scenario files, or OpenMessaging Benchmark workload files.
        scenarios: Vec<PathBuf>,
    },
    /// Print a shell completion script, e.g. `streamsim completions bash > ~/.local/share/bash-completion/completions/streamsim`.
    Completions {
        /// The shell to complete in.
        shell: clap_complete::Shell,
    },
}

fn main() -> ExitCode {
    allocator::hold_less_memory();
    let cli = Cli::parse();
    ui::set_quiet(cli.quiet);
    match cli.command {
        Command::Run(args) => run_cmd::run(args),
        Command::Sweep(args) => sweep::sweep(args),
        Command::Merge(args) => merge::merge(args),
        Command::Shrink(args) => shrink::main(args),
        Command::Diff(args) => diff::diff(args),
        Command::Calibrate(args) => calibrate::calibrate(args),
        Command::Size(args) => size::size(*args),
        Command::Check { scenarios } => check(scenarios),
        Command::Completions { shell } => completions(shell),
    }
}

/// Prints the completion script; a reader that stops early (`| head`) is
/// not an error.
fn completions(shell: clap_complete::Shell) -> ExitCode {
    use std::io::Write;
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "streamsim", &mut script);
    match std::io::stdout().write_all(&script) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            eprintln!("error: cannot write the completion script: {e}");
            ExitCode::from(EXIT_BAD_INPUT)
        }
        _ => ExitCode::SUCCESS,
    }
}

fn check(scenarios: Vec<PathBuf>) -> ExitCode {
    let mut bad = false;
    for s in scenarios {
        match omb_cmd::check(&s) {
            Ok(name) => {
                if !ui::quiet() {
                    println!("ok: {} ({name})", s.display());
                }
            }
            Err(e) => {
                eprintln!("{e}");
                bad = true;
            }
        }
    }
    if bad {
        ExitCode::from(EXIT_BAD_INPUT)
    } else {
        ExitCode::SUCCESS
    }
}
