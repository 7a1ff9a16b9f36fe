//! What a subscription's consumer does with transactions in what it fetched:
//! markers carry no record and are stepped over (their offsets consumed, at
//! either isolation level); a read_committed consumer also drops the records
//! of the aborted transactions its fetch listed, and notes every
//! transactional record it hands on, so that `aborted_read` and
//! `intermediate_read` judge it as they judge the processors. A
//! read_uncommitted consumer reads aborted records by design: nothing is noted.

use crate::ids::PartitionId;
use crate::log::last_stable_offset::{is_aborted, AbortedTxn};
use crate::log::transaction_reads::TxnRead;
use crate::record::Batch;

/// The batches a poll hands to the application, of those fetched of partition `p`
/// from `position` up to `bound` (the high watermark, or the last stable offset when
/// `aborted` is the read_committed fetch's list), and the transactional records among
/// them a read_committed consumer read. `keep_aborted` is the planted bug that
/// ignores the list.
pub(super) fn handed_on<'a>(
    p: PartitionId,
    position: u64,
    batches: &[&'a Batch],
    bound: u64,
    aborted: Option<&[AbortedTxn]>,
    keep_aborted: bool,
    now_ms: u64,
) -> (Vec<&'a Batch>, Vec<TxnRead>) {
    let mut reads = Vec::new();
    let mut kept = Vec::new();
    for &b in batches {
        if b.control.is_some() {
            continue;
        }
        if let Some(list) = aborted {
            if !keep_aborted && is_aborted(b, list) {
                continue;
            }
            reads.extend(TxnRead::of(p, b, position, bound, now_ms));
        }
        kept.push(b);
    }
    (kept, reads)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::last_stable_offset::test_batch;
    use crate::record::ControlMarker;

    #[test]
    fn markers_are_stepped_over_and_only_read_committed_drops_and_notes() {
        // Producer 1's batch at 0..3 aborted at 3; producer 2's at 4..6 committed at 6.
        let all = [
            test_batch(0, 1, 3, None),
            test_batch(3, 1, 0, Some(ControlMarker::Abort)),
            test_batch(4, 2, 2, None),
            test_batch(6, 2, 0, Some(ControlMarker::Commit)),
        ];
        let batches: Vec<&Batch> = all.iter().collect();
        let list = [AbortedTxn {
            pid: 1,
            first: 0,
            last: 3,
        }];
        let offsets = |v: &[&Batch]| v.iter().map(|b| b.base_offset).collect::<Vec<_>>();
        // read_committed: the aborted batch and the markers go; the kept records are noted.
        let (kept, reads) = handed_on(5, 0, &batches, 7, Some(&list), false, 9);
        assert_eq!(offsets(&kept), vec![4]);
        assert_eq!((reads.len(), reads[0].pid, reads[0].records), (1, 2, 2));
        // read_uncommitted: only the markers go, and nothing is noted.
        let (kept, reads) = handed_on(5, 0, &batches, 7, None, false, 9);
        assert_eq!(offsets(&kept), vec![0, 4]);
        assert!(reads.is_empty());
        // The planted bug keeps the aborted batch and notes it: aborted_read's negative control.
        let (kept, reads) = handed_on(5, 0, &batches, 7, Some(&list), true, 9);
        assert_eq!(offsets(&kept), vec![0, 4]);
        assert_eq!(reads.len(), 2);
    }
}
