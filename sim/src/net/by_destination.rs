//! What a node is about to send, grouped by destination: a produce request per
//! leader, a fetch per leader, a reply per client. A node builds one of these
//! at most wake-ups and sends the groups in ascending order of destination.
//!
//! The destinations of one round are few (the brokers, the gateways, the
//! clients of one gateway), so the groups sit in a vector sorted by
//! destination. An ordered map sends in the same order, but allocated a node
//! for every round and walked it twice: about 1% of a day's instructions
//! (docs/performance-history.md, "Groups by destination in a sorted vector").

/// Items grouped by destination `K`, iterated in ascending order of `K`.
#[derive(Debug, Clone)]
pub struct ByDestination<K, V> {
    groups: Vec<(K, Vec<V>)>,
}

impl<K, V> Default for ByDestination<K, V> {
    fn default() -> Self {
        ByDestination { groups: Vec::new() }
    }
}

impl<K: Ord + Copy, V> ByDestination<K, V> {
    /// No groups yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The group of `dst`, created empty if it has none yet.
    pub fn group(&mut self, dst: K) -> &mut Vec<V> {
        let i = match self.groups.binary_search_by(|(k, _)| k.cmp(&dst)) {
            Ok(i) => i,
            Err(i) => {
                self.groups.insert(i, (dst, Vec::new()));
                i
            }
        };
        &mut self.groups[i].1
    }
}

impl<K, V> IntoIterator for ByDestination<K, V> {
    type Item = (K, Vec<V>);
    type IntoIter = std::vec::IntoIter<(K, Vec<V>)>;

    /// The groups in ascending order of destination.
    fn into_iter(self) -> Self::IntoIter {
        self.groups.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::ByDestination;
    use std::collections::BTreeMap;

    #[test]
    fn groups_come_out_as_an_ordered_map_gives_them() {
        let mut grouped = ByDestination::new();
        let mut reference: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
        // Destinations in a scrambled order, with repeats.
        for i in 0..200u32 {
            let dst = (i * 37 + 11) % 13;
            grouped.group(dst).push(i);
            reference.entry(dst).or_default().push(i);
        }
        let got: Vec<(u32, Vec<u32>)> = grouped.into_iter().collect();
        let want: Vec<(u32, Vec<u32>)> = reference.into_iter().collect();
        assert_eq!(got, want);
    }

    #[test]
    fn a_group_is_made_by_its_first_item_only() {
        let empty: ByDestination<u32, u32> = ByDestination::new();
        assert_eq!(empty.into_iter().count(), 0);
        let mut grouped = ByDestination::new();
        grouped.group(4).push(1);
        grouped.group(4).push(2);
        assert_eq!(grouped.into_iter().collect::<Vec<_>>(), vec![(4, vec![1, 2])]);
    }
}
