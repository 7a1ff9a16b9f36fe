//! The transaction-state partition (Kafka's `__transaction_state`): its
//! records, each a coordinator's snapshot of one `transactional.id`; the
//! load a new leader makes of them; its compaction; and the run-wide view of
//! the coordinators' caches that the partition leaders and the checker read.
//!
//! The log is the truth: a coordinator's cache holds what it loaded from its
//! own replica when it came to lead the partition, plus the changes that
//! committed since, and is lost with its broker or its leadership.

use super::transaction_coordinator::{TxnCache, TxnMeta, TxnStats};
use super::PartitionLog;
use crate::ids::{BrokerId, PartitionId};
use crate::record::Batch;
use std::collections::{BTreeMap, BTreeSet};

pub use super::transaction_metadata::TxnStateRecord;

/// What a state partition's replica holds: its newest record per id, read from
/// `from` to the log end (Kafka's `TransactionStateManager` load).
pub fn load(log: &PartitionLog) -> (BTreeMap<u64, TxnMeta>, u64, u64) {
    let mut out = BTreeMap::new();
    let batches = log.batches();
    for b in batches {
        if let Some(r) = &b.txn_state {
            out.insert(r.tid, r.meta.clone());
        }
    }
    let from = batches.first().map_or(log.leo(), |b| b.base_offset);
    (out, from, log.leo())
}

/// The offsets of the batches compaction keeps below `below` (the high watermark):
/// each id's newest record below it (Kafka's log cleaner keeps the newest record per
/// key of the part it may clean: a newer record above the high watermark may still be
/// truncated), and the log's last batch, so its end never moves.
pub fn compaction_keeps(batches: &[std::sync::Arc<Batch>], below: u64) -> BTreeSet<u64> {
    let mut newest: BTreeMap<u64, u64> = BTreeMap::new();
    for b in batches.iter().take_while(|b| b.base_offset < below) {
        if let Some(r) = &b.txn_state {
            newest.insert(r.tid, b.base_offset);
        }
    }
    let mut keep: BTreeSet<u64> = newest.into_values().collect();
    if let Some(last) = batches.last() {
        keep.insert(last.base_offset);
    }
    keep
}

/// The coordinators' caches, by broker, and the run's transaction counts. A cache
/// lives here so the partition leaders (KIP-890 verification) and the checker can
/// read it, but it is volatile: its broker drops it when it stops leading the state
/// partition, and a restarted broker starts without one.
#[derive(Clone, Debug, Default)]
pub struct TxnStore {
    caches: BTreeMap<BrokerId, TxnCache>,
    /// Brokers still reading their state partition, and when they finish, ms.
    loading: BTreeMap<BrokerId, u64>,
    /// The broker whose cache was loaded last and is still held: the coordinator
    /// that the partition leaders and the checker ask.
    live: Option<BrokerId>,
    /// Run counts, of the changes that took effect.
    pub stats: TxnStats,
}

impl TxnStore {
    /// Broker `b` came to lead the state partition: its cache is loading until `ready_ms`.
    pub fn start_loading(&mut self, b: BrokerId, ready_ms: u64) {
        self.caches.remove(&b);
        self.loading.insert(b, ready_ms);
    }

    /// When broker `b` finishes loading, if it is loading.
    pub fn loading_until(&self, b: BrokerId) -> Option<u64> {
        self.loading.get(&b).copied()
    }

    /// Broker `b` loaded `metas`: its cache is ready and the live one.
    pub fn loaded(&mut self, b: BrokerId, metas: BTreeMap<u64, TxnMeta>) {
        self.loading.remove(&b);
        let mut c = TxnCache::default();
        for (tid, m) in metas {
            c.restore(tid, m);
        }
        self.caches.insert(b, c);
        self.live = Some(b);
    }

    /// Broker `b` stopped leading the state partition, or restarted: its cache goes.
    pub fn drop_cache(&mut self, b: BrokerId) {
        self.caches.remove(&b);
        self.loading.remove(&b);
        if self.live == Some(b) {
            self.live = None;
        }
    }

    /// Broker `b`'s cache, if it holds one (loaded).
    pub fn cache(&self, b: BrokerId) -> Option<&TxnCache> {
        self.caches.get(&b)
    }

