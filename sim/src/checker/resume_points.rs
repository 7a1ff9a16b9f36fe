//! Where each reader of a partition would resume after a crash, which the
//! log audit may not fold past: a fold summarises the records below it, and
//! a reader sent back there would ask for records no log holds any more.
//!
//! * The processors resume an events partition from their committed offset:
//!   the sink's checkpoint slot in the sink-transaction modes, the group's
//!   offsets committed inside transactions under `exactly_once_txn`. And an
//!   instance still holding a partition in its own view fetches from its
//!   position: one paused while the group moved on wakes and fetches there
//!   before it learns of the rebalance (`processor::positions`).
//! * The lake writers and the subscriptions' groups resume from their own
//!   committed positions.
//! * Under `exactly_once_txn` the sink resumes each output partition from
//!   the offset it stored with the rows it applied.
//!
//! The audit also feeds the reference model, while it folds an events
//! partition, with the events whose row the sink holds (the end-to-end
//! check compares the sink's windows with it). Under `exactly_once_txn` an
//! events partition's committed offset runs ahead of the sink, which reads
//! the rows of that transaction from the output topic later; so an offset
//! committed there bounds the fold only once the sink has stored an output
//! offset at or past the output partition's log end as it stood when the
//! offset was seen committed. That end lies past every row of the
//! transaction that committed it: the rows were acknowledged by every
//! in-sync replica before the commit was asked for.

use crate::world::Shared;
use std::collections::VecDeque;

/// Per events partition, the offsets committed in transactions that the sink
/// has not caught up with yet.
#[derive(Debug, Clone, Default)]
struct TxnCommitted {
    /// (committed offset, the output partition's largest log end over its replicas
    /// when that offset was seen), oldest first.
    seen: VecDeque<(u64, u64)>,
    /// The largest committed offset whose rows the sink has stored.
    settled: u64,
}

/// The readers' resume points, as the log audit bounds its folds by them.
#[derive(Debug, Clone)]
pub(super) struct ResumePoints {
    /// Per events partition, under `exactly_once_txn` (empty otherwise).
    txn: Vec<TxnCommitted>,
}

impl ResumePoints {
    /// The resume points of a run's readers.
    pub(super) fn new(sh: &Shared) -> Self {
        let n = if sh.output.count > 0 { sh.event_partitions } else { 0 };
        ResumePoints {
            txn: vec![TxnCommitted::default(); n],
        }
    }

    /// Per partition, the offset the fold may not pass for the readers' sake
    /// (`u64::MAX` where no reader resumes from a stored position).
    pub(super) fn bounds(&mut self, sh: &Shared) -> Vec<u64> {
        let mut bound = vec![u64::MAX; sh.assignment.len()];
        if sh.layout.processors > 0 {
            if self.txn.is_empty() {
                let db = sh.sink.lock().expect("sink lock");
                for (p, s) in db.slots.iter().enumerate().take(sh.event_partitions) {
                    bound[p] = s.offset();
                }
            } else {
                self.txn_bounds(sh, &mut bound);
            }
            // A paused instance the group has moved on from still fetches from its own position.
            let held = sh.processor_positions.lock().expect("positions lock");
            for (p, b) in bound.iter_mut().enumerate().take(sh.event_partitions) {
                *b = (*b).min(held.floor(p));
            }
        }
        if sh.layout.lake_writers > 0 {
            let lake = sh.lake.lock().expect("lake lock");
            for (p, b) in bound.iter_mut().enumerate().take(sh.event_partitions) {
                *b = (*b).min(lake.resume_offset(p));
            }
        }
        for (p, b) in bound.iter_mut().enumerate().take(sh.event_partitions) {
            if let Some(s) = crate::subscription::resume_floor(sh, p) {
                *b = (*b).min(s);
            }
        }
        bound
    }

    /// `exactly_once_txn`: the events partitions by the offsets committed in
    /// transactions whose rows the sink has stored, the output partitions by the
    /// sink's stored offsets.
    fn txn_bounds(&mut self, sh: &Shared, bound: &mut [u64]) {
        let committed: Vec<Option<u64>> = {
            let txn = sh.txn.lock().expect("txn lock");
            (0..self.txn.len())
                .map(|p| txn.offsets.committed.get(&p).map(|c| c.offset))
                .collect()
        };
        let stored = sh.sink.lock().expect("sink lock").output_offsets.clone();
        for (p, t) in self.txn.iter_mut().enumerate() {
            let q = sh.output.of_input(p);
            bound[p] = t.bound(committed[p].unwrap_or(0), || output_end(sh, q), stored[p]);
            bound[q] = stored[p];
        }
    }
}

impl TxnCommitted {
    /// The fold's bound for the events partition whose committed offset is now
    /// `committed`, its output partition's log end being `end()` now and the sink's
    /// stored offset for it `stored`.
    fn bound(&mut self, committed: u64, end: impl FnOnce() -> u64, stored: u64) -> u64 {
        if committed > self.seen.back().map_or(self.settled, |&(o, _)| o) {
            self.seen.push_back((committed, end()));
        }
        while let Some(&(o, end)) = self.seen.front() {
            if end > stored {
                break;
            }
            self.settled = self.settled.max(o);
            self.seen.pop_front();
        }
        // Never past what a processor restarted now would resume from.
        self.settled.min(committed)
    }
}

/// The largest log end of partition `q` over its replicas: past every record any
/// in-sync replica acknowledged.
fn output_end(sh: &Shared, q: usize) -> u64 {
    sh.assignment[q]
        .iter()
        .map(|&r| {
            let disk = sh.disks[r].lock().expect("disk lock");
            disk.logs.get(&q).map_or(0, |l| l.leo())
        })
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::TxnCommitted;

    #[test]
    fn a_committed_offset_bounds_the_fold_once_the_sink_stored_its_rows() {
        let mut t = TxnCommitted::default();
        // Offset 500 committed while the output partition ends at 40; the sink is at 30.
        assert_eq!(
            t.bound(500, || 40, 30),
            0,
            "the sink has not stored that transaction's rows"
        );
        // Next fold: 900 committed, the output at 70, the sink stored 40: 500 is settled.
        assert_eq!(t.bound(900, || 70, 40), 500);
        assert_eq!(t.bound(900, || unreachable!("no new commit to note"), 69), 500);
        assert_eq!(t.bound(900, || 70, 70), 900);
    }

    #[test]
    fn the_bound_never_passes_the_committed_offset_of_now() {
        let mut t = TxnCommitted::default();
        assert_eq!(t.bound(500, || 40, 40), 500);
        // Negative control: the group's offset went back (offsets committed outside the
        // transactions); a restarted processor resumes there, so the fold may not pass it.
        assert_eq!(t.bound(300, || 50, 50), 300);
    }
}
