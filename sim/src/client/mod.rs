//! A simulated client: generates its share of the workload and sends it as
//! a Kafka producer does, one batch per partition, with `max_in_flight`
//! batches in flight per partition; a request carries the batches that are
//! ready to one gateway, and the gateway answers each batch as the log
//! settles it. A partition whose leader is gone therefore holds back only
//! its own batches, while the others keep flowing. Failed and timed-out
//! events are retried with exponential backoff and the same ids. The client
//! records in the shared ledger what it sent, how often, and what was
//! acknowledged; what it never hears back about stays uncertain.
//!
//! A client can crash and restart: it then re-reads its source from its
//! checkpoint and re-sends with the same ids (`source.rs`). A client that
//! stalls (a pause) runs its expired timers before it reads the replies
//! that arrived meanwhile, as an event loop with a timers phase before its
//! I/O phase does (Node.js, for one): requests whose timeout passed during
//! the stall are given up and retried, and their late replies ignored.
//!
//! An event not acknowledged `delivery_timeout_ms` after it entered the
//! producer is given up on, as Kafka's producer expires a batch: wherever it
//! waits (queued, backing off, in flight) it leaves the buffer and counts as
//! a failed send (`delivery.rs`). Building requests and reading replies
//! costs the client's CPU (`[client] cores`, `cpu_us_per_*`), and a request
//! leaves once that work is done, then queues behind the client's NIC.

mod delivery;
mod sequencing;
pub mod source;

use crate::clock;
use crate::config::Balancer;
use crate::gateway::client_order::BatchSeq;
use crate::gateway::partition_of;
use crate::ids::{Addr, PartitionId};
use crate::msg::{EventResult, Msg, PartReply, Record};
use crate::world::Shared;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use source::ClientSource;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, MutexGuard};
use streamsim_workloads::EventDraw;

/// One partition's batch inside a request in flight.
struct PartFlight {
    partition: PartitionId,
    records: Vec<Record>,
    /// Answered records, aligned with `records`.
    answered: Vec<bool>,
    outstanding: usize,
    failed: Vec<Record>,
    attempt: u32,
    /// The gateways' rate limit refused some of the batch: its retry waits for the Retry-After.
    rate_limited: bool,
    /// The batch's place in its partition's sequence (sent only with idempotence on).
    order: BatchSeq,
}

struct InFlight {
    gateway: usize,
    parts: Vec<PartFlight>,
    open_parts: usize,
    sent_ms: u64,
}

struct Retry {
    ready_ms: u64,
    records: Vec<Record>,
    attempt: u32,
    /// The batch's number in its partition: a retry keeps it.
    seq: u64,
}

/// The producer's accumulator for one partition.
#[derive(Default)]
struct PartitionQueue {
    pending: VecDeque<Record>,
    retries: VecDeque<Retry>,
    in_flight: usize,
    /// The number the partition's next new batch takes.
    next_seq: u64,
    /// The numbers of the partition's batches in flight, each with the gateway it went to.
    in_flight_seqs: BTreeMap<u64, usize>,
    /// The gateway the partition's batches in flight went to: with idempotence on, the next
    /// one follows them there, so the gateway sees them in sequence.
    pinned: usize,
}

struct Client {
    sh: Arc<Shared>,
    idx: usize,
    addr: Addr,
    queues: Vec<PartitionQueue>,
    /// Records waiting in the partition queues (new or to retry): a tick with none skips the partitions.
    buffered: usize,
    /// Bytes the producer holds (waiting, in flight, to retry) until acknowledged: Kafka's
    /// `buffer.memory` bounds it.
    buffer_bytes: u64,
    /// Since when the application's sends have been blocked on a full buffer.
    blocked_since_ms: Option<u64>,
    /// Acknowledgements up to this ms count towards the throughput check.
    in_time_ms: u64,
    born_us: BTreeMap<u64, u64>,
    inflight: BTreeMap<u64, InFlight>,
    next_req: u64,
    rr: usize,
    rng: ChaCha8Rng,
    /// Whether the source keeps a checkpoint to tell of settled events.
    journal: bool,
    /// No event the client holds reaches its delivery timeout before this ms.
    next_expiry_ms: u64,
    /// When this incarnation started, ms: an event it re-sends from before a
    /// crash entered this producer then (a restarted application's new
    /// `send()`), so its delivery timeout runs from here.
    started_ms: u64,
    /// With idempotence on, batches are numbered per partition and kept in sequence.
    sequenced: bool,
    /// This incarnation, the epoch of its batch numbers.
    epoch: u64,
}

