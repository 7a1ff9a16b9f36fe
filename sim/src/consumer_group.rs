//! A consumer group (the processors', and the lake writers' of a cold
//! path), as Kafka's classic group protocol runs it: membership by
//! heartbeats with a session timeout, and eager rebalances in two phases. When membership changes the group prepares a
//! rebalance; members learn of it from their heartbeat replies, revoke
//! their partitions (committing what they processed first, as a Kafka
//! Streams or consumer `onPartitionsRevoked` does) and rejoin; only when
//! every member has rejoined, or the rebalance timeout removed the ones
//! that did not, does the next generation start and hand out partitions.
//! No partition therefore has two owners at once, which is what keeps
//! at-least-once delivery free of duplicates when nothing fails.
//!
//! The first rebalance of an empty group waits
//! `group.initial.rebalance.delay.ms` for more members, and static
//! membership (KIP-345) lets a restarted member take its partitions back
//! without a rebalance. The coordinator runs on the controller node; its
//! store is durable like `__consumer_offsets`, so a coordinator restart
//! never reuses a generation, and generations fence zombie owners at the
//! sink.

use crate::config::ProcessorConfig;
use crate::ids::PartitionId;
use crate::timeline::TimelineKind;
use crate::wire::ReadMsg;
use std::collections::{BTreeMap, BTreeSet};

/// A member as the coordinator last heard from it.
#[derive(Clone, Copy, Debug)]
pub struct Member {
    /// Incarnation of the member's process; a new one means it restarted and lost its tasks.
    pub incarnation: u64,
    /// Last heartbeat, virtual ms.
    pub last_seen_ms: u64,
}

/// A rebalance under way: the generation it replaces and who has rejoined.
#[derive(Clone, Debug)]
pub struct Preparing {
    /// When it started, ms.
    pub since_ms: u64,
    /// Not completed before this, ms (the initial delay of an empty group).
    pub not_before_ms: u64,
    /// Members still missing at this time are removed, ms (the rebalance timeout).
    pub deadline_ms: u64,
    /// Members that revoked everything and wait for the next generation.
    pub joined: BTreeSet<usize>,
    /// Why it started, for the timeline.
    pub reason: String,
}

/// The coordinator's durable state.
#[derive(Clone, Debug, Default)]
pub struct GroupStore {
    /// Current (last completed) generation; 0 before the first one.
    pub generation: u64,
    /// Live members.
    pub members: BTreeMap<usize, Member>,
    /// Partitions per member in the current generation.
    pub assignment: BTreeMap<usize, Vec<PartitionId>>,
    /// The rebalance under way, if any.
    pub preparing: Option<Preparing>,
}

/// What a member reports in its heartbeat.
#[derive(Clone, Copy, Debug)]
pub struct Beat {
    /// Member (processor instance).
    pub member: usize,
    /// Its process incarnation.
    pub incarnation: u64,
    /// The newest generation it has heard of (adopted, or told is being replaced).
    pub seen_generation: u64,
    /// It holds no partition and waits for the next generation.
    pub revoked: bool,
}

/// The group settings the coordinator needs.
#[derive(Clone, Copy, Debug)]
pub struct GroupConfig {
    /// Partitions to assign.
    pub partitions: usize,
    /// `session.timeout.ms`.
    pub session_timeout_ms: u64,
    /// `max.poll.interval.ms`, which the classic protocol uses as the rebalance timeout.
    pub rebalance_timeout_ms: u64,
    /// `group.initial.rebalance.delay.ms`.
    pub initial_rebalance_delay_ms: u64,
    /// Static membership (`group.instance.id`, KIP-345).
    pub static_membership: bool,
    /// What a member is called in the timeline (`processor`, `lake-writer`).
    pub member: &'static str,
}

impl GroupConfig {
    /// The settings of a scenario's processor group.
    pub fn of(p: &ProcessorConfig, partitions: usize) -> Self {
        GroupConfig {
            partitions,
            session_timeout_ms: p.session_timeout_ms,
            rebalance_timeout_ms: p.rebalance_timeout_ms,
            initial_rebalance_delay_ms: p.initial_rebalance_delay_ms,
            static_membership: p.static_membership,
            member: "processor",
        }
    }

    /// The settings of a scenario's lake writer group: dynamic members, the
    /// session timeout as the rebalance timeout (a writer's revocation waits
    /// for nothing).
    pub fn of_lake(l: &crate::config::LakeConfig, partitions: usize) -> Self {
        GroupConfig {
            partitions,
            session_timeout_ms: l.session_timeout_ms,
            rebalance_timeout_ms: l.session_timeout_ms,
            initial_rebalance_delay_ms: l.initial_rebalance_delay_ms,
            static_membership: false,
            member: "lake-writer",
        }
    }
}

/// A change of the group for the timeline, with the messages to push to members.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Reply to the member whose heartbeat this was, if any.
    pub reply: Option<ReadMsg>,
    /// Assignments pushed to members when a generation completed.
    pub pushes: Vec<(usize, ReadMsg)>,
    /// Timeline lines: (kind, text, words).
    pub notes: Vec<(TimelineKind, String, Vec<u64>)>,
}

impl GroupStore {
    /// Forget heartbeat times after a coordinator restart: every member gets a fresh session.
    pub fn coordinator_restarted(&mut self, now_ms: u64) {
        for m in self.members.values_mut() {
            m.last_seen_ms = now_ms;
        }
    }

