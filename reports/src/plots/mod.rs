//! Plots of a run and of a sweep, each rendered once as SVG and once as PNG
//! from the same drawing code.

mod autoscale;
mod brokers;
mod coarse;
mod decor;
mod distribution;
mod lake;
mod latency;
mod partitions;
mod rate_limit;
pub(crate) mod scale;
mod serving;
pub(crate) mod sizing;
mod subscriptions;
pub(crate) mod sweep;
mod throughput;
mod transactions;

use std::error::Error;
use std::io;

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::fonts;
use crate::model::RunReport;
use latency::{Latency, LatencyOverTime};
use partitions::{Lag, PartitionLag};

pub(crate) use decor::{draw_fault_bands, draw_legend, legend_height, LegendItem, LegendMark, TimeAxis};

/// Pixel size of a plot (the PNG's size; the SVG's view box).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlotSize {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// Size of every run plot: wide enough for a minute of 1-second buckets,
/// and legible when GitHub scales it to its content width.
pub const PLOT_SIZE: PlotSize = PlotSize {
    width: 1200,
    height: 600,
};

/// Outcome of drawing; plotters errors are only ever reported, not handled.
pub(crate) type Drawn = Result<(), Box<dyn Error>>;

/// A plot that can draw itself on any plotters backend.
pub(crate) trait Figure {
    /// Pixel size.
    fn size(&self) -> PlotSize {
        PLOT_SIZE
    }
    /// Draws on `root`, which covers the whole image, under `title`.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, title: &str) -> Drawn
    where
        DB::ErrorType: 'static;
}

/// One plot, rendered both ways.
pub(crate) struct RenderedPlot {
    /// File stem, e.g. `ack_latency`.
    pub name: &'static str,
    /// Title shown above the plot, also used as alt text.
    pub title: String,
    /// SVG document.
    pub svg: String,
    /// PNG file bytes.
    pub png: Vec<u8>,
}

/// Renders `fig` as SVG and PNG.
pub(crate) fn render(name: &'static str, title: &str, fig: &impl Figure) -> io::Result<RenderedPlot> {
    fonts::ensure_registered();
    let size = fig.size();
    let dims = (size.width, size.height);
    let fail = |e: Box<dyn Error>| io::Error::other(format!("plot {name}: {e}"));

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, dims).into_drawing_area();
        fig.draw(&root, title).map_err(fail)?;
        root.present().map_err(|e| fail(e.into()))?;
    }

    let mut rgb = vec![0u8; size.width as usize * size.height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, dims).into_drawing_area();
        fig.draw(&root, title).map_err(fail)?;
        root.present().map_err(|e| fail(e.into()))?;
    }
    Ok(RenderedPlot {
        name,
        title: title.to_string(),
        svg,
        png: encode_png(&rgb, size)?,
    })
}

fn encode_png(rgb: &[u8], size: PlotSize) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, size.width, size.height);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut w = enc.write_header().map_err(io::Error::other)?;
    w.write_image_data(rgb).map_err(io::Error::other)?;
    w.finish().map_err(io::Error::other)?;
    Ok(out)
}

/// Title of the run plot `name` (one of [`crate::run_plots`]); `read` says
/// whether the run has a read path, which some plots then show too.
pub(crate) fn run_plot_title(name: &str, read: bool) -> &'static str {
    match name {
        "ack_latency" => "Acknowledgement latency over time",
        "e2e_latency" => "End-to-end latency over time (client to sink commit)",
        "throughput" => "Throughput",
        "partition_load" => "Load per partition",
        "replication_lag" => "Replication lag per partition",
        "consumer_lag" => "Consumer lag per partition (stream processor)",
        "latency_distribution" if read => "Latency by percentile: acknowledgement and end to end",
        "latency_distribution" => "Acknowledgement latency by percentile",
        "broker_utilisation" => "Broker utilisation",
        "gateway_utilisation" => "Gateway utilisation",
        "client_utilisation" => "Client utilisation (mean and busiest client)",
        "lake_freshness" => "Lake freshness over time (cold path)",
        "autoscale" => "Brokers and their mean CPU over time (autoscaling)",
        "rate_limited" => "Events refused by the gateways' rate limit",
        "serving" => "Serving layer: cache hit ratio and read latency over time",
        "subscription_lag" => "Consumer lag per subscription",
        "transactions_lso" => "Transactions: last stable offset next to the high watermark",
        _ => "",
    }
}

