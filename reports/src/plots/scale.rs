//! The scale benchmark's plot: wall time and peak memory of the virtual
//! days against their events, on log axes, beside the lines that linear
//! time and flat memory would draw.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::*;

/// One measured day.
#[derive(Clone, Debug, PartialEq)]
pub struct ScalePoint {
    /// Scenario name, e.g. `day-10m`.
    pub name: String,
    /// Events the run generated.
    pub events: f64,
    /// Wall seconds it took.
    pub wall_s: f64,
    /// Peak resident memory, MiB.
    pub peak_rss_mib: f64,
}

/// A limit a day must stay within, e.g. the scale issue's 600 s and 2 GiB for a billion events.
#[derive(Clone, Debug, PartialEq)]
pub struct ScaleTarget {
    /// Events of the day it applies to.
    pub events: f64,
    /// Most wall seconds.
    pub wall_s: f64,
    /// Most peak resident memory, MiB.
    pub peak_rss_mib: f64,
}

/// Two panels side by side: wall seconds and peak RSS against events.
pub(crate) struct ScaleFigure {
    pub points: Vec<ScalePoint>,
    pub targets: Vec<ScaleTarget>,
}

impl Figure for ScaleFigure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, title: &str) -> Drawn
    where
        DB::ErrorType: 'static,
    {
        let mut legend = vec![
            LegendItem::new("measured", PALETTE[0], LegendMark::Line),
            LegendItem::new(
                "from the smallest day: time linear in events, memory flat",
                BLACK,
                LegendMark::Dashed,
            ),
        ];
        if !self.targets.is_empty() {
            legend.push(LegendItem::new("target", FAULT, LegendMark::Cross));
        }
        let area = frame(root, title, &legend)?;
        let mut points: Vec<&ScalePoint> = self
            .points
            .iter()
            .filter(|p| p.events > 0.0 && p.wall_s > 0.0 && p.peak_rss_mib > 0.0)
            .collect();
        if points.is_empty() {
            return draw_no_data(&area, "no day was measured");
        }
        points.sort_by(|a, b| a.events.total_cmp(&b.events));
        let (left, right) = area.split_horizontally(area.dim_in_pixel().0 / 2);
        let first = points[0];
        let targets =
            |f: fn(&ScaleTarget) -> f64| -> Vec<(f64, f64)> { self.targets.iter().map(|t| (t.events, f(t))).collect() };
        panel(
            &left,
            &points,
            &targets(|t| t.wall_s),
            |p| p.wall_s,
            |e| first.wall_s * e / first.events,
            "wall time (s, log scale)",
            &|v: &f64| sig3(*v),
        )?;
        panel(
            &right,
            &points,
            &targets(|t| t.peak_rss_mib),
            |p| p.peak_rss_mib,
            |_| first.peak_rss_mib,
            "peak resident memory (MiB, log scale)",
            &|v: &f64| sig3(*v),
        )?;
        Ok(())
    }
}

/// One log-log panel: the measured points joined, the reference dashed,
/// each point labelled with its scenario, the targets as red crosses.
fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    points: &[&ScalePoint],
    targets: &[(f64, f64)],
    value: impl Fn(&ScalePoint) -> f64,
    reference: impl Fn(f64) -> f64,
    y_desc: &str,
    y_label: &dyn Fn(&f64) -> String,
) -> Drawn
where
    DB::ErrorType: 'static,
{
    let (xl, xh) = points
        .iter()
        .map(|p| p.events)
        .chain(targets.iter().map(|t| t.0))
        .fold((f64::MAX, 0f64), |(l, h), v| (l.min(v), h.max(v)));
    let refs = [reference(xl), reference(xh)];
    let (yl, yh) = points
        .iter()
        .map(|p| value(p))
        .chain(refs)
        .chain(targets.iter().map(|t| t.1))
        .fold((f64::MAX, 0f64), |(l, h), v| (l.min(v), h.max(v)));
    let (x0, x1) = log_range(xl, xh, 0.1);
    let (y0, y1) = log_range(yl, yh, 0.15);
    let mut chart = ChartBuilder::on(area)
        .margin_right(30)
        .margin_top(6)
        .margin_left(16)
        .x_label_area_size(X_AREA)
        .y_label_area_size(Y_AREA)
        .build_cartesian_2d(
            (x0..x1).log_scale().with_key_points(log_ticks(x0, x1)),
            (y0..y1).log_scale().with_key_points(enough_log_ticks(y0, y1)),
        )?;
    chart
        .configure_mesh()
        .x_desc("events in the day (log scale)")
        .y_desc(y_desc)
        .axis_desc_style(axis_font())
        .label_style(label_font())
        .x_label_formatter(&|v: &f64| si(*v).replace('G', "B"))
        .y_label_formatter(y_label)
        .max_light_lines(0)
        .draw()?;
    chart.draw_series(DashedLineSeries::new(
        [(x0, reference(x0)), (x1, reference(x1))],
        6,
        6,
        BLACK.mix(0.5).stroke_width(2),
    ))?;
    let line: Vec<(f64, f64)> = points.iter().map(|p| (p.events, value(p))).collect();
    chart.draw_series(LineSeries::new(line.clone(), PALETTE[0].stroke_width(3)))?;
    chart.draw_series(line.iter().map(|&p| Circle::new(p, 6, PALETTE[0].filled())))?;
    chart.draw_series(targets.iter().map(|&t| Cross::new(t, 9, FAULT.stroke_width(3))))?;
    chart.draw_series(targets.iter().map(|&t| {
        Text::new(
            format!("target: {}  ", sig3(t.1)),
            t,
            label_font().color(&FAULT_TEXT).pos(Pos::new(HPos::Right, VPos::Top)),
        )
    }))?;
    // Labels of the right half go to the left of their point, so none runs off the plot.
    let middle = (x0 * x1).sqrt();
    chart.draw_series(points.iter().map(|p| {
        let h = if p.events > middle { HPos::Right } else { HPos::Left };
        Text::new(
            format!("  {}: {}  ", p.name, sig3(value(p))),
            (p.events, value(p)),
            label_font().pos(Pos::new(h, VPos::Bottom)),
        )
    }))?;
    Ok(())
}

/// Log-axis ticks, with the steps between 1, 2 and 5 filled in when those
/// alone leave fewer than four: peak memory spans less than a decade, and a
/// panel with one tick cannot be read.
fn enough_log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let ticks = log_ticks(lo, hi);
    if ticks.len() >= 4 {
        return ticks;
    }
    let mut out = Vec::new();
    let mut exp = lo.log10().floor() as i32;
    while 10f64.powi(exp) <= hi {
        for s in [1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 7.0] {
            let v = s * 10f64.powi(exp);
            if v >= lo && v <= hi {
                out.push(v);
            }
        }
        exp += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::enough_log_ticks;

    #[test]
    fn a_narrow_log_axis_gets_at_least_four_ticks() {
        let t = enough_log_ticks(250.0, 2000.0);
        assert!(t.len() >= 4, "{t:?}");
        assert!(t.iter().all(|v| (250.0..=2000.0).contains(v)));
        assert!(t.windows(2).all(|w| w[0] < w[1]));
        // A wide one keeps the plain decades' ticks.
        assert_eq!(enough_log_ticks(1.0, 1e6), super::log_ticks(1.0, 1e6));
    }
}
