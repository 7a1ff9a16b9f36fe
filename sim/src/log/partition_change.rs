//! One partition's change as KRaft's controller builds it (Kafka's
//! `PartitionChangeBuilder`): a target ISR, the eligible leader replicas
//! that follow from it (KIP-966), and an election when the current leader
//! is no longer a valid one. Every controller decision (fencing, a
//! registration after an unclean shutdown, unfencing, an ISR change a
//! leader asks for) goes through [`apply`], which is pure so that its rules
//! are tested without a run.
//!
//! The rules, with eligible leader replicas on:
//! * while the target ISR is below `min.insync.replicas`, replicas leaving
//!   the ISR join the ELR: the leader stops advancing the high watermark
//!   then, so they hold every record up to it; once the ISR is back at
//!   min ISR the ELR is cleared;
//! * a replica that had an unclean shutdown leaves both (its log may miss
//!   acknowledged records);
//! * the leader comes from the ISR, or from the ELR when the ISR is empty,
//!   or, with unclean election on, from any live replica; else none.
//!
//! Without them, the ISR never becomes empty (KRaft keeps its last member
//! so that a clean election stays possible when it returns) and the ELR
//! stays empty.

use crate::ids::BrokerId;
use crate::msg::PartitionState;

/// The election and ELR rules of the scenario's log settings.
#[derive(Clone, Copy, Debug)]
pub struct Rules {
    /// `unclean.leader.election.enable`.
    pub unclean: bool,
    /// KIP-966's eligible leader replicas (`eligible.leader.replicas.enable`).
    pub elr: bool,
    /// `min.insync.replicas`.
    pub min_isr: usize,
}

/// Where an elected leader came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The ISR.
    Isr,
    /// The ELR, the ISR being empty.
    Elr,
    /// Neither: an unclean election, which may lose acknowledged records.
    Unclean,
}

impl Source {
    /// The name on the timeline.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Isr => "isr",
            Source::Elr => "elr",
            Source::Unclean => "unclean",
        }
    }
}

/// One requested change.
pub struct Change<'a> {
    /// The ISR the change asks for.
    pub target_isr: Vec<BrokerId>,
    /// Whether a broker may lead (registered and unfenced, and not the one being removed).
    pub acceptable: &'a dyn Fn(BrokerId) -> bool,
    /// A broker that registered after an unclean shutdown: it leaves the ELR too.
    pub unclean_shutdown: Option<BrokerId>,
}

/// What [`apply`] changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Leader before the change.
    pub previous_leader: Option<BrokerId>,
    /// Set when the leader changed: where the new one came from (`None`: no leader).
    pub election: Option<Option<Source>>,
    /// ISR before the change.
    pub isr_before: Vec<BrokerId>,
    /// ELR before the change.
    pub elr_before: Vec<BrokerId>,
}

impl Outcome {
    /// Whether the ELR changed.
    pub fn elr_changed(&self, s: &PartitionState) -> bool {
        self.elr_before != s.elr
    }

    /// Whether anything the controller records changed.
    pub fn changed(&self, s: &PartitionState) -> bool {
        self.election.is_some() || self.isr_before != s.isr || self.elr_changed(s)
    }
}

