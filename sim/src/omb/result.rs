//! OMB's own result file (its `TestResult` class), so that OMB's chart
//! script and dashboards read a simulated run unchanged: the same field
//! names, rates in messages per second, latencies in milliseconds, the
//! publish-delay figures in microseconds, one entry per 10-second period
//! after the warm-up.
//!
//! Two figures have no counterpart in the model and are written as zeros,
//! which docs/OMB.md states: `publishErrorRate` (the simulated producers
//! retry, and an event whose outcome is never learnt is counted in the
//! run's `events_uncertain` instead) and `publishDelayLatency*` (OMB's rate
//! limiter falling behind its schedule; a simulated producer generates each
//! message at its scheduled instant, and waiting to be sent is part of the
//! publish latency).

use hdrhistogram::Histogram;
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

use super::series::{span, Span};
use super::OmbPlan;
use streamsim_reports::RunReport;

/// OMB's reporting period, ms.
pub const OMB_PERIOD_MS: u64 = 10_000;

/// Percentile → value, in increasing percentile order (a Java `TreeMap<Double, ...>`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(from = "std::collections::BTreeMap<String, f64>")]
pub struct Quantiles(pub Vec<(f64, f64)>);

impl From<std::collections::BTreeMap<String, f64>> for Quantiles {
    fn from(m: std::collections::BTreeMap<String, f64>) -> Self {
        let mut v: Vec<(f64, f64)> = m.into_iter().filter_map(|(k, v)| Some((k.parse().ok()?, v))).collect();
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
        Quantiles(v)
    }
}

impl Serialize for Quantiles {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            // Java writes a whole double as `50.0`.
            let key = if k.fract() == 0.0 {
                format!("{k:.1}")
            } else {
                format!("{k}")
            };
            m.serialize_entry(&key, v)?;
        }
        m.end()
    }
}

