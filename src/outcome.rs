//! What a sweep (or a merge of shards) found, as a person reads it on the
//! console and as files: the table, the replay commands, the exit code and
//! the sweep report.

use std::fmt::Write as _;
use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use streamsim_reports::sweep::{
    caught_scenarios, failure_headline, is_unexpected, sweep_summary_markdown_with_errors,
    write_sweep_report_with_errors, SweepRunError,
};
use streamsim_reports::{summarize, SweepEntry, Verdict};

use crate::shard_file::SweepFile;
use crate::{EXIT_RUN_ERROR, EXIT_UNEXPECTED};

/// Expected violations listed per scenario on the console; a negative
/// control over hundreds of seeds would otherwise bury the table.
/// results.csv and sweep.json have every run.
const EXPECTED_LISTED: usize = 10;

/// The runs of a sweep, in report order once [`SweepOutcome::sort`] ran.
#[derive(Default)]
pub struct SweepOutcome {
    /// Finished runs.
    pub entries: Vec<SweepEntry>,
    /// Runs that did not finish.
    pub errors: Vec<SweepRunError>,
}

impl SweepOutcome {
    /// Orders runs by scenario, then seed, so that nothing depends on which
    /// worker or which shard finished first.
    pub fn sort(&mut self) {
        self.entries
            .sort_by(|a, b| (&a.result.scenario, a.result.seed).cmp(&(&b.result.scenario, b.result.seed)));
        self.errors
            .sort_by(|a, b| (&a.scenario, a.seed).cmp(&(&b.scenario, b.seed)));
    }

    /// Runs that count against their scenario's `expect`: a violation of a
    /// scenario that must pass, or any seed of a negative control that no
    /// seed of the sweep caught.
    pub fn unexpected(&self) -> impl Iterator<Item = &SweepEntry> {
        let caught = caught_scenarios(&self.entries);
        self.entries.iter().filter(move |e| is_unexpected(e, &caught))
    }

    /// 3 if a run did not finish, 1 if an outcome was unexpected, else 0.
    pub fn exit_code(&self) -> ExitCode {
        if !self.errors.is_empty() {
            ExitCode::from(EXIT_RUN_ERROR)
        } else if self.unexpected().next().is_some() {
            ExitCode::from(EXIT_UNEXPECTED)
        } else {
            ExitCode::SUCCESS
        }
    }