/// Apply `change` to `s` under `rules`: the ISR, the ELR, and, when the current
/// leader is not valid under the new ISR, an election (which bumps the leader
/// epoch). The caller bumps the partition epoch if [`Outcome::changed`].
pub fn apply(s: &mut PartitionState, change: Change, rules: Rules) -> Outcome {
    let out = Outcome {
        previous_leader: s.leader,
        election: None,
        isr_before: s.isr.clone(),
        elr_before: s.elr.clone(),
    };
    let mut isr = change.target_isr;
    let mut elr = if rules.elr && isr.len() < rules.min_isr {
        // Whoever leaves the ISR while it is below min ISR held everything up to
        // the high watermark, which cannot have advanced since.
        s.replicas
            .iter()
            .copied()
            .filter(|r| (s.elr.contains(r) || s.isr.contains(r)) && !isr.contains(r))
            .filter(|r| Some(*r) != change.unclean_shutdown)
            .collect()
    } else {
        Vec::new()
    };
    let valid = |r: BrokerId, isr: &[BrokerId], elr: &[BrokerId]| {
        (isr.contains(&r) || (isr.is_empty() && elr.contains(&r))) && (change.acceptable)(r)
    };
    let mut out = out;
    if !s.leader.is_some_and(|l| valid(l, &isr, &elr)) {
        let clean = s.replicas.iter().copied().find(|&r| valid(r, &isr, &elr));
        let (leader, source) = match clean {
            Some(l) if elr.contains(&l) => {
                isr = vec![l];
                elr.retain(|&r| r != l);
                (Some(l), Some(Source::Elr))
            }
            Some(l) => (Some(l), Some(Source::Isr)),
            None if rules.unclean => match s.replicas.iter().copied().find(|&r| (change.acceptable)(r)) {
                Some(l) => {
                    // The new leader's log is the truth now: nobody else is in sync with it.
                    isr = vec![l];
                    elr.clear();
                    (Some(l), Some(Source::Unclean))
                }
                None => (None, None),
            },
            None => (None, None),
        };
        if leader != s.leader {
            s.leader = leader;
            s.leader_epoch += 1;
            out.election = Some(source);
        }
    }
    // Without ELR, KRaft keeps the last ISR member rather than empty the ISR.
    if !isr.is_empty() || rules.elr {
        s.isr = isr;
    }
    s.elr = elr;
    out
}

