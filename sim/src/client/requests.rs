//! Requests to the gateways: which gateway each partition's batch goes to,
//! and one request per gateway carrying every batch that is due.

use super::{Client, InFlight, PartFlight};
use crate::config::Balancer;
use crate::gateway::partition_of;
use crate::ids::PartitionId;
use crate::msg::{Msg, Record};
use crate::net::ByDestination;

impl Client {
    /// The key the partitioner hashes: the event's own, or a hot key's sub-key under salting.
    pub(super) fn routing_key(&self, r: &Record) -> u64 {
        let salt = self.sh.scenario.processor.salt.as_ref();
        crate::config::routing_key(salt, r.key, r.id.client, r.id.seq)
    }

    /// Requests in flight to each gateway, for least-connections balancing.
    pub(super) fn in_flight_per_gateway(&self) -> Vec<usize> {
        let mut load = vec![0usize; self.sh.layout.gateways];
        for f in self.inflight.values() {
            load[f.gateway] += 1;
        }
        load
    }

    /// The gateway a batch of partition `p` goes to under the configured balancer.
    pub(super) fn pick_gateway(&mut self, p: PartitionId) -> usize {
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

    /// Send every due batch, full or lingered long enough (a linger tick).
    pub(super) fn send(&mut self, now_us: u64) {
        self.send_ready(now_us, false);
    }

    /// Send only full batches: a slot freed between linger ticks.
    pub(super) fn send_full(&mut self, now_us: u64) {
        self.send_ready(now_us, true);
    }

    /// Gather every partition's due batch and send them, grouped by the gateway chosen for each.
    pub(super) fn send_ready(&mut self, now_us: u64, full_only: bool) {
        if self.buffered == 0 {
            return;
        }
        let now_ms = now_us / 1000;
        let mut by_gateway: ByDestination<usize, PartFlight> = ByDestination::new();
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
                by_gateway.group(gateway).push(PartFlight {
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
}
