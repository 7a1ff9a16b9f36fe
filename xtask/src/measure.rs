//! One measured run in a child process: the parent starts `xtask measure
//! PATH SEED`, which runs the scenario, reads its own peak resident set
//! from `/proc/self/status` and prints one line of figures.

use std::path::Path;
use std::process::Command;
use std::time::Duration;
use streamsim_sim::run::{run_scenario, RunOptions};
use streamsim_sim::scenario::load_scenario;

/// The figures of one run.
pub struct Measured {
    pub events: u64,
    pub virtual_s: f64,
    pub wall_s: f64,
    pub peak_rss_mib: f64,
    pub verdict: String,
}

/// Peak resident set of this process, MiB (Linux's `VmHWM`; 0 where there is no `/proc`).
pub fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

/// The child's side: run and print `events virtual_s wall_s peak_mib verdict`.
pub fn child(path: &Path, seed: &str) -> Result<(), String> {
    let seed: u64 = seed
        .parse()
        .map_err(|_| format!("seed must be a number, got {seed:?}"))?;
    let loaded = load_scenario(path).map_err(|e| e.without_prefix())?;
    let out = run_scenario(
        &loaded,
        &RunOptions {
            seed,
            wall_limit: Duration::from_secs(4 * 3600),
        },
    )
    .map_err(|e| e.to_string())?;
    let r = out.report.result;
    // The report is dropped before reading the peak: the peak covers it anyway.
    println!(
        "{} {} {} {} {:?}",
        r.events_sent,
        r.virtual_s,
        r.wall_s,
        peak_rss_mib(),
        r.verdict
    );
    Ok(())
}

/// Why a child process of this program gave no figures.
pub enum ChildFailure {
    /// It could not be started.
    Start(String),
    /// It exited unsuccessfully, with this error output.
    Failed(std::process::ExitStatus, String),
}

/// Run this program again with `args` in a child process; what it printed.
pub fn run_self(args: &[&str]) -> Result<String, ChildFailure> {
    let exe = std::env::current_exe().map_err(|e| ChildFailure::Start(e.to_string()))?;
    let out = Command::new(exe)
        .args(args)
        .output()
        .map_err(|e| ChildFailure::Start(e.to_string()))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(ChildFailure::Failed(out.status, stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Run `path` with `seed` in a child process and read its figures.
pub fn measure_in_child(path: &Path, seed: u64) -> Result<Measured, String> {
    let text = run_self(&["measure", &path.display().to_string(), &seed.to_string()]).map_err(|e| match e {
        ChildFailure::Start(e) => format!("could not start the measuring child: {e}"),
        ChildFailure::Failed(_, stderr) => format!("{} seed {seed}: {stderr}", path.display()),
    })?;
    let f: Vec<&str> = text.split_whitespace().collect();
    let bad = || format!("unexpected figures from the measuring child: {text:?}");
    if f.len() != 5 {
        return Err(bad());
    }
    Ok(Measured {
        events: f[0].parse().map_err(|_| bad())?,
        virtual_s: f[1].parse().map_err(|_| bad())?,
        wall_s: f[2].parse().map_err(|_| bad())?,
        peak_rss_mib: f[3].parse().map_err(|_| bad())?,
        verdict: f[4].to_lowercase(),
    })
}
