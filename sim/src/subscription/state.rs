//! What the subscriptions share across their consumers' crashes: each
//! group's coordinator store, its committed offsets (durable, like
//! `__consumer_offsets`), and what the checker needs, kept compact: the
//! offsets each subscription received as ranges, each partition's progress
//! for the lag and the drain, counts, and the per-second lag series.

use super::polls::PollWatch;
use crate::config::SubscriptionConfig;
use crate::consumer_group::{GroupConfig, GroupStore};
use crate::event_sets::IntervalSet;
use crate::ids::PartitionId;
use crate::timeline::TimelineKind;
use crate::wire::GroupId;
use std::sync::Mutex;

/// Counts per subscription for the report.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SubscriptionCounts {
    /// Records returned by polls (a record polled twice counts twice).
    pub records: u64,
    /// Offset commits the coordinator accepted.
    pub commits: u64,
    /// Commits refused because the member no longer owned the partition in that generation.
    pub commits_fenced: u64,
    /// Largest total lag sampled, records.
    pub lag_peak: u64,
}

/// One subscription's durable state.
#[derive(Debug)]
pub struct SubscriptionState {
    /// Committed offset per events partition (none before the first commit).
    pub committed: Vec<Option<u64>>,
    /// Offsets any consumer of the subscription received, per events partition.
    pub received: Vec<IntervalSet>,
    /// The current owner's position per events partition (for the lag and the drain).
    pub progress: Vec<u64>,
    /// Counts for the report.
    pub counts: SubscriptionCounts,
    /// (virtual ms, total lag in records), sampled every second.
    pub lag: Vec<(u64, u64)>,
}

/// Every subscription of a run.
#[derive(Debug)]
pub struct Subscriptions {
    /// The subscriptions' settings, in file order.
    pub configs: Vec<SubscriptionConfig>,
    /// Each subscription's group coordinator store.
    pub groups: Vec<Mutex<GroupStore>>,
    /// Each subscription's durable state.
    pub state: Vec<Mutex<SubscriptionState>>,
    /// The consumer-side checks that watch polls as they happen.
    pub watch: Mutex<PollWatch>,
    /// The first consumer number of each subscription (consumers are numbered across them).
    first: Vec<usize>,
}

impl Subscriptions {
    /// The scenario's subscriptions over `partitions` events partitions.
    pub fn new(configs: &[SubscriptionConfig], partitions: usize) -> Self {
        let mut first = Vec::with_capacity(configs.len());
        let mut n = 0;
        for c in configs {
            first.push(n);
            n += c.consumers;
        }
        Subscriptions {
            configs: configs.to_vec(),
            groups: configs.iter().map(|_| Mutex::new(GroupStore::default())).collect(),
            state: configs
                .iter()
                .map(|_| {
                    Mutex::new(SubscriptionState {
                        committed: vec![None; partitions],
                        received: vec![IntervalSet::default(); partitions],
                        progress: vec![0; partitions],
                        counts: SubscriptionCounts::default(),
                        lag: Vec::new(),
                    })
                })
                .collect(),
            watch: Mutex::new(PollWatch::new(partitions)),
            first,
        }
    }

    /// Consumers over every subscription.
    pub fn consumers(&self) -> usize {
        self.configs.iter().map(|c| c.consumers).sum()
    }

    /// (subscription, member) of a consumer numbered across subscriptions.
    pub fn locate(&self, global: usize) -> (usize, usize) {
        let s = self.first.partition_point(|&f| f <= global) - 1;
        (s, global - self.first[s])
    }

    /// The number across subscriptions of a subscription's member.
    pub fn global(&self, sub: usize, member: usize) -> usize {
        self.first[sub] + member
    }

    /// A subscription's group settings for the coordinator.
    pub fn group_config(&self, sub: usize, partitions: usize) -> GroupConfig {
        let c = &self.configs[sub];
        GroupConfig {
            partitions,
            session_timeout_ms: c.session_timeout_ms,
            rebalance_timeout_ms: c.session_timeout_ms,
            initial_rebalance_delay_ms: c.initial_rebalance_delay_ms,
            static_membership: false,
            member: "consumer",
        }
    }

    /// Put a subscription's name before its group's timeline lines, which
    /// otherwise say only `consumer-N` (every subscription numbers from 0).
    pub fn name_notes(&self, gid: GroupId, notes: &mut [(TimelineKind, String, Vec<u64>)]) {
        if let GroupId::Subscription(s) = gid {
            for n in notes {
                n.1 = format!("subscription {}: {}", self.configs[s].name, n.1);
            }
        }
    }

    /// An offset commit, accepted as Kafka's coordinator accepts it: from a
    /// member that owns the partition in the group's current generation
    /// (also while a rebalance is being prepared, which is when a revoking
    /// member commits). Returns whether it was taken.
    pub fn commit(&self, sub: usize, member: usize, generation: u64, p: PartitionId, offset: u64) -> bool {
        let owns = {
            let g = self.groups[sub].lock().expect("group lock");
            g.generation == generation && g.assignment.get(&member).is_some_and(|ps| ps.contains(&p))
        };
        let mut st = self.state[sub].lock().expect("subscription lock");
        if owns {
            st.committed[p] = Some(offset);
            st.counts.commits += 1;
        } else {
            st.counts.commits_fenced += 1;
        }
        owns
    }

    /// Whether every subscription's consumers stand at every partition's final high watermark.
    pub fn drained(&self, hw: &[u64]) -> bool {
        self.state.iter().all(|s| {
            let s = s.lock().expect("subscription lock");
            s.progress.iter().zip(hw).all(|(&at, &hw)| at >= hw)
        })
    }

    /// Sample every subscription's total lag at `now_ms`.
    pub fn sample_lag(&self, hw: &[u64], now_ms: u64) {
        for s in &self.state {
            let mut s = s.lock().expect("subscription lock");
            let lag: u64 = s.progress.iter().zip(hw).map(|(&at, &hw)| hw.saturating_sub(at)).sum();
            s.counts.lag_peak = s.counts.lag_peak.max(lag);
            s.lag.push((now_ms, lag));
        }
    }
}
