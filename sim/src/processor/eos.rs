//! `delivery = "exactly_once_txn"`: the processor instance as a Kafka
//! transactional producer, as Kafka Streams runs under `exactly_once_v2`
//! (KIP-447). Its `transactional.id` is derived from the instance; every
//! commit interval it takes what its tasks produced and consumed and runs
//! one transaction:
//!
//! 1. `AddPartitionsToTxn` with the output partitions it will write;
//! 2. the rows, as records, to those partitions (idempotent, `acks=all`);
//! 3. the consumed offsets with the operator state (`TxnOffsetCommit`),
//!    refused for an older group generation or epoch;
//! 4. `EndTxn(commit)`.
//!
//! Anything refused or lost (a fenced epoch or generation, the
//! coordinator's timeout, a batch the log would not take) abandons the
//! transaction: the instance asks for a new epoch (which aborts the open
//! transaction at the coordinator) and every task starts again from the
//! group's committed offsets, as Kafka Streams closes its tasks dirty on a
//! `ProducerFencedException` or `TaskMigratedException`. A task reads its
//! committed offset from the coordinator's store, waiting while an open
//! transaction holds offsets of its partition.
//!
//! With `offsets_in_transaction = false` (the negative control's switch) the
//! offsets are committed outside the transaction by the consumer's
//! auto-commit every [`AUTO_COMMIT_MS`], as a naive consume-produce loop
//! does: a restart replays what the transactions already wrote.

use super::task::{InFlight, Phase, Task};
use super::Processor;
use crate::ids::PartitionId;
use crate::log::transaction_coordinator::host_partition;
use crate::log::txn_offsets::PROCESSOR_TIDS;
use crate::msg::{Msg, ProduceBatch, ProduceError, ProducerStamp, Record};
use crate::txn_wire::{TxnError, TxnMsg};
use crate::wire::Checkpoint;
use crate::world::TimelineKind;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A coordinator that does not answer is asked again after this long, ms.
const COORDINATOR_TIMEOUT_MS: u64 = 1_000;
/// Backoff after a refusal that asks to retry, or with no leader known, ms.
const RETRY_MS: u64 = 20;
/// A produce request unanswered this long is sent again (same sequence), ms.
const PRODUCE_TIMEOUT_MS: u64 = 3_000;
/// The consumer's `auto.commit.interval.ms` (Kafka's default) under the naive loop.
pub const AUTO_COMMIT_MS: u64 = 5_000;
/// A task whose committed offset is held by an open transaction asks again after this long, ms.
const UNSTABLE_WAIT_MS: u64 = 50;

/// Where the open transaction stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// Adding the output partitions.
    Add,
    /// Writing the rows.
    Produce,
    /// Sending the offsets.
    Offsets,
    /// Committing.
    End,
}

/// One output partition's batch in the open transaction.
struct OutBatch {
    partition: PartitionId,
    records: Arc<[Record]>,
    base_seq: u64,
    /// The produce request under way: (request id, sent ms).
    sent: Option<(u64, u64)>,
    retry_at_ms: u64,
    written: bool,
}

/// The transaction under way.
struct Attempt {
    step: Step,
    began_ms: u64,
    generation: u64,
    offsets: Vec<(PartitionId, Arc<Checkpoint>)>,
    batches: Vec<OutBatch>,
}

/// An instance's transactional producer (lost when the instance crashes).
pub(super) struct EosProducer {
    tid: u64,
    pid: u64,
    epoch: u16,
    /// The producer id and epoch last given (KIP-360's `current` in InitProducerId).
    held: Option<(u64, u16)>,
    ready: bool,
    seqs: BTreeMap<PartitionId, u64>,
    /// This producer's number for the open (or next) transaction.
    number: u64,
    /// The coordinator request under way: (request id, sent ms, the request).
    coord: Option<(u64, u64, TxnMsg)>,
    next_req: u64,
    retry_at_ms: u64,
    attempt: Option<Attempt>,
    next_commit_ms: u64,
    /// Naive loop: offsets of committed transactions not yet auto-committed.
    unsent_offsets: BTreeMap<PartitionId, Arc<Checkpoint>>,
    next_auto_commit_ms: u64,
}

