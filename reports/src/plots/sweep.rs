//! `p99_across_seeds`: a strip plot of each seed's ack p99 per scenario, so
//! a scenario whose tail depends on the seed shows as a wide strip.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::*;

/// One scenario's row: each seed's p99 (ms) and whether its outcome was unexpected.
pub(crate) struct StripRow {
    /// Scenario name.
    pub scenario: String,
    /// (seed, ack p99 ms, outcome differs from `expect`).
    pub points: Vec<(u64, f64, bool)>,
}

/// The strip plot of per-seed p99 per scenario.
pub(crate) struct P99AcrossSeeds {
    rows: Vec<StripRow>,
}

impl P99AcrossSeeds {
    /// The plot of `rows`, first row on top.
    pub fn new(rows: Vec<StripRow>) -> Self {
        P99AcrossSeeds { rows }
    }
}

/// A stable vertical offset in [-0.25, 0.25) so equal values stay visible.
fn jitter(seed: u64) -> f64 {
    let h = seed.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
    (h as f64 / (1u64 << 24) as f64 - 0.5) * 0.5
}

fn short(name: &str) -> String {
    if name.chars().count() > 32 {
        let head: String = name.chars().take(31).collect();
        format!("{head}…")
    } else {
        name.to_string()
    }
}

impl Figure for P99AcrossSeeds {
    fn size(&self) -> PlotSize {
        PlotSize {
            width: PLOT_SIZE.width,
            height: (170 + 56 * self.rows.len() as u32).clamp(PLOT_SIZE.height, 4000),
        }
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, title: &str) -> Drawn
    where
        DB::ErrorType: 'static,
    {
        let (ok_c, bad_c, median_c) = (PALETTE[0], FAULT, BLACK);
        let legend = vec![
            LegendItem::new("seed, outcome as expected", ok_c, LegendMark::Dot),
            LegendItem::new("seed, unexpected outcome", bad_c, LegendMark::Dot),
            LegendItem::new("median over seeds", median_c, LegendMark::Line),
        ];
        let area = frame(root, title, &legend)?;
        let values = self.rows.iter().flat_map(|r| r.points.iter().map(|p| p.1));
        let (lo, hi) = values
            .filter(|v| *v > 0.0)
            .fold((f64::MAX, 0f64), |(l, h), v| (l.min(v), h.max(v)));
        if hi <= 0.0 {
            return draw_no_data(&area, "no acknowledged events in any run");
        }
        // A sweep whose seeds all land within a few percent of each other is
        // common (a scenario without faults); it needs ticks of its own.
        let narrow = NarrowAxis::of(lo, hi);
        let (x0, x1, x_ticks) = match &narrow {
            Some(a) => (a.lo, a.hi, a.ticks.clone()),
            None => {
                let (x0, x1) = log_range(lo, hi, 0.0);
                (x0, x1, log_ticks(x0, x1))
            }
        };
        let x_label = |v: &f64| match &narrow {
            Some(a) => a.label(*v),
            None => ms_tick(*v),
        };
        let n = self.rows.len();
        let names: Vec<String> = self.rows.iter().map(|r| short(&r.scenario)).collect();
        let longest = names.iter().map(|s| s.chars().count()).max().unwrap_or(8);
        let y_area = (longest as u32 * 12 + 60).clamp(Y_AREA, 480);

        let mut chart = ChartBuilder::on(&area)
            .margin_right(40)
            .margin_top(6)
            .margin_left(16)
            .x_label_area_size(X_AREA)
            .y_label_area_size(y_area)
            .build_cartesian_2d(
                (x0..x1).log_scale().with_key_points(x_ticks),
                ticked(-0.5f64..n as f64 - 0.5, (0..n).map(|i| i as f64).collect()),
            )?;
        let label_of = |y: &f64| {
            let i = n as i64 - 1 - y.round() as i64;
            usize::try_from(i)
                .ok()
                .and_then(|i| names.get(i).cloned())
                .unwrap_or_default()
        };
        chart
            .configure_mesh()
            .x_desc(if narrow.is_some() {
                "ack latency p99 of each seed (ms)"
            } else {
                "ack latency p99 of each seed (ms, log scale)"
            })
            .y_desc("scenario")
            .axis_desc_style(axis_font())
            .label_style(label_font())
            .x_label_formatter(&x_label)
            .y_label_formatter(&label_of)
            .max_light_lines(0)
            .draw()?;
        for (i, row) in self.rows.iter().enumerate() {
            let y = (n - 1 - i) as f64;
            // Unexpected points last so a red dot is never hidden under blue.
            let mut pts: Vec<_> = row.points.iter().filter(|p| p.1 > 0.0).collect();
            pts.sort_by_key(|p| p.2);
            chart.draw_series(pts.iter().map(|&&(seed, v, bad)| {
                let c = if bad { bad_c } else { ok_c };
                Circle::new((v, y + jitter(seed)), 6, c.mix(0.75).filled())
            }))?;
            let mut vals: Vec<f64> = row.points.iter().map(|p| p.1).filter(|v| *v > 0.0).collect();
            vals.sort_by(f64::total_cmp);
            if !vals.is_empty() {
                let m = crate::text::median_sorted(&vals);
                chart.draw_series(std::iter::once(PathElement::new(
                    vec![(m, y - 0.38), (m, y + 0.38)],
                    median_c.stroke_width(3),
                )))?;
            }
        }
        Ok(())
    }
}
