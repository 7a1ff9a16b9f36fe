//! The replicated log with Kafka's semantics: partition logs with leader
//! epochs, idempotent producers, ISR and high watermark on the leader,
//! follower fetching and truncation, and a controller that fences silent
//! brokers and elects leaders.

pub mod broker;
mod consumer_fetch;
pub mod controller;
mod follower;
pub mod idempotence;
mod leader;
pub mod page_cache;
pub mod partition_change;
pub mod partition_log;
mod replica;
pub mod truncation;

pub use partition_log::PartitionLog;

use crate::ids::{BrokerId, PartitionId};
use std::collections::BTreeMap;

/// What a broker keeps on disk: one log per hosted partition.
#[derive(Debug, Default)]
pub struct BrokerDisk {
    /// Logs by partition.
    pub logs: BTreeMap<PartitionId, PartitionLog>,
    /// The broker's last run ended in a power loss. Kafka detects this by the
    /// clean-shutdown file a controlled shutdown leaves and a start deletes;
    /// every stop in the simulation is a power loss, so a crash sets this and
    /// the next start reads and clears it.
    pub unclean_shutdown: bool,
    /// The machine's page cache over these logs.
    pub page_cache: page_cache::PageCache,
}

/// Kafka's rack-unaware replica placement: partition p on brokers p, p+1, ... modulo the cluster.
pub fn assign_replicas(partitions: usize, brokers: usize, rf: usize) -> Vec<Vec<BrokerId>> {
    (0..partitions)
        .map(|p| (0..rf).map(|i| (p + i) % brokers).collect())
        .collect()
}
