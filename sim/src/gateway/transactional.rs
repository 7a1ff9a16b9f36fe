//! The gateway as a transactional producer (`[gateway] transactional`):
//! `transactional.id` `gateway-N`, `InitProducerId` at start, each partition
//! added to the open transaction before its first batch is sent, and a
//! commit every `transaction_interval_ms` once the transaction's batches are
//! all written. A client hears back only after the commit. A transaction
//! that aborts (a batch the log would not take, the coordinator's timeout,
//! a fenced epoch) is not failed back to the clients: its records go back
//! to the front of their queues and are sent again in the next
//! transaction, under a new epoch, so nothing is lost and, with fencing on,
//! nothing is committed twice.

use super::{Gateway, Owner};
use crate::ids::PartitionId;
use crate::log::transaction_coordinator::host_partition;
use crate::msg::{EventResult, Msg, ProduceError, Record};
use crate::txn_wire::{TxnError, TxnMsg};
use std::collections::BTreeSet;
use std::sync::Arc;

/// Where the producer's transaction stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Waiting for a producer id and epoch.
    Init,
    /// A transaction is open (or will open with the next partition added).
    Open,
    /// Commit or abort asked for; waiting for the coordinator's answer.
    Ending {
        /// Commit (true) or abort.
        commit: bool,
    },
}

/// Why the open transaction will not commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stop {
    /// A batch failed: abort, then start again under a new epoch.
    Abort,
    /// The coordinator or a partition refused this epoch, or the coordinator already
    /// aborted: no abort to ask for, start again under a new epoch.
    Restart,
}

/// A gateway's transactional producer state (lost when the gateway crashes).
pub(super) struct TxnProducer {
    tid: u64,
    phase: Phase,
    stop: Option<Stop>,
    /// The coordinator request in flight: (request id, sent at ms).
    pending: Option<(u64, u64)>,
    next_req: u64,
    retry_at_ms: u64,
    /// Partitions in the open transaction.
    added: BTreeSet<PartitionId>,
    /// Partitions in the AddPartitions request in flight.
    adding: Vec<PartitionId>,
    /// Partitions with a batch waiting to be added.
    wanted: BTreeSet<PartitionId>,
    /// When the open transaction's first partition was added, ms.
    begun_ms: Option<u64>,
    /// Batches the log took in the open transaction, answered at its commit.
    written: Vec<(PartitionId, Arc<[Record]>, Vec<Owner>)>,
    /// This producer's number for the open (or next) transaction, sent with its
    /// requests so the coordinator can tell a late copy from a request for it.
    number: u64,
    /// The producer id and epoch the coordinator last gave this producer.
    held: Option<(u64, u16)>,
    /// This producer instance's number (the gateway's incarnation), sent with its
    /// `InitProducerId` so a copy of its very first one is not taken for a new request.
    instance: u64,
}

/// A coordinator that does not answer is asked again after this long, ms.
const COORDINATOR_TIMEOUT_MS: u64 = 1_000;
/// Backoff after a refusal that asks to retry, ms.
const RETRY_MS: u64 = 20;

impl TxnProducer {
    /// The producer of gateway `idx` (its process's `instance`), if the scenario's
    /// gateways are transactional.
    pub(super) fn for_gateway(transactional: bool, idx: usize, instance: u64) -> Option<Self> {
        transactional.then(|| TxnProducer {
            tid: idx as u64,
            phase: Phase::Init,
            stop: None,
            pending: None,
            next_req: 0,
            retry_at_ms: 0,
            added: BTreeSet::new(),
            adding: Vec::new(),
            wanted: BTreeSet::new(),
            begun_ms: None,
            written: Vec::new(),
            number: 1,
            held: None,
            instance,
        })
    }

    /// Whether a batch of records queued since `oldest_ms` may be closed: the
    /// transaction is open and going to commit, and it holds what the gateway took
    /// while it was open (its interval had not run out when they arrived). A gateway
    /// back from a stall therefore still sends what it had queued before it.
    pub(super) fn may_close(&self, oldest_ms: u64, interval_ms: u64) -> bool {
        self.phase == Phase::Open && self.stop.is_none() && self.begun_ms.is_none_or(|b| oldest_ms < b + interval_ms)
    }

    /// Whether a closed batch of `p` may be sent now; if only its partition is
    /// missing from the transaction, it is noted for the next AddPartitions.
    pub(super) fn may_send(&mut self, p: PartitionId) -> bool {
        if self.phase != Phase::Open || self.stop.is_some() {
            return false;
        }
        if self.added.contains(&p) {
            return true;
        }
        if !self.adding.contains(&p) {
            self.wanted.insert(p);
        }
        false
    }

