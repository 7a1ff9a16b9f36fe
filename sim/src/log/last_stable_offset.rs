//! A partition's transactions as its log shows them: which producers have a
//! transaction open here and from which offset (the first of them bounds the
//! last stable offset, Kafka's LSO), and the aborted-transaction index that a
//! read_committed consumer uses to drop aborted records. Like the producer
//! table, it is derived from the batches themselves, so a new leader, a
//! restarted broker and a truncated log all rebuild the same index.

use crate::record::{Batch, ControlMarker};
use std::collections::BTreeMap;

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
    /// Closed by a commit marker at this offset.
    Committed(u64),
    /// Closed by an abort marker.
    Aborted,
}

/// The open and closed transactions of one partition log.
#[derive(Clone, Debug, Default)]
pub struct TxnIndex {
    /// Per producer id with a transaction open here: its first offset.
    open: BTreeMap<u64, u64>,
    /// Aborted transactions, in marker order.
    aborted: Vec<AbortedTxn>,
    /// Aborted transactions per producer: first offset -> abort marker offset.
    aborted_by_pid: BTreeMap<u64, BTreeMap<u64, u64>>,
    /// Committed transactions per producer: first offset -> commit marker offset.
    committed: BTreeMap<u64, BTreeMap<u64, u64>>,
}

impl TxnIndex {
    /// Account for a batch appended to the log.
    pub fn observe(&mut self, b: &Batch) {
        let Some(s) = b.producer else { return };
        match b.control {
            Some(marker) => {
                // A marker with nothing open here (a retried one) closes nothing.
                let Some(first) = self.open.remove(&s.pid) else { return };
                match marker {
                    ControlMarker::Abort => {
                        self.aborted.push(AbortedTxn {
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
                        self.committed.entry(s.pid).or_default().insert(first, b.base_offset);
                    }
                }
            }
            None if s.transactional => {
                self.open.entry(s.pid).or_insert(b.base_offset);
            }
            None => {}
        }
    }

    /// The first offset of the oldest open transaction, if any is open.
    pub fn first_unstable(&self) -> Option<u64> {
        self.open.values().copied().min()
    }

    /// Whether `pid` has a transaction open in this partition.
    pub fn is_open(&self, pid: u64) -> bool {
        self.open.contains_key(&pid)
    }

    /// The aborted transactions whose offsets meet `[from, to)`, the index a fetch carries.
    pub fn aborted_in(&self, from: u64, to: u64) -> Vec<AbortedTxn> {
        self.aborted
            .iter()
            .filter(|a| a.first < to && a.last >= from)
            .copied()
            .collect()
    }

    /// Every aborted transaction, in marker order.
    pub fn aborted(&self) -> &[AbortedTxn] {
        &self.aborted
    }

    /// What became of the transactional record of `pid` at `offset`.
    pub fn outcome(&self, pid: u64, offset: u64) -> TxnOutcome {
        // A producer's transactions in one partition do not overlap: the last one to
        // begin at or before the offset is the only one that can hold it.
        let closing = |m: Option<&BTreeMap<u64, u64>>| {
            m.and_then(|m| m.range(..=offset).next_back())
                .map(|(_, &marker)| marker)
                .filter(|&marker| offset <= marker)
        };
        if closing(self.aborted_by_pid.get(&pid)).is_some() {
            return TxnOutcome::Aborted;
        }
        if let Some(marker) = closing(self.committed.get(&pid)) {
            return TxnOutcome::Committed(marker);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{ProducerStamp, Record};
    use std::sync::Arc;

    fn batch(base: u64, pid: u64, n: usize, control: Option<ControlMarker>) -> Batch {
        let r = Record {
            id: crate::record::EventId { client: 0, seq: 0 },
            key: 0,
            size: 1,
            event_time_ms: 0,
            schema_version: 1,
            malformed: false,
            born_us: 0,
        };
        Batch {
            base_offset: base,
            epoch: 1,
            producer: Some(ProducerStamp {
                pid,
                epoch: 0,
                base_seq: 0,
                transactional: true,
            }),
            records: Arc::from(vec![r; n]),
            bytes: 0,
            control,
        }
    }

    #[test]
    fn the_oldest_open_transaction_bounds_the_stable_offset_and_aborts_are_indexed() {
        let mut t = TxnIndex::default();
        t.observe(&batch(0, 7, 3, None));
        t.observe(&batch(3, 8, 2, None));
        assert_eq!(t.first_unstable(), Some(0));
        t.observe(&batch(5, 7, 0, Some(ControlMarker::Abort)));
        assert_eq!(t.first_unstable(), Some(3));
        assert_eq!(t.outcome(7, 1), TxnOutcome::Aborted);
        assert_eq!(t.outcome(8, 4), TxnOutcome::Open);
        t.observe(&batch(6, 8, 0, Some(ControlMarker::Commit)));
        assert_eq!(t.first_unstable(), None);
        assert_eq!(t.outcome(8, 4), TxnOutcome::Committed(6));
        assert_eq!(
            t.aborted_in(4, 10),
            vec![AbortedTxn {
                pid: 7,
                first: 0,
                last: 5
            }]
        );
        assert!(t.aborted_in(6, 10).is_empty());
        assert!(is_aborted(&batch(0, 7, 3, None), t.aborted()));
        assert!(!is_aborted(&batch(3, 8, 2, None), t.aborted()));
        // A repeated marker closes nothing.
        t.observe(&batch(7, 8, 0, Some(ControlMarker::Commit)));
        assert_eq!(t.counts(), (0, 1, 1));
    }
}
