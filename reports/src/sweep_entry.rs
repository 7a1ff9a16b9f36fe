//! A sweep's runs and how each is judged against its scenario's `expect`:
//! what both the sweep report and its JUnit file read.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::model::{RunResult, Verdict};

/// One run of a sweep.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepEntry {
    /// The run's result.
    pub result: RunResult,
    /// Where the run's report was written, if one was.
    pub report_dir: Option<PathBuf>,
}

/// A run of a sweep that did not finish (the wall-clock watchdog fired or
/// the harness panicked), so it has no result: JUnit reports it as an error,
/// the summary lists it with its replay command.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepRunError {
    /// Scenario name.
    pub scenario: String,
    /// Path of the scenario file as given on the command line.
    pub scenario_path: String,
    /// Seed of the run.
    pub seed: u64,
    /// What the scenario file expected.
    pub expect: Verdict,
    /// What happened, e.g. the watchdog's message.
    pub message: String,
    /// Command that replays this run.
    pub replay: String,
}

/// Scenarios with at least one violating run among `entries`.
pub fn caught_scenarios<'a>(entries: impl IntoIterator<Item = &'a SweepEntry>) -> BTreeSet<String> {
    entries
        .into_iter()
        .filter(|e| e.result.verdict == Verdict::Violation)
        .map(|e| e.result.scenario.clone())
        .collect()
}

/// Whether a run counts against its scenario's `expect`. A scenario that
/// must pass must pass on every seed. A negative control only has to be
/// caught on some seed of the sweep, so its passing seeds are fine, unless
/// no seed was caught: then every one of them is a miss. `caught` comes from
/// [`caught_scenarios`] over the whole sweep (all shards, once merged).
pub fn is_unexpected(e: &SweepEntry, caught: &BTreeSet<String>) -> bool {
    match e.result.expect {
        Verdict::Pass => e.result.verdict != Verdict::Pass,
        Verdict::Violation => !caught.contains(&e.result.scenario),
    }
}