    /// A heartbeat reached the coordinator.
    pub fn heartbeat(&mut self, cfg: &GroupConfig, b: Beat, now_ms: u64, out: &mut Outcome) {
        let known = self.members.get(&b.member).map(|m| m.incarnation);
        self.members.insert(
            b.member,
            Member {
                incarnation: b.incarnation,
                last_seen_ms: now_ms,
            },
        );
        match known {
            Some(i) if i == b.incarnation => {}
            Some(_) if cfg.static_membership && self.preparing.is_none() => {
                // KIP-345: the same `group.instance.id` back within its session keeps its
                // partitions; it reloads them from their checkpoints, nobody else moves.
                out.notes.push((
                    TimelineKind::Rebalance,
                    format!(
                        "{}-{} rejoined as a static member (incarnation {}): generation {} kept",
                        cfg.member, b.member, b.incarnation, self.generation
                    ),
                    vec![self.generation, self.members.len() as u64],
                ));
            }
            _ => {
                let why = format!("{}-{} joined (incarnation {})", cfg.member, b.member, b.incarnation);
                self.prepare(cfg, now_ms, why, known.is_none(), out);
            }
        }
        if let Some(p) = self.preparing.as_mut() {
            // A member counts as rejoined only once it has heard of the generation being
            // replaced: then no assignment of that generation still in flight to it can be
            // taken up after it rejoined.
            if b.revoked && b.seen_generation >= self.generation {
                p.joined.insert(b.member);
            }
        }
        self.try_complete(cfg, now_ms, out);
        out.reply = Some(self.state_of(b.member));
    }

    /// Expire members whose session ran out, and finish a rebalance whose time came.
    pub fn tick(&mut self, cfg: &GroupConfig, now_ms: u64, out: &mut Outcome) {
        let gone: Vec<usize> = self
            .members
            .iter()
            .filter(|(_, m)| now_ms.saturating_sub(m.last_seen_ms) > cfg.session_timeout_ms)
            .map(|(&i, _)| i)
            .collect();
        if !gone.is_empty() {
            for i in &gone {
                self.members.remove(i);
            }
            let why = format!("session of {}(s) {gone:?} expired", cfg.member);
            self.prepare(cfg, now_ms, why, false, out);
        }
        self.try_complete(cfg, now_ms, out);
    }

    /// Start a rebalance, or fold a further membership change into the one under way.
    fn prepare(&mut self, cfg: &GroupConfig, now_ms: u64, why: String, new_member: bool, out: &mut Outcome) {
        match self.preparing.as_mut() {
            Some(p) => {
                // Kafka's InitialDelayedJoin: each new member of a forming group extends the
                // wait, up to the rebalance timeout.
                if new_member && p.not_before_ms > p.since_ms {
                    p.not_before_ms = (now_ms + cfg.initial_rebalance_delay_ms).min(p.deadline_ms);
                }
            }
            None => {
                let forming = self.generation == 0 || self.assignment.is_empty();
                let not_before_ms = if forming {
                    now_ms + cfg.initial_rebalance_delay_ms
                } else {
                    now_ms
                };
                out.notes.push((
                    TimelineKind::Rebalance,
                    format!(
                        "group prepares a rebalance of generation {} ({why}): members revoke and rejoin",
                        self.generation
                    ),
                    vec![self.generation, self.members.len() as u64],
                ));
                self.preparing = Some(Preparing {
                    since_ms: now_ms,
                    not_before_ms,
                    deadline_ms: now_ms + cfg.rebalance_timeout_ms,
                    joined: BTreeSet::new(),
                    reason: why,
                });
            }
        }
    }

    /// Complete the rebalance under way once every member rejoined (and the initial delay
    /// passed), or once the rebalance timeout removes those that did not.
    fn try_complete(&mut self, cfg: &GroupConfig, now_ms: u64, out: &mut Outcome) {
        let Some(p) = self.preparing.as_ref() else {
            return;
        };
        if now_ms < p.not_before_ms {
            return;
        }
        let missing: Vec<usize> = self.members.keys().filter(|m| !p.joined.contains(m)).copied().collect();
        if !missing.is_empty() && now_ms < p.deadline_ms {
            return;
        }
        let p = self.preparing.take().expect("checked");
        for m in &missing {
            self.members.remove(m);
        }
        self.rebalance(cfg.partitions);
        let mut why = p.reason;
        if !missing.is_empty() {
            why.push_str(&format!(
                "; {}(s) {missing:?} did not rejoin within the rebalance timeout",
                cfg.member
            ));
        }
        out.notes.push(announce(self, cfg.member, &why));
        for &m in self.members.keys() {
            out.pushes.push((m, self.state_of(m)));
        }
    }

    /// Start a new generation with `partitions` spread over the live members.
    fn rebalance(&mut self, partitions: usize) {
        self.generation += 1;
        self.assignment.clear();
        let members: Vec<usize> = self.members.keys().copied().collect();
        if members.is_empty() {
            return;
        }
        // Round robin over members in id order: deterministic, and as even as counts allow.
        for p in 0..partitions {
            self.assignment.entry(members[p % members.len()]).or_default().push(p);
        }
    }

    fn state_of(&self, member: usize) -> ReadMsg {
        match self.preparing {
            Some(_) => ReadMsg::GroupState {
                generation: self.generation,
                partitions: Vec::new(),
                rebalancing: true,
            },
            None => ReadMsg::GroupState {
                generation: self.generation,
                partitions: self.assignment.get(&member).cloned().unwrap_or_default(),
                rebalancing: false,
            },
        }
    }
}

fn announce(g: &GroupStore, member: &str, why: &str) -> (TimelineKind, String, Vec<u64>) {
    let parts: Vec<String> = g
        .assignment
        .iter()
        .map(|(m, ps)| format!("{member}-{m}: {ps:?}"))
        .collect();
    (
        TimelineKind::Rebalance,
        format!("group generation {} ({why}): {}", g.generation, parts.join(", ")),
        vec![g.generation, g.members.len() as u64],
    )
}

pub mod member_node;
pub mod membership;

#[cfg(test)]
mod tests;
