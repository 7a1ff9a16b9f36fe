//! Cluster sizing by simulation: for each machine profile, the smallest
//! broker count whose peak hour, run with the failure it must survive,
//! passes every check and budget with CPU, disk and NIC under a headroom and
//! retention fitting on disk; then the cheapest of those. Vendor calculators
//! answer the same question with formulas; this runs the cluster.

pub mod candidate;
mod inputs;
pub mod quantity;

use crate::run::{run_scenario, RunOptions};
use crate::scenario::machine::{self, MachineProfile, HOURS_PER_MONTH};
use crate::scenario::{parse_scenario, CLOCK_RESOLUTION_MS};
pub use candidate::Candidate;
pub use inputs::{SizingInputs, Survive};
use serde::Serialize;
use std::path::Path;
use std::time::Duration;
use streamsim_reports::{RunReport, Verdict};

/// Days in an average month.
const DAYS_PER_MONTH: f64 = 365.0 / 12.0;

/// One candidate's run and verdict.
#[derive(Clone, Debug, Serialize)]
pub struct CandidateResult {
    /// Machine profile.
    pub machine: String,
    /// Brokers.
    pub brokers: usize,
    /// Partitions.
    pub partitions: usize,
    /// Processor instances.
    pub processors: usize,
    /// `pass`, or `fail: ` and every reason.
    pub verdict: String,
    /// Acknowledgement p99 over the peak window, ms.
    pub ack_p99_ms: f64,
    /// End-to-end p99, ms.
    pub e2e_p99_ms: Option<f64>,
    /// Busiest broker's CPU, before or during the failure, fraction.
    pub cpu_peak: f64,
    /// Busiest broker's disk over the writeback cycle, fraction.
    pub disk_peak: f64,
    /// Busiest broker's NIC egress, before or during the failure, fraction.
    pub nic_peak: f64,
    /// Log storage retention needs per broker, GB.
    pub storage_gb: f64,
    /// Brokers and their storage, USD a month.
    pub monthly_cost_usd: f64,
    /// The seed run.
    pub seed: u64,
    /// The candidate's scenario file.
    #[serde(skip)]
    pub scenario: String,
}

impl CandidateResult {
    /// Passed every check, budget, headroom and the disk.
    pub fn passed(&self) -> bool {
        self.verdict == "pass"
    }
}

/// The cheapest passing candidate.
#[derive(Clone, Debug, Serialize)]
pub struct Recommendation {
    /// Machine profile.
    pub machine: String,
    /// Brokers.
    pub brokers: usize,
    /// Partitions.
    pub partitions: usize,
    /// Processor instances.
    pub processors: usize,
    /// USD a month.
    pub monthly_cost_usd: f64,
    /// USD per million events at the day's volume.
    pub cost_per_million_events_usd: f64,
    /// The winner's scenario file name (written under `--out`), or its text.
    pub scenario: String,
}

/// Everything a sizing produced.
#[derive(Clone, Debug, Serialize)]
pub struct Sizing {
    /// The question.
    pub inputs: SizingInputs,
    /// Every candidate run, per machine in search order.
    pub candidates: Vec<CandidateResult>,
    /// The cheapest passing candidate, if any passed.
    pub recommendation: Option<Recommendation>,
}

