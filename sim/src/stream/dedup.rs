//! De-duplication by event id with a processing-time TTL.

use super::seen_ids::SeenIds;
use crate::record::EventId;
use imbl::Vector;

/// Ids seen within the TTL. An id is remembered with the processing time it
/// was first accepted at (a dropped duplicate does not refresh it, like
/// Flink's state TTL on create-and-write), and forgotten `ttl` later.
///
/// Expiry runs before every acceptance: `expiry` is a queue in acceptance
/// order, and processing time only moves forward within a task, so popping
/// its expired front leaves exactly the ids accepted less than `ttl` ago,
/// each once, and membership alone answers whether an id is a duplicate.
/// Were time ever to step back, an entry would only be forgotten late. Both
/// structures are persistent, so a checkpoint's snapshot of the state costs
/// O(1), and no hash order can leak into what is emitted.
#[derive(Clone, Debug)]
pub(super) struct Dedup {
    ttl_ms: Option<u64>,
    seen: SeenIds,
    expiry: Vector<Accepted>,
    /// Processing time the queue's `at` values count from, ms.
    epoch_ms: u64,
}

/// One accepted id in the expiry queue: 16 bytes where a time and an
/// [`EventId`] take 24.
#[derive(Clone, Copy, Debug)]
struct Accepted {
    /// Acceptance time, ms after the queue's epoch.
    at: u32,
    client: u32,
    seq: u64,
}

impl Dedup {
    /// Empty; `None` turns de-duplication off (nothing is remembered).
    pub(super) fn new(ttl_ms: Option<u64>) -> Self {
        Dedup {
            ttl_ms,
            seen: SeenIds::default(),
            expiry: Vector::new(),
            epoch_ms: 0,
        }
    }

    /// Remembered ids.
    pub(super) fn len(&self) -> usize {
        self.expiry.len()
    }

    /// Forgets every id accepted at or before `now - ttl`.
    pub(super) fn expire(&mut self, now_ms: u64) {
        let Some(ttl) = self.ttl_ms else { return };
        while let Some(&a) = self.expiry.front() {
            if self.epoch_ms + u64::from(a.at) + ttl > now_ms {
                break;
            }
            self.expiry.pop_front();
            self.seen.remove(a.client, a.seq);
        }
    }

    /// Whether `id` was accepted less than `ttl` ago.
    #[cfg(test)]
    pub(super) fn is_duplicate(&self, id: &EventId, now_ms: u64) -> bool {
        let Some(ttl) = self.ttl_ms else { return false };
        self.expiry
            .iter()
            .rev()
            .find(|a| a.client == id.client && a.seq == id.seq)
            .is_some_and(|a| now_ms < self.epoch_ms + u64::from(a.at) + ttl)
    }

    /// Accepts `id` at `now_ms` unless it was accepted less than `ttl` ago;
    /// returns whether it was accepted. A dropped duplicate keeps its first
    /// time: dropping it must not refresh the TTL.
    pub(super) fn accept(&mut self, id: EventId, now_ms: u64) -> bool {
        if self.ttl_ms.is_none() {
            return true;
        }
        self.expire(now_ms);
        if self.seen.contains(id.client, id.seq) {
            return false;
        }
        self.seen.insert(id.client, id.seq);
        let at = self.offset_of(now_ms);
        self.expiry.push_back(Accepted {
            at,
            client: id.client,
            seq: id.seq,
        });
        true
    }

    /// `now_ms` as an offset from the queue's epoch, moving the epoch up when
    /// the queue is empty or (after 49 days of processing time) the offset
    /// would not fit.
    fn offset_of(&mut self, now_ms: u64) -> u32 {
        if self.expiry.is_empty() {
            self.epoch_ms = now_ms;
        }
        if let Ok(at) = u32::try_from(now_ms.saturating_sub(self.epoch_ms)) {
            return at;
        }
        let front = self.epoch_ms + self.expiry.front().map_or(0, |a| u64::from(a.at));
        let shift = front - self.epoch_ms;
        for a in self.expiry.iter_mut() {
            a.at -= shift as u32;
        }
        self.epoch_ms = front;
        u32::try_from(now_ms - front).expect("a TTL shorter than 49 days")
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
