//! A broker node: its main loop, its reaction to the controller's
//! decisions, heartbeats, flushing and high-watermark checkpoints. The
//! leader side of replication is in `leader.rs`, the follower side in
//! `follower.rs`.

use super::replica::{LeaderState, Replica, Role};
use crate::clock;
use crate::config::{FlushPolicy, Truncation};
use crate::ids::{Addr, BrokerId, PartitionId};
use crate::msg::{Msg, PartitionState};
use crate::world::{Shared, TimelineKind};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A follower fetch unanswered this long past the leader's wait is considered lost.
pub(super) const SESSION_TIMEOUT_SLACK_MS: u64 = 2_000;

/// A produce request waiting for its records to be replicated (Kafka's purgatory).
pub(super) struct PendingProduce {
    pub src: Addr,
    pub req: u64,
    pub results: Vec<(PartitionId, Result<u64, crate::msg::ProduceError>)>,
    /// (partition, base offset, end offset, leader epoch at append).
    pub waits: Vec<(PartitionId, u64, u64, u32)>,
    pub deadline_ms: u64,
    /// The reply cannot leave before the request's handling (CPU, disk, a
    /// write blocked at the dirty limit) is done.
    pub not_before_us: u64,
}

/// Who waits on a parked fetch: a follower (one fetch at a time each) or a
/// consumer's request (its address and request id).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Waiter {
    /// A follower replicating from this leader.
    Follower(BrokerId),
    /// A consumer's fetch (Kafka's long poll, `fetch.max.wait.ms`).
    Consumer(Addr, u64),
}

/// What a parked fetch asks for.
pub(super) enum ParkedAsk {
    /// A follower's fetch in its session.
    Follower {
        session: u64,
        parts: Vec<crate::msg::FetchPart>,
    },
    /// A consumer's fetch: (partition, fetch offset) and its size limit per partition.
    Consumer {
        parts: Vec<(PartitionId, u64)>,
        max_bytes: u64,
    },
}

/// A fetch with nothing to return yet, parked until data arrives or it expires.
pub(super) struct ParkedFetch {
    pub src: Addr,
    pub ask: ParkedAsk,
    pub deadline_ms: u64,
}

/// This broker's fetch session towards one leader.
#[derive(Default)]
pub(super) struct FetchSession {
    pub id: u64,
    pub in_flight: bool,
    pub sent_ms: u64,
}

/// A running broker. Everything here dies with the node; the logs live in
/// the shared per-broker disk.
pub struct Broker {
    pub(super) sh: Arc<Shared>,
    pub(super) id: BrokerId,
    pub(super) addr: Addr,
    pub(super) incarnation: u64,
    pub(super) parts: crate::partition_map::PartitionMap<Replica>,
    pub(super) purgatory: Vec<PendingProduce>,
    pub(super) parked: BTreeMap<Waiter, ParkedFetch>,
    pub(super) sessions: BTreeMap<BrokerId, FetchSession>,
    pub(super) next_session: u64,
    /// The newest fetch request id served per follower: an older or repeated one is a
    /// duplicated or delayed copy, refused as KIP-227 refuses a stale session epoch.
    pub(super) fetch_seen: BTreeMap<BrokerId, u64>,
    /// Per leader, when the fetcher thread's last append returns from a write()
    /// blocked at the page cache's dirty limit; its next fetch leaves then.
    pub(super) fetcher_blocked_until_us: BTreeMap<BrokerId, u64>,
    /// Before this virtual ms, `send_fetches` has nothing to send: every leader
    /// followed has a fetch in flight or backs off until then. 0 once a
    /// session ends or roles change.
    pub(super) fetches_idle_until_ms: u64,
    /// What this broker, leading, may still send the replicas a reassignment adds.
    pub(super) throttle: super::throttle::Throttle,
    /// The previous run ended in a power loss; every heartbeat says so, and the
    /// controller reads it when it sees this incarnation for the first time.
    unclean_shutdown: bool,
    /// The transaction coordinator this broker hosts: its marker requests in flight.
    pub(super) txn: super::transaction_host::CoordinatorHost,
    next_heartbeat_ms: u64,
    next_flush_ms: u64,
    next_writeback_ms: u64,
    next_checkpoint_ms: u64,
    /// A time no later than [`Broker::replicas_due_ms`], kept so by
    /// [`Broker::due_by`] wherever a deadline is added; 0 once the replicas'
    /// roles or ISRs change. Every other change only moves deadlines later, so
    /// the walk over every replica runs only once this bound has passed, not on
    /// every wake-up, which comes with nearly every message.
    replicas_due_floor: u64,
}