    /// When the producer next has something to do on its own, ms.
    pub(super) fn next_wake_ms(&self, interval_ms: u64) -> u64 {
        let mut t = u64::MAX;
        if let Some((_, sent)) = self.pending {
            t = t.min(sent + COORDINATOR_TIMEOUT_MS);
        } else {
            t = t.min(self.retry_at_ms);
        }
        if let Some(b) = self.begun_ms {
            t = t.min(b + interval_ms);
        }
        t
    }
}

impl Gateway {
    /// The transactional producer's step after a pump: ask the coordinator for what comes next.
    pub(super) fn txn_step(&mut self, now_us: u64) {
        let now_ms = now_us / 1000;
        let interval = self.sh.scenario.gateway.transaction_interval_ms;
        let timeout_ms = self.sh.scenario.gateway.transaction_timeout_ms;
        let in_flight = !self.inflight.is_empty();
        let Some(t) = self.txn.as_mut() else { return };
        if let Some((_, sent)) = t.pending {
            if now_ms < sent + COORDINATOR_TIMEOUT_MS {
                return;
            }
            // Unanswered (the coordinator's broker may be down): look it up again and resend.
            t.pending = None;
            t.adding.clear();
            self.metadata_stale = true;
        }
        if now_ms < t.retry_at_ms {
            return;
        }
        let tid = t.tid;
        let epoch = self.epoch;
        let msg = match t.phase {
            Phase::Init => TxnMsg::InitProducerId {
                req: 0,
                tid,
                timeout_ms,
                current: t.held,
                instance: t.instance,
            },
            Phase::Ending { commit } => TxnMsg::EndTxn {
                req: 0,
                tid,
                epoch,
                txn: t.number,
                commit,
            },
            Phase::Open => {
                if in_flight {
                    return;
                }
                match t.stop {
                    Some(Stop::Restart) => {
                        self.txn_restart(now_ms);
                        return;
                    }
                    Some(Stop::Abort) if t.begun_ms.is_some() => {
                        t.phase = Phase::Ending { commit: false };
                        TxnMsg::EndTxn {
                            req: 0,
                            tid,
                            epoch,
                            txn: t.number,
                            commit: false,
                        }
                    }
                    Some(Stop::Abort) => {
                        self.txn_restart(now_ms);
                        return;
                    }
                    // A batch of the transaction still unwritten (retrying) holds the commit back.
                    None if t.begun_ms.is_some_and(|b| now_ms >= b + interval)
                        && t.added
                            .iter()
                            .all(|&p| self.parts.get(p).is_none_or(|q| q.batch.is_none())) =>
                    {
                        t.phase = Phase::Ending { commit: true };
                        TxnMsg::EndTxn {
                            req: 0,
                            tid,
                            epoch,
                            txn: t.number,
                            commit: true,
                        }
                    }
                    None if !t.wanted.is_empty() => {
                        t.adding = std::mem::take(&mut t.wanted).into_iter().collect();
                        TxnMsg::AddPartitions {
                            req: 0,
                            tid,
                            epoch,
                            txn: t.number,
                            partitions: t.adding.clone(),
                        }
                    }
                    None => return,
                }
            }
        };
        self.txn_send(msg, now_us);
    }

    /// Send a request to the coordinator of this gateway's id, if its host is known.
    fn txn_send(&mut self, mut msg: TxnMsg, now_us: u64) {
        let Some(t) = self.txn.as_mut() else { return };
        let host = host_partition(t.tid, self.sh.assignment.len());
        let Some(broker) = self.leaders[host] else {
            self.metadata_stale = true;
            t.retry_at_ms = now_us / 1000 + RETRY_MS;
            t.adding.clear();
            return;
        };
        t.next_req += 1;
        let req = t.next_req;
        msg.renumber(req);
        t.pending = Some((req, now_us / 1000));
        let dst = self.sh.layout.broker(broker);
        self.send(dst, Msg::Txn(msg), now_us);
    }

