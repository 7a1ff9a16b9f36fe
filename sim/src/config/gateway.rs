//! The gateway's settings: queue bounds, the dead-letter topic, and the
//! ingestion tier's de-duplication by event id (off by default, as a plain
//! gateway has none).

use serde::{Deserialize, Serialize};

/// Where the gateways' de-duplication cache lives.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum DedupScope {
    /// Each gateway instance keeps its own in-memory cache, lost when it
    /// crashes: a retry that lands on another gateway is not recognised.
    #[default]
    PerInstance,
    /// One cache every gateway consults (a Redis in front of the gateways):
    /// it survives gateway crashes, and each request pays a round trip to it.
    Shared,
}

/// Gateway behaviour.
#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields, default)]
pub struct GatewayConfig {
    /// Events a gateway holds (queued or in flight to the log) before it rejects.
    pub queue_capacity_events: usize,
    /// Retry-after hint sent with a backpressure rejection.
    pub retry_after_ms: u64,
    /// Partitions of the dead-letter topic.
    pub dead_letter_partitions: usize,
    /// De-duplicate by event id: an id the log took within the TTL is
    /// answered from the cache instead of being produced again.
    pub dedup: bool,
    /// How long an acknowledged id is remembered, virtual seconds from its acknowledgement.
    pub dedup_ttl_s: f64,
    /// Most ids the cache holds; the oldest are evicted first.
    pub dedup_capacity: usize,
    /// One cache per gateway instance, or one shared by all.
    pub dedup_scope: DedupScope,
    /// Round trip to the shared cache, charged on every request before it
    /// is looked at, ms (only with `dedup_scope = "shared"`; default 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dedup_lookup_ms: Option<u64>,
    /// `[gateway.rate_limit]`: a token bucket per key or client (off when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<super::hot_keys::RateLimitConfig>,
    /// CPU cores of each gateway instance.
    pub cores: usize,
    /// CPU per message the gateway handles (a client request parsed, a
    /// produce request built, a log reply read, a client reply written), µs.
    pub cpu_us_per_request: f64,
    /// CPU per KiB of those messages (parsing, validation, re-batching), µs.
    pub cpu_us_per_kib: f64,
    /// Egress NIC bandwidth of each gateway, MB/s (unset: the brokers' NIC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nic_mb_s: Option<f64>,
    /// Each gateway instance is a transactional producer (`transactional.id`
    /// `gateway-N`): its batches go out in transactions, and a client hears back
    /// once the transaction holding its events committed.
    pub transactional: bool,
    /// How long a transaction stays open for new batches before it commits, ms.
    pub transaction_interval_ms: u64,
    /// `transaction.timeout.ms`: the coordinator aborts a transaction open longer.
    pub transaction_timeout_ms: u64,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            queue_capacity_events: 100_000,
            retry_after_ms: 50,
            dead_letter_partitions: 1,
            dedup: false,
            dedup_ttl_s: 300.0,
            dedup_capacity: 1_000_000,
            dedup_scope: DedupScope::PerInstance,
            dedup_lookup_ms: None,
            rate_limit: None,
            cores: DEFAULT_CORES,
            cpu_us_per_request: DEFAULT_CPU_US_PER_REQUEST,
            cpu_us_per_kib: DEFAULT_CPU_US_PER_KIB,
            nic_mb_s: None,
            transactional: false,
            transaction_interval_ms: 100,
            // Kafka's default: 60 s.
            transaction_timeout_ms: 60_000,
        }
    }
}

// No published figure fits a gateway (docs/RESOURCES.md), so by default its
// CPU charges nothing and every scenario written before the model keeps its
// exact timing; a scenario about the ingestion tier sets its own costs.
const DEFAULT_CORES: usize = 8;
const DEFAULT_CPU_US_PER_REQUEST: f64 = 0.0;
const DEFAULT_CPU_US_PER_KIB: f64 = 0.0;

/// A same-zone Redis GET is 0.2 to 0.5 ms; the simulation's clock resolution is 1 ms.
const DEFAULT_LOOKUP_MS: u64 = 1;

impl GatewayConfig {
    /// CPU cost of a message of `bytes`, µs, rounded up.
    pub fn cpu_cost_us(&self, bytes: u64) -> u64 {
        (self.cpu_us_per_request + self.cpu_us_per_kib * bytes as f64 / 1024.0).ceil() as u64
    }

    /// The cache's TTL, ms.
    pub fn dedup_ttl_ms(&self) -> u64 {
        (self.dedup_ttl_s * 1000.0).round() as u64
    }

    /// What a request waits for the cache before it is looked at, ms.
    pub fn dedup_lookup_ms(&self) -> u64 {
        match self.dedup_scope {
            DedupScope::PerInstance => 0,
            DedupScope::Shared => self.dedup_lookup_ms.unwrap_or(DEFAULT_LOOKUP_MS),
        }
    }
}