impl EosProducer {
    /// The producer of instance `idx`, if the scenario runs `exactly_once_txn`.
    pub(super) fn for_instance(on: bool, idx: usize, incarnation: u64, now_ms: u64) -> Option<Self> {
        on.then(|| EosProducer {
            tid: PROCESSOR_TIDS + idx as u64,
            pid: 0,
            epoch: 0,
            held: None,
            ready: false,
            seqs: BTreeMap::new(),
            number: 0,
            coord: None,
            next_req: (incarnation << 40) | (1 << 39),
            retry_at_ms: 0,
            attempt: None,
            next_commit_ms: now_ms,
            unsent_offsets: BTreeMap::new(),
            next_auto_commit_ms: now_ms + AUTO_COMMIT_MS,
        })
    }

    fn req(&mut self) -> u64 {
        self.next_req += 1;
        self.next_req
    }
}

impl Processor {
    /// Tasks waiting for their committed offset read it from the group's store,
    /// unless an open transaction holds offsets of their partition.
    pub(super) fn eos_loads(&mut self, now_ms: u64) {
        let mut resumed = Vec::new();
        {
            let mut txn = self.sh.txn.lock().expect("txn lock");
            let t = &mut *txn;
            for task in self.tasks.values_mut() {
                if task.phase != Phase::Loading || now_ms < task.backoff_until_ms {
                    continue;
                }
                match t.offsets.fetch(task.partition, t.store.live_cache()) {
                    Ok(c) => {
                        task.resume(
                            c.as_deref(),
                            (self.sh.plugins.operator)(),
                            now_ms,
                            self.cfg.commit_interval_ms,
                        );
                        resumed.push((task.partition, task.position));
                    }
                    Err(_) => task.backoff_until_ms = now_ms + UNSTABLE_WAIT_MS,
                }
            }
        }
        for (p, at) in resumed {
            self.sh.timeline(
                TimelineKind::TaskResumed,
                &format!(
                    "processor-{} resumed partition {p} at offset {at} (generation {})",
                    self.idx, self.generation
                ),
                &[p as u64, at, self.generation],
            );
        }
    }

    /// The producer's step: ask for an epoch, begin a transaction when one is due
    /// (`force`: now, before a revocation), and move the open one on.
    pub(super) fn eos_commits(&mut self, now_ms: u64, depart: u64, force: bool) {
        let Some(e) = self.eos.as_mut() else { return };
        if e.attempt
            .as_ref()
            .is_some_and(|a| now_ms >= a.began_ms + self.cfg.transaction_timeout_ms)
        {
            self.eos_fail("its transaction outlived its timeout", false, now_ms);
            return;
        }
        self.eos_auto_commit(now_ms, depart);
        let Some(e) = self.eos.as_mut() else { return };
        if let Some((_, sent, msg)) = e.coord.as_ref() {
            if now_ms >= sent + COORDINATOR_TIMEOUT_MS {
                let msg = msg.clone();
                self.eos_send_coord(msg, now_ms, depart);
            }
            return;
        }
        if now_ms < e.retry_at_ms {
            return;
        }
        if !e.ready {
            let msg = TxnMsg::InitProducerId {
                req: 0,
                tid: e.tid,
                timeout_ms: self.cfg.transaction_timeout_ms,
                current: e.held,
                instance: self.incarnation,
            };
            self.eos_send_coord(msg, now_ms, depart);
            return;
        }
        if e.attempt.is_none() {
            self.eos_begin(now_ms, depart, force);
            return;
        }
        self.eos_produce(now_ms, depart);
    }

