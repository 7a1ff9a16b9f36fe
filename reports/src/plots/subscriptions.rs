//! `subscription_lag`: each `[[subscription]]`'s consumer lag over time (the
//! records behind the high watermarks, summed over partitions), sampled
//! every second, one line per subscription. A consumer crash shows as a
//! ramp inside its shaded fault window, and every line ends at zero once
//! the subscription has read to the end.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::decor::draw_fault_labels;
use super::*;
use crate::model::RunReport;

/// The time plot of the subscriptions' lag.
pub(crate) struct SubscriptionLag<'a> {
    report: &'a RunReport,
    time: &'a TimeAxis,
}

impl<'a> SubscriptionLag<'a> {
    /// The plot of `report` on `time`.
    pub fn new(report: &'a RunReport, time: &'a TimeAxis) -> Self {
        SubscriptionLag { report, time }
    }
}

impl Figure for SubscriptionLag<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, title: &str) -> Drawn
    where
        DB::ErrorType: 'static,
    {
        let subs = &self.report.result.subscriptions;
        let mut legend: Vec<LegendItem> = subs
            .iter()
            .enumerate()
            .map(|(i, (name, s))| {
                LegendItem::new(
                    format!("{name} ({} consumers)", s.consumers),
                    PALETTE[i % PALETTE.len()],
                    LegendMark::Stroke { width: 3, dash: None },
                )
            })
            .collect();
        legend.extend(self.time.legend(MAIN_PLOT_PX));
        let area = frame(root, title, &legend)?;
        let hi = subs
            .values()
            .flat_map(|s| s.lag.iter().map(|p| p[1] as f64))
            .fold(0f64, f64::max);
        let top = if hi > 0.0 { hi } else { 1.0 } * (1.08 + self.time.label_room(MAIN_PLOT_PX));
        let mut chart = time_chart(&area, self.time, 0f64..top, "consumer lag (records)", &|v| {
            crate::text::count(*v as u64)
        })?;
        // Subscriptions that keep up draw on top of each other: each is drawn narrower than the
        // one before, so those below show as a border around it.
        let n = subs.len() as u32;
        for (i, s) in subs.values().enumerate() {
            let points: Vec<(f64, f64)> = s.lag.iter().map(|p| (p[0] as f64 / 1000.0, p[1] as f64)).collect();
            let width = 3 + 3 * (n - 1 - i as u32);
            chart.draw_series(LineSeries::new(points, PALETTE[i % PALETTE.len()].stroke_width(width)))?;
        }
        draw_fault_labels(&mut chart, self.time, self.time.labels(MAIN_PLOT_PX))?;
        if subs.values().all(|s| s.lag.is_empty()) {
            draw_no_data(&chart.plotting_area().strip_coord_spec(), "no subscription lag sampled")?;
        }
        Ok(())
    }
}