/// OMB's `TestResult`, field for field.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)] // the names are OMB's; docs/OMB.md gives each one's meaning here
pub struct OmbTestResult {
    pub workload: String,
    pub driver: String,
    pub message_size: u64,
    pub topics: u32,
    pub partitions: u32,
    pub producers_per_topic: u32,
    pub consumers_per_topic: u32,
    pub publish_rate: Vec<f64>,
    pub publish_error_rate: Vec<f64>,
    pub consume_rate: Vec<f64>,
    pub backlog: Vec<u64>,
    pub publish_latency_avg: Vec<f64>,
    #[serde(rename = "publishLatency50pct")]
    pub publish_latency_50pct: Vec<f64>,
    #[serde(rename = "publishLatency75pct")]
    pub publish_latency_75pct: Vec<f64>,
    #[serde(rename = "publishLatency95pct")]
    pub publish_latency_95pct: Vec<f64>,
    #[serde(rename = "publishLatency99pct")]
    pub publish_latency_99pct: Vec<f64>,
    #[serde(rename = "publishLatency999pct")]
    pub publish_latency_999pct: Vec<f64>,
    #[serde(rename = "publishLatency9999pct")]
    pub publish_latency_9999pct: Vec<f64>,
    pub publish_latency_max: Vec<f64>,
    pub publish_delay_latency_avg: Vec<f64>,
    #[serde(rename = "publishDelayLatency50pct")]
    pub publish_delay_latency_50pct: Vec<u64>,
    #[serde(rename = "publishDelayLatency75pct")]
    pub publish_delay_latency_75pct: Vec<u64>,
    #[serde(rename = "publishDelayLatency95pct")]
    pub publish_delay_latency_95pct: Vec<u64>,
    #[serde(rename = "publishDelayLatency99pct")]
    pub publish_delay_latency_99pct: Vec<u64>,
    #[serde(rename = "publishDelayLatency999pct")]
    pub publish_delay_latency_999pct: Vec<u64>,
    #[serde(rename = "publishDelayLatency9999pct")]
    pub publish_delay_latency_9999pct: Vec<u64>,
    pub publish_delay_latency_max: Vec<u64>,
    pub aggregated_publish_latency_avg: f64,
    #[serde(rename = "aggregatedPublishLatency50pct")]
    pub aggregated_publish_latency_50pct: f64,
    #[serde(rename = "aggregatedPublishLatency75pct")]
    pub aggregated_publish_latency_75pct: f64,
    #[serde(rename = "aggregatedPublishLatency95pct")]
    pub aggregated_publish_latency_95pct: f64,
    #[serde(rename = "aggregatedPublishLatency99pct")]
    pub aggregated_publish_latency_99pct: f64,
    #[serde(rename = "aggregatedPublishLatency999pct")]
    pub aggregated_publish_latency_999pct: f64,
    #[serde(rename = "aggregatedPublishLatency9999pct")]
    pub aggregated_publish_latency_9999pct: f64,
    pub aggregated_publish_latency_max: f64,
    pub aggregated_publish_delay_latency_avg: f64,
    #[serde(rename = "aggregatedPublishDelayLatency50pct")]
    pub aggregated_publish_delay_latency_50pct: u64,
    #[serde(rename = "aggregatedPublishDelayLatency75pct")]
    pub aggregated_publish_delay_latency_75pct: u64,
    #[serde(rename = "aggregatedPublishDelayLatency95pct")]
    pub aggregated_publish_delay_latency_95pct: u64,
    #[serde(rename = "aggregatedPublishDelayLatency99pct")]
    pub aggregated_publish_delay_latency_99pct: u64,
    #[serde(rename = "aggregatedPublishDelayLatency999pct")]
    pub aggregated_publish_delay_latency_999pct: u64,
    #[serde(rename = "aggregatedPublishDelayLatency9999pct")]
    pub aggregated_publish_delay_latency_9999pct: u64,
    pub aggregated_publish_delay_latency_max: u64,
    pub aggregated_publish_latency_quantiles: Quantiles,
    pub aggregated_publish_delay_latency_quantiles: Quantiles,
    pub end_to_end_latency_avg: Vec<f64>,
    #[serde(rename = "endToEndLatency50pct")]
    pub end_to_end_latency_50pct: Vec<f64>,
    #[serde(rename = "endToEndLatency75pct")]
    pub end_to_end_latency_75pct: Vec<f64>,
    #[serde(rename = "endToEndLatency95pct")]
    pub end_to_end_latency_95pct: Vec<f64>,
    #[serde(rename = "endToEndLatency99pct")]
    pub end_to_end_latency_99pct: Vec<f64>,
    #[serde(rename = "endToEndLatency999pct")]
    pub end_to_end_latency_999pct: Vec<f64>,
    #[serde(rename = "endToEndLatency9999pct")]
    pub end_to_end_latency_9999pct: Vec<f64>,
    pub end_to_end_latency_max: Vec<f64>,
    pub aggregated_end_to_end_latency_quantiles: Quantiles,
    pub aggregated_end_to_end_latency_avg: f64,
    #[serde(rename = "aggregatedEndToEndLatency50pct")]
    pub aggregated_end_to_end_latency_50pct: f64,
    #[serde(rename = "aggregatedEndToEndLatency75pct")]
    pub aggregated_end_to_end_latency_75pct: f64,
    #[serde(rename = "aggregatedEndToEndLatency95pct")]
    pub aggregated_end_to_end_latency_95pct: f64,
    #[serde(rename = "aggregatedEndToEndLatency99pct")]
    pub aggregated_end_to_end_latency_99pct: f64,
    #[serde(rename = "aggregatedEndToEndLatency999pct")]
    pub aggregated_end_to_end_latency_999pct: f64,
    #[serde(rename = "aggregatedEndToEndLatency9999pct")]
    pub aggregated_end_to_end_latency_9999pct: f64,
    pub aggregated_end_to_end_latency_max: f64,
}

/// A histogram's figures in ms: mean, p50, p75, p95, p99, p99.9, p99.99, max.
fn figures_ms(h: &Histogram<u64>) -> [f64; 8] {
    if h.is_empty() {
        return [0.0; 8];
    }
    let ms = |us: u64| us as f64 / 1000.0;
    [
        h.mean() / 1000.0,
        ms(h.value_at_percentile(50.0)),
        ms(h.value_at_percentile(75.0)),
        ms(h.value_at_percentile(95.0)),
        ms(h.value_at_percentile(99.0)),
        ms(h.value_at_percentile(99.9)),
        ms(h.value_at_percentile(99.99)),
        ms(h.max()),
    ]
}

/// OMB's quantile map: the histogram walked with 100 ticks per half distance.
fn quantiles_ms(h: &Histogram<u64>) -> Quantiles {
    if h.is_empty() {
        return Quantiles::default();
    }
    Quantiles(
        h.iter_quantiles(100)
            .map(|v| (v.percentile(), v.value_iterated_to() as f64 / 1000.0))
            .collect(),
    )
}

