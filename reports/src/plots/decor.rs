//! What every time plot shares: the time axis, fault bands with their
//! labels, and a legend strip drawn outside the data so it never hides it.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{label_font, Drawn, FAULT, FAULT_TEXT};
use crate::model::{FaultWindow, RunReport};

/// The run's virtual time axis, in seconds.
pub(crate) struct TimeAxis {
    /// End of the axis (end of the last bucket).
    pub end_s: f64,
    /// Bucket width.
    pub bucket_s: f64,
    /// Fault windows, clipped to the axis.
    pub faults: Vec<FaultWindow>,
}

impl TimeAxis {
    /// The axis of a run: from 0 to the end of its last bucket.
    pub fn of(report: &RunReport) -> Self {
        let bucket_ms = report.bucket_ms.max(1);
        let buckets_end = report.buckets.last().map(|b| b.start_ms + bucket_ms).unwrap_or(0);
        let mut end_ms = buckets_end;
        if end_ms == 0 {
            end_ms = (report.result.virtual_s * 1000.0) as u64;
        }
        for f in &report.faults {
            end_ms = end_ms.max(f.start_ms).max(f.end_ms.unwrap_or(0));
        }
        TimeAxis {
            end_s: (end_ms as f64 / 1000.0).max(1.0),
            bucket_s: bucket_ms as f64 / 1000.0,
            faults: report.faults.clone(),
        }
    }

    /// Unit the axis is labelled in: seconds for short runs, minutes or
    /// hours for long ones, so a virtual day reads as 0 to 24 h.
    fn unit(&self) -> (f64, &'static str) {
        if self.end_s > 3.0 * 3600.0 {
            (3600.0, "h")
        } else if self.end_s > 600.0 {
            (60.0, "min")
        } else {
            (1.0, "s")
        }
    }

    /// The x axis title.
    pub fn desc(&self) -> String {
        format!("virtual time ({})", self.unit().1)
    }

    /// A tick label for `v` seconds, in the axis unit.
    pub fn tick(&self, v: f64) -> String {
        crate::text::decimal(v / self.unit().0, 2)
    }

    /// The x axis in seconds, with about `ticks` ticks at round values of
    /// the axis unit.
    pub fn x(&self, ticks: usize) -> super::Ticked {
        let (div, _) = self.unit();
        let span = self.end_s / div;
        let raw = span / ticks.max(1) as f64;
        // Hours and minutes read best in steps that divide a day or an hour.
        let clock: &[f64] = match div {
            d if d >= 3600.0 => &[1.0, 2.0, 3.0, 6.0, 12.0, 24.0],
            d if d >= 60.0 => &[1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0],
            _ => &[],
        };
        let step = clock.iter().copied().find(|s| *s >= raw).unwrap_or_else(|| {
            let mag = 10f64.powf(raw.log10().floor());
            [1.0, 2.0, 5.0, 10.0]
                .iter()
                .map(|m| m * mag)
                .find(|s| *s >= raw)
                .unwrap_or(10.0 * mag)
        });
        let count = (span / step).floor() as usize;
        let at = (0..=count).map(|i| i as f64 * step * div).collect();
        super::ticked(0.0..self.end_s, at)
    }

    /// Midpoint of a bucket, where its value is drawn.
    pub fn mid(&self, start_ms: u64) -> f64 {
        start_ms as f64 / 1000.0 + self.bucket_s / 2.0
    }

    /// How fault bands are labelled on a plot `plot_px` wide: in full when
    /// the labels fit in two rows, otherwise by number with the labels in
    /// the legend (swarm runs can have dozens of windows).
    pub fn labels(&self, plot_px: u32) -> FaultLabels {
        if label_rows(&self.faults, self.end_s, plot_px, None) <= 2 {
            FaultLabels::Full
        } else {
            FaultLabels::Numbered
        }
    }

    /// Fraction of a plot's height to keep free above the data for fault
    /// labels: one label row is about 8% of a 600 px plot.
    pub fn label_room(&self, plot_px: u32) -> f64 {
        if self.faults.is_empty() {
            return 0.0;
        }
        let rows = match self.labels(plot_px) {
            FaultLabels::Full => label_rows(&self.faults, self.end_s, plot_px, None),
            FaultLabels::Numbered => label_rows(&self.faults, self.end_s, plot_px, Some(3)),
        };
        0.1 * rows as f64
    }

    /// Distinct fault labels, in order of first appearance; numbered labels
    /// refer to positions in this list, from 1.
    pub fn distinct_labels(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for f in &self.faults {
            let l = fault_label(f);
            if !out.contains(&l) {
                out.push(l);
            }
        }
        out
    }

