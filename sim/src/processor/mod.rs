//! A stream processor instance (a Kafka Streams instance or a Flink task
//! manager): a member of the consumer group that runs one task per
//! assigned partition, fetches committed records from partition leaders,
//! and commits to the sink. Everything here dies with the node; what
//! survives is in the sink (checkpoints) and the coordinator's store.

mod eos;
pub mod output_topic;
pub mod positions;
pub(crate) mod task;
pub(crate) mod transactions;
mod wakeups;

use crate::clock;
use crate::config::ProcessorConfig;
use crate::consumer_fetches::{ByLeader, Fetcher};
use crate::ids::{Addr, PartitionId};
use crate::log::last_stable_offset::AbortedTxn;
use crate::msg::Msg;
use crate::partition_map::PartitionMap;
use crate::resources::Cpu;
use crate::wire::{ConsumerFetchResult, ReadMsg, SinkError};
use crate::world::{Shared, TimelineKind};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use task::{InFlight, Phase, Task};

/// Wait after a fetch that found no leader, before asking the metadata again, ms.
const NO_LEADER_WAIT_MS: u64 = 50;
/// Cores of a processor instance.
const CORES: usize = 2;

struct Processor {
    sh: Arc<Shared>,
    idx: usize,
    addr: Addr,
    incarnation: u64,
    cfg: ProcessorConfig,
    generation: u64,
    /// The newest generation the coordinator said is being replaced: an assignment of
    /// it or an older one that arrives late is stale.
    superseded_gen: u64,
    /// A rebalance asked this member to give up its partitions, since then (ms): it
    /// commits what it processed first, then rejoins.
    revoking_since_ms: Option<u64>,
    /// The member holds no partition and waits for the next generation.
    revoked: bool,
    last_group_ms: u64,
    /// Tasks by partition.
    tasks: PartitionMap<Task>,
    /// Fetches under way: request id to (partitions, sent ms).
    fetches: crate::consumer_fetches::FetchesInFlight,
    next_req: u64,
    next_heartbeat_ms: u64,
    cpu: Cpu,
    /// The instance's cores as its tasks' threads see them (`task_us_per_record`): tasks
    /// queue for them among themselves, apart from the polling loop's own work on `cpu`.
    task_cpu: Cpu,
    /// The CPU is busy with processed records until then, µs: nothing leaves before.
    busy_until_us: u64,
    /// The instance's transactional producer (`exactly_once_txn`).
    eos: Option<eos::EosProducer>,
}

/// Entry point of a processor node (also after a restart).
pub async fn processor_main(sh: Arc<Shared>, idx: usize) {
    let addr = sh.layout.processor(idx);
    let incarnation = sh.next_incarnation(addr);
    let first_start_ms = idx as u64 * sh.scenario.processor.start_stagger_ms;
    if incarnation == 1 && first_start_ms > clock::now_ms() {
        clock::sleep_until_ms(first_start_ms).await;
    }
    sh.timeline(
        TimelineKind::NodeStarted,
        &format!("processor-{idx} started (incarnation {incarnation})"),
        &[addr.0 as u64],
    );
    let cfg = sh.scenario.processor.clone();
    let mut p = Processor {
        cfg,
        sh: sh.clone(),
        idx,
        addr,
        incarnation,
        generation: 0,
        superseded_gen: 0,
        revoking_since_ms: None,
        revoked: true,
        last_group_ms: clock::now_ms(),
        tasks: PartitionMap::default(),
        fetches: BTreeMap::new(),
        next_req: incarnation << 40,
        next_heartbeat_ms: clock::now_ms(),
        cpu: Cpu::new(CORES),
        task_cpu: Cpu::new(CORES),
        busy_until_us: 0,
        eos: eos::EosProducer::for_instance(
            output_topic::enabled(&sh.scenario.processor),
            idx,
            incarnation,
            clock::now_ms(),
        ),
    };
    if p.eos.is_some() {
        p.not_in_txn();
    }
    // A new process holds nothing until the group gives it tasks.
    sh.processor_positions.lock().expect("positions lock").clear(idx);
    let mut inbox = Vec::new();
    loop {
        // Event driven: the instance sleeps until a message or its next timer.
        let until = p.next_wake_ms(clock::now_ms());
        let now_us = sh.fabric.recv(addr, until, &mut inbox).await;
        for env in inbox.drain(..) {
            match env.msg {
                Msg::Read(m) => p.handle(m, now_us),
                Msg::Txn(m) => p.eos_on_txn(m, now_us),
                Msg::ProduceReply { req, results } => p.eos_on_produce_reply(req, results, now_us),
                _ => {}
            }
        }
        p.drive(now_us);
        sh.processor_positions
            .lock()
            .expect("positions lock")
            .publish(idx, p.tasks.iter().map(|(part, t)| (part, t.position)));
    }
}

