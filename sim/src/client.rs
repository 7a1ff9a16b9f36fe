//! A simulated client: generates its share of the workload, sends events
//! in requests to a gateway chosen by the balancer, and retries with
//! exponential backoff and the same ids. It records in the shared ledger
//! what it sent, how often, and what was acknowledged; what it never hears
//! back about stays uncertain.

use crate::clock;
use crate::gateway::partition_of;
use crate::ids::Addr;
use crate::msg::{EventResult, Msg, Record};
use crate::scenario::Balancer;
use crate::world::Shared;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use streamsim_workloads::EventDraw;

struct InFlight {
    gateway: usize,
    records: Vec<Record>,
    sent_ms: u64,
    attempt: u32,
}

struct Retry {
    ready_ms: u64,
    records: Vec<Record>,
    attempt: u32,
}

struct Client {
    sh: Arc<Shared>,
    idx: usize,
    addr: Addr,
    next_seq: u64,
    pending: VecDeque<Record>,
    born_us: BTreeMap<u64, u64>,
    retries: VecDeque<Retry>,
    inflight: BTreeMap<u64, InFlight>,
    next_req: u64,
    rr: usize,
    rng: ChaCha8Rng,
}

/// Entry point of a client node.
pub async fn client_main(sh: Arc<Shared>, idx: usize) {
    let addr = sh.layout.client(idx);
    let clients = sh.layout.clients as u32;
    let mut stream = sh.workload.client_stream(sh.seed, idx as u32, clients);
    let mut c = Client {
        rng: streamsim_workloads::stream_rng(sh.seed, &format!("client-backoff/{idx}")),
        sh: sh.clone(),
        idx,
        addr,
        next_seq: 0,
        pending: VecDeque::new(),
        born_us: BTreeMap::new(),
        retries: VecDeque::new(),
        inflight: BTreeMap::new(),
        next_req: 0,
        rr: idx,
    };
    let linger = sh.scenario.client.linger_ms;
    let workload_end_ms = (sh.scenario.duration_s * 1000.0) as u64;
    let mut draws: Vec<EventDraw> = Vec::new();
    let mut drawn_to = clock::now_ms();
    // Each client's linger ticks start at a seed-drawn phase: real clients are not in lockstep,
    // and a fault at a round time must not always meet the same point of every client's cycle.
    let phase = c.rng.gen_range(0..linger.max(1));
    let mut next_tick = drawn_to + linger + phase;
    loop {
        let batch = sh.fabric.recv(addr, next_tick.max(clock::now_ms() + 1)).await;
        let now_us = clock::now_us();
        let now_ms = now_us / 1000;
        for env in batch {
            match env.msg {
                Msg::SubmitReply { req, results } => c.on_reply(req, results, now_us),
                Msg::Backpressure { req, retry_after_ms } => c.on_backpressure(req, now_ms + retry_after_ms),
                _ => {}
            }
        }
        if now_ms >= next_tick {
            next_tick = now_ms + linger;
            // Generation stops at the workload's end exactly, whenever this
            // tick falls, so the stream is the same whatever faults did to timing.
            let upto = now_ms.min(workload_end_ms);
            if upto > drawn_to {
                draws.clear();
                stream.draw(drawn_to, upto, &mut draws);
                drawn_to = upto;
                c.generate(&draws, now_us);
            }
            c.expire(now_ms);
            c.send(now_us);
        }
    }
}