    /// Legend entries explaining numbered fault bands, if they are numbered.
    pub fn legend(&self, plot_px: u32) -> Vec<LegendItem> {
        if self.labels(plot_px) == FaultLabels::Full {
            return Vec::new();
        }
        const MAX: usize = 12;
        let labels = self.distinct_labels();
        let mut items: Vec<LegendItem> = labels
            .iter()
            .take(MAX)
            .enumerate()
            .map(|(i, l)| LegendItem::new(format!("{}: {l}", i + 1), BAND_SWATCH, LegendMark::Box))
            .collect();
        if labels.len() > MAX {
            items.push(LegendItem::new(
                format!("…{} more fault kinds", labels.len() - MAX),
                BAND_SWATCH,
                LegendMark::Box,
            ));
        }
        items
    }
}

/// How fault bands carry their labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FaultLabels {
    /// The label itself, at the top of the band.
    Full,
    /// A number at the top of the band, the label in the legend.
    Numbered,
}

/// The band colour as seen over white, for legend swatches.
const BAND_SWATCH: RGBColor = RGBColor(247, 208, 208);

/// Rows the fault labels will stack into on a plot `plot_px` wide,
/// estimated from text length (or from `fixed_chars` for every label).
fn label_rows(faults: &[FaultWindow], end_s: f64, plot_px: u32, fixed_chars: Option<usize>) -> usize {
    let secs_per_char = end_s * 11.0 / f64::from(plot_px.max(1));
    let mut rows: Vec<f64> = Vec::new();
    let mut sorted: Vec<&FaultWindow> = faults.iter().collect();
    sorted.sort_by_key(|f| f.start_ms);
    for f in sorted {
        let start = f.start_ms as f64 / 1000.0;
        let chars = fixed_chars.unwrap_or_else(|| fault_label(f).chars().count());
        let end = start + (chars as f64 + 2.0) * secs_per_char;
        match rows.iter_mut().find(|r| **r <= start) {
            Some(r) => *r = end,
            None => rows.push(end),
        }
    }
    rows.len().max(1)
}

fn fault_label(f: &FaultWindow) -> String {
    match f.end_ms {
        Some(_) => f.label.clone(),
        None => format!("{} (not healed)", f.label),
    }
}

/// Shades every fault window across the full height of the chart; draw
/// before the data so lines stay on top.
pub(crate) fn draw_fault_bands<DB, X, Y>(chart: &mut ChartContext<'_, DB, Cartesian2d<X, Y>>, time: &TimeAxis) -> Drawn
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    let (xr, yr) = (chart.x_range(), chart.y_range());
    for f in &time.faults {
        let x0 = (f.start_ms as f64 / 1000.0).clamp(xr.start, xr.end);
        let x1 = f
            .end_ms
            .map(|e| e as f64 / 1000.0)
            .unwrap_or(xr.end)
            .clamp(xr.start, xr.end);
        if x1 <= x0 && f.end_ms.is_some() {
            continue;
        }
        chart.draw_series(std::iter::once(Rectangle::new(
            [(x0, yr.start), (x1.max(x0), yr.end)],
            FAULT.mix(0.13).filled(),
        )))?;
        let edge = FAULT.mix(0.6).stroke_width(1);
        for x in [x0, x1] {
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(x, yr.start), (x, yr.end)],
                edge,
            )))?;
        }
    }
    Ok(())
}

/// Writes each fault's label at the top of its band, on a light box so it
/// reads over lines, stacking labels that would collide.
pub(crate) fn draw_fault_labels<DB, X, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<X, Y>>,
    time: &TimeAxis,
    mode: FaultLabels,
) -> Drawn
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    let (xr, yr) = (chart.x_range(), chart.y_range());
    let style = label_font().color(&FAULT_TEXT);
    let (px_range, _) = chart.plotting_area().get_pixel_range();
    let mut rows: Vec<Vec<(i32, i32)>> = Vec::new();
    let distinct = time.distinct_labels();
    let mut order: Vec<&FaultWindow> = time.faults.iter().collect();
    order.sort_by_key(|f| f.start_ms);
    for f in order {
        let x0 = f.start_ms as f64 / 1000.0;
        if x0 > xr.end {
            continue;
        }
        let x0 = x0.max(xr.start);
        let label = match mode {
            FaultLabels::Full => fault_label(f),
            FaultLabels::Numbered => {
                let l = fault_label(f);
                let i = distinct.iter().position(|d| *d == l).unwrap_or(0);
                (i + 1).to_string()
            }
        };
        let (w, h) = chart.plotting_area().estimate_text_size(&label, &style)?;
        let (w, h) = (w as i32 + 10, h as i32 + 8);
        let anchor = chart.backend_coord(&(x0, yr.end)).0;
        // Past the right edge, slide the label left so it stays inside.
        let left = (anchor + 4).min(px_range.end - w - 4).max(px_range.start);
        let row = rows
            .iter()
            .position(|r| r.iter().all(|&(a, b)| left >= b || left + w <= a))
            .unwrap_or_else(|| {
                rows.push(Vec::new());
                rows.len() - 1
            });
        rows[row].push((left, left + w));
        let (dx, dy) = (left - anchor, 4 + row as i32 * (h + 4));
        let element = EmptyElement::at((x0, yr.end))
            + Rectangle::new(
                [(dx, dy), (dx + w, dy + h)],
                ShapeStyle::from(&WHITE.mix(0.85)).filled(),
            )
            + Rectangle::new([(dx, dy), (dx + w, dy + h)], FAULT.mix(0.5).stroke_width(1))
            + Text::new(label, (dx + 5, dy + 4), style.clone());
        chart.plotting_area().draw(&element)?;
    }
    Ok(())
}

