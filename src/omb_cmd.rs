//! OpenMessaging Benchmark workload files on the command line: told from
//! scenarios by their content, built into a run with the driver file's
//! settings, searched for the maximum rate when `producerRate` is 0, and
//! reported with OMB's figures (in the run's JSON under `omb`, and in OMB's
//! own result format with `--omb-result`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use streamsim_reports::RunReport;
use streamsim_sim::omb::figures::{figures, OmbFigures};
use streamsim_sim::omb::max_rate::{search, SearchError};
use streamsim_sim::omb::result::omb_result;
use streamsim_sim::omb::{omb_file_kind, plan, replan, OmbFileKind, OmbOptions, OmbPlan};
use streamsim_sim::run::RunOptions;

use crate::progress::Progress;
use crate::{EXIT_BAD_INPUT, EXIT_RUN_ERROR};

/// The options of an OMB workload run (`run` and `sweep`).
#[derive(Args, Clone, Default)]
pub struct OmbArgs {
    /// For an OpenMessaging Benchmark workload: its Kafka driver file (`driver-kafka/kafka-*.yaml`).
    #[arg(long, value_name = "DRIVER.yaml")]
    driver: Option<PathBuf>,
    /// For an OpenMessaging Benchmark workload: run the test for this many virtual minutes instead of its testDurationMinutes; warm-up and backlog scale by the same factor.
    #[arg(long, value_name = "M")]
    virtual_minutes: Option<f64>,
}

impl OmbArgs {
    fn given(&self) -> bool {
        self.driver.is_some() || self.virtual_minutes.is_some()
    }

    fn options(&self) -> OmbOptions {
        OmbOptions {
            driver: self.driver.clone(),
            virtual_minutes: self.virtual_minutes,
        }
    }

    /// The arguments as a replay command repeats them.
    fn replay_args(&self) -> String {
        let mut s = String::new();
        if let Some(d) = &self.driver {
            s.push_str(&format!(
                " --driver {}",
                crate::replay::quote(&crate::replay::display_path(d))
            ));
        }
        if let Some(m) = self.virtual_minutes {
            s.push_str(&format!(" --virtual-minutes {m}"));
        }
        s
    }
}

/// Whether `path` is an OMB workload file; a driver file given as the
/// workload is refused with what to do instead.
pub fn is_workload(path: &Path) -> Result<bool, String> {
    let Ok(text) = std::fs::read_to_string(path) else {
        // The scenario loader reports the unreadable file.
        return Ok(false);
    };
    match omb_file_kind(path, &text) {
        Some(OmbFileKind::Workload) => Ok(true),
        Some(OmbFileKind::Driver) => Err(format!(
            "{}: an OpenMessaging Benchmark driver file, not a workload: give a workload file and this one with --driver",
            path.display()
        )),
        None => Ok(false),
    }
}

/// An OMB run under way: its plan and the search that chose its rate.
pub struct OmbRun {
    /// The plan simulated.
    pub plan: OmbPlan,
    search: Option<streamsim_sim::omb::max_rate::MaxRateSearch>,
}

/// OMB files' errors as scenario errors are shown: every problem, grouped
/// by file, each with its line and column, the line itself and the value at
/// fault underlined (when it can be placed).
pub fn render(errors: &[streamsim_workloads::OmbError]) -> String {
    use streamsim_sim::scenario::{Diagnostic, ScenarioError};
    let mut files: Vec<&Path> = Vec::new();
    for e in errors {
        if !files.contains(&e.file.as_path()) {
            files.push(&e.file);
        }
    }
    let mut shown = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        // In file order, as the scenario files list theirs; those with no line last.
        let mut mine: Vec<_> = errors.iter().filter(|e| e.file == file).collect();
        mine.sort_by_key(|e| (e.line.is_none(), e.line, e.column));
        let problems = mine
            .into_iter()
            .map(|e| match (e.line, e.column) {
                (Some(line), Some(column)) if !text.is_empty() => {
                    Diagnostic::at_line_column(&text, line, column, e.field.clone(), e.message.clone())
                }
                _ => Diagnostic {
                    line: e.line,
                    ..Diagnostic::at("", None, e.field.clone(), e.message.clone())
                },
            })
            .collect();
        shown.push(crate::ui::scenario_error(&ScenarioError {
            file: file.to_path_buf(),
            text,
            problems,
        }));
    }
    shown.join("\n\n")
}

