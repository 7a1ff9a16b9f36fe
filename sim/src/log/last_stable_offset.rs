//! A partition's transactions as its log shows them: which producers have a
//! transaction open here and from which offset (the first of them bounds the
//! last stable offset, Kafka's LSO), and the aborted-transaction index that a
//! read_committed consumer uses to drop aborted records. Like the producer
//! table, it is derived from the batches themselves, so a new leader, a
//! restarted broker and a truncated log all rebuild the same index.

use crate::record::{Batch, ControlMarker};
use std::collections::{BTreeMap, VecDeque};

/// One aborted transaction in a partition: its producer and its offsets,
/// from its first record to its abort marker (both included).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AbortedTxn {
    /// Producer id.
    pub pid: u64,
    /// Offset of the transaction's first record in this partition.
    pub first: u64,
    /// Offset of the abort marker.
    pub last: u64,
}

/// What a transactional record's transaction came to, as far as this log knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxnOutcome {
    /// Not written in a transaction.
    None,
    /// Still open: no marker closes it yet.
    Open,
    /// Closed by a commit marker at this offset, written at this leader epoch (the
    /// epoch tells the surviving marker from a stale leader's truncated write there).
    Committed(u64, u32),
    /// Closed by an abort marker.
    Aborted,
}

/// The open and closed transactions of one partition log.
#[derive(Clone, Debug, Default)]
pub struct TxnIndex {
    /// Per producer id with a transaction open here: its first offset.
    open: BTreeMap<u64, u64>,
    /// Aborted transactions, in marker order (so ordered by marker offset). Kafka keeps
    /// this index with the segments, so it goes when retention deletes them.
    aborted: VecDeque<AbortedTxn>,
    /// Aborted transactions per producer: first offset -> abort marker offset.
    aborted_by_pid: BTreeMap<u64, BTreeMap<u64, u64>>,
    /// Committed transactions per producer: first offset -> (commit marker offset, the
    /// marker batch's leader epoch). The epoch is kept here rather than looked up among
    /// the batches, which the log audit summarises away.
    committed: BTreeMap<u64, BTreeMap<u64, (u64, u32)>>,
    /// Closed transactions by marker offset: their first offset and producer. One whose
    /// marker is not below the high watermark yet is still unstable (Kafka's unreplicated
    /// transactions), so a leader change that loses the marker never moves the LSO back.
    /// Once the log audit has folded past a marker, neither the LSO nor a check needs
    /// the entry (nor the committed one): [`TxnIndex::forget_settled`] drops them.
    closed: BTreeMap<u64, (u64, u64)>,
    /// Per producer: the newest epoch its transactional batches and markers carried.
    epochs: BTreeMap<u64, u16>,
    /// Per producer: its newest marker here, (epoch, transaction number), the number
    /// carried in the control batch's sequence field.
    last_marker: BTreeMap<u64, (u16, u64)>,
}

impl TxnIndex {
    /// Account for a batch appended to the log.
    pub fn observe(&mut self, b: &Batch) {
        let Some(s) = b.producer else { return };
        if s.transactional {
            let e = self.epochs.entry(s.pid).or_insert(s.epoch);
            *e = (*e).max(s.epoch);
        }
        match b.control {
            Some(marker) => {
                let last = self.last_marker.entry(s.pid).or_insert((s.epoch, s.base_seq));
                *last = (*last).max((s.epoch, s.base_seq));
                // A marker with nothing open here (a retried one) closes nothing.
                let Some(first) = self.open.remove(&s.pid) else { return };
                self.closed.insert(b.base_offset, (first, s.pid));
                match marker {
                    ControlMarker::Abort => {
                        self.aborted.push_back(AbortedTxn {
                            pid: s.pid,
                            first,
                            last: b.base_offset,
                        });
                        self.aborted_by_pid
                            .entry(s.pid)
                            .or_default()
                            .insert(first, b.base_offset);
                    }
                    ControlMarker::Commit => {
                        self.committed
                            .entry(s.pid)
                            .or_default()
                            .insert(first, (b.base_offset, b.epoch));
                    }
                }
            }
            None if s.transactional => {
                self.open.entry(s.pid).or_insert(b.base_offset);
            }
            None => {}
        }
    }

    /// The first offset of the oldest unstable transaction under high watermark `hw`:
    /// one still open, or one closed by a marker the high watermark has not passed.
    pub fn first_unstable(&self, hw: u64) -> Option<u64> {
        let unreplicated = self.closed.range(hw..).map(|(_, &(first, _))| first).min();
        self.open.values().copied().min().into_iter().chain(unreplicated).min()
    }

