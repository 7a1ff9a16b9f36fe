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
        }
    }
}
