//! Kafka's transaction coordinator as a state machine over its cache: per
//! `transactional.id`, the producer id and epoch, the open transaction's
//! partitions, and the markers a decided transaction still has to write.
//!
//! As in Kafka, the coordinator of an id is hosted on the leader of the
//! id's transaction-state partition (the last partitions of the cluster),
//! and every durable change of an id's state is a record of that partition
//! (`transaction_state_log.rs`): this module computes the changes, the
//! broker writes them and applies them to its cache once they commit.

use crate::ids::{BrokerId, PartitionId};
use crate::txn_wire::TxnError;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

pub use super::transaction_metadata::{InitFrom, TxnMeta, TxnState};

/// Decisions kept per id for late `EndTxn` copies (a producer has one transaction
/// open at a time, so only the last one or two are ever asked about again).
const DECISIONS_KEPT: usize = 8;

/// What a request changed, for the timeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxnStep {
    /// Nothing worth a line.
    None,
    /// A transaction began.
    Began,
    /// A commit was decided.
    Commit,
    /// An abort was decided.
    Abort,
}

/// Counts over a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TxnStats {
    /// Transactions begun.
    pub begun: u64,
    /// Transactions whose commit was decided.
    pub committed: u64,
    /// Transactions aborted at the producer's request or on InitProducerId.
    pub aborted: u64,
    /// Transactions the coordinator aborted on their timeout.
    pub timed_out: u64,
    /// Times a producer learned it was fenced (by its coordinator or by a partition).
    pub fenced: u64,
    /// Decided transactions whose markers a coordinator on another broker finished.
    pub resumed: u64,
    /// Markers written.
    pub markers: u64,
    /// Transactional batches a leader refused because their partition was not in the
    /// producer's ongoing transaction (KIP-890 verification): late or stray batches.
    pub unverified: u64,
    /// State changes written to the transaction-state partition and committed.
    pub state_writes: u64,
}

impl TxnStats {
    /// Add the counts of `o` (a state change that took effect).
    pub fn add(&mut self, o: &TxnStats) {
        self.begun += o.begun;
        self.committed += o.committed;
        self.aborted += o.aborted;
        self.timed_out += o.timed_out;
        self.fenced += o.fenced;
        self.resumed += o.resumed;
        self.markers += o.markers;
        self.unverified += o.unverified;
        self.state_writes += o.state_writes;
    }
}

/// One coordinator's state of the ids it hosts: a cache of the transaction-state
/// partition's newest record per id, rebuilt from the log by a new leader.
#[derive(Clone, Debug, Default)]
pub struct TxnCache {
    by_tid: BTreeMap<u64, TxnMeta>,
    /// Counts of the changes made through this cache.
    pub stats: TxnStats,
    /// Producer ids for [`TxnCache::init`], a coordinator with no cluster around it (a
    /// broker passes the controller's run-wide counter to [`TxnCache::init_instance`]).
    own_ids: ProducerIds,
}

pub use super::producer_ids::tid_of;
use super::producer_ids::ProducerIds;

/// The largest epoch a producer is given: a bump from here gives the id a new producer
/// id at epoch 0 (Kafka's `Short.MaxValue - 1`; `Short.MaxValue` is kept for the abort
/// that fences the last producer of an exhausted id).
pub const MAX_PRODUCER_EPOCH: u16 = i16::MAX as u16 - 1;

/// A bump that fences (a timeout abort, an abort of an open transaction): the markers
/// it writes must carry the old producer id, so the epoch only stops at `i16::MAX`.
fn fence_bump(epoch: u16) -> u16 {
    epoch.saturating_add(1).min(i16::MAX as u16)
}

/// Transaction-state partitions (Kafka has 50; one is enough for a few gateways).
const STATE_PARTITIONS: usize = 1;

/// How many transaction-state partitions a cluster has: none without transactional producers.
pub fn state_partitions(transactional: bool) -> usize {
    if transactional {
        STATE_PARTITIONS
    } else {
        0
    }
}

/// The partition whose leader hosts the coordinator of `tid`, among the `total`
/// partitions of a cluster with transactions (the state partitions come last).
pub fn host_partition(tid: u64, total: usize) -> PartitionId {
    total - STATE_PARTITIONS + (tid % STATE_PARTITIONS as u64) as PartitionId
}

