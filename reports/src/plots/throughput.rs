//! `throughput`: events per second sent, acknowledged and appended, and
//! committed to the sink when the run has a read path.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::decor::draw_fault_labels;
use super::*;
use crate::model::{Bucket, RunReport};

type Pick = fn(&Bucket) -> u64;

const SERIES: [(&str, Pick, RGBColor); 3] = [
    ("sent by clients", |b| b.sent, PALETTE[0]),
    ("acknowledged", |b| b.acked, PALETTE[2]),
    ("appended to the log", |b| b.appended, PALETTE[1]),
];

/// The read path's series, drawn after (on top of) the write path's.
const SINK: (&str, Pick, RGBColor) = ("committed to sink", |b| b.sunk, PALETTE[3]);

/// The time plot of throughput.
pub(crate) struct Throughput<'a> {
    report: &'a RunReport,
    time: &'a TimeAxis,
}

impl<'a> Throughput<'a> {
    /// The plot of `report` on `time`.
    pub fn new(report: &'a RunReport, time: &'a TimeAxis) -> Self {
        Throughput { report, time }
    }

    /// Per-bucket counts as rates, so the axis reads the same whatever the
    /// bucket width.
    fn rates(&self, pick: Pick) -> Vec<(f64, f64)> {
        self.report
            .buckets
            .iter()
            .map(|b| (self.time.mid(b.start_ms), pick(b) as f64 / self.time.bucket_s))
            .collect()
    }
}

impl Figure for Throughput<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, title: &str) -> Drawn
    where
        DB::ErrorType: 'static,
    {
        let mut series = SERIES.to_vec();
        // The three write-path lines often coincide and are drawn as nested
        // stripes of decreasing width; the sink's line, usually the same
        // shape shifted later by the processing delay, goes thinnest on top.
        let widths: &[u32] = if self.report.e2e_latency_us.is_some() {
            series.push(SINK);
            &[9, 6, 4, 2]
        } else {
            &[7, 4, 2]
        };
        let mut legend: Vec<LegendItem> = series
            .iter()
            .map(|(n, _, c)| LegendItem::new(*n, *c, LegendMark::Line))
            .collect();
        legend.extend(self.time.legend(MAIN_PLOT_PX));
        let area = frame(root, title, &legend)?;
        let lines: Vec<_> = series.iter().map(|s| self.rates(s.1)).collect();
        let hi = lines.iter().flatten().map(|p| p.1).fold(0f64, f64::max);
        let top = if hi > 0.0 { hi } else { 1.0 } * (1.08 + self.time.label_room(MAIN_PLOT_PX));

        let mut chart = time_chart(&area, self.time, 0f64..top, "events per second", &|v| si(*v))?;
        // Decreasing widths keep each line visible as a stripe inside the one
        // below it where they coincide.
        for (((_, _, color), line), width) in series.iter().zip(lines).zip(widths) {
            chart.draw_series(LineSeries::new(line, color.stroke_width(*width)))?;
        }
        draw_fault_labels(&mut chart, self.time, self.time.labels(MAIN_PLOT_PX))?;
        if hi <= 0.0 {
            draw_no_data(&chart.plotting_area().strip_coord_spec(), "no events in this run")?;
        }
        Ok(())
    }
}
