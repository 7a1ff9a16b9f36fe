//! `broker_utilisation`: CPU, disk and NIC busy fraction per broker, and
//! the page cache's dirty share of its limit, one panel per resource, each
//! with an axis that fits its data; `gateway_utilisation`: the same for the
//! gateways' CPU and NIC; `client_utilisation`: the clients' CPU and NIC,
//! their mean and the busiest (the buckets keep no more).

use plotters::coord::Shift;
use plotters::prelude::*;

use super::decor::draw_fault_labels;
use super::*;
use crate::csv_series;
use crate::model::{RunReport, Utilisation};

/// Approximate plotting width of one panel, for fault-label layout.
const PANEL_PLOT_PX: u32 = 280;

/// Up to this many brokers get a line each; more become mean and max.
const MAX_LINES: usize = 8;

type Pick = fn(&Utilisation) -> f64;

const BROKER_RESOURCES: [(&str, Pick); 4] = [
    ("CPU", |u| u.cpu),
    ("disk", |u| u.disk),
    ("NIC (egress)", |u| u.nic),
    // At 100% of `dirty_ratio` the broker's writes wait for the disk.
    ("page cache dirty (% of limit)", |u| u.dirty),
];

const GATEWAY_RESOURCES: [(&str, Pick); 2] = [("CPU", |u| u.cpu), ("NIC (egress)", |u| u.nic)];

/// Which nodes a utilisation plot shows.
#[derive(Clone, Copy)]
pub(crate) enum Nodes {
    /// The brokers: CPU, disk, NIC and page cache.
    Brokers,
    /// The gateways: CPU and NIC.
    Gateways,
    /// The clients, as their mean and the busiest: CPU and NIC.
    Clients,
}

impl Nodes {
    fn of(self, b: &crate::model::Bucket) -> &[Utilisation] {
        match self {
            Nodes::Brokers => &b.brokers,
            Nodes::Gateways => &b.gateways,
            Nodes::Clients => &[],
        }
    }

    fn resources(self) -> &'static [(&'static str, Pick)] {
        match self {
            Nodes::Brokers => &BROKER_RESOURCES,
            Nodes::Gateways | Nodes::Clients => &GATEWAY_RESOURCES,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Nodes::Brokers => "broker",
            Nodes::Gateways => "gateway",
            Nodes::Clients => "client",
        }
    }

    fn count(self, report: &RunReport) -> usize {
        match self {
            Nodes::Brokers => csv_series::brokers(report),
            Nodes::Gateways => report.buckets.iter().map(|b| b.gateways.len()).max().unwrap_or(0),
            Nodes::Clients => report.result.client_utilisation.map_or(0, |c| c.clients),
        }
    }
}

/// The top of a utilisation panel's axis: the smallest of a few round
/// percentages above the highest value, so a broker 2% busy shows as a line
/// and not as the floor of a 0-100% axis; each panel's ticks give its scale.
fn percent_axis_top(hi: f64) -> f64 {
    [1.0, 2.0, 4.0, 10.0, 20.0, 40.0, 60.0, 80.0, 100.0]
        .into_iter()
        .find(|&t| hi <= t * 0.95)
        .unwrap_or(100.0)
}

/// A tick label with as many decimals as the axis's quarter steps need.
fn percent_tick(v: f64, top: f64) -> String {
    let decimals = match top {
        t if t >= 20.0 || t == 4.0 => 0,
        t if t >= 2.0 => 1,
        _ => 2,
    };
    format!("{v:.decimals$}%")
}

/// Small multiples of broker (or gateway) utilisation.
pub(crate) struct BrokerUtilisation<'a> {
    report: &'a RunReport,
    time: &'a TimeAxis,
    nodes: Nodes,
}

impl<'a> BrokerUtilisation<'a> {
    /// The plot of `report`'s `nodes` on `time`.
    pub fn new(report: &'a RunReport, time: &'a TimeAxis, nodes: Nodes) -> Self {
        BrokerUtilisation { report, time, nodes }
    }