    /// The console report: one row per scenario, then every unexpected
    /// outcome, every run that did not finish and the violations negative
    /// controls caught, each with its replay command.
    /// With `quiet`, only the unexpected outcomes and unfinished runs.
    pub fn render(&self, quiet: bool) -> String {
        let mut s = String::new();
        if quiet {
            self.render_failures(&mut s);
            return s.trim_start().to_string();
        }
        if self.entries.is_empty() && self.errors.is_empty() {
            // An empty shard: more shards than seeds, or a stop before any run.
            return "no runs\n".to_string();
        }
        let rows = summarize(&self.entries);
        let errors_of = |name: &str| self.errors.iter().filter(|e| e.scenario == name).count();
        let mut table: Vec<[String; 8]> = vec![[
            "scenario",
            "expect",
            "seeds",
            "pass",
            "violation",
            "unexpected",
            "errors",
            "worst ack p99",
        ]
        .map(str::to_string)];
        let mut names: Vec<&str> = rows.iter().map(|r| r.scenario.as_str()).collect();
        for r in &rows {
            table.push([
                r.scenario.clone(),
                verdict(r.expect).to_string(),
                (r.seeds_run + errors_of(&r.scenario)).to_string(),
                r.passed.to_string(),
                r.violations.to_string(),
                r.unexpected.to_string(),
                errors_of(&r.scenario).to_string(),
                format!("{} ms", trim(r.worst_ack_p99_ms)),
            ]);
        }
        // Scenarios none of whose runs finished still get a row.
        for e in &self.errors {
            if !names.contains(&e.scenario.as_str()) {
                names.push(&e.scenario);
                let n = errors_of(&e.scenario).to_string();
                table.push([
                    e.scenario.clone(),
                    verdict(e.expect).to_string(),
                    n.clone(),
                    "0".into(),
                    "0".into(),
                    "0".into(),
                    n,
                    "-".into(),
                ]);
            }
        }
        let widths: Vec<usize> = (0..8)
            .map(|c| table.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
            .collect();
        for row in &table {
            let mut line = String::new();
            for (c, cell) in row.iter().enumerate() {
                let pad = widths[c] - cell.chars().count();
                // Names and verdicts left-aligned, numbers right-aligned.
                if c < 2 {
                    let _ = write!(line, "{cell}{}  ", " ".repeat(pad));
                } else {
                    let _ = write!(line, "{}{cell}  ", " ".repeat(pad));
                }
            }
            let _ = writeln!(s, "{}", line.trim_end());
        }

        self.render_failures(&mut s);
        let caught: Vec<&SweepEntry> = self
            .entries
            .iter()
            .filter(|e| e.result.verdict == Verdict::Violation && e.result.expect == Verdict::Violation)
            .collect();
        if !caught.is_empty() {
            let _ = writeln!(s, "\nviolations caught as expected ({}):", caught.len());
            for name in &names {
                let of: Vec<&&SweepEntry> = caught.iter().filter(|e| e.result.scenario == *name).collect();
                for e in of.iter().take(EXPECTED_LISTED) {
                    let r = &e.result;
                    let what = r
                        .violations
                        .first()
                        .map(|v| format!("{} at {} s", v.invariant, trim(v.at_ms as f64 / 1000.0)))
                        .unwrap_or_else(|| "violation".into());
                    let _ = writeln!(s, "  {} seed {}: {what}; replay: {}", r.scenario, r.seed, r.replay);
                }
                if of.len() > EXPECTED_LISTED {
                    let _ = writeln!(s, "  {name}: {} more in results.csv", of.len() - EXPECTED_LISTED);
                }
            }
        }
        s
    }

    /// Every unexpected outcome and every run that did not finish, each
    /// with its replay command: what `--quiet` still prints.
    fn render_failures(&self, s: &mut String) {
        let unexpected: Vec<&SweepEntry> = self.unexpected().collect();
        if !unexpected.is_empty() {
            let _ = writeln!(s, "\nunexpected outcomes ({}):", unexpected.len());
            for e in unexpected {
                let r = &e.result;
                let _ = writeln!(s, "  {} seed {}: {}", r.scenario, r.seed, failure_headline(e));
                let _ = writeln!(s, "    replay: {}", r.replay);
                if let Some(dir) = &e.report_dir {
                    let _ = writeln!(s, "    report: {}", dir.display());
                }
            }
        }
        if !self.errors.is_empty() {
            let _ = writeln!(s, "\nruns that did not finish ({}):", self.errors.len());
            for e in &self.errors {
                let _ = writeln!(s, "  {} seed {}: {}", e.scenario, e.seed, e.message);
                let _ = writeln!(s, "    replay: {}", e.replay);
            }
        }
    }

    /// Writes the sweep report into `dir` (results.csv, junit.xml,
    /// summary.md, the p99 plot) and `sweep.json`, and appends the markdown
    /// summary to `summary_md` if given.
    pub fn write(&self, file: &mut SweepFile, dir: &Path, summary_md: Option<&Path>) -> Result<(), String> {
        write_sweep_report_with_errors(&self.entries, &self.errors, dir)
            .map_err(|e| format!("cannot write the sweep report to {}: {e}", dir.display()))?;
        file.set_runs(&self.entries, &self.errors, dir);
        file.write(dir)
            .map_err(|e| format!("cannot write {}: {e}", dir.join(crate::shard_file::FILE_NAME).display()))?;
        if let Some(path) = summary_md {
            // Appended: CI job summary files such as $GITHUB_STEP_SUMMARY
            // collect what every command of a step adds.
            let md = sweep_summary_markdown_with_errors(&self.entries, &self.errors);
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .and_then(|mut f| f.write_all(format!("{md}\n").as_bytes()))
                .map_err(|e| format!("cannot write the summary to {}: {e}", path.display()))?;
        }
        Ok(())
    }
}

fn verdict(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "pass",
        Verdict::Violation => "violation",
    }
}

/// A number with at most three decimals and no trailing zeros.
fn trim(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}