/// Refuse a question no search can answer, naming the input and why.
pub fn check_inputs(inputs: &SizingInputs) -> Result<Vec<MachineProfile>, String> {
    if inputs.replication_factor == 0 {
        return Err("--replication-factor must be at least 1".into());
    }
    if inputs.replication_factor > inputs.max_brokers {
        return Err(format!(
            "--replication-factor {} is above the largest broker count searched ({}); the largest feasible is {}",
            inputs.replication_factor, inputs.max_brokers, inputs.max_brokers
        ));
    }
    if !(inputs.peak_factor.is_finite() && inputs.peak_factor >= 1.0) {
        return Err(format!(
            "--peak-factor must be at least 1 (the mean), got {}",
            inputs.peak_factor
        ));
    }
    if !(inputs.retention_days.is_finite() && inputs.retention_days > 0.0) {
        return Err(format!(
            "--retention-days must be positive, got {}",
            inputs.retention_days
        ));
    }
    if !(inputs.headroom > 0.0 && inputs.headroom <= 1.0) {
        return Err(format!(
            "--headroom must be above 0 and at most 1, got {}",
            inputs.headroom
        ));
    }
    // Client and gateway lingers (5 ms each by default) and a replication round trip are a
    // floor no cluster size removes.
    let floor_ms = 10.0 + 4.0 * 0.15;
    for (flag, budget) in [("--ack-p99-ms", inputs.ack_p99_ms), ("--e2e-p99-ms", inputs.e2e_p99_ms)] {
        if let Some(b) = budget {
            if b < CLOCK_RESOLUTION_MS.max(floor_ms) {
                return Err(format!(
                    "{flag} {b} is below the {floor_ms:.1} ms that the client's and the gateway's 5 ms lingers and the links take before any broker work"
                ));
            }
        }
    }
    let peak_mb = candidate::peak_rate(inputs) * candidate::record_bytes(inputs) / 1e6;
    let mut profiles = Vec::new();
    for name in &inputs.machines {
        let m = machine::find(name).map_err(|e| format!("--machines: {e}"))?;
        if m.price_per_hour_usd.is_none() {
            return Err(format!(
                "--machines: \"{name}\" has no price, so no cost can be compared"
            ));
        }
        profiles.push(m);
    }
    if profiles.is_empty() {
        return Err("--machines names no machine".into());
    }
    // Every broker writes each record it replicates: the disks of the largest cluster searched
    // must take the peak times the replication factor within the headroom.
    let feasible = profiles.iter().any(|m| {
        m.disk_mb_per_s * inputs.max_brokers as f64 * inputs.headroom >= peak_mb * inputs.replication_factor as f64
    });
    if !feasible {
        let best = profiles.iter().map(|m| m.disk_mb_per_s).fold(0.0, f64::max);
        let max_events = best * inputs.max_brokers as f64 * inputs.headroom / inputs.replication_factor as f64 * 1e6
            / candidate::record_bytes(inputs)
            / inputs.peak_factor
            * 86_400.0;
        return Err(format!(
            "--events-per-day {}: no profile can write {:.0} MB/s at the peak within {} brokers; the largest feasible volume is about {} events a day",
            inputs.events_per_day,
            peak_mb * inputs.replication_factor as f64,
            inputs.max_brokers,
            quantity::format_count(max_events as u64)
        ));
    }
    Ok(profiles)
}

/// Log storage retention needs per broker, GB.
pub fn storage_per_broker_gb(inputs: &SizingInputs, brokers: usize) -> f64 {
    machine::retained_gb(
        inputs.events_per_day as f64 / 86_400.0,
        candidate::record_bytes(inputs),
        inputs.retention_days * 86_400.0,
        inputs.replication_factor,
    ) / brokers as f64
}

/// Brokers and storage of `m`, USD a month.
pub fn monthly_cost(inputs: &SizingInputs, m: &MachineProfile, brokers: usize) -> f64 {
    let machines = m.price_per_hour_usd.unwrap_or(0.0) * HOURS_PER_MONTH * brokers as f64;
    machines + storage_per_broker_gb(inputs, brokers) * brokers as f64 * m.storage_per_gb_month_usd
}

/// The smallest broker count a formula rules out for `m`: disks, links or storage too small
/// even before any simulation. The search starts one below the largest of these (and at the
/// replication factor at least), so the candidates show the run that just fails.
pub fn formula_floor(inputs: &SizingInputs, m: &MachineProfile) -> usize {
    let peak_mb = candidate::peak_rate(inputs) * candidate::record_bytes(inputs) / 1e6;
    let rf = inputs.replication_factor as f64;
    let h = inputs.headroom;
    let by_disk = peak_mb * rf / (m.disk_mb_per_s * h);
    // A leader sends each record to RF-1 followers and to the consumers.
    let by_nic = peak_mb * rf / (m.nic_gbps * 1e3 / 8.0 * h);
    let by_storage = m
        .disk_capacity_gb
        .map_or(0.0, |cap| storage_per_broker_gb(inputs, 1) / (cap * h));
    [by_disk, by_nic, by_storage]
        .into_iter()
        .map(|x| x.ceil() as usize)
        .max()
        .unwrap_or(1)
}

