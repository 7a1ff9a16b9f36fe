//! De-duplication by event id with a processing-time TTL.

use crate::record::EventId;
use imbl::{OrdMap, OrdSet};

/// Ids seen within the TTL. An id is remembered with the processing time it
/// was first accepted at (a dropped duplicate does not refresh it, like
/// Flink's state TTL on create-and-write), and forgotten `ttl` later.
///
/// Expiry is lazy: `expiry` is ordered by (insertion time, id), so each call
/// pops the expired front; being an ordered set rather than a queue, it
/// stays correct even if processing time were not monotonic, and no hash
/// order can leak into what is emitted.
#[derive(Clone, Debug)]
pub(super) struct Dedup {
    ttl_ms: Option<u64>,
    seen: OrdMap<EventId, u64>,
    expiry: OrdSet<(u64, EventId)>,
}

impl Dedup {
    /// Empty; `None` turns de-duplication off (nothing is remembered).
    pub(super) fn new(ttl_ms: Option<u64>) -> Self {
        Dedup {
            ttl_ms,
            seen: OrdMap::new(),
            expiry: OrdSet::new(),
        }
    }

    /// Remembered ids.
    pub(super) fn len(&self) -> usize {
        self.seen.len()
    }

    /// Forgets every id inserted at or before `now - ttl`.
    pub(super) fn expire(&mut self, now_ms: u64) {
        let Some(ttl) = self.ttl_ms else { return };
        while let Some(&(at, id)) = self.expiry.get_min() {
            if at.saturating_add(ttl) > now_ms {
                break;
            }
            self.expiry.remove(&(at, id));
            self.seen.remove(&id);
        }
    }

    /// Whether `id` was accepted less than `ttl` ago.
    pub(super) fn is_duplicate(&self, id: &EventId, now_ms: u64) -> bool {
        match (self.ttl_ms, self.seen.get(id)) {
            (Some(ttl), Some(&at)) => now_ms < at.saturating_add(ttl),
            _ => false,
        }
    }

    /// Remembers an accepted id at `now_ms`.
    pub(super) fn remember(&mut self, id: EventId, now_ms: u64) {
        if self.ttl_ms.is_none() {
            return;
        }
        if let Some(old) = self.seen.insert(id, now_ms) {
            self.expiry.remove(&(old, id));
        }
        self.expiry.insert((now_ms, id));
    }

    /// Forgets everything (end of input).
    pub(super) fn clear(&mut self) {
        self.seen.clear();
        self.expiry.clear();
    }
}
