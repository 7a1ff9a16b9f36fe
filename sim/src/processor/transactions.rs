//! What a processor's consumer does with transactions in what it fetched:
//! markers carry no record and are stepped over (their offsets are consumed),
//! a read_committed consumer drops the records of the aborted transactions
//! its fetch listed, and every transactional record passed on is noted for
//! the checker (`aborted_read`, `intermediate_read`).

use crate::ids::PartitionId;
use crate::log::last_stable_offset::{is_aborted, AbortedTxn};
use crate::log::transaction_ledger::TxnRead;
use crate::msg::Batch;
use crate::world::Shared;
use std::sync::Arc;

/// The batches to process of a fetch answered up to `bound` (the high watermark, or
/// the last stable offset for a read_committed consumer), and the offset the
/// position may move to past the batches dropped.
pub(super) fn consumable(
    sh: &Shared,
    p: PartitionId,
    position: u64,
    batches: Vec<Arc<Batch>>,
    bound: u64,
    aborted: &[AbortedTxn],
    now_ms: u64,
) -> (Vec<Arc<Batch>>, u64) {
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
            if let Some(s) = b.producer.filter(|s| s.transactional) {
                let from = b.base_offset.max(position);
                let to = b.end_offset().min(bound);
                if from < to {
                    reads.push(TxnRead {
                        partition: p,
                        pid: s.pid,
                        offset: b.base_offset,
                        records: to - from,
                        at_ms: now_ms,
                    });
                }
            }
            true
        })
        .collect();
    if !reads.is_empty() {
        sh.txn.lock().expect("txn lock").reads.extend(reads);
    }
    (kept, skip_to)
}
