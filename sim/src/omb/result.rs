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

/// The eight figures OMB reports for a latency (mean, p50, p75, p95, p99,
/// p99.9, p99.99, max), named `{prefix}Avg`, `{prefix}50pct` ...
/// `{prefix}Max` once flattened under a prefix. The mean's type can differ
/// from the others', as in OMB's publish-delay figures (a double mean over
/// whole-microsecond percentiles).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)] // each field is the figure its serialised name gives
pub struct LatencyFigures<A, P> {
    #[serde(rename = "Avg")]
    pub avg: A,
    #[serde(rename = "50pct")]
    pub p50: P,
    #[serde(rename = "75pct")]
    pub p75: P,
    #[serde(rename = "95pct")]
    pub p95: P,
    #[serde(rename = "99pct")]
    pub p99: P,
    #[serde(rename = "999pct")]
    pub p999: P,
    #[serde(rename = "9999pct")]
    pub p9999: P,
    #[serde(rename = "Max")]
    pub max: P,
}

impl<T: Copy> LatencyFigures<Vec<T>, Vec<T>> {
    /// Appends one period's figures, in [`figures_ms`]'s order.
    fn push(&mut self, f: [T; 8]) {
        let [avg, p50, p75, p95, p99, p999, p9999, max] = f;
        self.avg.push(avg);
        self.p50.push(p50);
        self.p75.push(p75);
        self.p95.push(p95);
        self.p99.push(p99);
        self.p999.push(p999);
        self.p9999.push(p9999);
        self.max.push(max);
    }
}

impl<T> From<[T; 8]> for LatencyFigures<T, T> {
    fn from(f: [T; 8]) -> Self {
        let [avg, p50, p75, p95, p99, p999, p9999, max] = f;
        LatencyFigures {
            avg,
            p50,
            p75,
            p95,
            p99,
            p999,
            p9999,
            max,
        }
    }
}

serde_with::with_prefix!(publish_latency "publishLatency");
serde_with::with_prefix!(publish_delay_latency "publishDelayLatency");
serde_with::with_prefix!(aggregated_publish_latency "aggregatedPublishLatency");
serde_with::with_prefix!(aggregated_publish_delay_latency "aggregatedPublishDelayLatency");
serde_with::with_prefix!(end_to_end_latency "endToEndLatency");
serde_with::with_prefix!(aggregated_end_to_end_latency "aggregatedEndToEndLatency");

/// OMB's `TestResult`, field for field (the latency figures flattened under
/// OMB's prefixes, in OMB's order).
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
    #[serde(flatten, with = "publish_latency")]
    pub publish_latency: LatencyFigures<Vec<f64>, Vec<f64>>,
    #[serde(flatten, with = "publish_delay_latency")]
    pub publish_delay_latency: LatencyFigures<Vec<f64>, Vec<u64>>,
    #[serde(flatten, with = "aggregated_publish_latency")]
    pub aggregated_publish_latency: LatencyFigures<f64, f64>,
    #[serde(flatten, with = "aggregated_publish_delay_latency")]
    pub aggregated_publish_delay_latency: LatencyFigures<f64, u64>,
    pub aggregated_publish_latency_quantiles: Quantiles,
    pub aggregated_publish_delay_latency_quantiles: Quantiles,
    #[serde(flatten, with = "end_to_end_latency")]
    pub end_to_end_latency: LatencyFigures<Vec<f64>, Vec<f64>>,
    pub aggregated_end_to_end_latency_quantiles: Quantiles,
    #[serde(flatten, with = "aggregated_end_to_end_latency")]
    pub aggregated_end_to_end_latency: LatencyFigures<f64, f64>,
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
    // OMB's backlog: every subscription is owed every message sent.
    let owed = u64::from(w.subscriptions_per_topic);
    // Everything sent before the first period counts in the backlog, as OMB's
    // totals run from the start.
    let before = span(report, 0, plan.warmup_ms);
    acked += before.published;
    consumed += before.received();
    let mut all_pub = streamsim_reports::latency_histogram();
    let mut all_e2e = streamsim_reports::latency_histogram();
    for p in periods(plan, report) {
        let secs = p.seconds().max(1e-9);
        acked += p.published;
        consumed += p.received();
        r.publish_rate.push(p.published as f64 / secs);
        r.publish_error_rate.push(0.0);
        r.consume_rate.push(p.received() as f64 / secs);
        r.backlog.push((owed * acked).saturating_sub(consumed));
        r.publish_latency.push(figures_ms(&p.publish_latency));
        // Zeros: the model has no rate limiter to fall behind (module doc).
        r.publish_delay_latency.avg.push(0.0);
        let d = &mut r.publish_delay_latency;
        for v in [
            &mut d.p50,
            &mut d.p75,
            &mut d.p95,
            &mut d.p99,
            &mut d.p999,
            &mut d.p9999,
            &mut d.max,
        ] {
            v.push(0);
        }
        r.end_to_end_latency.push(figures_ms(&p.e2e_latency));
        let _ = all_pub.add(&p.publish_latency);
        let _ = all_e2e.add(&p.e2e_latency);
    }
    r.aggregated_publish_latency = figures_ms(&all_pub).into();
    r.aggregated_publish_latency_quantiles = quantiles_ms(&all_pub);
    r.aggregated_end_to_end_latency = figures_ms(&all_e2e).into();
    r.aggregated_end_to_end_latency_quantiles = quantiles_ms(&all_e2e);
    r
}
