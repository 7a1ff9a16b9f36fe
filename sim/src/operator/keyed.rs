//! Keyed state: one value per record key, in a persistent ordered map.

use imbl::OrdMap;

/// One value per key, for an operator's [`State`](super::Operator::State).
///
/// A persistent (structurally shared) ordered map: cloning it, which the
/// harness does at every checkpoint, costs O(1), and later writes copy only
/// the few nodes they touch; iteration is in key order, so outputs built
/// from it are deterministic.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyedState<V: Clone> {
    map: OrdMap<u64, V>,
}

impl<V: Clone> Default for KeyedState<V> {
    fn default() -> Self {
        KeyedState { map: OrdMap::new() }
    }
}

impl<V: Clone> KeyedState<V> {
    /// Empty.
    pub fn new() -> Self {
        Self::default()
    }

    /// The value of `key`.
    pub fn get(&self, key: u64) -> Option<&V> {
        self.map.get(&key)
    }

    /// Sets the value of `key`, returning the old one.
    pub fn insert(&mut self, key: u64, value: V) -> Option<V> {
        self.map.insert(key, value)
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: u64) -> Option<V> {
        self.map.remove(&key)
    }

    /// The value of `key` to change in place, inserting `V::default()` first if absent.
    pub fn entry(&mut self, key: u64) -> &mut V
    where
        V: Default,
    {
        self.map.entry(key).or_default()
    }

    /// Keys with a value.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// No key has a value.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// `(key, value)` in key order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &V)> {
        self.map.iter().map(|(k, v)| (*k, v))
    }
}
