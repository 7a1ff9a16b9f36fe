//! A gateway instance: validates client events (malformed ones go to the
//! dead-letter topic with a reason), bounds its queue (backpressure with a
//! retry-after), partitions by key, and produces to the log as a Kafka
//! producer would (linger, batching, one batch in flight per partition,
//! idempotence, retries with the same sequence). A client hears back only
//! once the log acknowledged under the configured `acks`. With `[gateway]
//! dedup` on, a request's ids are first looked up in the de-duplication
//! cache (`dedup.rs`): a retry of an id the log already took is answered
//! from it, one whose first copy is still in flight waits for that copy.

pub mod client_order;
pub mod dedup;
pub mod rate_limit;
mod transactional;

use crate::clock;
use crate::config::{Acks, DedupScope};
use crate::ids::{Addr, BrokerId, PartitionId};
use crate::msg::{EventId, EventResult, Msg, PartReply, ProduceBatch, ProduceError, ProducerStamp, Record};
use crate::net::ByDestination;
use crate::world::Shared;
use client_order::{BatchSeq, ClientOrder};
use dedup::{DedupCache, Lookup};
use rustc_hash::FxHashMap;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

/// Deterministic key hash for partitioning (the murmur3 finaliser; Kafka
/// uses murmur2 over the key bytes, any well-mixed hash shows the same skew).
pub fn partition_of(key: u64, partitions: usize) -> PartitionId {
    let mut h = key;
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    (h % partitions as u64) as usize
}

/// Which client batch an event came in: the client, its request, the batch's index
/// in it, and the event's index in the batch.
#[derive(Clone, Copy)]
struct Owner {
    client: Addr,
    req: u64,
    part: u32,
    idx: u32,
}

impl Owner {
    fn batch(&self) -> (Addr, u64, u32) {
        (self.client, self.req, self.part)
    }
}

struct OpenBatch {
    records: Arc<[Record]>,
    owners: Vec<Owner>,
    stamp: Option<ProducerStamp>,
    first_sent_ms: u64,
    in_flight_req: Option<u64>,
    retry_at_ms: u64,
}

#[derive(Default)]
struct PartQueue {
    queue: VecDeque<(Record, Owner)>,
    queued_bytes: u64,
    oldest_ms: u64,
    batch: Option<OpenBatch>,
    next_seq: u64,
}

struct ClientReq {
    runs: Vec<(u32, u32, EventResult)>,
    outstanding: usize,
}

/// A request waiting for the shared cache: (ready at ms, client, request, batches, their numbers).
type AwaitingLookup = (u64, Addr, u64, Vec<Vec<Record>>, Vec<BatchSeq>);

struct Gateway {
    sh: Arc<Shared>,
    idx: usize,
    addr: Addr,
    pid: u64,
    epoch: u16,
    leaders: Vec<Option<BrokerId>>,
    metadata_ms: u64,
    metadata_stale: bool,
    queued: usize,
    /// Client batches not settled yet, by (client, request, batch index). Only
    /// looked up, never walked, so hashed: each is inserted, found as its
    /// events settle and removed once.
    requests: FxHashMap<(Addr, u64, u32), ClientReq>,
    /// Settled client batches not yet sent back, by client: one reply per client a round.
    outbox: ByDestination<Addr, PartReply>,
    parts: Vec<PartQueue>,
    inflight: BTreeMap<u64, (Vec<PartitionId>, u64)>,
    next_req: u64,
    /// The de-duplication cache of this instance (`per_instance` scope); the shared one is in `Shared`.
    local_dedup: Option<DedupCache>,
    /// Requests waiting for the shared cache's round trip: (ready at ms, client, request, batches).
    lookups: VecDeque<AwaitingLookup>,
    /// Copies of ids whose first copy this gateway is producing: answered with its outcome.
    waiters: BTreeMap<EventId, Vec<Owner>>,
    /// The transactional producer, when `[gateway] transactional` is on.
    txn: Option<transactional::TxnProducer>,
    /// The next batch number this gateway takes from each client's partition (idempotence on).
    client_order: ClientOrder,
}

