//! The controller (KRaft's active controller): tracks broker liveness by
//! heartbeats, fences brokers silent past the session timeout, elects
//! leaders from the ISR (then, with KIP-966's eligible leader replicas, from
//! the ELR, or from any live replica when unclean election is on), takes a
//! broker back from an unclean shutdown out of the ISR and ELR, and commits
//! ISR changes the leaders propose. Each decision is a
//! `partition_change::apply`. Its state is its metadata log, which survives
//! a controller crash.

use super::partition_change::{self, without, Change, Outcome, Rules, Source};
use crate::clock;
use crate::config::Truncation;
use crate::consumer_group as group;
use crate::ids::BrokerId;
use crate::msg::{Msg, PartitionState};
use crate::wire::GroupId;
use crate::world::{Shared, TimelineKind};

pub use super::metadata::ControllerStore;
use std::collections::BTreeSet;
use std::sync::Arc;

const TICK_MS: u64 = 100;

/// The controller's volatile state; its durable state is the [`ControllerStore`].
pub(super) struct Controller {
    pub(super) sh: Arc<Shared>,
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
    sh.lake_group
        .lock()
        .expect("lake group lock")
        .coordinator_restarted(now);
    for g in &sh.subscriptions.groups {
        g.lock().expect("subscription group lock").coordinator_restarted(now);
    }
    let addr = sh.layout.controller();
    let mut next_tick = now;
    let mut inbox = Vec::new();
    loop {
        sh.fabric
            .recv(addr, next_tick.max(clock::now_ms() + 1), &mut inbox)
            .await;
        for env in inbox.drain(..) {
            match env.msg {
                Msg::Heartbeat {
                    broker,
                    incarnation,
                    unclean_shutdown,
                } => c.on_heartbeat(broker, incarnation, unclean_shutdown),
                Msg::AlterPartition {
                    broker,
                    partition,
                    leader_epoch,
                    partition_epoch,
                    isr,
                } => c.on_alter(broker, partition, leader_epoch, partition_epoch, isr),
                // The groups' coordinators run beside the controller.
                Msg::Read(crate::wire::ReadMsg::GroupHeartbeat {
                    group: gid,
                    member,
                    incarnation,
                    seen_generation,
                    revoked,
                }) => {
                    let beat = group::Beat {
                        member,
                        incarnation,
                        seen_generation,
                        revoked,
                    };
                    let out = group_heartbeat(&sh, gid, beat, clock::now_ms());
                    if let Some(reply) = out.reply {
                        sh.fabric.send(addr, env.src, Msg::Read(reply), clock::now_us());
                    }
                    push_group_states(&sh, gid, out.pushes);
                }
                _ => {}
            }
        }
        let now = clock::now_ms();
        if now >= next_tick {
            next_tick = now + TICK_MS;
            c.check_sessions(now);
            let out = group_tick(&sh, GroupId::Processors, now);
            push_group_states(&sh, GroupId::Processors, out.pushes);
            if sh.layout.lake_writers > 0 {
                let out = group_tick(&sh, GroupId::Lake, now);
                push_group_states(&sh, GroupId::Lake, out.pushes);
            }
            for s in 0..sh.subscriptions.configs.len() {
                let out = group_tick(&sh, GroupId::Subscription(s), now);
                push_group_states(&sh, GroupId::Subscription(s), out.pushes);
            }
            if sh.autoscale.is_some() {
                c.autoscale(clock::now_us());
            }
        }
    }
}

/// Send a completed generation's assignments to its members (the JoinGroup responses).
fn push_group_states(sh: &Shared, gid: GroupId, pushes: Vec<(usize, crate::wire::ReadMsg)>) {
    let from = sh.layout.controller();
    for (member, m) in pushes {
        let to = match gid {
            GroupId::Processors => sh.layout.processor(member),
            GroupId::Lake => sh.layout.lake_writer(member),
            GroupId::Subscription(s) => sh.layout.subscriber(sh.subscriptions.global(s, member)),
        };
        sh.fabric.send(from, to, Msg::Read(m), clock::now_us());
    }
}