    /// Whether a marker for `pid` at producer `epoch` closing its transaction number
    /// `txn` would be obsolete here, so the leader writes nothing: a copy of a marker
    /// already written (or of an older one), or a marker from an epoch older than the
    /// producer's newest here (with `fencing`, as Kafka refuses it). A marker with
    /// nothing open is still written, as Kafka writes it: it closes nothing, but it
    /// is remembered, so a late copy of it cannot close the producer's next
    /// transaction.
    pub fn marker_obsolete(&self, pid: u64, epoch: u16, txn: u64, fencing: bool) -> bool {
        let newest = self.epochs.get(&pid).copied();
        self.last_marker.get(&pid).is_some_and(|&last| (epoch, txn) <= last)
            || (fencing && newest.is_some_and(|e| epoch < e))
    }

    /// Whether `pid` has a transaction open in this partition.
    pub fn is_open(&self, pid: u64) -> bool {
        self.open.contains_key(&pid)
    }

    /// The aborted transactions whose offsets meet `[from, to)`, the index a fetch carries.
    pub fn aborted_in(&self, from: u64, to: u64) -> Vec<AbortedTxn> {
        // Markers are appended in offset order, so the list is ordered by marker offset:
        // those ending before `from` are skipped without a scan.
        let start = self.aborted.partition_point(|a| a.last < from);
        self.aborted.range(start..).filter(|a| a.first < to).copied().collect()
    }

    /// Forget the closed transactions whose marker is below `settled`, an offset the
    /// log audit has folded past: the LSO is past them and their reads were judged.
    /// Aborted ones stay in the aborted index, which retention trims
    /// ([`Self::forget_deleted`]): a fetch from the log start still needs it.
    pub fn forget_settled(&mut self, settled: u64) {
        let open = self.closed.split_off(&settled);
        for (marker, (first, pid)) in std::mem::replace(&mut self.closed, open) {
            if let Some(m) = self.committed.get_mut(&pid) {
                if m.get(&first).is_some_and(|&(at, _)| at == marker) {
                    m.remove(&first);
                }
                if m.is_empty() {
                    self.committed.remove(&pid);
                }
            }
        }
    }

    /// Forget the aborted transactions that end below `log_start`, the offset retention
    /// deleted the log up to: Kafka's aborted-transaction index goes with its segments.
    pub fn forget_deleted(&mut self, log_start: u64) {
        while let Some(a) = self.aborted.front().copied().filter(|a| a.last < log_start) {
            self.aborted.pop_front();
            if let Some(m) = self.aborted_by_pid.get_mut(&a.pid) {
                m.remove(&a.first);
                if m.is_empty() {
                    self.aborted_by_pid.remove(&a.pid);
                }
            }
        }
    }

    /// The index as it stood before `offset`, for a truncation below the summarised
    /// prefix this index describes: transactions begun from `offset` on never were, and
    /// those whose marker is at or past it are open again. Committed transactions already
    /// forgotten ([`Self::forget_settled`]) cannot reopen; the log audit reports such a
    /// truncation as a breach of its summaries.
    pub fn truncated_to(&self, offset: u64) -> TxnIndex {
        let mut t = self.clone();
        t.open.retain(|_, first| *first < offset);
        for (_, (first, pid)) in t.closed.split_off(&offset) {
            if first < offset {
                t.open.insert(pid, first);
            }
            if let Some(m) = t.committed.get_mut(&pid) {
                m.remove(&first);
            }
        }
        t.committed.retain(|_, m| !m.is_empty());
        while let Some(a) = t.aborted.back().copied().filter(|a| a.last >= offset) {
            t.aborted.pop_back();
            if let Some(m) = t.aborted_by_pid.get_mut(&a.pid) {
                m.remove(&a.first);
            }
            if a.first < offset {
                t.open.insert(a.pid, a.first);
            }
        }
        t.aborted_by_pid.retain(|_, m| !m.is_empty());
        t
    }

    /// Entries held for closed transactions: committed, aborted and closed-by-marker.
    pub fn entries(&self) -> usize {
        let committed: usize = self.committed.values().map(BTreeMap::len).sum();
        committed + self.aborted.len() + self.closed.len()
    }

    /// What became of the transactional record of `pid` at `offset`.
    pub fn outcome(&self, pid: u64, offset: u64) -> TxnOutcome {
        // A producer's transactions in one partition do not overlap: the last one to
        // begin at or before the offset is the only one that can hold it.
        let aborted = self
            .aborted_by_pid
            .get(&pid)
            .and_then(|m| m.range(..=offset).next_back())
            .is_some_and(|(_, &marker)| offset <= marker);
        if aborted {
            return TxnOutcome::Aborted;
        }
        let committed = self
            .committed
            .get(&pid)
            .and_then(|m| m.range(..=offset).next_back())
            .map(|(_, &closing)| closing)
            .filter(|&(marker, _)| offset <= marker);
        if let Some((marker, leader_epoch)) = committed {
            return TxnOutcome::Committed(marker, leader_epoch);
        }
        if self.open.get(&pid).is_some_and(|&first| first <= offset) {
            return TxnOutcome::Open;
        }
        TxnOutcome::None
    }

