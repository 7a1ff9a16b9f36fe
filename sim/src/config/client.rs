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
        }
    }
}
