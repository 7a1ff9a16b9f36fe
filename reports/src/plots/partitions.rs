//! `partition_load` (appends per partition, where skew shows),
//! `replication_lag` (how far each partition's high watermark trails) and
//! `consumer_lag` (how far the stream processor trails the high watermark).

use plotters::coord::Shift;
use plotters::prelude::*;

use super::decor::draw_fault_labels;
use super::*;
use crate::csv_series;
use crate::model::{Bucket, RunReport};

/// A partition is called hot above this multiple of the mean load.
pub(crate) const HOT_FACTOR: f64 = 1.5;

/// Above this many partitions, per-partition legends stop being readable.
const MAX_LEGEND: usize = 12;

/// The bar chart of appends per partition over the whole run.
pub(crate) struct PartitionLoad {
    totals: Vec<u64>,
}

impl PartitionLoad {
    /// The plot of `report`.
    pub fn new(report: &RunReport) -> Self {
        let mut totals = vec![0u64; csv_series::partitions(report)];
        for b in &report.buckets {
            for (t, a) in totals.iter_mut().zip(&b.partition_appends) {
                *t += a;
            }
        }
        PartitionLoad { totals }
    }
}

/// Integer tick positions for `n` categories, thinned to about 25 labels.
fn category_ticks(n: usize) -> Vec<f64> {
    let step = n.div_ceil(25).max(1);
    (0..n).step_by(step).map(|i| i as f64).collect()
}

impl Figure for PartitionLoad {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, title: &str) -> Drawn
    where
        DB::ErrorType: 'static,
    {
        let n = self.totals.len();
        let total: u64 = self.totals.iter().sum();
        let mean = if n > 0 { total as f64 / n as f64 } else { 0.0 };
        let max = self.totals.iter().copied().max().unwrap_or(0) as f64;
        let hot = |v: u64| mean > 0.0 && v as f64 > HOT_FACTOR * mean;
        let hot_count = self.totals.iter().filter(|&&v| hot(v)).count();
        let (normal_c, hot_c, mean_c) = (PALETTE[0], FAULT, RGBColor(40, 40, 40));

        let mean_label = if mean > 0.0 {
            format!(
                "mean {} (busiest is {}x the mean)",
                crate::text::count(mean.round() as u64),
                crate::text::decimal(max / mean, 2)
            )
        } else {
            "mean 0".to_string()
        };
        let mut legend = vec![
            LegendItem::new("records appended", normal_c, LegendMark::Box),
            LegendItem::new(mean_label, mean_c, LegendMark::Dashed),
        ];
        if hot_count > 0 {
            legend.push(LegendItem::new(
                format!("hot: over {HOT_FACTOR}x the mean ({hot_count})"),
                hot_c,
                LegendMark::Box,
            ));
        }
        let area = frame(root, title, &legend)?;
        if n == 0 {
            return draw_no_data(&area, "no partitions in this run");
        }

        let top = (max.max(1.0)) * 1.1;
        let mut chart = ChartBuilder::on(&area)
            .margin_right(30)
            .margin_top(6)
            .margin_left(16)
            .x_label_area_size(X_AREA)
            .y_label_area_size(Y_AREA)
            .build_cartesian_2d(ticked(-0.5f64..n as f64 - 0.5, category_ticks(n)), 0f64..top)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc("partition")
            .y_desc("records appended (whole run)")
            .axis_desc_style(axis_font())
            .label_style(label_font())
            .x_label_formatter(&|v| format!("{}", v.round() as i64))
            .y_label_formatter(&|v| si(*v))
            .max_light_lines(0)
            .draw()?;
        let half = if n > 60 { 0.45 } else { 0.38 };
        chart.draw_series(self.totals.iter().enumerate().map(|(i, &v)| {
            let c = if hot(v) { hot_c } else { normal_c };
            let x = i as f64;
            Rectangle::new([(x - half, 0.0), (x + half, v as f64)], c.filled())
        }))?;
        chart.draw_series(DashedLineSeries::new(
            vec![(-0.5, mean), (n as f64 - 0.5, mean)],
            12,
            6,
            mean_c.stroke_width(2),
        ))?;
        Ok(())
    }
}

