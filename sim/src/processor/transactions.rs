//! What a processor's consumer does with transactions in what it fetched:
//! markers carry no record and are stepped over (their offsets are consumed),
//! a read_committed consumer drops the records of the aborted transactions
//! its fetch listed, and every transactional record passed on is noted for
//! the checker (`aborted_read`, `intermediate_read`). What a processor hands
//! on is also shown to the subscriptions' poll watch, so `inconsistent_offsets`
//! compares it with what the subscriptions' consumers read.

use crate::ids::PartitionId;
use crate::log::last_stable_offset::{is_aborted, AbortedTxn};
use crate::log::transaction_reads::TxnRead;
use crate::msg::Batch;
use crate::world::Shared;
use std::sync::Arc;

/// The batches to process of a fetch answered up to `bound` (the high watermark, or
/// the last stable offset for a read_committed consumer), and the offset the
/// position may move to past the batches dropped. The transactional records kept
/// are noted in the run's transaction ledger.
pub(crate) fn consumable(
    sh: &Shared,
    p: PartitionId,
    position: u64,
    batches: Vec<Arc<Batch>>,
    bound: u64,
    aborted: &[AbortedTxn],
    now_ms: u64,
) -> (Vec<Arc<Batch>>, u64) {
    let (kept, skip_to, reads) = sift(p, position, batches, bound, aborted, now_ms);
    if !reads.is_empty() {
        sh.txn.lock().expect("txn lock").reads.extend(reads);
    }
    compare_with_subscriptions(sh, p, &kept, bound, now_ms);
    (kept, skip_to)
}

/// Show what a processor hands on of events partition `p` to the subscriptions' poll
/// watch (`inconsistent_offsets` across groups), when the run has subscriptions. Only
/// batches wholly below `bound` are compared, as for the subscriptions' consumers.
fn compare_with_subscriptions(sh: &Shared, p: PartitionId, kept: &[Arc<Batch>], bound: u64, now_ms: u64) {
    let subs = &sh.subscriptions;
    if subs.configs.is_empty() || p >= sh.event_partitions {
        return;
    }
    let whole: Vec<&Batch> = kept.iter().filter(|b| b.end_offset() <= bound).map(|b| &**b).collect();
    if whole.is_empty() {
        return;
    }
    let names: Vec<String> = subs.configs.iter().map(|c| c.name.clone()).collect();
    let notes = subs
        .watch
        .lock()
        .expect("watch lock")
        .processors_polled(&names, p, &whole, now_ms);
    for n in notes {
        sh.timeline(crate::timeline::TimelineKind::Subscription, &n, &[p as u64]);
    }
}

/// [`consumable`] without the ledger: the batches kept, the position past the
/// dropped ones, and the transactional records kept.
fn sift(
    p: PartitionId,
    position: u64,
    batches: Vec<Arc<Batch>>,
    bound: u64,
    aborted: &[AbortedTxn],
    now_ms: u64,
) -> (Vec<Arc<Batch>>, u64, Vec<TxnRead>) {
    let mut skip_to = position;
    let mut reads = Vec::new();
    let kept: Vec<Arc<Batch>> = batches
        .into_iter()
        .filter(|b| {
            let dropped = b.control.is_some() || is_aborted(b, aborted);
            if dropped {
                if b.end_offset() <= bound {
                    skip_to = skip_to.max(b.end_offset());
                }
                return false;
            }
            reads.extend(TxnRead::of(p, b, position, bound, now_ms));
            true
        })
        .collect();
    (kept, skip_to, reads)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::ControlMarker;

    fn batch(base: u64, pid: u64, n: usize, control: Option<ControlMarker>) -> Arc<Batch> {
        Arc::new(crate::log::last_stable_offset::test_batch(base, pid, n, control))
    }

    #[test]
    fn markers_and_listed_aborted_batches_are_stepped_over_and_kept_records_noted() {
        // Producer 1's batch at 0..3 aborted at 3; producer 2's at 4..6 committed at 6.
        let batches = vec![
            batch(0, 1, 3, None),
            batch(3, 1, 0, Some(ControlMarker::Abort)),
            batch(4, 2, 2, None),
            batch(6, 2, 0, Some(ControlMarker::Commit)),
        ];
        let aborted = [AbortedTxn {
            pid: 1,
            first: 0,
            last: 3,
        }];
        // read_committed: the aborted batch goes, the markers are stepped over.
        let (kept, skip_to, reads) = sift(5, 0, batches.clone(), 7, &aborted, 42);
        assert_eq!(kept.iter().map(|b| b.base_offset).collect::<Vec<_>>(), vec![4]);
        assert_eq!(skip_to, 7);
        assert_eq!(
            reads,
            vec![TxnRead {
                partition: 5,
                pid: 2,
                offset: 4,
                records: 2,
                at_ms: 42
            }]
        );
        // read_uncommitted (no aborted list): both data batches are kept and noted.
        let (kept, _, reads) = sift(5, 0, batches.clone(), 7, &[], 42);
        assert_eq!(kept.len(), 2);
        assert_eq!(reads.len(), 2);
        // A marker at or past the bound does not move the position.
        let (_, skip_to, _) = sift(5, 0, batches, 6, &aborted, 42);
        assert_eq!(skip_to, 4);
    }
}