/// The client's durable source, created when it first starts.
fn source(sh: &Shared, idx: usize) -> MutexGuard<'_, Option<ClientSource>> {
    sh.client_sources[idx].lock().expect("client source lock")
}

/// Entry point of a client node.
pub async fn client_main(sh: Arc<Shared>, idx: usize) {
    let addr = sh.layout.client(idx);
    let clients = sh.layout.clients as u32;
    let incarnation = sh.next_incarnation(addr);
    // The machine stays, the process's queued work is gone.
    sh.client_cpu[idx]
        .lock()
        .expect("client cpu lock")
        .reset_queues(clock::now_us());
    let replay = {
        let mut src = source(&sh, idx);
        let src = src.get_or_insert_with(|| {
            let stream = sh.workload.client_stream(sh.seed, idx as u32, clients);
            ClientSource::new(
                stream,
                clock::now_ms(),
                crate::swarm::may_crash_client(&sh.scenario, sh.seed, idx),
            )
        });
        src.replay()
    };
    let backoff_stream = match incarnation {
        1 => format!("client-backoff/{idx}"),
        n => format!("client-backoff/{idx}/{n}"),
    };
    let mut c = Client {
        rng: streamsim_workloads::stream_rng(sh.seed, &backoff_stream),
        sh: sh.clone(),
        idx,
        addr,
        queues: (0..sh.event_partitions).map(|_| PartitionQueue::default()).collect(),
        buffered: 0,
        buffer_bytes: 0,
        blocked_since_ms: None,
        in_time_ms: (sh.scenario.duration_s * 1000.0) as u64
            + sh.scenario
                .invariants
                .throughput_grace_ms(sh.scenario.client.request_timeout_ms),
        born_us: BTreeMap::new(),
        inflight: BTreeMap::new(),
        // A new incarnation numbers its requests apart, so a late reply to the old one matches none.
        next_req: (incarnation - 1) << 40,
        rr: idx,
        journal: source(&sh, idx).as_ref().is_some_and(ClientSource::keeps_journal),
        // A restart re-sends old events: look at their deadlines on the first tick.
        next_expiry_ms: 0,
        started_ms: clock::now_ms(),
        sequenced: sh.scenario.producer.idempotence,
        epoch: incarnation,
    };
    c.resend(replay);
    let linger = sh.scenario.client.linger_ms;
    let workload_end_ms = (sh.scenario.duration_s * 1000.0) as u64;
    let mut draws: Vec<EventDraw> = Vec::new();
    let drawn_to = source(&sh, idx).as_ref().expect("source").drawn_to;
    // Each client's linger ticks start at a seed-drawn phase: real clients are not in lockstep,
    // and a fault at a round time must not always meet the same point of every client's cycle.
    let phase = c.rng.gen_range(0..linger.max(1));
    let first_tick = drawn_to + linger + phase;
    // The client's linger ticks: `first_tick + k * linger`. `grid(t)` is the first at or after `t`.
    let step = linger.max(1);
    let grid = move |t: u64| first_tick + t.saturating_sub(first_tick).div_ceil(step) * step;
    let mut next_tick = first_tick;
    loop {
        let wake = next_tick.max(clock::now_ms() + 1);
        let batch = sh.fabric.recv(addr, wake).await;
        let now_us = clock::now_us();
        let now_ms = now_us / 1000;
        if now_ms > wake + 1 {
            // Woken well past its own deadline: the client was stalled. Its timers
            // fired meanwhile and run before the replies that queued up are read.
            c.expire(now_ms);
        }
        let mut answered = false;
        for env in batch {
            // Reading a reply takes the client's CPU; what it sends next queues behind that work.
            c.cpu(now_us, env.msg.bytes());
            match env.msg {
                Msg::SubmitReply { parts } => {
                    answered = true;
                    c.on_reply(parts, now_us)
                }
                Msg::Backpressure { req, retry_after_ms } => c.on_backpressure(req, now_ms + retry_after_ms),
                _ => {}
            }
        }
        if c.buffered > 0 {
            // A retry or a backpressured batch waits for the next linger tick, however far the
            // client meant to sleep.
            next_tick = next_tick.min(grid(now_ms));
        }
        if now_ms >= next_tick {
            // Generation stops at the workload's end exactly, whenever this
            // tick falls, so the stream is the same whatever faults did to timing.
            let upto = now_ms.min(workload_end_ms);
            let mut guard = source(&sh, idx);
            let src = guard.as_mut().expect("source");
            if upto > src.drawn_to {
                c.offer(src, upto, now_us, &mut draws);
                if src.drawn_to == workload_end_ms {
                    // The drain may only call the write path drained once every client drew its last
                    // events: a client whose tick falls just after the workload's end still has some.
                    sh.ledger.lock().expect("ledger lock").generation_done(idx);
                }
            }
            drop(guard);
            // Giving up on an event moves the source's checkpoint, which locks the source
            // again: expiry runs with it released (nothing else runs in between).
            c.expire(now_ms);
            c.expire_deliveries(now_ms);
            c.send(now_us);
            let guard = source(&sh, idx);
            let src = guard.as_ref().expect("source");
            next_tick = c.next_useful_tick(now_ms, &grid, &src.stream, src.drawn_to, workload_end_ms);
            drop(guard);
        } else if answered {
            // A freed partition slot with a full batch waiting goes out now, not at the next linger tick.
            c.send_full(now_us);
        }
    }
}

