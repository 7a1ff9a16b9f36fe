//! How many copies of each event a table holds, per client: the sequences
//! with at least one copy as ranges, and the rare ones with more beside
//! them. A run's millions of events take a handful of ranges, where a
//! count per event would grow with the run.

use super::interval_set::IntervalSet;
use std::collections::BTreeMap;

/// Copies per sequence of one client.
#[derive(Debug, Default, Clone)]
pub struct ClientCopies {
    /// Sequences with at least one copy.
    pub present: IntervalSet,
    /// Copies beyond the first, by sequence.
    pub extra: BTreeMap<u64, u32>,
}

impl ClientCopies {
    /// Count one more copy of `seq`; returns how many there were before.
    pub fn add(&mut self, seq: u64) -> u32 {
        if self.present.insert(seq) {
            return 0;
        }
        let n = self.extra.entry(seq).or_insert(0);
        *n += 1;
        *n
    }

    /// Copies of `seq`.
    pub fn get(&self, seq: u64) -> u32 {
        if !self.present.contains(seq) {
            return 0;
        }
        1 + self.extra.get(&seq).copied().unwrap_or(0)
    }

    /// Sequences with more than one copy, with their count.
    pub fn multiple(&self) -> impl Iterator<Item = (u64, u32)> + '_ {
        self.extra.iter().map(|(&s, &n)| (s, n + 1))
    }
}

/// Copies per event, by client index.
#[derive(Debug, Default, Clone)]
pub struct Copies {
    clients: Vec<ClientCopies>,
}

impl Copies {
    /// Empty counts for `clients` clients.
    pub fn new(clients: usize) -> Self {
        Copies {
            clients: vec![ClientCopies::default(); clients],
        }
    }

    /// Count one more copy; returns how many there were before.
    pub fn add(&mut self, client: u32, seq: u64) -> u32 {
        let i = client as usize;
        if i >= self.clients.len() {
            self.clients.resize(i + 1, ClientCopies::default());
        }
        self.clients[i].add(seq)
    }

    /// Copies of one event.
    pub fn get(&self, client: u32, seq: u64) -> u32 {
        self.clients.get(client as usize).map_or(0, |c| c.get(seq))
    }

    /// One client's counts (empty for a client never seen).
    pub fn client(&self, client: usize) -> std::borrow::Cow<'_, ClientCopies> {
        match self.clients.get(client) {
            Some(c) => std::borrow::Cow::Borrowed(c),
            None => std::borrow::Cow::Owned(ClientCopies::default()),
        }
    }

    /// The first sequence number of `client` not yet counted: every one below it has a copy.
    pub fn counted_below(&self, client: u32) -> u64 {
        self.clients.get(client as usize).map_or(0, |c| c.present.prefix_end())
    }

    /// Distinct events with at least one copy.
    pub fn distinct(&self) -> u64 {
        self.clients.iter().map(|c| c.present.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_copies_and_keeps_ranges() {
        let mut c = Copies::new(2);
        for s in 0..1000 {
            assert_eq!(c.add(0, s), 0);
        }
        assert_eq!(c.add(0, 7), 1);
        assert_eq!(c.add(0, 7), 2);
        assert_eq!(c.get(0, 7), 3);
        assert_eq!(c.get(0, 8), 1);
        assert_eq!(c.get(0, 1000), 0);
        assert_eq!(c.get(5, 1), 0);
        assert_eq!(c.client(0).present.ranges(), 1);
        assert_eq!(c.client(0).multiple().collect::<Vec<_>>(), vec![(7, 3)]);
        assert_eq!(c.distinct(), 1000);
        assert_eq!(c.counted_below(0), 1000);
        assert_eq!(c.counted_below(1), 0, "a client with no copies");
        assert_eq!(c.counted_below(9), 0, "a client never seen");
        c.add(1, 1);
        assert_eq!(c.counted_below(1), 0, "0 is missing");
        c.add(1, 0);
        c.add(1, 3);
        assert_eq!(c.counted_below(1), 2, "up to the first hole");
    }
}
