//! What a broker hosting transaction coordinators keeps in memory (and loses
//! with it): its marker requests in flight and when each owed marker was last
//! sent. The coordinator's durable state is the store in `transaction_coordinator`.

use crate::ids::PartitionId;
use std::collections::{BTreeMap, BTreeSet};

/// A broker's volatile coordinator state: its marker requests in flight.
#[derive(Default)]
pub(super) struct CoordinatorHost {
    /// Marker requests in flight: request id -> (transactional id, partition).
    pub(super) reqs: BTreeMap<u64, (u64, PartitionId)>,
    /// When each owed marker was last sent, ms.
    pub(super) sent: BTreeMap<(u64, PartitionId), u64>,
    pub(super) next_req: u64,
    /// Next look at timeouts and owed markers; `u64::MAX` when no producer is transactional.
    pub next_drive_ms: u64,
    /// Decided transactions another broker began and this one is finishing, already on the timeline.
    pub(super) resumed: BTreeSet<(u64, u64)>,
}

impl CoordinatorHost {
    /// A fresh host: it looks at the store at once when the scenario has transactions.
    pub(super) fn new(transactional: bool, now_ms: u64) -> Self {
        CoordinatorHost {
            next_drive_ms: if transactional { now_ms } else { u64::MAX },
            ..Default::default()
        }
    }
}
