//! A consumer's fetch requests, sent and kept alike by the stream processor,
//! the lake writers and the subscriptions' consumers: one long-poll fetch per
//! leader, and which partitions each request in flight asks for and when it
//! left, so that one unanswered past its timeout (its leader may be dead) is
//! abandoned and its partitions are fetched again.

use crate::ids::{Addr, PartitionId};
use crate::msg::Msg;
use crate::net::ByDestination;
use crate::wire::ReadMsg;
use crate::world::Shared;
use std::collections::BTreeMap;

/// A consumer fetch unanswered this long past the broker's wait is abandoned, ms.
/// The wait is added so that a fetch held for its whole `fetch.max.wait.ms` is
/// never mistaken for one lost with its leader.
pub const FETCH_TIMEOUT_MS: u64 = 2_000;

/// Requests in flight by id: the partitions asked for and the ms it was sent.
pub type FetchesInFlight = BTreeMap<u64, (Vec<PartitionId>, u64)>;

/// The partitions to fetch, by leader broker, each with the offset to read from.
pub type ByLeader = ByDestination<usize, (PartitionId, u64)>;

/// A consumer's fetch settings, to send its fetches with.
pub struct Fetcher<'a> {
    /// The world the fetches go through.
    pub sh: &'a Shared,
    /// The consumer's node.
    pub from: Addr,
    /// `fetch.max.bytes`.
    pub max_bytes: u64,
    /// `fetch.max.wait.ms`: how long a leader may hold a fetch with nothing to return.
    pub max_wait_ms: u64,
}

impl Fetcher<'_> {
    /// Sends one fetch per leader of `by_leader`, leaving at `at_us`, each numbered by the
    /// consumer's request counter `next_req` (incremented first) and kept in `fetches` as
    /// sent at `now_ms`; returns how many were sent.
    pub fn send(
        &self,
        by_leader: ByLeader,
        fetches: &mut FetchesInFlight,
        next_req: &mut u64,
        now_ms: u64,
        at_us: u64,
    ) -> u64 {
        let mut sent = 0;
        for (leader, parts) in by_leader {
            *next_req += 1;
            let req = *next_req;
            fetches.insert(req, (parts.iter().map(|&(p, _)| p).collect(), now_ms));
            let fetch = ReadMsg::ConsumerFetch {
                req,
                parts,
                max_bytes: self.max_bytes,
                max_wait_ms: self.max_wait_ms,
            };
            let dst = self.sh.layout.broker(leader);
            self.sh.fabric.send(self.from, dst, Msg::Read(fetch), at_us);
            sent += 1;
        }
        sent
    }
}

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