    /// Take what the tasks produced and consumed into a new transaction, if one is due.
    fn eos_begin(&mut self, now_ms: u64, depart: u64, force: bool) {
        let Some(e) = self.eos.as_mut() else { return };
        let finishing = self
            .tasks
            .values()
            .any(|t| t.phase == Phase::Running && t.finished && !t.committed_finished && t.in_flight.is_none());
        if !(force || finishing || now_ms >= e.next_commit_ms) {
            return;
        }
        e.next_commit_ms = now_ms + self.cfg.commit_interval_ms;
        let mut offsets = Vec::new();
        let mut rows_by_part = Vec::new();
        for t in self.tasks.values_mut() {
            let progressed = t.position > t.committed || (t.finished && !t.committed_finished);
            if t.phase != Phase::Running || t.in_flight.is_some() || (!progressed && t.pending.is_empty()) {
                continue;
            }
            let c = t.checkpoint();
            let rows = std::mem::take(&mut t.pending);
            t.in_flight = Some(InFlight {
                req: 0,
                rows: Arc::new(Vec::new()),
                checkpoint: Some(c.clone()),
                fenced: true,
                sent_ms: now_ms,
            });
            offsets.push((t.partition, c));
            if !rows.is_empty() {
                rows_by_part.push((t.partition, rows));
            }
        }
        if offsets.is_empty() {
            return;
        }
        let mut batches = Vec::new();
        {
            let mut out = self.sh.output_rows.lock().expect("output rows lock");
            for (p, rows) in rows_by_part {
                let q = self.sh.output.of_input(p);
                let records: Arc<[Record]> = rows.into_iter().map(|r| out.record(r, q)).collect();
                let seq = e.seqs.entry(q).or_insert(0);
                batches.push(OutBatch {
                    partition: q,
                    base_seq: *seq,
                    records: records.clone(),
                    sent: None,
                    retry_at_ms: 0,
                    written: false,
                });
                *seq += records.len() as u64;
            }
        }
        e.number += 1;
        let msg = TxnMsg::AddPartitions {
            req: 0,
            tid: e.tid,
            epoch: e.epoch,
            txn: e.number,
            partitions: batches.iter().map(|b| b.partition).collect(),
        };
        // A fault aimed at this processor "at checkpoint" waits for a transaction under way.
        self.sh
            .checkpoint_senders
            .lock()
            .expect("checkpoint senders lock")
            .insert(self.addr);
        e.attempt = Some(Attempt {
            step: Step::Add,
            began_ms: now_ms,
            generation: self.generation,
            offsets,
            batches,
        });
        self.eos_send_coord(msg, now_ms, depart);
    }

    /// Send the open transaction's batches not sent (or due again), once its partitions are added.
    fn eos_produce(&mut self, now_ms: u64, depart: u64) {
        let leaders: Vec<Option<usize>> = {
            let md = self.sh.metadata.lock().expect("metadata lock");
            md.iter().map(|s| s.leader).collect()
        };
        let Some(e) = self.eos.as_mut() else { return };
        let (pid, epoch) = (e.pid, e.epoch);
        let mut sends = Vec::new();
        let mut next_req = e.next_req;
        let Some(a) = e.attempt.as_mut() else { return };
        if a.step != Step::Produce {
            return;
        }
        for b in a.batches.iter_mut().filter(|b| !b.written) {
            if b.sent.is_some_and(|(_, at)| now_ms < at + PRODUCE_TIMEOUT_MS) || now_ms < b.retry_at_ms {
                continue;
            }
            let Some(Some(leader)) = leaders.get(b.partition) else {
                b.retry_at_ms = now_ms + RETRY_MS;
                continue;
            };
            next_req += 1;
            b.sent = Some((next_req, now_ms));
            sends.push((
                *leader,
                Msg::Produce {
                    req: next_req,
                    acks: crate::config::Acks::All,
                    batches: vec![ProduceBatch {
                        partition: b.partition,
                        producer: Some(ProducerStamp {
                            pid,
                            epoch,
                            base_seq: b.base_seq,
                            transactional: true,
                        }),
                        records: b.records.clone(),
                    }],
                },
            ));
        }
        e.next_req = next_req;
        for (leader, m) in sends {
            self.sh.fabric.send(self.addr, self.sh.layout.broker(leader), m, depart);
        }
        self.eos_after_writes(now_ms, depart);
    }

    /// Once every batch is written: the offsets, then the commit.
    fn eos_after_writes(&mut self, now_ms: u64, depart: u64) {
        let in_txn = self.cfg.offsets_in_transaction;
        let Some(e) = self.eos.as_mut() else { return };
        let Some(a) = e.attempt.as_mut() else { return };
        if a.step != Step::Produce || a.batches.iter().any(|b| !b.written) {
            return;
        }
        let msg = if in_txn {
            a.step = Step::Offsets;
            TxnMsg::TxnOffsetCommit {
                req: 0,
                tid: e.tid,
                epoch: e.epoch,
                txn: e.number,
                generation: a.generation,
                offsets: a.offsets.clone(),
            }
        } else {
            a.step = Step::End;
            end_txn(e)
        };
        self.eos_send_coord(msg, now_ms, depart);
    }