impl TxnCache {
    /// A cache holding only `tid`'s state, if any: a coordinator computes a change on it
    /// before writing it.
    pub fn one(tid: u64, meta: Option<TxnMeta>) -> Self {
        TxnCache {
            by_tid: meta.into_iter().map(|m| (tid, m)).collect(),
            stats: TxnStats::default(),
            own_ids: ProducerIds::default(),
        }
    }

    /// Put `tid`'s state in (a record loaded from the log, or a change that committed).
    pub fn restore(&mut self, tid: u64, meta: TxnMeta) {
        self.by_tid.insert(tid, meta);
    }

    /// The state of `tid`, if it ever registered.
    pub fn get(&self, tid: u64) -> Option<&TxnMeta> {
        self.by_tid.get(&tid)
    }

    /// Every id with its state, in id order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &TxnMeta)> {
        self.by_tid.iter().map(|(t, m)| (*t, m))
    }

    /// `InitProducerId` from a producer that sends no instance number (see
    /// [`TxnCache::init_instance`]), with producer ids from this cache's own counter.
    pub fn init(
        &mut self,
        tid: u64,
        timeout_ms: u64,
        current: Option<(u64, u16)>,
        broker: BrokerId,
    ) -> (Result<(u64, u16), TxnError>, TxnStep) {
        let mut ids = std::mem::take(&mut self.own_ids);
        let r = self.init_instance(tid, timeout_ms, current, None, broker, &mut ids);
        self.own_ids = ids;
        r
    }

    /// `InitProducerId`: bump the epoch (fencing every older producer of the id). An
    /// open transaction is aborted first and the producer asked to retry.
    /// `current` is the producer id and epoch the asking producer holds (KIP-360),
    /// `instance` the number of a producer instance that holds none yet: a copy of the
    /// request that produced the current epoch gets it again, unbumped. An id this
    /// coordinator does not know, and an id whose epoch ran out, takes a new producer id
    /// from `ids`, the cluster's durable counter: after a lost state partition the data
    /// partitions may hold the id's old producer id at any epoch.
    pub fn init_instance(
        &mut self,
        tid: u64,
        timeout_ms: u64,
        current: Option<(u64, u16)>,
        instance: Option<u64>,
        broker: BrokerId,
        ids: &mut ProducerIds,
    ) -> (Result<(u64, u16), TxnError>, TxnStep) {
        let key = current
            .map(|(pid, e)| InitFrom::Held(pid, e))
            .or(instance.map(InitFrom::Fresh));
        let Some(m) = self.by_tid.get_mut(&tid) else {
            let pid = ids.allocate(tid);
            self.by_tid.insert(
                tid,
                TxnMeta {
                    pid,
                    epoch: 0,
                    timeout_ms,
                    state: TxnState::Empty,
                    partitions: BTreeSet::new(),
                    started_ms: 0,
                    pending: BTreeSet::new(),
                    prepared_by: None,
                    timed_out: false,
                    begun: 0,
                    txn_no: 0,
                    decided: VecDeque::new(),
                    init_from: key,
                },
            );
            return (Ok((pid, 0)), TxnStep::None);
        };
        if key.is_some() && key == m.init_from {
            // A duplicated or retried InitProducerId whose first copy was answered (a
            // timeout's or an abort's bump since then clears `init_from`).
            return (Ok((m.pid, m.epoch)), TxnStep::None);
        }
        match m.state {
            TxnState::Ongoing => {
                m.epoch = fence_bump(m.epoch);
                m.init_from = None;
                prepare(m, false, broker);
                self.stats.aborted += 1;
                (Err(TxnError::Concurrent), TxnStep::Abort)
            }
            TxnState::PrepareCommit | TxnState::PrepareAbort => (Err(TxnError::Concurrent), TxnStep::None),
            _ => {
                let held = current.filter(|&(pid, _)| pid == m.pid);
                if m.epoch >= MAX_PRODUCER_EPOCH {
                    // KIP-360: the epoch ran out; a new producer id starts at epoch 0, and
                    // every partition takes it as a new producer.
                    m.pid = ids.allocate(tid);
                    m.epoch = 0;
                } else {
                    m.epoch += 1;
                }
                m.init_from = key;
                m.timeout_ms = timeout_ms;
                m.state = TxnState::Empty;
                m.partitions.clear();
                m.timed_out = false;
                if held.is_none() {
                    // A new producer instance numbers its transactions from 1 again.
                    m.txn_no = 0;
                    m.decided.clear();
                }
                (Ok((m.pid, m.epoch)), TxnStep::None)
            }
        }
    }

    /// Refuse a request from `epoch` if a newer one exists (with fencing on), or tell a
    /// producer whose transaction timed out that it was aborted.
    fn admit(&mut self, tid: u64, epoch: u16, fencing: bool) -> Result<&mut TxnMeta, TxnError> {
        let Some(m) = self.by_tid.get_mut(&tid) else {
            return Err(TxnError::Fenced);
        };
        // Requests name the id, not the producer id: after an exhausted epoch gave the id a
        // new producer id at epoch 0, the old producer's epoch is the larger one. No live
        // producer holds an epoch its coordinator has not given, so any other is a zombie's.
        if fencing && epoch != m.epoch {
            return Err(TxnError::Fenced);
        }
        if m.timed_out
            && matches!(
                m.state,
                TxnState::PrepareAbort | TxnState::CompleteAbort | TxnState::Empty
            )
        {
            m.timed_out = false;
            return Err(TxnError::Aborted);
        }
        Ok(m)
    }

    /// Whether a request of `tid` at `epoch` may act on its open transaction `txn`
    /// (`TxnOffsetCommit`): fenced, aborted, or not open are refused. It reads the
    /// state and changes nothing: Kafka's `TxnOffsetCommit` goes to the group
    /// coordinator, which writes no transaction state, so a timed-out transaction's
    /// flag stays for the next coordinator request to clear with a state record.
    pub fn check_open(&self, tid: u64, epoch: u16, txn: u64, fencing: bool) -> Result<(), TxnError> {
        let Some(m) = self.by_tid.get(&tid) else {
            return Err(TxnError::Fenced);
        };
        if fencing && epoch != m.epoch {
            return Err(TxnError::Fenced);
        }
        if m.state == TxnState::Ongoing && m.txn_no == txn {
            Ok(())
        } else {
            Err(TxnError::Aborted)
        }
    }

    /// `AddPartitionsToTxn`: the partitions join the producer's transaction `txn`,
    /// which begins if none is open. A request for a transaction already decided
    /// changes nothing and is answered as aborted.
    pub fn add_partitions(
        &mut self,
        tid: u64,
        epoch: u16,
        txn: u64,
        parts: &[PartitionId],
        now_ms: u64,
        fencing: bool,
    ) -> (Result<(), TxnError>, TxnStep) {
        let m = match self.admit(tid, epoch, fencing) {
            Ok(m) => m,
            Err(e) => return (Err(e), TxnStep::None),
        };
        if txn < m.txn_no || (txn == m.txn_no && m.state != TxnState::Ongoing) {
            // The transaction was decided (a late copy's answer is dropped by its
            // sender; a producer still adding to it learns it did not commit).
            return (Err(TxnError::Aborted), TxnStep::None);
        }
        let step = match m.state {
            TxnState::PrepareCommit | TxnState::PrepareAbort => return (Err(TxnError::Concurrent), TxnStep::None),
            // Another transaction of this producer is open: it has to end (or time out) first.
            TxnState::Ongoing if txn != m.txn_no => return (Err(TxnError::Concurrent), TxnStep::None),
            TxnState::Ongoing => TxnStep::None,
            _ => {
                m.state = TxnState::Ongoing;
                m.started_ms = now_ms;
                m.partitions.clear();
                m.begun += 1;
                m.txn_no = txn;
                TxnStep::Began
            }
        };
        m.partitions.extend(parts.iter().copied());
        if step == TxnStep::Began {
            self.stats.begun += 1;
        }
        (Ok(()), step)
    }

    /// `EndTxn`: decide the producer's transaction `txn` if it is the open one. A
    /// retried or late request for a transaction already decided is answered with
    /// that decision and never decides the transaction open now.
    pub fn end(
        &mut self,
        tid: u64,
        epoch: u16,
        txn: u64,
        commit: bool,
        broker: BrokerId,
        fencing: bool,
    ) -> (Result<(), TxnError>, TxnStep) {
        let m = match self.admit(tid, epoch, fencing) {
            Ok(m) => m,
            Err(e) => return (Err(e), TxnStep::None),
        };
        if m.state == TxnState::Ongoing && txn == m.txn_no {
            prepare(m, commit, broker);
            if commit {
                self.stats.committed += 1;
                return (Ok(()), TxnStep::Commit);
            }
            self.stats.aborted += 1;
            return (Ok(()), TxnStep::Abort);
        }
        match m.decided.iter().rev().find(|(n, _)| *n == txn) {
            Some(&(_, c)) if c == commit => (Ok(()), TxnStep::None),
            // Decided the other way, or unknown here (never begun, or decided too long
            // ago): not committed, so the producer must send its records again.
            _ => (Err(TxnError::Aborted), TxnStep::None),
        }
    }

    /// Abort the open transactions of the ids hosted by `hosts` that outlived their
    /// timeout; with fencing the abort bumps the epoch, so the late producer is a
    /// fenced zombie. Returns the ids aborted.
    pub fn expire(&mut self, now_ms: u64, fencing: bool, broker: BrokerId, hosts: impl Fn(u64) -> bool) -> Vec<u64> {
        let mut out = Vec::new();
        for (&tid, m) in self.by_tid.iter_mut() {
            if m.state == TxnState::Ongoing && now_ms >= m.started_ms + m.timeout_ms && hosts(tid) {
                if fencing {
                    m.epoch = fence_bump(m.epoch);
                }
                m.timed_out = true;
                m.init_from = None;
                prepare(m, false, broker);
                out.push(tid);
            }
        }
        self.stats.timed_out += out.len() as u64;
        out
    }

    /// KIP-890 verification, as a partition leader asks before it takes the first
    /// transactional batch of producer `pid` at `epoch` in partition `p`: whether the
    /// producer's coordinator has `p` in an ongoing transaction of that epoch (any
    /// epoch without `fencing`). A batch that arrives after its transaction was
    /// decided, or before its partition was added, is refused.
    pub fn verifies(&self, pid: u64, epoch: u16, p: PartitionId, fencing: bool) -> bool {
        self.by_tid.get(&tid_of(pid)).is_some_and(|m| {
            m.pid == pid && m.state == TxnState::Ongoing && (!fencing || m.epoch == epoch) && m.partitions.contains(&p)
        })
    }

    /// Whether the coordinator of producer `pid` still has partition `p` in a transaction
    /// it will close: open with `p` added, or decided with `p`'s marker owed. A transaction
    /// holding a partition's LSO that its coordinator knows of is slow, not hanging
    /// (its coordinator may be down or cut off from the leader for a while).
    pub fn knows(&self, pid: u64, p: PartitionId) -> bool {
        self.by_tid.get(&tid_of(pid)).is_some_and(|m| {
            m.pid == pid
                && match m.state {
                    TxnState::Ongoing => m.partitions.contains(&p),
                    TxnState::PrepareCommit | TxnState::PrepareAbort => m.pending.contains(&p),
                    _ => false,
                }
        })
    }

    /// The marker of `tid` on partition `p` for the decision `decision` (the producer
    /// epoch and transaction number the marker carried) is written and replicated.
    /// Returns true when it was the transaction's last. A reply for another decision
    /// (an older transaction's marker, answered late) strikes nothing off.
    pub fn marker_done(&mut self, tid: u64, p: PartitionId, decision: (u16, u64), broker: BrokerId) -> bool {
        let Some(m) = self.by_tid.get_mut(&tid) else {
            return false;
        };
        let deciding = matches!(m.state, TxnState::PrepareCommit | TxnState::PrepareAbort);
        if !deciding || decision != (m.epoch, m.txn_no) || !m.pending.remove(&p) {
            return false;
        }
        self.stats.markers += 1;
        if !m.pending.is_empty() {
            return false;
        }
        if m.prepared_by.is_some_and(|b| b != broker) {
            self.stats.resumed += 1;
        }
        m.state = match m.state {
            TxnState::PrepareCommit => TxnState::CompleteCommit,
            _ => TxnState::CompleteAbort,
        };
        true
    }
}

/// Decide the open transaction: every partition of it is owed a marker.
fn prepare(m: &mut TxnMeta, commit: bool, broker: BrokerId) {
    if m.decided.len() == DECISIONS_KEPT {
        m.decided.pop_front();
    }
    m.decided.push_back((m.txn_no, commit));
    m.pending = m.partitions.clone();
    m.prepared_by = Some(broker);
    m.state = match (commit, m.pending.is_empty()) {
        (true, false) => TxnState::PrepareCommit,
        (true, true) => TxnState::CompleteCommit,
        (false, false) => TxnState::PrepareAbort,
        (false, true) => TxnState::CompleteAbort,
    };
}

#[cfg(test)]
#[path = "transaction_coordinator_tests.rs"]
mod tests;
