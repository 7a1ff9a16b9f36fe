//! `lake_freshness`: the cold path's freshness over time (the age of the
//! newest event the lake's manifest holds, on the partition furthest
//! behind), with the scenario's budget when it has one. A writer crash
//! shows as a ramp inside its shaded window.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::decor::draw_fault_labels;
use super::*;
use crate::model::RunReport;

/// The budget's name in the run result.
const BUDGET: &str = "lake_freshness_s";

/// The time plot of lake freshness.
pub(crate) struct LakeFreshness<'a> {
    report: &'a RunReport,
    time: &'a TimeAxis,
}

impl<'a> LakeFreshness<'a> {
    /// The plot of `report` on `time`.
    pub fn new(report: &'a RunReport, time: &'a TimeAxis) -> Self {
        LakeFreshness { report, time }
    }

    /// Runs of consecutive sampled buckets, so a bucket without a sample leaves a gap.
    fn runs(&self) -> Vec<Vec<(f64, f64)>> {
        let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
        let mut cur = Vec::new();
        for b in &self.report.buckets {
            match b.lake_freshness_s {
                Some(f) => cur.push((self.time.mid(b.start_ms), f)),
                None if !cur.is_empty() => out.push(std::mem::take(&mut cur)),
                None => {}
            }
        }
        if !cur.is_empty() {
            out.push(cur);
        }
        out
    }
}

impl Figure for LakeFreshness<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, title: &str) -> Drawn
    where
        DB::ErrorType: 'static,
    {
        let line = PALETTE[0];
        let budget = self.report.result.budget_limit(BUDGET);
        let mut legend = vec![LegendItem::new(
            "age of the newest committed event (worst partition)",
            line,
            LegendMark::Stroke { width: 3, dash: None },
        )];
        if budget.is_some() {
            legend.push(LegendItem::new(
                "freshness budget (p99)",
                FAULT,
                LegendMark::Stroke {
                    width: 2,
                    dash: Some((10, 6)),
                },
            ));
        }
        legend.extend(self.time.legend(MAIN_PLOT_PX));
        let area = frame(root, title, &legend)?;
        let runs = self.runs();
        let hi = runs.iter().flatten().map(|p| p.1).chain(budget).fold(0f64, f64::max);
        let top = if hi > 0.0 { hi } else { 1.0 } * (1.08 + self.time.label_room(MAIN_PLOT_PX));
        let mut chart = time_chart(&area, self.time, 0f64..top, "lake freshness (s)", &|v| {
            format!("{v:.0}")
        })?;
        for points in runs.iter().cloned() {
            chart.draw_series(LineSeries::new(points, line.stroke_width(3)))?;
        }
        if let Some(limit) = budget {
            let (x0, x1) = (
                self.time.mid(0),
                self.report.buckets.last().map_or(1.0, |b| self.time.mid(b.start_ms)),
            );
            chart.draw_series(DashedLineSeries::new(
                [(x0, limit), (x1, limit)],
                10,
                6,
                FAULT.stroke_width(2),
            ))?;
        }
        draw_fault_labels(&mut chart, self.time, self.time.labels(MAIN_PLOT_PX))?;
        if runs.is_empty() {
            draw_no_data(&chart.plotting_area().strip_coord_spec(), "no lake freshness sampled")?;
        }
        Ok(())
    }
}