impl Client {
    /// The application sends what its stream offers up to `upto`, as far as the producer's
    /// buffer lets it. A full buffer blocks the sends (the stream falls behind schedule and the
    /// events are born when they get in); a send blocked past `max_block_ms` fails, as Kafka's
    /// `send()` throws, so the client holds at most `buffer_memory_bytes` and lags its schedule by
    /// at most `max_block_ms`, however far the offered load exceeds what the cluster takes.
    fn offer(&mut self, src: &mut ClientSource, upto: u64, now_us: u64, draws: &mut Vec<EventDraw>) {
        let cfg = &self.sh.scenario.client;
        let (limit, max_block) = (cfg.buffer_memory_bytes, cfg.max_block_ms);
        let now_ms = now_us / 1000;
        if self.blocked_since_ms.is_none() && self.buffer_bytes < limit {
            draws.clear();
            src.stream.draw(src.drawn_to, upto, draws);
            src.drawn_to = upto;
            self.generate(draws, now_us, src, true);
            return;
        }
        let mut timed = Vec::new();
        let give_up_before = now_ms.saturating_sub(max_block).min(upto);
        if give_up_before > src.drawn_to {
            src.stream.draw_timed(src.drawn_to, give_up_before, &mut timed);
            src.drawn_to = give_up_before;
            let mut m = self.sh.metrics.lock().expect("metrics lock");
            for d in &timed {
                m.bucket(d.t_ms).offered += 1;
                m.producers.failed_sends += 1;
                m.producers.failed_bytes += u64::from(d.event.size_bytes);
            }
        }
        // Behind schedule: take the backlog a millisecond of it at a time while there is room.
        while src.drawn_to < upto && self.buffer_bytes < limit {
            timed.clear();
            src.stream.draw_timed(src.drawn_to, src.drawn_to + 1, &mut timed);
            src.drawn_to += 1;
            if let Some(d) = timed.first() {
                self.sh.metrics.lock().expect("metrics lock").bucket(d.t_ms).offered += timed.len() as u64;
            }
            draws.clear();
            draws.extend(timed.iter().map(|d| d.event));
            self.generate(draws, now_us, src, false);
        }
        if src.drawn_to < upto {
            self.blocked_since_ms.get_or_insert(now_ms);
        } else if let Some(t) = self.blocked_since_ms.take() {
            self.sh.metrics.lock().expect("metrics lock").producers.blocked_ms += now_ms - t;
        }
    }

