//! The broker's side of transactions: hosting the coordinator of the ids
//! whose state partition it leads (answering producers, aborting transactions
//! past their timeout, sending markers until every partition acknowledged
//! its own), and, as a partition leader, writing the markers it is sent.
//!
//! A marker is a control batch: it takes one offset, carries the
//! coordinator's epoch for the producer (so a bumped one fences older
//! writes), and is acknowledged once replicated, as Kafka writes markers
//! with `acks=all`. The coordinator's marker requests are volatile: a
//! successor hosting the id sends again whatever the state it loaded still owes.

use super::broker::{Broker, PendingProduce};
use super::disk::BrokerDisk;
use super::replica::Role;
use super::transaction_coordinator::{host_partition, TxnCache, TxnMeta, TxnState, TxnStep};
use super::transaction_host::MarkerReq;
use super::txn_offsets::producer_name;
use crate::ids::{Addr, PartitionId};
use crate::msg::{Batch, Msg, ProduceError, ProducerStamp};
use crate::record::ControlMarker;
use crate::txn_wire::{TxnError, TxnMsg};
use crate::world::TimelineKind;
use std::collections::BTreeSet;
use std::sync::Arc;

/// An unacknowledged marker is sent again after this long, ms.
const MARKER_RESEND_MS: u64 = 1_000;
/// A failed marker is sent again after this long, ms (the partition's leader may have moved).
const MARKER_RETRY_MS: u64 = 100;
/// How often a hosting broker looks at its transactions' timeouts and owed markers, ms.
const DRIVE_INTERVAL_MS: u64 = 50;
/// Bytes of a control batch on disk and on the wire.
const MARKER_BYTES: u64 = 78;

impl Broker {
    /// Whether this broker hosts the coordinator of `tid` (it leads the id's state partition).
    pub(super) fn hosts_coordinator(&self, tid: u64) -> bool {
        let p = host_partition(tid, self.sh.assignment.len());
        self.parts.get(&p).is_some_and(|r| matches!(r.role, Role::Leader(_)))
    }

    /// A transaction request: a producer's to the coordinator, or the coordinator's marker.
    pub(super) fn on_txn(&mut self, src: Addr, m: TxnMsg, now_us: u64) {
        let done = self.cpu(now_us, 0);
        let fencing = self.sh.scenario.log.transaction_fencing;
        let id = self.id;
        match m {
            TxnMsg::InitProducerId {
                req,
                tid,
                timeout_ms,
                current,
                instance,
            } => {
                let sh = self.sh.clone();
                let _ = self.serve_coordinator(
                    src,
                    tid,
                    done,
                    "a new epoch of the id",
                    |c| {
                        let mut ctl = sh.controller.lock().expect("controller lock");
                        c.init_instance(tid, timeout_ms, current, Some(instance), id, &mut ctl.producer_ids)
                    },
                    |result| TxnMsg::InitProducerIdReply { req, result },
                );
            }
            TxnMsg::AddPartitions {
                req,
                tid,
                epoch,
                txn,
                partitions,
            } => {
                let now_ms = done / 1000;
                let r = self.serve_coordinator(
                    src,
                    tid,
                    done,
                    "",
                    |c| c.add_partitions(tid, epoch, txn, &partitions, now_ms, fencing),
                    |result| TxnMsg::Reply { req, result },
                );
                self.note_refusal(tid, epoch, r);
            }
            TxnMsg::EndTxn {
                req,
                tid,
                epoch,
                txn,
                commit,
            } => {
                let r = self.serve_coordinator(
                    src,
                    tid,
                    done,
                    "at the producer's request",
                    |c| c.end(tid, epoch, txn, commit, id, fencing),
                    |result| TxnMsg::Reply { req, result },
                );
                self.note_refusal(tid, epoch, r);
            }
            TxnMsg::WriteMarker {
                req,
                partition,
                pid,
                epoch,
                txn,
                marker,
            } => self.write_marker(src, req, partition, (pid, epoch, txn), marker, done),
            m @ TxnMsg::TxnOffsetCommit { .. } => self.on_txn_offset_commit(src, m, done),
            m @ TxnMsg::OffsetCommit { .. } => self.on_offset_commit(src, m, done),
            TxnMsg::InitProducerIdReply { .. } | TxnMsg::Reply { .. } => {}
        }
    }