/// Renders every run plot of `report`, in [`crate::run_plots`] order.
pub(crate) fn render_run_plots(report: &RunReport) -> io::Result<Vec<RenderedPlot>> {
    let report = &*coarse::for_plotting(report);
    let time = TimeAxis::of(report);
    let read = report.e2e_latency_us.is_some();
    crate::run_plots(report)
        .into_iter()
        .map(|name| {
            let title = run_plot_title(name, read);
            match name {
                "ack_latency" => render(name, title, &LatencyOverTime::new(report, &time, Latency::Ack)),
                "e2e_latency" => render(name, title, &LatencyOverTime::new(report, &time, Latency::EndToEnd)),
                "throughput" => render(name, title, &throughput::Throughput::new(report, &time)),
                "partition_load" => render(name, title, &partitions::PartitionLoad::new(report)),
                "replication_lag" => render(name, title, &PartitionLag::new(report, &time, Lag::Replication)),
                "consumer_lag" => render(name, title, &PartitionLag::new(report, &time, Lag::Consumer)),
                "latency_distribution" => render(name, title, &distribution::LatencyDistribution::new(report)),
                "broker_utilisation" => render(
                    name,
                    title,
                    &brokers::BrokerUtilisation::new(report, &time, brokers::Nodes::Brokers),
                ),
                "gateway_utilisation" => render(
                    name,
                    title,
                    &brokers::BrokerUtilisation::new(report, &time, brokers::Nodes::Gateways),
                ),
                "client_utilisation" => render(
                    name,
                    title,
                    &brokers::BrokerUtilisation::new(report, &time, brokers::Nodes::Clients),
                ),
                "lake_freshness" => render(name, title, &lake::LakeFreshness::new(report, &time)),
                "autoscale" => render(name, title, &autoscale::Autoscale::new(report, &time)),
                "rate_limited" => render(name, title, &rate_limit::RateLimited::new(report, &time)),
                "serving" => render(name, title, &serving::ServingOverTime::new(report, &time)),
                "subscription_lag" => render(name, title, &subscriptions::SubscriptionLag::new(report, &time)),
                "transactions_lso" => render(name, title, &transactions::TransactionOffsets::new(report, &time)),
                _ => Err(io::Error::other(format!("no drawing for plot {name}"))),
            }
        })
        .collect()
}

/// Text sizes, in plotters units (SVG font-size is this / 1.24): none
/// under 20 so that labels stay near 16 px when GitHub shrinks the image.
pub(crate) mod sizes {
    /// Plot title.
    pub const TITLE: u32 = 30;
    /// Panel title in small multiples.
    pub const PANEL: u32 = 24;
    /// Axis titles.
    pub const AXIS: u32 = 22;
    /// Tick labels, legend entries, annotations.
    pub const LABEL: u32 = 20;
}

/// A qualitative palette (Tableau 10 and two lighter tones) in which
/// neighbours stay distinguishable for up to 12 series.
pub(crate) const PALETTE: [RGBColor; 12] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
    RGBColor(174, 199, 232),
    RGBColor(255, 187, 120),
    RGBColor(152, 223, 138),
];

/// Series colour `i`; beyond the palette, hues spread around the wheel.
pub(crate) fn series_color(i: usize) -> RGBColor {
    if i < PALETTE.len() {
        return PALETTE[i];
    }
    let (r, g, b) = HSLColor((i as f64 * 0.618_034) % 1.0, 0.55, 0.45).rgb();
    RGBColor(r, g, b)
}

/// Colour reserved for faults and for what went wrong.
pub(crate) const FAULT: RGBColor = RGBColor(214, 39, 40);
/// Darker fault colour for text on a light band.
pub(crate) const FAULT_TEXT: RGBColor = RGBColor(150, 20, 20);

/// Title font.
pub(crate) fn title_font() -> TextStyle<'static> {
    (fonts::FAMILY, sizes::TITLE).into_font().color(&BLACK)
}

/// Label font (ticks, legends, annotations).
pub(crate) fn label_font() -> TextStyle<'static> {
    (fonts::FAMILY, sizes::LABEL).into_font().color(&BLACK)
}

/// Axis title font.
pub(crate) fn axis_font() -> TextStyle<'static> {
    (fonts::FAMILY, sizes::AXIS).into_font().color(&BLACK)
}

/// A tick value with an SI suffix so long numbers fit beside the axis.
pub(crate) fn si(v: f64) -> String {
    let a = v.abs();
    let (x, suffix) = if a >= 1e9 {
        (v / 1e9, "G")
    } else if a >= 1e6 {
        (v / 1e6, "M")
    } else if a >= 1e3 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    format!("{}{suffix}", crate::text::decimal(x, 2))
}

/// A value to three significant digits, for annotations.
pub(crate) fn sig3(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return crate::text::decimal(v, 0);
    }
    let digits = (2 - v.abs().log10().floor() as i32).max(0) as usize;
    crate::text::decimal(v, digits)
}

