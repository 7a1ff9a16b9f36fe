//! What the checker holds a run to beyond the invariants every run checks:
//! latency and throughput budgets, and the optional invariants.

use serde::{Deserialize, Serialize};

/// Budgets; each omitted one is not checked.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Budgets {
    /// Acknowledgement latency p50, ms.
    pub ack_p50_ms: Option<f64>,
    /// Acknowledgement latency p99, ms.
    pub ack_p99_ms: Option<f64>,
    /// Acknowledgement latency p99.9, ms.
    pub ack_p999_ms: Option<f64>,
    /// Floor on acknowledged events per virtual second over the workload.
    pub min_acked_per_s: Option<f64>,
    /// End-to-end latency p50 (client generation to sink commit), ms.
    pub e2e_p50_ms: Option<f64>,
    /// End-to-end latency p99, ms.
    pub e2e_p99_ms: Option<f64>,
    /// End-to-end latency p99.9, ms.
    pub e2e_p999_ms: Option<f64>,
    /// Ceiling on the read path's drain: virtual seconds from the end of the
    /// workload (when every fault has healed) until consumer lag is zero everywhere.
    pub max_drain_s: Option<f64>,
    /// Ceiling on the lake's freshness p99: the age, virtual seconds, of the
    /// newest event the lake's manifest holds, on the partition furthest behind,
    /// sampled every second of the workload.
    pub lake_freshness_s: Option<f64>,
    /// Read latency p99 of the serving layer's query load, ms.
    pub read_p99_ms: Option<f64>,
}

/// The least default grace of the throughput check: a client with a short
/// request timeout still gets a few seconds for what the cluster was
/// recovering from when the workload ended.
const MIN_DEFAULT_GRACE_MS: u64 = 5_000;

/// Optional invariants.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct InvariantConfig {
    /// Check that events of one key from one client appear in the log in send order.
    pub per_key_order: bool,
    /// Require every request to settle (acknowledged or refused) within the drain.
    pub settle_within_drain: bool,
    /// Require the pipeline to keep up: of the events the workload offered,
    /// at least `throughput_min_ratio` acknowledged by `throughput_grace_s`
    /// after the workload's end. A scenario that means to overload turns it off.
    pub throughput: bool,
    /// The least share of offered events acknowledged in time that counts as keeping up.
    pub throughput_min_ratio: f64,
    /// Seconds after the workload's end that acknowledgements still count;
    /// unset, the client's request timeout but at least 5 s: a request in
    /// flight at the end is answered, or times out and is retried, within it.
    pub throughput_grace_s: Option<f64>,
}

impl InvariantConfig {
    /// The throughput check's grace, ms, given the client's request timeout.
    pub fn throughput_grace_ms(&self, client_request_timeout_ms: u64) -> u64 {
        self.throughput_grace_s
            .map_or(client_request_timeout_ms.max(MIN_DEFAULT_GRACE_MS), |s| {
                (s * 1000.0) as u64
            })
    }
}

impl Default for InvariantConfig {
    fn default() -> Self {
        InvariantConfig {
            per_key_order: true,
            settle_within_drain: true,
            throughput: true,
            throughput_min_ratio: 0.99,
            throughput_grace_s: None,
        }
    }
}
