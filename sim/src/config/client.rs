//! How simulated clients send: request sizes, timeouts, retries.

use serde::{Deserialize, Serialize};

/// Client behaviour.
#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields, default)]
pub struct ClientConfig {
    /// Clients gather events this long before sending a request.
    pub linger_ms: u64,
    /// Largest request, in events.
    pub max_batch_events: usize,
    /// A request unanswered this long is uncertain and retried with the same ids.
    pub request_timeout_ms: u64,
    /// First retry backoff; doubles per attempt.
    pub retry_backoff_ms: u64,
    /// Largest retry backoff.
    pub retry_backoff_max_ms: u64,
    /// Requests in flight per client. 1 keeps per-key order across retries.
    pub max_in_flight: usize,
    /// Kafka's `buffer.memory`: bytes of events the producer holds (waiting,
    /// in flight or to retry) until they are acknowledged. A full buffer
    /// blocks the application's sends.
    pub buffer_memory_bytes: u64,
    /// Kafka's `max.block.ms`: a send blocked this long on a full buffer
    /// fails (counted as a failed send, never as loss).
    pub max_block_ms: u64,
    /// Kafka's `delivery.timeout.ms`: an event not acknowledged this long
    /// after it entered the producer fails (counted as a failed send, never
    /// as loss), whatever its retries; at least `linger_ms + request_timeout_ms`.
    pub delivery_timeout_ms: u64,
    /// CPU cores of each client.
    pub cores: usize,
    /// CPU per message the client handles (a request built, a reply read), µs.
    pub cpu_us_per_request: f64,
    /// CPU per KiB of those messages (serialising events, reading results), µs.
    pub cpu_us_per_kib: f64,
    /// Egress NIC bandwidth of each client, MB/s (unset: the brokers' NIC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nic_mb_s: Option<f64>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            linger_ms: 5,
            max_batch_events: 500,
            request_timeout_ms: 10_000,
            retry_backoff_ms: 100,
            retry_backoff_max_ms: 5_000,
            max_in_flight: 1,
            // Kafka's producer defaults: 32 MiB, 60 s.
            buffer_memory_bytes: 32 << 20,
            max_block_ms: 60_000,
            // Kafka's default, two minutes.
            delivery_timeout_ms: 120_000,
            cores: DEFAULT_CORES,
            cpu_us_per_request: 0.0,
            cpu_us_per_kib: 0.0,
            nic_mb_s: None,
        }
    }
}

// A Kafka producer does its network work (building requests, reading
// replies) on one sender thread. The CPU costs default to 0: the published
// producer figures are per record, not per request or KiB, and any other
// default would move the timing of every scenario (docs/RESOURCES.md).
const DEFAULT_CORES: usize = 1;

impl ClientConfig {
    /// CPU cost of a message of `bytes`, µs, rounded up.
    pub fn cpu_cost_us(&self, bytes: u64) -> u64 {
        (self.cpu_us_per_request + self.cpu_us_per_kib * bytes as f64 / 1024.0).ceil() as u64
    }
}
