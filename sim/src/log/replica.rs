//! A broker's volatile view of one partition it hosts: its role, the
//! epochs and ISR the controller told it, and its high watermark.

use crate::ids::BrokerId;
use std::collections::BTreeMap;

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

/// Leader-only state.
#[derive(Debug, Clone, Default)]
pub struct LeaderState {
    /// Followers by broker.
    pub followers: BTreeMap<BrokerId, FollowerView>,
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
        }
    }

    /// Leader state, if leading.
    pub fn leader(&self) -> Option<&LeaderState> {
        match &self.role {
            Role::Leader(l) => Some(l),
            _ => None,
        }
    }

    /// The ISR used for the high watermark: the committed ISR plus any
    /// pending additions (Kafka's "maximal ISR"), so that a shrink only
    /// takes effect once the controller has committed it.
    pub fn maximal_isr(&self) -> Vec<BrokerId> {
        let mut v = self.isr.clone();
        if let Some(p) = self.leader().and_then(|l| l.pending_isr.as_ref()) {
            for b in p {
                if !v.contains(b) {
                    v.push(*b);
                }
            }
        }
        v
    }
}
