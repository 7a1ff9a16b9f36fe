//! `throughput`: events per second sent, acknowledged and appended, and
//! committed to the sink when the run has a read path.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::decor::draw_fault_labels;
use super::*;
use crate::model::{Bucket, RunReport};

type Pick = fn(&Bucket) -> u64;

/// How one series is drawn; the legend shows the same stroke.
#[derive(Clone, Copy)]
struct Line {
    name: &'static str,
    pick: Pick,
    color: RGBColor,
    width: u32,
    /// Dash length and gap in pixels; `None` is solid.
    dash: Option<(i32, i32)>,
}

/// In a healthy run sent, acknowledged and appended coincide, and the sink
/// follows them shifted by the processing delay. Colour alone cannot tell
/// lines drawn on top of each other apart, so each has its own stroke: a
/// wide pale band under a solid line under a dashed one under a dotted one,
/// and wherever they coincide every one still shows through the gaps of
/// the one above it.
const SERIES: [Line; 3] = [
    Line {
        name: "sent by clients",
        pick: |b| b.sent,
        color: PALETTE[9],
        width: 10,
        dash: None,
    },
    Line {
        name: "acknowledged",
        pick: |b| b.acked,
        color: PALETTE[2],
        width: 4,
        dash: None,
    },
    Line {
        name: "appended to the log",
        pick: |b| b.appended,
        color: PALETTE[1],
        width: 3,
        dash: Some((12, 8)),
    },
];

/// What the workload offered, drawn on top only when producers held some of it
/// back or failed it (otherwise it is the clients' line).
const OFFERED: Line = Line {
    name: "offered by the workload",
    pick: |b| b.offered,
    color: BLACK,
    width: 2,
    dash: Some((10, 4)),
};

/// The read path's series, drawn after (on top of) the write path's.
const SINK: Line = Line {
    name: "committed to sink",
    pick: |b| b.sunk,
    color: PALETTE[3],
    width: 3,
    dash: Some((3, 5)),
};

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
        if self.report.e2e_latency_us.is_some() {
            series.push(SINK);
        }
        if self.report.buckets.iter().any(|b| b.offered != b.sent) {
            series.push(OFFERED);
        }
        let mut legend: Vec<LegendItem> = series
            .iter()
            .map(|l| {
                LegendItem::new(
                    l.name,
                    l.color,
                    LegendMark::Stroke {
                        width: l.width.min(8),
                        dash: l.dash,
                    },
                )
            })
            .collect();
        legend.extend(self.time.legend(MAIN_PLOT_PX));
        let area = frame(root, title, &legend)?;
        let lines: Vec<_> = series.iter().map(|s| self.rates(s.pick)).collect();
        let hi = lines.iter().flatten().map(|p| p.1).fold(0f64, f64::max);
        let top = if hi > 0.0 { hi } else { 1.0 } * (1.08 + self.time.label_room(MAIN_PLOT_PX));

        let mut chart = time_chart(&area, self.time, 0f64..top, "events per second", &|v| si(*v))?;
        for (l, points) in series.iter().zip(lines) {
            let style = l.color.stroke_width(l.width);
            match l.dash {
                None => chart.draw_series(LineSeries::new(points, style))?,
                Some((on, off)) => chart.draw_series(DashedLineSeries::new(points, on as u32, off as u32, style))?,
            };
        }
        draw_fault_labels(&mut chart, self.time, self.time.labels(MAIN_PLOT_PX))?;
        if hi <= 0.0 {
            draw_no_data(&chart.plotting_area().strip_coord_spec(), "no events in this run")?;
        }
        Ok(())
    }
}
