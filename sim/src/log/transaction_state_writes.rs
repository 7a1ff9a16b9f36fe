//! A coordinator's state changes as writes to its transaction-state partition:
//! one piece serves every coordinator request (hosted here, loaded, not
//! already writing that id), a change is appended to the partition as a
//! snapshot of the id and acts (answers the producer, sends markers) only once
//! committed; and the load a broker makes when it comes to lead the
//! partition, the cache it drops when it stops, and the partition's compaction.

use super::broker::Broker;
use super::replica::Role;
use super::transaction_coordinator::{host_partition, TxnCache, TxnMeta, TxnStats, TxnStep};
use super::transaction_host::StateWrite;
use super::transaction_state_log::{self, TxnStateRecord};
use crate::ids::{Addr, PartitionId};
use crate::msg::{Batch, Msg, ProduceError};
use crate::txn_wire::{TxnError, TxnMsg};
use crate::world::TimelineKind;
use std::sync::Arc;

/// The request ids of state writes, apart from the marker requests' (the purgatory answers both).
pub(super) const STATE_WRITE: u64 = 1 << 63;
/// Reading a state partition on becoming its leader: a fixed cost, µs...
const LOAD_BASE_US: u64 = 5_000;
/// ...and one per record read, µs.
const LOAD_PER_RECORD_US: u64 = 20;
/// How often a replica of a state partition is compacted, ms.
const COMPACT_INTERVAL_MS: u64 = 100;

/// A coordinator's answer `m` turned into the refusal `e` (its write did not count).
fn refused(m: TxnMsg, e: TxnError) -> TxnMsg {
    match m {
        TxnMsg::InitProducerIdReply { req, .. } => TxnMsg::InitProducerIdReply { req, result: Err(e) },
        TxnMsg::Reply { req, .. } => TxnMsg::Reply { req, result: Err(e) },
        m => m,
    }
}

/// Whether the change from `before` to `after` must be written: anything but the
/// owed markers struck off one by one (Kafka writes a decision's completion, not
/// each marker's; a successor sends every marker of the decision again).
fn durable(before: Option<&TxnMeta>, after: &TxnMeta) -> bool {
    before.is_none_or(|b| {
        let mut a = after.clone();
        a.pending = b.pending.clone();
        a != *b
    })
}

impl Broker {
    /// Whether `p` is a transaction-state partition.
    pub(super) fn is_state_partition(&self, p: PartitionId) -> bool {
        p >= self.sh.first_state_partition()
    }

    /// Whether this coordinator may act on `tid` now: it hosts it, its state is loaded,
    /// and no change of `tid` is being written.
    pub(super) fn coordinator_gate(&self, tid: u64) -> Result<(), TxnError> {
        if !self.hosts_coordinator(tid) {
            return Err(TxnError::NotCoordinator);
        }
        if self.sh.txn.lock().expect("txn lock").store.cache(self.id).is_none() {
            return Err(TxnError::LoadInProgress);
        }
        if self.txn.writes.values().any(|w| w.tid == tid) {
            return Err(TxnError::Concurrent);
        }
        Ok(())
    }

    /// One coordinator request of `tid`: `op` computes the change on a copy of the id's
    /// state, `answer` makes the reply. A change is written and answered once committed;
    /// a request that changes nothing is answered at once. Returns the result computed.
    pub(super) fn serve_coordinator<T>(
        &mut self,
        src: Addr,
        tid: u64,
        done_us: u64,
        why: &'static str,
        op: impl FnOnce(&mut TxnCache) -> (Result<T, TxnError>, TxnStep),
        answer: impl FnOnce(Result<T, TxnError>) -> TxnMsg,
    ) -> Result<(), TxnError> {
        if let Err(e) = self.coordinator_gate(tid) {
            self.send(src, Msg::Txn(answer(Err(e))), done_us);
            return Err(e);
        }
        let before = {
            let t = self.sh.txn.lock().expect("txn lock");
            t.store.cache(self.id).and_then(|c| c.get(tid)).cloned()
        };
        let mut scratch = TxnCache::one(tid, before.clone());
        let (r, step) = op(&mut scratch);
        let plain = r.as_ref().map(|_| ()).map_err(|e| *e);
        let reply = answer(r);
        match scratch.get(tid).cloned() {
            Some(after) if durable(before.as_ref(), &after) => {
                self.write_state(tid, after, scratch.stats, step, why, Some((src, reply)), None, done_us);
            }
            _ => self.send(src, Msg::Txn(reply), done_us),
        }
        plain
    }

