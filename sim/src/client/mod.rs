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

mod accumulator;
mod delivery;
mod replies;
mod requests;
mod sequencing;
pub mod source;

use crate::clock;
use crate::event_sets::SeqBitmap;
use crate::gateway::client_order::BatchSeq;
use crate::ids::{Addr, PartitionId};
use crate::msg::{Msg, Record};
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
    /// Events held and not settled (acknowledged, dead lettered or given up on): an
    /// acknowledgement of one records its latency, once. They are a band of recent sequence
    /// numbers as wide as the oldest still held, which the delivery timeout bounds.
    unsettled: SeqBitmap,
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
        unsettled: SeqBitmap::default(),
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
    let mut inbox = Vec::new();
    loop {
        let wake = next_tick.max(clock::now_ms() + 1);
        let now_us = sh.fabric.recv(addr, wake, &mut inbox).await;
        let now_ms = now_us / 1000;
        if now_ms > wake + 1 {
            // Woken well past its own deadline: the client was stalled. Its timers
            // fired meanwhile and run before the replies that queued up are read.
            c.expire(now_ms);
        }
        let mut answered = false;
        for env in inbox.drain(..) {
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
