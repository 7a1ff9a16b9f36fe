//! A map from partition id to what a node holds for it, as a vector.
//!
//! Partition ids are small and dense (the cluster's partitions, then its
//! dead-letter, output and transaction-state partitions). A broker looks
//! its replicas and logs up several times for every partition of every
//! fetch it serves, and a stream processor walks its tasks several times at
//! every wake-up: an ordered map's search and walk were about 4% and 1% of
//! a day's instructions. Here a lookup is an index. Iteration is in
//! ascending partition order, as the ordered map's was, so runs are
//! unchanged.

use crate::ids::PartitionId;

/// Values by partition id, with a slot for every id up to the largest held.
#[derive(Debug, Clone)]
pub struct PartitionMap<V> {
    slots: Vec<Option<V>>,
    len: usize,
}

impl<V> Default for PartitionMap<V> {
    fn default() -> Self {
        PartitionMap {
            slots: Vec::new(),
            len: 0,
        }
    }
}

impl<V> PartitionMap<V> {
    /// The value of `p`, if held.
    pub fn get(&self, p: &PartitionId) -> Option<&V> {
        self.slots.get(*p).and_then(Option::as_ref)
    }

    /// The value of `p`, mutably, if held.
    pub fn get_mut(&mut self, p: &PartitionId) -> Option<&mut V> {
        self.slots.get_mut(*p).and_then(Option::as_mut)
    }

    /// Whether `p` is held.
    pub fn contains_key(&self, p: &PartitionId) -> bool {
        self.get(p).is_some()
    }

    /// Holds `v` for `p`, returning what it held before.
    pub fn insert(&mut self, p: PartitionId, v: V) -> Option<V> {
        if p >= self.slots.len() {
            self.slots.resize_with(p + 1, || None);
        }
        let old = self.slots[p].replace(v);
        self.len += usize::from(old.is_none());
        old
    }

    /// Stops holding `p`, returning its value.
    pub fn remove(&mut self, p: &PartitionId) -> Option<V> {
        let old = self.slots.get_mut(*p).and_then(Option::take);
        self.len -= usize::from(old.is_some());
        old
    }

    /// The value of `p`, inserting `V::default()` first if none is held.
    pub fn get_or_default(&mut self, p: PartitionId) -> &mut V
    where
        V: Default,
    {
        if !self.contains_key(&p) {
            self.insert(p, V::default());
        }
        self.slots[p].as_mut().expect("just inserted")
    }

    /// Partitions held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no partition is held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Stops holding every partition.
    pub fn clear(&mut self) {
        self.slots.clear();
        self.len = 0;
    }

    /// (partition, value), ascending.
    pub fn iter(&self) -> Iter<'_, V> {
        Iter(self.slots.iter().enumerate())
    }

    /// (partition, value), ascending, mutably.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (PartitionId, &mut V)> {
        self.slots
            .iter_mut()
            .enumerate()
            .filter_map(|(p, v)| v.as_mut().map(|v| (p, v)))
    }

    /// Partitions held, ascending.
    pub fn keys(&self) -> impl Iterator<Item = PartitionId> + '_ {
        self.iter().map(|(p, _)| p)
    }

    /// Values, by ascending partition.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.slots.iter().filter_map(Option::as_ref)
    }

    /// Values, by ascending partition, mutably.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.slots.iter_mut().filter_map(Option::as_mut)
    }
}

impl<V> std::ops::Index<&PartitionId> for PartitionMap<V> {
    type Output = V;

    /// The value of `p`; panics if it is not held, as an ordered map's index does.
    fn index(&self, p: &PartitionId) -> &V {
        self.get(p).unwrap_or_else(|| panic!("partition {p} is not held"))
    }
}

impl<V> FromIterator<(PartitionId, V)> for PartitionMap<V> {
    /// A later value for a partition replaces an earlier one, as in an ordered map.
    fn from_iter<I: IntoIterator<Item = (PartitionId, V)>>(pairs: I) -> Self {
        let mut m = PartitionMap::default();
        for (p, v) in pairs {
            m.insert(p, v);
        }
        m
    }
}

impl<'a, V> IntoIterator for &'a PartitionMap<V> {
    type Item = (PartitionId, &'a V);
    type IntoIter = Iter<'a, V>;

    fn into_iter(self) -> Iter<'a, V> {
        self.iter()
    }
}

/// (partition, value) of a [`PartitionMap`], ascending.
pub struct Iter<'a, V>(std::iter::Enumerate<std::slice::Iter<'a, Option<V>>>);

impl<'a, V> Iterator for Iter<'a, V> {
    type Item = (PartitionId, &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        self.0.by_ref().find_map(|(p, v)| v.as_ref().map(|v| (p, v)))
    }
}

#[cfg(test)]
mod tests {
    use super::PartitionMap;
    use std::collections::BTreeMap;

    /// Against an ordered map: the same answers and the same iteration order
    /// through inserts, replacements and removals.
    #[test]
    fn agrees_with_an_ordered_map() {
        let mut m = PartitionMap::default();
        let mut model = BTreeMap::new();
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for i in 0..5_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let p = (x % 97) as usize;
            match x % 5 {
                0 | 1 => assert_eq!(m.insert(p, i), model.insert(p, i)),
                2 => assert_eq!(m.remove(&p), model.remove(&p)),
                3 => *m.get_or_default(p) += 1,
                _ => {
                    if let Some(v) = m.get_mut(&p) {
                        *v += 7;
                    }
                }
            }
            if x % 5 == 3 {
                *model.entry(p).or_default() += 1;
            } else if x % 5 == 4 {
                if let Some(v) = model.get_mut(&p) {
                    *v += 7;
                }
            }
            assert_eq!(m.len(), model.len());
            assert_eq!(m.get(&p), model.get(&p));
            assert_eq!(m.contains_key(&p), model.contains_key(&p));
        }
        let pairs: Vec<(usize, u64)> = m.iter().map(|(p, v)| (p, *v)).collect();
        let want: Vec<(usize, u64)> = model.iter().map(|(p, v)| (*p, *v)).collect();
        assert_eq!(pairs, want);
        assert_eq!(m.keys().collect::<Vec<_>>(), model.keys().copied().collect::<Vec<_>>());
        assert_eq!(m.is_empty(), model.is_empty());
    }

    /// Built from pairs, a later value for a partition replaces an earlier
    /// one; cleared, nothing is held and a new insert starts afresh.
    #[test]
    fn collects_like_an_ordered_map_and_clears() {
        let pairs = [(7, 'a'), (2, 'b'), (7, 'c'), (0, 'd')];
        let m: PartitionMap<char> = pairs.into_iter().collect();
        let model: BTreeMap<usize, char> = pairs.into_iter().collect();
        assert_eq!(m.len(), 3);
        assert_eq!(
            m.iter().map(|(p, v)| (p, *v)).collect::<Vec<_>>(),
            model.into_iter().collect::<Vec<_>>()
        );
        let mut m = m;
        m.clear();
        assert!(m.is_empty());
        assert_eq!(m.iter().count(), 0);
        assert_eq!(m.get(&7), None);
        m.insert(3, 'e');
        assert_eq!(m.keys().collect::<Vec<_>>(), [3]);
    }
}
