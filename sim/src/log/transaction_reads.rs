//! The transactional reads the consumers noted, held only until they can be
//! judged. A read is decidable once the log audit has folded past it: its
//! transaction then closed by a marker every replica holds durably, so no clean
//! election can change the outcome. The audit judges it then, and only the
//! counts and the first witnesses of each check stay; the rest is dropped, so
//! what is held follows the unfolded tail of the logs, not the run's length.

use crate::ids::PartitionId;
use std::collections::{BTreeMap, VecDeque};

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

impl TxnRead {
    /// What a read_committed consumer at `position`, reading partition `p` up to
    /// `bound`, takes of batch `b`: its transactional records in that range, if any.
    pub fn of(p: PartitionId, b: &crate::record::Batch, position: u64, bound: u64, at_ms: u64) -> Option<TxnRead> {
        let s = b.producer.filter(|s| s.transactional)?;
        let from = b.base_offset.max(position);
        let to = b.end_offset().min(bound);
        (from < to).then_some(TxnRead {
            partition: p,
            pid: s.pid,
            offset: b.base_offset,
            records: to - from,
            at_ms,
        })
    }
}

/// Witnesses kept per check (the checker's own count, so its reports keep their length).
const WITNESSES: usize = 5;

/// The reads of one check found wanting: how many records, and the witnesses of
/// the earliest reads (by the order they were noted, whatever order they were judged in).
#[derive(Clone, Debug, Default)]
pub struct Findings {
    /// Records of the reads found wanting.
    pub records: u64,
    /// Witness text by the read's number, the lowest kept.
    witnesses: BTreeMap<u64, String>,
}

impl Findings {
    /// A read numbered `seq` of `records` records was found wanting; `text` says how.
    pub fn add(&mut self, seq: u64, records: u64, text: impl FnOnce() -> String) {
        self.records += records;
        let full = self.witnesses.len() >= WITNESSES;
        if full && self.witnesses.last_key_value().is_some_and(|(&last, _)| last < seq) {
            return;
        }
        self.witnesses.insert(seq, text());
        if self.witnesses.len() > WITNESSES {
            self.witnesses.pop_last();
        }
    }

    /// The witnesses, earliest read first.
    pub fn witnesses(&self) -> Vec<&str> {
        self.witnesses.values().map(String::as_str).collect()
    }
}

/// The reads not judged yet, and what the judged ones came to.
#[derive(Clone, Debug, Default)]
pub struct TxnReads {
    /// Per partition, the reads not judged yet with their numbers, in the order noted.
    pending: BTreeMap<PartitionId, VecDeque<(u64, TxnRead)>>,
    /// Reads noted so far (the next read's number).
    noted: u64,
    /// Reads pending now, over every partition.
    held: usize,
    /// Transactional records read, judged or not.
    pub records_read: u64,
    /// Reads of aborted transactions (`aborted_read`).
    pub aborted: Findings,
    /// Reads before the commit marker, or of transactions never closed (`intermediate_read`).
    pub intermediate: Findings,
}

impl Extend<TxnRead> for TxnReads {
    fn extend<I: IntoIterator<Item = TxnRead>>(&mut self, reads: I) {
        for r in reads {
            self.records_read += r.records;
            self.pending.entry(r.partition).or_default().push_back((self.noted, r));
            self.noted += 1;
            self.held += 1;
        }
    }
}

impl TxnReads {
    /// Take the pending reads of `p` whose batch starts below `below`, with their numbers.
    pub fn take_below(&mut self, p: PartitionId, below: u64) -> Vec<(u64, TxnRead)> {
        let Some(q) = self.pending.get_mut(&p) else {
            return Vec::new();
        };
        // Reads arrive roughly in offset order but not exactly (consumers of several
        // groups): the queue is scanned, and what stays keeps its order.
        let (taken, kept): (VecDeque<_>, VecDeque<_>) = q.drain(..).partition(|(_, r)| r.offset < below);
        *q = kept;
        self.held -= taken.len();
        taken.into()
    }

    /// Take every pending read, in the order noted.
    pub fn take_all(&mut self) -> Vec<(u64, TxnRead)> {
        let mut all: Vec<_> = std::mem::take(&mut self.pending).into_values().flatten().collect();
        all.sort_by_key(|(seq, _)| *seq);
        self.held = 0;
        all
    }

    /// Reads held, not judged yet.
    pub fn held(&self) -> usize {
        self.held
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(p: PartitionId, offset: u64) -> TxnRead {
        TxnRead {
            partition: p,
            pid: 1,
            offset,
            records: 2,
            at_ms: 0,
        }
    }

    #[test]
    fn judged_reads_leave_and_witnesses_keep_the_earliest_reads() {
        let mut r = TxnReads::default();
        r.extend((0..10).map(|i| read((i % 2) as usize, i * 10)));
        assert_eq!((r.held(), r.records_read), (10, 20));
        let taken = r.take_below(1, 50);
        assert_eq!(taken.iter().map(|(s, _)| *s).collect::<Vec<_>>(), vec![1, 3]);
        assert_eq!(r.held(), 8);
        // Judged out of order, the witnesses still list the earliest reads first.
        let mut f = Findings::default();
        for seq in (0..8).rev() {
            f.add(seq, 1, || format!("read {seq}"));
        }
        assert_eq!(f.records, 8);
        assert_eq!(f.witnesses(), vec!["read 0", "read 1", "read 2", "read 3", "read 4"]);
        assert_eq!(r.take_all().len(), 8);
        assert_eq!(r.held(), 0);
    }
}
