//! The processor's consumer group: membership by heartbeats with a
//! session timeout, and eager rebalancing (every member gives up every
//! partition at a new generation and resumes from the sink's checkpoint),
//! as Kafka's classic group protocol does. The coordinator runs on the
//! controller node; its store (generation, members, assignment) is durable
//! like `__consumer_offsets`, so a coordinator restart never reuses a
//! generation, and generations fence zombie owners at the sink.

use crate::ids::PartitionId;
use crate::wire::ReadMsg;
use crate::world::{Shared, TimelineKind};
use std::collections::BTreeMap;

/// A member as the coordinator last heard from it.
#[derive(Clone, Copy, Debug)]
pub struct Member {
    /// Incarnation of the member's process; a new one means it restarted and lost its tasks.
    pub incarnation: u64,
    /// Last heartbeat, virtual ms.
    pub last_seen_ms: u64,
}

/// The coordinator's durable state.
#[derive(Clone, Debug, Default)]
pub struct GroupStore {
    /// Current generation; 0 before the first member joins.
    pub generation: u64,
    /// Live members.
    pub members: BTreeMap<usize, Member>,
    /// Partitions per member in the current generation.
    pub assignment: BTreeMap<usize, Vec<PartitionId>>,
}

impl GroupStore {
    /// Forget heartbeat times after a coordinator restart: every member gets a fresh session.
    pub fn coordinator_restarted(&mut self, now_ms: u64) {
        for m in self.members.values_mut() {
            m.last_seen_ms = now_ms;
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
}

/// A heartbeat reached the coordinator: update membership and answer with the member's state.
pub fn on_heartbeat(sh: &Shared, member: usize, incarnation: u64, now_ms: u64) -> ReadMsg {
    let mut g = sh.group.lock().expect("group lock");
    let changed = match g.members.get(&member) {
        Some(m) => m.incarnation != incarnation,
        None => true,
    };
    g.members.insert(
        member,
        Member {
            incarnation,
            last_seen_ms: now_ms,
        },
    );
    if changed {
        g.rebalance(sh.event_partitions);
        announce(
            sh,
            &g,
            &format!("processor-{member} joined (incarnation {incarnation})"),
        );
    }
    state_of(&g, member)
}

/// Expire members whose session ran out; rebalance if any did.
pub fn expire(sh: &Shared, now_ms: u64) {
    let timeout = sh.scenario.processor.session_timeout_ms;
    let mut g = sh.group.lock().expect("group lock");
    let gone: Vec<usize> = g
        .members
        .iter()
        .filter(|(_, m)| now_ms.saturating_sub(m.last_seen_ms) > timeout)
        .map(|(&i, _)| i)
        .collect();
    if gone.is_empty() {
        return;
    }
    for i in &gone {
        g.members.remove(i);
    }
    g.rebalance(sh.event_partitions);
    announce(sh, &g, &format!("session of processor(s) {gone:?} expired"));
}

fn state_of(g: &GroupStore, member: usize) -> ReadMsg {
    ReadMsg::GroupState {
        generation: g.generation,
        partitions: g.assignment.get(&member).cloned().unwrap_or_default(),
    }
}

fn announce(sh: &Shared, g: &GroupStore, why: &str) {
    let parts: Vec<String> = g
        .assignment
        .iter()
        .map(|(m, ps)| format!("processor-{m}: {ps:?}"))
        .collect();
    sh.timeline(
        TimelineKind::Rebalance,
        &format!("group generation {} ({why}): {}", g.generation, parts.join(", ")),
        &[g.generation, g.members.len() as u64],
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_robin_covers_every_partition_once() {
        let mut g = GroupStore::default();
        for m in [2, 0, 5] {
            g.members.insert(
                m,
                Member {
                    incarnation: 1,
                    last_seen_ms: 0,
                },
            );
        }
        g.rebalance(8);
        assert_eq!(g.generation, 1);
        let mut all: Vec<PartitionId> = g.assignment.values().flatten().copied().collect();
        all.sort();
        assert_eq!(all, (0..8).collect::<Vec<_>>());
        assert_eq!(g.assignment[&0], vec![0, 3, 6]);
        assert_eq!(g.assignment[&5], vec![2, 5]);
    }
}