/// Which per-partition lag a plot shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lag {
    /// Leader end offset minus high watermark: records not yet replicated.
    Replication,
    /// High watermark minus the processor's committed offset: records
    /// committed to the log that the read path has not yet consumed.
    Consumer,
}

impl Lag {
    fn values(self, b: &Bucket) -> &[u64] {
        match self {
            Lag::Replication => &b.partition_hw_lag,
            Lag::Consumer => &b.consumer_lag,
        }
    }

    fn y_desc(self) -> &'static str {
        match self {
            Lag::Replication => "high-watermark lag (records)",
            Lag::Consumer => "consumer lag (records)",
        }
    }
}

/// The time plot of a per-partition lag: a line per partition, or faint
/// lines and their maximum when there are too many for a legend.
pub(crate) struct PartitionLag<'a> {
    report: &'a RunReport,
    time: &'a TimeAxis,
    lag: Lag,
}

impl<'a> PartitionLag<'a> {
    /// The plot of `lag` in `report` on `time`.
    pub fn new(report: &'a RunReport, time: &'a TimeAxis, lag: Lag) -> Self {
        PartitionLag { report, time, lag }
    }

    /// Partitions drawn: the report's, or more if a bucket carries more.
    fn partitions(&self) -> usize {
        let n = csv_series::partitions(self.report);
        match self.lag {
            Lag::Replication => n,
            Lag::Consumer => self
                .report
                .buckets
                .iter()
                .map(|b| b.consumer_lag.len())
                .fold(n, usize::max),
        }
    }

    fn line(&self, p: usize) -> Vec<(f64, f64)> {
        self.report
            .buckets
            .iter()
            .map(|b| {
                let lag = self.lag.values(b).get(p).copied().unwrap_or(0);
                (self.time.mid(b.start_ms), lag as f64)
            })
            .collect()
    }

    fn max_line(&self) -> Vec<(f64, f64)> {
        self.report
            .buckets
            .iter()
            .map(|b| {
                let lag = self.lag.values(b).iter().copied().max().unwrap_or(0);
                (self.time.mid(b.start_ms), lag as f64)
            })
            .collect()
    }
}

impl Figure for PartitionLag<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, title: &str) -> Drawn
    where
        DB::ErrorType: 'static,
    {
        let n = self.partitions();
        let many = n > MAX_LEGEND;
        let mut legend: Vec<LegendItem> = if many {
            vec![
                LegendItem::new(format!("each of {n} partitions"), PALETTE[9], LegendMark::Line),
                LegendItem::new("max over partitions", BLACK, LegendMark::Line),
            ]
        } else {
            (0..n)
                .map(|p| LegendItem::new(format!("p{p}"), series_color(p), LegendMark::Line))
                .collect()
        };
        legend.extend(self.time.legend(MAIN_PLOT_PX));
        let area = frame(root, title, &legend)?;

        let lines: Vec<_> = (0..n).map(|p| self.line(p)).collect();
        let hi = lines.iter().flatten().map(|p| p.1).fold(0f64, f64::max);
        let top = hi.max(1.0) * (1.08 + self.time.label_room(MAIN_PLOT_PX));
        let mut chart = time_chart(&area, self.time, 0f64..top, self.lag.y_desc(), &|v| si(*v))?;
        for (p, line) in lines.into_iter().enumerate() {
            let style = if many {
                series_color(p).mix(0.45).stroke_width(1)
            } else {
                series_color(p).stroke_width(2)
            };
            chart.draw_series(LineSeries::new(line, style))?;
        }
        if many {
            chart.draw_series(LineSeries::new(self.max_line(), BLACK.stroke_width(2)))?;
        }
        draw_fault_labels(&mut chart, self.time, self.time.labels(MAIN_PLOT_PX))?;
        if n == 0 {
            draw_no_data(&chart.plotting_area().strip_coord_spec(), "no partitions in this run")?;
        }
        Ok(())
    }
}
