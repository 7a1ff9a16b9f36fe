//! OpenMessaging Benchmark (OMB) files run as they are: a workload file, and
//! optionally a Kafka driver file, become a scenario with the project's
//! defaults for everything OMB does not say.
//!
//! OMB measures the log, so the scenario is the write path (OMB's producers
//! are the simulated clients) with OMB's consumers as a consumer group that
//! only reads: the stream processor in at-least-once mode with no
//! de-duplication, a free sink, and a consumer start that waits for no
//! rebalance delay (OMB waits for its consumers before it starts the load).
//! docs/OMB.md lists what each field maps to and what is left out.
//!
//! OMB topics are groups of partitions of the one events topic the
//! simulation has: topic `t` owns partitions `t*partitionsPerTopic ..
//! (t+1)*partitionsPerTopic`, and the figures are kept per group. Keys are
//! spread over every partition, so each topic takes its share of the
//! traffic, but a simulated producer is not tied to one topic as OMB's are.

mod driver_map;
pub mod figures;
pub mod max_rate;
mod problems;
pub mod result;
pub mod series;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

pub use streamsim_workloads::{omb_file_kind, OmbFileKind};
use streamsim_workloads::{OmbDriver, OmbError, OmbIgnored, OmbWorkload};

use crate::scenario::{parse_scenario, LoadedScenario};

/// How an OMB run is asked for on the command line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OmbOptions {
    /// The driver file (`--driver`).
    pub driver: Option<PathBuf>,
    /// Length of the measured test in virtual minutes (`--virtual-minutes`);
    /// warm-up and backlog are scaled by the same factor.
    pub virtual_minutes: Option<f64>,
}

/// The backlog test of `consumerBacklogSizeGB`: consumers paused after the
/// warm-up until the backlog is built, then let drain it.
#[derive(Debug, Clone, PartialEq)]
pub struct BacklogPlan {
    /// When the consumers stop, ms (the end of the warm-up).
    pub start_ms: u64,
    /// How long they stay stopped: the backlog's size over the publish rate, ms.
    pub build_ms: u64,
    /// The backlog asked for, messages (after any scaling).
    pub messages: u64,
    /// Drained once the backlog is at or below this many messages (OMB:
    /// `max(1000, (1 - backlogDrainRatio) * messages)`).
    pub empty_level: u64,
    /// Virtual time allowed for the drain before the measured test, ms.
    pub drain_allowance_ms: u64,
}

/// An OMB run, ready to simulate.
#[derive(Debug, Clone)]
pub struct OmbPlan {
    /// The scenario built from the files (its text is the generated scenario).
    pub loaded: LoadedScenario,
    /// The workload file as read.
    pub workload: OmbWorkload,
    /// The workload file's path, as given.
    pub workload_path: PathBuf,
    /// The driver file as read, if one was given.
    pub driver: Option<OmbDriver>,
    /// The options it was built with.
    pub options: OmbOptions,
    /// Fields read but not modelled, workload's then driver's.
    pub ignored: Vec<OmbIgnored>,
    /// Publish rate simulated, messages/s over all producers.
    pub rate: f64,
    /// Factor applied to OMB's durations and backlog (1 unscaled).
    pub scale: f64,
    /// Warm-up, ms from the start (excluded from the figures).
    pub warmup_ms: u64,
    /// The measured test after warm-up (and after the drain, in a backlog test), ms.
    pub test_ms: u64,
    /// The backlog test, when `consumerBacklogSizeGB` > 0.
    pub backlog: Option<BacklogPlan>,
    /// Consumers simulated (one subscription's worth over all topics).
    pub consumers: usize,
}

impl OmbPlan {
    /// The driver's `name` as OMB's results carry it.
    pub fn driver_name(&self) -> String {
        match &self.driver {
            Some(d) => d.name.clone(),
            None => "Kafka (streamsim defaults, no driver file)".into(),
        }
    }

