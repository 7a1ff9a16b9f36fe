//! The read path's scenario sections: the stream processor job and the
//! sink database. Defaults follow Kafka Streams and Flink where those have
//! one (commit interval, session timeout, heartbeat); the rest are stated
//! in docs/RESOURCES.md.

use super::model::Scenario;
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

/// Event-time windows of the aggregation: the operators' own type.
pub use crate::stream::WindowKind as WindowSpec;

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
    /// How long a rebalance waits for members to revoke and rejoin before removing
    /// them, ms (`max.poll.interval.ms`, which the classic protocol uses for it).
    pub rebalance_timeout_ms: u64,
    /// How long the first rebalance of an empty group waits for more members, ms
    /// (the broker's `group.initial.rebalance.delay.ms`).
    pub initial_rebalance_delay_ms: u64,
    /// Members keep a `group.instance.id` (KIP-345): a restart within the session
    /// timeout takes its partitions back without a rebalance.
    pub static_membership: bool,
    /// Instance `i` first starts `i` times this after the run begins, ms, as a rolling
    /// deployment brings pods up one after another (0: all at once).
    pub start_stagger_ms: u64,
    /// A member commits what it processed before it gives up its partitions at a
    /// rebalance (`onPartitionsRevoked`); off, it drops them uncommitted.
    pub commit_on_revoke: bool,
    /// Bytes per fetch and partition (`max.partition.fetch.bytes`).
    pub fetch_max_bytes: u64,
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
            rebalance_timeout_ms: 300_000,
            initial_rebalance_delay_ms: 3_000,
            static_membership: false,
            commit_on_revoke: true,
            start_stagger_ms: 0,
            fetch_max_bytes: 1 << 20,
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

/// Refuse read-path settings that cannot run, naming the field.
pub(super) fn validate(s: &Scenario) -> Result<(), (String, String)> {
    let fail = |field: &str, msg: String| Err((field.to_string(), msg));
    let p = &s.processor;
    if p.instances == 0 {
        let b = &s.budgets;
        for (field, set) in [
            ("budgets.e2e_p50_ms", b.e2e_p50_ms.is_some()),
            ("budgets.e2e_p99_ms", b.e2e_p99_ms.is_some()),
            ("budgets.e2e_p999_ms", b.e2e_p999_ms.is_some()),
            ("budgets.max_drain_s", b.max_drain_s.is_some()),
        ] {
            if set {
                return fail(
                    field,
                    "needs a read path: set [processor] instances to 1 or more".into(),
                );
            }
        }
        return Ok(());
    }
    if s.log.retention_ms < p.commit_interval_ms {
        return fail(
            "log.retention_ms",
            format!(
                "retention of {} ms is shorter than the processor's checkpoint interval of {} ms: the log would delete records before any checkpoint could cover them",
                s.log.retention_ms, p.commit_interval_ms
            ),
        );
    }
    for (field, v) in [
        ("processor.commit_interval_ms", p.commit_interval_ms),
        ("processor.heartbeat_interval_ms", p.heartbeat_interval_ms),
        ("processor.rebalance_timeout_ms", p.rebalance_timeout_ms),
        ("processor.fetch_max_wait_ms", p.fetch_max_wait_ms),
        ("processor.sink_timeout_ms", p.sink_timeout_ms),
        ("processor.sink_retry_backoff_ms", p.sink_retry_backoff_ms),
        ("processor.fetch_max_bytes", p.fetch_max_bytes),
        ("processor.max_pending_rows", p.max_pending_rows as u64),
        ("sink.connections", s.sink.connections as u64),
    ] {
        if v == 0 {
            return fail(field, "must be at least 1".into());
        }
    }
    if p.session_timeout_ms <= p.heartbeat_interval_ms {
        return fail(
            "processor.session_timeout_ms",
            format!(
                "{} ms must exceed heartbeat_interval_ms ({} ms), or every member expires between heartbeats",
                p.session_timeout_ms, p.heartbeat_interval_ms
            ),
        );
    }
    let last_start_ms = (p.instances as u64 - 1).saturating_mul(p.start_stagger_ms);
    if last_start_ms as f64 >= s.duration_s * 1000.0 {
        return fail(
            "processor.start_stagger_ms",
            format!(
                "instance {} would start at {} s, after the workload ends at {} s",
                p.instances - 1,
                last_start_ms as f64 / 1000.0,
                s.duration_s
            ),
        );
    }
    if p.initial_rebalance_delay_ms > p.rebalance_timeout_ms {
        return fail(
            "processor.initial_rebalance_delay_ms",
            format!(
                "{} ms exceeds rebalance_timeout_ms ({} ms): the first generation could never wait that long",
                p.initial_rebalance_delay_ms, p.rebalance_timeout_ms
            ),
        );
    }
    if p.sink_retry_backoff_max_ms < p.sink_retry_backoff_ms {
        return fail(
            "processor.sink_retry_backoff_max_ms",
            format!(
                "must be at least sink_retry_backoff_ms ({} ms)",
                p.sink_retry_backoff_ms
            ),
        );
    }
    if p.dedup && !(p.dedup_ttl_s.is_finite() && p.dedup_ttl_s > 0.0) {
        return fail(
            "processor.dedup_ttl_s",
            format!("must be a positive number, got {}", p.dedup_ttl_s),
        );
    }
    if !(p.cpu_per_record_us.is_finite() && p.cpu_per_record_us >= 0.0) {
        return fail("processor.cpu_per_record_us", "must be zero or positive".into());
    }
    if !(s.sink.per_row_us.is_finite() && s.sink.per_row_us >= 0.0) {
        return fail("sink.per_row_us", "must be zero or positive".into());
    }
    if let WindowSpec::Sliding { size_ms, slide_ms } = p.window {
        if slide_ms > size_ms {
            return fail(
                "processor.window.slide_ms",
                format!(
                    "{slide_ms} ms is longer than size_ms ({size_ms} ms): events between windows would belong to none"
                ),
            );
        }
    }
    crate::processor::operator_config(p)
        .validate()
        .map_err(|m| ("processor.window".to_string(), m))
}
