//! Per-key order of the counted logs: for each client and key, the newest
//! sequence number counted so far and where it sits.
//!
//! There is one entry per client and key for the whole run (a day of Zipf
//! keys holds up to 800,000), so the entry's size is most of the audit's memory.
//! A client index below 2^16 and a key below 2^48 pack into one word, and
//! a partition below 2^16 and an offset below 2^48 into another: 24 bytes an
//! entry where the plain tuple took 40. The rare client and key that do not
//! fit (a hashed key, say) keep the plain tuple in a second map, and a
//! position that does not fit goes there too, so nothing is ever cut.

use crate::ids::PartitionId;
use rustc_hash::FxHashMap;
use std::collections::hash_map::Entry;

const LOW_BITS: u32 = 48;
const LOW_MASK: u64 = (1 << LOW_BITS) - 1;

/// Where an event was counted: its sequence number, partition and offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Seen {
    /// Its sequence number in its client's stream.
    pub seq: u64,
    /// The partition it was counted in.
    pub partition: PartitionId,
    /// Its offset there.
    pub offset: u64,
}

/// The newest event counted per client and key.
#[derive(Clone, Debug, Default)]
pub(super) struct KeyOrder {
    /// Keyed by client and key in one word; the value is the sequence number
    /// and the partition and offset in one word.
    packed: FxHashMap<u64, (u64, u64)>,
    /// Every client and key that does not pack, and any whose position does not.
    wide: FxHashMap<(u32, u64), Seen>,
}

fn pack2(high: u64, low: u64) -> Option<u64> {
    (high >> (64 - LOW_BITS) == 0 && low <= LOW_MASK).then_some((high << LOW_BITS) | low)
}

fn unpack(seq: u64, at: u64) -> Seen {
    Seen {
        seq,
        partition: (at >> LOW_BITS) as PartitionId,
        offset: at & LOW_MASK,
    }
}

/// The entry to keep after `prev` and `now`, and `prev` if it is newer than `now`.
fn newer(prev: Seen, now: Seen) -> (Seen, Option<Seen>) {
    if now.seq >= prev.seq {
        (now, None)
    } else {
        (prev, Some(prev))
    }
}

impl KeyOrder {
    /// Count `now` for `client`'s `key`: the entry keeps the newer of it and
    /// what was there. Returns what was there when it is newer than `now`
    /// (the key's order is broken).
    pub fn count(&mut self, client: u32, key: u64, now: Seen) -> Option<Seen> {
        let k = pack2(u64::from(client), key);
        let pos = pack2(now.partition as u64, now.offset);
        if let (Some(k), Some(pos)) = (k, pos) {
            if self.wide.is_empty() || !self.wide.contains_key(&(client, key)) {
                return match self.packed.entry(k) {
                    Entry::Vacant(v) => {
                        v.insert((now.seq, pos));
                        None
                    }
                    Entry::Occupied(mut o) => {
                        let (seq, at) = *o.get();
                        let (keep, broken) = newer(unpack(seq, at), now);
                        if broken.is_none() {
                            o.insert((keep.seq, pos));
                        }
                        broken
                    }
                };
            }
        }
        // A key that does not pack, or one whose position does not: the latter moves
        // here for good with what the packed map held for it.
        let moved = k.and_then(|k| self.packed.remove(&k)).map(|(seq, at)| unpack(seq, at));
        match self.wide.entry((client, key)) {
            Entry::Vacant(v) => {
                let (keep, broken) = moved.map_or((now, None), |prev| newer(prev, now));
                v.insert(keep);
                broken
            }
            Entry::Occupied(mut o) => {
                let (keep, broken) = newer(*o.get(), now);
                o.insert(keep);
                broken
            }
        }
    }

    /// Client and key pairs counted.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.packed.len() + self.wide.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn at(seq: u64, partition: PartitionId, offset: u64) -> Seen {
        Seen { seq, partition, offset }
    }

    /// The plain map the packed one replaces, as the model.
    fn model(m: &mut HashMap<(u32, u64), Seen>, client: u32, key: u64, now: Seen) -> Option<Seen> {
        match m.get(&(client, key)).copied() {
            None => {
                m.insert((client, key), now);
                None
            }
            Some(prev) => {
                if now.seq >= prev.seq {
                    m.insert((client, key), now);
                }
                (prev.seq > now.seq).then_some(prev)
            }
        }
    }

    #[test]
    fn an_older_sequence_after_a_newer_one_is_reported_with_where_the_newer_sits() {
        let mut o = KeyOrder::default();
        assert_eq!(o.count(3, 9213, at(4302, 0, 2992)), None);
        assert_eq!(o.count(3, 9213, at(2815, 0, 6758)), Some(at(4302, 0, 2992)));
        // The newer one stays the reference.
        assert_eq!(o.count(3, 9213, at(4000, 0, 6800)), Some(at(4302, 0, 2992)));
        assert_eq!(o.count(3, 9213, at(4303, 0, 6900)), None);
        assert_eq!(
            o.count(4, 9213, at(1, 0, 7000)),
            None,
            "another client's key is its own"
        );
        assert_eq!(o.len(), 2);
    }

    #[test]
    fn keys_and_positions_too_wide_to_pack_agree_with_the_plain_map() {
        let mut o = KeyOrder::default();
        let mut m = HashMap::new();
        let keys = [7, u64::MAX, 1 << 48, (1 << 48) - 1];
        let clients = [0, 1, 1 << 16, u32::MAX];
        let positions = [(0, 5), (3, 1 << 48), (1 << 16, 9), (2, 77)];
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for step in 0..4_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let client = clients[(x % 4) as usize];
            let key = keys[((x >> 8) % 4) as usize];
            let (p, off) = positions[((x >> 16) % 4) as usize];
            // Mostly rising sequence numbers, with stragglers.
            let seq = step.saturating_sub((x >> 24) % 40);
            let now = at(seq, p, off + step);
            assert_eq!(
                o.count(client, key, now),
                model(&mut m, client, key, now),
                "step {step}"
            );
        }
        assert_eq!(o.len(), m.len());
    }
}