impl Processor {
    fn req(&mut self) -> u64 {
        self.next_req += 1;
        self.next_req
    }

    fn send(&self, dst: Addr, m: ReadMsg, at_us: u64) {
        self.sh.fabric.send(self.addr, dst, Msg::Read(m), at_us);
    }

    fn handle(&mut self, m: ReadMsg, now_us: u64) {
        let now_ms = now_us / 1000;
        match m {
            ReadMsg::GroupState {
                generation,
                partitions,
                rebalancing,
            } => {
                self.last_group_ms = now_ms;
                self.on_group_state(generation, partitions, rebalancing, now_ms);
            }
            ReadMsg::ConsumerFetchReply { req, parts } => self.on_fetch_reply(req, parts, &[], now_us),
            ReadMsg::ReadCommittedFetchReply { req, parts, aborted } => {
                self.on_fetch_reply(req, parts, &aborted, now_us)
            }
            ReadMsg::SinkLoaded { req, partition, result } => {
                let Some(t) = self.tasks.get_mut(&partition) else {
                    return;
                };
                if t.phase != Phase::Loading || t.load.map(|(r, _)| r) != Some(req) {
                    return;
                }
                match result {
                    Ok(c) => {
                        t.resume(
                            c.as_deref(),
                            (self.sh.plugins.operator)(),
                            now_ms,
                            self.cfg.commit_interval_ms,
                        );
                        let at = t.position;
                        self.sh.timeline(
                            TimelineKind::TaskResumed,
                            &format!(
                                "processor-{} resumed partition {partition} at offset {at} (generation {})",
                                self.idx, self.generation
                            ),
                            &[partition as u64, at, self.generation],
                        );
                    }
                    Err(_) => {
                        // A newer generation claimed the partition: this member is behind; the group will tell it.
                        self.tasks.remove(&partition);
                    }
                }
            }
            ReadMsg::SinkTxnReply { req, partition, result } => {
                let Some(t) = self.tasks.get_mut(&partition) else {
                    return;
                };
                if t.in_flight.as_ref().map(|f| f.req) != Some(req) {
                    return;
                }
                match result {
                    Ok(()) => {
                        if self.sh.layout.reader {
                            let rows = t.in_flight.as_ref().map(|f| f.rows.clone()).unwrap_or_default();
                            crate::serving::writer::after_commit(&self.sh, self.addr, &rows, now_us);
                        }
                        t.committed_ok()
                    }
                    Err(SinkError::Fenced) => {
                        self.tasks.remove(&partition);
                    }
                    Err(SinkError::Conflict) => {
                        // Someone else committed since this task loaded: its state is stale, start over.
                        let fresh = Task::new(partition, (self.sh.plugins.operator)());
                        self.tasks.insert(partition, fresh);
                    }
                }
            }
            _ => {}
        }
    }

    /// The coordinator's answer: a new generation to adopt, or a rebalance to revoke for.
    fn on_group_state(&mut self, generation: u64, partitions: Vec<PartitionId>, rebalancing: bool, now_ms: u64) {
        if rebalancing {
            if generation < self.generation {
                return; // a reply from before this member's current generation
            }
            let newly = generation > self.superseded_gen;
            self.superseded_gen = self.superseded_gen.max(generation);
            if self.revoked {
                if newly {
                    // Tell the coordinator at once that this member heard of it and holds nothing.
                    self.next_heartbeat_ms = now_ms;
                }
            } else if self.revoking_since_ms.is_none() {
                self.revoking_since_ms = Some(now_ms);
                if !self.cfg.commit_on_revoke {
                    self.give_up_partitions(now_ms, "without committing (commit_on_revoke = false)");
                }
            }
        } else if generation > self.generation.max(self.superseded_gen) {
            // Eager protocol: every partition starts afresh from its checkpoint.
            self.generation = generation;
            self.revoked = false;
            self.revoking_since_ms = None;
            self.fetches.clear();
            self.tasks = partitions
                .into_iter()
                .map(|p| (p, Task::new(p, (self.sh.plugins.operator)())))
                .collect();
        }
    }

    /// Drop every task and rejoin the group with the next heartbeat, sent now.
    fn give_up_partitions(&mut self, now_ms: u64, how: &str) {
        let parts: Vec<PartitionId> = self.tasks.keys().collect();
        let waited = self.revoking_since_ms.map_or(0, |t| now_ms - t);
        self.sh.timeline(
            TimelineKind::Rebalance,
            &format!(
                "processor-{} revoked partitions {parts:?} of generation {} {how}, {waited} ms into the rebalance, and rejoins",
                self.idx, self.generation
            ),
            &[self.idx as u64, self.generation, parts.len() as u64],
        );
        self.tasks.clear();
        self.fetches.clear();
        self.revoked = true;
        self.revoking_since_ms = None;
        self.next_heartbeat_ms = now_ms;
    }