    /// The broker leading the transaction-state partition that hosts the processors'
    /// coordinator, if the metadata knows one.
    fn coordinator_broker(&self) -> Option<usize> {
        let host = host_partition(PROCESSOR_TIDS, self.sh.assignment.len());
        self.sh
            .metadata
            .lock()
            .expect("metadata lock")
            .get(host)
            .and_then(|s| s.leader)
    }

    /// Send `msg` to the coordinator of this instance's id, numbered afresh.
    fn eos_send_coord(&mut self, mut msg: TxnMsg, now_ms: u64, depart: u64) {
        let leader = self.coordinator_broker();
        let Some(e) = self.eos.as_mut() else { return };
        let Some(broker) = leader else {
            // No coordinator known now: try again shortly.
            e.coord = Some((0, now_ms.saturating_sub(COORDINATOR_TIMEOUT_MS) + RETRY_MS, msg));
            return;
        };
        let req = e.req();
        msg.renumber(req);
        e.coord = Some((req, now_ms, msg.clone()));
        self.sh
            .fabric
            .send(self.addr, self.sh.layout.broker(broker), Msg::Txn(msg), depart);
    }

    /// The naive loop's auto-commit: the offsets of committed transactions, every
    /// [`AUTO_COMMIT_MS`], outside any transaction and unanswered.
    fn eos_auto_commit(&mut self, now_ms: u64, depart: u64) {
        let Some(e) = self.eos.as_mut() else { return };
        if now_ms < e.next_auto_commit_ms || e.unsent_offsets.is_empty() {
            return;
        }
        e.next_auto_commit_ms = now_ms + AUTO_COMMIT_MS;
        let offsets: Vec<_> = std::mem::take(&mut e.unsent_offsets).into_iter().collect();
        let req = e.req();
        let leader = self.coordinator_broker();
        if let Some(b) = leader {
            let m = Msg::Txn(TxnMsg::OffsetCommit { req, offsets });
            self.sh.fabric.send(self.addr, self.sh.layout.broker(b), m, depart);
        }
    }

    /// The coordinator answered.
    pub(super) fn eos_on_txn(&mut self, m: TxnMsg, now_us: u64) {
        let now_ms = now_us / 1000;
        let Some(e) = self.eos.as_mut() else { return };
        let (req, result) = match m {
            TxnMsg::InitProducerIdReply { req, result } => (req, result.map(Some)),
            TxnMsg::Reply { req, result } => (req, result.map(|()| None)),
            _ => return,
        };
        if e.coord.as_ref().map(|c| c.0) != Some(req) {
            return; // a late answer to a request sent again since
        }
        let Some((_, _, msg)) = e.coord.take() else { return };
        match result {
            Err(err) if err.is_retriable() => {
                // Ask again shortly, the same request.
                e.coord = Some((0, now_ms.saturating_sub(COORDINATOR_TIMEOUT_MS) + RETRY_MS, msg));
            }
            Err(err) => {
                if e.ready {
                    let why = if err == TxnError::Fenced {
                        "its coordinator refused its epoch or generation"
                    } else {
                        "its coordinator had aborted the transaction"
                    };
                    self.eos_fail(why, err == TxnError::Fenced, now_ms);
                } else {
                    e.retry_at_ms = now_ms + RETRY_MS;
                }
            }
            Ok(Some((pid, epoch))) => {
                e.pid = pid;
                e.epoch = epoch;
                e.held = Some((pid, epoch));
                e.ready = true;
                e.seqs.clear();
            }
            Ok(None) => {
                let Some(a) = e.attempt.as_mut() else { return };
                match a.step {
                    Step::Add => a.step = Step::Produce,
                    Step::Offsets => {
                        a.step = Step::End;
                        let m = end_txn(e);
                        self.eos_send_coord(m, now_ms, now_us);
                    }
                    Step::End => self.eos_committed(now_ms),
                    Step::Produce => {}
                }
            }
        }
    }