    /// Put a coordinator's step on the timeline, with the id's state after it.
    pub(super) fn note_step(&self, tid: u64, m: &TxnMeta, step: TxnStep, why: &str) {
        let (n, epoch, parts) = (m.begun, m.epoch, m.partitions.iter().copied().collect::<Vec<_>>());
        let text = match step {
            TxnStep::None => return,
            TxnStep::Began => format!("{} begins transaction {n} (epoch {epoch})", producer_name(tid)),
            TxnStep::Commit => format!(
                "{}'s transaction {n} commits: markers to partitions {parts:?}",
                producer_name(tid)
            ),
            TxnStep::Abort => {
                format!(
                    "{}'s transaction {n} aborts ({why}): markers to partitions {parts:?}",
                    producer_name(tid)
                )
            }
        };
        self.sh
            .timeline(TimelineKind::Transaction, &text, &[tid, n, epoch as u64, step as u64]);
    }

    /// Put a fenced request on the timeline.
    pub(super) fn note_refusal(&self, tid: u64, epoch: u16, r: Result<(), TxnError>) {
        if r != Err(TxnError::Fenced) {
            return;
        }
        let current = self
            .sh
            .txn
            .lock()
            .expect("txn lock")
            .store
            .cache(self.id)
            .and_then(|c| c.get(tid))
            .map_or(0, |m| m.epoch);
        self.sh.timeline(
            TimelineKind::ProducerFenced,
            &format!(
                "coordinator on broker-{} fences {}: its request carries epoch {epoch}, the id is at epoch {current}",
                self.id,
                producer_name(tid)
            ),
            &[tid, epoch as u64, current as u64],
        );
    }

    /// Abort the hosted transactions past their timeout and send the markers still owed.
    /// `now` forces a look before the next interval (a decision was just taken).
    pub(super) fn drive_transactions(&mut self, now_us: u64, now: bool) {
        let now_ms = now_us / 1000;
        if self.txn.next_drive_ms == u64::MAX || (!now && now_ms < self.txn.next_drive_ms) {
            return;
        }
        if !now {
            self.txn.next_drive_ms = now_ms + DRIVE_INTERVAL_MS;
        }
        self.compact_state(now_ms);
        self.finish_loading(now_ms);
        let fencing = self.sh.scenario.log.transaction_fencing;
        let hosted: BTreeSet<u64> = {
            let txn = self.sh.txn.lock().expect("txn lock");
            let Some(c) = txn.store.cache(self.id) else { return };
            c.iter().map(|(t, _)| t).collect()
        };
        // Ids with a change being written are left alone until it settles.
        let hosted: BTreeSet<u64> = hosted
            .into_iter()
            .filter(|&t| self.hosts_coordinator(t) && !self.txn.writes.values().any(|w| w.tid == t))
            .collect();
        if hosted.is_empty() {
            return;
        }
        for tid in hosted.iter().copied() {
            let before = {
                let txn = self.sh.txn.lock().expect("txn lock");
                txn.store.cache(self.id).and_then(|c| c.get(tid)).cloned()
            };
            let mut scratch = TxnCache::one(tid, before);
            if scratch.expire(now_ms, fencing, self.id, |_| true).is_empty() {
                continue;
            }
            let Some(m) = scratch.get(tid).cloned() else { continue };
            let (n, epoch, timeout) = (m.begun, m.epoch, m.timeout_ms);
            let text = format!(
                "coordinator on broker-{} aborts {}'s transaction {n}: open past its {timeout} ms timeout{}",
                self.id,
                producer_name(tid),
                if fencing {
                    format!(", epoch bumped to {epoch}")
                } else {
                    String::from(" (fencing off: epoch kept)")
                }
            );
            let note = Some((text, [tid, n, epoch as u64, 99]));
            self.write_state(tid, m, scratch.stats, TxnStep::None, "", None, note, now_us);
        }
        let hosted: BTreeSet<u64> = hosted
            .into_iter()
            .filter(|&t| !self.txn.writes.values().any(|w| w.tid == t))
            .collect();
        let leaders: Vec<Option<usize>> = self
            .sh
            .metadata
            .lock()
            .expect("metadata lock")
            .iter()
            .map(|s| s.leader)
            .collect();
        let mut sends = Vec::new();
        let mut resumed = Vec::new();
        {
            let txn = self.sh.txn.lock().expect("txn lock");
            let Some(cache) = txn.store.cache(self.id) else { return };
            for (tid, m) in cache.iter().filter(|(t, _)| hosted.contains(t)) {
                let marker = match m.state {
                    TxnState::PrepareCommit => ControlMarker::Commit,
                    TxnState::PrepareAbort => ControlMarker::Abort,
                    _ => continue,
                };
                if m.prepared_by.is_some_and(|b| b != self.id) && self.txn.resumed.insert((tid, m.begun)) {
                    resumed.push((tid, m.begun, m.prepared_by.unwrap_or(0), marker, m.pending.len()));
                }
                for &p in &m.pending {
                    if self
                        .txn
                        .sent
                        .get(&(tid, p))
                        .is_some_and(|&t| now_ms < t + MARKER_RESEND_MS)
                    {
                        continue;
                    }
                    let Some(Some(leader)) = leaders.get(p) else { continue };
                    sends.push((tid, p, *leader, m.pid, m.epoch, m.txn_no, marker));
                }
            }
        }
        for (tid, n, by, marker, left) in resumed {
            self.sh.timeline(
                TimelineKind::Transaction,
                &format!(
                    "coordinator on broker-{} takes over {}'s transaction {n}, decided ({marker:?}) on broker-{by}: {left} marker(s) still owed",
                    self.id,
                    producer_name(tid)
                ),
                &[tid, n, by as u64, 98],
            );
        }
        for (tid, p, leader, pid, epoch, txn, marker) in sends {
            self.txn.next_req += 1;
            let req = self.txn.next_req;
            self.txn.sent_marker(
                req,
                MarkerReq {
                    tid,
                    partition: p,
                    epoch,
                    txn,
                },
            );
            self.txn.sent.insert((tid, p), now_ms);
            let m = TxnMsg::WriteMarker {
                req,
                partition: p,
                pid,
                epoch,
                txn,
                marker,
            };
            self.send(self.sh.layout.broker(leader), Msg::Txn(m), now_us);
        }
    }