impl Client {
    fn generate(&mut self, draws: &[EventDraw], now_us: u64) {
        let now_ms = now_us / 1000;
        let first = self.next_seq;
        for d in draws {
            let r = Record {
                id: crate::msg::EventId {
                    client: self.idx as u32,
                    seq: self.next_seq,
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
            self.next_seq += 1;
            self.born_us.insert(r.id.seq, now_us);
            self.pending.push_back(r);
            if d.duplicate_send {
                // A client bug or a retry storm sends the same event twice.
                self.pending.push_back(r);
            }
        }
        let n = self.next_seq - first;
        if n > 0 {
            self.sh
                .ledger
                .lock()
                .expect("ledger lock")
                .generated(self.idx, self.next_seq);
            self.sh.metrics.lock().expect("metrics lock").bucket(now_ms).sent += n;
        }
    }

    fn pick_gateway(&mut self, key: u64) -> usize {
        let g = self.sh.layout.gateways;
        match self.sh.scenario.topology.balancer {
            Balancer::RoundRobin => {
                self.rr = self.rr.wrapping_add(1);
                self.rr % g
            }
            Balancer::LeastConnections => {
                let mut load = vec![0usize; g];
                for f in self.inflight.values() {
                    load[f.gateway] += 1;
                }
                (0..g)
                    .min_by_key(|&i| (load[i], (i + self.idx) % g))
                    .expect("a gateway")
            }
            // A ring of virtual nodes reduces to a stable key -> gateway map for a fixed set.
            Balancer::ConsistentHash => partition_of(key ^ 0x5bd1_e995, g),
        }
    }

    fn send(&mut self, now_us: u64) {
        let now_ms = now_us / 1000;
        let cfg = self.sh.scenario.client.clone();
        while self.inflight.len() < cfg.max_in_flight {
            let (records, attempt) = if self.retries.front().is_some_and(|r| r.ready_ms <= now_ms) {
                let r = self.retries.pop_front().expect("front");
                (r.records, r.attempt)
            } else if !self.pending.is_empty() && self.retries.is_empty() {
                let n = self.pending.len().min(cfg.max_batch_events);
                (self.pending.drain(..n).collect::<Vec<_>>(), 1)
            } else {
                break;
            };
            let gateway = self.pick_gateway(records[0].key);
            self.sh.ledger.lock().expect("ledger lock").attempted(&records);
            self.next_req += 1;
            let req = self.next_req;
            let dst = self.sh.layout.gateway(gateway);
            self.sh.fabric.send(
                self.addr,
                dst,
                Msg::Submit {
                    req,
                    events: records.clone(),
                },
                now_us,
            );
            self.inflight.insert(
                req,
                InFlight {
                    gateway,
                    records,
                    sent_ms: now_ms,
                    attempt,
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

    fn retry(&mut self, records: Vec<Record>, attempt: u32, now_ms: u64) {
        if records.is_empty() {
            return;
        }
        let ready_ms = now_ms + self.backoff_ms(attempt);
        self.retries.push_back(Retry {
            ready_ms,
            records,
            attempt: attempt + 1,
        });
    }

    fn on_reply(&mut self, req: u64, results: Vec<(crate::msg::EventId, EventResult)>, now_us: u64) {
        // A reply to a request already given up on is ignored, as a real client's would be.
        let Some(f) = self.inflight.remove(&req) else { return };
        let now_ms = now_us / 1000;
        let mut failed = Vec::new();
        let mut ledger = self.sh.ledger.lock().expect("ledger lock");
        let mut metrics = self.sh.metrics.lock().expect("metrics lock");
        for (id, res) in results {
            match res {
                EventResult::Acked => {
                    if ledger.acked(id) {
                        if let Some(born) = self.born_us.remove(&id.seq) {
                            let lat = now_us.saturating_sub(born).max(1);
                            metrics.ack.saturating_record(lat);
                            let b = metrics.bucket(now_ms);
                            b.acked += 1;
                            b.ack.saturating_record(lat);
                        }
                    }
                }
                EventResult::DeadLettered => {
                    ledger.dead_lettered(id);
                    self.born_us.remove(&id.seq);
                }
                EventResult::Failed => {
                    if let Some(r) = f.records.iter().find(|r| r.id == id) {
                        failed.push(*r);
                    }
                }
            }
        }
        drop(metrics);
        drop(ledger);
        self.retry(failed, f.attempt, now_ms);
    }

    fn on_backpressure(&mut self, req: u64, ready_ms: u64) {
        let Some(f) = self.inflight.remove(&req) else { return };
        self.sh.ledger.lock().expect("ledger lock").unattempted(&f.records);
        self.retries.push_front(Retry {
            ready_ms,
            records: f.records,
            attempt: f.attempt,
        });
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
            self.sh.ledger.lock().expect("ledger lock").timed_out(&f.records);
            self.retry(f.records, f.attempt, now_ms);
        }
    }
}
