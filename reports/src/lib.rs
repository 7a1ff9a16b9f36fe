//! Reports for streamsim runs and sweeps.
//!
//! A run report is a directory a person can open after a CI failure or a
//! sizing run: the machine-readable result, a markdown and an HTML summary,
//! the time series as CSV, the acknowledgement latency (and, for runs with
//! a read path, the end-to-end latency) as HdrHistogram interval logs, and
//! plots as SVG and PNG. A sweep report adds a results table, JUnit XML for
//! CI, and the spread of p99 across seeds.

#![warn(missing_docs)]

mod autoscale;
mod clients;
mod compact_histogram;
mod csv_series;
mod fonts;
mod hdr_log;
mod html;
mod junit;
pub mod model;
mod plots;
mod subscriptions;
mod summary;
pub mod sweep;
mod sweep_entry;
mod text;
mod transactions;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

pub use autoscale::{AutoscalePeriod, AutoscaleResult, ScaleEventResult};
pub use clients::{ClientUtilisation, ClientsUtilisation};
pub use model::*;
pub use plots::scale::{ScalePoint, ScaleTarget};
pub use plots::sizing::{CurvePoint, SizingPoint};
pub use plots::{PlotSize, PLOT_SIZE};
pub use subscriptions::SubscriptionResult;
pub use summary::render_summary_text;
pub use sweep::{summarize, sweep_summary_markdown, write_sweep_report, SweepEntry, SweepSummaryRow};
pub use text::{count as thousands, verdict_str};
pub use transactions::{LsoPoint, TransactionsResult, TxnBookkeeping};

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

/// Names of the plots of every run report (the write path's); each is
/// written as `<name>.svg` and `<name>.png`. [`run_plots`] gives the full
/// list for a given run.
pub const RUN_PLOTS: [&str; 6] = [
    "ack_latency",
    "throughput",
    "partition_load",
    "replication_lag",
    "latency_distribution",
    "broker_utilisation",
];

/// Names of the plots only runs with a read path (stream processor and
/// sink) get: end-to-end latency and consumer lag over time.
pub const READ_PLOTS: [&str; 2] = ["e2e_latency", "consumer_lag"];

/// Every run plot in report order, each with whether it needs a read path:
/// each read-path plot follows its write-path counterpart.
const ALL_RUN_PLOTS: [(&str, bool); 8] = [
    ("ack_latency", false),
    ("e2e_latency", true),
    ("throughput", false),
    ("partition_load", false),
    ("replication_lag", false),
    ("consumer_lag", true),
    ("latency_distribution", false),
    ("broker_utilisation", false),
];

/// The plots of `report`, in the order the summary shows them: [`RUN_PLOTS`],
/// plus [`READ_PLOTS`] when the run has a read path
/// (`report.e2e_latency_us` is set), and [`LAKE_PLOT`] when it has a cold
/// path (`report.result.lake` is set).
pub fn run_plots(report: &RunReport) -> Vec<&'static str> {
    let read = report.e2e_latency_us.is_some();
    let mut plots: Vec<&'static str> = ALL_RUN_PLOTS
        .iter()
        .filter(|(_, needs_read)| read || !needs_read)
        .map(|(name, _)| *name)
        .collect();
    if !report.result.gateway_utilisation.is_empty() {
        plots.push(GATEWAY_PLOT);
    }
    if report.result.client_utilisation.is_some() {
        plots.push(CLIENT_PLOT);
    }
    if report.result.lake.is_some() {
        plots.push(LAKE_PLOT);
    }
    if report.result.autoscale.is_some() {
        plots.push(AUTOSCALE_PLOT);
    }
    if report.result.rate_limited.is_some() {
        plots.push(RATE_LIMIT_PLOT);
    }
    if report.result.serving.is_some() {
        plots.push(SERVING_PLOT);
    }
    if !report.result.subscriptions.is_empty() {
        plots.push(SUBSCRIPTION_PLOT);
    }
    if report.result.transactions.is_some() {
        plots.push(TRANSACTIONS_PLOT);
    }
    plots
}

/// The plot of runs whose gateways were sampled: their CPU and NIC over time.
pub const GATEWAY_PLOT: &str = "gateway_utilisation";

/// The plot of runs whose clients were sampled: their mean and busiest CPU and NIC over time.
pub const CLIENT_PLOT: &str = "client_utilisation";

/// The plot only runs with broker autoscaling get: brokers and their mean CPU over time.
pub const AUTOSCALE_PLOT: &str = "autoscale";

/// The plot only runs with a gateway rate limit get: refused events per second over time.
pub const RATE_LIMIT_PLOT: &str = "rate_limited";

/// The plot only runs with a serving layer get, last: hit ratio and read latency over time.
pub const SERVING_PLOT: &str = "serving";