/// The periods reported: 10 s each from the end of the warm-up; a measured
/// span shorter than one period (a scaled run) is one period of its own length.
pub fn periods(plan: &OmbPlan, report: &RunReport) -> Vec<Span> {
    let from = plan.warmup_ms;
    let to = (plan.loaded.scenario.duration_s * 1000.0).round() as u64;
    if to - from < OMB_PERIOD_MS {
        return vec![span(report, from, to)];
    }
    (from..to)
        .step_by(OMB_PERIOD_MS as usize)
        .filter(|s| s + OMB_PERIOD_MS <= to)
        .map(|s| span(report, s, s + OMB_PERIOD_MS))
        .collect()
}

/// OMB's result for a run of `plan`.
pub fn omb_result(plan: &OmbPlan, report: &RunReport) -> OmbTestResult {
    let w = &plan.workload;
    let mut r = OmbTestResult {
        workload: plan.loaded.scenario.name.clone(),
        driver: plan.driver_name(),
        message_size: u64::from(w.message_size),
        topics: w.topics,
        partitions: w.partitions_per_topic,
        producers_per_topic: w.producers_per_topic,
        consumers_per_topic: w.consumer_per_subscription,
        ..Default::default()
    };
    let mut acked = 0u64;
    let mut consumed = 0u64;
    // Everything sent before the first period counts in the backlog, as OMB's
    // totals run from the start.
    let before = span(report, 0, plan.warmup_ms);
    acked += before.published;
    consumed += before.consumed;
    let mut all_pub = streamsim_reports::latency_histogram();
    let mut all_e2e = streamsim_reports::latency_histogram();
    for p in periods(plan, report) {
        let secs = p.seconds().max(1e-9);
        acked += p.published;
        consumed += p.consumed;
        r.publish_rate.push(p.published as f64 / secs);
        r.publish_error_rate.push(0.0);
        r.consume_rate.push(p.consumed as f64 / secs);
        r.backlog.push(acked.saturating_sub(consumed));
        let f = figures_ms(&p.publish_latency);
        r.publish_latency_avg.push(f[0]);
        r.publish_latency_50pct.push(f[1]);
        r.publish_latency_75pct.push(f[2]);
        r.publish_latency_95pct.push(f[3]);
        r.publish_latency_99pct.push(f[4]);
        r.publish_latency_999pct.push(f[5]);
        r.publish_latency_9999pct.push(f[6]);
        r.publish_latency_max.push(f[7]);
        r.publish_delay_latency_avg.push(0.0);
        for v in [
            &mut r.publish_delay_latency_50pct,
            &mut r.publish_delay_latency_75pct,
            &mut r.publish_delay_latency_95pct,
            &mut r.publish_delay_latency_99pct,
            &mut r.publish_delay_latency_999pct,
            &mut r.publish_delay_latency_9999pct,
            &mut r.publish_delay_latency_max,
        ] {
            v.push(0);
        }
        let e = figures_ms(&p.e2e_latency);
        r.end_to_end_latency_avg.push(e[0]);
        r.end_to_end_latency_50pct.push(e[1]);
        r.end_to_end_latency_75pct.push(e[2]);
        r.end_to_end_latency_95pct.push(e[3]);
        r.end_to_end_latency_99pct.push(e[4]);
        r.end_to_end_latency_999pct.push(e[5]);
        r.end_to_end_latency_9999pct.push(e[6]);
        r.end_to_end_latency_max.push(e[7]);
        let _ = all_pub.add(&p.publish_latency);
        let _ = all_e2e.add(&p.e2e_latency);
    }
    let f = figures_ms(&all_pub);
    r.aggregated_publish_latency_avg = f[0];
    r.aggregated_publish_latency_50pct = f[1];
    r.aggregated_publish_latency_75pct = f[2];
    r.aggregated_publish_latency_95pct = f[3];
    r.aggregated_publish_latency_99pct = f[4];
    r.aggregated_publish_latency_999pct = f[5];
    r.aggregated_publish_latency_9999pct = f[6];
    r.aggregated_publish_latency_max = f[7];
    r.aggregated_publish_latency_quantiles = quantiles_ms(&all_pub);
    let e = figures_ms(&all_e2e);
    r.aggregated_end_to_end_latency_avg = e[0];
    r.aggregated_end_to_end_latency_50pct = e[1];
    r.aggregated_end_to_end_latency_75pct = e[2];
    r.aggregated_end_to_end_latency_95pct = e[3];
    r.aggregated_end_to_end_latency_99pct = e[4];
    r.aggregated_end_to_end_latency_999pct = e[5];
    r.aggregated_end_to_end_latency_9999pct = e[6];
    r.aggregated_end_to_end_latency_max = e[7];
    r.aggregated_end_to_end_latency_quantiles = quantiles_ms(&all_e2e);
    r
}
