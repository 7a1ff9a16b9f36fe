//! `autoscale`: the cluster's size over time above the members' mean CPU
//! that each decision period looked at, with the scale-out and scale-in
//! thresholds, so a step can be read against the load that caused it.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::decor::draw_fault_labels;
use super::*;
use crate::model::RunReport;

/// The two-panel plot of brokers and CPU.
pub(crate) struct Autoscale<'a> {
    report: &'a RunReport,
    time: &'a TimeAxis,
}

impl<'a> Autoscale<'a> {
    /// The plot of `report` on `time`.
    pub fn new(report: &'a RunReport, time: &'a TimeAxis) -> Self {
        Autoscale { report, time }
    }
}

impl Figure for Autoscale<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, title: &str) -> Drawn
    where
        DB::ErrorType: 'static,
    {
        let Some(a) = &self.report.result.autoscale else {
            let area = frame(root, title, &[])?;
            return draw_no_data(&area, "no autoscaling in this run");
        };
        let (size, cpu) = (PALETTE[0], PALETTE[1]);
        let dashed = |label: &str, c: RGBColor| {
            LegendItem::new(
                label,
                c,
                LegendMark::Stroke {
                    width: 2,
                    dash: Some((10, 6)),
                },
            )
        };
        let mut legend = vec![
            LegendItem::new(
                "brokers in the cluster",
                size,
                LegendMark::Stroke { width: 3, dash: None },
            ),
            LegendItem::new(
                "members' mean CPU over each decision period",
                cpu,
                LegendMark::Stroke { width: 3, dash: None },
            ),
            dashed("scale-out threshold", FAULT),
            dashed("scale-in threshold", PALETTE[2]),
        ];
        legend.extend(self.time.legend(MAIN_PLOT_PX));
        let area = frame(root, title, &legend)?;
        let h = area.dim_in_pixel().1;
        let (top, bottom) = area.split_vertically(h * 2 / 5);
        let end = self.time.end_s;

        // Brokers: a step line from time zero to the axis's end.
        let mut steps = vec![(0.0, a.min_brokers as f64)];
        for e in &a.scale_events {
            let t = e.at_ms as f64 / 1000.0;
            steps.push((t, e.from as f64));
            steps.push((t, e.to as f64));
        }
        steps.push((end, a.brokers_at(u64::MAX) as f64));
        let hi = a.max_brokers as f64;
        let ticks: Vec<f64> = (0..=a.max_brokers).map(|b| b as f64).collect();
        let mut chart = time_chart(&top, self.time, ticked(0.0..hi + 0.6, ticks), "brokers", &|v| {
            format!("{v:.0}")
        })?;
        chart.draw_series(LineSeries::new(steps, size.stroke_width(3)))?;
        chart.draw_series(DashedLineSeries::new(
            [(0.0, hi), (end, hi)],
            4,
            6,
            BLACK.mix(0.4).stroke_width(1),
        ))?;
        draw_fault_labels(&mut chart, self.time, self.time.labels(MAIN_PLOT_PX))?;

        // CPU: each period's mean, drawn at the period's end, with both thresholds.
        let points: Vec<(f64, f64)> = a
            .periods
            .iter()
            .map(|p| (p.at_ms as f64 / 1000.0, p.cpu * 100.0))
            .collect();
        let mut chart = time_chart(
            &bottom,
            self.time,
            ticked(0.0..105.0, vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]),
            "mean broker CPU (%)",
            &|v| format!("{v:.0}"),
        )?;
        chart.draw_series(LineSeries::new(points.clone(), cpu.stroke_width(3)))?;
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 4, cpu.filled())))?;
        for (share, color) in [(a.cpu_scale_out, FAULT), (a.cpu_scale_in, PALETTE[2])] {
            chart.draw_series(DashedLineSeries::new(
                [(0.0, share * 100.0), (end, share * 100.0)],
                10,
                6,
                color.stroke_width(2),
            ))?;
        }
        if points.is_empty() {
            draw_no_data(&chart.plotting_area().strip_coord_spec(), "no decision period ended")?;
        }
        Ok(())
    }
}
