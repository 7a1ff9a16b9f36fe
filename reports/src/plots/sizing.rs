//! The sizing command's plots: acknowledgement p99 against broker count per
//! machine with the budget line, and the sizing curve (cost per million
//! events against daily volume).

use plotters::coord::Shift;
use plotters::prelude::*;

use super::*;

/// One simulated candidate.
#[derive(Clone, Debug, PartialEq)]
pub struct SizingPoint {
    /// Machine profile.
    pub machine: String,
    /// Brokers.
    pub brokers: usize,
    /// Acknowledgement p99 at the peak with the failure, ms.
    pub ack_p99_ms: f64,
    /// Passed every check, budget, headroom and the disk.
    pub passed: bool,
}

/// p99 against brokers, a line per machine.
pub(crate) struct P99ByBrokers {
    pub points: Vec<SizingPoint>,
    pub budget_ms: Option<f64>,
}

impl Figure for P99ByBrokers {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, title: &str) -> Drawn
    where
        DB::ErrorType: 'static,
    {
        let mut machines: Vec<&str> = self.points.iter().map(|p| p.machine.as_str()).collect();
        machines.sort_unstable();
        machines.dedup();
        let mut legend: Vec<LegendItem> = machines
            .iter()
            .enumerate()
            .map(|(i, m)| LegendItem::new(m.to_string(), series_color(i), LegendMark::Line))
            .collect();
        legend.push(LegendItem::new(
            "passed (filled) / failed (open)",
            BLACK,
            LegendMark::Dot,
        ));
        if self.budget_ms.is_some() {
            legend.push(LegendItem::new("ack p99 budget", FAULT, LegendMark::Line));
        }
        let area = frame(root, title, &legend)?;
        let values = self.points.iter().map(|p| p.ack_p99_ms).chain(self.budget_ms);
        let (lo, hi) = values
            .filter(|v| *v > 0.0)
            .fold((f64::MAX, 0f64), |(l, h), v| (l.min(v), h.max(v)));
        if hi <= 0.0 {
            return draw_no_data(&area, "no candidate acknowledged anything");
        }
        let b_max = self.points.iter().map(|p| p.brokers).max().unwrap_or(1);
        let b_min = self.points.iter().map(|p| p.brokers).min().unwrap_or(1);
        let x_ticks: Vec<f64> = (b_min..=b_max).map(|b| b as f64).collect();
        let x = || ticked(b_min as f64 - 0.5..b_max as f64 + 0.5, x_ticks.clone());
        let builder = || {
            let mut b = ChartBuilder::on(&area);
            b.margin_right(40)
                .margin_top(6)
                .margin_left(16)
                .x_label_area_size(X_AREA)
                .y_label_area_size(Y_AREA);
            b
        };
        // Candidates of one machine often land within a few percent of each other (the
        // failure's timeouts dominate); a log axis would show no tick there.
        if let Some(a) = NarrowAxis::of(lo, hi) {
            let mut chart = builder().build_cartesian_2d(x(), ticked(a.lo..a.hi, a.ticks.clone()))?;
            chart
                .configure_mesh()
                .x_desc("brokers")
                .y_desc("ack p99 with the failure (ms)")
                .axis_desc_style(axis_font())
                .label_style(label_font())
                .x_label_formatter(&|v: &f64| format!("{}", v.round()))
                .y_label_formatter(&|v: &f64| a.label(*v))
                .max_light_lines(0)
                .draw()?;
            self.series(&mut chart, &machines, a.lo, (b_min, b_max))
        } else {
            let (y0, y1) = log_range(lo, hi, 0.1);
            let mut chart =
                builder().build_cartesian_2d(x(), (y0..y1).log_scale().with_key_points(log_ticks(y0, y1)))?;
            chart
                .configure_mesh()
                .x_desc("brokers")
                .y_desc("ack p99 with the failure (ms, log scale)")
                .axis_desc_style(axis_font())
                .label_style(label_font())
                .x_label_formatter(&|v: &f64| format!("{}", v.round()))
                .y_label_formatter(&|v: &f64| ms_tick(*v))
                .max_light_lines(0)
                .draw()?;
            self.series(&mut chart, &machines, y0, (b_min, b_max))
        }
    }
}