/// Entry point of a gateway node (also after a restart).
pub async fn gateway_main(sh: Arc<Shared>, idx: usize) {
    let addr = sh.layout.gateway(idx);
    let incarnation = sh.next_incarnation(addr);
    let total = sh.assignment.len();
    // The machine stays, the process's queued work is gone.
    sh.gateway_cpu[idx]
        .lock()
        .expect("gateway cpu lock")
        .reset_queues(clock::now_us());
    let mut g = Gateway {
        idx,
        addr,
        // A restarted producer gets a new id, as a Kafka producer without a transactional id does.
        pid: ((idx as u64 + 1) << 32) | incarnation,
        epoch: 0,
        leaders: vec![None; total],
        metadata_ms: 0,
        metadata_stale: true,
        queued: 0,
        requests: FxHashMap::default(),
        outbox: ByDestination::new(),
        parts: (0..total).map(|_| PartQueue::default()).collect(),
        inflight: BTreeMap::new(),
        next_req: 0,
        local_dedup: local_dedup(&sh),
        lookups: VecDeque::new(),
        waiters: BTreeMap::new(),
        txn: transactional::TxnProducer::for_gateway(sh.scenario.gateway.transactional, idx, incarnation),
        client_order: ClientOrder::default(),
        sh: sh.clone(),
    };
    let mut inbox = Vec::new();
    loop {
        let until = g.next_wake_ms(clock::now_ms());
        let now_us = sh.fabric.recv(addr, until, &mut inbox).await;
        for env in inbox.drain(..) {
            // Reading and parsing what arrived takes the CPU before anything leaves.
            g.cpu(now_us, env.msg.bytes());
            match env.msg {
                Msg::Submit { req, parts, seqs } => g.on_submit(env.src, req, parts, seqs, now_us),
                Msg::ProduceReply { req, results } => g.on_produce_reply(req, results, now_us),
                Msg::Txn(m) => g.on_txn_reply(m, now_us),
                _ => {}
            }
        }
        g.take_looked_up(now_us);
        g.pump(now_us);
        g.flush_replies(now_us);
        g.report_dedup_stats();
    }
}

/// An in-process cache for a gateway whose scenario asks for one per instance.
fn local_dedup(sh: &Shared) -> Option<DedupCache> {
    let g = &sh.scenario.gateway;
    (g.dedup && g.dedup_scope == DedupScope::PerInstance)
        .then(|| DedupCache::for_gateways(&sh.scenario.gateway, &sh.scenario.producer))
}

impl Gateway {
    /// Charge the CPU for handling a message of `bytes`; returns when it is done,
    /// which is when a message it produces can leave (the NIC queues it then).
    fn cpu(&self, now_us: u64, bytes: u64) -> u64 {
        let cost = self.sh.scenario.gateway.cpu_cost_us(bytes);
        self.sh.gateway_cpu[self.idx]
            .lock()
            .expect("gateway cpu lock")
            .run(now_us, cost)
    }

    /// Send `m` to `dst` once the CPU has built it.
    fn send(&self, dst: Addr, m: Msg, now_us: u64) {
        let depart = self.cpu(now_us, m.bytes());
        self.sh.fabric.send(self.addr, dst, m, depart);
    }

    fn refresh_metadata(&mut self, now_ms: u64) {
        let md = self.sh.metadata.lock().expect("metadata lock");
        for s in md.iter() {
            self.leaders[s.partition] = s.leader;
        }
        self.metadata_ms = now_ms;
        self.metadata_stale = false;
    }

