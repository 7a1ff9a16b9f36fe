//! What a lake writer does with transactions in what it fetched, as Kafka
//! Connect's sink task does through its consumer: markers carry no record
//! and are stepped over (their offsets are consumed), and a read_committed
//! writer (the default under a transactional gateway) drops the records of
//! the aborted transactions its fetch listed and reads no further than the
//! last stable offset. Each file notes the transactional batches it holds,
//! so the lake's check can tell a file that holds an aborted record
//! (`lake.no_aborted`), which only a read_uncommitted writer can write.

use super::store::TxnHeld;
use crate::log::last_stable_offset::{is_aborted, AbortedTxn};
use crate::msg::Batch;

/// Whether the writer takes none of `b`'s records: a marker, or a batch of an aborted
/// transaction its read_committed fetch listed (`aborted` is empty read_uncommitted).
pub(super) fn stepped_over(b: &Batch, aborted: &[AbortedTxn]) -> bool {
    b.control.is_some() || is_aborted(b, aborted)
}

/// Note in `held` one record taken from `b`, if `b` was written in a transaction.
pub(super) fn note_taken(held: &mut Vec<TxnHeld>, b: &Batch) {
    let Some(s) = b.producer.filter(|s| s.transactional) else {
        return;
    };
    match held.last_mut() {
        Some(h) if h.pid == s.pid && h.offset == b.base_offset => h.records += 1,
        _ => held.push(TxnHeld {
            pid: s.pid,
            offset: b.base_offset,
            records: 1,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::ControlMarker;

    #[test]
    fn markers_and_listed_aborted_batches_are_stepped_over_and_taken_records_noted() {
        let test_batch = crate::log::last_stable_offset::test_batch;
        let aborted_data = test_batch(0, 1, 3, None);
        let marker = test_batch(3, 1, 0, Some(ControlMarker::Abort));
        let committed_data = test_batch(4, 2, 2, None);
        let list = [AbortedTxn {
            pid: 1,
            first: 0,
            last: 3,
        }];
        // read_committed: the aborted batch and the marker are stepped over.
        assert!(stepped_over(&aborted_data, &list));
        assert!(stepped_over(&marker, &list));
        assert!(!stepped_over(&committed_data, &list));
        // read_uncommitted: only the marker.
        assert!(!stepped_over(&aborted_data, &[]));
        assert!(stepped_over(&marker, &[]));
        let mut held = Vec::new();
        note_taken(&mut held, &committed_data);
        note_taken(&mut held, &committed_data);
        note_taken(&mut held, &aborted_data);
        assert_eq!(
            held,
            vec![
                TxnHeld {
                    pid: 2,
                    offset: 4,
                    records: 2
                },
                TxnHeld {
                    pid: 1,
                    offset: 0,
                    records: 1
                }
            ]
        );
    }
}