    /// Takes `draws` into the producer; `on_time` when they arrive now (counted as offered in
    /// this bucket too) rather than late from a blocked backlog (counted at their arrival).
    fn generate(&mut self, draws: &[EventDraw], now_us: u64, src: &mut ClientSource, on_time: bool) {
        let now_ms = now_us / 1000;
        let first = src.next_seq;
        let partitions = self.queues.len();
        for d in draws {
            let r = Record {
                id: crate::msg::EventId {
                    client: self.idx as u32,
                    seq: src.next_seq,
                },
                key: d.key,
                size: d.size_bytes,
                event_time_ms: now_ms.saturating_sub(d.event_time_lag_ms),
                schema_version: d.schema_version,
                malformed: d.malformed,
                born_us: now_us,
            };
            self.sh.workload_hash[self.idx].record(&[
                r.id.client as u64,
                r.id.seq,
                r.key,
                r.size as u64,
                d.event_time_lag_ms,
            ]);
            src.next_seq += 1;
            src.read(&r);
            self.born_us.insert(r.id.seq, now_us);
            self.buffer_bytes += u64::from(r.size);
            // The producer's partitioner: the gateway routes by the same hash.
            let p = partition_of(self.routing_key(&r), partitions);
            let q = &mut self.queues[p];
            q.pending.push_back(r);
            self.buffered += 1;
            if d.duplicate_send {
                // A client bug or a retry storm sends the same event twice.
                q.pending.push_back(r);
                self.buffered += 1;
                self.buffer_bytes += u64::from(r.size);
            }
        }
        let n = src.next_seq - first;
        if n > 0 {
            self.sh
                .ledger
                .lock()
                .expect("ledger lock")
                .generated(self.idx, src.next_seq);
            let bytes: u64 = draws.iter().map(|d| u64::from(d.size_bytes)).sum();
            let mut m = self.sh.metrics.lock().expect("metrics lock");
            let b = m.bucket(now_ms);
            b.sent += n;
            b.sent_bytes += bytes;
            if on_time {
                b.offered += n;
            }
            m.producers.peak_buffer_bytes = m.producers.peak_buffer_bytes.max(self.buffer_bytes);
        }
    }

    /// A restarted client re-sends what its source holds after the checkpoint, with the same
    /// ids and birth times, in sequence order (so each key's events keep their order).
    fn resend(&mut self, records: Vec<Record>) {
        let partitions = self.queues.len();
        for r in records {
            self.born_us.insert(r.id.seq, r.born_us);
            self.buffer_bytes += u64::from(r.size);
            let p = partition_of(self.routing_key(&r), partitions);
            self.queues[p].pending.push_back(r);
            self.buffered += 1;
        }
    }

    /// The next linger tick that has work: the regular next one while anything is buffered;
    /// otherwise the first that will draw the stream's next event, reach the workload's end, or
    /// time out a request. A tick between them would draw nothing and send nothing; skipping it
    /// keeps a quiet client (a few events a second, a tick every 5 ms) from waking for nothing.
    fn next_useful_tick(
        &self,
        now_ms: u64,
        grid: &impl Fn(u64) -> u64,
        stream: &streamsim_workloads::ClientStream,
        drawn_to: u64,
        workload_end_ms: u64,
    ) -> u64 {
        let regular = grid(now_ms + 1);
        if self.buffered > 0 {
            return regular;
        }
        let mut t = u64::MAX;
        if drawn_to < workload_end_ms {
            t = grid(workload_end_ms);
            // An event at millisecond m is drawn by the first tick after m.
            if let Some(m) = stream.next_arrival_ms() {
                t = t.min(grid(m + 1));
            }
        }
        let timeout = self.sh.scenario.client.request_timeout_ms;
        if let Some(sent) = self.inflight.values().map(|f| f.sent_ms).min() {
            t = t.min(grid(sent + timeout));
            // An event in flight may reach its delivery timeout before its request times out.
            t = t.min(grid(self.next_expiry_ms));
        }
        if t == u64::MAX {
            // Nothing left to do: wake now and then, as an idle client would.
            t = grid(now_ms + 60_000);
        }
        t.max(regular)
    }

    /// The key the partitioner hashes: the event's own, or a hot key's sub-key under salting.
    fn routing_key(&self, r: &Record) -> u64 {
        let salt = self.sh.scenario.processor.salt.as_ref();
        crate::config::routing_key(salt, r.key, r.id.client, r.id.seq)
    }

    fn in_flight_per_gateway(&self) -> Vec<usize> {
        let mut load = vec![0usize; self.sh.layout.gateways];
        for f in self.inflight.values() {
            load[f.gateway] += 1;
        }
        load
    }

