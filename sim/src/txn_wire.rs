//! The transaction protocol's messages: a transactional producer (a gateway)
//! with its coordinator (on a broker), and the coordinator with the leaders
//! of the partitions its markers go to. Named after Kafka's requests:
//! `InitProducerId`, `AddPartitionsToTxn`, `EndTxn`, `WriteTxnMarkers`.

use crate::ids::PartitionId;
use crate::record::ControlMarker;

/// Why a coordinator refused a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxnError {
    /// This broker does not host the id's coordinator (any more): look it up again.
    NotCoordinator,
    /// A newer epoch of this `transactional.id` exists (Kafka's `PRODUCER_FENCED`):
    /// this producer is a zombie.
    Fenced,
    /// The previous transaction is still being completed (`CONCURRENT_TRANSACTIONS`): retry.
    Concurrent,
    /// The coordinator is reading its state from the transaction-state partition it
    /// just came to lead (`COORDINATOR_LOAD_IN_PROGRESS`): retry.
    LoadInProgress,
    /// The transaction-state partition has fewer in-sync replicas than
    /// `transaction_state_min_isr`, so the coordinator cannot write (`NOT_ENOUGH_REPLICAS`): retry.
    NotEnoughReplicas,
    /// The coordinator aborted the transaction (its timeout ran out) while the
    /// producer still held it open (`INVALID_TXN_STATE`): start again.
    Aborted,
}

impl TxnError {
    /// Whether the producer asks the same thing again shortly (the coordinator moved,
    /// is loading, is finishing the previous transaction, or cannot write yet), rather
    /// than start again under a new epoch.
    pub fn is_retriable(self) -> bool {
        matches!(
            self,
            TxnError::NotCoordinator | TxnError::Concurrent | TxnError::LoadInProgress | TxnError::NotEnoughReplicas
        )
    }
}

/// The transaction protocol's messages.
#[derive(Clone, Debug)]
pub enum TxnMsg {
    /// Producer to coordinator: take the `transactional.id`, bumping its epoch.
    InitProducerId {
        /// Request id.
        req: u64,
        /// The `transactional.id` (the gateway's index).
        tid: u64,
        /// `transaction.timeout.ms`.
        timeout_ms: u64,
        /// The producer id and epoch this producer holds, if any (KIP-360): a
        /// duplicated or retried request is answered with the epoch it already
        /// produced, rather than bumping it again and fencing its own producer.
        current: Option<(u64, u16)>,
        /// The producer instance's number (its process's incarnation): a producer that
        /// holds nothing yet is told apart by it, so a copy of its very first request
        /// gets the epoch that request produced.
        instance: u64,
    },
    /// Coordinator to producer.
    InitProducerIdReply {
        /// Request id.
        req: u64,
        /// (producer id, epoch), or why not.
        result: Result<(u64, u16), TxnError>,
    },
    /// Producer to coordinator: these partitions join the open transaction (one begins if none is open).
    AddPartitions {
        /// Request id.
        req: u64,
        /// The `transactional.id`.
        tid: u64,
        /// Producer epoch.
        epoch: u16,
        /// The producer's number for the transaction the partitions join: a late
        /// copy of a request for a transaction already decided begins nothing.
        txn: u64,
        /// Partitions.
        partitions: Vec<PartitionId>,
    },
    /// Producer to coordinator: commit or abort the open transaction.
    EndTxn {
        /// Request id.
        req: u64,
        /// The `transactional.id`.
        tid: u64,
        /// Producer epoch.
        epoch: u16,
        /// The producer's number for the transaction to end: a late copy for a
        /// transaction already decided never decides the one open now.
        txn: u64,
        /// Commit (true) or abort.
        commit: bool,
    },
    /// Coordinator to producer, for `AddPartitions` and `EndTxn`.
    Reply {
        /// Request id.
        req: u64,
        /// Done, or why not.
        result: Result<(), TxnError>,
    },
    /// Coordinator to a partition leader: write a marker for the producer.
    WriteMarker {
        /// Request id.
        req: u64,
        /// Partition.
        partition: PartitionId,
        /// Producer id.
        pid: u64,
        /// The coordinator's epoch for the producer (a bumped one fences older writes).
        epoch: u16,
        /// The producer's number for the transaction the marker closes: with the
        /// epoch it orders a producer's markers, so a late copy closes nothing.
        txn: u64,
        /// Commit or abort.
        marker: ControlMarker,
    },
    /// Producer to coordinator (`AddOffsetsToTxn` with `TxnOffsetCommit`): the consumed
    /// offsets join the open transaction and count only if it commits.
    TxnOffsetCommit {
        /// Request id.
        req: u64,
        /// The `transactional.id`.
        tid: u64,
        /// Producer epoch.
        epoch: u16,
        /// The producer's number for the open transaction.
        txn: u64,
        /// The consumer group generation the producer's consumer holds (KIP-447).
        generation: u64,
        /// Checkpoints (next offset, operator state) by input partition.
        offsets: Vec<(PartitionId, std::sync::Arc<crate::wire::Checkpoint>)>,
    },
    /// Consumer to coordinator: offsets committed outside any transaction (a naive
    /// consume-produce loop's auto-commit; the negative control's switch).
    OffsetCommit {
        /// Request id.
        req: u64,
        /// Checkpoints by input partition.
        offsets: Vec<(PartitionId, std::sync::Arc<crate::wire::Checkpoint>)>,
    },
}

impl TxnMsg {
    /// Number a producer's request to its coordinator `req` (a request is numbered when
    /// it is sent, so a re-send after a timeout gets a fresh number); answers and the
    /// coordinator's own requests keep theirs.
    pub fn renumber(&mut self, req: u64) {
        match self {
            TxnMsg::InitProducerId { req: r, .. }
            | TxnMsg::AddPartitions { req: r, .. }
            | TxnMsg::EndTxn { req: r, .. }
            | TxnMsg::TxnOffsetCommit { req: r, .. }
            | TxnMsg::OffsetCommit { req: r, .. } => *r = req,
            _ => {}
        }
    }

    /// Approximate wire size, bytes, beyond the request overhead.
    pub fn bytes(&self) -> u64 {
        match self {
            TxnMsg::AddPartitions { partitions, .. } => 24 + 4 * partitions.len() as u64,
            TxnMsg::TxnOffsetCommit { offsets, .. } | TxnMsg::OffsetCommit { offsets, .. } => {
                32 + offsets
                    .iter()
                    .map(|(_, c)| 16 + 32 * c.state.state_entries() as u64)
                    .sum::<u64>()
            }
            _ => 24,
        }
    }

    /// A small stable code per kind, for the trace hash.
    pub fn kind_code(&self) -> u64 {
        match self {
            TxnMsg::InitProducerId { .. } => 1,
            TxnMsg::InitProducerIdReply { .. } => 2,
            TxnMsg::AddPartitions { .. } => 3,
            TxnMsg::EndTxn { .. } => 4,
            TxnMsg::Reply { .. } => 5,
            TxnMsg::WriteMarker { .. } => 6,
            TxnMsg::TxnOffsetCommit { .. } => 7,
            TxnMsg::OffsetCommit { .. } => 8,
        }
    }
}
