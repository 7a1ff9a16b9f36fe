//! The controller (KRaft's active controller): tracks broker liveness by
//! heartbeats, fences brokers silent past the session timeout, elects
//! leaders from the ISR (or from any live replica when unclean election is
//! on), and commits ISR changes the leaders propose. Its state is its
//! metadata log, which survives a controller crash.

use crate::clock;
use crate::ids::BrokerId;
use crate::msg::{Msg, PartitionState};
use crate::world::{Shared, TimelineKind};
use std::collections::BTreeSet;
use std::sync::Arc;

const TICK_MS: u64 = 100;

/// The controller's durable state.
#[derive(Debug, Clone, Default)]
pub struct ControllerStore {
    /// Every partition's state.
    pub parts: Vec<PartitionState>,
    /// Whether each broker is registered and unfenced.
    pub alive: Vec<bool>,
    /// Incarnation each broker last registered with (0: never).
    pub incarnation: Vec<u64>,
    /// Whether the store was initialised.
    pub initialised: bool,
}

struct Controller {
    sh: Arc<Shared>,
    last_heartbeat_ms: Vec<u64>,
}

/// Entry point of the controller node (also after a restart).
pub async fn controller_main(sh: Arc<Shared>) {
    let now = clock::now_ms();
    let brokers = sh.layout.brokers;
    let mut c = Controller {
        sh: sh.clone(),
        last_heartbeat_ms: vec![now; brokers],
    };
    c.bootstrap();
    sh.group.lock().expect("group lock").coordinator_restarted(now);
    let addr = sh.layout.controller();
    let mut next_tick = now;
    loop {
        let batch = sh.fabric.recv(addr, next_tick.max(clock::now_ms() + 1)).await;
        for env in batch {
            match env.msg {
                Msg::Heartbeat { broker, incarnation } => c.on_heartbeat(broker, incarnation),
                Msg::AlterPartition {
                    broker,
                    partition,
                    leader_epoch,
                    partition_epoch,
                    isr,
                } => c.on_alter(broker, partition, leader_epoch, partition_epoch, isr),
                // The processor group's coordinator runs beside the controller.
                Msg::Read(crate::wire::ReadMsg::GroupHeartbeat {
                    member,
                    incarnation,
                    seen_generation,
                    revoked,
                }) => {
                    let beat = crate::consumer_group::Beat {
                        member,
                        incarnation,
                        seen_generation,
                        revoked,
                    };
                    let out = crate::consumer_group::on_heartbeat(&sh, beat, clock::now_ms());
                    if let Some(reply) = out.reply {
                        sh.fabric.send(addr, env.src, Msg::Read(reply), clock::now_us());
                    }
                    push_group_states(&sh, out.pushes);
                }
                _ => {}
            }
        }
        let now = clock::now_ms();
        if now >= next_tick {
            next_tick = now + TICK_MS;
            c.check_sessions(now);
            let out = crate::consumer_group::tick(&sh, now);
            push_group_states(&sh, out.pushes);
        }
    }
}

/// Send a completed generation's assignments to its members (the JoinGroup responses).
fn push_group_states(sh: &Shared, pushes: Vec<(usize, crate::wire::ReadMsg)>) {
    let from = sh.layout.controller();
    for (member, m) in pushes {
        sh.fabric
            .send(from, sh.layout.processor(member), Msg::Read(m), clock::now_us());
    }
}