    fn pick_gateway(&mut self, p: PartitionId) -> usize {
        let g = self.sh.layout.gateways;
        match self.sh.scenario.topology.balancer {
            Balancer::RoundRobin => {
                self.rr = self.rr.wrapping_add(1);
                self.rr % g
            }
            Balancer::LeastConnections => {
                let load = self.in_flight_per_gateway();
                (0..g)
                    .min_by_key(|&i| (load[i], (i + self.idx) % g))
                    .expect("a gateway")
            }
            // A ring of virtual nodes reduces to a stable partition -> gateway map for a fixed set;
            // keys of one partition share it.
            Balancer::ConsistentHash => partition_of(p as u64 ^ 0x5bd1_e995, g),
        }
    }

    /// Take the next batch of partition `p`, if its slot is free and something is due:
    /// a retry whose backoff is over first, new events only once no retry waits (per-key order).
    /// With idempotence on, a retry also waits while a batch numbered before it is in flight
    /// to another gateway than the one it would follow them to, so it is not refused again;
    /// behind batches in flight to that gateway it goes at once, in order, as Kafka's producer
    /// re-sends its in-flight batches pipelined in sequence after a failure.
    fn take_batch(&mut self, p: PartitionId, now_ms: u64, full_only: bool) -> Option<(Vec<Record>, u32, u64)> {
        let cfg = &self.sh.scenario.client;
        let sequenced = self.sequenced;
        let q = &mut self.queues[p];
        if q.in_flight >= cfg.max_in_flight {
            return None;
        }
        if let Some(r) = q.retries.front().filter(|r| r.ready_ms <= now_ms) {
            if sequenced && q.in_flight_seqs.range(..r.seq).any(|(_, &g)| g != q.pinned) {
                return None;
            }
            let r = q.retries.pop_front().expect("front");
            self.buffered -= r.records.len();
            return Some((r.records, r.attempt, r.seq));
        }
        if q.pending.is_empty() || !q.retries.is_empty() || (full_only && q.pending.len() < cfg.max_batch_events) {
            return None;
        }
        let n = q.pending.len().min(cfg.max_batch_events);
        self.buffered -= n;
        q.next_seq += 1;
        Some((q.pending.drain(..n).collect(), 1, q.next_seq - 1))
    }

    fn send(&mut self, now_us: u64) {
        self.send_ready(now_us, false);
    }

    fn send_full(&mut self, now_us: u64) {
        self.send_ready(now_us, true);
    }

    /// Gather every partition's due batch and send them, grouped by the gateway chosen for each.
    fn send_ready(&mut self, now_us: u64, full_only: bool) {
        if self.buffered == 0 {
            return;
        }
        let now_ms = now_us / 1000;
        let mut by_gateway: BTreeMap<usize, Vec<PartFlight>> = BTreeMap::new();
        // Round robin and least connections send one request a round; consistent hashing one per gateway.
        let mut round_gateway = None;
        for p in 0..self.queues.len() {
            // A partition may have several slots: fill them all.
            while let Some((records, attempt, seq)) = self.take_batch(p, now_ms, full_only) {
                let order = self.number(p, seq);
                let gateway = match self.sh.scenario.topology.balancer {
                    // Batches behind an unsettled one follow it to its gateway, which takes
                    // them in sequence; the partition's lowest unsettled batch (a retry after
                    // a timeout, say) is taken anywhere, so it chooses afresh rather than go
                    // back to a gateway that may be dead while later batches wait there.
                    _ if self.sequenced && self.queues[p].in_flight > 0 && order.first_unsettled < order.seq => {
                        self.queues[p].pinned
                    }
                    Balancer::ConsistentHash => self.pick_gateway(p),
                    _ => *round_gateway.get_or_insert_with(|| self.pick_gateway(p)),
                };
                let q = &mut self.queues[p];
                q.in_flight += 1;
                q.pinned = gateway;
                self.sent_seq(p, seq, gateway);
                let n = records.len();
                by_gateway.entry(gateway).or_default().push(PartFlight {
                    partition: p,
                    records,
                    answered: vec![false; n],
                    outstanding: n,
                    failed: Vec::new(),
                    attempt,
                    rate_limited: false,
                    order,
                });
            }
        }
        for (gateway, parts) in by_gateway {
            let mut ledger = self.sh.ledger.lock().expect("ledger lock");
            for part in &parts {
                ledger.attempted(&part.records);
            }
            drop(ledger);
            self.next_req += 1;
            let req = self.next_req;
            let dst = self.sh.layout.gateway(gateway);
            let batches = parts.iter().map(|p| p.records.clone()).collect();
            let seqs = match self.sequenced {
                true => parts.iter().map(|p| p.order).collect(),
                false => Vec::new(),
            };
            let m = Msg::Submit {
                req,
                parts: batches,
                seqs,
            };
            // The request leaves once the CPU has built it.
            let depart = self.cpu(now_us, m.bytes());
            self.sh.fabric.send(self.addr, dst, m, depart);
            self.inflight.insert(
                req,
                InFlight {
                    gateway,
                    open_parts: parts.len(),
                    parts,
                    sent_ms: now_ms,
                },
            );
        }
    }