    /// While revoking: once every task committed what it processed (or the rebalance
    /// timeout passed), give the partitions up.
    fn revoke_if_committed(&mut self, now_ms: u64) {
        let Some(since) = self.revoking_since_ms else {
            return;
        };
        if self.tasks.values().all(Task::quiescent) {
            self.give_up_partitions(now_ms, "once committed");
        } else if now_ms >= since + self.cfg.rebalance_timeout_ms {
            self.give_up_partitions(now_ms, "with uncommitted work (rebalance timeout)");
        }
    }

    fn on_fetch_reply(
        &mut self,
        req: u64,
        parts: Vec<(PartitionId, ConsumerFetchResult)>,
        aborted: &[(PartitionId, Vec<AbortedTxn>)],
        now_us: u64,
    ) {
        let now_ms = now_us / 1000;
        if self.fetches.remove(&req).is_none() {
            return;
        }
        let mut processed = 0;
        for (p, r) in parts {
            let Some(t) = self.tasks.get_mut(&p) else { continue };
            if !t.fetching {
                continue;
            }
            t.fetching = false;
            if self.revoking_since_ms.is_some() {
                // Revoking: what was fetched is left for the next owner, as a consumer
                // discards its buffered records at a rebalance.
                continue;
            }
            match r {
                ConsumerFetchResult::Records { batches, hw } => {
                    let aborted = aborted.iter().find(|(q, _)| *q == p).map_or(&[][..], |(_, a)| &a[..]);
                    let (batches, skip_to) =
                        transactions::consumable(&self.sh, p, t.position, batches, hw, aborted, now_ms);
                    let records = batches.iter().flat_map(|b| {
                        let base = b.base_offset;
                        b.records.iter().enumerate().map(move |(i, r)| (base + i as u64, r))
                    });
                    let n = t.process(records, hw, now_ms, self.cfg.salt.as_ref());
                    t.position = t.position.max(skip_to);
                    if n > 0 && self.cfg.task_us_per_record > 0.0 {
                        // The task's one thread takes its records in turn, on a core of the instance.
                        let cost = (n as f64 * self.cfg.task_us_per_record) as u64;
                        t.busy_until_us = self.task_cpu.run(now_us.max(t.busy_until_us), cost);
                    }
                    // Nothing new came back only after the broker's long poll ran out:
                    // the next fetch leaves at once and waits there in turn.
                    t.caught_up = n == 0 && t.position >= hw;
                    processed += n;
                }
                ConsumerFetchResult::NotLeader => t.idle_until_ms = now_ms + NO_LEADER_WAIT_MS,
                ConsumerFetchResult::OutOfRange { hw } => {
                    // The log was truncated under the consumer (unclean election): `auto.offset.reset=latest`.
                    t.position = hw;
                }
            }
        }
        if processed > 0 {
            let cost = (processed as f64 * self.cfg.cpu_per_record_us) as u64;
            self.busy_until_us = self.cpu.run(now_us, cost);
        }
    }

    fn drive(&mut self, now_us: u64) {
        let now_ms = now_us / 1000;
        self.revoke_if_committed(now_ms);
        if now_ms >= self.next_heartbeat_ms {
            self.next_heartbeat_ms = now_ms + self.cfg.heartbeat_interval_ms;
            let ctl = self.sh.layout.controller();
            self.send(
                ctl,
                ReadMsg::GroupHeartbeat {
                    group: crate::wire::GroupId::Processors,
                    member: self.idx,
                    incarnation: self.incarnation,
                    seen_generation: self.generation.max(self.superseded_gen),
                    revoked: self.revoked,
                },
                now_us,
            );
        }
        self.expire_fetches(now_ms);
        let depart = now_us.max(self.busy_until_us);
        let revoking = self.revoking_since_ms.is_some();
        if !revoking {
            self.loads(now_ms, depart);
            for t in self
                .tasks
                .values_mut()
                .filter(|t| t.phase == Phase::Running && !t.finished)
            {
                t.tick(now_ms);
            }
            self.finish_if_done(now_ms);
        }
        self.commits(now_ms, depart, revoking);
        if !revoking {
            self.fetch(now_ms, depart);
        }
    }

    /// Abandon fetches unanswered past the timeout, so their partitions are fetched again.
    fn expire_fetches(&mut self, now_ms: u64) {
        for p in crate::consumer_fetches::expire(&mut self.fetches, now_ms, self.cfg.fetch_max_wait_ms) {
            if let Some(t) = self.tasks.get_mut(&p) {
                t.fetching = false;
            }
        }
    }

