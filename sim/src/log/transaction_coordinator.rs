//! Kafka's transaction coordinator as a state machine over a store: per
//! `transactional.id`, the producer id and epoch, the open transaction's
//! partitions, and the markers a decided transaction still has to write.
//!
//! Kafka keeps this state in the replicated `__transaction_state` topic and
//! hosts the coordinator of an id on the leader of that topic's partition
//! for the id. Here too the coordinator of an id is hosted on the leader of
//! a transaction-state partition (the last partitions of the cluster, which
//! the controller elects leaders for like any other), but the state itself
//! is a durable store rather than records in that partition: when the
//! controller moves the partition's leadership, the new leader takes the
//! state over and finishes whatever commit or abort was under way. The
//! departure (coordinator writes cost no replication) is stated in
//! docs/TRANSACTIONS.md.

use crate::ids::{BrokerId, PartitionId};
use crate::txn_wire::TxnError;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

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
#[derive(Clone, Debug)]
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
    /// The epoch the producer held when it asked for the current one (None for a new
    /// producer): a copy of that `InitProducerId` gets the current epoch again.
    pub init_from: Option<u16>,
}

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
}

/// The coordinator's durable state, for every `transactional.id`.
#[derive(Clone, Debug, Default)]
pub struct TxnStore {
    by_tid: BTreeMap<u64, TxnMeta>,
    /// Run counts.
    pub stats: TxnStats,
}

/// The producer id a `transactional.id` keeps (apart from the non-transactional ones).
fn pid_of(tid: u64) -> u64 {
    (1 << 48) | tid
}