    fn backoff_ms(&mut self, attempt: u32) -> u64 {
        let cfg = &self.sh.scenario.client;
        let exp = cfg
            .retry_backoff_ms
            .saturating_mul(1u64 << attempt.min(20).saturating_sub(1));
        let capped = exp.min(cfg.retry_backoff_max_ms);
        // Full jitter on the upper half keeps retry storms from synchronising.
        capped / 2 + self.rng.gen_range(0..=capped / 2)
    }

    fn retry(&mut self, p: PartitionId, records: Vec<Record>, attempt: u32, seq: u64, now_ms: u64) {
        self.retry_after(p, records, attempt, seq, now_ms, 0);
    }

    /// Retry after the backoff, and at least `min_wait_ms` (a rate limit's Retry-After);
    /// what reached its delivery timeout is given up on instead.
    fn retry_after(
        &mut self,
        p: PartitionId,
        mut records: Vec<Record>,
        attempt: u32,
        seq: u64,
        now_ms: u64,
        min_wait_ms: u64,
    ) {
        self.give_up_due(&mut records, now_ms);
        if records.is_empty() {
            return;
        }
        let ready_ms = now_ms + self.backoff_ms(attempt).max(min_wait_ms);
        self.buffered += records.len();
        let retry = Retry {
            ready_ms,
            records,
            attempt: attempt + 1,
            seq,
        };
        self.requeue(p, retry, false);
    }

    /// A partition batch of a request is settled: free its slot and retry what failed.
    fn close_part(&mut self, req: u64, part: usize, now_ms: u64) {
        let f = self.inflight.get_mut(&req).expect("request in flight");
        let pf = &mut f.parts[part];
        let (p, attempt, seq, mut failed) = (pf.partition, pf.attempt, pf.order.seq, std::mem::take(&mut pf.failed));
        let wait_ms = match (&self.sh.scenario.gateway.rate_limit, pf.rate_limited) {
            (Some(l), true) => l.retry_after_ms(),
            _ => 0,
        };
        failed.sort_by_key(|r| r.id.seq);
        f.open_parts -= 1;
        if f.open_parts == 0 {
            self.inflight.remove(&req);
        }
        self.landed(p, seq);
        self.retry_after(p, failed, attempt, seq, now_ms, wait_ms);
    }

