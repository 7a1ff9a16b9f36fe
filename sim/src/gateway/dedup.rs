//! The ingestion tier's de-duplication cache: event ids the log already
//! took, remembered for a TTL, so a client retry with the same id is
//! answered without producing a second copy.
//!
//! It models what ingestion gateways put in front of Kafka (an in-process
//! LRU or a Redis `SET id NX EX ttl`): a first copy claims its id while it
//! is produced (a claim with a lease), the log's acknowledgement turns the
//! claim into a remembered outcome for `ttl`, and a failure releases the
//! claim so the retry is produced again. Capacity bounds memory; the oldest
//! entries are evicted first, and an evicted or expired id is simply not
//! recognised any more. Ordered containers only: iteration never depends on
//! hash order.

use crate::config::{GatewayConfig, ProducerConfig};
use crate::msg::EventResult;
use crate::record::EventId;
use std::collections::{BTreeMap, VecDeque};

/// What the cache says about an id a request carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// Not known (never seen, expired, evicted or released): this copy is
    /// the first, and its id is now claimed by the caller.
    Claimed,
    /// The log already took a copy within the TTL: answer with its outcome.
    Settled(EventResult),
    /// A copy is being produced under the claim of `owner`.
    InFlight {
        /// The producer id of the gateway incarnation holding the claim.
        owner: u64,
    },
}

/// Counters of one cache, taken and summed into the run's figures: the
/// result model's own type, so the figures reach the report as they are.
pub use streamsim_reports::GatewayDedupResult as DedupStats;

#[derive(Clone, Copy, Debug)]
enum State {
    InFlight { owner: u64 },
    Settled(EventResult),
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    /// Matches the `order` item that stands for this entry; older items are stale.
    stamp: u64,
    expires_ms: u64,
    state: State,
}

/// A bounded id cache with a TTL on outcomes and a lease on claims.
#[derive(Debug)]
pub struct DedupCache {
    ttl_ms: u64,
    lease_ms: u64,
    capacity: usize,
    entries: BTreeMap<EventId, Entry>,
    /// Entries by the time they were written, oldest first: eviction and
    /// expiry pop from the front. A claim that settles is written again, so
    /// its first item goes stale and is skipped when it reaches the front.
    order: VecDeque<(EventId, u64)>,
    next_stamp: u64,
    stats: DedupStats,
}

impl DedupCache {
    /// The cache the gateway settings describe: ids held for the TTL, claims for the
    /// producer's delivery timeout (a claim outliving it would block a retry forever).
    pub fn for_gateways(g: &GatewayConfig, producer: &ProducerConfig) -> Self {
        DedupCache::new(g.dedup_ttl_ms(), producer.delivery_timeout_ms, g.dedup_capacity)
    }

    /// A cache remembering outcomes for `ttl_ms`, claims for `lease_ms`, at most `capacity` ids.
    pub fn new(ttl_ms: u64, lease_ms: u64, capacity: usize) -> Self {
        DedupCache {
            ttl_ms,
            lease_ms,
            capacity: capacity.max(1),
            entries: BTreeMap::new(),
            order: VecDeque::new(),
            next_stamp: 0,
            stats: DedupStats::default(),
        }
    }

    /// Ids held (claims and outcomes).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no id is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The counters since the last call, reset.
    pub fn take_stats(&mut self) -> DedupStats {
        std::mem::take(&mut self.stats)
    }

    /// Look `id` up for a copy arriving at `now_ms`; an unknown id is claimed for `owner`.
    pub fn check(&mut self, id: EventId, now_ms: u64, owner: u64) -> Lookup {
        self.stats.lookups += 1;
        match self.entries.get(&id) {
            Some(e) if e.expires_ms <= now_ms => {
                self.entries.remove(&id);
                self.stats.expired += 1;
            }
            Some(e) => {
                return match e.state {
                    State::Settled(r) => {
                        self.stats.hits += 1;
                        Lookup::Settled(r)
                    }
                    State::InFlight { owner } => {
                        self.stats.in_flight += 1;
                        Lookup::InFlight { owner }
                    }
                };
            }
            None => {}
        }
        self.write(id, now_ms + self.lease_ms, State::InFlight { owner }, now_ms);
        Lookup::Claimed
    }

    /// The log took the copy of `id`: remember the outcome for the TTL. An id
    /// evicted meanwhile is written again, as a `SET` after the produce would.
    pub fn settle(&mut self, id: EventId, result: EventResult, now_ms: u64) {
        self.write(id, now_ms + self.ttl_ms, State::Settled(result), now_ms);
    }

    /// The copy `owner` produced for `id` failed: drop its claim so a retry
    /// is produced again rather than told about a copy that never landed.
    pub fn release(&mut self, id: EventId, owner: u64) {
        if let Some(Entry {
            state: State::InFlight { owner: o },
            ..
        }) = self.entries.get(&id)
        {
            if *o == owner {
                self.entries.remove(&id);
                self.stats.released += 1;
            }
        }
    }

    fn write(&mut self, id: EventId, expires_ms: u64, state: State, now_ms: u64) {
        self.next_stamp += 1;
        let stamp = self.next_stamp;
        self.entries.insert(
            id,
            Entry {
                stamp,
                expires_ms,
                state,
            },
        );
        self.order.push_back((id, stamp));
        self.trim(now_ms);
    }

