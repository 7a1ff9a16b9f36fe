//! `rate_limited`: the events the gateways' rate limit refused per second,
//! over time. Refusals come in bursts where an entity sends above its
//! bucket's rate; the clients' retries then bring them back, so a run that
//! keeps up shows them ending once the burst is over.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::decor::draw_fault_labels;
use super::*;
use crate::model::RunReport;

/// The time plot of rate-limit refusals.
pub(crate) struct RateLimited<'a> {
    report: &'a RunReport,
    time: &'a TimeAxis,
}

impl<'a> RateLimited<'a> {
    /// The plot of `report` on `time`.
    pub fn new(report: &'a RunReport, time: &'a TimeAxis) -> Self {
        RateLimited { report, time }
    }

    /// Refusals per second of each bucket.
    fn points(&self) -> Vec<(f64, f64)> {
        let per_s = 1000.0 / self.report.bucket_ms.max(1) as f64;
        self.report
            .buckets
            .iter()
            .map(|b| (self.time.mid(b.start_ms), b.rate_limited as f64 * per_s))
            .collect()
    }
}

impl Figure for RateLimited<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, title: &str) -> Drawn
    where
        DB::ErrorType: 'static,
    {
        let line = PALETTE[0];
        let mut legend = vec![LegendItem::new(
            "events refused by the rate limit (HTTP 429), retried by the clients",
            line,
            LegendMark::Stroke { width: 3, dash: None },
        )];
        legend.extend(self.time.legend(MAIN_PLOT_PX));
        let area = frame(root, title, &legend)?;
        let points = self.points();
        let hi = points.iter().map(|p| p.1).fold(0f64, f64::max);
        let top = if hi > 0.0 { hi } else { 1.0 } * (1.08 + self.time.label_room(MAIN_PLOT_PX));
        let mut chart = time_chart(&area, self.time, 0f64..top, "refused (events/s)", &|v| {
            format!("{v:.0}")
        })?;
        chart.draw_series(LineSeries::new(points, line.stroke_width(3)))?;
        draw_fault_labels(&mut chart, self.time, self.time.labels(MAIN_PLOT_PX))?;
        if hi == 0.0 {
            draw_no_data(
                &chart.plotting_area().strip_coord_spec(),
                "the rate limit refused nothing",
            )?;
        }
        Ok(())
    }
}
