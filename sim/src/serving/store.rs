//! The serving layer's state that outlives its nodes: the database's
//! per-key view (durable with the sink's tables) and the query load's
//! figures (latency, hits, stale and failed reads), which the checker and
//! the report read at the end.

use crate::bucket_latency::{BucketLatency, SealedBelow};
use crate::config::ServingConfig;
use crate::serving::view::{Staleness, Value, View};
use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use streamsim_reports::latency_histogram;

/// Replaced values are kept this long past the TTL: no cache entry lives longer.
const HORIZON_MARGIN_US: u64 = 60_000_000;

/// One time bucket of the query load.
#[derive(Clone, Debug)]
pub struct ReadBucket {
    /// Reads issued in the bucket and answered.
    pub reads: u64,
    /// Of those, answered by the cache.
    pub hits: u64,
    /// Read latency, µs.
    pub latency: BucketLatency,
}

/// The first read that broke a check, as a witness.
#[derive(Clone, Copy, Debug)]
pub struct BadRead {
    /// The key read.
    pub key: u64,
    /// When the read was issued, µs.
    pub issued_us: u64,
    /// When its value was served, µs (0 for a read that failed).
    pub served_us: u64,
    /// The value served.
    pub value: Option<Value>,
    /// How long before it was served the database had a newer value, µs.
    pub replaced_for_us: u64,
}

/// What the query load saw.
#[derive(Debug)]
pub struct ReadStats {
    /// Reads answered.
    pub reads: u64,
    /// Reads the cache answered.
    pub hits: u64,
    /// Reads that failed: the cache could not answer and they did not fall through.
    pub failed: u64,
    /// Cache requests that timed out.
    pub cache_timeouts: u64,
    /// Read latency over the run, µs.
    pub latency: Histogram<u64>,
    /// Per time bucket.
    pub buckets: Vec<ReadBucket>,
    /// The buckets whose latency histograms are sealed.
    sealed: SealedBelow,
    /// Bucket width, ms.
    pub bucket_ms: u64,
    /// Reads served a value the database had replaced more than the bound before.
    pub stale_reads: u64,
    /// The longest a served value had been replaced, µs.
    pub max_replaced_for_us: u64,
    /// The first stale read.
    pub first_stale: Option<BadRead>,
    /// The first failed read.
    pub first_failed: Option<BadRead>,
    /// The longest from a database commit to the cache write or delete that followed it, µs.
    pub max_invalidation_delay_us: u64,
    /// Reads under way: request id to (key, issue instant µs).
    pub in_flight: BTreeMap<u64, (u64, u64)>,
}

/// The serving layer's durable state.
#[derive(Debug)]
pub struct Serving {
    /// What readers query.
    pub view: View,
    /// What they saw.
    pub stats: ReadStats,
    /// The staleness bound, µs.
    pub bound_us: u64,
}

impl Serving {
    /// Empty state for `cfg`, with report buckets of `bucket_ms`.
    pub fn new(cfg: &ServingConfig, bucket_ms: u64) -> Self {
        let ttl_us = (cfg.ttl_s.max(0.0) * 1e6) as u64;
        Serving {
            view: View::new((cfg.recent_s.max(0.0) * 1e6) as u64, ttl_us + HORIZON_MARGIN_US),
            stats: ReadStats {
                reads: 0,
                hits: 0,
                failed: 0,
                cache_timeouts: 0,
                latency: latency_histogram(),
                buckets: Vec::new(),
                sealed: SealedBelow::default(),
                bucket_ms: bucket_ms.max(1),
                stale_reads: 0,
                max_replaced_for_us: 0,
                first_stale: None,
                first_failed: None,
                max_invalidation_delay_us: 0,
                in_flight: BTreeMap::new(),
            },
            bound_us: cfg.max_staleness_ms * 1000,
        }
    }

    /// A read answered at `now_us` with `value`, served at `served_us`: its
    /// latency, whether the cache answered, and how stale the value was.
    pub fn answered(&mut self, req: u64, value: Option<Value>, served_us: u64, hit: bool, now_us: u64) {
        let Some((key, issued_us)) = self.stats.in_flight.remove(&req) else {
            return; // answered already (a duplicate reply)
        };
        let s = &mut self.stats;
        let latency = now_us.saturating_sub(issued_us);
        s.reads += 1;
        s.hits += u64::from(hit);
        s.latency.saturating_record(latency.max(1));
        // A read belongs to the bucket it was issued in, so the last bucket holds no stragglers.
        let b = (issued_us / 1000 / s.bucket_ms) as usize;
        while s.buckets.len() <= b {
            s.buckets.push(ReadBucket {
                reads: 0,
                hits: 0,
                latency: BucketLatency::default(),
            });
        }
        // Reads issued a whole bucket before this one's answer are done but for rare
        // stragglers, which a sealed bucket still takes (decoded again).
        let done = ((now_us / 1000 / s.bucket_ms) as usize).saturating_sub(1);
        s.sealed.advance(&mut s.buckets, done, |old| old.latency.seal());
        let bucket = &mut s.buckets[b];
        bucket.reads += 1;
        bucket.hits += u64::from(hit);
        bucket.latency.record(latency);
        if let Staleness::ReplacedFor(us) = self.view.staleness(key, value, served_us) {
            s.max_replaced_for_us = s.max_replaced_for_us.max(us);
            if us > self.bound_us {
                s.stale_reads += 1;
                s.first_stale.get_or_insert(BadRead {
                    key,
                    issued_us,
                    served_us,
                    value,
                    replaced_for_us: us,
                });
            }
        }
    }

    /// A read given up: the cache could not answer it and it may not go to the database.
    pub fn failed(&mut self, req: u64) {
        let Some((key, issued_us)) = self.stats.in_flight.remove(&req) else {
            return;
        };
        self.stats.failed += 1;
        self.stats.first_failed.get_or_insert(BadRead {
            key,
            issued_us,
            served_us: 0,
            value: None,
            replaced_for_us: 0,
        });
    }
}