impl Controller {
    fn store(&self) -> std::sync::MutexGuard<'_, ControllerStore> {
        self.sh.controller.lock().expect("controller lock")
    }

    fn bootstrap(&mut self) {
        let mut st = self.store();
        if st.initialised {
            return;
        }
        st.initialised = true;
        st.alive = vec![true; self.sh.layout.brokers];
        st.incarnation = vec![0; self.sh.layout.brokers];
        st.parts = self
            .sh
            .assignment
            .iter()
            .enumerate()
            .map(|(p, replicas)| PartitionState {
                partition: p,
                leader: Some(replicas[0]),
                leader_epoch: 1,
                partition_epoch: 1,
                isr: replicas.clone(),
                replicas: replicas.clone(),
            })
            .collect();
        let all: BTreeSet<usize> = (0..st.parts.len()).collect();
        drop(st);
        self.publish(&all);
    }

    /// Push the state of `changed` partitions to their live replicas and to the metadata cache.
    fn publish(&self, changed: &BTreeSet<usize>) {
        let st = self.store();
        let mut per_broker: Vec<Vec<PartitionState>> = vec![Vec::new(); self.sh.layout.brokers];
        for &p in changed {
            let s = &st.parts[p];
            for &b in &s.replicas {
                if st.alive[b] {
                    per_broker[b].push(s.clone());
                }
            }
        }
        self.sh.publish_metadata(&st.parts);
        drop(st);
        let now_us = clock::now_us();
        for (b, states) in per_broker.into_iter().enumerate() {
            if !states.is_empty() {
                let dst = self.sh.layout.broker(b);
                self.sh
                    .fabric
                    .send(self.sh.layout.controller(), dst, Msg::LeaderAndIsr { states }, now_us);
            }
        }
    }

    /// The current state of every partition `b` replicates, sent to `b` again.
    fn resend(&self, b: BrokerId) {
        let states: Vec<PartitionState> = self
            .store()
            .parts
            .iter()
            .filter(|s| s.replicas.contains(&b))
            .cloned()
            .collect();
        if !states.is_empty() {
            let dst = self.sh.layout.broker(b);
            self.sh.fabric.send(
                self.sh.layout.controller(),
                dst,
                Msg::LeaderAndIsr { states },
                clock::now_us(),
            );
        }
    }

    fn on_heartbeat(&mut self, b: BrokerId, incarnation: u64) {
        self.last_heartbeat_ms[b] = clock::now_ms();
        let (alive, known) = {
            let st = self.store();
            (st.alive[b], st.incarnation[b])
        };
        if alive && known == incarnation {
            // KRaft brokers pull the metadata log, so a lost update is fetched again. Push-only
            // LeaderAndIsr would strand a broker that missed one (a lossy or one-way link to it)
            // forever; answering each heartbeat with the broker's current states closes that gap.
            self.resend(b);
            return;
        }
        if alive && known != 0 {
            // A restart the session timeout did not notice: its in-memory state is gone.
            self.fence(b);
        }
        self.unfence(b, incarnation);
    }

    fn check_sessions(&mut self, now: u64) {
        let timeout = self.sh.scenario.log.broker_session_timeout_ms;
        for b in 0..self.sh.layout.brokers {
            let alive = self.store().alive[b];
            if alive && now.saturating_sub(self.last_heartbeat_ms[b]) > timeout {
                self.fence(b);
            }
        }
    }

    fn fence(&mut self, b: BrokerId) {
        let unclean = self.sh.scenario.log.unclean_leader_election;
        let mut changed = BTreeSet::new();
        let mut notes = Vec::new();
        {
            let mut st = self.store();
            st.alive[b] = false;
            let alive = st.alive.clone();
            for s in st.parts.iter_mut() {
                if !s.replicas.contains(&b) {
                    continue;
                }
                let mut touched = false;
                // KRaft keeps the last ISR member so a clean election stays possible when it returns.
                if s.isr.contains(&b) && s.isr.len() > 1 {
                    s.isr.retain(|&x| x != b);
                    touched = true;
                }
                if s.leader == Some(b) {
                    let clean = s
                        .replicas
                        .iter()
                        .copied()
                        .find(|r| *r != b && alive[*r] && s.isr.contains(r));
                    let new_leader = clean.or_else(|| {
                        if unclean {
                            s.replicas.iter().copied().find(|r| *r != b && alive[*r])
                        } else {
                            None
                        }
                    });
                    if let Some(l) = new_leader {
                        if clean.is_none() {
                            s.isr = vec![l];
                            notes.push((
                                format!(
                                    "UNCLEAN election: broker-{l} leads partition {} without being in sync",
                                    s.partition
                                ),
                                vec![
                                    ("partition".into(), serde_json::json!(s.partition)),
                                    ("leader".into(), serde_json::json!(l)),
                                    ("unclean".into(), serde_json::json!(true)),
                                ],
                            ));
                        }
                    }
                    s.leader = new_leader;
                    s.leader_epoch += 1;
                    touched = true;
                    notes.push((
                        format!(
                            "partition {} leader broker-{b} -> {} at epoch {}",
                            s.partition,
                            new_leader.map_or_else(|| "none".to_string(), |l| format!("broker-{l}")),
                            s.leader_epoch
                        ),
                        vec![
                            ("partition".into(), serde_json::json!(s.partition)),
                            ("previous".into(), serde_json::json!(b)),
                            ("leader".into(), serde_json::json!(new_leader)),
                            ("leader_epoch".into(), serde_json::json!(s.leader_epoch)),
                        ],
                    ));
                }
                if touched {
                    s.partition_epoch += 1;
                    changed.insert(s.partition);
                }
            }
        }
        self.sh.timeline(
            TimelineKind::Fenced,
            &format!("controller fences broker-{b}"),
            &[b as u64],
        );
        for (text, fields) in notes {
            self.sh
                .timeline_with(TimelineKind::Election, &text, &[b as u64], fields);
        }
        self.publish(&changed);
    }

    fn unfence(&mut self, b: BrokerId, incarnation: u64) {
        let unclean = self.sh.scenario.log.unclean_leader_election;
        let mut changed = BTreeSet::new();
        {
            let mut st = self.store();
            st.alive[b] = true;
            st.incarnation[b] = incarnation;
            for s in st.parts.iter_mut() {
                if !s.replicas.contains(&b) {
                    continue;
                }
                changed.insert(s.partition);
                if s.leader.is_none() && (s.isr.contains(&b) || unclean) {
                    if !s.isr.contains(&b) {
                        s.isr = vec![b];
                    }
                    s.leader = Some(b);
                    s.leader_epoch += 1;
                    s.partition_epoch += 1;
                }
            }
        }
        self.sh.timeline(
            TimelineKind::Registered,
            &format!("broker-{b} registers (incarnation {incarnation})"),
            &[b as u64, incarnation],
        );
        self.publish(&changed);
    }

    fn on_alter(&mut self, b: BrokerId, p: usize, leader_epoch: u32, partition_epoch: u32, isr: Vec<BrokerId>) {
        let mut changed = BTreeSet::new();
        let mut expanded = None;
        {
            let mut st = self.store();
            let alive = st.alive.clone();
            let s = &mut st.parts[p];
            changed.insert(p);
            let valid = s.leader == Some(b)
                && s.leader_epoch == leader_epoch
                && s.partition_epoch == partition_epoch
                && isr.contains(&b)
                && isr
                    .iter()
                    .all(|r| s.replicas.contains(r) && (s.isr.contains(r) || alive[*r]));
            if valid {
                if isr.len() > s.isr.len() {
                    expanded = Some((s.isr.clone(), isr.clone()));
                }
                s.isr = isr;
                s.partition_epoch += 1;
            }
        }
        if let Some((old, new)) = expanded {
            self.sh.timeline_with(
                TimelineKind::IsrExpand,
                &format!("controller commits ISR {old:?} -> {new:?} for partition {p} (leader broker-{b})"),
                &[p as u64, new.len() as u64],
                vec![
                    ("partition".into(), serde_json::json!(p)),
                    ("leader".into(), serde_json::json!(b)),
                    ("isr_before".into(), serde_json::json!(old)),
                    ("isr".into(), serde_json::json!(new)),
                ],
            );
        }
        // Valid or not, the leader learns the committed state.
        self.publish(&changed);
    }
}