    fn on_submit(&mut self, src: Addr, req: u64, parts: Vec<Vec<Record>>, seqs: Vec<BatchSeq>, now_us: u64) {
        let cfg = &self.sh.scenario.gateway;
        let events: usize = parts.iter().map(Vec::len).sum();
        if self.queued + events > cfg.queue_capacity_events {
            let m = Msg::Backpressure {
                req,
                retry_after_ms: cfg.retry_after_ms,
            };
            self.send(src, m, now_us);
            self.sh
                .metrics
                .lock()
                .expect("metrics lock")
                .producers
                .backpressure_rejections += 1;
            return;
        }
        self.queued += events;
        let lookup_ms = cfg.dedup_lookup_ms();
        if cfg.dedup && lookup_ms > 0 {
            // The shared cache is a round trip away: the request is looked at once it answers.
            self.lookups
                .push_back((now_us / 1000 + lookup_ms, src, req, parts, seqs));
            return;
        }
        self.accept(src, req, parts, &seqs, now_us / 1000);
    }

    /// Take the requests whose shared-cache lookup came back.
    fn take_looked_up(&mut self, now_us: u64) {
        let now_ms = now_us / 1000;
        while self.lookups.front().is_some_and(|l| l.0 <= now_ms) {
            let (_, src, req, parts, seqs) = self.lookups.pop_front().expect("front");
            self.accept(src, req, parts, &seqs, now_ms);
        }
    }

    /// Run `f` on the de-duplication cache, if the scenario has one.
    fn dedup<R>(&mut self, f: impl FnOnce(&mut DedupCache) -> R) -> Option<R> {
        if let Some(c) = self.local_dedup.as_mut() {
            return Some(f(c));
        }
        let shared = self.sh.gateway_dedup.as_ref()?;
        let mut c = shared.lock().expect("gateway dedup lock");
        Some(f(&mut c))
    }

    /// Add this round's cache counters to the run's.
    fn report_dedup_stats(&mut self) {
        if let Some(s) = self.dedup(DedupCache::take_stats) {
            if s != Default::default() {
                self.sh.gateway_dedup_stats.lock().expect("dedup stats lock").add(&s);
            }
        }
    }

    /// Queue a request's events for the log, or answer those the cache knows.
    fn accept(&mut self, src: Addr, req: u64, parts: Vec<Vec<Record>>, seqs: &[BatchSeq], now_ms: u64) {
        let p_events = self.sh.event_partitions;
        let dlq = self.sh.scenario.gateway.dead_letter_partitions;
        let pid = self.pid;
        let mut answered = Vec::new();
        let sh = self.sh.clone();
        let mut limiter = sh.rate_limiter.as_ref().map(|l| l.lock().expect("rate limiter lock"));
        let mut refused = 0;
        let mut out_of_order = 0;
        for (part, events) in parts.into_iter().enumerate() {
            let part = part as u32;
            self.requests.insert(
                (src, req, part),
                ClientReq {
                    runs: Vec::new(),
                    outstanding: events.len(),
                },
            );
            // A batch that would overtake an earlier one of its partition is refused whole,
            // before the rate limit or the cache see any of it.
            let seq = seqs.get(part as usize);
            let in_sequence = seq.is_none_or(|b| self.client_order.admit(src, b));
            out_of_order += u64::from(!in_sequence);
            let mut refused_here = false;
            for (idx, r) in events.into_iter().enumerate() {
                let owner = Owner {
                    client: src,
                    req,
                    part,
                    idx: idx as u32,
                };
                if !in_sequence {
                    answered.push((owner, EventResult::OutOfOrderSequence));
                    continue;
                }
                // The rate limit answers first, before the event costs the gateway anything more.
                if let Some(l) = limiter.as_mut() {
                    if !l.admit(r.id.client, r.key, now_ms * 1000) {
                        refused += 1;
                        refused_here = true;
                        answered.push((owner, EventResult::RateLimited));
                        continue;
                    }
                }
                match self.dedup(|c| c.check(r.id, now_ms, pid)) {
                    None | Some(Lookup::Claimed) => self.enqueue(r, owner, now_ms, p_events, dlq),
                    Some(Lookup::Settled(result)) => answered.push((owner, result)),
                    Some(Lookup::InFlight { owner: o }) if o == pid => {
                        self.waiters.entry(r.id).or_default().push(owner)
                    }
                    // Another gateway is producing it: the client retries after its backoff,
                    // by when the cache most likely holds the outcome.
                    Some(Lookup::InFlight { .. }) => {
                        refused_here = true;
                        answered.push((owner, EventResult::Failed))
                    }
                }
            }
            // Events of a batch taken in sequence were refused at once: its re-send comes
            // first, before any later batch of the partition.
            if let (true, Some(b)) = (refused_here, seq) {
                self.client_order.expect_again(src, b);
            }
        }
        drop(limiter);
        if out_of_order > 0 {
            self.sh
                .metrics
                .lock()
                .expect("metrics lock")
                .producers
                .out_of_order_refusals += out_of_order;
        }
        if refused > 0 {
            let mut m = self.sh.metrics.lock().expect("metrics lock");
            m.producers.rate_limit_refusals += refused;
            m.bucket(now_ms).rate_limited += refused;
        }
        for (owner, result) in answered {
            self.resolve(&[owner], result);
        }
    }