/// Builds the OMB run when `path` is a workload file (searching the maximum
/// rate first when it asks for one); `None` for a scenario file.
pub fn prepare(path: &Path, args: &OmbArgs, wants_result: bool, opts: &RunOptions) -> Result<Option<OmbRun>, ExitCode> {
    let omb = match is_workload(path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: {e}");
            return Err(ExitCode::from(EXIT_BAD_INPUT));
        }
    };
    if !omb {
        if args.given() || wants_result {
            eprintln!(
                "error: {}: --driver, --virtual-minutes and --omb-result are for OpenMessaging Benchmark workload files, \
                 and this is a scenario file",
                path.display()
            );
            return Err(ExitCode::from(EXIT_BAD_INPUT));
        }
        return Ok(None);
    }
    crate::replay::set_omb_args(args.replay_args());
    let p = match plan(path, &args.options()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{}", render(&e));
            return Err(ExitCode::from(EXIT_BAD_INPUT));
        }
    };
    warn(&p);
    if !p.workload.finds_max_rate() {
        return Ok(Some(OmbRun { plan: p, search: None }));
    }
    let progress = Progress::run(&format!(
        "{}: searching the maximum sustainable rate",
        p.loaded.scenario.name
    ));
    let found = search(&p, opts, |t| {
        progress.advance(format!(
            "{:.0} msg/s: {}",
            t.rate,
            if t.sustainable { "kept up" } else { "fell behind" }
        ))
    });
    progress.finish();
    let s = match found {
        Ok(s) => s,
        Err(SearchError::Plan(e)) => {
            eprintln!("{}", render(std::slice::from_ref(&e)));
            return Err(ExitCode::from(EXIT_BAD_INPUT));
        }
        Err(SearchError::Run(e)) => {
            eprintln!("error: a trial of the maximum-rate search: {e}");
            return Err(ExitCode::from(EXIT_RUN_ERROR));
        }
    };
    if s.found <= 0.0 {
        eprintln!(
            "error: {}: not even {} messages/s kept up, the rate OMB's search starts from",
            path.display(),
            streamsim_workloads::OMB_MAX_RATE_START
        );
        return Err(ExitCode::from(EXIT_RUN_ERROR));
    }
    if !crate::ui::quiet() {
        eprintln!(
            "maximum sustainable rate: {:.0} msg/s ({} trials of {} virtual s); the run below is at that rate",
            s.found,
            s.trials.len(),
            s.trial_s
        );
    }
    match replan(&p, s.found, None) {
        Ok(plan) => Ok(Some(OmbRun { plan, search: Some(s) })),
        Err(e) => {
            eprintln!("{}", render(std::slice::from_ref(&e)));
            Err(ExitCode::from(EXIT_BAD_INPUT))
        }
    }
}

/// The fields not modelled and the scaling, on stderr: never dropped silently.
fn warn(p: &OmbPlan) {
    for i in &p.ignored {
        eprintln!("warning: `{}` is not modelled: {}", i.field, i.reason);
    }
    if let Some(note) = p.scale_note() {
        eprintln!("note: {note}");
    }
}

impl OmbRun {
    /// The run's OMB figures.
    pub fn finish(self, report: &RunReport) -> OmbDone {
        OmbDone {
            figures: figures(&self.plan, report, self.search),
            result: omb_result(&self.plan, report),
        }
    }
}

/// An OMB run's figures, to print and write.
pub struct OmbDone {
    figures: OmbFigures,
    result: streamsim_sim::omb::result::OmbTestResult,
}

impl OmbDone {
    /// Adds `omb` (the figures) and `ignored_fields` to the run's JSON object.
    pub fn add_to_json(&self, v: &mut serde_json::Value) {
        if let Some(o) = v.as_object_mut() {
            o.insert(
                "ignored_fields".into(),
                serde_json::to_value(&self.figures.ignored_fields).expect("serialises"),
            );
            o.insert("omb".into(), serde_json::to_value(&self.figures).expect("serialises"));
        }
    }

    /// Writes OMB's result file.
    pub fn write_result(&self, file: &Path) -> Result<(), ExitCode> {
        let text = serde_json::to_string_pretty(&self.result).expect("serialises");
        std::fs::write(file, text).map_err(|e| {
            eprintln!("error: cannot write the OMB result to {}: {e}", file.display());
            ExitCode::from(EXIT_BAD_INPUT)
        })
    }

