//! A consumer's fetch requests in flight, kept alike by the stream processor
//! and the lake writers: which partitions each request asks for and when it
//! left, so that one unanswered past its timeout (its leader may be dead) is
//! abandoned and its partitions are fetched again.

use crate::ids::PartitionId;
use std::collections::BTreeMap;

/// A consumer fetch unanswered this long past the broker's wait is abandoned, ms.
/// The wait is added so that a fetch held for its whole `fetch.max.wait.ms` is
/// never mistaken for one lost with its leader.
pub const FETCH_TIMEOUT_MS: u64 = 2_000;

/// Requests in flight by id: the partitions asked for and the ms it was sent.
pub type FetchesInFlight = BTreeMap<u64, (Vec<PartitionId>, u64)>;

/// Abandons the requests sent [`FETCH_TIMEOUT_MS`] plus `max_wait_ms` (the
/// broker's long-poll wait) or more before `now_ms` and returns the partitions
/// to fetch again: those that no newer request still asks for (a partition
/// reset since may already wait on one).
pub fn expire(fetches: &mut FetchesInFlight, now_ms: u64, max_wait_ms: u64) -> Vec<PartitionId> {
    let timeout = FETCH_TIMEOUT_MS + max_wait_ms;
    let mut expired = Vec::new();
    fetches.retain(|_, (ps, sent)| {
        let live = now_ms < *sent + timeout;
        if !live {
            expired.append(ps);
        }
        live
    });
    expired.retain(|p| !fetches.values().any(|(ps, _)| ps.contains(p)));
    expired
}