/// How often a provisioned broker slot looks whether the autoscaler admitted it.
const SLOT_POLL_MS: u64 = 100;

/// Entry point of a broker node (also after a restart).
pub async fn broker_main(sh: Arc<Shared>, id: BrokerId) {
    loop {
        // A slot past the cluster's size idles until the autoscaler admits it.
        while !is_member(&sh, id) {
            clock::sleep_until_ms(clock::now_ms() + SLOT_POLL_MS).await;
        }
        let mut b = Broker::start(sh.clone(), id);
        let mut now_us = clock::now_us();
        let mut inbox = Vec::new();
        loop {
            let until = b.next_timer_ms(now_us / 1000);
            now_us = sh.fabric.recv(b.addr, until, &mut inbox).await;
            for env in inbox.drain(..) {
                b.handle(env.src, env.msg, now_us);
            }
            b.on_timers(now_us);
            b.send_fetches(now_us);
            // A retired broker (its replicas all moved off) stops and idles in its slot.
            if sh.autoscale.is_some() && !is_member(&sh, id) {
                break;
            }
        }
    }
}

/// Whether broker `b` is in the cluster (always, without autoscaling).
fn is_member(sh: &Shared, b: BrokerId) -> bool {
    sh.autoscale
        .as_ref()
        .is_none_or(|a| b < a.lock().expect("autoscale lock").members)
}

impl Broker {
    fn start(sh: Arc<Shared>, id: BrokerId) -> Self {
        let addr = sh.layout.broker(id);
        let incarnation = sh.next_incarnation(addr);
        let now = clock::now_ms();
        let mut parts = crate::partition_map::PartitionMap::default();
        let unclean_shutdown;
        {
            let mut disk = sh.disks[id].lock().expect("disk lock");
            unclean_shutdown = std::mem::take(&mut disk.unclean_shutdown);
            // With autoscaling, replicas move: a broker hosts what its disk holds,
            // and takes on a new partition when the controller names it a replica.
            let hosted: Vec<PartitionId> = if sh.autoscale.is_some() {
                disk.logs.keys().collect()
            } else {
                (0..sh.assignment.len())
                    .filter(|&p| sh.assignment[p].contains(&id))
                    .collect()
            };
            for p in hosted {
                let log = disk.logs.get_or_default(p);
                // Pre-KIP-101 brokers cut to this checkpoint only when they become a follower
                // (apply_state), not here: a replica about to lead keeps its whole log.
                let hw = log.hw_checkpoint.min(log.leo());
                parts.insert(p, Replica::idle(hw));
            }
        }
        sh.resources[id]
            .lock()
            .expect("resources lock")
            .reset_queues(clock::now_us());
        sh.timeline(
            TimelineKind::NodeStarted,
            &format!("broker-{id} started (incarnation {incarnation})"),
            &[addr.0 as u64],
        );
        let throttle =
            super::throttle::Throttle::new(sh.scenario.autoscale.reassignment_throttle_mb_s, clock::now_us());
        let transactional =
            crate::processor::output_topic::transactions_on(sh.scenario.gateway.transactional, &sh.scenario.processor);
        // A coordinator's cache dies with its broker: the log is the truth.
        sh.txn.lock().expect("txn lock").store.drop_cache(id);
        Broker {
            sh,
            id,
            addr,
            incarnation,
            parts,
            purgatory: Vec::new(),
            parked: BTreeMap::new(),
            sessions: BTreeMap::new(),
            next_session: incarnation << 32,
            fetch_seen: BTreeMap::new(),
            fetcher_blocked_until_us: BTreeMap::new(),
            fetches_idle_until_ms: 0,
            throttle,
            unclean_shutdown,
            txn: super::transaction_host::CoordinatorHost::new(transactional, now),
            next_heartbeat_ms: now,
            next_flush_ms: now,
            next_writeback_ms: now,
            next_checkpoint_ms: now,
            replicas_due_floor: 0,
        }
    }

    /// The millisecond the broker next has something of its own to do, after `now_ms`.
    fn next_timer_ms(&mut self, now_ms: u64) -> u64 {
        self.next_heartbeat_ms
            .min(self.next_flush_ms)
            .min(self.next_writeback_ms)
            .min(self.next_checkpoint_ms)
            .min(self.replicas_due_bound(now_ms))
            .min(self.sessions_due_ms())
            .min(self.txn.next_drive_ms)
            .max(now_ms + 1)
    }

