//! The gateways' rate limit: a token bucket per key or per client, one
//! store every gateway instance consults (as a limiter kept in a shared
//! Redis would be), so a client gets the same budget whichever gateway the
//! balancer picks. A bucket refills continuously at the configured rate up
//! to its burst; an event that finds less than one token is refused.

use crate::config::{RateLimitBy, RateLimitConfig};
use std::collections::BTreeMap;

/// One entity's bucket: its tokens as of a time.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    at_us: u64,
}

/// The buckets of every entity seen so far.
#[derive(Debug)]
pub struct RateLimiter {
    by: RateLimitBy,
    per_us: f64,
    burst: f64,
    buckets: BTreeMap<u64, Bucket>,
}

impl RateLimiter {
    /// A limiter with every bucket full.
    pub fn new(cfg: &RateLimitConfig) -> Self {
        RateLimiter {
            by: cfg.by,
            per_us: cfg.events_per_s / 1e6,
            burst: cfg.burst(),
            buckets: BTreeMap::new(),
        }
    }

    /// Take one token for an event of `client` with `key` at `now_us`; false
    /// when its bucket has less than one (the event is refused).
    pub fn admit(&mut self, client: u32, key: u64, now_us: u64) -> bool {
        let entity = match self.by {
            RateLimitBy::Key => key,
            RateLimitBy::Client => u64::from(client),
        };
        let burst = self.burst;
        let b = self.buckets.entry(entity).or_insert(Bucket {
            tokens: burst,
            at_us: now_us,
        });
        let elapsed = now_us.saturating_sub(b.at_us) as f64;
        b.tokens = (b.tokens + elapsed * self.per_us).min(burst);
        b.at_us = b.at_us.max(now_us);
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(by: RateLimitBy, per_s: f64, burst: f64) -> RateLimiter {
        RateLimiter::new(&RateLimitConfig {
            by,
            events_per_s: per_s,
            burst: Some(burst),
            retry_after_ms: None,
        })
    }

    #[test]
    fn a_burst_passes_then_the_rate_holds() {
        let mut l = limiter(RateLimitBy::Key, 100.0, 10.0);
        let admitted = (0..20).filter(|_| l.admit(0, 5, 0)).count();
        assert_eq!(admitted, 10, "the burst, then refusals");
        assert!(!l.admit(0, 5, 9_000), "0.9 of a token after 9 ms");
        assert!(l.admit(0, 5, 10_000), "one token after 10 ms at 100/s");
        assert!(l.admit(0, 6, 10_000), "another key has its own bucket");
    }

    #[test]
    fn a_client_bucket_covers_all_its_keys() {
        let mut l = limiter(RateLimitBy::Client, 1.0, 2.0);
        assert!(l.admit(3, 1, 0));
        assert!(l.admit(3, 2, 0));
        assert!(!l.admit(3, 4, 0));
        assert!(l.admit(4, 4, 0));
        // A long idle time refills only up to the burst.
        let n = (0..5).filter(|_| l.admit(3, 9, 60_000_000)).count();
        assert_eq!(n, 2);
    }
}