    /// One line saying what was scaled, when anything was.
    pub fn scale_note(&self) -> Option<String> {
        let m = self.options.virtual_minutes?;
        Some(format!(
            "durations scaled by {:.6} (--virtual-minutes {m}): {} test minute(s) and {} warm-up minute(s) of the \
             workload file run as {:.3} s and {:.3} s{}",
            self.scale,
            self.workload.test_duration_minutes,
            self.workload.warmup_duration_minutes,
            self.test_ms as f64 / 1000.0,
            self.warmup_ms as f64 / 1000.0,
            if self.backlog.is_some() {
                "; the backlog is scaled by the same factor"
            } else {
                ""
            }
        ))
    }
}

/// Resolution of OMB durations in a run, ms: the report's finest bucket (its sampling period).
pub const OMB_GRID_MS: u64 = 1_000;

/// The longest backlog build a run takes, virtual seconds (a day).
const MAX_BUILD_S: f64 = 86_400.0;

/// The largest backlog a run builds, messages: the simulation keeps every
/// message, and at some 100,000 messages a wall second this is minutes.
const MAX_BACKLOG_MESSAGES: f64 = 50_000_000.0;

/// Builds the run of the OMB workload file `path` (and driver, if any), or
/// lists every problem of the files (each placed at its line and column).
pub fn plan(path: &Path, options: &OmbOptions) -> Result<OmbPlan, Vec<OmbError>> {
    problems::plan_all(path, options)
}

/// The same plan at another publish rate (the max-rate search's trials and
/// its final run); `trial_ms` replaces warm-up and test with one short test.
pub fn replan(p: &OmbPlan, rate: f64, trial_ms: Option<u64>) -> Result<OmbPlan, OmbError> {
    plan_at(
        &p.workload_path,
        p.workload.clone(),
        p.driver.clone(),
        &p.options,
        rate,
        trial_ms,
    )
}

fn whole_error(path: &Path, message: String) -> OmbError {
    OmbError {
        file: path.to_path_buf(),
        line: None,
        column: None,
        field: String::new(),
        message,
    }
}

fn grid(ms: f64) -> u64 {
    ((ms / OMB_GRID_MS as f64).round() as u64) * OMB_GRID_MS
}