    /// When one of this broker's fetch sessions, as a follower, times out.
    ///
    /// Housekeeping is due at the earlier of this and [`Broker::replicas_due_ms`]:
    /// the first moment it has something to do. The broker sleeps until then rather
    /// than waking on a fixed tick, so an idle cluster costs nothing between events.
    fn sessions_due_ms(&self) -> u64 {
        let cfg = &self.sh.scenario.log;
        let session_limit = cfg.replica_fetch_wait_max_ms + SESSION_TIMEOUT_SLACK_MS;
        self.sessions
            .values()
            .filter(|s| s.in_flight)
            .map(|s| s.sent_ms + session_limit)
            .fold(u64::MAX, u64::min)
    }

    /// When housekeeping has something to do other than time out a fetch session: a
    /// parked fetch or a produce request reaching its deadline, a follower's error
    /// backoff ending, an ISR member falling `replica.lag.time.max.ms` behind, an
    /// unanswered ISR change to resend.
    fn replicas_due_ms(&self) -> u64 {
        let cfg = &self.sh.scenario.log;
        let now = clock::now_ms();
        let mut t = u64::MAX;
        t = self.parked.values().map(|pf| pf.deadline_ms).fold(t, u64::min);
        t = self.purgatory.iter().map(|pp| pp.deadline_ms).fold(t, u64::min);
        for r in self.parts.values() {
            match &r.role {
                Role::Follower { backoff_until_ms, .. } if *backoff_until_ms > now => t = t.min(*backoff_until_ms),
                Role::Leader(ls) => match &ls.pending_isr {
                    Some(_) => t = t.min(ls.alter_sent_ms + cfg.broker_heartbeat_interval_ms),
                    None => {
                        for b in r.isr.iter().filter(|&&b| b != self.id) {
                            // A member is lagging once more than lag_max has passed since it last caught up.
                            let due = ls
                                .followers
                                .get(b)
                                .map_or(now, |v| v.last_caught_up_ms + cfg.replica_lag_time_max_ms + 1);
                            t = t.min(due);
                        }
                    }
                },
                _ => {}
            }
        }
        t
    }

    /// [`Broker::replicas_due_ms`] or an earlier time: the walk runs again only
    /// once the kept bound has passed.
    fn replicas_due_bound(&mut self, now_ms: u64) -> u64 {
        if self.replicas_due_floor <= now_ms {
            self.replicas_due_floor = self.replicas_due_ms();
        }
        self.replicas_due_floor
    }

    /// Something of [`Broker::replicas_due_ms`] falls due at `ms`.
    pub(super) fn due_by(&mut self, ms: u64) {
        self.replicas_due_floor = self.replicas_due_floor.min(ms);
    }

    /// Send a message, leaving when the CPU finished with it.
    pub(super) fn send(&self, dst: Addr, msg: Msg, depart_us: u64) {
        self.sh.fabric.send(self.addr, dst, msg, depart_us);
    }

    /// Charge the CPU for a request of `bytes` that carries no records.
    pub(super) fn cpu(&self, now_us: u64, bytes: u64) -> u64 {
        self.cpu_records(now_us, crate::record_cost::RecordLoad::bytes(bytes))
    }

    /// Charge the CPU for a request carrying records (`load`).
    pub(super) fn cpu_records(&self, now_us: u64, load: crate::record_cost::RecordLoad) -> u64 {
        self.sh.resources[self.id]
            .lock()
            .expect("resources lock")
            .handle(now_us, load)
    }

    fn handle(&mut self, src: Addr, msg: Msg, now_us: u64) {
        match msg {
            Msg::Produce { req, acks, batches } => self.on_produce(src, req, acks, batches, now_us),
            Msg::Fetch {
                follower,
                session,
                parts,
            } => self.on_fetch(src, follower, session, parts, now_us),
            Msg::FetchReply { leader, session, parts } => self.on_fetch_reply(leader, session, parts, now_us),
            Msg::Read(crate::wire::ReadMsg::ConsumerFetch {
                req,
                parts,
                max_bytes,
                max_wait_ms,
            }) => self.on_consumer_fetch(src, req, parts, max_bytes, max_wait_ms, now_us),
            Msg::Txn(m) => self.on_txn(src, m, now_us),
            // Only a transaction coordinator's markers are answered to a broker.
            Msg::ProduceReply { req, results } => self.on_marker_reply(req, &results, now_us),
            Msg::LeaderAndIsr { states } => {
                let done = self.cpu(now_us, 0);
                let changed: Vec<PartitionId> = states.iter().map(|s| s.partition).collect();
                for s in states {
                    let p = s.partition;
                    self.apply_state(s, done);
                    self.advance_hw(p, done);
                }
                // A fetch parked here on a partition this broker no longer leads
                // learns it now rather than at the end of its wait.
                self.wake_parked_consumers(None, done);
                self.wake_parked_followers(&changed, done);
            }
            _ => {}
        }
    }