    /// Transactions opened and closed so far: (open, committed, aborted).
    pub fn counts(&self) -> (usize, usize, usize) {
        let committed = self.committed.values().map(BTreeMap::len).sum();
        (self.open.len(), committed, self.aborted.len())
    }
}

/// Whether a read_committed consumer drops the data batch `b`: a transactional
/// batch inside one of the `aborted` transactions (Kafka's consumer does this
/// with the fetch's aborted-transaction list).
pub fn is_aborted(b: &Batch, aborted: &[AbortedTxn]) -> bool {
    let Some(s) = b.producer.filter(|s| s.transactional) else {
        return false;
    };
    b.control.is_none()
        && aborted
            .iter()
            .any(|a| a.pid == s.pid && a.first <= b.base_offset && b.base_offset <= a.last)
}

/// A batch of `n` records (event `base`, `base` + 1, ...) from transactional producer `pid`
/// at epoch 0, or a marker when `control` is set, for the transaction tests.
#[cfg(test)]
pub(crate) fn test_batch(base: u64, pid: u64, n: usize, control: Option<ControlMarker>) -> Batch {
    use crate::record::{EventId, ProducerStamp, Record};
    let records: Vec<Record> = (0..n as u64)
        .map(|i| Record {
            id: EventId {
                client: 0,
                seq: base + i,
            },
            key: 0,
            size: 1,
            event_time_ms: 0,
            schema_version: 1,
            malformed: false,
            born_us: 0,
        })
        .collect();
    Batch {
        base_offset: base,
        epoch: 1,
        producer: Some(ProducerStamp {
            pid,
            epoch: 0,
            base_seq: 0,
            transactional: true,
        }),
        records: records.into(),
        bytes: 0,
        control,
        txn_state: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(base: u64, pid: u64, n: usize, control: Option<ControlMarker>) -> Batch {
        test_batch(base, pid, n, control)
    }

    #[test]
    fn the_oldest_open_transaction_bounds_the_stable_offset_and_aborts_are_indexed() {
        let mut t = TxnIndex::default();
        t.observe(&batch(0, 7, 3, None));
        t.observe(&batch(3, 8, 2, None));
        assert_eq!(t.first_unstable(10), Some(0));
        t.observe(&batch(5, 7, 0, Some(ControlMarker::Abort)));
        assert_eq!(t.first_unstable(10), Some(3));
        // Until the high watermark passes the abort marker, its transaction stays unstable.
        assert_eq!(t.first_unstable(5), Some(0));
        assert_eq!(t.first_unstable(6), Some(3));
        assert_eq!(t.outcome(7, 1), TxnOutcome::Aborted);
        assert_eq!(t.outcome(8, 4), TxnOutcome::Open);
        t.observe(&batch(6, 8, 0, Some(ControlMarker::Commit)));
        assert_eq!(t.first_unstable(7), None);
        assert_eq!(t.first_unstable(6), Some(3), "the commit marker at 6 is not replicated");
        // The marker's leader epoch is kept with it (the test batches are written at epoch 1).
        assert_eq!(t.outcome(8, 4), TxnOutcome::Committed(6, 1));
        assert_eq!(
            t.aborted_in(4, 10),
            vec![AbortedTxn {
                pid: 7,
                first: 0,
                last: 5
            }]
        );
        assert!(t.aborted_in(6, 10).is_empty());
        assert!(is_aborted(&batch(0, 7, 3, None), &t.aborted_in(0, 10)));
        assert!(!is_aborted(&batch(3, 8, 2, None), &t.aborted_in(0, 10)));
        // A repeated marker closes nothing.
        t.observe(&batch(7, 8, 0, Some(ControlMarker::Commit)));
        assert_eq!(t.counts(), (0, 1, 1));
    }

    #[test]
    fn a_late_or_stale_marker_is_obsolete_and_a_fresh_one_is_not() {
        let stamped = |base: u64, epoch: u16, txn: u64, control: Option<ControlMarker>| {
            let mut b = batch(base, 7, usize::from(control.is_none()), control);
            if let Some(s) = b.producer.as_mut() {
                s.epoch = epoch;
                s.base_seq = if control.is_some() { txn } else { 0 };
            }
            b
        };
        let mut t = TxnIndex::default();
        t.observe(&stamped(0, 1, 0, None));
        // The marker closing transaction 4 is due; a copy of the marker of 3 is not.
        assert!(!t.marker_obsolete(7, 1, 4, true));
        t.observe(&stamped(1, 1, 4, Some(ControlMarker::Commit)));
        // Transaction 5 opens: a late copy of 4's marker must not close it.
        t.observe(&stamped(2, 1, 0, None));
        assert!(t.marker_obsolete(7, 1, 4, true));
        assert!(!t.marker_obsolete(7, 1, 5, true));
        // A marker from an older epoch is refused with fencing on, let through without.
        t.observe(&stamped(3, 2, 0, None));
        assert!(t.marker_obsolete(7, 1, 9, true));
        assert!(!t.marker_obsolete(7, 1, 9, false));
        t.observe(&stamped(4, 2, 5, Some(ControlMarker::Abort)));
        // Nothing open: the marker is still written and remembered, so a late copy of it
        // cannot close the next transaction.
        assert!(!t.marker_obsolete(7, 2, 6, true));
        t.observe(&stamped(5, 2, 6, Some(ControlMarker::Commit)));
        t.observe(&stamped(6, 2, 0, None));
        assert!(t.marker_obsolete(7, 2, 6, true), "a copy of 6's marker while 7 is open");
        assert!(!t.marker_obsolete(7, 3, 7, true));
    }

    #[test]
    fn settled_entries_go_behind_the_fold_and_aborted_ones_with_retention() {
        let mut t = TxnIndex::default();
        t.observe(&batch(0, 7, 2, None));
        t.observe(&batch(2, 7, 0, Some(ControlMarker::Commit))); // 0..2 committed at 2
        t.observe(&batch(3, 8, 2, None));
        t.observe(&batch(5, 8, 0, Some(ControlMarker::Abort))); // 3..5 aborted at 5
        t.observe(&batch(6, 7, 2, None));
        t.observe(&batch(8, 7, 0, Some(ControlMarker::Commit))); // 6..8 committed at 8
        assert_eq!(t.entries(), 6);
        // The fold passed offset 6: the first commit and the abort's closing entry go.
        t.forget_settled(6);
        assert_eq!(t.entries(), 3);
        assert_eq!(t.outcome(7, 0), TxnOutcome::None);
        assert_eq!(t.outcome(8, 4), TxnOutcome::Aborted, "aborted stays for fetches");
        assert_eq!(t.outcome(7, 7), TxnOutcome::Committed(8, 1));
        assert_eq!(t.aborted_in(0, 10).len(), 1);
        // Retention deleted the log up to 6: the aborted index goes with it.
        t.forget_deleted(6);
        assert_eq!(t.aborted_in(0, 10), vec![]);
        assert_eq!(t.entries(), 2);
        // Negative control: before the abort's marker, retention keeps it.
        let mut u = TxnIndex::default();
        u.observe(&batch(3, 8, 2, None));
        u.observe(&batch(5, 8, 0, Some(ControlMarker::Abort)));
        u.forget_deleted(5);
        assert_eq!(u.outcome(8, 3), TxnOutcome::Aborted);
    }

    #[test]
    fn a_truncation_below_the_summary_reopens_what_its_markers_closed() {
        let mut t = TxnIndex::default();
        t.observe(&batch(0, 7, 2, None));
        t.observe(&batch(2, 7, 0, Some(ControlMarker::Commit))); // 0..2 committed at 2
        t.observe(&batch(3, 8, 2, None));
        t.observe(&batch(5, 8, 0, Some(ControlMarker::Abort))); // 3..5 aborted at 5
        t.observe(&batch(6, 9, 2, None)); // 6.. open
        let cut = t.truncated_to(4);
        assert_eq!(cut.outcome(7, 1), TxnOutcome::Committed(2, 1), "below the cut, kept");
        assert_eq!(cut.outcome(8, 3), TxnOutcome::Open, "its abort marker is gone");
        assert_eq!(cut.outcome(9, 6), TxnOutcome::None, "begun past the cut");
        assert!(cut.aborted_in(0, 10).is_empty());
        assert_eq!(cut.first_unstable(4), Some(3));
        // Cut below the commit marker too: that transaction is open again.
        assert_eq!(t.truncated_to(2).first_unstable(2), Some(0));
    }

    #[test]
    fn a_commit_keeps_its_markers_leader_epoch() {
        let mut t = TxnIndex::default();
        t.observe(&batch(0, 7, 2, None));
        // A marker written by the leader of epoch 4: the outcome carries the epoch itself,
        // so the checker needs no batch (summarised away by the log audit) to find it.
        let mut marker = batch(2, 7, 0, Some(ControlMarker::Commit));
        marker.epoch = 4;
        t.observe(&marker);
        assert_eq!(t.outcome(7, 1), TxnOutcome::Committed(2, 4));
        // A summarised index (a clone, as the log keeps one for its folded prefix) agrees.
        assert_eq!(t.clone().outcome(7, 0), TxnOutcome::Committed(2, 4));
    }
}
