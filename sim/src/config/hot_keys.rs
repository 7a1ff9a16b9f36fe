//! Settings for high-volume entities: the gateway's rate limit (a token
//! bucket per key or per client) and the processor's salting of hot keys.
//! Both are off by default.

use serde::{Deserialize, Serialize};

/// What one token bucket of the rate limit is kept for.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum RateLimitBy {
    /// One bucket per event key: a hot key is throttled, the others are not.
    #[default]
    Key,
    /// One bucket per client (the producing entity, a tenant or a device).
    Client,
}

/// `[gateway.rate_limit]`: a token bucket per entity. An event that finds its
/// bucket empty is refused (HTTP 429 with a Retry-After, Kafka's throttle)
/// before the gateway queues it; the client retries it with backoff.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitConfig {
    /// What a bucket is kept for.
    pub by: RateLimitBy,
    /// Tokens added per second: the sustained rate one entity may send, events/s.
    pub events_per_s: f64,
    /// Bucket capacity, events: the burst an idle entity may send at once
    /// (unset: one second's worth of `events_per_s`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub burst: Option<f64>,
    /// The Retry-After the refusal carries, ms: a client waits at least this
    /// long before it sends a refused event again (unset: the time one token takes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            by: RateLimitBy::Key,
            events_per_s: 0.0,
            burst: None,
            retry_after_ms: None,
        }
    }
}

impl RateLimitConfig {
    /// Bucket capacity, events.
    pub fn burst(&self) -> f64 {
        self.burst.unwrap_or(self.events_per_s)
    }

    /// The Retry-After of a refusal, ms.
    pub fn retry_after_ms(&self) -> u64 {
        self.retry_after_ms
            .unwrap_or_else(|| (1000.0 / self.events_per_s).ceil().max(1.0) as u64)
    }
}

/// `[processor.salt]`: each hot key's events are spread over `sub_keys`
/// sub-keys (by event id, so a retried copy keeps its sub-key), which the
/// partitioner places apart; the first stage aggregates per sub-key and a
/// second stage re-aggregates the partial rows per original key.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct SaltConfig {
    /// The keys to spread.
    pub hot_keys: Vec<u64>,
    /// Sub-keys per hot key, at least 2.
    pub sub_keys: u32,
}

/// Keys at or above this cannot be salted: the sub-key keeps the salt above them.
pub const SALTABLE_KEYS: u64 = 1 << 48;

impl SaltConfig {
    /// Whether any key is salted.
    pub fn enabled(&self) -> bool {
        !self.hot_keys.is_empty() && self.sub_keys > 1
    }

    /// The key an event is partitioned and aggregated by in the first stage:
    /// its own key, or for a hot key the sub-key its id draws.
    pub fn routing_key(&self, key: u64, client: u32, seq: u64) -> u64 {
        if !self.enabled() || !self.hot_keys.contains(&key) {
            return key;
        }
        let salt = mix(u64::from(client) << 40 ^ seq) % u64::from(self.sub_keys);
        key | ((salt + 1) << 48)
    }

    /// The original key of a (sub-)key.
    pub fn original_key(&self, k: u64) -> u64 {
        k & (SALTABLE_KEYS - 1)
    }
}

/// The routing key under an optional salt: what the producers' partitioner hashes.
pub fn routing_key(salt: Option<&SaltConfig>, key: u64, client: u32, seq: u64) -> u64 {
    salt.map_or(key, |s| s.routing_key(key, client, seq))
}

/// A well-mixed hash of an event id, so sub-keys are drawn evenly.
fn mix(mut h: u64) -> u64 {
    h ^= h >> 31;
    h = h.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    h ^= h >> 29;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^ (h >> 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hot_key_spreads_over_its_sub_keys_and_maps_back() {
        let s = SaltConfig {
            hot_keys: vec![0, 7],
            sub_keys: 4,
        };
        let subs: std::collections::BTreeSet<u64> = (0..1000).map(|seq| s.routing_key(7, 1, seq)).collect();
        assert_eq!(subs.len(), 4);
        assert!(subs.iter().all(|&k| s.original_key(k) == 7 && k != 7));
        assert_eq!(
            s.routing_key(0, 3, 5),
            s.routing_key(0, 3, 5),
            "a retry keeps its sub-key"
        );
        assert_eq!(s.routing_key(8, 1, 1), 8, "a cold key is not salted");
        assert_eq!(SaltConfig::default().routing_key(7, 1, 1), 7);
    }

    #[test]
    fn the_default_retry_after_is_one_tokens_time() {
        let r = RateLimitConfig {
            events_per_s: 400.0,
            ..Default::default()
        };
        assert_eq!(r.retry_after_ms(), 3);
        assert_eq!(r.burst(), 400.0);
    }
}