    /// Apply the controller's decision for one partition.
    fn apply_state(&mut self, s: PartitionState, now_us: u64) {
        let now_ms = now_us / 1000;
        // Roles, ISRs and followers may all change: what is due is walked again,
        // and whom to fetch from.
        self.replicas_due_floor = 0;
        self.fetches_idle_until_ms = 0;
        let id = self.id;
        let hw_mode = self.sh.scenario.log.truncation == Truncation::HighWatermark;
        if !self.parts.contains_key(&s.partition) && s.replicas.contains(&id) {
            self.host(s.partition);
        }
        let Some(r) = self.parts.get_mut(&s.partition) else {
            return;
        };
        // Older states are stale, and the same state again (the controller repeats it on
        // heartbeats) changes nothing: an ISR change this leader proposed stays pending.
        if s.leader_epoch < r.leader_epoch
            || (s.leader_epoch == r.leader_epoch && s.partition_epoch <= r.partition_epoch)
        {
            return;
        }
        if !s.replicas.contains(&id) {
            self.drop_replica(&s, now_us);
            return;
        }
        r.throttled = s.adding.clone();
        let new_epoch = s.leader_epoch > r.leader_epoch;
        let was_leader = matches!(r.role, Role::Leader(_));
        r.leader_epoch = s.leader_epoch;
        r.partition_epoch = s.partition_epoch;
        r.isr = s.isr.clone();
        match s.leader {
            Some(l) if l == id => {
                if let Role::Leader(ls) = &mut r.role {
                    if !new_epoch {
                        ls.pending_isr = None;
                        // A reassignment adds and removes followers without a new epoch.
                        ls.followers.retain(|f| s.replicas.contains(f));
                        for &f in s.replicas.iter().filter(|&&f| f != id) {
                            ls.followers.get_or_insert_with(f, || super::replica::FollowerView {
                                last_caught_up_ms: now_ms,
                                ..Default::default()
                            });
                        }
                        return;
                    }
                }
                let mut disk = self.sh.disks[id].lock().expect("disk lock");
                let log = disk.logs.get_mut(&s.partition).expect("hosted partition");
                log.assign_epoch(s.leader_epoch);
                let followers = s
                    .replicas
                    .iter()
                    .filter(|&&f| f != id)
                    .map(|&f| {
                        (
                            f,
                            super::replica::FollowerView {
                                last_caught_up_ms: now_ms,
                                ..Default::default()
                            },
                        )
                    })
                    .collect();
                let leo = log.leo();
                r.role = Role::Leader(LeaderState {
                    followers,
                    pending_isr: None,
                    alter_sent_ms: 0,
                    epoch_start: leo,
                });
                drop(disk);
                self.sh.counted_prefix.lock().expect("counted prefix lock").elected(
                    s.partition,
                    id,
                    s.leader_epoch,
                    leo,
                );
                self.sh.timeline(
                    TimelineKind::BecameLeader,
                    &format!(
                        "broker-{id} leads partition {} at epoch {} (isr {:?})",
                        s.partition, s.leader_epoch, s.isr
                    ),
                    &[s.partition as u64, id as u64, s.leader_epoch as u64],
                );
            }
            Some(l) => {
                if new_epoch || !matches!(r.role, Role::Follower { leader, .. } if leader == l) {
                    r.role = Role::Follower {
                        leader: l,
                        backoff_until_ms: 0,
                    };
                    if hw_mode {
                        // Kafka 0.10's makeFollower: truncate to the high watermark, the checkpointed one
                        // after a restart, which may be well behind what this replica had replicated.
                        let hw = r.hw;
                        let mut disk = self.sh.disks[id].lock().expect("disk lock");
                        let log = disk.logs.get_mut(&s.partition).expect("hosted partition");
                        super::truncation::truncate_on_timeline(
                            &self.sh,
                            id,
                            s.partition,
                            log,
                            hw,
                            "becoming a follower: pre-KIP-101 truncation to the high watermark",
                        );
                    }
                }
            }
            None => r.role = Role::Idle,
        }
        let leads_now = matches!(r.role, Role::Leader(_));
        if was_leader && !leads_now {
            self.fail_purgatory_for(s.partition, now_us);
        }
        if leads_now != was_leader || (leads_now && new_epoch) {
            self.state_role_changed(s.partition, leads_now, now_us);
        }
    }