/// The plot only runs with `[[subscription]]` groups get, last: each one's consumer lag over time.
pub const SUBSCRIPTION_PLOT: &str = "subscription_lag";
/// The plot only runs with transactional gateways get: a partition's last stable offset next to its high watermark.
pub const TRANSACTIONS_PLOT: &str = "transactions_lso";

/// The plot only runs with a cold path get, last: lake freshness over time.
pub const LAKE_PLOT: &str = "lake_freshness";

/// Writes the report of one run into `dir`, creating it if missing.
///
/// The directory gets `result.json`, `summary.md`, `report.html`,
/// `timeseries.csv`, `ack_latency.hlog`, `e2e_latency.hlog` when the run
/// has a read path, and every plot of [`run_plots`] as SVG and PNG.
/// Existing files of the same names are replaced.
pub fn write_run_report(report: &RunReport, dir: &Path) -> io::Result<RunReportFiles> {
    let mut out = ReportFiles::create(dir)?;

    let json = serde_json::to_string_pretty(&report.result).map_err(io::Error::other)?;
    out.write("result.json", format!("{json}\n").as_bytes())?;
    out.write("timeseries.csv", &csv_series::timeseries_csv(report)?)?;
    out.write(
        "ack_latency.hlog",
        &hdr_log::interval_log(report, &report.ack_intervals, None)?,
    )?;
    if report.e2e_latency_us.is_some() {
        let what = "end-to-end latency, client generation to sink commit, by commit time";
        out.write(
            "e2e_latency.hlog",
            &hdr_log::interval_log(report, &report.e2e_intervals, Some(what))?,
        )?;
    }

    let rendered = plots::render_run_plots(report)?;
    for plot in &rendered {
        out.write_plot(plot)?;
    }

    out.write("summary.md", summary::run_summary_markdown(report).as_bytes())?;
    out.write("report.html", html::run_report_html(report, &rendered).as_bytes())?;
    Ok(out)
}

/// Writes the sizing command's plots into `dir`: `sizing_p99` (ack p99 against brokers per
/// machine, with the budget line) and, for a curve, `sizing_curve` (cost per million events
/// against daily volume). Returns the files written.
pub fn write_sizing_plots(
    points: &[SizingPoint],
    budget_ms: Option<f64>,
    curve: &[CurvePoint],
    dir: &Path,
) -> io::Result<Vec<std::path::PathBuf>> {
    let mut out = ReportFiles::create(dir)?;
    let mut rendered = Vec::new();
    if !points.is_empty() {
        let fig = plots::sizing::P99ByBrokers {
            points: points.to_vec(),
            budget_ms,
        };
        rendered.push(plots::render(
            "sizing_p99",
            "Acknowledgement p99 at the peak, with the failure, by broker count",
            &fig,
        )?);
    }
    if !curve.is_empty() {
        let fig = plots::sizing::SizingCurve { points: curve.to_vec() };
        rendered.push(plots::render(
            "sizing_curve",
            "Sizing curve: cost per million events by daily volume",
            &fig,
        )?);
    }
    for plot in &rendered {
        out.write_plot(plot)?;
    }
    Ok(out.files)
}

/// Writes the scale benchmark's plot into `dir` as `scale.svg` and `scale.png`: wall time
/// and peak memory of each virtual day against its events, on log axes, beside linear
/// time and flat memory drawn from the smallest day, and `targets` as red crosses. Returns
/// the files written.
pub fn write_scale_plot(
    points: &[ScalePoint],
    targets: &[ScaleTarget],
    dir: &Path,
) -> io::Result<Vec<std::path::PathBuf>> {
    let mut out = ReportFiles::create(dir)?;
    let fig = plots::scale::ScaleFigure {
        points: points.to_vec(),
        targets: targets.to_vec(),
    };
    let plot = plots::render("scale", "Virtual days: wall time and peak memory against events", &fig)?;
    out.write_plot(&plot)?;
    Ok(out.files)
}

impl ReportFiles {
    /// An empty report in `dir`, created if it is missing.
    fn create(dir: &Path) -> io::Result<Self> {
        fs::create_dir_all(dir)?;
        Ok(ReportFiles {
            dir: dir.to_path_buf(),
            files: Vec::new(),
        })
    }

    /// Writes `plot` as `<name>.svg` and `<name>.png`.
    fn write_plot(&mut self, plot: &plots::RenderedPlot) -> io::Result<()> {
        self.write(&format!("{}.svg", plot.name), plot.svg.as_bytes())?;
        self.write(&format!("{}.png", plot.name), &plot.png)
    }

    fn write(&mut self, name: &str, bytes: &[u8]) -> io::Result<()> {
        let path = self.dir.join(name);
        fs::write(&path, bytes)?;
        self.files.push(path);
        Ok(())
    }
}