/// A latency tick in ms: whole numbers without decimals, small ones with
/// enough digits to tell them apart.
pub(crate) fn ms_tick(v: f64) -> String {
    if v >= 1000.0 {
        si(v)
    } else if v >= 1.0 {
        crate::text::decimal(v, 1)
    } else {
        crate::text::decimal(v, 3)
    }
}

/// Range of a log axis covering `lo..hi` (both > 0) out to whole decades'
/// worth of margin, and at least one decade wide so ticks exist.
pub(crate) fn log_range(lo: f64, hi: f64, top_room: f64) -> (f64, f64) {
    let lo = if lo > 0.0 && lo.is_finite() { lo } else { 1.0 };
    let hi = if hi > lo && hi.is_finite() { hi } else { lo * 10.0 };
    let (l, h) = (lo.log10(), hi.log10());
    let span = (h - l).max(1.0);
    let bottom = l - 0.05 * span;
    let top = h + (0.05 + top_room) * span;
    (10f64.powf(bottom), 10f64.powf(top))
}

/// Width of the area left of a chart for tick labels and the axis title.
pub(crate) const Y_AREA: u32 = 110;
/// Height of the area below a chart for tick labels and the axis title.
pub(crate) const X_AREA: u32 = 70;
/// Approximate plotting width of a full-width chart, for fault-label layout.
pub(crate) const MAIN_PLOT_PX: u32 = 1040;
/// Where legends start, so they line up with the plotting area's left edge.
pub(crate) const LEGEND_LEFT: i32 = Y_AREA as i32 + 16;

/// Fills the background, writes the title and the legend strip, and
/// returns the area left for the chart.
pub(crate) fn frame<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    legend: &[LegendItem],
) -> Result<DrawingArea<DB, Shift>, Box<dyn Error>>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let (head, body) = root.split_vertically(52);
    let width = head.dim_in_pixel().0 as i32;
    head.draw(&Text::new(
        title.to_string(),
        (width / 2, 30),
        title_font().pos(Pos::new(HPos::Center, VPos::Center)),
    ))?;
    let h = legend_height(&body, legend, LEGEND_LEFT)?;
    let (strip, chart) = body.split_vertically(h);
    draw_legend(&strip, legend, LEGEND_LEFT)?;
    Ok(chart)
}

/// An axis over values that span less than a factor of [`NARROW_RATIO`]:
/// a log axis there would show one or two ticks, or none, however it is
/// padded, so the range is padded by a share of its own width and ticked at
/// 1-2-5 steps of that width.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct NarrowAxis {
    /// Start of the padded range.
    pub lo: f64,
    /// End of the padded range.
    pub hi: f64,
    /// Tick values, 4 to 10 of them, inside the range.
    pub ticks: Vec<f64>,
    /// Decimals every tick label needs to differ from its neighbours.
    pub decimals: usize,
}

/// Values spanning less than this factor get a [`NarrowAxis`].
pub(crate) const NARROW_RATIO: f64 = 3.0;

impl NarrowAxis {
    /// The axis for values from `lo` to `hi` (`0 < lo <= hi`), or `None`
    /// when they span a log axis's worth.
    pub fn of(lo: f64, hi: f64) -> Option<NarrowAxis> {
        if !(lo > 0.0 && hi >= lo && hi.is_finite()) || hi / lo >= NARROW_RATIO {
            return None;
        }
        // Equal values still get a readable width around them: 2% of the value.
        let pad = ((hi - lo) * 0.15).max(hi * 0.01);
        let (a, b) = ((lo - pad).max(lo / 2.0), hi + pad);
        let raw = (b - a) / 5.0;
        let mag = 10f64.powf(raw.log10().floor());
        let step = [1.0, 2.0, 5.0, 10.0]
            .into_iter()
            .map(|m| m * mag)
            .find(|s| *s >= raw)
            .unwrap_or(10.0 * mag);
        let first = (a / step).ceil() as i64;
        let last = (b / step).floor() as i64;
        let ticks = (first..=last).map(|k| k as f64 * step).collect();
        let decimals = (-(step.log10().floor()) as i64).max(0) as usize;
        Some(NarrowAxis {
            lo: a,
            hi: b,
            ticks,
            decimals,
        })
    }

    /// A tick label: every tick with the same number of decimals.
    pub fn label(&self, v: f64) -> String {
        format!("{v:.*}", self.decimals)
    }
}