    /// Pop stale and expired items from the front and evict down to capacity.
    fn trim(&mut self, now_ms: u64) {
        while let Some(&(id, stamp)) = self.order.front() {
            let live = self.entries.get(&id).filter(|e| e.stamp == stamp).copied();
            match live {
                None => {
                    self.order.pop_front();
                }
                Some(e) if e.expires_ms <= now_ms => {
                    self.order.pop_front();
                    self.entries.remove(&id);
                    self.stats.expired += 1;
                }
                Some(_) if self.entries.len() > self.capacity => {
                    self.order.pop_front();
                    self.entries.remove(&id);
                    self.stats.evicted += 1;
                }
                Some(_) => break,
            }
        }
        // A live entry at the front (a long claim) holds back stale items
        // behind it; drop them before they outgrow the entries themselves.
        if self.order.len() > 2 * self.entries.len() + 1024 {
            let entries = &self.entries;
            self.order
                .retain(|(id, stamp)| entries.get(id).is_some_and(|e| e.stamp == *stamp));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(seq: u64) -> EventId {
        EventId { client: 0, seq }
    }

    const GW0: u64 = 1 << 32 | 1;
    const GW1: u64 = 2 << 32 | 1;

    #[test]
    fn an_acknowledged_id_is_a_hit_until_its_ttl_runs_out() {
        let mut c = DedupCache::new(1_000, 5_000, 100);
        assert_eq!(c.check(id(1), 0, GW0), Lookup::Claimed);
        c.settle(id(1), EventResult::Acked, 10);
        assert_eq!(c.check(id(1), 500, GW0), Lookup::Settled(EventResult::Acked));
        // The TTL counts from the acknowledgement, not from the first lookup.
        assert_eq!(c.check(id(1), 1_009, GW0), Lookup::Settled(EventResult::Acked));
        assert_eq!(c.check(id(1), 1_010, GW0), Lookup::Claimed, "expired: produced again");
        let s = c.take_stats();
        assert_eq!((s.lookups, s.hits, s.expired), (4, 2, 1));
        assert_eq!(c.take_stats(), DedupStats::default());
    }

    #[test]
    fn a_copy_in_flight_is_reported_with_its_owner_and_a_failure_releases_it() {
        let mut c = DedupCache::new(1_000, 5_000, 100);
        assert_eq!(c.check(id(7), 0, GW0), Lookup::Claimed);
        assert_eq!(c.check(id(7), 3, GW1), Lookup::InFlight { owner: GW0 });
        // Only the owner's failure releases the claim.
        c.release(id(7), GW1);
        assert_eq!(c.check(id(7), 4, GW1), Lookup::InFlight { owner: GW0 });
        c.release(id(7), GW0);
        assert_eq!(
            c.check(id(7), 5, GW1),
            Lookup::Claimed,
            "a failed copy does not poison the id"
        );
        // A settled outcome is not released by a late failure of an old claim.
        c.settle(id(7), EventResult::Acked, 6);
        c.release(id(7), GW1);
        assert_eq!(c.check(id(7), 7, GW0), Lookup::Settled(EventResult::Acked));
        assert_eq!(c.take_stats().released, 1);
    }

    #[test]
    fn a_claim_whose_owner_vanished_lapses_after_its_lease() {
        let mut c = DedupCache::new(10_000, 500, 100);
        assert_eq!(c.check(id(1), 0, GW0), Lookup::Claimed);
        assert_eq!(c.check(id(1), 499, GW1), Lookup::InFlight { owner: GW0 });
        assert_eq!(c.check(id(1), 500, GW1), Lookup::Claimed);
    }

    #[test]
    fn capacity_evicts_the_oldest_first_and_an_evicted_id_is_forgotten() {
        let mut c = DedupCache::new(60_000, 60_000, 3);
        for s in 0..3 {
            c.check(id(s), s, GW0);
            c.settle(id(s), EventResult::Acked, s);
        }
        // Settling rewrote each entry: the claims' items are stale, not counted.
        assert_eq!(c.len(), 3);
        c.check(id(3), 10, GW0);
        assert_eq!(c.len(), 3);
        assert_eq!(c.take_stats().evicted, 1);
        assert_eq!(c.check(id(0), 11, GW0), Lookup::Claimed, "the oldest went first");
        assert_eq!(c.check(id(2), 12, GW0), Lookup::Settled(EventResult::Acked));
        assert!(c.order.len() <= 2 * c.len() + 1024);
    }

    #[test]
    fn memory_stays_bounded_by_ttl_over_a_long_stream() {
        // 1,000 ids a virtual second for 100 s with a 2 s TTL: about 2,000 held, never all.
        let mut c = DedupCache::new(2_000, 2_000, 1_000_000);
        let mut most = 0;
        for seq in 0..100_000u64 {
            let now = seq;
            assert_eq!(c.check(id(seq), now, GW0), Lookup::Claimed);
            c.settle(id(seq), EventResult::Acked, now + 1);
            most = most.max(c.len());
        }
        assert!(most <= 2_002, "{most} ids held");
        assert!(c.order.len() <= 2 * c.len() + 1024, "{} order items", c.order.len());
        assert_eq!(c.take_stats().evicted, 0);
    }

    #[test]
    fn per_instance_caches_do_not_see_each_other_and_a_shared_one_does() {
        // Two gateways with a cache each: a retry that lands on the other one is not caught.
        let (mut a, mut b) = (DedupCache::new(1_000, 1_000, 10), DedupCache::new(1_000, 1_000, 10));
        a.check(id(1), 0, GW0);
        a.settle(id(1), EventResult::Acked, 1);
        assert_eq!(b.check(id(1), 2, GW1), Lookup::Claimed);
        // One cache both consult: the same retry is answered from it.
        let mut shared = DedupCache::new(1_000, 1_000, 10);
        shared.check(id(1), 0, GW0);
        shared.settle(id(1), EventResult::Acked, 1);
        assert_eq!(shared.check(id(1), 2, GW1), Lookup::Settled(EventResult::Acked));
    }
}