impl Controller {
    pub(super) fn store(&self) -> std::sync::MutexGuard<'_, ControllerStore> {
        self.sh.controller.lock().expect("controller lock")
    }

    fn bootstrap(&mut self) {
        let mut st = self.store();
        if st.initialised {
            return;
        }
        st.initialised = true;
        // Autoscaling provisions more broker slots than the cluster starts with.
        let members = self.sh.scenario.topology.brokers;
        st.alive = (0..self.sh.layout.brokers).map(|b| b < members).collect();
        st.incarnation = vec![0; self.sh.layout.brokers];
        st.parts = self
            .sh
            .assignment
            .iter()
            .enumerate()
            .map(|(p, replicas)| PartitionState::initial(p, replicas.clone()))
            .collect();
        let all: BTreeSet<usize> = (0..st.parts.len()).collect();
        drop(st);
        self.publish(&all);
    }

    /// Push the state of `changed` partitions to their live replicas and to the metadata cache.
    pub(super) fn publish(&self, changed: &BTreeSet<usize>) {
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

    /// The current state of every partition `b` replicates, or a reassignment took
    /// off it, sent to `b` again.
    fn resend(&self, b: BrokerId) {
        let st = self.store();
        let states: Vec<PartitionState> = st
            .parts
            .iter()
            .filter(|s| s.replicas.contains(&b) || st.dropped.contains(&(b, s.partition)))
            .cloned()
            .collect();
        drop(st);
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

    pub(super) fn rules(&self) -> Rules {
        let l = &self.sh.scenario.log;
        Rules {
            unclean: l.unclean_leader_election,
            elr: l.eligible_leader_replicas,
            min_isr: l.min_insync_replicas,
        }
    }

    fn on_heartbeat(&mut self, b: BrokerId, incarnation: u64, unclean_shutdown: bool) {
        // A heartbeat a retired broker sent before it learnt of its retirement
        // must not register it again.
        if !self.is_member(b) {
            return;
        }
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
        let restarted = known != 0 && known != incarnation;
        // A restart the session timeout did not notice: its in-memory state is gone, so KRaft
        // fences it. The pre-KIP-101 switch models ZooKeeper-era Kafka, whose controller learnt
        // of a broker failure only when its session expired: a broker back within it keeps its
        // place in the ISR and its leaderships.
        let zk_era = self.sh.scenario.log.truncation == Truncation::HighWatermark;
        if alive && restarted && !zk_era {
            self.fence(b);
        }
        if restarted && unclean_shutdown && self.rules().elr {
            self.remove_unclean(b);
        }
        self.unfence(b, incarnation, restarted && unclean_shutdown);
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
        let rules = self.rules();
        let mut changed = BTreeSet::new();
        let mut notes = Vec::new();
        {
            let mut st = self.store();
            st.alive[b] = false;
            let alive = st.alive.clone();
            let acceptable = |r: BrokerId| alive[r];
            for s in st.parts.iter_mut().filter(|s| s.replicas.contains(&b)) {
                let change = Change {
                    target_isr: without(&s.isr, b),
                    acceptable: &acceptable,
                    unclean_shutdown: None,
                };
                let out = partition_change::apply(s, change, rules);
                if out.changed(s) {
                    s.partition_epoch += 1;
                    changed.insert(s.partition);
                }
                notes.extend(change_notes(s, &out, b, "fenced"));
            }
        }
        self.sh.timeline(
            TimelineKind::Fenced,
            &format!("controller fences broker-{b}"),
            &[b as u64],
        );
        self.note(notes);
        self.publish(&changed);
    }

    /// KIP-966: a broker back from an unclean shutdown may miss acknowledged records, so it
    /// leaves the ISR and ELR of every partition, and a partition it led elects again.
    fn remove_unclean(&mut self, b: BrokerId) {
        let rules = self.rules();
        let mut changed = BTreeSet::new();
        let mut notes = Vec::new();
        let mut removed_from = Vec::new();
        {
            let mut st = self.store();
            let alive = st.alive.clone();
            let acceptable = |r: BrokerId| r != b && alive[r];
            for s in st.parts.iter_mut().filter(|s| s.isr.contains(&b) || s.elr.contains(&b)) {
                let change = Change {
                    target_isr: without(&s.isr, b),
                    acceptable: &acceptable,
                    unclean_shutdown: Some(b),
                };
                let out = partition_change::apply(s, change, rules);
                if out.changed(s) {
                    s.partition_epoch += 1;
                    changed.insert(s.partition);
                    removed_from.push(s.partition);
                }
                notes.extend(change_notes(s, &out, b, "unclean shutdown"));
            }
        }
        self.sh.timeline_with(
            TimelineKind::UncleanShutdown,
            &format!(
                "broker-{b} registers after an unclean shutdown: the controller takes it out of the ISR and ELR of partitions {removed_from:?}"
            ),
            &[b as u64, removed_from.len() as u64],
            vec![
                ("broker".into(), serde_json::json!(b)),
                ("partitions".into(), serde_json::json!(removed_from)),
            ],
        );
        self.note(notes);
        self.publish(&changed);
    }

    fn unfence(&mut self, b: BrokerId, incarnation: u64, after_unclean_shutdown: bool) {
        let rules = self.rules();
        let mut changed = BTreeSet::new();
        let mut notes = Vec::new();
        {
            let mut st = self.store();
            st.alive[b] = true;
            st.incarnation[b] = incarnation;
            let alive = st.alive.clone();
            let acceptable = |r: BrokerId| alive[r];
            for s in st.parts.iter_mut().filter(|s| s.replicas.contains(&b)) {
                changed.insert(s.partition);
                if s.leader.is_some() {
                    continue;
                }
                let change = Change {
                    target_isr: s.isr.clone(),
                    acceptable: &acceptable,
                    unclean_shutdown: None,
                };
                let out = partition_change::apply(s, change, rules);
                if out.changed(s) {
                    s.partition_epoch += 1;
                }
                notes.extend(change_notes(s, &out, b, "registered"));
            }
        }
        let how = if after_unclean_shutdown {
            " after an unclean shutdown"
        } else {
            ""
        };
        self.sh.timeline(
            TimelineKind::Registered,
            &format!("broker-{b} registers (incarnation {incarnation}){how}"),
            &[b as u64, incarnation],
        );
        self.note(notes);
        self.publish(&changed);
    }

    /// Put elections and ELR changes on the timeline.
    pub(super) fn note(&self, notes: Vec<Note>) {
        for n in notes {
            self.sh.timeline_with(n.kind, &n.text, &n.words, n.fields);
        }
    }

    fn on_alter(&mut self, b: BrokerId, p: usize, leader_epoch: u32, partition_epoch: u32, isr: Vec<BrokerId>) {
        let rules = self.rules();
        let mut changed = BTreeSet::new();
        let mut expanded = None;
        let mut completed = None;
        let mut notes = Vec::new();
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
                let acceptable = |r: BrokerId| alive[r];
                let change = Change {
                    target_isr: isr,
                    acceptable: &acceptable,
                    unclean_shutdown: None,
                };
                // The proposing leader is live and in its ISR, so it stays leader.
                let out = partition_change::apply(s, change, rules);
                s.partition_epoch += 1;
                notes = change_notes(s, &out, b, "ISR change");
                if super::reassignment::ready(s) {
                    let (out, gone) = super::reassignment::complete(s, &|r| alive[r], rules);
                    notes.extend(change_notes(s, &out, b, "reassignment"));
                    completed = Some((s.clone(), gone));
                }
            }
            if let Some((s, gone)) = &completed {
                for &g in gone {
                    st.dropped.insert((g, s.partition));
                }
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
        self.note(notes);
        // Valid or not, the leader learns the committed state.
        self.publish(&changed);
        if let Some((s, gone)) = completed {
            self.reassignment_done(s, gone);
        }
    }
}

/// A timeline entry the controller writes once it released its store.
pub(super) struct Note {
    kind: TimelineKind,
    text: String,
    words: Vec<u64>,
    fields: Vec<(String, serde_json::Value)>,
}

/// The elections and ELR changes of one partition's change; `cause` is the broker whose
/// fencing, registration or request caused it, and the words it puts in the trace hash.
pub(super) fn change_notes(s: &PartitionState, out: &Outcome, cause: BrokerId, why: &str) -> Vec<Note> {
    use serde_json::json;
    let p = s.partition;
    let mut notes = Vec::new();
    let name = |b: Option<BrokerId>| b.map_or_else(|| "none".to_string(), |l| format!("broker-{l}"));
    if let Some(source) = out.election {
        if let (Some(Source::Unclean), Some(l)) = (source, s.leader) {
            notes.push(Note {
                kind: TimelineKind::Election,
                text: format!("UNCLEAN election: broker-{l} leads partition {p} without being in sync"),
                words: vec![cause as u64],
                fields: vec![
                    ("partition".into(), json!(p)),
                    ("leader".into(), json!(l)),
                    ("unclean".into(), json!(true)),
                ],
            });
        }
        let from = match source {
            Some(Source::Elr) => " from the eligible leader replicas",
            _ => "",
        };
        notes.push(Note {
            kind: TimelineKind::Election,
            text: format!(
                "partition {p} leader {} -> {} at epoch {}{from} ({why})",
                name(out.previous_leader),
                name(s.leader),
                s.leader_epoch
            ),
            words: vec![cause as u64],
            fields: vec![
                ("partition".into(), json!(p)),
                ("previous".into(), json!(out.previous_leader)),
                ("leader".into(), json!(s.leader)),
                ("leader_epoch".into(), json!(s.leader_epoch)),
                ("elected_from".into(), json!(source.map(Source::as_str))),
            ],
        });
    }
    if out.elr_changed(s) {
        notes.push(Note {
            kind: TimelineKind::Elr,
            text: format!(
                "controller sets the eligible leader replicas of partition {p} {:?} -> {:?} (ISR {:?}; {why}, broker-{cause})",
                out.elr_before, s.elr, s.isr
            ),
            words: vec![p as u64, s.elr.len() as u64, s.isr.len() as u64],
            fields: vec![
                ("partition".into(), json!(p)),
                ("broker".into(), json!(cause)),
                ("isr".into(), json!(s.isr)),
                ("elr_before".into(), json!(out.elr_before)),
                ("elr".into(), json!(s.elr)),
                ("reason".into(), json!(why)),
            ],
        });
    }
    notes
}

/// A heartbeat reached the coordinator on the controller node: what to answer and push.
fn group_heartbeat(sh: &Shared, gid: GroupId, b: group::Beat, now_ms: u64) -> group::Outcome {
    let (store, cfg) = group_of(sh, gid);
    let mut out = group::Outcome::default();
    store.lock().expect("group lock").heartbeat(&cfg, b, now_ms, &mut out);
    sh.subscriptions.name_notes(gid, &mut out.notes);
    record(sh, &out);
    out
}

/// A group's durable store and settings.
fn group_of(sh: &Shared, gid: GroupId) -> (&std::sync::Mutex<group::GroupStore>, group::GroupConfig) {
    match gid {
        GroupId::Processors => (
            &sh.group,
            group::GroupConfig::of(&sh.scenario.processor, sh.event_partitions),
        ),
        GroupId::Lake => (
            &sh.lake_group,
            group::GroupConfig::of_lake(&sh.scenario.lake, sh.event_partitions),
        ),
        GroupId::Subscription(s) => (
            &sh.subscriptions.groups[s],
            sh.subscriptions.group_config(s, sh.event_partitions),
        ),
    }
}

/// The coordinator's periodic work: session expiry and rebalance deadlines.
fn group_tick(sh: &Shared, gid: GroupId, now_ms: u64) -> group::Outcome {
    let (store, cfg) = group_of(sh, gid);
    let mut out = group::Outcome::default();
    store.lock().expect("group lock").tick(&cfg, now_ms, &mut out);
    sh.subscriptions.name_notes(gid, &mut out.notes);
    record(sh, &out);
    out
}

fn record(sh: &Shared, out: &group::Outcome) {
    for (kind, text, words) in &out.notes {
        sh.timeline(*kind, text, words);
    }
}