    /// The coordinator answered.
    pub(super) fn on_txn_reply(&mut self, m: TxnMsg, now_us: u64) {
        let now_ms = now_us / 1000;
        let Some(t) = self.txn.as_mut() else { return };
        let (req, result) = match m {
            TxnMsg::InitProducerIdReply { req, result } => (req, result.map(Some)),
            TxnMsg::Reply { req, result } => (req, result.map(|()| None)),
            _ => return,
        };
        if t.pending.map(|(r, _)| r) != Some(req) {
            return;
        }
        t.pending = None;
        match (t.phase, result) {
            (_, Err(e)) if e.is_retriable() => {
                self.metadata_stale = true;
                t.retry_at_ms = now_ms + RETRY_MS;
                if t.phase == Phase::Open {
                    t.wanted.extend(t.adding.drain(..));
                }
            }
            (Phase::Init, Ok(Some((pid, epoch)))) => {
                self.pid = pid;
                self.epoch = epoch;
                t.held = Some((pid, epoch));
                for q in &mut self.parts {
                    q.next_seq = 0;
                }
                t.phase = Phase::Open;
            }
            (Phase::Open, Ok(_)) => {
                if t.begun_ms.is_none() {
                    t.begun_ms = Some(now_ms);
                }
                t.added.extend(t.adding.drain(..));
            }
            (Phase::Ending { commit: true }, Ok(_)) => self.txn_committed(now_ms),
            (Phase::Ending { commit: false }, Ok(_)) => {
                self.sh.txn.lock().expect("txn lock").abort_asked(t.tid);
                self.txn_restart(now_ms);
            }
            (_, Err(e)) => {
                // A zombie, or a transaction the coordinator already aborted: none of its
                // records counts, so they are all sent again under a new epoch.
                t.adding.clear();
                t.phase = Phase::Open;
                if t.stop != Some(Stop::Restart) {
                    t.stop = Some(Stop::Restart);
                    let why = if e == TxnError::Fenced {
                        "its coordinator refused its epoch"
                    } else {
                        "its coordinator had aborted the transaction on its timeout"
                    };
                    self.txn_noted_restart(e == TxnError::Fenced, why);
                }
            }
            (_, Ok(_)) => {}
        }
    }

    /// A batch of the open transaction was written: it is answered at the commit.
    pub(super) fn txn_written(&mut self, p: PartitionId, records: Arc<[Record]>, owners: Vec<Owner>) {
        if let Some(t) = self.txn.as_mut() {
            t.written.push((p, records, owners));
        }
    }

    /// A batch of the open transaction failed: the transaction will not commit.
    pub(super) fn txn_failed(&mut self, e: ProduceError) {
        let Some(t) = self.txn.as_mut() else { return };
        if t.stop == Some(Stop::Restart) {
            return;
        }
        if e == ProduceError::ProducerFenced {
            t.stop = Some(Stop::Restart);
            self.txn_noted_restart(true, "a partition refused its epoch");
        } else {
            t.stop = Some(Stop::Abort);
        }
    }

    /// Count and put on the timeline a producer that learned its transaction is lost.
    fn txn_noted_restart(&self, fenced: bool, why: &str) {
        let Some(t) = self.txn.as_ref() else { return };
        self.sh.note_producer_restart(
            fenced,
            &format!(
                "gateway-{} at epoch {}: {why}; it starts again under a new epoch and sends the transaction's records again",
                t.tid, self.epoch
            ),
            &[t.tid, self.epoch as u64, u64::from(fenced)],
        );
    }

    /// The commit is decided: answer every client batch the transaction held.
    fn txn_committed(&mut self, now_ms: u64) {
        let Some(t) = self.txn.as_mut() else { return };
        let written = std::mem::take(&mut t.written);
        t.added.clear();
        t.begun_ms = None;
        t.number += 1;
        t.phase = Phase::Open;
        for (p, records, owners) in written {
            let ok = if p >= self.sh.event_partitions {
                EventResult::DeadLettered
            } else {
                EventResult::Acked
            };
            self.resolve(&owners, ok);
            self.settle_ids(&records, ok, now_ms);
        }
    }

    /// The transaction aborted (or was fenced): put its records back at the front of
    /// their queues, with every closed batch not yet written, and start again under a
    /// new epoch (sequences restart at zero, so unsent batches are cut again).
    fn txn_restart(&mut self, now_ms: u64) {
        let Some(t) = self.txn.as_mut() else { return };
        let written = std::mem::take(&mut t.written);
        t.added.clear();
        t.adding.clear();
        t.wanted.clear();
        t.begun_ms = None;
        t.stop = None;
        t.number += 1;
        t.phase = Phase::Init;
        let mut back: Vec<Vec<(Record, Owner)>> = vec![Vec::new(); self.parts.len()];
        for (p, records, owners) in written {
            back[p].extend(records.iter().copied().zip(owners));
        }
        for (p, q) in self.parts.iter_mut().enumerate() {
            if let Some(b) = q.batch.take() {
                back[p].extend(b.records.iter().copied().zip(b.owners));
            }
            let again = std::mem::take(&mut back[p]);
            if again.is_empty() {
                continue;
            }
            q.queued_bytes += again.iter().map(|(r, _)| r.wire_bytes()).sum::<u64>();
            for item in again.into_iter().rev() {
                q.queue.push_front(item);
            }
            q.oldest_ms = now_ms;
        }
    }
}
