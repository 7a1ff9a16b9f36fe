//! Reports for streamsim runs and sweeps.
//!
//! A run report is a directory a person can open after a CI failure or a
//! sizing run: the machine-readable result, a markdown and an HTML summary,
//! the time series as CSV, the acknowledgement latency as an HdrHistogram
//! interval log, and plots as SVG and PNG. A sweep report adds a results
//! table, JUnit XML for CI, and the spread of p99 across seeds.

#![warn(missing_docs)]

mod csv_series;
mod fonts;
mod hdr_log;
mod html;
mod junit;
pub mod model;
mod plots;
mod summary;
pub mod sweep;
mod text;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

pub use model::*;
pub use plots::{PlotSize, PLOT_SIZE};
pub use summary::render_summary_text;
pub use sweep::{summarize, sweep_summary_markdown, write_sweep_report, SweepEntry, SweepSummaryRow};

/// The files a report wrote, in the order they were written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportFiles {
    /// The report directory.
    pub dir: PathBuf,
    /// Every file written, as `dir` joined with the file name.
    pub files: Vec<PathBuf>,
}

/// The files of one run's report.
pub type RunReportFiles = ReportFiles;

/// The files of a sweep report.
pub type SweepReportFiles = ReportFiles;

/// Names of the plots of a run report; each is written as `<name>.svg` and `<name>.png`.
pub const RUN_PLOTS: [&str; 6] = [
    "ack_latency",
    "throughput",
    "partition_load",
    "replication_lag",
    "latency_distribution",
    "broker_utilisation",
];

/// Writes the report of one run into `dir`, creating it if missing.
///
/// The directory gets `result.json`, `summary.md`, `report.html`,
/// `timeseries.csv`, `ack_latency.hlog` and every plot of [`RUN_PLOTS`] as
/// SVG and PNG. Existing files of the same names are replaced.
pub fn write_run_report(report: &RunReport, dir: &Path) -> io::Result<RunReportFiles> {
    fs::create_dir_all(dir)?;
    let mut out = ReportFiles {
        dir: dir.to_path_buf(),
        files: Vec::new(),
    };

    let json = serde_json::to_string_pretty(&report.result).map_err(io::Error::other)?;
    out.write("result.json", format!("{json}\n").as_bytes())?;
    out.write("timeseries.csv", &csv_series::timeseries_csv(report)?)?;
    out.write("ack_latency.hlog", &hdr_log::interval_log(report)?)?;

    let rendered = plots::render_run_plots(report)?;
    for plot in &rendered {
        out.write(&format!("{}.svg", plot.name), plot.svg.as_bytes())?;
        out.write(&format!("{}.png", plot.name), &plot.png)?;
    }

    out.write("summary.md", summary::run_summary_markdown(report).as_bytes())?;
    out.write("report.html", html::run_report_html(report, &rendered).as_bytes())?;
    Ok(out)
}

impl ReportFiles {
    fn write(&mut self, name: &str, bytes: &[u8]) -> io::Result<()> {
        let path = self.dir.join(name);
        fs::write(&path, bytes)?;
        self.files.push(path);
        Ok(())
    }
}
