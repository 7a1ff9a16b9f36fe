//! A broker's disk: its partition logs and page cache, which outlive the
//! broker process (a power loss empties only the page cache).

use super::page_cache::PageCache;
use super::partition_log::PartitionLog;
use crate::ids::BrokerId;
use crate::partition_map::PartitionMap;

/// What a broker keeps on disk: one log per hosted partition.
#[derive(Debug, Default)]
pub struct BrokerDisk {
    /// Logs by partition.
    pub logs: PartitionMap<PartitionLog>,
    /// The broker's last run ended in a power loss. Kafka detects this by the
    /// clean-shutdown file a controlled shutdown leaves and a start deletes;
    /// every stop in the simulation is a power loss, so a crash sets this and
    /// the next start reads and clears it.
    pub unclean_shutdown: bool,
    /// The machine's page cache over these logs.
    pub page_cache: PageCache,
}

/// Kafka's rack-unaware replica placement: partition p on brokers p, p+1, ... modulo the cluster.
pub fn assign_replicas(partitions: usize, brokers: usize, rf: usize) -> Vec<Vec<BrokerId>> {
    (0..partitions)
        .map(|p| (0..rf).map(|i| (p + i) % brokers).collect())
        .collect()
}