    /// Writes `omb.json` (the figures) into the report directory.
    pub fn write_figures(&self, dir: &Path) -> Result<(), ExitCode> {
        let file = dir.join("omb.json");
        let text = serde_json::to_string_pretty(&self.figures).expect("serialises");
        std::fs::write(&file, text).map_err(|e| {
            eprintln!("error: cannot write {}: {e}", file.display());
            ExitCode::from(EXIT_BAD_INPUT)
        })
    }

    /// Lines for the human summary.
    pub fn summary(&self) -> String {
        let f = &self.figures;
        let mut s = format!(
            "OpenMessaging Benchmark: {} on {} ({} topic(s) x {} partitions, {} producer(s), {} consumer(s), {} B messages)\n",
            f.workload, f.driver, f.topics, f.partitions_per_topic, f.producers, f.consumers, f.message_size
        );
        s.push_str(&format!(
            "  measured {:.1} s after {:.1} s of warm-up: publish {:.0} msg/s",
            f.measured_s, f.warmup_s, f.publish_rate
        ));
        if let Some(c) = f.consume_rate {
            s.push_str(&format!(", consume {c:.0} msg/s"));
        }
        s.push('\n');
        if let Some(m) = &f.max_rate {
            s.push_str(&format!(
                "  maximum sustainable rate: {:.0} msg/s ({} trials)\n",
                m.found,
                m.trials.len()
            ));
        }
        if let Some(b) = &f.backlog {
            match (b.drain_s, b.drain_rate_msgs_per_s) {
                (Some(d), Some(r)) => s.push_str(&format!(
                    "  backlog: {} messages built in {:.1} s, drained in {d:.1} s at {r:.0} msg/s\n",
                    b.backlog_at_resume, b.build_s
                )),
                _ => s.push_str(&format!(
                    "  backlog: {} messages built in {:.1} s, NOT drained within the allowance\n",
                    b.backlog_at_resume, b.build_s
                )),
            }
        }
        if let Some(n) = &f.scaled {
            s.push_str(&format!("  {n}\n"));
        }
        if !f.ignored_fields.is_empty() {
            let names: Vec<&str> = f.ignored_fields.iter().map(|i| i.field.as_str()).collect();
            s.push_str(&format!("  not modelled: {}\n", names.join(", ")));
        }
        s
    }
}

/// A sweep's view: the scenario of an OMB workload file (fixed rate only);
/// the error is ready to print.
pub fn sweep_scenario(path: &Path, args: &OmbArgs) -> Result<Option<streamsim_sim::scenario::LoadedScenario>, String> {
    if !is_workload(path).map_err(|e| format!("error: {e}"))? {
        return Ok(None);
    }
    crate::replay::set_omb_args(args.replay_args());
    let p = plan(path, &args.options()).map_err(|e| render(&e))?;
    if p.workload.finds_max_rate() {
        return Err(format!(
            "error: {}: producerRate: 0 searches for the maximum rate, one run after another: run it with `streamsim run` \
             (sweep, diff and shrink take fixed rates)",
            path.display()
        ));
    }
    warn(&p);
    Ok(Some(p.loaded))
}

/// Loads a scenario file, or the scenario of an OMB workload file (with no
/// driver file, unscaled) for the commands that take scenarios only: an OMB
/// file never meets the TOML parser. The error is ready to print, every
/// problem of the file with its place.
pub fn load(path: &Path) -> Result<streamsim_sim::scenario::LoadedScenario, String> {
    match sweep_scenario(path, &OmbArgs::default())? {
        Some(l) => Ok(l),
        None => streamsim_sim::scenario::load_scenario(path).map_err(|e| crate::ui::scenario_error(&e)),
    }
}

/// Parses and validates a scenario or OMB workload file for `check`; the name
/// on success, an error ready to print otherwise.
pub fn check(path: &Path) -> Result<String, String> {
    if is_workload(path).map_err(|e| format!("error: {e}"))? {
        return plan(path, &OmbOptions::default())
            .map(|p| p.loaded.scenario.name)
            .map_err(|e| render(&e));
    }
    streamsim_sim::scenario::load_scenario(path)
        .map(|l| l.scenario.name)
        .map_err(|e| crate::ui::scenario_error(&e))
}