    /// Whether a transactional batch stamped `stamp` may be appended to `p` (KIP-890
    /// verification, with `[log] transaction_verification`): a batch continuing a
    /// transaction already open here is taken; the first batch of one is taken only if
    /// the producer's coordinator has `p` in its ongoing transaction. Kafka's leader
    /// asks the coordinator and holds the append for the answer; here it reads the
    /// live coordinator's cache directly (docs/FIDELITY.md). A refusal goes on the
    /// timeline: it is a late batch that would otherwise have hung the partition.
    pub(super) fn txn_batch_verified(&self, stamp: &ProducerStamp, p: PartitionId, open_here: bool) -> bool {
        if !stamp.transactional || open_here || !self.sh.scenario.log.transaction_verification {
            return true;
        }
        let fencing = self.sh.scenario.log.transaction_fencing;
        let mut txn = self.sh.txn.lock().expect("txn lock");
        if txn.store.verifies(stamp.pid, stamp.epoch, p, fencing) {
            return true;
        }
        txn.store.stats.unverified += 1;
        drop(txn);
        self.sh.timeline(
            TimelineKind::Transaction,
            &format!(
                "broker-{} refuses a batch of producer {:#x} (epoch {}) for partition {p}: not in an ongoing \
                 transaction of that producer at its coordinator (KIP-890 verification)",
                self.id, stamp.pid, stamp.epoch
            ),
            &[stamp.pid, stamp.epoch as u64, p as u64, 97],
        );
        false
    }

    /// A leader's answer to one of this coordinator's markers.
    pub(super) fn on_marker_reply(
        &mut self,
        req: u64,
        results: &[(PartitionId, Result<u64, ProduceError>)],
        now_us: u64,
    ) {
        let Some(MarkerReq {
            tid,
            partition: p,
            epoch,
            txn,
        }) = self.txn.reqs.remove(&req)
        else {
            return;
        };
        let ok = results.iter().any(|(q, r)| *q == p && r.is_ok());
        if !ok {
            // Try again soon: the partition's leader has probably moved.
            let retry_at = (now_us / 1000 + MARKER_RETRY_MS).saturating_sub(MARKER_RESEND_MS);
            self.txn.sent.insert((tid, p), retry_at);
            return;
        }
        self.txn.sent.remove(&(tid, p));
        self.txn.marker_answered(MarkerReq {
            tid,
            partition: p,
            epoch,
            txn,
        });
        if self.coordinator_gate(tid).is_err() {
            return;
        }
        let before = {
            let t = self.sh.txn.lock().expect("txn lock");
            t.store.cache(self.id).and_then(|c| c.get(tid)).cloned()
        };
        let mut scratch = TxnCache::one(tid, before);
        if scratch.marker_done(tid, p, (epoch, txn), self.id) {
            // The decision is complete: that is a change of state, written like the others.
            if let Some(m) = scratch.get(tid).cloned() {
                self.write_state(tid, m, scratch.stats, TxnStep::None, "", None, None, now_us);
            }
        } else if let Some(m) = scratch.get(tid).cloned() {
            let mut t = self.sh.txn.lock().expect("txn lock");
            t.store.stats.add(&scratch.stats);
            if let Some(c) = t.store.cache_mut(self.id) {
                c.restore(tid, m);
            }
        }
    }

