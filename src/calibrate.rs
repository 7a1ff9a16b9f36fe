//! `streamsim calibrate`: run the calibration cases (published Kafka
//! benchmarks reproduced as scenarios) and print, for each, the published
//! figure, the simulated one and their ratio.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use serde_json::json;
use streamsim_sim::calibration::{load_cases, run_case, Case, CaseResult, BAND};

use crate::progress::Progress;
use crate::{EXIT_BAD_INPUT, EXIT_RUN_ERROR, EXIT_UNEXPECTED};

/// The cases file shipped with the project, relative to the repository root.
const DEFAULT_CASES: &str = "scenarios/calibration/cases.toml";

/// Arguments of `streamsim calibrate`.
#[derive(Args)]
pub struct CalibrateArgs {
    /// Cases file (default: scenarios/calibration/cases.toml of the repository).
    #[arg(long, value_name = "FILE")]
    cases: Option<PathBuf>,
    /// Seed of every case's run.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Run only the cases whose name contains this text.
    #[arg(long, value_name = "TEXT")]
    only: Option<String>,
    /// Print `{"cases": [...]}` instead of the table.
    #[arg(long)]
    json: bool,
    /// Parallel runs (default: one per core).
    #[arg(long)]
    jobs: Option<usize>,
}

/// Runs the cases; exit 0 when every claimed case is within the band, 1 when one is not,
/// 2 on bad input, 3 if a run could not finish.
pub fn calibrate(args: CalibrateArgs) -> ExitCode {
    let path = args.cases.clone().unwrap_or_else(default_cases);
    let mut cases = match load_cases(&path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    if let Some(only) = &args.only {
        cases.retain(|c| c.name.contains(only.as_str()));
        if cases.is_empty() {
            eprintln!("error: --only {only:?} matches no case in {}", path.display());
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    }
    let results = match run_all(&cases, args.seed, args.jobs) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_RUN_ERROR);
        }
    };
    if args.json {
        println!("{}", json!({ "cases": results }));
    } else if crate::ui::quiet() {
        // Quiet: only what fails, a claimed case out of its band.
        for r in results.iter().filter(|r| r.failed()) {
            println!(
                "{}: published {} {}, simulated {:.2} (ratio {:.2}), outside ±{:.0}%",
                r.name,
                r.published,
                r.unit,
                r.simulated,
                r.ratio,
                BAND * 100.0
            );
        }
    } else {
        print!("{}", table(&results));
    }
    if results.iter().any(CaseResult::failed) {
        ExitCode::from(EXIT_UNEXPECTED)
    } else {
        ExitCode::SUCCESS
    }
}

/// The repository's cases file: from the working directory, else from where the binary was built.
fn default_cases() -> PathBuf {
    let here = PathBuf::from(DEFAULT_CASES);
    if here.exists() {
        return here;
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_CASES)
}

/// Every case, in file order, on `jobs` threads.
fn run_all(cases: &[Case], seed: u64, jobs: Option<usize>) -> Result<Vec<CaseResult>, String> {
    let progress = Progress::sweep(cases.len() as u64);
    let results = crate::pool::map_in_order(cases, crate::pool::jobs(jobs), |case| {
        let r = run_case(case, seed);
        progress.advance(case.name.clone());
        r
    });
    progress.finish();
    results.into_iter().collect()
}

/// The table a person reads: each case with its figures, then its sources and misses.
fn table(results: &[CaseResult]) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let name_w = results.iter().map(|r| r.name.len()).max().unwrap_or(4).max(4);
    let _ = writeln!(
        s,
        "{:<name_w$}  {:>12}  {:>12}  {:<9}  {:>6}  verdict",
        "case", "published", "simulated", "unit", "ratio"
    );
    for r in results {
        let verdict = match (&r.miss, r.within_band) {
            (Some(_), _) => "miss (not claimed)".to_string(),
            (None, true) => format!("within ±{:.0}%", BAND * 100.0),
            (None, false) => format!("OUTSIDE ±{:.0}%", BAND * 100.0),
        };
        let _ = writeln!(
            s,
            "{:<name_w$}  {:>12}  {:>12}  {:<9}  {:>6.2}  {verdict}",
            r.name,
            figure(r.published),
            figure(r.simulated),
            r.unit,
            r.ratio
        );
    }
    let _ = writeln!(s, "\nsources:");
    for r in results {
        let _ = writeln!(s, "  {}: {}", r.name, r.source);
    }
    let misses: Vec<&CaseResult> = results.iter().filter(|r| r.miss.is_some()).collect();
    if !misses.is_empty() {
        let _ = writeln!(s, "\nmisses:");
        for r in misses {
            let _ = writeln!(s, "  {}: {}", r.name, r.miss.as_deref().unwrap_or_default());
        }
    }
    let _ = writeln!(
        s,
        "\nseed {} for every case; docs/CALIBRATION.md explains the fit.",
        results.first().map_or(1, |r| r.seed)
    );
    s
}

/// A figure with thousands separators, or two decimals when small.
fn figure(v: f64) -> String {
    if v >= 1000.0 {
        streamsim_reports::thousands(v.round() as u64)
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::figure;

    #[test]
    fn figures_read_as_people_write_them() {
        assert_eq!(figure(821_557.4), "821,557");
        assert_eq!(figure(605.0), "605.00");
        assert_eq!(figure(2_024_032.0), "2,024,032");
    }
}