    /// A produced batch settled: record its outcome in the cache (or drop its
    /// claims if it failed) and answer the copies that waited for it.
    fn settle_ids(&mut self, records: &[Record], result: EventResult, now_ms: u64) {
        let pid = self.pid;
        self.dedup(|c| {
            for r in records {
                match result {
                    EventResult::Failed => c.release(r.id, pid),
                    ok => c.settle(r.id, ok, now_ms),
                }
            }
        });
        if self.waiters.is_empty() {
            return;
        }
        for r in records {
            if let Some(ws) = self.waiters.remove(&r.id) {
                for w in ws {
                    self.resolve(&[w], result);
                }
            }
        }
    }

    fn enqueue(&mut self, r: Record, owner: Owner, now_ms: u64, p_events: usize, dlq: usize) {
        let p = if r.malformed {
            // Invalid events are kept, with their reason, on the dead-letter topic.
            p_events + partition_of(r.key, dlq)
        } else {
            let salt = self.sh.scenario.processor.salt.as_ref();
            partition_of(crate::config::routing_key(salt, r.key, r.id.client, r.id.seq), p_events)
        };
        let q = &mut self.parts[p];
        if q.queue.is_empty() {
            q.oldest_ms = now_ms;
        }
        q.queued_bytes += r.wire_bytes();
        q.queue.push_back((r, owner));
    }

    /// Send each client the batches of its requests that settled this round.
    fn flush_replies(&mut self, now_us: u64) {
        for (client, parts) in std::mem::take(&mut self.outbox) {
            self.send(client, Msg::SubmitReply { parts }, now_us);
        }
    }

    /// Settle the events of a gateway batch. A client batch's events sit next to each other
    /// in it, in order, so they are settled as runs: one lookup and one run per client batch.
    fn resolve(&mut self, owners: &[Owner], result: EventResult) {
        let mut rest = owners;
        while let Some(first) = rest.first() {
            let run = rest
                .iter()
                .zip(first.idx..)
                .take_while(|(o, i)| o.batch() == first.batch() && o.idx == *i)
                .count();
            rest = &rest[run..];
            let Some(cr) = self.requests.get_mut(&first.batch()) else {
                continue;
            };
            match cr.runs.last_mut() {
                Some((start, n, res)) if *res == result && *start + *n == first.idx => *n += run as u32,
                _ => cr.runs.push((first.idx, run as u32, result)),
            }
            cr.outstanding -= run;
            self.queued -= run;
            if cr.outstanding == 0 {
                let cr = self.requests.remove(&first.batch()).expect("present");
                self.outbox.group(first.client).push(PartReply {
                    req: first.req,
                    part: first.part,
                    runs: cr.runs,
                });
            }
        }
    }

