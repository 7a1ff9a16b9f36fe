//! `latency_distribution`: the HdrHistogram percentile plot, latency against
//! percentile on the usual 1/(1-q) axis where each decade is one more nine;
//! acknowledgement latency, and end-to-end latency beside it when the run
//! has a read path.

use hdrhistogram::Histogram;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::latency::{latency_budgets, Latency, SERIES};
use super::*;
use crate::model::{FaultWindow, Percentiles, RunReport};

/// Percentile labels at their positions, x = log10(1 / (1 - q)).
const TICKS: [(f64, &str); 8] = [
    (0.0, "0%"),
    (std::f64::consts::LOG10_2, "50%"),
    (1.0, "90%"),
    (2.0, "99%"),
    (3.0, "99.9%"),
    (4.0, "99.99%"),
    (5.0, "99.999%"),
    (6.0, "99.9999%"),
];

/// One curve: label, colour and histogram (µs).
struct Curve {
    label: String,
    color: RGBColor,
    hist: Histogram<u64>,
}

/// Colour of the end-to-end curve and its budgets: apart from the ack
/// curves (blue, red, green) and from the percentile colours of ack budgets.
const E2E: RGBColor = PALETTE[4];

/// The percentile plot of the whole run, its acknowledgement latency split
/// into in- and out-of-fault curves when the run had faults, since that
/// contrast is the point of a chaos run.
pub(crate) struct LatencyDistribution<'a> {
    report: &'a RunReport,
    curves: Vec<Curve>,
    /// Whether the last curve is the end-to-end latency; the ack curves and
    /// budgets then say "ack" so the two kinds are not confused.
    e2e: bool,
}

fn in_fault(start_ms: u64, end_ms: u64, faults: &[FaultWindow]) -> bool {
    faults
        .iter()
        .any(|f| f.start_ms < end_ms && f.end_ms.is_none_or(|e| e > start_ms))
}

fn describe(name: &str, h: &Histogram<u64>) -> String {
    let p = Percentiles::from_micros(h);
    format!("{name}, {} events: p99 {} ms", si(h.len() as f64), sig3(p.p99),)
}

impl<'a> LatencyDistribution<'a> {
    /// The plot of `report`.
    pub fn new(report: &'a RunReport) -> Self {
        // Drawn even when empty: "0 events" in the legend says nothing
        // reached the sink.
        let e2e = report.e2e_latency_us.as_ref();
        let ack = |name: &str| match e2e {
            Some(_) => format!("ack, {name}"),
            None => name.to_string(),
        };
        let mut curves = vec![Curve {
            label: describe(&ack("whole run"), &report.ack_latency_us),
            color: PALETTE[0],
            hist: report.ack_latency_us.clone(),
        }];
        if !report.faults.is_empty() {
            let mut inside = Histogram::new_from(&report.ack_latency_us);
            let mut outside = Histogram::new_from(&report.ack_latency_us);
            for (i, h) in report.ack_intervals.iter().enumerate() {
                let start = report
                    .buckets
                    .get(i)
                    .map(|b| b.start_ms)
                    .unwrap_or(i as u64 * report.bucket_ms);
                let end = start + report.bucket_ms.max(1);
                let target = if in_fault(start, end, &report.faults) {
                    &mut inside
                } else {
                    &mut outside
                };
                // A bucket histogram outside the run's range is a producer
                // bug; the whole-run curve still shows the truth.
                let _ = target.add(h.histogram());
            }
            if !inside.is_empty() && !outside.is_empty() {
                curves.push(Curve {
                    label: describe(&ack("during faults"), &inside),
                    color: FAULT,
                    hist: inside,
                });
                curves.push(Curve {
                    label: describe(&ack("outside faults"), &outside),
                    color: PALETTE[2],
                    hist: outside,
                });
            }
        }
        if let Some(h) = e2e {
            curves.push(Curve {
                label: describe("end to end, whole run", h),
                color: E2E,
                hist: h.clone(),
            });
        }
        LatencyDistribution {
            report,
            curves,
            e2e: e2e.is_some(),
        }
    }
}