impl P99ByBrokers {
    /// The budget line and a line of candidates per machine, on either kind of y axis.
    fn series<DB, Y>(
        &self,
        chart: &mut ChartContext<'_, DB, Cartesian2d<Ticked, Y>>,
        machines: &[&str],
        y_floor: f64,
        (b_min, b_max): (usize, usize),
    ) -> Drawn
    where
        DB: DrawingBackend,
        DB::ErrorType: 'static,
        Y: Ranged<ValueType = f64>,
    {
        if let Some(b) = self.budget_ms {
            chart.draw_series(DashedLineSeries::new(
                [(b_min as f64 - 0.5, b), (b_max as f64 + 0.5, b)],
                10,
                6,
                FAULT.stroke_width(2),
            ))?;
        }
        for (i, m) in machines.iter().enumerate() {
            let c = series_color(i);
            let mut pts: Vec<&SizingPoint> = self.points.iter().filter(|p| p.machine == *m).collect();
            pts.sort_by_key(|p| p.brokers);
            chart.draw_series(LineSeries::new(
                pts.iter().map(|p| (p.brokers as f64, p.ack_p99_ms.max(y_floor))),
                c.stroke_width(2),
            ))?;
            chart.draw_series(pts.iter().map(|p| {
                let style = if p.passed { c.filled() } else { c.stroke_width(2) };
                Circle::new((p.brokers as f64, p.ack_p99_ms.max(y_floor)), 7, style)
            }))?;
        }
        Ok(())
    }
}

/// One daily volume's answer.
#[derive(Clone, Debug, PartialEq)]
pub struct CurvePoint {
    /// Events a day.
    pub events_per_day: f64,
    /// USD per million events of the cheapest passing cluster.
    pub cost_per_million_usd: f64,
    /// Its label, e.g. `3 x m5.2xlarge-gp3`.
    pub label: String,
}

/// Cost per million events against daily volume, both on log axes.
pub(crate) struct SizingCurve {
    pub points: Vec<CurvePoint>,
}

impl Figure for SizingCurve {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, title: &str) -> Drawn
    where
        DB::ErrorType: 'static,
    {
        let legend = vec![LegendItem::new(
            "cheapest passing cluster",
            PALETTE[0],
            LegendMark::Line,
        )];
        let area = frame(root, title, &legend)?;
        if self.points.is_empty() {
            return draw_no_data(&area, "no volume was sized");
        }
        let (xl, xh) = self.points.iter().fold((f64::MAX, 0f64), |(l, h), p| {
            (l.min(p.events_per_day), h.max(p.events_per_day))
        });
        let (yl, yh) = self.points.iter().fold((f64::MAX, 0f64), |(l, h), p| {
            (l.min(p.cost_per_million_usd), h.max(p.cost_per_million_usd))
        });
        let (x0, x1) = log_range(xl, xh, 0.05);
        let (y0, y1) = log_range(yl, yh, 0.15);
        let mut chart = ChartBuilder::on(&area)
            .margin_right(60)
            .margin_top(6)
            .margin_left(16)
            .x_label_area_size(X_AREA)
            .y_label_area_size(Y_AREA)
            .build_cartesian_2d(
                (x0..x1).log_scale().with_key_points(log_ticks(x0, x1)),
                (y0..y1).log_scale().with_key_points(log_ticks(y0, y1)),
            )?;
        chart
            .configure_mesh()
            .x_desc("events a day (log scale)")
            .y_desc("cost per million events (USD, log scale)")
            .axis_desc_style(axis_font())
            .label_style(label_font())
            .x_label_formatter(&|v: &f64| si(*v).replace('G', "B"))
            .y_label_formatter(&|v: &f64| format!("${}", sig3(*v)))
            .max_light_lines(0)
            .draw()?;
        let line: Vec<(f64, f64)> = self
            .points
            .iter()
            .map(|p| (p.events_per_day, p.cost_per_million_usd))
            .collect();
        chart.draw_series(LineSeries::new(line.clone(), PALETTE[0].stroke_width(3)))?;
        chart.draw_series(line.iter().map(|&p| Circle::new(p, 6, PALETTE[0].filled())))?;
        // Labels of the right half go to the left of their point, so none runs off the plot.
        let middle = (x0 * x1).sqrt();
        chart.draw_series(self.points.iter().map(|p| {
            let h = if p.events_per_day > middle {
                HPos::Right
            } else {
                HPos::Left
            };
            Text::new(
                format!("  {}: ${} per million  ", p.label, sig3(p.cost_per_million_usd)),
                (p.events_per_day, p.cost_per_million_usd),
                label_font().pos(Pos::new(h, VPos::Bottom)),
            )
        }))?;
        Ok(())
    }
}
