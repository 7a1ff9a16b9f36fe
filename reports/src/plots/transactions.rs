//! `transactions_lso`: one partition's last stable offset next to its high
//! watermark over time. The gap is the open transactions a read_committed
//! consumer waits for; a transaction left hanging (a zombie's until its
//! timeout, a commit whose markers wait for a new coordinator) shows as a
//! flat LSO while the high watermark climbs.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::decor::draw_fault_labels;
use super::*;
use crate::model::RunReport;
use crate::thousands;

/// The time plot of the last stable offset and the high watermark.
pub(crate) struct TransactionOffsets<'a> {
    report: &'a RunReport,
    time: &'a TimeAxis,
}

impl<'a> TransactionOffsets<'a> {
    /// The plot of `report` on `time`.
    pub fn new(report: &'a RunReport, time: &'a TimeAxis) -> Self {
        TransactionOffsets { report, time }
    }
}

impl Figure for TransactionOffsets<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, title: &str) -> Drawn
    where
        DB::ErrorType: 'static,
    {
        let (hw_colour, lso_colour) = (PALETTE[0], PALETTE[1]);
        let t = self.report.result.transactions.as_ref();
        let partition = t.map_or(0, |t| t.lso_partition);
        let series = t.map_or(&[][..], |t| &t.lso_series[..]);
        let mut legend = vec![
            LegendItem::new(
                format!("high watermark (partition {partition})"),
                hw_colour,
                LegendMark::Stroke { width: 3, dash: None },
            ),
            LegendItem::new(
                "last stable offset (what read_committed consumers may read)",
                lso_colour,
                LegendMark::Stroke {
                    width: 3,
                    dash: Some((10, 6)),
                },
            ),
        ];
        legend.extend(self.time.legend(MAIN_PLOT_PX));
        let area = frame(root, title, &legend)?;
        let hi = series.iter().map(|p| p.hw).max().unwrap_or(0) as f64;
        let top = if hi > 0.0 { hi } else { 1.0 } * (1.08 + self.time.label_room(MAIN_PLOT_PX));
        let mut chart = time_chart(&area, self.time, 0f64..top, "offset", &|v| thousands(*v as u64))?;
        let at = |ms: u64| ms as f64 / 1000.0;
        chart.draw_series(LineSeries::new(
            series.iter().map(|p| (at(p.at_ms), p.hw as f64)),
            hw_colour.stroke_width(3),
        ))?;
        chart.draw_series(DashedLineSeries::new(
            series.iter().map(|p| (at(p.at_ms), p.lso as f64)),
            10,
            6,
            lso_colour.stroke_width(3),
        ))?;
        draw_fault_labels(&mut chart, self.time, self.time.labels(MAIN_PLOT_PX))?;
        if series.is_empty() {
            draw_no_data(&chart.plotting_area().strip_coord_spec(), "no offsets sampled")?;
        }
        Ok(())
    }
}
