//! The read path's scenario sections: the stream processor job and the
//! sink database. Defaults follow Kafka Streams and Flink where those have
//! one (commit interval, session timeout, heartbeat); the rest are stated
//! in docs/RESOURCES.md.

use serde::{Deserialize, Serialize};

/// How the processor delivers to the sink.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// Sink writes happen as records are processed; offsets and state are
    /// committed afterwards, so a crash in between replays and duplicates.
    AtLeastOnce,
    /// Sink writes, consumed offsets and operator state commit in one sink
    /// transaction, fenced by the owner's generation.
    ExactlyOnce,
}

/// Event-time windows of the aggregation.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum WindowSpec {
    /// Fixed, non-overlapping windows.
    Tumbling {
        /// Window length, ms.
        size_ms: u64,
    },
    /// Overlapping windows of `size_ms` every `slide_ms`.
    Sliding {
        /// Window length, ms.
        size_ms: u64,
        /// Distance between window starts, ms.
        slide_ms: u64,
    },
    /// Per-key sessions closed by `gap_ms` of inactivity.
    Session {
        /// Inactivity gap, ms.
        gap_ms: u64,
    },
}

/// `[processor]`: the stream processing job. Absent or `instances = 0`
/// means the scenario models the write path only.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ProcessorConfig {
    /// Processor instances in the consumer group.
    pub instances: usize,
    /// Delivery guarantee.
    pub delivery: Delivery,
    /// Checkpoint (commit) interval, ms. Kafka Streams uses 100 ms under exactly-once.
    pub commit_interval_ms: u64,
    /// Drop events whose id was seen within the TTL.
    pub dedup: bool,
    /// How long an id is remembered, virtual seconds of processing time.
    pub dedup_ttl_s: f64,
    /// Windowed aggregation.
    pub window: WindowSpec,
    /// Watermark = largest event time seen minus this bound.
    pub max_out_of_orderness_ms: u64,
    /// Windows keep accepting events this long past the watermark; later events go to the side output.
    pub allowed_lateness_ms: u64,
    /// Group membership session timeout, ms (Kafka consumer default 45 s; streams jobs often lower it).
    pub session_timeout_ms: u64,
    /// Heartbeat interval, ms.
    pub heartbeat_interval_ms: u64,
    /// Records per fetch and partition.
    pub fetch_max_records: usize,
    /// Idle wait of a fetch with nothing new, ms (`fetch.max.wait.ms`).
    pub fetch_max_wait_ms: u64,
    /// CPU per processed record, µs.
    pub cpu_per_record_us: f64,
    /// Sink request timeout, ms.
    pub sink_timeout_ms: u64,
    /// First retry backoff against the sink, ms (doubles up to the max).
    pub sink_retry_backoff_ms: u64,
    /// Largest retry backoff against the sink, ms.
    pub sink_retry_backoff_max_ms: u64,
    /// Uncommitted output rows at which a task stops fetching (backpressure).
    pub max_pending_rows: usize,
}

impl Default for ProcessorConfig {
    fn default() -> Self {
        ProcessorConfig {
            instances: 0,
            delivery: Delivery::ExactlyOnce,
            commit_interval_ms: 100,
            dedup: true,
            dedup_ttl_s: 120.0,
            window: WindowSpec::Tumbling { size_ms: 10_000 },
            max_out_of_orderness_ms: 2_000,
            allowed_lateness_ms: 5_000,
            session_timeout_ms: 10_000,
            heartbeat_interval_ms: 1_000,
            fetch_max_records: 2_000,
            fetch_max_wait_ms: 50,
            cpu_per_record_us: 2.0,
            sink_timeout_ms: 5_000,
            sink_retry_backoff_ms: 100,
            sink_retry_backoff_max_ms: 5_000,
            max_pending_rows: 50_000,
        }
    }
}

/// `[sink]`: the database the processor writes to.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SinkConfig {
    /// Fixed cost of a commit (WAL fsync and round trips inside the database), µs.
    pub commit_us: u64,
    /// Cost per written row, µs.
    pub per_row_us: f64,
    /// Concurrent transactions the database executes (connection pool).
    pub connections: usize,
}

impl Default for SinkConfig {
    fn default() -> Self {
        SinkConfig {
            commit_us: 2_000,
            per_row_us: 1.0,
            connections: 4,
        }
    }
}
