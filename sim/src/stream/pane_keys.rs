//! The keys of one open fixed window and their counts, kept so that an event
//! costs a hash lookup or two and a checkpoint's snapshot copies only what
//! changed since the last few commits.
//!
//! An exactly-once task snapshots its state at every commit (every 100 ms by
//! default), and a persistent ordered map shares its nodes with that
//! snapshot, so the first event after it on each leaf copies the leaf and
//! the branch above it. At a peak rate a commit's events touch most leaves
//! of a partition's few thousand keys, and the copies and lookups were a
//! tenth of a run's CPU. Here the counts live in two hash maps, each shared
//! behind an `Arc` with the snapshots: `settled`, and `recent`, the keys
//! changed since `settled` was last merged into, with their whole counts.
//! The first change after a snapshot copies `recent`; once `recent` holds a
//! quarter of `settled` (or [`MIN_RECENT`] keys) it is merged in, copying
//! `settled` if a snapshot still holds it. A quarter keeps both copies small
//! at a peak rate, where a commit changes a hundred keys of a few thousand;
//! the floor keeps them small at a low one, where a commit changes one or
//! two keys of a few hundred. Hash order never leaks out: keys are named in
//! order ([`PaneKeys::sorted_keys`]).

use rustc_hash::FxHashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;

/// Count and bytes of one key in one window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Counts {
    /// Elements.
    pub count: u64,
    /// Their bytes.
    pub bytes: u64,
}

/// Fewest keys `recent` holds before it may be merged: merging a small
/// window's few keys at every commit would copy `settled` each time.
const MIN_RECENT: usize = 32;

/// The counts of one window by key.
#[derive(Clone, Debug, Default)]
pub(super) struct PaneKeys {
    /// Counts as of the last merge, shared with the snapshots taken since.
    settled: Arc<FxHashMap<u64, Counts>>,
    /// Keys changed since the last merge, with their whole counts; shared
    /// with the snapshots taken since it last changed.
    recent: Arc<FxHashMap<u64, Counts>>,
    /// Keys of `recent` that `settled` does not hold.
    fresh: usize,
}

impl PaneKeys {
    /// Adds one element of `size` bytes to `key`.
    pub(super) fn add(&mut self, key: u64, size: u64) {
        let recent = Arc::make_mut(&mut self.recent);
        match recent.entry(key) {
            Entry::Occupied(mut e) => {
                let c = e.get_mut();
                c.count += 1;
                c.bytes += size;
            }
            Entry::Vacant(e) => {
                let before = self.settled.get(&key).copied();
                self.fresh += usize::from(before.is_none());
                let before = before.unwrap_or_default();
                e.insert(Counts {
                    count: before.count + 1,
                    bytes: before.bytes + size,
                });
                if recent.len() > MIN_RECENT.max(self.settled.len() / 4) {
                    self.merge();
                }
            }
        }
    }

    /// Moves `recent` into `settled`, copying `settled` first if a snapshot holds it.
    fn merge(&mut self) {
        let recent = Arc::make_mut(&mut self.recent);
        Arc::make_mut(&mut self.settled).extend(recent.drain());
        self.fresh = 0;
    }

    /// Keys held.
    pub(super) fn len(&self) -> usize {
        self.settled.len() + self.fresh
    }

    /// Counts of `key`, if it has any.
    pub(super) fn get(&self, key: u64) -> Option<Counts> {
        self.recent.get(&key).or_else(|| self.settled.get(&key)).copied()
    }

    /// Every key, ascending.
    pub(super) fn sorted_keys(&self) -> Vec<u64> {
        let mut keys: Vec<u64> = self.settled.keys().copied().collect();
        keys.extend(self.recent.keys().filter(|k| !self.settled.contains_key(k)));
        keys.sort_unstable();
        keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// Against an ordered map, with snapshots taken now and then and kept:
    /// every snapshot still reads what it held when it was taken, across the
    /// merges that happen after it.
    #[test]
    fn agrees_with_an_ordered_map_and_snapshots_stay_put() {
        let mut keys = PaneKeys::default();
        let mut model: BTreeMap<u64, Counts> = BTreeMap::new();
        let mut snapshots: Vec<(PaneKeys, BTreeMap<u64, Counts>)> = Vec::new();
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut merges = 0;
        for i in 0..60_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Skewed keys: a few hot ones, a long tail.
            let key = if x.is_multiple_of(4) { x % 8 } else { x % 3_000 };
            let fresh_before = keys.recent.len();
            keys.add(key, i % 977);
            if keys.recent.len() < fresh_before {
                merges += 1;
            }
            let c = model.entry(key).or_default();
            c.count += 1;
            c.bytes += i % 977;
            if i % 997 == 0 {
                snapshots.push((keys.clone(), model.clone()));
            }
        }
        assert!(merges >= 3, "merged {merges} times");
        assert_eq!(keys.len(), model.len());
        assert_eq!(keys.sorted_keys(), model.keys().copied().collect::<Vec<_>>());
        for (k, c) in &model {
            assert_eq!(keys.get(*k), Some(*c), "key {k}");
        }
        assert_eq!(keys.get(3_001), None);
        for (snap, then) in &snapshots {
            assert_eq!(snap.len(), then.len());
            assert_eq!(snap.sorted_keys(), then.keys().copied().collect::<Vec<_>>());
            for (k, c) in then {
                assert_eq!(snap.get(*k), Some(*c), "key {k}");
            }
        }
    }
}
