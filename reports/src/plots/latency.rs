//! `ack_latency` and `e2e_latency`: p50, p99 and p99.9 per bucket of the
//! acknowledgement latency and of the end-to-end latency (client to sink).

use plotters::coord::Shift;
use plotters::prelude::*;

use super::decor::draw_fault_labels;
use super::*;
use crate::model::{Bucket, BudgetCheck, Percentiles, RunReport, RunResult};

/// Picks one percentile.
pub(crate) type Pick = fn(&Percentiles) -> f64;

/// The three percentiles drawn, with their colours.
pub(crate) const SERIES: [(&str, Pick, RGBColor); 3] = [
    ("p50", |p| p.p50, PALETTE[0]),
    ("p99", |p| p.p99, PALETTE[1]),
    ("p99.9", |p| p.p999, PALETTE[3]),
];

/// Which latency a plot shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Latency {
    /// Client first send to acknowledgement.
    Ack,
    /// Client generation to the sink's commit.
    EndToEnd,
}

impl Latency {
    /// The bucket's percentiles of this latency.
    fn percentiles(self, b: &Bucket) -> &Percentiles {
        match self {
            Latency::Ack => &b.ack_latency_ms,
            Latency::EndToEnd => &b.e2e_latency_ms,
        }
    }

    /// Events the bucket's percentiles were measured over.
    fn count(self, b: &Bucket) -> u64 {
        match self {
            Latency::Ack => b.acked,
            Latency::EndToEnd => b.sunk,
        }
    }

    /// The y axis title.
    pub fn y_desc(self) -> &'static str {
        match self {
            Latency::Ack => "ack latency (ms, log scale)",
            Latency::EndToEnd => "end-to-end latency (ms, log scale)",
        }
    }

    fn no_data(self) -> &'static str {
        match self {
            Latency::Ack => "no events were acknowledged",
            Latency::EndToEnd => "no events reached the sink",
        }
    }

    /// Whether a lower-cased budget name limits this latency
    /// (`ack_p99_ms`, `ack_latency.p999_ms`, `e2e_p99_ms`, ...).
    fn owns_budget(self, name: &str) -> bool {
        match self {
            Latency::Ack => name.contains("ack"),
            Latency::EndToEnd => name.contains("e2e") || name.contains("end_to_end"),
        }
    }
}

/// Budgets on `latency`, each with the index in [`SERIES`] of the
/// percentile it limits, recognised by name.
pub(crate) fn latency_budgets(result: &RunResult, latency: Latency) -> Vec<(usize, &BudgetCheck)> {
    result
        .budgets
        .iter()
        .filter_map(|b| {
            let n = b.name.to_ascii_lowercase();
            if !latency.owns_budget(&n) || !b.limit.is_finite() || b.limit <= 0.0 {
                return None;
            }
            let idx = if n.contains("p999") || n.contains("p99.9") || n.contains("p99_9") {
                2
            } else if n.contains("p99") {
                1
            } else if n.contains("p50") {
                0
            } else {
                return None;
            };
            Some((idx, b))
        })
        .collect()
}

/// The time plot of one latency's percentiles.
pub(crate) struct LatencyOverTime<'a> {
    report: &'a RunReport,
    time: &'a TimeAxis,
    latency: Latency,
}

impl<'a> LatencyOverTime<'a> {
    /// The plot of `latency` in `report` on `time`.
    pub fn new(report: &'a RunReport, time: &'a TimeAxis, latency: Latency) -> Self {
        LatencyOverTime { report, time, latency }
    }

    /// Runs of consecutive buckets with events: a bucket without any has no
    /// latency, and joining across it would invent one.
    fn segments(&self, pick: Pick) -> Vec<Vec<(f64, f64)>> {
        let mut out: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
        for b in &self.report.buckets {
            let v = pick(self.latency.percentiles(b));
            if self.latency.count(b) == 0 || !(v.is_finite() && v > 0.0) {
                if !out.last().is_some_and(Vec::is_empty) {
                    out.push(Vec::new());
                }
            } else if let Some(seg) = out.last_mut() {
                seg.push((self.time.mid(b.start_ms), v));
            }
        }
        out.retain(|s| !s.is_empty());
        out
    }
}

impl Figure for LatencyOverTime<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, title: &str) -> Drawn
    where
        DB::ErrorType: 'static,
    {
        let budgets = latency_budgets(&self.report.result, self.latency);
        let mut legend: Vec<LegendItem> = SERIES
            .iter()
            .map(|(name, _, c)| LegendItem::new(*name, *c, LegendMark::Line))
            .collect();
        for (i, b) in &budgets {
            legend.push(LegendItem::new(
                format!("{} budget {}", SERIES[*i].0, crate::text::ms(b.limit)),
                SERIES[*i].2,
                LegendMark::Dashed,
            ));
        }
        legend.extend(self.time.legend(MAIN_PLOT_PX));
        let area = frame(root, title, &legend)?;

        let lines: Vec<_> = SERIES.iter().map(|s| self.segments(s.1)).collect();
        let values = lines
            .iter()
            .flatten()
            .flatten()
            .map(|p| p.1)
            .chain(budgets.iter().map(|(_, b)| b.limit));
        let (lo, hi) = values.fold((f64::MAX, 0f64), |(l, h), v| (l.min(v), h.max(v)));
        let (y0, y1) = log_range(lo, hi, self.time.label_room(MAIN_PLOT_PX));

        let mut chart = time_chart(
            &area,
            self.time,
            (y0..y1).log_scale().with_key_points(log_ticks(y0, y1)),
            self.latency.y_desc(),
            &|v| ms_tick(*v),
        )?;
        for ((_, _, color), segs) in SERIES.iter().zip(&lines) {
            for seg in segs {
                chart.draw_series(LineSeries::new(seg.clone(), color.stroke_width(2)))?;
                if seg.len() == 1 {
                    chart.draw_series(std::iter::once(Circle::new(seg[0], 3, color.filled())))?;
                }
            }
        }
        for (i, b) in &budgets {
            chart.draw_series(DashedLineSeries::new(
                vec![(0.0, b.limit), (self.time.end_s, b.limit)],
                10,
                6,
                SERIES[*i].2.stroke_width(2),
            ))?;
        }
        draw_fault_labels(&mut chart, self.time, self.time.labels(MAIN_PLOT_PX))?;
        if lines.iter().all(Vec::is_empty) {
            draw_no_data(&chart.plotting_area().strip_coord_spec(), self.latency.no_data())?;
        }
        Ok(())
    }
}