/// Run one candidate and judge it.
pub fn evaluate(inputs: &SizingInputs, m: &MachineProfile, brokers: usize) -> Result<CandidateResult, String> {
    let c = candidate::shape(inputs, m, brokers);
    let text = candidate::scenario_text(inputs, &c);
    let name = format!("size-{}-{}-brokers.toml", c.machine, c.brokers);
    let loaded = parse_scenario(Path::new(&name), &text).map_err(|e| format!("candidate scenario: {e}"))?;
    let opts = RunOptions {
        seed: inputs.seed,
        wall_limit: Duration::from_secs(1_800),
    };
    let out = run_scenario(&loaded, &opts).map_err(|e| format!("{name}: {e}"))?;
    let report = &out.report;
    let (cpu, disk, nic) = peak_utilisation(report, m);
    let storage_gb = storage_per_broker_gb(inputs, brokers);
    let mut reasons: Vec<String> = Vec::new();
    if report.result.verdict != Verdict::Pass {
        let mut names: Vec<String> = report.result.violations.iter().map(|v| v.invariant.clone()).collect();
        names.dedup();
        reasons.push(names.join(", "));
    }
    if let Some(kept) = kept_up(report) {
        reasons.push(format!(
            "acknowledged {:.1}% of the offered load during the window",
            100.0 * kept
        ));
    }
    for (what, v) in [("CPU", cpu), ("disk", disk), ("NIC", nic)] {
        if v > inputs.headroom {
            reasons.push(format!(
                "{what} {:.0}% over the {:.0}% headroom",
                100.0 * v,
                100.0 * inputs.headroom
            ));
        }
    }
    if let Some(cap) = m.disk_capacity_gb.filter(|&cap| storage_gb > cap * inputs.headroom) {
        reasons.push(format!(
            "retention needs {storage_gb:.0} GB per broker, over {:.0}% of {cap:.0} GB",
            100.0 * inputs.headroom
        ));
    }
    let verdict = if reasons.is_empty() {
        "pass".to_string()
    } else {
        format!("fail: {}", reasons.join("; "))
    };
    Ok(CandidateResult {
        machine: c.machine.clone(),
        brokers,
        partitions: c.partitions,
        processors: c.processors,
        verdict,
        ack_p99_ms: report.result.ack_latency_ms.p99,
        e2e_p99_ms: report.result.read.e2e_latency_ms.map(|p| p.p99),
        cpu_peak: cpu,
        disk_peak: disk,
        nic_peak: nic,
        storage_gb,
        monthly_cost_usd: monthly_cost(inputs, m, brokers),
        seed: inputs.seed,
        scenario: text,
    })
}

/// `None` when the acknowledgements kept up with the offered load (99% within the window,
/// as the throughput check of a run would ask), else the share that did.
fn kept_up(report: &RunReport) -> Option<f64> {
    let window_ms = (candidate::WINDOW_S * 1000.0) as u64;
    let inside = report.buckets.iter().filter(|b| b.start_ms < window_ms);
    let (offered, acked) = inside.fold((0u64, 0u64), |(s, a), b| (s + b.offered, a + b.acked));
    let share = if offered == 0 {
        1.0
    } else {
        acked as f64 / offered as f64
    };
    (share < 0.99).then_some(share)
}

/// The load the brokers carry, as fractions: CPU and NIC are the busiest broker's mean over
/// the stretch before the failure and over the failure (when the survivors carry the failed
/// brokers' leaderships), whichever is higher. The catch-up after the failure, when a
/// returning broker copies what it missed as fast as its links allow, is left out: that is
/// what the headroom is for, and its effect on latency is judged by the budgets. Disk is the
/// busiest broker's mean after the first writeback: Linux writes a log back in bursts once
/// its pages are `dirty_expire_centisecs` old, so one second's figure is a burst and the mean
/// over a writeback cycle is the load the disk carries.
fn peak_utilisation(report: &RunReport, m: &MachineProfile) -> (f64, f64, f64) {
    let ms = |s: f64| (s * 1000.0) as u64;
    let (fail_at, fail_end, window) = (
        ms(candidate::FAILURE_AT_S),
        ms(candidate::FAILURE_AT_S + candidate::FAILURE_FOR_S),
        ms(candidate::WINDOW_S),
    );
    let expire_ms = m.resources().dirty_expire_centisecs * 10;
    let brokers = report.buckets.iter().map(|b| b.brokers.len()).max().unwrap_or(0);
    let mean = |i: usize, from: u64, to: u64, pick: fn(&streamsim_reports::Utilisation) -> f64| {
        let span: Vec<f64> = report
            .buckets
            .iter()
            .filter(|b| b.start_ms >= from && b.start_ms < to)
            .map(|b| b.brokers.get(i).map_or(0.0, pick))
            .collect();
        span.iter().sum::<f64>() / span.len().max(1) as f64
    };
    let sustained = |pick: fn(&streamsim_reports::Utilisation) -> f64| {
        (0..brokers)
            .map(|i| mean(i, 0, fail_at, pick).max(mean(i, fail_at, fail_end, pick)))
            .fold(0.0, f64::max)
    };
    let disk = (0..brokers)
        .map(|i| mean(i, expire_ms, window, |u| u.disk))
        .fold(0.0, f64::max);
    (sustained(|u| u.cpu), disk, sustained(|u| u.nic))
}

