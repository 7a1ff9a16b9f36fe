//! What each `[[subscription]]` (an independent consumer group) received,
//! and what the consumer-side checks found in its polls.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One subscription's figures in the run result.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct SubscriptionResult {
    /// Consumers in its group.
    pub consumers: usize,
    /// Records its polls returned (a record polled twice counts twice).
    pub records_received: u64,
    /// Distinct committed-log offsets it received.
    pub offsets_received: u64,
    /// Largest total lag sampled (records behind the high watermarks, all partitions).
    pub lag_peak: u64,
    /// Generations its group went through (the first assignment counts).
    pub rebalances: u64,
    /// Offset commits the coordinator accepted.
    pub commits: u64,
    /// Occurrences of each consumer-side check: `poll_skip`, `nonmonotonic_poll`,
    /// `inconsistent_offsets`, `unseen` (committed records it never received).
    pub checks: BTreeMap<String, u64>,
    /// Total lag sampled every second: `[virtual ms, records]`.
    pub lag: Vec<[u64; 2]>,
}
