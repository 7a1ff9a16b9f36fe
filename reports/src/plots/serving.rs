//! `serving`: the serving layer over time, in two panels on one time axis:
//! the cache's hit ratio, and read latency p50 and p99 (log scale) with
//! the read budget. A cache crash shows in its shaded window as the hit
//! ratio falling to nothing and latency rising to the database's.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::decor::draw_fault_labels;
use super::*;
use crate::model::{Percentiles, RunReport};

/// The budget's name in the run result.
const BUDGET: &str = "read_p99_ms";

type Pick = fn(&Percentiles) -> f64;

/// The latency percentiles drawn, with their colours.
const SERIES: [(&str, Pick, RGBColor); 2] = [("read p50", |p| p.p50, PALETTE[0]), ("read p99", |p| p.p99, PALETTE[1])];

/// The time plot of the serving layer.
pub(crate) struct ServingOverTime<'a> {
    report: &'a RunReport,
    time: &'a TimeAxis,
}

impl<'a> ServingOverTime<'a> {
    /// The plot of `report` on `time`.
    pub fn new(report: &'a RunReport, time: &'a TimeAxis) -> Self {
        ServingOverTime { report, time }
    }

    /// Runs of consecutive buckets with reads of `value`, so a bucket without reads leaves a gap.
    fn runs(&self, value: &dyn Fn(&crate::model::ServingBucket) -> f64) -> Vec<Vec<(f64, f64)>> {
        let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
        let mut cur = Vec::new();
        for b in &self.report.buckets {
            match b.serving.filter(|s| s.reads > 0) {
                Some(s) => cur.push((self.time.mid(b.start_ms), value(&s))),
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

fn draw_runs<DB, X, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<X, Y>>,
    runs: &[Vec<(f64, f64)>],
    color: RGBColor,
) -> Drawn
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    for seg in runs {
        chart.draw_series(LineSeries::new(seg.clone(), color.stroke_width(2)))?;
        if seg.len() == 1 {
            chart.draw_series(std::iter::once(Circle::new(seg[0], 3, color.filled())))?;
        }
    }
    Ok(())
}

impl Figure for ServingOverTime<'_> {
    fn size(&self) -> PlotSize {
        PlotSize {
            width: PLOT_SIZE.width,
            height: 900,
        }
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, title: &str) -> Drawn
    where
        DB::ErrorType: 'static,
    {
        let budget = self.report.result.budget_limit(BUDGET);
        let hit_color = PALETTE[2];
        let mut legend = vec![LegendItem::new("cache hit ratio", hit_color, LegendMark::Line)];
        legend.extend(SERIES.iter().map(|(n, _, c)| LegendItem::new(*n, *c, LegendMark::Line)));
        if let Some(limit) = budget {
            legend.push(LegendItem::new(
                format!("read p99 budget {}", crate::text::ms(limit)),
                SERIES[1].2,
                LegendMark::Dashed,
            ));
        }
        legend.extend(self.time.legend(MAIN_PLOT_PX));
        let area = frame(root, title, &legend)?;
        let (top, bottom) = area.split_vertically(area.dim_in_pixel().1 * 2 / 5);

        let hits = self.runs(&|s| 100.0 * s.hits as f64 / s.reads as f64);
        let room = 1.0 + self.time.label_room(MAIN_PLOT_PX);
        let mut chart = time_chart(&top, self.time, 0f64..100.0 * room, "cache hit ratio (%)", &|v| {
            format!("{v:.0}")
        })?;
        draw_runs(&mut chart, &hits, hit_color)?;
        draw_fault_labels(&mut chart, self.time, self.time.labels(MAIN_PLOT_PX))?;
        if hits.is_empty() {
            draw_no_data(&chart.plotting_area().strip_coord_spec(), "no reads answered")?;
        }

        let lines: Vec<_> = SERIES
            .iter()
            .map(|(_, pick, _)| self.runs(&|s| pick(&s.latency_ms).max(0.001)))
            .collect();
        let (lo, hi) = lines
            .iter()
            .flatten()
            .flatten()
            .map(|p| p.1)
            .chain(budget)
            .fold((f64::MAX, 0f64), |(l, h), v| (l.min(v), h.max(v)));
        let (y0, y1) = log_range(lo, hi, 0.0);
        let mut chart = time_chart(
            &bottom,
            self.time,
            (y0..y1).log_scale().with_key_points(log_ticks(y0, y1)),
            "read latency (ms, log scale)",
            &|v| ms_tick(*v),
        )?;
        for ((_, _, color), runs) in SERIES.iter().zip(&lines) {
            draw_runs(&mut chart, runs, *color)?;
        }
        if let Some(limit) = budget {
            chart.draw_series(DashedLineSeries::new(
                vec![(0.0, limit), (self.time.end_s, limit)],
                10,
                6,
                SERIES[1].2.stroke_width(2),
            ))?;
        }
        Ok(())
    }
}