/// How a legend entry is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LegendMark {
    /// A solid line.
    Line,
    /// A dashed line (limits, means).
    Dashed,
    /// A filled box (bars, bands).
    Box,
    /// A dot (points).
    Dot,
    /// A cross (targets drawn as crosses).
    Cross,
    /// A line as a series draws it: `width` px, and dashes of `dash.0` px
    /// every `dash.0 + dash.1` px when `dash` is set.
    Stroke {
        /// Line width in pixels.
        width: u32,
        /// Dash length and gap, in pixels.
        dash: Option<(i32, i32)>,
    },
}

/// One legend entry.
pub(crate) struct LegendItem {
    /// Text.
    pub label: String,
    /// Colour of the mark.
    pub color: RGBColor,
    /// Shape of the mark.
    pub mark: LegendMark,
}

impl LegendItem {
    /// A legend entry.
    pub fn new(label: impl Into<String>, color: RGBColor, mark: LegendMark) -> Self {
        LegendItem {
            label: label.into(),
            color,
            mark,
        }
    }
}

const ROW_H: i32 = 30;
const MARK_W: i32 = 34;
const GAP: i32 = 28;

/// Lays items out in rows from `left`; returns each item's (x, row).
fn layout<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    items: &[LegendItem],
    left: i32,
) -> Result<Vec<(i32, i32)>, Box<dyn std::error::Error>>
where
    DB::ErrorType: 'static,
{
    let width = area.dim_in_pixel().0 as i32 - 10;
    let font = label_font();
    let (mut x, mut row) = (left, 0);
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let (tw, _) = area.estimate_text_size(&item.label, &font)?;
        let w = MARK_W + 8 + tw as i32;
        if x > left && x + w > width {
            x = left;
            row += 1;
        }
        out.push((x, row));
        x += w + GAP;
    }
    Ok(out)
}

/// Height in pixels of the legend strip for `items` on an area as wide as `area`.
pub(crate) fn legend_height<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    items: &[LegendItem],
    left: i32,
) -> Result<u32, Box<dyn std::error::Error>>
where
    DB::ErrorType: 'static,
{
    if items.is_empty() {
        return Ok(0);
    }
    let rows = layout(area, items, left)?.iter().map(|&(_, r)| r).max().unwrap_or(0) + 1;
    Ok((rows * ROW_H + 8) as u32)
}

/// Draws the legend strip at the top of `area`.
pub(crate) fn draw_legend<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, items: &[LegendItem], left: i32) -> Drawn
where
    DB::ErrorType: 'static,
{
    let font = label_font().pos(Pos::new(HPos::Left, VPos::Center));
    for (item, (x, row)) in items.iter().zip(layout(area, items, left)?) {
        let y = 4 + row * ROW_H + ROW_H / 2;
        let c = item.color;
        match item.mark {
            LegendMark::Line => {
                area.draw(&PathElement::new(vec![(x, y), (x + MARK_W, y)], c.stroke_width(3)))?;
            }
            LegendMark::Dashed => {
                for k in 0..3 {
                    let x0 = x + k * 13;
                    area.draw(&PathElement::new(vec![(x0, y), (x0 + 8, y)], c.stroke_width(3)))?;
                }
            }
            LegendMark::Box => {
                area.draw(&Rectangle::new([(x + 4, y - 9), (x + MARK_W - 4, y + 9)], c.filled()))?;
            }
            LegendMark::Dot => {
                area.draw(&Circle::new((x + MARK_W / 2, y), 6, c.filled()))?;
            }
            LegendMark::Cross => {
                area.draw(&Cross::new((x + MARK_W / 2, y), 7, c.stroke_width(3)))?;
            }
            LegendMark::Stroke { width, dash } => {
                let (on, off) = dash.unwrap_or((MARK_W, 0));
                let mut x0 = x;
                while x0 < x + MARK_W {
                    let x1 = (x0 + on).min(x + MARK_W);
                    area.draw(&PathElement::new(vec![(x0, y), (x1, y)], c.stroke_width(width)))?;
                    x0 = x1 + off;
                }
            }
        }
        area.draw(&Text::new(item.label.clone(), (x + MARK_W + 8, y), font.clone()))?;
    }
    Ok(())
}