    /// Lines of one resource, in percent: per broker, or mean and max.
    fn lines(&self, pick: Pick, brokers: usize) -> Vec<Vec<(f64, f64)>> {
        let buckets = &self.report.buckets;
        if let Nodes::Clients = self.nodes {
            // The buckets hold the clients' mean and busiest already.
            let line = |f: fn(&crate::ClientsUtilisation) -> Utilisation| {
                buckets
                    .iter()
                    .map(|b| {
                        let u = b.clients.as_ref().map(f).unwrap_or_default();
                        (self.time.mid(b.start_ms), 100.0 * pick(&u))
                    })
                    .collect()
            };
            // A lone client is its own mean and busiest: one line.
            return match brokers {
                1 => vec![line(|c| c.mean)],
                _ => vec![line(|c| c.mean), line(|c| c.max)],
            };
        }
        let nodes = self.nodes;
        let at = |b: &crate::model::Bucket, i: usize| 100.0 * nodes.of(b).get(i).map(pick).unwrap_or(0.0);
        if brokers <= MAX_LINES {
            return (0..brokers)
                .map(|i| buckets.iter().map(|b| (self.time.mid(b.start_ms), at(b, i))).collect())
                .collect();
        }
        let mean = buckets
            .iter()
            .map(|b| {
                let sum: f64 = (0..brokers).map(|i| at(b, i)).sum();
                (self.time.mid(b.start_ms), sum / brokers as f64)
            })
            .collect();
        let max = buckets
            .iter()
            .map(|b| {
                let m = (0..brokers).map(|i| at(b, i)).fold(0.0, f64::max);
                (self.time.mid(b.start_ms), m)
            })
            .collect();
        vec![mean, max]
    }
}

impl Figure for BrokerUtilisation<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, title: &str) -> Drawn
    where
        DB::ErrorType: 'static,
    {
        let brokers = self.nodes.count(self.report);
        let kind = self.nodes.name();
        // The clients are always drawn as their mean and the busiest.
        let each = (brokers <= MAX_LINES && !matches!(self.nodes, Nodes::Clients)) || brokers == 1;
        let colors: Vec<RGBColor> = if each {
            (0..brokers).map(series_color).collect()
        } else {
            vec![PALETTE[0], BLACK]
        };
        let names: Vec<String> = if each {
            (0..brokers).map(|i| format!("{kind}-{i}")).collect()
        } else {
            vec![format!("mean of {brokers} {kind}s"), format!("busiest {kind}")]
        };
        let mut legend: Vec<LegendItem> = names
            .iter()
            .zip(&colors)
            .map(|(n, c)| LegendItem::new(n.clone(), *c, LegendMark::Line))
            .collect();
        legend.extend(self.time.legend(PANEL_PLOT_PX));
        let area = frame(root, title, &legend)?;
        if brokers == 0 {
            return draw_no_data(&area, &format!("no {kind}s in this run"));
        }

        // The first panel carries the y axis title, so it is wider by that much.
        let narrow_y = 64u32;
        let resources = self.nodes.resources();
        let n = resources.len() as u32;
        let width = area.dim_in_pixel().0;
        let plot_w = (width.saturating_sub(Y_AREA + (n - 1) * narrow_y + n * 24)) / n;
        let mut panels = Vec::with_capacity(resources.len());
        let (first, mut rest) = area.split_horizontally(Y_AREA + plot_w + 24);
        panels.push(first);
        for _ in 1..n - 1 {
            let (next, tail) = rest.split_horizontally(narrow_y + plot_w + 24);
            panels.push(next);
            rest = tail;
        }
        panels.push(rest);
        let room = 100.0 * self.time.label_room(PANEL_PLOT_PX);

        for (k, (panel, (name, pick))) in panels.iter().zip(resources.iter()).enumerate() {
            let lines = self.lines(*pick, brokers);
            let hi = lines.iter().flatten().map(|p| p.1).fold(0.0, f64::max);
            let top = percent_axis_top(hi);
            let ticks: Vec<f64> = (0..=4).map(|i| top * f64::from(i) / 4.0).collect();
            let mut chart = ChartBuilder::on(panel)
                .caption(*name, (crate::fonts::FAMILY, sizes::PANEL))
                .margin_right(24)
                .margin_top(2)
                .margin_left(16)
                .x_label_area_size(X_AREA)
                .y_label_area_size(if k == 0 { Y_AREA } else { narrow_y })
                .build_cartesian_2d(self.time.x(4), ticked(0f64..top * (1.0 + room / 100.0), ticks))?;
            let x_fmt = |v: &f64| self.time.tick(*v);
            let y_fmt = |v: &f64| percent_tick(*v, top);
            let mut mesh = chart.configure_mesh();
            mesh.x_desc(self.time.desc())
                .axis_desc_style(axis_font())
                .label_style(label_font())
                .x_label_formatter(&x_fmt)
                .y_label_formatter(&y_fmt)
                .max_light_lines(0);
            if k == 0 {
                mesh.y_desc("busy (% of time)");
            }
            mesh.draw()?;
            draw_fault_bands(&mut chart, self.time)?;
            for (line, c) in lines.into_iter().zip(&colors) {
                chart.draw_series(LineSeries::new(line, c.stroke_width(2)))?;
            }
            draw_fault_labels(&mut chart, self.time, self.time.labels(PANEL_PLOT_PX))?;
        }
        Ok(())
    }
}