    /// A partition leader answered a produce request of the open transaction.
    pub(super) fn eos_on_produce_reply(
        &mut self,
        req: u64,
        results: Vec<(PartitionId, Result<u64, ProduceError>)>,
        now_us: u64,
    ) {
        let now_ms = now_us / 1000;
        let Some(e) = self.eos.as_mut() else { return };
        let Some(a) = e.attempt.as_mut() else { return };
        let Some(b) = a.batches.iter_mut().find(|b| b.sent.is_some_and(|(r, _)| r == req)) else {
            return;
        };
        b.sent = None;
        match results.first().map(|(_, r)| *r) {
            Some(Ok(_)) => b.written = true,
            Some(Err(ProduceError::ProducerFenced | ProduceError::OutOfOrderSequence)) => {
                self.eos_fail("a partition refused its epoch or sequence", true, now_ms);
                return;
            }
            _ => b.retry_at_ms = now_ms + RETRY_MS,
        }
        self.eos_after_writes(now_ms, now_us);
    }

    /// The commit is decided: the tasks' checkpoints are the group's committed offsets.
    fn eos_committed(&mut self, now_ms: u64) {
        let in_txn = self.cfg.offsets_in_transaction;
        self.not_in_txn();
        let Some(e) = self.eos.as_mut() else { return };
        let Some(a) = e.attempt.take() else { return };
        e.next_commit_ms = e.next_commit_ms.max(now_ms);
        for (p, c) in a.offsets {
            if let Some(t) = self.tasks.get_mut(&p) {
                if t.in_flight
                    .as_ref()
                    .and_then(|f| f.checkpoint.as_ref())
                    .is_some_and(|x| Arc::ptr_eq(x, &c))
                {
                    t.committed_ok();
                }
            }
            if !in_txn {
                e.unsent_offsets.insert(p, c);
            }
        }
    }

    /// This instance has no transaction under way (also at its start: a crash left it in the set).
    pub(super) fn not_in_txn(&self) {
        self.sh
            .checkpoint_senders
            .lock()
            .expect("checkpoint senders lock")
            .remove(&self.addr);
    }

    /// Abandon the open transaction: a new epoch (which aborts it at the coordinator),
    /// and every task from the group's committed offsets again.
    fn eos_fail(&mut self, why: &str, fenced: bool, now_ms: u64) {
        let Some(e) = self.eos.as_mut() else { return };
        let (tid, epoch) = (e.tid, e.epoch);
        e.attempt = None;
        self.not_in_txn();
        let Some(e) = self.eos.as_mut() else { return };
        e.ready = false;
        e.coord = None;
        e.retry_at_ms = now_ms;
        e.unsent_offsets.clear();
        self.sh.note_producer_restart(
            fenced,
            &format!(
                "processor-{} at epoch {epoch}: {why}; it aborts, takes a new epoch and resumes its tasks from the committed offsets",
                self.idx
            ),
            &[tid, epoch as u64],
        );
        let parts: Vec<PartitionId> = self.tasks.keys().collect();
        for p in parts {
            self.tasks.insert(p, Task::new(p, (self.sh.plugins.operator)()));
        }
        self.fetches.clear();
    }
}

/// The commit request of the open transaction.
fn end_txn(e: &EosProducer) -> TxnMsg {
    TxnMsg::EndTxn {
        req: 0,
        tid: e.tid,
        epoch: e.epoch,
        txn: e.number,
        commit: true,
    }
}

impl EosProducer {
    /// The producer's timers, for the instance's next wake: the open transaction's
    /// timeout and its batches' retries, the coordinator's timeout, the retry
    /// backoff, the next commit and the naive loop's auto-commit.
    pub(super) fn timers(&self, cfg: &crate::config::ProcessorConfig, w: &mut super::wakeups::NextWake) {
        w.at(self.retry_at_ms);
        w.at(self.next_commit_ms);
        if !self.unsent_offsets.is_empty() {
            w.at(self.next_auto_commit_ms);
        }
        if let Some((_, sent, _)) = &self.coord {
            w.at(sent + COORDINATOR_TIMEOUT_MS);
        }
        if let Some(a) = &self.attempt {
            w.at(a.began_ms + cfg.transaction_timeout_ms);
            for b in a.batches.iter().filter(|b| !b.written) {
                w.at(b.retry_at_ms);
                if let Some((_, at)) = b.sent {
                    w.at(at + PRODUCE_TIMEOUT_MS);
                }
            }
        }
    }
}
