//! The sizing command's tables, for the terminal and for sizing.md.

use std::fmt::Write as _;
use streamsim_sim::sizing::quantity::format_count;
use streamsim_sim::sizing::{CandidateResult, Sizing, Survive};

fn survive(s: Survive) -> &'static str {
    match s {
        Survive::None => "no failure",
        Survive::Broker => "a broker crash and restart at the peak",
        Survive::Zone => "a third of the brokers cut off at the peak",
    }
}

/// A candidate's row: machine, brokers, partitions, processors, ack p99, e2e p99, CPU, disk,
/// NIC, storage per broker (GB), monthly cost (USD), verdict.
fn cells(c: &CandidateResult) -> [String; 12] {
    [
        c.machine.clone(),
        c.brokers.to_string(),
        c.partitions.to_string(),
        c.processors.to_string(),
        format!("{:.1} ms", c.ack_p99_ms),
        c.e2e_p99_ms.map_or("-".into(), |v| format!("{v:.0} ms")),
        pct(c.cpu_peak),
        pct(c.disk_peak),
        pct(c.nic_peak),
        format!("{:.0}", c.storage_gb),
        format!("{:.0}", c.monthly_cost_usd),
        c.verdict.clone(),
    ]
}

fn pct(v: f64) -> String {
    format!("{:.0}%", 100.0 * v)
}

/// The question in one line.
fn question(s: &Sizing) -> String {
    let i = &s.inputs;
    format!(
        "{} events a day of {} B, peak {}x the mean ({:.0} events/s), {} days of retention, RF {}, surviving {}{}",
        format_count(i.events_per_day),
        i.event_bytes,
        i.peak_factor,
        i.events_per_day as f64 / 86_400.0 * i.peak_factor,
        i.retention_days,
        i.replication_factor,
        survive(i.survive),
        match (i.ack_p99_ms, i.e2e_p99_ms) {
            (None, None) => String::new(),
            (a, e) => format!(
                ", budgets{}{}",
                a.map_or(String::new(), |v| format!(" ack p99 {v} ms")),
                e.map_or(String::new(), |v| format!(" e2e p99 {v} ms"))
            ),
        }
    )
}

/// The candidates and the answer, for a terminal.
pub fn table(s: &Sizing) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "sizing: {}", question(s));
    let _ = writeln!(
        out,
        "{:<18} {:>7} {:>10} {:>10} {:>9} {:>9} {:>5} {:>5} {:>5} {:>10} {:>10}  verdict",
        "machine",
        "brokers",
        "partitions",
        "processors",
        "ack p99",
        "e2e p99",
        "CPU",
        "disk",
        "NIC",
        "GB/broker",
        "$/month"
    );
    for c in &s.candidates {
        let [machine, brokers, partitions, processors, ack, e2e, cpu, disk, nic, storage, cost, verdict] = cells(c);
        let _ = writeln!(
            out,
            "{machine:<18} {brokers:>7} {partitions:>10} {processors:>10} {ack:>9} {e2e:>9} {cpu:>5} {disk:>5} {nic:>5} {storage:>10} {cost:>10}  {verdict}"
        );
    }
    match &s.recommendation {
        Some(r) => {
            let _ = writeln!(
                out,
                "answer: {} x {} ({} partitions, {} processors): ${:.0} a month, ${:.4} per million events\n",
                r.brokers, r.machine, r.partitions, r.processors, r.monthly_cost_usd, r.cost_per_million_events_usd
            );
        }
        None => {
            let _ = writeln!(out, "answer: none passed\n");
        }
    }
    out
}

/// Whether more events a day never got a cheaper cluster; `None` when some volume has no answer.
pub fn monotone(sizings: &[Sizing]) -> Option<bool> {
    let costs: Option<Vec<f64>> = sizings
        .iter()
        .map(|s| s.recommendation.as_ref().map(|r| r.monthly_cost_usd))
        .collect();
    costs.map(|c| c.windows(2).all(|w| w[1] >= w[0]))
}

/// The curve, one line per volume.
pub fn curve_table(sizings: &[Sizing]) -> String {
    let mut out = String::from("curve:\n");
    for s in sizings {
        let _ = match &s.recommendation {
            Some(r) => writeln!(
                out,
                "  {:>6} events a day: {} x {}, ${:.0} a month, ${:.4} per million events",
                format_count(s.inputs.events_per_day),
                r.brokers,
                r.machine,
                r.monthly_cost_usd,
                r.cost_per_million_events_usd
            ),
            None => writeln!(
                out,
                "  {:>6} events a day: none passed",
                format_count(s.inputs.events_per_day)
            ),
        };
    }
    if monotone(sizings) == Some(false) {
        out.push_str("  warning: a larger volume got a cheaper cluster; the smaller volume's answer is not minimal\n");
    }
    out
}

/// sizing.md's section for one volume.
pub fn markdown(s: &Sizing, winner_file: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Sizing: {} events a day\n",
        format_count(s.inputs.events_per_day)
    );
    let _ = writeln!(out, "{}.\n", question(s));
    let _ = writeln!(
        out,
        "Every candidate ran the peak as {} virtual seconds at the peak rate, with the failure at {} s, on seed {}. \
         CPU and NIC are the busiest broker's mean before the failure or during it, whichever is higher \
         (the catch-up after it is what the headroom is for); disk is the busiest broker's mean over the kernel's \
         writeback cycle; the headroom is {}.\n",
        streamsim_sim::sizing::candidate::WINDOW_S,
        streamsim_sim::sizing::candidate::FAILURE_AT_S,
        s.inputs.seed,
        pct(s.inputs.headroom)
    );
    let _ = writeln!(
        out,
        "| machine | brokers | partitions | processors | ack p99 | e2e p99 | CPU | disk | NIC | GB/broker | $/month | verdict |\n|---|---|---|---|---|---|---|---|---|---|---|---|"
    );
    for c in &s.candidates {
        let _ = writeln!(out, "| {} |", cells(c).join(" | "));
    }
    match &s.recommendation {
        Some(r) => {
            let _ = writeln!(
                out,
                "\n**Answer:** {} × {} with {} partitions and {} processors: **${:.0} a month**, **${:.4} per million events**. \
                 Replay it with its failure: `streamsim run {winner_file} --seed {}`.\n",
                r.brokers, r.machine, r.partitions, r.processors, r.monthly_cost_usd, r.cost_per_million_events_usd, s.inputs.seed
            );
        }
        None => {
            let _ = writeln!(out, "\n**No candidate passed.**\n");
        }
    }
    out
}

/// sizing.md's curve section.
pub fn curve_markdown(sizings: &[Sizing]) -> String {
    let mut out = String::from(
        "# Sizing curve\n\n| events a day | cluster | $/month | $ per million events |\n|---|---|---|---|\n",
    );
    for s in sizings {
        let _ = match &s.recommendation {
            Some(r) => writeln!(
                out,
                "| {} | {} × {} | {:.0} | {:.4} |",
                format_count(s.inputs.events_per_day),
                r.brokers,
                r.machine,
                r.monthly_cost_usd,
                r.cost_per_million_events_usd
            ),
            None => writeln!(out, "| {} | none passed | | |", format_count(s.inputs.events_per_day)),
        };
    }
    if monotone(sizings) == Some(false) {
        out.push_str(
            "\n**Warning:** a larger volume got a cheaper cluster; the smaller volume's answer is not minimal.\n",
        );
    }
    out.push_str("\n![sizing curve](sizing_curve.png)\n");
    out
}