/// Size one machine: from just below the formula's floor upward, the first passing count.
pub fn search_machine(
    inputs: &SizingInputs,
    m: &MachineProfile,
    on_run: &(dyn Fn(&CandidateResult) + Sync),
) -> Result<Vec<CandidateResult>, String> {
    let rf = inputs.replication_factor;
    let start = formula_floor(inputs, m).saturating_sub(1).max(rf).max(1);
    let mut runs = Vec::new();
    for brokers in start..=inputs.max_brokers {
        let r = evaluate(inputs, m, brokers)?;
        on_run(&r);
        let passed = r.passed();
        runs.push(r);
        if passed {
            break;
        }
    }
    Ok(runs)
}

/// The cheapest passing candidate of `candidates`.
pub fn recommend(inputs: &SizingInputs, candidates: &[CandidateResult]) -> Option<Recommendation> {
    let best = candidates
        .iter()
        .filter(|c| c.passed())
        .min_by(|a, b| a.monthly_cost_usd.total_cmp(&b.monthly_cost_usd))?;
    let events_per_month = inputs.events_per_day as f64 * DAYS_PER_MONTH;
    Some(Recommendation {
        machine: best.machine.clone(),
        brokers: best.brokers,
        partitions: best.partitions,
        processors: best.processors,
        monthly_cost_usd: best.monthly_cost_usd,
        cost_per_million_events_usd: best.monthly_cost_usd / (events_per_month / 1e6),
        scenario: best.scenario.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impossible_questions_name_their_input() {
        let mut i = SizingInputs::new(300_000_000);
        i.replication_factor = 30;
        assert!(check_inputs(&i).unwrap_err().contains("--replication-factor 30"));
        let mut i = SizingInputs::new(300_000_000);
        i.ack_p99_ms = Some(2.0);
        assert!(check_inputs(&i).unwrap_err().contains("--ack-p99-ms 2"));
        let i = SizingInputs::new(1_000_000_000_000_000);
        let e = check_inputs(&i).unwrap_err();
        assert!(e.contains("largest feasible volume"), "{e}");
        let mut i = SizingInputs::new(1_000);
        i.machines = vec!["three-cheap-machines-2014".into()];
        assert!(check_inputs(&i).unwrap_err().contains("no price"));
    }

    #[test]
    fn a_candidate_scenario_loads_with_its_failure() {
        let i = SizingInputs::new(300_000_000);
        let m = machine::find("i3en.2xlarge").unwrap();
        let c = candidate::shape(&i, &m, 4);
        assert_eq!(c.partitions % 4, 0);
        assert!(c.partitions >= 24);
        let text = candidate::scenario_text(&i, &c);
        let loaded = parse_scenario(Path::new("candidate.toml"), &text).unwrap();
        assert_eq!(loaded.scenario.topology.brokers, 4);
        assert_eq!(loaded.scenario.log.min_insync_replicas, 2);
        assert!(text.contains("kind = \"crash\""));
    }

    #[test]
    fn storage_and_cost_follow_the_volume() {
        let i = SizingInputs::new(300_000_000);
        let m = machine::find("m5.2xlarge-gp3").unwrap();
        // 300M x 1,064 B x 7 days x 3 replicas over 3 brokers: about 2,234 GB each.
        let gb = storage_per_broker_gb(&i, 3);
        assert!((gb - 2_234.4).abs() < 1.0, "{gb}");
        let cost = monthly_cost(&i, &m, 3);
        assert!((cost - (3.0 * 0.384 * 730.0 + 3.0 * gb * 0.08)).abs() < 1e-6);
    }
}