    /// Take on a partition the controller names this broker a replica of (a
    /// reassignment's new replica): an empty log that fetches from the leader.
    fn host(&mut self, p: PartitionId) {
        let mut disk = self.sh.disks[self.id].lock().expect("disk lock");
        let log = disk.logs.get_or_default(p);
        let hw = log.hw_checkpoint.min(log.leo());
        self.parts.insert(p, Replica::idle(hw));
    }

    /// A reassignment moved this replica off: answer what waits on it, then delete it.
    fn drop_replica(&mut self, s: &PartitionState, now_us: u64) {
        let p = s.partition;
        if let Some(r) = self.parts.get_mut(&p) {
            r.role = Role::Idle;
        }
        self.fail_purgatory_for(p, now_us);
        self.parts.remove(&p);
        self.sh.disks[self.id].lock().expect("disk lock").logs.remove(&p);
        self.sh.timeline_with(
            TimelineKind::Reassignment,
            &format!(
                "broker-{} deletes its replica of partition {p}: the partition moved to {:?}",
                self.id, s.replicas
            ),
            &[p as u64, self.id as u64],
            vec![
                ("partition".into(), serde_json::json!(p)),
                ("broker".into(), serde_json::json!(self.id)),
                ("replicas".into(), serde_json::json!(s.replicas)),
            ],
        );
    }

    fn on_timers(&mut self, now_us: u64) {
        let now = now_us / 1000;
        let cfg = &self.sh.scenario.log;
        if now >= self.next_heartbeat_ms {
            self.next_heartbeat_ms = now + cfg.broker_heartbeat_interval_ms;
            let ctl = self.sh.layout.controller();
            self.send(
                ctl,
                Msg::Heartbeat {
                    broker: self.id,
                    incarnation: self.incarnation,
                    unclean_shutdown: self.unclean_shutdown,
                },
                now_us,
            );
        }
        if now >= self.next_flush_ms {
            // Kafka's own fsync of every log (`log.flush.interval.ms`).
            let interval = match cfg.flush {
                FlushPolicy::Interval { interval_ms } => Some(interval_ms),
                FlushPolicy::Os | FlushPolicy::EveryBatch | FlushPolicy::Never => None,
            };
            self.next_flush_ms = now + interval.unwrap_or(u64::MAX / 4);
            if interval.is_some() {
                let mut guard = self.sh.disks[self.id].lock().expect("disk lock");
                let disk = &mut *guard;
                let mut res = self.sh.resources[self.id].lock().expect("resources lock");
                disk.page_cache.sync_all(&mut disk.logs, &mut res.disk, now_us);
            }
        }
        if now >= self.next_writeback_ms {
            // The kernel's flusher threads, for whatever Kafka did not fsync itself.
            let r = &self.sh.scenario.resources;
            let period_ms = if cfg.flush.uses_page_cache() {
                r.dirty_writeback_centisecs * 10
            } else {
                u64::MAX / 4
            };
            self.next_writeback_ms = now + period_ms;
            if cfg.flush.uses_page_cache() {
                let mut guard = self.sh.disks[self.id].lock().expect("disk lock");
                let disk = &mut *guard;
                let mut res = self.sh.resources[self.id].lock().expect("resources lock");
                disk.page_cache.flusher_wakeup(&mut disk.logs, &mut res.disk, r, now_us);
            }
        }
        if now >= self.next_checkpoint_ms {
            self.next_checkpoint_ms = now + cfg.hw_checkpoint_interval_ms;
            let mut disk = self.sh.disks[self.id].lock().expect("disk lock");
            for (p, r) in &self.parts {
                if let Some(l) = disk.logs.get_mut(&p) {
                    l.hw_checkpoint = r.hw.min(l.leo());
                }
            }
        }
        self.drive_transactions(now_us, false);
        if now >= self.replicas_due_bound(now).min(self.sessions_due_ms()) {
            self.check_isr(now_us);
            self.expire_parked(now_us);
            self.expire_purgatory(now_us);
            self.expire_sessions(now);
            self.replicas_due_floor = 0;
        }
    }
}
