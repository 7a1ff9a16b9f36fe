//! Everything of a run's transactions that outlives a node: the coordinator's
//! durable state, when each marker was written, and what the processors'
//! consumers read of transactional records. The checker compares the last
//! two with the logs' transaction indexes (`aborted_read`, `intermediate_read`).

use super::transaction_coordinator::TxnStore;
use crate::ids::PartitionId;
use std::collections::BTreeMap;

/// A run of transactional records a consumer passed on to processing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxnRead {
    /// Partition.
    pub partition: PartitionId,
    /// Producer id of the batch.
    pub pid: u64,
    /// Offset of the batch's first record.
    pub offset: u64,
    /// Records read.
    pub records: u64,
    /// When the consumer took them, ms.
    pub at_ms: u64,
}

/// A run's transactions.
#[derive(Clone, Debug, Default)]
pub struct TxnLedger {
    /// The coordinator's state for every `transactional.id`.
    pub store: TxnStore,
    /// When a leader last wrote a marker at (partition, offset), ms.
    pub marker_at: BTreeMap<(PartitionId, u64), u64>,
    /// Transactional records the processors read, in the order read.
    pub reads: Vec<TxnRead>,
    /// Per sampled second: (ms, high watermark, last stable offset) of the sampled partition.
    pub lso_series: Vec<(u64, u64, u64)>,
}

impl TxnLedger {
    /// A leader wrote a marker.
    pub fn marker_written(&mut self, p: PartitionId, offset: u64, now_ms: u64) {
        self.marker_at.insert((p, offset), now_ms);
    }
}
