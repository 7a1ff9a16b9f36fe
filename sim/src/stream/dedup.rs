//! De-duplication by event id with a processing-time TTL.

use crate::record::EventId;
use imbl::{OrdMap, Vector};

/// Ids seen within the TTL. An id is remembered with the processing time it
/// was first accepted at (a dropped duplicate does not refresh it, like
/// Flink's state TTL on create-and-write), and forgotten `ttl` later.
///
/// Expiry is lazy: `expiry` is a queue in insertion order, so each call pops
/// the expired front. Processing time only moves forward within a task, so
/// the queue is in time order; an entry whose id was remembered again later
/// is skipped when it reaches the front, since `seen` holds the newer time.
/// Were time ever to step back, an entry would only be forgotten late:
/// `is_duplicate` compares the remembered time itself. Both structures are
/// persistent, so a checkpoint's snapshot of the state costs O(1), and no
/// hash order can leak into what is emitted.
#[derive(Clone, Debug)]
pub(super) struct Dedup {
    ttl_ms: Option<u64>,
    seen: OrdMap<EventId, u64>,
    expiry: Vector<(u64, EventId)>,
}

impl Dedup {
    /// Empty; `None` turns de-duplication off (nothing is remembered).
    pub(super) fn new(ttl_ms: Option<u64>) -> Self {
        Dedup {
            ttl_ms,
            seen: OrdMap::new(),
            expiry: Vector::new(),
        }
    }

    /// Remembered ids.
    pub(super) fn len(&self) -> usize {
        self.seen.len()
    }

    /// Forgets every id inserted at or before `now - ttl`.
    pub(super) fn expire(&mut self, now_ms: u64) {
        let Some(ttl) = self.ttl_ms else { return };
        while let Some(&(at, id)) = self.expiry.front() {
            if at.saturating_add(ttl) > now_ms {
                break;
            }
            self.expiry.pop_front();
            if self.seen.get(&id) == Some(&at) {
                self.seen.remove(&id);
            }
        }
    }

    /// Whether `id` was accepted less than `ttl` ago.
    #[cfg(test)]
    pub(super) fn is_duplicate(&self, id: &EventId, now_ms: u64) -> bool {
        match (self.ttl_ms, self.seen.get(id)) {
            (Some(ttl), Some(&at)) => now_ms < at.saturating_add(ttl),
            _ => false,
        }
    }

    /// Accepts `id` at `now_ms` unless it was accepted less than `ttl` ago;
    /// returns whether it was accepted. One tree walk for the common case, a
    /// new id: a duplicate (rare) puts its first time back, since dropping
    /// it must not refresh the TTL.
    pub(super) fn accept(&mut self, id: EventId, now_ms: u64) -> bool {
        let Some(ttl) = self.ttl_ms else { return true };
        if let Some(at) = self.seen.insert(id, now_ms) {
            if now_ms < at.saturating_add(ttl) {
                self.seen.insert(id, at);
                return false;
            }
        }
        self.expiry.push_back((now_ms, id));
        true
    }

    /// Forgets everything (end of input).
    pub(super) fn clear(&mut self) {
        self.seen.clear();
        self.expiry.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(seq: u64) -> EventId {
        EventId { client: 0, seq }
    }

    #[test]
    fn an_id_is_a_duplicate_for_its_ttl_and_forgotten_after() {
        let mut d = Dedup::new(Some(100));
        d.accept(id(1), 0);
        d.accept(id(2), 50);
        assert!(d.is_duplicate(&id(1), 99) && !d.is_duplicate(&id(1), 100));
        d.expire(100);
        assert_eq!(d.len(), 1, "only id 1 expired");
        assert!(d.is_duplicate(&id(2), 149));
        d.expire(150);
        assert_eq!(d.len(), 0);
    }

    #[test]
    fn an_id_remembered_again_lives_from_its_newer_time() {
        let mut d = Dedup::new(Some(100));
        d.accept(id(1), 0);
        // Past its TTL but not yet expired lazily: accepted again at 120.
        assert!(!d.is_duplicate(&id(1), 120));
        d.accept(id(1), 120);
        // The queue's stale entry for time 0 must not forget the newer one.
        d.expire(150);
        assert!(d.is_duplicate(&id(1), 150));
        assert_eq!(d.len(), 1);
        d.expire(220);
        assert_eq!(d.len(), 0);
        assert!(d.expiry.is_empty(), "both queue entries are gone");
    }

    #[test]
    fn accept_drops_a_duplicate_without_refreshing_its_ttl() {
        let mut d = Dedup::new(Some(100));
        assert!(d.accept(id(1), 0));
        assert!(!d.accept(id(1), 60), "a duplicate within the TTL");
        // Had the duplicate refreshed the id, it would still be one at 120.
        assert!(d.accept(id(1), 120), "past the first acceptance's TTL");
        assert!(!d.accept(id(1), 200));
        d.expire(220);
        assert_eq!(d.len(), 0);
    }

    #[test]
    fn no_ttl_remembers_nothing() {
        let mut d = Dedup::new(None);
        d.accept(id(1), 0);
        assert!(!d.is_duplicate(&id(1), 1));
        assert_eq!(d.len(), 0);
    }
}