    /// Write a coordinator's marker as this partition's leader; answer once replicated.
    /// `producer` is (producer id, epoch, transaction number). An obsolete marker (a
    /// late copy, an older epoch's, or one with nothing to close) is not written: it is
    /// answered once what the log holds is replicated, so the coordinator stops owing it.
    fn write_marker(
        &mut self,
        src: Addr,
        req: u64,
        p: PartitionId,
        producer: (u64, u16, u64),
        marker: ControlMarker,
        now_us: u64,
    ) {
        let (pid, epoch, txn) = producer;
        let fencing = self.sh.scenario.log.transaction_fencing;
        let leader_epoch = match self.parts.get(&p) {
            Some(r) if matches!(r.role, Role::Leader(_)) => r.leader_epoch,
            _ => {
                let results = vec![(p, Err(ProduceError::NotLeader))];
                self.send(src, Msg::ProduceReply { req, results }, now_us);
                return;
            }
        };
        let (base, written) = {
            let mut guard = self.sh.disks[self.id].lock().expect("disk lock");
            let disk = &mut *guard;
            let log = disk.logs.get_mut(&p).expect("hosted partition");
            if log.txns.marker_obsolete(pid, epoch, txn, fencing) {
                (log.leo().saturating_sub(1), false)
            } else {
                let batch = Batch {
                    base_offset: log.leo(),
                    epoch: leader_epoch,
                    producer: Some(ProducerStamp {
                        pid,
                        epoch,
                        // A control batch has no record sequence: it carries the transaction's number.
                        base_seq: txn,
                        transactional: true,
                    }),
                    records: Default::default(),
                    bytes: MARKER_BYTES,
                    control: Some(marker),
                    txn_state: None,
                };
                (self.append_own(disk, p, batch, now_us), true)
            }
        };
        if written {
            self.sh
                .txn
                .lock()
                .expect("txn lock")
                .marker_written(p, base, leader_epoch, now_us / 1000);
        }
        self.await_own_write(src, req, p, base, leader_epoch, now_us);
        self.advance_hw(p, now_us);
        self.wake_parked(now_us);
    }
}

impl Broker {
    /// Append a batch this leader writes itself (a marker, a coordinator's state
    /// record) to partition `p`, and account for it as the flush policy says: dirty
    /// pages for the writeback, or flushed at once under `flush = "every_batch"`.
    pub(super) fn append_own(&self, disk: &mut BrokerDisk, p: PartitionId, batch: Batch, now_us: u64) -> u64 {
        let bytes = batch.bytes;
        let log = disk.logs.get_mut(&p).expect("hosted partition");
        let base = log.append(Arc::new(batch));
        if self.sh.scenario.log.flush.uses_page_cache() {
            let mut res = self.sh.resources[self.id].lock().expect("resources lock");
            disk.page_cache.dirtied(
                &mut disk.logs,
                &mut res.disk,
                &self.sh.scenario.resources,
                p,
                bytes,
                now_us,
            );
        } else if self.sh.scenario.log.flush == crate::config::FlushPolicy::EveryBatch {
            log.flush();
        }
        base
    }

    /// Request `req` of `src` is answered once the batch this leader wrote itself at
    /// `base` of `p` (leader epoch `leader_epoch`) is replicated, as a produce with
    /// acks=all is (through the purgatory, under `request.timeout.ms`).
    pub(super) fn await_own_write(
        &mut self,
        src: Addr,
        req: u64,
        p: PartitionId,
        base: u64,
        leader_epoch: u32,
        now_us: u64,
    ) {
        let deadline_ms = now_us / 1000 + self.sh.scenario.log.request_timeout_ms;
        self.due_by(deadline_ms);
        self.purgatory.push(PendingProduce {
            src,
            req,
            results: Vec::new(),
            waits: vec![(p, base, base + 1, leader_epoch)],
            deadline_ms,
            not_before_us: now_us,
        });
    }
}
