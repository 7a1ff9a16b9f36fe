//! Calibration: scenarios that reproduce published Kafka benchmarks as
//! closely as the model allows, each with the figure the publication gives,
//! the figure the simulation gives, and their ratio. The cases live in
//! `scenarios/calibration/cases.toml`; a case the model cannot reach
//! honestly carries the reason as `miss` and stays in the table.

use crate::run::{run_scenario, RunOptions};
use crate::scenario::load_scenario;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;
use streamsim_reports::RunReport;

/// A claimed case must land within this fraction of the published figure.
pub const BAND: f64 = 0.25;

/// What a case reads off its run.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// Acknowledged payload over the window, MiB/s (what OpenMessaging Benchmark prints as MB/s).
    AckedMibPerS,
    /// Acknowledged records per second over the window.
    AckedRecordsPerS,
    /// Acknowledgement latency p50 over the run, ms.
    AckP50Ms,
    /// Acknowledgement latency p99 over the run, ms.
    AckP99Ms,
    /// Acknowledgement latency p99.9 over the run, ms.
    AckP999Ms,
}

/// One published figure and the scenario that reproduces it.
#[derive(Deserialize, Serialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Short name.
    pub name: String,
    /// The scenario, relative to the cases file.
    pub scenario: PathBuf,
    /// The publication, with what it measured.
    pub source: String,
    /// Unit of the figure.
    pub unit: String,
    /// The published figure.
    pub published: f64,
    /// What the run is read for.
    pub measure: Measure,
    /// For rates: the window of virtual seconds `[from, to)` read (the steady state).
    #[serde(default)]
    pub window_s: Option<[f64; 2]>,
    /// Why the model cannot reach this figure honestly; such a case is reported, never claimed.
    #[serde(default)]
    pub miss: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CasesFile {
    case: Vec<Case>,
}

/// A case's outcome.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct CaseResult {
    /// Case name.
    pub name: String,
    /// The publication.
    pub source: String,
    /// Unit of both figures.
    pub unit: String,
    /// The published figure.
    pub published: f64,
    /// The simulated figure.
    pub simulated: f64,
    /// Simulated over published.
    pub ratio: f64,
    /// Within the band of [`BAND`].
    pub within_band: bool,
    /// The reason the case is not claimed, if it is not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub miss: Option<String>,
    /// The seed run.
    pub seed: u64,
}

impl CaseResult {
    /// A claimed case outside its band: the calibration is broken.
    pub fn failed(&self) -> bool {
        self.miss.is_none() && !self.within_band
    }
}

/// The cases of a cases file, with their scenario paths resolved.
pub fn load_cases(path: &Path) -> Result<Vec<Case>, String> {
    let file: CasesFile = crate::scenario::read_toml_file(path)?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut cases = file.case;
    for c in &mut cases {
        c.scenario = base.join(&c.scenario);
        let rate = matches!(c.measure, Measure::AckedMibPerS | Measure::AckedRecordsPerS);
        if rate != c.window_s.is_some() {
            return Err(format!(
                "{}: case `{}`: `window_s` is required for a rate and refused for a latency",
                path.display(),
                c.name
            ));
        }
        if !(c.published.is_finite() && c.published > 0.0) {
            return Err(format!(
                "{}: case `{}`: `published` must be positive",
                path.display(),
                c.name
            ));
        }
    }
    Ok(cases)
}

/// Run one case on `seed` and read its figure.
pub fn run_case(case: &Case, seed: u64) -> Result<CaseResult, String> {
    let loaded = load_scenario(&case.scenario).map_err(|e| e.without_prefix())?;
    let opts = RunOptions {
        seed,
        wall_limit: Duration::from_secs(1_800),
    };
    let out = run_scenario(&loaded, &opts).map_err(|e| format!("{}: {e}", case.name))?;
    let mean_bytes = loaded.scenario.workload.size.mean_bytes();
    let simulated = measure(&out.report, case, mean_bytes)?;
    let ratio = simulated / case.published;
    Ok(CaseResult {
        name: case.name.clone(),
        source: case.source.clone(),
        unit: case.unit.clone(),
        published: case.published,
        simulated,
        ratio,
        within_band: (ratio - 1.0).abs() <= BAND,
        miss: case.miss.clone(),
        seed,
    })
}

/// The figure `case` reads off `report`.
fn measure(report: &RunReport, case: &Case, mean_bytes: f64) -> Result<f64, String> {
    let p = &report.result.ack_latency_ms;
    Ok(match case.measure {
        Measure::AckP50Ms => p.p50,
        Measure::AckP99Ms => p.p99,
        Measure::AckP999Ms => p.p999,
        Measure::AckedMibPerS | Measure::AckedRecordsPerS => {
            let [from, to] = case.window_s.expect("checked when loaded");
            let (from_ms, to_ms) = ((from * 1000.0) as u64, (to * 1000.0) as u64);
            let inside: Vec<_> = report
                .buckets
                .iter()
                .filter(|b| b.start_ms >= from_ms && b.start_ms + report.bucket_ms <= to_ms)
                .collect();
            if inside.is_empty() {
                return Err(format!(
                    "{}: no whole bucket inside the window {from}..{to} s",
                    case.name
                ));
            }
            let acked: u64 = inside.iter().map(|b| b.acked).sum();
            let per_s = acked as f64 / (inside.len() as f64 * report.bucket_ms as f64 / 1000.0);
            match case.measure {
                Measure::AckedMibPerS => per_s * mean_bytes / f64::from(1 << 20),
                _ => per_s,
            }
        }
    })
}