    /// Broker `b`'s cache, to apply a committed change to.
    pub fn cache_mut(&mut self, b: BrokerId) -> Option<&mut TxnCache> {
        self.caches.get_mut(&b)
    }

    /// The live coordinator's cache, if one is loaded.
    pub fn live_cache(&self) -> Option<&TxnCache> {
        self.live.and_then(|b| self.caches.get(&b))
    }

    /// The state of `tid` at the live coordinator.
    pub fn get(&self, tid: u64) -> Option<&TxnMeta> {
        self.live_cache().and_then(|c| c.get(tid))
    }

    /// KIP-890 verification against the live coordinator's cache (see
    /// [`TxnCache::verifies`]); with none loaded nothing verifies, and the batch is
    /// refused as Kafka's leader refuses it when the coordinator cannot answer.
    pub fn verifies(&self, pid: u64, epoch: u16, p: PartitionId, fencing: bool) -> bool {
        self.live_cache().is_some_and(|c| c.verifies(pid, epoch, p, fencing))
    }

    /// Whether the coordinator of producer `pid` will close its transaction in `p`
    /// (see [`TxnCache::knows`]). With no live coordinator (loading, or its partition
    /// leaderless) the transaction is taken as known: a coordinator down is a slow
    /// close, not a hanging transaction.
    pub fn knows(&self, pid: u64, p: PartitionId) -> bool {
        self.live_cache().is_none_or(|c| c.knows(pid, p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Batch;
    use std::sync::Arc;

    fn record(tid: u64, epoch: u16) -> Arc<Batch> {
        let mut c = TxnCache::default();
        let _ = c.init(tid, 1000, None, 0);
        let mut meta = c.get(tid).cloned().expect("registered");
        meta.epoch = epoch;
        Arc::new(Batch {
            base_offset: 0,
            epoch: 1,
            producer: None,
            records: Default::default(),
            bytes: 80,
            control: None,
            txn_state: Some(Arc::new(TxnStateRecord { tid, meta })),
        })
    }

    #[test]
    fn a_load_takes_the_newest_record_of_each_id() {
        let mut log = PartitionLog::default();
        for (tid, e) in [(0, 0), (1, 0), (0, 1), (0, 2), (1, 1)] {
            log.append(record(tid, e));
        }
        let (metas, from, to) = load(&log);
        assert_eq!((from, to), (0, 5));
        assert_eq!(metas.get(&0).map(|m| m.epoch), Some(2));
        assert_eq!(metas.get(&1).map(|m| m.epoch), Some(1));
    }

    #[test]
    fn compaction_keeps_one_record_per_id_and_the_last() {
        let mut log = PartitionLog::default();
        for (tid, e) in [(0, 0), (1, 0), (0, 1), (0, 2), (1, 1), (0, 3)] {
            log.append(record(tid, e));
        }
        // Below 4 (the high watermark): each id's newest there (1 and 3) and the last
        // batch stay; a newer record above it may still be truncated, so it supersedes nothing.
        let keep = compaction_keeps(log.batches(), 4);
        assert_eq!(keep.iter().copied().collect::<Vec<_>>(), vec![1, 3, 5]);
        assert_eq!(log.compact(4, &keep), 2);
        assert_eq!(log.leo(), 6);
        // Everything committed: one record per id is left.
        let keep = compaction_keeps(log.batches(), 6);
        log.compact(6, &keep);
        assert_eq!(
            log.batches().iter().map(|b| b.base_offset).collect::<Vec<_>>(),
            vec![4, 5]
        );
        // A load after compaction sees the same state.
        let (metas, from, _) = load(&log);
        assert_eq!(from, 4);
        assert_eq!(metas.get(&0).map(|m| m.epoch), Some(3));
        assert_eq!(metas.get(&1).map(|m| m.epoch), Some(1));
        // A follower appending after the gap keeps the leader's offsets.
        let mut f = PartitionLog::default();
        for b in log.batches() {
            f.append(b.clone());
        }
        assert_eq!(
            f.batches().iter().map(|b| b.base_offset).collect::<Vec<_>>(),
            vec![4, 5]
        );
    }
}