    fn loads(&mut self, now_ms: u64, depart: u64) {
        if self.eos.is_some() {
            self.eos_loads(now_ms);
            return;
        }
        let sink = self.sh.layout.sink();
        let timeout = self.cfg.sink_timeout_ms;
        let mut sends = Vec::new();
        for t in self.tasks.values_mut() {
            if t.phase != Phase::Loading || now_ms < t.backoff_until_ms {
                continue;
            }
            if let Some((_, sent)) = t.load {
                if now_ms < sent + timeout {
                    continue;
                }
                t.backoff_ms =
                    (t.backoff_ms * 2).clamp(self.cfg.sink_retry_backoff_ms, self.cfg.sink_retry_backoff_max_ms);
                t.backoff_until_ms = now_ms + t.backoff_ms;
                t.load = None;
                continue;
            }
            sends.push(t.partition);
        }
        for p in sends {
            let req = self.req();
            self.tasks.get_mut(&p).expect("task").load = Some((req, now_ms));
            let generation = self.generation;
            self.send(
                sink,
                ReadMsg::SinkLoad {
                    req,
                    partition: p,
                    generation,
                },
                depart,
            );
        }
    }

    /// Once the write path drained and a task consumed its whole partition, fire its windows.
    /// `caught_up` is what the task's last fetch saw: records committed after that fetch and
    /// before the input closed are still to be read, so the task must also have reached the
    /// partition's final high watermark.
    fn finish_if_done(&mut self, now_ms: u64) {
        if !self.sh.input_closed.load(Ordering::Relaxed) {
            return;
        }
        for (p, t) in self.tasks.iter_mut() {
            if t.phase == Phase::Running
                && !t.finished
                && t.caught_up
                && !t.fetching
                && t.position >= self.sh.committed_hw(p)
            {
                t.finish(now_ms);
            }
        }
    }

    /// Send the transactions that are due; `now` commits whatever was processed at once
    /// (the commit before a revocation).
    fn commits(&mut self, now_ms: u64, depart: u64, now: bool) {
        if self.eos.is_some() {
            self.eos_commits(now_ms, depart, now);
            return;
        }
        let sink = self.sh.layout.sink();
        let c = &self.cfg;
        let (delivery, interval) = (c.delivery, c.commit_interval_ms);
        let (timeout, bmin, bmax) = (c.sink_timeout_ms, c.sink_retry_backoff_ms, c.sink_retry_backoff_max_ms);
        let mut out: Vec<(PartitionId, InFlight, u64)> = Vec::new();
        let mut next_req = self.next_req;
        for t in self.tasks.values_mut() {
            // Rows leave once the task's thread has produced them.
            let depart = depart.max(t.busy_until_us);
            if let Some(f) = t.retry_due(now_ms, timeout, bmin, bmax) {
                out.push((t.partition, f, depart));
            } else if t.in_flight.is_none() {
                if let Some(f) = t.next_txn(delivery, now_ms, interval, next_req + 1, now) {
                    next_req += 1;
                    out.push((t.partition, f, depart));
                }
            }
        }
        self.next_req = next_req;
        for (p, f, depart) in out {
            self.send(
                sink,
                ReadMsg::SinkTxn {
                    req: f.req,
                    partition: p,
                    generation: self.generation,
                    fenced: f.fenced,
                    rows: f.rows,
                    checkpoint: f.checkpoint,
                },
                depart,
            );
        }
    }

    fn fetch(&mut self, now_ms: u64, depart: u64) {
        let (delivery, max_pending) = (self.cfg.delivery, self.cfg.max_pending_rows);
        let md = self.sh.metadata.lock().expect("metadata lock");
        let mut by_leader = ByLeader::new();
        for t in self.tasks.values_mut() {
            if !t.wants_fetch(delivery, max_pending, now_ms) || t.busy_until_us > depart {
                continue;
            }
            match md.get(t.partition).and_then(|s| s.leader) {
                Some(l) => {
                    t.fetching = true;
                    by_leader.group(l).push((t.partition, t.position));
                }
                None => t.idle_until_ms = now_ms + NO_LEADER_WAIT_MS,
            }
        }
        drop(md);
        let fetcher = Fetcher {
            sh: &self.sh,
            from: self.addr,
            max_bytes: self.cfg.fetch_max_bytes,
            max_wait_ms: self.cfg.fetch_max_wait_ms,
        };
        let sent = fetcher.send(by_leader, &mut self.fetches, &mut self.next_req, now_ms, depart);
        self.sh
            .consumer_fetches
            .fetch_add(sent, std::sync::atomic::Ordering::Relaxed);
    }
}
