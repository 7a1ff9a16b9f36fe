//! `[serving]`: the read side of the sink. A query load reads each key's
//! newest window from the sink database, through a cache node (Redis-like:
//! entries, a TTL, LRU eviction) that the processor keeps fresh by
//! writing through or invalidating after each commit. Off by default
//! (`reads_per_s = 0`).

use serde::{Deserialize, Serialize};

/// What the processor does to the cache once a sink transaction committed.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum WritePolicy {
    /// Set each key the transaction changed to the database's newest value
    /// for it (what the transaction's `RETURNING` clause gives).
    WriteThrough,
    /// Delete each key the transaction changed; the next read fills it.
    Invalidate,
    /// Leave the cache alone: entries change only when their TTL runs out.
    /// Unsafe against any staleness bound shorter than the TTL; kept as a
    /// negative control.
    None,
}

impl WritePolicy {
    /// The name the scenario file uses.
    pub fn name(self) -> &'static str {
        match self {
            WritePolicy::WriteThrough => "write_through",
            WritePolicy::Invalidate => "invalidate",
            WritePolicy::None => "none",
        }
    }
}

/// `[serving]`: the query load, the cache and the promise it keeps.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ServingConfig {
    /// Reads per virtual second (Poisson arrivals); 0 leaves the serving layer out.
    pub reads_per_s: f64,
    /// Share of reads for keys the sink updated in the last `recent_s`
    /// (the 50M-events/day platform: 0.8 for the last 5 minutes).
    pub recent_share: f64,
    /// What counts as recent, virtual seconds.
    pub recent_s: f64,
    /// A cache node in front of the database; off, every read goes to the database.
    pub cache: bool,
    /// Entries the cache holds; past it the least recently used goes.
    pub capacity: usize,
    /// An entry expires this long after it was set, virtual seconds.
    pub ttl_s: f64,
    /// What the processor does to the cache after each commit.
    pub write_policy: WritePolicy,
    /// The freshness readers are promised: no read returns a value the
    /// database replaced more than this long before, ms (`serving.stale_read`).
    pub max_staleness_ms: u64,
    /// Cache CPU per operation (one core, as Redis runs commands), µs.
    pub cache_op_us: u64,
    /// Database time of one point read (an index lookup), µs: reads take
    /// the sink's connections, as its transactions do.
    pub db_read_us: u64,
    /// A cache request unanswered this long is given up, ms.
    pub cache_timeout_ms: u64,
    /// After a cache timeout, reads go straight to the database this long before trying the cache again, ms.
    pub cache_retry_ms: u64,
    /// A database read unanswered this long is sent again, ms.
    pub db_timeout_ms: u64,
    /// A read the cache cannot answer falls through to the database; off, it
    /// fails (a read path that treats the cache as the store). Unsafe; kept
    /// as a negative control.
    pub fall_through: bool,
}

impl Default for ServingConfig {
    fn default() -> Self {
        ServingConfig {
            reads_per_s: 0.0,
            recent_share: 0.8,
            recent_s: 300.0,
            cache: true,
            capacity: 10_000,
            ttl_s: 60.0,
            write_policy: WritePolicy::Invalidate,
            max_staleness_ms: 100,
            cache_op_us: 20,
            db_read_us: 1_000,
            cache_timeout_ms: 20,
            cache_retry_ms: 1_000,
            db_timeout_ms: 2_000,
            fall_through: true,
        }
    }
}

impl ServingConfig {
    /// Whether the scenario has a serving layer.
    pub fn enabled(&self) -> bool {
        self.reads_per_s > 0.0
    }

    /// Whether the scenario leaves the serving layer out (the section is then not written back).
    pub fn is_off(&self) -> bool {
        !self.enabled()
    }

    /// The section in one line, for summaries.
    pub fn describe(&self) -> String {
        let cache = if self.cache {
            format!(
                "a cache of {} entries, TTL {} s, LRU, {}",
                self.capacity,
                self.ttl_s,
                self.write_policy.name()
            )
        } else {
            "no cache".to_string()
        };
        format!(
            "{} reads/s, {}% for the last {} s; {cache}; staleness bound {} ms",
            self.reads_per_s,
            self.recent_share * 100.0,
            self.recent_s,
            self.max_staleness_ms
        )
    }
}