/// `isr` without `b`.
pub fn without(isr: &[BrokerId], b: BrokerId) -> Vec<BrokerId> {
    isr.iter().copied().filter(|&r| r != b).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ELR: Rules = Rules {
        unclean: false,
        elr: true,
        min_isr: 2,
    };
    const NO_ELR: Rules = Rules { elr: false, ..ELR };

    fn state(leader: Option<BrokerId>, isr: &[BrokerId], elr: &[BrokerId]) -> PartitionState {
        PartitionState {
            partition: 0,
            leader,
            leader_epoch: 5,
            partition_epoch: 9,
            isr: isr.to_vec(),
            elr: elr.to_vec(),
            replicas: vec![0, 1, 2],
            adding: Vec::new(),
            removing: Vec::new(),
        }
    }

    fn change<'a>(target_isr: &[BrokerId], acceptable: &'a dyn Fn(BrokerId) -> bool) -> Change<'a> {
        Change {
            target_isr: target_isr.to_vec(),
            acceptable,
            unclean_shutdown: None,
        }
    }

    #[test]
    fn a_shrink_below_min_isr_keeps_the_removed_replica_in_the_elr() {
        let all = |_| true;
        // {0,1,2} -> {0,2} stays at min ISR: broker 1 is simply out.
        let mut s = state(Some(0), &[0, 1, 2], &[]);
        apply(&mut s, change(&[0, 2], &all), ELR);
        assert_eq!((s.isr.clone(), s.elr.clone()), (vec![0, 2], vec![]));
        // {0,2} -> {0} goes below it: broker 2 holds everything up to the high watermark.
        let out = apply(&mut s, change(&[0], &all), ELR);
        assert_eq!((s.isr.clone(), s.elr.clone()), (vec![0], vec![2]));
        assert_eq!((s.leader, s.leader_epoch, out.election), (Some(0), 5, None));
        assert!(out.elr_changed(&s));
        // Back at min ISR the ELR is cleared.
        apply(&mut s, change(&[0, 1], &all), ELR);
        assert_eq!((s.isr.clone(), s.elr.clone()), (vec![0, 1], vec![]));
    }

    #[test]
    fn with_the_isr_empty_the_leader_comes_from_the_elr() {
        // ISR {0}, ELR {2}: the leader 0 is fenced.
        let mut s = state(Some(0), &[0], &[2]);
        let alive = |r: BrokerId| r != 0;
        let target = without(&s.isr, 0);
        let out = apply(&mut s, change(&target, &alive), ELR);
        assert_eq!(s.leader, Some(2));
        assert_eq!(out.election, Some(Some(Source::Elr)));
        assert_eq!(s.leader_epoch, 6);
        // The new leader is the ISR; the fenced one waits in the ELR (it held the high watermark too).
        assert_eq!((s.isr.clone(), s.elr.clone()), (vec![2], vec![0]));
    }

    #[test]
    fn without_elr_the_last_isr_member_stays_and_the_partition_goes_offline() {
        let mut s = state(Some(0), &[0], &[]);
        let alive = |r: BrokerId| r != 0;
        let target = without(&s.isr, 0);
        let out = apply(&mut s, change(&target, &alive), NO_ELR);
        assert_eq!((s.leader, out.election), (None, Some(None)));
        assert_eq!((s.isr.clone(), s.elr.clone()), (vec![0], vec![]));
        // When it registers again it is the only candidate: the loss KIP-966 closes.
        let all = |_| true;
        let target = s.isr.clone();
        let out = apply(&mut s, change(&target, &all), NO_ELR);
        assert_eq!((s.leader, out.election), (Some(0), Some(Some(Source::Isr))));
    }

    #[test]
    fn an_unclean_shutdown_leaves_isr_and_elr_and_the_partition_waits_offline() {
        // ISR empty, ELR {0, 2}, no leader: 2 is down too, 0 registers after a power loss.
        let mut s = state(None, &[], &[0, 2]);
        let alive = |r: BrokerId| r == 0;
        let not_0 = |r: BrokerId| r != 0 && alive(r);
        let out = apply(
            &mut s,
            Change {
                target_isr: vec![],
                acceptable: &not_0,
                unclean_shutdown: Some(0),
            },
            ELR,
        );
        assert_eq!((s.isr.clone(), s.elr.clone()), (vec![], vec![2]));
        assert_eq!((s.leader, out.election), (None, None));
        // Its registration does not make it electable: the partition stays offline rather than lose data.
        let out = apply(&mut s, change(&[], &alive), ELR);
        assert_eq!((s.leader, out.election), (None, None));
        // Unclean election, when on, takes it anyway and clears the ELR.
        let out = apply(&mut s, change(&[], &alive), Rules { unclean: true, ..ELR });
        assert_eq!((s.leader, out.election), (Some(0), Some(Some(Source::Unclean))));
        assert_eq!((s.isr.clone(), s.elr.clone()), (vec![0], vec![]));
    }

    #[test]
    fn an_unclean_shutdown_of_the_leader_elects_from_the_elr() {
        // The leader 0 is the last ISR member and restarts before its session expired.
        let mut s = state(Some(0), &[0], &[2]);
        let not_0 = |r: BrokerId| r != 0;
        let target_isr = without(&s.isr, 0);
        let out = apply(
            &mut s,
            Change {
                target_isr,
                acceptable: &not_0,
                unclean_shutdown: Some(0),
            },
            ELR,
        );
        assert_eq!((s.leader, out.election), (Some(2), Some(Some(Source::Elr))));
        // 0 is in neither set: it must catch up from 2 before it counts again.
        assert_eq!((s.isr.clone(), s.elr.clone()), (vec![2], vec![]));
    }

    #[test]
    fn fencing_a_leader_elects_from_the_isr_and_keeps_the_leader_in_the_elr() {
        let mut s = state(Some(0), &[0, 1], &[]);
        let alive = |r: BrokerId| r != 0;
        apply(&mut s, change(&[1], &alive), ELR);
        assert_eq!((s.leader, s.isr.clone(), s.elr.clone()), (Some(1), vec![1], vec![0]));
    }
}
