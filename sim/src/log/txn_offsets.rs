//! Consumer offsets committed inside a transaction (KIP-98's
//! `AddOffsetsToTxn` and `TxnOffsetCommit`, as KIP-447 fences them), for the
//! processor's `exactly_once_txn` mode.
//!
//! A transactional processor instance sends the offsets it consumed (with
//! its operator state, as the offset commit's metadata) to its coordinator
//! inside its open transaction. They are pending until the transaction's
//! commit is decided, when they become the group's committed offsets; an
//! abort (asked for, on InitProducerId, or on the transaction's timeout)
//! leaves the old ones. A new owner of a partition whose offsets are pending
//! in an open transaction waits for it to end (Kafka's
//! `UNSTABLE_OFFSET_COMMIT`), so it never resumes from offsets a zombie is
//! about to replace. A commit from a generation older than the group's is
//! refused (KIP-447's generation fencing), as is one from an older epoch.

use super::transaction_coordinator::{TxnCache, TxnState};
use crate::ids::PartitionId;
use crate::wire::Checkpoint;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The first `transactional.id` of the processor instances (the gateways take 0 and up).
pub const PROCESSOR_TIDS: u64 = 1 << 20;

/// The name a `transactional.id` goes by on the timeline.
pub fn producer_name(tid: u64) -> String {
    if tid >= PROCESSOR_TIDS {
        format!("processor-{}", tid - PROCESSOR_TIDS)
    } else {
        format!("gateway-{tid}")
    }
}

/// Offsets sent inside a transaction that is still open.
#[derive(Clone, Debug)]
struct Pending {
    /// The producer's number for the transaction.
    txn: u64,
    /// Checkpoints (next offset, operator state) by input partition.
    offsets: Vec<(PartitionId, Arc<Checkpoint>)>,
}

/// The group's committed offsets and the transactions' pending ones (durable,
/// like `__consumer_offsets`).
#[derive(Clone, Debug, Default)]
pub struct TxnOffsets {
    pending: BTreeMap<u64, Pending>,
    /// The committed checkpoint of each input partition.
    pub committed: BTreeMap<PartitionId, Arc<Checkpoint>>,
    /// Offset commits refused for an older generation.
    pub refused_generation: u64,
}

/// Why a partition's committed offset cannot be read now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unstable {
    /// The `transactional.id` whose open transaction holds offsets of the partition.
    pub tid: u64,
}

impl TxnOffsets {
    /// `TxnOffsetCommit` accepted: the offsets wait for transaction `txn` of `tid`.
    pub fn offer(&mut self, tid: u64, txn: u64, offsets: Vec<(PartitionId, Arc<Checkpoint>)>) {
        self.pending.insert(tid, Pending { txn, offsets });
    }

    /// The commit of transaction `txn` of `tid` is decided: its offsets become the group's.
    pub fn decided_commit(&mut self, tid: u64, txn: u64) {
        if self.pending.get(&tid).is_some_and(|p| p.txn == txn) {
            let p = self.pending.remove(&tid).expect("pending");
            self.commit(p.offsets);
        }
    }

    /// Make `offsets` the committed ones (a decided transaction's, or a plain commit's).
    pub fn commit(&mut self, offsets: Vec<(PartitionId, Arc<Checkpoint>)>) {
        for (p, c) in offsets {
            self.committed.insert(p, c);
        }
    }

    /// The committed checkpoint of `p`, unless an open transaction holds offsets of it.
    /// Pending offsets whose transaction is no longer open at the live coordinator
    /// (`cache`) were aborted: they go. With no live coordinator (its state is loading,
    /// or its partition has no leader) nothing can be told, and pending offsets stay.
    pub fn fetch(&mut self, p: PartitionId, cache: Option<&TxnCache>) -> Result<Option<Arc<Checkpoint>>, Unstable> {
        if let Some(store) = cache {
            self.pending.retain(|&tid, pend| {
                store
                    .get(tid)
                    .is_some_and(|m| m.state == TxnState::Ongoing && m.txn_no == pend.txn)
            });
        }
        if let Some((&tid, _)) = self
            .pending
            .iter()
            .find(|(_, pend)| pend.offsets.iter().any(|(q, _)| *q == p))
        {
            return Err(Unstable { tid });
        }
        Ok(self.committed.get(&p).cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::txn_wire::TxnError;

    fn ckpt(offset: u64) -> Arc<Checkpoint> {
        Arc::new(Checkpoint {
            from_offset: 0,
            offset,
            state: (crate::plugins::Plugins::builtin(&Default::default()).operator)().snapshot(),
            finished: false,
        })
    }

    #[test]
    fn offsets_count_only_once_their_transaction_commits() {
        let mut store = TxnCache::default();
        let mut o = TxnOffsets::default();
        let (Ok((_, e)), _) = store.init(PROCESSOR_TIDS, 10_000, None, 0) else {
            panic!("init")
        };
        assert!(store.add_partitions(PROCESSOR_TIDS, e, 1, &[], 0, true).0.is_ok());
        assert_eq!(store.check_open(PROCESSOR_TIDS, e, 1, true), Ok(()));
        o.offer(PROCESSOR_TIDS, 1, vec![(2, ckpt(40))]);
        // While the transaction is open the partition's offset is unstable.
        assert_eq!(o.fetch(2, Some(&store)).err(), Some(Unstable { tid: PROCESSOR_TIDS }));
        assert!(matches!(o.fetch(3, Some(&store)), Ok(None)));
        // An abort (here a new epoch of the id) leaves the old offset.
        assert!(store.init(PROCESSOR_TIDS, 10_000, None, 0).0.is_err());
        assert_eq!(o.fetch(2, Some(&store)).map(|c| c.map(|c| c.offset)), Ok(None));
        // A decided commit makes them the group's.
        let (Ok((_, e2)), _) = store.init(PROCESSOR_TIDS, 10_000, None, 0) else {
            panic!("init")
        };
        assert_eq!(store.check_open(PROCESSOR_TIDS, e, 1, true), Err(TxnError::Fenced));
        assert!(store.add_partitions(PROCESSOR_TIDS, e2, 1, &[], 0, true).0.is_ok());
        o.offer(PROCESSOR_TIDS, 1, vec![(2, ckpt(70))]);
        assert!(store.end(PROCESSOR_TIDS, e2, 1, true, 0, true).0.is_ok());
        o.decided_commit(PROCESSOR_TIDS, 1);
        assert_eq!(o.fetch(2, Some(&store)).map(|c| c.map(|c| c.offset)), Ok(Some(70)));
        assert_eq!(producer_name(PROCESSOR_TIDS + 1), "processor-1");
        assert_eq!(producer_name(1), "gateway-1");
    }
}
