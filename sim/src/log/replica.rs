//! A broker's volatile view of one partition it hosts: its role, the
//! epochs and ISR the controller told it, and its high watermark.

use crate::ids::BrokerId;

/// What the leader knows of one follower.
#[derive(Debug, Clone, Default)]
pub struct FollowerView {
    /// The follower's log end offset, from its last fetch.
    pub leo: u64,
    /// Last time the follower was fully caught up (`replica.lag.time.max.ms` counts from here).
    pub last_caught_up_ms: u64,
    /// Time of the previous fetch, and the leader's end offset then.
    pub prev_fetch_ms: u64,
    /// Leader LEO at the previous fetch.
    pub prev_leader_leo: u64,
}

/// What a leader knows of each of its followers, by broker. A partition has
/// a few replicas and the leader looks one up for every partition of every
/// fetch it serves, so they sit in a short vector searched in order, where an
/// ordered map's search cost more than the lookup it did.
#[derive(Debug, Clone, Default)]
pub struct Followers(Vec<(BrokerId, FollowerView)>);

impl Followers {
    /// The view of follower `b`, if it is one.
    pub fn get(&self, b: &BrokerId) -> Option<&FollowerView> {
        self.0.iter().find(|(f, _)| f == b).map(|(_, v)| v)
    }

    /// Whether `b` is a follower.
    pub fn contains_key(&self, b: &BrokerId) -> bool {
        self.get(b).is_some()
    }

    /// The view of follower `b`, made by `new` first if it is not one yet.
    pub fn get_or_insert_with(&mut self, b: BrokerId, new: impl FnOnce() -> FollowerView) -> &mut FollowerView {
        let i = match self.0.iter().position(|(f, _)| *f == b) {
            Some(i) => i,
            None => {
                self.0.push((b, new()));
                self.0.len() - 1
            }
        };
        &mut self.0[i].1
    }

    /// Keeps only the followers `keep` accepts.
    pub fn retain(&mut self, mut keep: impl FnMut(&BrokerId) -> bool) {
        self.0.retain(|(f, _)| keep(f));
    }
}

impl FromIterator<(BrokerId, FollowerView)> for Followers {
    /// A later view of a broker replaces an earlier one, as in a map.
    fn from_iter<I: IntoIterator<Item = (BrokerId, FollowerView)>>(views: I) -> Self {
        let mut fs = Followers::default();
        for (b, v) in views {
            *fs.get_or_insert_with(b, Default::default) = v;
        }
        fs
    }
}

/// Leader-only state.
#[derive(Debug, Clone, Default)]
pub struct LeaderState {
    /// Followers by broker.
    pub followers: Followers,
    /// ISR change sent to the controller and not yet confirmed.
    pub pending_isr: Option<Vec<BrokerId>>,
    /// When it was sent (to resend if the controller did not answer).
    pub alter_sent_ms: u64,
    /// Offset where this leader's epoch starts.
    pub epoch_start: u64,
}

/// Role of this broker for a partition.
#[derive(Debug, Clone)]
pub enum Role {
    /// Not told yet (after a restart), or offline.
    Idle,
    /// Following `leader`.
    Follower {
        /// The leader.
        leader: BrokerId,
        /// Do not fetch before this tick (after an error).
        backoff_until_ms: u64,
    },
    /// Leading.
    Leader(LeaderState),
}

/// Volatile state of one hosted partition.
#[derive(Debug, Clone)]
pub struct Replica {
    /// Role.
    pub role: Role,
    /// Leader epoch known.
    pub leader_epoch: u32,
    /// Partition epoch known.
    pub partition_epoch: u32,
    /// ISR as committed by the controller.
    pub isr: Vec<BrokerId>,
    /// High watermark.
    pub hw: u64,
    /// Replicas a reassignment is adding, whose fetches the leader throttles.
    pub throttled: Vec<BrokerId>,
}

impl Replica {
    /// A replica that has not heard from the controller since (re)starting.
    pub fn idle(hw: u64) -> Self {
        Replica {
            role: Role::Idle,
            leader_epoch: 0,
            partition_epoch: 0,
            isr: Vec::new(),
            hw,
            throttled: Vec::new(),
        }
    }

    /// Leader state, if leading.
    pub fn leader(&self) -> Option<&LeaderState> {
        match &self.role {
            Role::Leader(l) => Some(l),
            _ => None,
        }
    }