    /// When `pump` next has something to do without a message arriving: a linger
    /// running out, a retry backoff ending, a request timing out, a metadata refresh.
    /// Waking only then, rather than every millisecond while anything is queued or in
    /// flight, keeps a quiet gateway from ticking for nothing.
    fn next_wake_ms(&self, now_ms: u64) -> u64 {
        let cfg = &self.sh.scenario.producer;
        if self.metadata_stale {
            return now_ms + 1;
        }
        let mut t = (now_ms + 50).min(self.metadata_ms + cfg.metadata_max_age_ms);
        if let Some(l) = self.lookups.front() {
            t = t.min(l.0);
        }
        for q in &self.parts {
            match &q.batch {
                None if !q.queue.is_empty() => t = t.min(q.oldest_ms + cfg.linger_ms),
                Some(b) if b.in_flight_req.is_none() => t = t.min(b.retry_at_ms),
                _ => {}
            }
        }
        for (_, sent_ms) in self.inflight.values() {
            t = t.min(sent_ms + cfg.request_timeout_ms);
        }
        if let Some(txn) = &self.txn {
            t = t.min(txn.next_wake_ms(self.sh.scenario.gateway.transaction_interval_ms));
        }
        t.max(now_ms + 1)
    }

    /// Close batches that are due and send every batch not in flight to its leader.
    fn pump(&mut self, now_us: u64) {
        let now_ms = now_us / 1000;
        let cfg = self.sh.scenario.producer.clone();
        let acks = self.sh.scenario.log.acks;
        if self.metadata_stale || now_ms >= self.metadata_ms + cfg.metadata_max_age_ms {
            self.refresh_metadata(now_ms);
        }
        let mut per_broker: ByDestination<BrokerId, ProduceBatch> = ByDestination::new();
        let interval = self.sh.scenario.gateway.transaction_interval_ms;
        let transactional = self.txn.is_some();
        for p in 0..self.parts.len() {
            let (pid, epoch) = (self.pid, self.epoch);
            let q = &mut self.parts[p];
            let may_close = self.txn.as_ref().is_none_or(|t| t.may_close(q.oldest_ms, interval));
            if q.batch.is_none()
                && may_close
                && !q.queue.is_empty()
                && (now_ms >= q.oldest_ms + cfg.linger_ms || q.queued_bytes >= cfg.batch_max_bytes)
            {
                let (mut n, mut bytes) = (0, 0);
                for (r, _) in &q.queue {
                    let b = r.wire_bytes();
                    if n > 0 && bytes + b > cfg.batch_max_bytes {
                        break;
                    }
                    bytes += b;
                    n += 1;
                }
                // Sized up front, each in one allocation: growing two vectors record
                // by record, then copying one behind an `Arc`, took three.
                let records: Arc<[Record]> = q.queue.range(..n).map(|(r, _)| *r).collect();
                let owners: Vec<Owner> = q.queue.drain(..n).map(|(_, o)| o).collect();
                q.queued_bytes -= bytes;
                q.oldest_ms = now_ms;
                let stamp = cfg.idempotence.then(|| {
                    let s = ProducerStamp {
                        pid,
                        epoch,
                        base_seq: q.next_seq,
                        transactional,
                    };
                    q.next_seq += records.len() as u64;
                    s
                });
                q.batch = Some(OpenBatch {
                    records,
                    owners,
                    stamp,
                    first_sent_ms: now_ms,
                    in_flight_req: None,
                    retry_at_ms: 0,
                });
            }
            let Some(b) = &q.batch else { continue };
            if b.in_flight_req.is_some() || b.retry_at_ms > now_ms {
                continue;
            }
            if let Some(t) = self.txn.as_mut() {
                if !t.may_send(p) {
                    continue;
                }
            }
            let Some(leader) = self.leaders[p] else {
                self.metadata_stale = true;
                continue;
            };
            per_broker.group(leader).push(ProduceBatch {
                partition: p,
                producer: b.stamp,
                records: b.records.clone(),
            });
        }
        for (broker, batches) in per_broker {
            self.next_req += 1;
            let req = self.next_req;
            let parts: Vec<PartitionId> = batches.iter().map(|b| b.partition).collect();
            for &p in &parts {
                self.parts[p].batch.as_mut().expect("open batch").in_flight_req = Some(req);
            }
            let dst = self.sh.layout.broker(broker);
            self.send(dst, Msg::Produce { req, acks, batches }, now_us);
            if acks == Acks::Zero {
                // Fire and forget: the producer counts it written once sent.
                let results = parts.iter().map(|&p| (p, Ok(0))).collect();
                self.settle_batches(req, results, now_us);
            } else {
                self.inflight.insert(req, (parts, now_ms));
            }
        }
        let timeout = cfg.request_timeout_ms;
        let expired: Vec<u64> = self
            .inflight
            .iter()
            .filter(|(_, (_, t))| now_ms >= t + timeout)
            .map(|(r, _)| *r)
            .collect();
        for req in expired {
            let (parts, _) = self.inflight.remove(&req).expect("present");
            let results = parts.into_iter().map(|p| (p, Err(ProduceError::Timeout))).collect();
            self.settle_batches(req, results, now_us);
        }
        self.txn_step(now_us);
    }

