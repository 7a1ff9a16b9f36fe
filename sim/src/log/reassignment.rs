//! Partition reassignment as KRaft's controller carries it out (the
//! `kafka-reassign-partitions` flow): the replica set grows to the old
//! replicas plus the new one; the new replica copies the partition from the
//! leader, throttled, and the leader adds it to the ISR once caught up; then,
//! in one metadata change, the old replica leaves the replica set and the
//! ISR, and leadership goes to the preferred replica (the first) when it is
//! in sync. The old replica deletes its copy only when told of that change.
//!
//! `drop_old_replica_first` is the unsafe order: the old replica leaves at
//! the start, so the partition has one copy fewer for the whole copy.

use super::partition_change::{self, Change, Outcome, Rules};
use crate::autoscale::{plan, Move};
use crate::ids::BrokerId;
use crate::msg::PartitionState;

/// Start moving `m` on `s`. Returns the change's outcome (an election when the
/// unsafe order removes the leader) and the brokers that left the replica set.
pub fn start(
    s: &mut PartitionState,
    m: &Move,
    drop_old_first: bool,
    alive: &dyn Fn(BrokerId) -> bool,
    rules: Rules,
) -> (Outcome, Vec<BrokerId>) {
    let target = plan::target(&s.replicas, m);
    s.adding = vec![m.to];
    s.partition_epoch += 1;
    if !drop_old_first {
        s.replicas = target;
        s.replicas.push(m.from);
        s.removing = vec![m.from];
        let out = unchanged(s);
        return (out, Vec::new());
    }
    s.replicas = target;
    s.removing = Vec::new();
    let from = m.from;
    let acceptable = |r: BrokerId| r != from && alive(r);
    let change = Change {
        target_isr: partition_change::without(&s.isr, from),
        acceptable: &acceptable,
        unclean_shutdown: None,
    };
    (partition_change::apply(s, change, rules), vec![from])
}

/// Every replica the reassignment adds is in the ISR.
pub fn ready(s: &PartitionState) -> bool {
    !s.adding.is_empty() && s.adding.iter().all(|b| s.isr.contains(b))
}

/// Finish a [`ready`] reassignment: the old replicas leave the replica set and
/// the ISR, and the preferred replica leads if it is in sync. Returns the
/// outcome and the brokers that left.
pub fn complete(s: &mut PartitionState, alive: &dyn Fn(BrokerId) -> bool, rules: Rules) -> (Outcome, Vec<BrokerId>) {
    let removed = std::mem::take(&mut s.removing);
    s.adding.clear();
    s.replicas.retain(|b| !removed.contains(b));
    s.partition_epoch += 1;
    let acceptable = |r: BrokerId| !removed.contains(&r) && alive(r);
    let change = Change {
        target_isr: s.isr.iter().copied().filter(|b| !removed.contains(b)).collect(),
        acceptable: &acceptable,
        unclean_shutdown: None,
    };
    let mut out = partition_change::apply(s, change, rules);
    let preferred = s.replicas[0];
    if s.leader != Some(preferred) && s.isr.contains(&preferred) && alive(preferred) {
        if out.election.is_none() {
            out.previous_leader = s.leader;
        }
        s.leader = Some(preferred);
        s.leader_epoch += 1;
        out.election = Some(Some(partition_change::Source::Isr));
    }
    (out, removed)
}

/// An outcome that records no change.
fn unchanged(s: &PartitionState) -> Outcome {
    Outcome {
        previous_leader: s.leader,
        election: None,
        isr_before: s.isr.clone(),
        elr_before: s.elr.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: Rules = Rules {
        unclean: false,
        elr: false,
        min_isr: 2,
    };

    fn state() -> PartitionState {
        PartitionState {
            partition: 3,
            leader: Some(0),
            leader_epoch: 4,
            partition_epoch: 7,
            isr: vec![0, 1],
            elr: Vec::new(),
            replicas: vec![0, 1],
            adding: Vec::new(),
            removing: Vec::new(),
        }
    }

    const MOVE: Move = Move {
        partition: 3,
        from: 0,
        to: 2,
    };

    #[test]
    fn the_old_replica_leaves_only_after_the_new_one_is_in_sync_and_leadership_follows_the_preferred() {
        let mut s = state();
        let (_, gone) = start(&mut s, &MOVE, false, &|_| true, RULES);
        assert!(gone.is_empty());
        assert_eq!(s.replicas, vec![2, 1, 0]);
        assert_eq!((s.leader, s.isr.clone()), (Some(0), vec![0, 1]));
        assert!(!ready(&s));
        s.isr = vec![0, 1, 2];
        assert!(ready(&s));
        let (out, gone) = complete(&mut s, &|_| true, RULES);
        assert_eq!(gone, vec![0]);
        assert_eq!(s.replicas, vec![2, 1]);
        assert_eq!(s.isr, vec![1, 2]);
        assert_eq!(s.leader, Some(2));
        assert_eq!(s.leader_epoch, 5);
        assert_eq!(out.previous_leader, Some(0));
        assert!(s.adding.is_empty() && s.removing.is_empty());
    }

    #[test]
    fn the_unsafe_order_drops_the_old_replica_and_its_leadership_at_once() {
        let mut s = state();
        let (out, gone) = start(&mut s, &MOVE, true, &|_| true, RULES);
        assert_eq!(gone, vec![0]);
        assert_eq!(s.replicas, vec![2, 1]);
        // One copy left in sync while the new one copies: a crash of broker 1 now loses.
        assert_eq!(s.isr, vec![1]);
        assert_eq!(s.leader, Some(1));
        assert!(out.election.is_some());
    }
}
