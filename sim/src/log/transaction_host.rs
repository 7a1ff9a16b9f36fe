//! What a broker hosting transaction coordinators keeps in memory (and loses
//! with it): its state writes not yet committed, its marker requests in flight
//! and when each owed marker was last sent. The coordinator's state is the
//! transaction-state partition (`transaction_state_log.rs`).

use super::transaction_coordinator::{TxnMeta, TxnStats, TxnStep};
use crate::ids::{Addr, PartitionId};
use crate::txn_wire::TxnMsg;
use std::collections::{BTreeMap, BTreeSet};

/// One marker request in flight: whose marker, for which partition, and which
/// decision it carries (the producer's epoch and transaction number), so that its
/// reply strikes the partition off that decision's owed markers and no later one's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct MarkerReq {
    /// `transactional.id`.
    pub(super) tid: u64,
    /// Partition the marker is for.
    pub(super) partition: PartitionId,
    /// Producer epoch the marker carries.
    pub(super) epoch: u16,
    /// The producer's number of the transaction the marker closes.
    pub(super) txn: u64,
}

impl CoordinatorHost {
    /// Note a marker request sent as `req`, dropping the requests for the same marker
    /// (the id and partition) that carry another decision: a late reply to one of those
    /// strikes nothing off. Earlier requests for the same decision stay: when replies
    /// take longer than the resend interval (a slow link, slow followers), the first to
    /// come back finishes the marker, or no reply would ever be the newest's.
    pub(super) fn sent_marker(&mut self, req: u64, m: MarkerReq) {
        self.reqs
            .retain(|_, r| (r.tid, r.partition) != (m.tid, m.partition) || (r.epoch, r.txn) == (m.epoch, m.txn));
        self.reqs.insert(req, m);
    }

    /// The marker `m` is done: forget every request still out for it.
    pub(super) fn marker_answered(&mut self, m: MarkerReq) {
        self.reqs.retain(|_, r| *r != m);
    }
}

/// A state change appended and not yet committed (Kafka's pending state of the id).
pub(super) struct StateWrite {
    /// `transactional.id`.
    pub(super) tid: u64,
    /// Its state once the change counts.
    pub(super) meta: TxnMeta,
    /// The counts the change adds.
    pub(super) stats: TxnStats,
    /// What it is, for the timeline.
    pub(super) step: TxnStep,
    /// Why, for the timeline.
    pub(super) why: &'static str,
    /// The answer owed to the producer once the change counts.
    pub(super) reply: Option<(Addr, TxnMsg)>,
    /// A timeline line to put once the change counts (a timeout's abort).
    pub(super) note: Option<(String, [u64; 4])>,
}

/// A broker's volatile coordinator state: its state writes and marker requests in flight.
#[derive(Default)]
pub(super) struct CoordinatorHost {
    /// State changes appended and not yet committed, by request id: their ids are in
    /// Kafka's pending state (a concurrent request gets CONCURRENT_TRANSACTIONS).
    pub(super) writes: BTreeMap<u64, StateWrite>,
    pub(super) next_write: u64,
    /// Next compaction of this broker's replicas of the state partitions, ms.
    pub(super) next_compact_ms: u64,
    /// Marker requests in flight: request id -> the marker it carries. Only the requests
    /// of the newest decision for each (id, partition) are kept: a reply to an earlier
    /// decision's is dropped.
    pub(super) reqs: BTreeMap<u64, MarkerReq>,
    /// When each owed marker was last sent, ms.
    pub(super) sent: BTreeMap<(u64, PartitionId), u64>,
    pub(super) next_req: u64,
    /// Next look at timeouts and owed markers; `u64::MAX` when no producer is transactional.
    pub next_drive_ms: u64,
    /// Decided transactions another broker began and this one is finishing, already on the timeline.
    pub(super) resumed: BTreeSet<(u64, u64)>,
}

impl CoordinatorHost {
    /// A fresh host: it looks at its coordinator state at once when the scenario has transactions.
    pub(super) fn new(transactional: bool, now_ms: u64) -> Self {
        CoordinatorHost {
            next_drive_ms: if transactional { now_ms } else { u64::MAX },
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resent_marker_keeps_its_decision_and_drops_another() {
        let mut h = CoordinatorHost::new(true, 0);
        let m = |tid, partition, txn| MarkerReq {
            tid,
            partition,
            epoch: 0,
            txn,
        };
        h.sent_marker(1, m(0, 3, 1));
        h.sent_marker(2, m(0, 4, 1));
        h.sent_marker(3, m(1, 3, 1));
        // Partition 3's marker of id 0 sent again for the same decision: a slow reply to
        // the first request still finishes it.
        h.sent_marker(4, m(0, 3, 1));
        assert_eq!(h.reqs.keys().copied().collect::<Vec<_>>(), vec![1, 2, 3, 4]);
        // The next transaction's marker there: the earlier decision's requests are dropped.
        h.sent_marker(5, m(0, 3, 2));
        assert_eq!(h.reqs.keys().copied().collect::<Vec<_>>(), vec![2, 3, 5]);
        // Answered: nothing is left out for it, the others stay.
        h.marker_answered(m(0, 3, 2));
        assert_eq!(h.reqs.keys().copied().collect::<Vec<_>>(), vec![2, 3]);
    }
}