/// The `transactional.id` whose producer id is `pid` (the inverse of [`pid_of`]).
fn tid_of(pid: u64) -> u64 {
    pid & !(1 << 48)
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

impl TxnStore {
    /// The state of `tid`, if it ever registered.
    pub fn get(&self, tid: u64) -> Option<&TxnMeta> {
        self.by_tid.get(&tid)
    }

    /// Every id with its state, in id order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &TxnMeta)> {
        self.by_tid.iter().map(|(t, m)| (*t, m))
    }

    /// `InitProducerId`: bump the epoch (fencing every older producer of the id). An
    /// open transaction is aborted first and the producer asked to retry.
    /// `current` is the producer id and epoch the asking producer holds (KIP-360):
    /// a copy of the request that produced the current epoch gets it again, unbumped.
    pub fn init(
        &mut self,
        tid: u64,
        timeout_ms: u64,
        current: Option<(u64, u16)>,
        broker: BrokerId,
    ) -> (Result<(u64, u16), TxnError>, TxnStep) {
        let Some(m) = self.by_tid.get_mut(&tid) else {
            self.by_tid.insert(
                tid,
                TxnMeta {
                    pid: pid_of(tid),
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
                    init_from: current.map(|(_, e)| e),
                },
            );
            return (Ok((pid_of(tid), 0)), TxnStep::None);
        };
        let held = current.filter(|&(pid, _)| pid == m.pid).map(|(_, e)| e);
        if held.is_some() && held == m.init_from {
            // A duplicated or retried InitProducerId whose first copy was answered (a
            // timeout's or an abort's bump since then clears `init_from`).
            return (Ok((m.pid, m.epoch)), TxnStep::None);
        }
        match m.state {
            TxnState::Ongoing => {
                m.epoch = m.epoch.wrapping_add(1);
                m.init_from = None;
                prepare(m, false, broker);
                self.stats.aborted += 1;
                (Err(TxnError::Concurrent), TxnStep::Abort)
            }
            TxnState::PrepareCommit | TxnState::PrepareAbort => (Err(TxnError::Concurrent), TxnStep::None),
            _ => {
                m.epoch = m.epoch.wrapping_add(1);
                m.init_from = held;
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
        if fencing && epoch < m.epoch {
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
    /// (`TxnOffsetCommit`): fenced, aborted, or not open are refused.
    pub fn check_open(&mut self, tid: u64, epoch: u16, txn: u64, fencing: bool) -> Result<(), TxnError> {
        let m = self.admit(tid, epoch, fencing)?;
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
                    m.epoch = m.epoch.wrapping_add(1);
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
mod tests {
    use super::*;

    #[test]
    fn a_bumped_epoch_fences_the_older_producer() {
        let mut s = TxnStore::default();
        let (Ok((pid, e0)), _) = s.init(3, 1000, None, 0) else {
            panic!("init")
        };
        assert_eq!(s.add_partitions(3, e0, 1, &[1, 2], 0, true).1, TxnStep::Began);
        // A second instance of the id: the open transaction is aborted first...
        assert_eq!(s.init(3, 1000, None, 0).0, Err(TxnError::Concurrent));
        assert_eq!(s.get(3).map(|m| m.state), Some(TxnState::PrepareAbort));
        assert!(!s.marker_done(3, 1, (e0 + 1, 1), 0));
        assert!(s.marker_done(3, 2, (e0 + 1, 1), 1));
        assert_eq!(s.stats.resumed, 1, "finished by another broker");
        // ...then it gets a newer epoch, and the old one is refused.
        let (Ok((pid2, e2)), _) = s.init(3, 1000, None, 0) else {
            panic!("init")
        };
        assert_eq!(pid, pid2);
        assert!(e2 > e0);
        assert_eq!(s.end(3, e0, 1, true, 0, true).0, Err(TxnError::Fenced));
        assert_eq!(s.add_partitions(3, e0, 1, &[1], 5, true).0, Err(TxnError::Fenced));
        // Without fencing the stale epoch gets through (the negative control's switch).
        assert_eq!(s.add_partitions(3, e0, 1, &[1], 5, false).0, Ok(()));
    }

    #[test]
    fn verification_takes_only_a_partition_of_the_ongoing_transaction_at_its_epoch() {
        let mut s = TxnStore::default();
        let (Ok((pid, e)), _) = s.init(2, 1000, None, 0) else {
            panic!("init")
        };
        // Nothing ongoing yet, then partition 4 added: only 4 verifies, only at this epoch.
        assert!(!s.verifies(pid, e, 4, true));
        assert_eq!(s.add_partitions(2, e, 1, &[4], 0, true).0, Ok(()));
        assert!(s.verifies(pid, e, 4, true));
        assert!(!s.verifies(pid, e, 5, true), "a partition never added");
        assert!(!s.verifies(pid, e + 1, 4, true), "another epoch");
        assert!(s.verifies(pid, e + 1, 4, false), "epochs unchecked without fencing");
        assert!(!s.verifies(pid_of(3), e, 4, true), "another producer");
        // Decided: a batch arriving now (after the marker is owed) is late.
        assert_eq!(s.end(2, e, 1, false, 0, true).0, Ok(()));
        assert!(!s.verifies(pid, e, 4, true));
        assert!(s.marker_done(2, 4, (e, 1), 0));
        assert!(!s.verifies(pid, e, 4, true));
    }

    #[test]
    fn a_late_reply_to_an_older_transactions_marker_strikes_nothing_off_the_next() {
        let mut s = TxnStore::default();
        let (Ok((_, e)), _) = s.init(5, 10_000, None, 0) else {
            panic!("init")
        };
        assert_eq!(s.add_partitions(5, e, 1, &[0, 1], 0, true).0, Ok(()));
        assert_eq!(s.end(5, e, 1, true, 0, true).0, Ok(()));
        // Transaction 1's marker to partition 0 is sent twice; the first reply finishes it.
        assert!(!s.marker_done(5, 0, (e, 1), 0));
        assert!(s.marker_done(5, 1, (e, 1), 0));
        // Transaction 2 also writes to partition 0 and is decided: its marker is owed.
        assert_eq!(s.add_partitions(5, e, 2, &[0], 10, true).0, Ok(()));
        assert_eq!(s.end(5, e, 2, true, 0, true).0, Ok(()));
        // The reply to transaction 1's second request arrives now: transaction 2's
        // partition 0 stays owed (remembered as (id, partition) alone, it was struck
        // off, and partition 0's LSO stuck at transaction 2's open records).
        assert!(!s.marker_done(5, 0, (e, 1), 0));
        assert_eq!(s.get(5).map(|m| m.pending.len()), Some(1));
        assert_eq!(s.get(5).map(|m| m.state), Some(TxnState::PrepareCommit));
        assert!(s.marker_done(5, 0, (e, 2), 0));
        assert_eq!(s.get(5).map(|m| m.state), Some(TxnState::CompleteCommit));
    }

    #[test]
    fn a_transaction_past_its_timeout_is_aborted_and_its_producer_told() {
        let mut s = TxnStore::default();
        let (Ok((_, e)), _) = s.init(0, 100, None, 0) else {
            panic!("init")
        };
        assert_eq!(s.add_partitions(0, e, 1, &[4], 0, false).0, Ok(()));
        assert!(s.expire(99, false, 0, |_| true).is_empty());
        assert_eq!(s.expire(100, false, 0, |_| true), vec![0]);
        // Without fencing the epoch stays; the producer hears the abort at its next request.
        assert_eq!(s.end(0, e, 1, true, 0, false).0, Err(TxnError::Aborted));
        // With fencing the epoch moved on: the late producer is fenced.
        let mut f = TxnStore::default();
        let (Ok((_, e)), _) = f.init(0, 100, None, 0) else {
            panic!("init")
        };
        assert_eq!(f.add_partitions(0, e, 1, &[4], 0, true).0, Ok(()));
        f.expire(100, true, 0, |_| true);
        assert_eq!(f.end(0, e, 1, true, 0, true).0, Err(TxnError::Fenced));
        assert_eq!(f.get(0).map(|m| m.pending.len()), Some(1));
    }

    #[test]
    fn a_late_end_txn_answers_its_own_decision_and_never_decides_the_next() {
        let mut s = TxnStore::default();
        let (Ok((pid, e)), _) = s.init(7, 10_000, None, 0) else {
            panic!("init")
        };
        assert_eq!(s.add_partitions(7, e, 1, &[0], 0, true).1, TxnStep::Began);
        assert_eq!(s.end(7, e, 1, true, 0, true), (Ok(()), TxnStep::Commit));
        assert!(s.marker_done(7, 0, (e, 1), 0));
        // A late copy of transaction 1's AddPartitions begins nothing; its answer says the
        // transaction is over (its sender drops it: the request is no longer pending).
        assert_eq!(
            s.add_partitions(7, e, 1, &[0], 10, true),
            (Err(TxnError::Aborted), TxnStep::None)
        );
        assert_eq!(s.get(7).map(|m| m.state), Some(TxnState::CompleteCommit));
        // Transaction 2 begins; a late copy of transaction 1's EndTxn gets its answer again...
        assert_eq!(s.add_partitions(7, e, 2, &[1], 20, true).1, TxnStep::Began);
        assert_eq!(s.end(7, e, 1, true, 0, true), (Ok(()), TxnStep::None));
        assert_eq!(s.end(7, e, 1, false, 0, true).0, Err(TxnError::Aborted));
        // ...and transaction 2 is still open, with its partition, for its own EndTxn.
        let m = s.get(7).expect("registered");
        assert_eq!((m.state, m.txn_no), (TxnState::Ongoing, 2));
        assert_eq!(s.add_partitions(7, e, 2, &[2], 30, true), (Ok(()), TxnStep::None));
        assert_eq!(s.end(7, e, 2, true, 0, true), (Ok(()), TxnStep::Commit));
        assert_eq!(s.get(7).map(|m| m.pending.len()), Some(2));
        // A copy of an InitProducerId already answered gets the same epoch again...
        assert!(!s.marker_done(7, 1, (e, 2), 0));
        assert!(s.marker_done(7, 2, (e, 2), 0));
        let (Ok((_, e1)), _) = s.init(7, 10_000, Some((pid, e)), 0) else {
            panic!("init")
        };
        assert_eq!(e1, e + 1);
        assert_eq!(s.init(7, 10_000, Some((pid, e)), 0).0, Ok((pid, e1)));
        // ...even with a transaction of the new epoch open, which it does not abort.
        assert_eq!(s.add_partitions(7, e1, 3, &[0], 40, true).1, TxnStep::Began);
        assert_eq!(s.init(7, 10_000, Some((pid, e)), 0).0, Ok((pid, e1)));
        assert_eq!(s.get(7).map(|m| m.state), Some(TxnState::Ongoing));
        // The producer asking from its current epoch is a new request: it bumps.
        assert_eq!(s.init(7, 10_000, Some((pid, e1)), 0).0, Err(TxnError::Concurrent));
    }
}