    fn on_produce_reply(&mut self, req: u64, results: Vec<(PartitionId, Result<u64, ProduceError>)>, now_us: u64) {
        if self.inflight.remove(&req).is_some() {
            self.settle_batches(req, results, now_us);
        }
    }

    /// Settle the batches of request `req`: answered by the leader, timed
    /// out, or (acks=0) considered written once sent.
    fn settle_batches(&mut self, req: u64, results: Vec<(PartitionId, Result<u64, ProduceError>)>, now_us: u64) {
        let now_ms = now_us / 1000;
        let cfg = self.sh.scenario.producer.clone();
        for (p, res) in results {
            let matches = self.parts[p]
                .batch
                .as_ref()
                .is_some_and(|b| b.in_flight_req == Some(req));
            if !matches {
                continue;
            }
            match res {
                Ok(_) if self.txn.is_some() => {
                    let b = self.parts[p].batch.take().expect("batch");
                    self.txn_written(p, b.records, b.owners);
                }
                Ok(_) => {
                    let b = self.parts[p].batch.take().expect("batch");
                    let ok = if p >= self.sh.event_partitions {
                        EventResult::DeadLettered
                    } else {
                        EventResult::Acked
                    };
                    self.resolve(&b.owners, ok);
                    self.settle_ids(&b.records, ok, now_ms);
                }
                Err(e) => {
                    self.metadata_stale = true;
                    let b = self.parts[p].batch.as_mut().expect("batch");
                    b.in_flight_req = None;
                    b.retry_at_ms = now_ms + cfg.retry_backoff_ms;
                    let give_up =
                        e == ProduceError::OutOfOrderSequence || now_ms >= b.first_sent_ms + cfg.delivery_timeout_ms;
                    if self.txn.is_some()
                        && (give_up || e == ProduceError::ProducerFenced || e == ProduceError::InvalidTxnState)
                    {
                        // The transaction will not commit; its records are sent again in the next one.
                        self.txn_failed(e);
                    } else if give_up {
                        let b = self.parts[p].batch.take().expect("batch");
                        self.resolve(&b.owners, EventResult::Failed);
                        self.settle_ids(&b.records, EventResult::Failed, now_ms);
                        if b.stamp.is_some() {
                            // The failed batch's sequences are burnt: bump the epoch so sequences restart (KIP-360).
                            self.epoch = self.epoch.wrapping_add(1);
                            for q in &mut self.parts {
                                q.next_seq = 0;
                            }
                        }
                    }
                }
            }
        }
    }
}