fn plan_at(
    path: &Path,
    workload: OmbWorkload,
    driver: Option<OmbDriver>,
    options: &OmbOptions,
    rate: f64,
    trial_ms: Option<u64>,
) -> Result<OmbPlan, OmbError> {
    let w = &workload;
    let scale = match options.virtual_minutes {
        Some(m) if !(m.is_finite() && m > 0.0) => {
            return Err(whole_error(path, format!("--virtual-minutes must be > 0, got {m}")));
        }
        Some(m) => m / f64::from(w.test_duration_minutes),
        None => 1.0,
    };
    let (warmup_ms, test_ms) = match trial_ms {
        Some(t) => (0, t),
        None => (
            grid(f64::from(w.warmup_duration_minutes) * 60_000.0 * scale),
            grid(f64::from(w.test_duration_minutes) * 60_000.0 * scale).max(OMB_GRID_MS),
        ),
    };
    let consumers = if w.subscriptions_per_topic == 0 {
        0
    } else {
        (w.topics as usize).saturating_mul(w.consumer_per_subscription as usize)
    };
    let backlog_messages = w.consumer_backlog_size_gb * (1u64 << 30) as f64 * scale / f64::from(w.message_size);
    let build_s = backlog_messages / rate;
    if w.consumer_backlog_size_gb > 0.0 && (build_s > MAX_BUILD_S || backlog_messages > MAX_BACKLOG_MESSAGES) {
        return Err(whole_error(
            path,
            format!(
                "consumerBacklogSizeGB: a backlog of {} GB is {backlog_messages:.0} messages, built in {:.0} virtual \
                 s at {rate} messages/s; a run takes at most {MAX_BACKLOG_MESSAGES} messages and {MAX_BUILD_S} s \
                 (scale it down with --virtual-minutes)",
                w.consumer_backlog_size_gb, build_s,
            ),
        ));
    }
    let backlog = (w.consumer_backlog_size_gb > 0.0 && trial_ms.is_none() && consumers > 0).then(|| {
        let bytes = w.consumer_backlog_size_gb * (1u64 << 30) as f64 * scale;
        let messages = (bytes / f64::from(w.message_size)).ceil() as u64;
        let build_ms = grid(messages as f64 / rate * 1000.0).max(OMB_GRID_MS);
        let empty_level = 1000u64.max(((1.0 - w.backlog_drain_ratio) * messages as f64) as u64);
        BacklogPlan {
            start_ms: warmup_ms,
            build_ms,
            messages,
            empty_level,
            // Consumers that take twice the publish rate empty a backlog
            // built over B in B; twice B leaves room for 1.5 times.
            drain_allowance_ms: 2 * build_ms,
        }
    });
    let mut ignored = w.ignored.clone();
    let mut text = String::new();
    let name = w.name.clone().unwrap_or_else(|| {
        path.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "omb".into())
    });
    let backlog_ms = backlog.as_ref().map_or(0, |b| b.build_ms + b.drain_allowance_ms);
    let duration_ms = warmup_ms + backlog_ms + test_ms;
    let _ = writeln!(
        text,
        "# Built from the OpenMessaging Benchmark workload {}{}.",
        path.display(),
        options
            .driver
            .as_ref()
            .map(|d| format!(" and driver {}", d.display()))
            .unwrap_or_default()
    );
    let _ = writeln!(text, "name = {}", toml_str(&name));
    let _ = writeln!(text, "expect = \"pass\"");
    let _ = writeln!(text, "duration_s = {}", duration_ms as f64 / 1000.0);
    // Trials of the max-rate search stop at their end; a drain does not change them.
    let _ = writeln!(text, "drain_timeout_s = {}", if trial_ms.is_some() { 5 } else { 120 });
    // 10 s buckets past an hour still cut OMB's 10 s periods exactly.
    let bucket_s = if duration_ms > 3_600_000 { 10 } else { 1 };
    let _ = writeln!(text, "[report]\nbucket_s = {bucket_s}");

    let mut cfg = driver_map::Settings::defaults(w, consumers);
    if let Some(d) = &driver {
        driver_map::apply(d, &mut cfg, &mut ignored)?;
    }
    if let Some(b) = &backlog {
        // A paused Kafka consumer keeps polling and heartbeating, so the group
        // must not expire the members the pause stands for.
        cfg.session_timeout_ms = cfg.session_timeout_ms.max(b.build_ms + 30_000);
    }
    cfg.write(&mut text, w, rate);
    // The first subscription is the processor group (the OMB figures are its); the others read
    // the same partitions as independent groups.
    let extra = if consumers > 0 {
        cfg.write_subscriptions(&mut text, w.subscriptions_per_topic.saturating_sub(1))
    } else {
        Vec::new()
    };
    if let Some(b) = &backlog {
        let targets = (0..consumers).map(|i| format!("processor:{i}")).chain(
            extra
                .iter()
                .flat_map(|n| (0..consumers).map(move |i| format!("consumer:{n}:{i}"))),
        );
        for target in targets {
            let _ = writeln!(
                text,
                "[[faults]]\nat_s = {}\nkind = \"pause\"\ntarget = \"{target}\"\nduration_s = {}",
                b.start_ms as f64 / 1000.0,
                b.build_ms as f64 / 1000.0
            );
        }
    }
    let loaded = parse_scenario(path, &text).map_err(|e| cfg.place(&driver, path, e))?;
    Ok(OmbPlan {
        loaded,
        workload,
        workload_path: path.to_path_buf(),
        driver,
        options: options.clone(),
        ignored,
        rate,
        scale,
        warmup_ms,
        test_ms,
        backlog,
        consumers,
    })
}

/// A TOML string literal.
fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}
