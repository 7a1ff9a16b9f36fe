//! `[[subscription]]`: independent consumer groups on the events topic, as
//! an OpenMessaging Benchmark workload's subscriptions are. Each is its own
//! group on the coordinator the processors and lake writers use; its
//! consumers long-poll the same consumer fetch, auto-commit their offsets
//! and report what they received, so that the checker can look at what a
//! consumer saw and not only at what reached the sink.

use serde::{Deserialize, Serialize};

/// Where a consumer starts on a partition its group never committed (`auto.offset.reset`).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum OffsetReset {
    /// The log's start: the subscription reads everything.
    #[default]
    Earliest,
    /// The high watermark when the partition is first assigned: what was
    /// written before is never read (the `unseen` check reports it).
    Latest,
}

/// A client bug planted in a subscription's consumers, as a test device: each
/// stands for a class of real consumer bugs that the consumer-side checks
/// exist to catch, so that a check that never fails can be shown to work.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PlantedBug {
    /// After every rebalance but the first, a consumer drops the first batch
    /// it fetches of each partition it takes over and moves past it, as a
    /// client that resumes from a stale position rather than the committed
    /// offset would (the `poll-skip` anomaly of Jepsen's Kafka workload,
    /// whose checker the Redpanda 21.10.1 analysis used): `poll_skip`.
    SkipBatchAfterRebalance,
    /// Every 50th poll of a consumer, it moves its position back by
    /// the records it just returned, without a seek or a rebalance, and
    /// returns them again: `nonmonotonic_poll`.
    SeekBack,
    /// A read_committed consumer that steps over markers but keeps the records of
    /// the aborted transactions its fetch listed, as a client that mishandles the
    /// fetch's aborted-transaction index would (the aborted reads Jepsen found in
    /// Redpanda and Bufstream): `aborted_read`.
    KeepAborted,
}

/// One `[[subscription]]` table.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionConfig {
    /// The group's name (unique in the scenario), used in reports and fault targets.
    pub name: String,
    /// Consumers in the group.
    #[serde(default = "default_consumers")]
    pub consumers: usize,
    /// How long the leader holds a fetch with nothing new, ms (`fetch.max.wait.ms`).
    #[serde(default = "default_fetch_max_wait_ms")]
    pub fetch_max_wait_ms: u64,
    /// Bytes per fetch and partition (`max.partition.fetch.bytes`).
    #[serde(default = "default_fetch_max_bytes")]
    pub fetch_max_bytes: u64,
    /// How often positions are committed, ms (`auto.commit.interval.ms`).
    #[serde(default = "default_auto_commit_interval_ms")]
    pub auto_commit_interval_ms: u64,
    /// Where to start without a committed offset (`auto.offset.reset`).
    #[serde(default)]
    pub auto_offset_reset: OffsetReset,
    /// Group session timeout, ms (`session.timeout.ms`).
    #[serde(default = "default_session_timeout_ms")]
    pub session_timeout_ms: u64,
    /// Heartbeat interval, ms (`heartbeat.interval.ms`).
    #[serde(default = "default_heartbeat_interval_ms")]
    pub heartbeat_interval_ms: u64,
    /// How long the group's first generation waits for more members, ms (the
    /// broker's `group.initial.rebalance.delay.ms`).
    #[serde(default = "default_initial_rebalance_delay_ms")]
    pub initial_rebalance_delay_ms: u64,
    /// When the consumers start, virtual seconds from the run's start.
    #[serde(default)]
    pub start_s: f64,
    /// A client bug planted as a negative control (none by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planted_bug: Option<PlantedBug>,
    /// `isolation.level`: read_uncommitted (Kafka's default) reads to the high
    /// watermark, aborted transactions' records included; read_committed reads to the
    /// last stable offset and drops the aborted ones. Both step over markers.
    #[serde(default)]
    pub isolation: crate::config::pipeline::Isolation,
}

fn default_consumers() -> usize {
    1
}
fn default_fetch_max_wait_ms() -> u64 {
    500
}
fn default_fetch_max_bytes() -> u64 {
    1 << 20
}
fn default_auto_commit_interval_ms() -> u64 {
    5_000
}
fn default_session_timeout_ms() -> u64 {
    10_000
}
fn default_heartbeat_interval_ms() -> u64 {
    3_000
}
fn default_initial_rebalance_delay_ms() -> u64 {
    3_000
}

impl SubscriptionConfig {
    /// A subscription with Kafka's consumer defaults.
    pub fn named(name: &str, consumers: usize) -> Self {
        SubscriptionConfig {
            name: name.to_string(),
            consumers,
            fetch_max_wait_ms: default_fetch_max_wait_ms(),
            fetch_max_bytes: default_fetch_max_bytes(),
            auto_commit_interval_ms: default_auto_commit_interval_ms(),
            auto_offset_reset: OffsetReset::Earliest,
            session_timeout_ms: default_session_timeout_ms(),
            heartbeat_interval_ms: default_heartbeat_interval_ms(),
            initial_rebalance_delay_ms: default_initial_rebalance_delay_ms(),
            start_s: 0.0,
            planted_bug: None,
            isolation: crate::config::pipeline::Isolation::ReadUncommitted,
        }
    }

    /// One line for the scenario's description.
    pub fn describe(&self) -> String {
        let mut s = format!(
            "{} consumers, {:?} reset, commit every {} ms",
            self.consumers, self.auto_offset_reset, self.auto_commit_interval_ms
        );
        if self.start_s > 0.0 {
            s.push_str(&format!(", starting at {} s", self.start_s));
        }
        if self.isolation == crate::config::pipeline::Isolation::ReadCommitted {
            s.push_str(", read_committed");
        }
        if let Some(b) = self.planted_bug {
            s.push_str(&format!(", planted bug {b:?}"));
        }
        s
    }
}