    /// Where this leader's high watermark may move, given its own end offset
    /// `own_leo` (it is broker `me`): the smallest end offset over the maximal
    /// ISR. Under KIP-966's strict min ISR (`strict_min_isr`, with eligible
    /// leader replicas on) it does not move while the committed ISR is below
    /// it, so the replicas that left the ISR still hold everything below it.
    pub fn hw_candidate(&self, me: BrokerId, own_leo: u64, strict_min_isr: Option<usize>) -> u64 {
        let Some(ls) = self.leader() else { return self.hw };
        if strict_min_isr.is_some_and(|min| self.isr.len() < min) {
            return self.hw;
        }
        // Over Kafka's "maximal ISR": the committed ISR plus any pending
        // additions, so that a shrink only takes effect once the controller
        // has committed it. A member in both counts once for a minimum anyway.
        let pending = ls.pending_isr.as_deref().unwrap_or_default();
        self.isr
            .iter()
            .chain(pending)
            .filter(|&&b| b != me)
            .map(|b| ls.followers.get(b).map_or(0, |v| v.leo))
            .fold(own_leo, u64::min)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Broker 0 leading with `isr`, its follower 1 at offset 10, 2 at offset 4, a high watermark of 4.
    fn leading(isr: &[BrokerId]) -> Replica {
        let followers = [(1, 10), (2, 4)]
            .into_iter()
            .map(|(b, leo)| {
                (
                    b,
                    FollowerView {
                        leo,
                        ..Default::default()
                    },
                )
            })
            .collect();
        Replica {
            role: Role::Leader(LeaderState {
                followers,
                ..Default::default()
            }),
            leader_epoch: 3,
            partition_epoch: 7,
            isr: isr.to_vec(),
            hw: 4,
            throttled: Vec::new(),
        }
    }

    #[test]
    fn the_high_watermark_follows_the_slowest_isr_member() {
        assert_eq!(leading(&[0, 1, 2]).hw_candidate(0, 20, Some(2)), 4);
        assert_eq!(leading(&[0, 1]).hw_candidate(0, 20, Some(2)), 10);
        // A pending expansion counts before the controller commits it (the maximal ISR).
        let mut r = leading(&[0, 1]);
        if let Role::Leader(ls) = &mut r.role {
            ls.pending_isr = Some(vec![0, 1, 2]);
        }
        assert_eq!(r.hw_candidate(0, 20, None), 4);
    }

    #[test]
    fn below_min_isr_the_high_watermark_stays_under_elr_and_runs_ahead_without() {
        // The ISR shrank to the leader alone: without KIP-966 the high watermark jumps to its end...
        assert_eq!(leading(&[0]).hw_candidate(0, 20, None), 20);
        // ...with it, it stays where the replicas that left (now eligible leaders) still have it.
        assert_eq!(leading(&[0]).hw_candidate(0, 20, Some(2)), 4);
        // min ISR 1 is met by the leader alone.
        assert_eq!(leading(&[0]).hw_candidate(0, 20, Some(1)), 20);
        // A follower does not compute one.
        let mut r = leading(&[0]);
        r.role = Role::Idle;
        assert_eq!(r.hw_candidate(0, 20, None), 4);
    }

    /// The followers answer as a map would: one view per broker, a view
    /// made only for a broker not yet held, and removal of those not kept.
    #[test]
    fn followers_answer_as_a_map() {
        let view = |leo| FollowerView {
            leo,
            ..Default::default()
        };
        let mut fs: Followers = [(4, view(1)), (2, view(2)), (4, view(3))].into_iter().collect();
        assert_eq!(
            fs.get(&4).map(|v| v.leo),
            Some(3),
            "the later view of 4 replaced the first"
        );
        assert_eq!(fs.get(&2).map(|v| v.leo), Some(2));
        assert!(!fs.contains_key(&7));
        fs.get_or_insert_with(2, || view(9)).leo += 10;
        assert_eq!(fs.get(&2).map(|v| v.leo), Some(12), "2 kept its view");
        assert_eq!(fs.get_or_insert_with(7, || view(5)).leo, 5);
        fs.retain(|&b| b != 4);
        assert!(!fs.contains_key(&4));
        assert!(fs.contains_key(&2) && fs.contains_key(&7));
    }
}