/// Tick values for a log axis over `lo..hi`: 1-2-5 steps when the range is
/// short enough for them to fit, whole decades otherwise.
pub(crate) fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let decades = (hi / lo).log10();
    let steps: &[f64] = if decades <= 2.5 {
        &[1.0, 2.0, 5.0]
    } else if decades <= 4.5 {
        &[1.0, 3.0]
    } else {
        &[1.0]
    };
    let mut out = Vec::new();
    let mut exp = lo.log10().floor() as i32 - 1;
    while 10f64.powi(exp) <= hi {
        for s in steps {
            let v = s * 10f64.powi(exp);
            if v >= lo && v <= hi {
                out.push(v);
            }
        }
        exp += 1;
    }
    out
}

/// Draws a centred note where a chart would be, for runs without the data.
pub(crate) fn draw_no_data<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, message: &str) -> Drawn
where
    DB::ErrorType: 'static,
{
    let (w, h) = area.dim_in_pixel();
    area.draw(&Text::new(
        message.to_string(),
        (w as i32 / 2, h as i32 / 2),
        axis_font()
            .color(&RGBColor(90, 90, 90))
            .pos(Pos::new(HPos::Center, VPos::Center)),
    ))?;
    Ok(())
}

/// A chart whose x axis is the run's virtual time.
pub(crate) type TimeChart<'a, DB, Y> = ChartContext<'a, DB, Cartesian2d<Ticked, Y>>;

/// A full-width chart over the run's time axis: the house margins, a mesh
/// with the time axis and `y_desc`, and the fault bands drawn under the data.
pub(crate) fn time_chart<'a, DB, Y>(
    area: &'a DrawingArea<DB, Shift>,
    time: &'a TimeAxis,
    y: Y,
    y_desc: &str,
    y_fmt: &dyn Fn(&f64) -> String,
) -> Result<TimeChart<'a, DB, Y::CoordDescType>, Box<dyn Error>>
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let mut chart = ChartBuilder::on(area)
        .margin_right(30)
        .margin_top(6)
        .margin_left(16)
        .x_label_area_size(X_AREA)
        .y_label_area_size(Y_AREA)
        .build_cartesian_2d(time.x(10), y)?;
    chart
        .configure_mesh()
        .x_desc(time.desc())
        .y_desc(y_desc)
        .axis_desc_style(axis_font())
        .label_style(label_font())
        .y_label_formatter(y_fmt)
        .x_label_formatter(&|v| time.tick(*v))
        .max_light_lines(0)
        .draw()?;
    draw_fault_bands(&mut chart, time)?;
    Ok(chart)
}

/// A linear f64 axis with exactly the given ticks (plotters' own
/// `with_key_points` on f64 loses the value formatter that meshes need).
pub(crate) struct Ticked {
    range: std::ops::Range<f64>,
    ticks: Vec<f64>,
}

/// A linear axis over `range` with ticks at `ticks`.
pub(crate) fn ticked(range: std::ops::Range<f64>, ticks: Vec<f64>) -> Ticked {
    Ticked { range, ticks }
}

impl Ranged for Ticked {
    type FormatOption = plotters::coord::ranged1d::DefaultFormatting;
    type ValueType = f64;

    fn range(&self) -> std::ops::Range<f64> {
        self.range.clone()
    }

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let span = self.range.end - self.range.start;
        let f = if span > 0.0 {
            (value - self.range.start) / span
        } else {
            0.0
        };
        limit.0 + (f * f64::from(limit.1 - limit.0)).round() as i32
    }

    fn key_points<H: plotters::coord::ranged1d::KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_narrow_range_gets_padded_and_readable_ticks() {
        let a = NarrowAxis::of(11.2, 11.4).expect("narrow");
        assert!(a.lo < 11.2 && a.hi > 11.4, "{a:?}");
        assert!((4..=10).contains(&a.ticks.len()), "{a:?}");
        let labels: Vec<String> = a.ticks.iter().map(|t| a.label(*t)).collect();
        let mut distinct = labels.clone();
        distinct.dedup();
        assert_eq!(distinct, labels, "tick labels repeat: {labels:?}");
        assert_eq!(labels[0].len(), labels[labels.len() - 1].len(), "{labels:?}");
        assert!(a.ticks.iter().all(|t| (a.lo..=a.hi).contains(t)), "{a:?}");
    }

    #[test]
    fn equal_values_get_a_range_around_them() {
        let a = NarrowAxis::of(11.503, 11.503).expect("narrow");
        assert!(a.lo < 11.503 && a.hi > 11.503 && a.ticks.len() >= 4, "{a:?}");
    }

    #[test]
    fn wide_ranges_stay_logarithmic() {
        assert_eq!(NarrowAxis::of(6.5, 12_000.0), None);
        assert_eq!(NarrowAxis::of(0.0, 1.0), None);
    }
}
