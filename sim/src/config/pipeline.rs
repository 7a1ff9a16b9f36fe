//! The read path's settings: the stream processor job, its operator chain
//! and windows, and the sink database. Defaults follow Kafka Streams and
//! Flink where those have one (commit interval, session timeout,
//! heartbeat); the rest are stated in docs/RESOURCES.md.

use super::window::{OperatorConfig, WindowKind};
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
    /// Kafka Streams' `exactly_once_v2` (KIP-447): each instance is a
    /// transactional producer; output rows go to an output topic and the
    /// consumed offsets (with the operator state) to the group's offsets in
    /// the same Kafka transaction; the sink reads the output topic with
    /// read_committed and keeps its offsets with its rows.
    ExactlyOnceTxn,
}

/// Which records a consumer is given (Kafka's `isolation.level`).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum Isolation {
    /// Everything up to the high watermark, aborted transactions' records included (Kafka's default).
    #[default]
    ReadUncommitted,
    /// Up to the last stable offset, without the records of aborted transactions.
    ReadCommitted,
}

impl Isolation {
    fn is_default(&self) -> bool {
        *self == Isolation::default()
    }
}

/// Event-time windows of the aggregation, as the scenario names them.
pub use super::window::WindowKind as WindowSpec;

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
    pub window: WindowKind,
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
    /// How long the leader holds a fetch with nothing new before answering it
    /// empty, ms (`fetch.max.wait.ms`, the long poll).
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
    /// Time a task's one thread spends on each record, µs (enrichment, lookups): a
    /// task takes its records one after another, so a partition that needs more than
    /// one thread falls behind however many cores its instance has. 0: none beyond
    /// `cpu_per_record_us`.
    #[serde(skip_serializing_if = "is_zero")]
    pub task_us_per_record: f64,
    /// `[processor.salt]`: hot keys spread over sub-keys and re-aggregated (off when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub salt: Option<super::hot_keys::SaltConfig>,
    /// `isolation.level` of the processors' consumer.
    #[serde(skip_serializing_if = "Isolation::is_default")]
    pub isolation: Isolation,
    /// Under `exactly_once_txn`: the consumed offsets go inside the transaction
    /// (`TxnOffsetCommit`). Off (a safety switch for a negative control), they are
    /// committed outside it, by the consumer's auto-commit, as a naive
    /// consume-produce loop does.
    #[serde(skip_serializing_if = "is_true")]
    pub offsets_in_transaction: bool,
    /// Under `exactly_once_txn`: the instances' `transaction.timeout.ms` (Kafka
    /// Streams sets 10 s under exactly-once).
    #[serde(skip_serializing_if = "is_ten_seconds")]
    pub transaction_timeout_ms: u64,
    /// Under `exactly_once_txn`: the coordinator refuses a `TxnOffsetCommit` from an
    /// older group generation (KIP-447). Off (a safety switch for a negative control),
    /// a zombie member's transaction commits next to its partitions' new owner.
    #[serde(skip_serializing_if = "is_true")]
    pub generation_fencing: bool,
}

fn is_true(v: &bool) -> bool {
    *v
}

fn is_ten_seconds(v: &u64) -> bool {
    *v == 10_000
}

fn is_zero(v: &f64) -> bool {
    *v == 0.0
}

impl Default for ProcessorConfig {
    fn default() -> Self {
        ProcessorConfig {
            instances: 0,
            delivery: Delivery::ExactlyOnce,
            commit_interval_ms: 100,
            dedup: true,
            dedup_ttl_s: 120.0,
            window: WindowKind::Tumbling { size_ms: 10_000 },
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
            task_us_per_record: 0.0,
            salt: None,
            isolation: Isolation::ReadUncommitted,
            offsets_in_transaction: true,
            transaction_timeout_ms: 10_000,
            generation_fencing: true,
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

impl ProcessorConfig {
    /// The operator chain's settings.
    pub fn operator_config(&self) -> OperatorConfig {
        OperatorConfig {
            window: self.window,
            max_out_of_orderness_ms: self.max_out_of_orderness_ms,
            allowed_lateness_ms: self.allowed_lateness_ms,
            dedup_ttl_ms: self.dedup.then_some((self.dedup_ttl_s * 1000.0) as u64),
        }
    }
}
