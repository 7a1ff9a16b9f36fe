//! Everything of a run's transactions that outlives a node: the coordinator's
//! durable state, when each marker was written, and what the processors'
//! consumers read of transactional records (`transaction_reads`). The checker
//! compares the last two with the logs' transaction indexes (`aborted_read`,
//! `intermediate_read`).

use super::transaction_state_log::TxnStore;
use crate::ids::PartitionId;
use std::collections::BTreeMap;

/// A run's transactions.
#[derive(Clone, Debug, Default)]
pub struct TxnLedger {
    /// The coordinators' caches of the transaction-state partition, and the run's counts.
    pub store: TxnStore,
    /// When a leader wrote a marker at (partition, offset, leader epoch), ms. Keyed by
    /// the leader epoch too: a stale leader writing a marker at the same offset (later
    /// truncated) must not stand for the marker that survived.
    pub marker_at: BTreeMap<(PartitionId, u64, u32), u64>,
    /// Transactional records the processors and the read_committed subscriptions read,
    /// held until the log audit folds past them and they are judged.
    pub reads: super::transaction_reads::TxnReads,
    /// The largest sizes of the run's transaction bookkeeping, sampled once a bucket.
    pub peak: streamsim_reports::TxnBookkeeping,
    /// Per sampled second: (ms, high watermark, last stable offset) of the sampled partition.
    pub lso_series: Vec<(u64, u64, u64)>,
    /// The processors' offsets committed inside transactions (`exactly_once_txn`).
    pub offsets: super::txn_offsets::TxnOffsets,
    /// Per partition: the last stable offset while it is below the high watermark, and
    /// since when it has stood there, ms (`hanging_transaction`).
    pub lso_held: BTreeMap<PartitionId, (u64, u64)>,
    /// Per partition: the first transaction seen holding its LSO for longer than
    /// `transaction.max.timeout.ms`, as a witness.
    pub hanging: BTreeMap<PartitionId, HangingTxn>,
    /// Aborts each gateway asked for and its coordinator answered, by `transactional.id`
    /// (what a `gateway:N@abort` fault waits for).
    aborts_asked: BTreeMap<u64, u64>,
}

/// A transaction that held a partition's last stable offset longer than any
/// coordinator lets a transaction stay open: one its coordinator does not know of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HangingTxn {
    /// Producer id of the transaction's first batch.
    pub pid: u64,
    /// Producer epoch of that batch.
    pub epoch: u16,
    /// Its offset: where the LSO stands.
    pub first: u64,
    /// Since when the LSO has stood there, ms.
    pub since_ms: u64,
    /// When it was seen past the limit, ms.
    pub seen_ms: u64,
}

impl TxnLedger {
    /// The coordinator of `tid` answered an abort its producer asked for.
    pub fn abort_asked(&mut self, tid: u64) {
        *self.aborts_asked.entry(tid).or_default() += 1;
    }

    /// Aborts `tid`'s producer asked for and had answered so far.
    pub fn producer_aborts(&self, tid: u64) -> u64 {
        self.aborts_asked.get(&tid).copied().unwrap_or(0)
    }

    /// A leader at `leader_epoch` wrote a marker.
    pub fn marker_written(&mut self, p: PartitionId, offset: u64, leader_epoch: u32, now_ms: u64) {
        self.marker_at.insert((p, offset, leader_epoch), now_ms);
    }

    /// When the marker at `offset` of `p` written at `leader_epoch` was written, ms.
    pub fn marker_time(&self, p: PartitionId, offset: u64, leader_epoch: u32) -> Option<u64> {
        self.marker_at.get(&(p, offset, leader_epoch)).copied()
    }

    /// Forget when the markers of `p` below `below` were written: the reads they could
    /// close were judged. A read noted later below `below` came after those markers were
    /// written, so their times could not make it an intermediate read anyway.
    pub fn forget_markers_below(&mut self, p: PartitionId, below: u64) {
        let keep = self.marker_at.split_off(&(p, below, 0));
        self.marker_at.retain(|&(q, _, _), _| q != p);
        self.marker_at.extend(keep);
    }
}