    fn on_reply(&mut self, parts: Vec<PartReply>, now_us: u64) {
        let now_ms = now_us / 1000;
        for reply in parts {
            // A reply to a request already given up on is ignored, as a real client's would be.
            let Some(f) = self.inflight.get_mut(&reply.req) else {
                continue;
            };
            let Some(pf) = f.parts.get_mut(reply.part as usize) else {
                continue;
            };
            if pf.outstanding == 0 {
                continue;
            }
            let mut ledger = self.sh.ledger.lock().expect("ledger lock");
            let mut metrics = self.sh.metrics.lock().expect("metrics lock");
            let mut settled = Vec::new();
            let mut freed = 0;
            for (start, n, res) in reply.runs {
                for i in start as usize..(start + n) as usize {
                    let Some(answered) = pf.answered.get_mut(i) else { break };
                    if std::mem::replace(answered, true) {
                        continue;
                    }
                    pf.outstanding -= 1;
                    let id = pf.records[i].id;
                    let done = !matches!(
                        res,
                        EventResult::Failed | EventResult::RateLimited | EventResult::OutOfOrderSequence
                    );
                    if done {
                        freed += u64::from(pf.records[i].size);
                    }
                    if self.journal && done {
                        settled.push(id.seq);
                    }
                    match res {
                        EventResult::Acked => {
                            // A re-sent copy of an event acknowledged before a crash is not a new acknowledgement.
                            let born = self.born_us.remove(&id.seq);
                            if ledger.acked(id) {
                                if let Some(born) = born {
                                    let lat = now_us.saturating_sub(born).max(1);
                                    metrics.ack.saturating_record(lat);
                                    let bytes = u64::from(pf.records[i].size);
                                    let p = &mut metrics.producers;
                                    p.last_ack_us = p.last_ack_us.max(now_us);
                                    if now_ms <= self.in_time_ms {
                                        p.acked_in_time.0 += 1;
                                        p.acked_in_time.1 += bytes;
                                    }
                                    let b = metrics.bucket(now_ms);
                                    b.acked += 1;
                                    b.acked_bytes += bytes;
                                    streamsim_reports::record_in_bucket(&mut b.ack, lat);
                                }
                            }
                        }
                        EventResult::DeadLettered => {
                            ledger.dead_lettered(id);
                            self.born_us.remove(&id.seq);
                        }
                        EventResult::Failed => pf.failed.push(pf.records[i]),
                        EventResult::OutOfOrderSequence => {
                            // Never taken: not an attempt, and re-sent once the gap before it fills.
                            ledger.unattempted(&pf.records[i..=i]);
                            pf.failed.push(pf.records[i]);
                        }
                        EventResult::RateLimited => {
                            // Refused before the gateway took it: not an attempt for the
                            // ledger (nothing was written), and retried with the backoff
                            // growing as for any retry, at least the Retry-After.
                            ledger.rate_limited(&pf.records[i..=i]);
                            pf.rate_limited = true;
                            pf.failed.push(pf.records[i]);
                        }
                    }
                }
            }
            drop(metrics);
            drop(ledger);
            // Settled events leave the producer's buffer; failed ones stay in it to be retried.
            self.buffer_bytes = self.buffer_bytes.saturating_sub(freed);
            if !settled.is_empty() {
                let mut src = source(&self.sh, self.idx);
                let src = src.as_mut().expect("source");
                for seq in settled {
                    src.settled(seq);
                }
            }
            if pf.outstanding == 0 {
                self.close_part(reply.req, reply.part as usize, now_ms);
            }
        }
    }

    fn on_backpressure(&mut self, req: u64, ready_ms: u64) {
        let Some(f) = self.inflight.remove(&req) else { return };
        let sh = self.sh.clone();
        let mut ledger = sh.ledger.lock().expect("ledger lock");
        // None of the request was taken: each batch goes back to the front of its partition's
        // queue, but for what the delivery timeout gave up on meanwhile (a part it closed has
        // freed its slot already, an event it gave up on is settled).
        for pf in f.parts.into_iter().filter(|pf| pf.outstanding > 0) {
            let records: Vec<Record> = pf
                .records
                .iter()
                .zip(&pf.answered)
                .filter(|(_, answered)| !**answered)
                .map(|(r, _)| *r)
                .collect();
            ledger.unattempted(&records);
            self.buffered += records.len();
            self.landed(pf.partition, pf.order.seq);
            let retry = Retry {
                ready_ms,
                records,
                attempt: pf.attempt,
                seq: pf.order.seq,
            };
            self.requeue(pf.partition, retry, true);
        }
    }

    fn expire(&mut self, now_ms: u64) {
        let timeout = self.sh.scenario.client.request_timeout_ms;
        let expired: Vec<u64> = self
            .inflight
            .iter()
            .filter(|(_, f)| now_ms >= f.sent_ms + timeout)
            .map(|(r, _)| *r)
            .collect();
        for req in expired {
            let f = self.inflight.remove(&req).expect("present");
            for pf in f.parts.into_iter().filter(|pf| pf.outstanding > 0) {
                let unanswered: Vec<Record> = pf
                    .records
                    .iter()
                    .zip(&pf.answered)
                    .filter(|(_, &a)| !a)
                    .map(|(r, _)| *r)
                    .collect();
                self.sh.ledger.lock().expect("ledger lock").timed_out(&unanswered);
                self.landed(pf.partition, pf.order.seq);
                let mut again = pf.failed;
                again.extend(unanswered);
                again.sort_by_key(|r| r.id.seq);
                self.retry(pf.partition, again, pf.attempt, pf.order.seq, now_ms);
            }
        }
    }
}
