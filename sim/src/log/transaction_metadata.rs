//! What the transaction coordinator knows of one `transactional.id`, and the
//! record of the transaction-state partition that carries it. Kept apart from
//! the coordinator's logic so that a log batch can carry a state record without
//! the record types depending on the coordinator.

use crate::ids::{BrokerId, PartitionId};
use std::collections::{BTreeSet, VecDeque};

/// A transaction's state at its coordinator (Kafka's `TransactionState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxnState {
    /// No transaction open.
    Empty,
    /// A transaction is open: partitions join it.
    Ongoing,
    /// Commit decided: markers are being written.
    PrepareCommit,
    /// Abort decided: markers are being written.
    PrepareAbort,
    /// Every commit marker is written.
    CompleteCommit,
    /// Every abort marker is written.
    CompleteAbort,
}

/// One `transactional.id` at its coordinator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxnMeta {
    /// Producer id, fixed for the id.
    pub pid: u64,
    /// Current epoch: requests from an older one are fenced.
    pub epoch: u16,
    /// `transaction.timeout.ms` the producer asked for.
    pub timeout_ms: u64,
    /// State.
    pub state: TxnState,
    /// Partitions of the open (or completing) transaction.
    pub partitions: BTreeSet<PartitionId>,
    /// When the open transaction began, ms.
    pub started_ms: u64,
    /// Partitions whose marker is not acknowledged yet.
    pub pending: BTreeSet<PartitionId>,
    /// The broker that decided the commit or abort under way.
    pub prepared_by: Option<BrokerId>,
    /// The coordinator aborted the transaction on its timeout and the producer has
    /// not heard of it yet (only told apart from fencing when fencing is off).
    pub timed_out: bool,
    /// Transactions begun under this id.
    pub begun: u64,
    /// The producer's number for the open (or last) transaction: requests carry it,
    /// so a late copy of one never acts on a later transaction.
    pub txn_no: u64,
    /// The last few decisions, (producer's transaction number, commit), newest last:
    /// a retried or duplicated `EndTxn` is answered with the decision already taken.
    pub decided: VecDeque<(u64, bool)>,
    /// What the `InitProducerId` that produced the current epoch carried: a copy of
    /// it gets the current producer id and epoch again.
    pub init_from: Option<InitFrom>,
}

/// What tells one `InitProducerId` from another: the producer id and epoch the
/// producer holds (KIP-360), or, for a producer that holds none yet, its instance's
/// number, so a copy of its very first request is not taken for a new producer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InitFrom {
    /// The producer id and epoch the producer held.
    Held(u64, u16),
    /// A new producer instance's number.
    Fresh(u64),
}

/// One record of the transaction-state partition: the id and its state after a change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxnStateRecord {
    /// `transactional.id`.
    pub tid: u64,
    /// Its state, whole (a later record of the id supersedes it).
    pub meta: TxnMeta,
}

impl TxnStateRecord {
    /// Bytes of the record on disk and on the wire: the id, producer id and epoch,
    /// state and timeout, and the partitions of its transaction.
    pub fn bytes(&self) -> u64 {
        80 + 4 * self.meta.partitions.len() as u64
    }
}