    /// Append `tid`'s new state to its state partition; it counts (cache, counts,
    /// timeline, `reply`) once committed, or once in this log when the coordinator does
    /// not wait for replication (the negative control's switch).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn write_state(
        &mut self,
        tid: u64,
        meta: TxnMeta,
        stats: TxnStats,
        step: TxnStep,
        why: &'static str,
        reply: Option<(Addr, TxnMsg)>,
        note: Option<(String, [u64; 4])>,
        now_us: u64,
    ) {
        let cfg = &self.sh.scenario.log;
        let (min_isr, waits) = (cfg.transaction_state_min_isr, cfg.coordinator_waits_for_replication);
        let p = host_partition(tid, self.sh.assignment.len());
        let fail = match self.parts.get(&p) {
            Some(r) if matches!(r.role, Role::Leader(_)) => {
                (r.isr.len() < min_isr).then_some(TxnError::NotEnoughReplicas)
            }
            _ => Some(TxnError::NotCoordinator),
        };
        if let Some(e) = fail {
            if let Some((dst, m)) = reply {
                self.send(dst, Msg::Txn(refused(m, e)), now_us);
            }
            return;
        }
        let leader_epoch = self.parts[&p].leader_epoch;
        let record = TxnStateRecord {
            tid,
            meta: meta.clone(),
        };
        let bytes = record.bytes();
        let base = {
            let mut guard = self.sh.disks[self.id].lock().expect("disk lock");
            let disk = &mut *guard;
            let base_offset = disk.logs.get(&p).expect("hosted partition").leo();
            let batch = Batch {
                base_offset,
                epoch: leader_epoch,
                producer: None,
                records: Default::default(),
                bytes,
                control: None,
                txn_state: Some(Arc::new(record)),
            };
            self.append_own(disk, p, batch, now_us)
        };
        self.txn.next_write += 1;
        let req = STATE_WRITE | self.txn.next_write;
        self.txn.writes.insert(
            req,
            StateWrite {
                tid,
                meta,
                stats,
                step,
                why,
                reply,
                note,
            },
        );
        if waits {
            self.await_own_write(self.addr, req, p, base, leader_epoch, now_us);
        }
        self.advance_hw(p, now_us);
        self.wake_parked(now_us);
        if !waits {
            self.state_write_settled(req, &[(p, Ok(base))], now_us);
        }
    }

    /// The purgatory settled state write `req`: committed, or failed (leadership moved,
    /// too few in-sync replicas, timed out). A failed change is dropped and the
    /// producer told to ask again.
    pub(super) fn state_write_settled(
        &mut self,
        req: u64,
        results: &[(PartitionId, Result<u64, ProduceError>)],
        now_us: u64,
    ) {
        let Some(w) = self.txn.writes.remove(&req) else { return };
        let failed = match results.first().map(|(_, r)| *r) {
            Some(Ok(_)) => None,
            Some(Err(ProduceError::NotEnoughReplicas | ProduceError::NotEnoughReplicasAfterAppend)) => {
                Some(TxnError::NotEnoughReplicas)
            }
            _ => Some(TxnError::NotCoordinator),
        };
        let failed = failed.or_else(|| {
            let mut t = self.sh.txn.lock().expect("txn lock");
            let t = &mut *t;
            let Some(c) = t.store.cache_mut(self.id) else {
                return Some(TxnError::NotCoordinator);
            };
            c.restore(w.tid, w.meta.clone());
            t.store.stats.add(&w.stats);
            t.store.stats.state_writes += 1;
            if w.step == TxnStep::Commit {
                // Offsets sent inside the transaction count from its commit decision.
                t.offsets.decided_commit(w.tid, w.meta.txn_no);
            }
            None
        });
        if let Some(e) = failed {
            if let Some((dst, m)) = w.reply {
                self.send(dst, Msg::Txn(refused(m, e)), now_us);
            }
            return;
        }
        self.note_step(w.tid, &w.meta, w.step, w.why);
        if let Some((text, words)) = &w.note {
            self.sh.timeline(TimelineKind::Transaction, text, words);
        }
        if let Some((dst, m)) = w.reply {
            self.send(dst, Msg::Txn(m), now_us);
        }
        self.drive_transactions(now_us, true);
    }

    /// The controller changed this broker's role for `p`: coming to lead a state
    /// partition starts a load of its state; no longer leading it drops the cache.
    pub(super) fn state_role_changed(&mut self, p: PartitionId, leads_now: bool, now_us: u64) {
        if !self.is_state_partition(p) {
            return;
        }
        let mut t = self.sh.txn.lock().expect("txn lock");
        if leads_now {
            let records = self.sh.disks[self.id]
                .lock()
                .expect("disk lock")
                .logs
                .get(&p)
                .map_or(0, |l| l.batches().len() as u64);
            let ready_ms = (now_us + LOAD_BASE_US + LOAD_PER_RECORD_US * records) / 1000;
            t.store.start_loading(self.id, ready_ms);
            self.txn.next_drive_ms = self.txn.next_drive_ms.min(ready_ms);
        } else {
            t.store.drop_cache(self.id);
        }
        // What this broker knew of marker requests belongs to the cache it had.
        self.txn.sent.clear();
        self.txn.reqs.clear();
    }

    /// Finish a load whose time has come: the newest record of each id in this
    /// broker's replica of the state partition becomes its cache.
    pub(super) fn finish_loading(&mut self, now_ms: u64) {
        let due = {
            let t = self.sh.txn.lock().expect("txn lock");
            t.store.loading_until(self.id).is_some_and(|r| now_ms >= r)
        };
        if !due {
            return;
        }
        let total = self.sh.assignment.len();
        let p = host_partition(0, total);
        let (metas, from, to) = {
            let disk = self.sh.disks[self.id].lock().expect("disk lock");
            match disk.logs.get(&p) {
                Some(l) => transaction_state_log::load(l),
                None => Default::default(),
            }
        };
        let n = metas.len();
        self.sh.txn.lock().expect("txn lock").store.loaded(self.id, metas);
        self.sh.timeline(
            TimelineKind::Transaction,
            &format!(
                "broker-{} loads the transaction state of {n} ids from partition {p}, offsets {from}..{to}",
                self.id
            ),
            &[self.id as u64, n as u64, from, to],
        );
    }

    /// Compact this broker's replicas of the state partitions below their high
    /// watermark, keeping the newest record of each id.
    pub(super) fn compact_state(&mut self, now_ms: u64) {
        if now_ms < self.txn.next_compact_ms {
            return;
        }
        self.txn.next_compact_ms = now_ms + COMPACT_INTERVAL_MS;
        let mut disk = self.sh.disks[self.id].lock().expect("disk lock");
        for (p, r) in &self.parts {
            if !self.is_state_partition(p) {
                continue;
            }
            let Some(log) = disk.logs.get_mut(&p) else { continue };
            let below = r.hw.min(log.leo());
            let keep = transaction_state_log::compaction_keeps(log.batches(), below);
            log.compact(below, &keep);
        }
    }
}