/// Points (x = log10(1/(1-q)), latency ms) of a histogram's percentile
/// curve, ending at its max drawn at `x_end`.
fn curve_points(h: &Histogram<u64>, x_end: f64) -> Vec<(f64, f64)> {
    let mut pts = Vec::new();
    if h.is_empty() {
        return pts;
    }
    for it in h.iter_quantiles(5) {
        let q = it.quantile_iterated_to();
        if q >= 1.0 {
            break;
        }
        let x = (1.0 / (1.0 - q)).log10();
        if x > x_end {
            break;
        }
        let v = h.highest_equivalent(it.value_iterated_to()) as f64 / 1000.0;
        pts.push((x, v));
    }
    pts.push((x_end, h.max() as f64 / 1000.0));
    pts
}

impl Figure for LatencyDistribution<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, title: &str) -> Drawn
    where
        DB::ErrorType: 'static,
    {
        // Ack budgets keep their percentile's colour; end-to-end budgets
        // take the end-to-end curve's, and both say which latency they limit.
        let ack_prefix = if self.e2e { "ack " } else { "" };
        let mut budgets = Vec::new();
        for (i, b) in latency_budgets(&self.report.result, Latency::Ack) {
            budgets.push((format!("{ack_prefix}{}", SERIES[i].0), SERIES[i].2, b));
        }
        if self.e2e {
            for (i, b) in latency_budgets(&self.report.result, Latency::EndToEnd) {
                budgets.push((format!("e2e {}", SERIES[i].0), E2E, b));
            }
        }
        let mut legend: Vec<LegendItem> = self
            .curves
            .iter()
            .map(|c| LegendItem::new(c.label.clone(), c.color, LegendMark::Line))
            .collect();
        for (name, color, b) in &budgets {
            legend.push(LegendItem::new(
                format!("{name} budget {}", crate::text::ms(b.limit)),
                *color,
                LegendMark::Dashed,
            ));
        }
        let area = frame(root, title, &legend)?;
        let largest = self.curves.iter().map(|c| c.hist.len()).max().unwrap_or(0);
        if largest == 0 {
            return draw_no_data(&area, "no events were acknowledged");
        }

        // Enough nines to show the tail the sample can support, and at
        // least to 99.99% so plots of different runs line up.
        let x_end = (largest as f64).log10().ceil().clamp(4.0, 6.0);
        let lines: Vec<_> = self.curves.iter().map(|c| curve_points(&c.hist, x_end)).collect();
        let values = lines
            .iter()
            .flatten()
            .map(|p| p.1)
            .filter(|v| *v > 0.0)
            .chain(budgets.iter().map(|(_, _, b)| b.limit));
        let (lo, hi) = values.fold((f64::MAX, 0f64), |(l, h), v| (l.min(v), h.max(v)));
        let (y0, y1) = log_range(lo, hi, 0.0);
        let ticks: Vec<f64> = TICKS.iter().map(|t| t.0).filter(|x| *x <= x_end).collect();

        let mut chart = ChartBuilder::on(&area)
            .margin_right(40)
            .margin_top(6)
            .margin_left(16)
            .x_label_area_size(X_AREA)
            .y_label_area_size(Y_AREA)
            .build_cartesian_2d(
                ticked(0f64..x_end, ticks),
                (y0..y1).log_scale().with_key_points(log_ticks(y0, y1)),
            )?;
        chart
            .configure_mesh()
            .x_desc("percentile")
            .y_desc(if self.e2e {
                "latency (ms, log scale)"
            } else {
                Latency::Ack.y_desc()
            })
            .axis_desc_style(axis_font())
            .label_style(label_font())
            .x_label_formatter(&|x| {
                TICKS
                    .iter()
                    .find(|t| (t.0 - x).abs() < 1e-6)
                    .map(|t| t.1.to_string())
                    .unwrap_or_default()
            })
            .y_label_formatter(&|v| ms_tick(*v))
            .max_light_lines(0)
            .draw()?;
        for (c, line) in self.curves.iter().zip(lines).rev() {
            let floor = y0;
            let line = line.into_iter().map(|(x, y)| (x, y.max(floor)));
            chart.draw_series(LineSeries::new(line, c.color.stroke_width(3)))?;
        }
        for (_, color, b) in &budgets {
            chart.draw_series(DashedLineSeries::new(
                vec![(0.0, b.limit), (x_end, b.limit)],
                10,
                6,
                color.stroke_width(2),
            ))?;
        }
        Ok(())
    }
}
