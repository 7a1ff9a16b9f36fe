//! Per-key order of the counted logs: for each client and key, the newest
//! sequence number counted so far and where it sits.
//!
//! Only entries that a later event could still be older than are kept.
//! Once every sequence number of a client below `w` is counted, each event
//! of it counted later is at `w` or above (a repeated copy is not counted
//! for order), so an entry below `w` can never again be the newer one: it
//! is forgotten ([`KeyOrder::forget_counted`]). What stays is the keys of
//! events counted ahead of an earlier one still in flight, a few seconds of
//! the rate, where a day of Zipf keys would otherwise keep one entry per
//! client and key for the whole run (800,000 of them). A client with a hole
//! that never fills (an event lost, or never sent) keeps its entries.
//!
//! A client index below 2^16 and a key below 2^48 pack into one word, and
//! a partition below 2^16 and an offset below 2^48 into another: 24 bytes an
//! entry where the plain tuple took 40. The rare client and key that do not
//! fit (a hashed key, say) keep the plain tuple in a second map, and a
//! position that does not fit goes there too, so nothing is ever cut.

use crate::ids::PartitionId;
use rustc_hash::FxHashMap;
use std::collections::hash_map::Entry;

const LOW_BITS: u32 = 48;
/// Entries below which the table is not walked to forget: a walk costs its capacity.
const FORGET_FROM: usize = 4_096;
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
    /// Entries left by the last walk that forgot some: the next waits until there
    /// are twice as many, so the walks cost a constant per entry however many stay.
    kept: usize,
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

    /// Forget the entries no later event can be older than: those of a sequence number
    /// below `counted_below(client)`, below which every one of the client's events has been
    /// counted. Walks the table only when it has doubled since the last walk.
    pub fn forget_counted(&mut self, counted_below: impl Fn(u32) -> u64) {
        self.forget_counted_from(FORGET_FROM, counted_below);
    }

    /// [`forget_counted`](Self::forget_counted), walking from `walk_from` entries on.
    fn forget_counted_from(&mut self, walk_from: usize, counted_below: impl Fn(u32) -> u64) {
        let len = self.packed.len() + self.wide.len();
        if len < walk_from.max(2 * self.kept) {
            return;
        }
        // Each client's bound once a walk. A run's clients are a few, below 2^16 (the packed
        // ones always are); the wide table's (a salted hot key's sub-keys, say) mostly are
        // too, and any above ask every time rather than size the memo by their index.
        let mut bounds: Vec<Option<u64>> = Vec::new();
        let mut bound = |client: u32| -> u64 {
            let i = client as usize;
            if i >> 16 != 0 {
                return counted_below(client);
            }
            if i >= bounds.len() {
                bounds.resize(i + 1, None);
            }
            *bounds[i].get_or_insert_with(|| counted_below(client))
        };
        self.packed
            .retain(|&k, &mut (seq, _)| seq >= bound((k >> LOW_BITS) as u32));
        self.wide.retain(|&(client, _), seen| seen.seq >= bound(client));
        // A table emptied after a burst gives its buckets back; the next growth doubles again.
        if self.packed.capacity() > 4 * self.packed.len() {
            self.packed.shrink_to(2 * self.packed.len());
        }
        if self.wide.capacity() > 4 * self.wide.len() {
            self.wide.shrink_to(2 * self.wide.len());
        }
        self.kept = self.packed.len() + self.wide.len();
    }

    /// Client and key pairs held.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.packed.len() + self.wide.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event_sets::interval_set::IntervalSet;
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

    /// Counts each client's events in a scattered order (blocks of 64 reversed, and every
    /// 1,000th held back 300 places), the clients interleaved, against a table that
    /// forgets every 500 events and one that never does; `hole` is never counted.
    /// Returns the order breaks seen and both tables.
    fn scattered(keys: u64, hole: Option<(u32, u64)>) -> (usize, KeyOrder, KeyOrder) {
        let clients = 3u32;
        let per_client = 40_000u64;
        let mut order = Vec::new();
        for _ in 0..clients {
            let mut seqs: Vec<u64> = (0..per_client).collect();
            for block in seqs.chunks_mut(64) {
                block.reverse();
            }
            for i in (1_000..seqs.len() - 300).step_by(1_000) {
                let s = seqs.remove(i);
                seqs.insert(i + 300, s);
            }
            order.push(seqs);
        }
        // Client 1's keys are too wide to pack (as a salted sub-key is), so both tables forget.
        let key = |c: u32, s: u64| {
            let k = (s.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ u64::from(c)) % keys;
            if c == 1 {
                k | 1 << 48
            } else {
                k
            }
        };
        let mut forgetting = KeyOrder::default();
        let mut plain = KeyOrder::default();
        let mut counted = vec![IntervalSet::default(); clients as usize];
        let mut broken = 0;
        for i in 0..per_client as usize {
            for (c, seqs) in (0..clients).zip(&order) {
                let s = seqs[i];
                if Some((c, s)) == hole {
                    continue;
                }
                counted[c as usize].insert(s);
                let now = at(s, (c % 24) as PartitionId, i as u64);
                let a = forgetting.count(c, key(c, s), now);
                assert_eq!(a, plain.count(c, key(c, s), now), "event {c}#{s}");
                broken += usize::from(a.is_some());
            }
            if i % 500 == 0 {
                forgetting.forget_counted_from(64, |c| counted[c as usize].prefix_end());
            }
        }
        forgetting.kept = 0;
        forgetting.forget_counted_from(0, |c| counted[c as usize].prefix_end());
        (broken, forgetting, plain)
    }

    /// Forgetting below the counted prefix changes no answer: an entry forgotten too
    /// early would miss a break, since the scatter counts events of the same key out of
    /// order right above the prefix.
    #[test]
    fn forgetting_below_the_counted_prefix_changes_no_answer() {
        let (broken, forgetting, plain) = scattered(300, None);
        assert!(broken > 1_000, "keys repeat within the reversed blocks: {broken}");
        assert_eq!(plain.len(), 900, "every client and key");
        assert_eq!(forgetting.len(), 0, "every event counted: nothing can be older");
        assert_eq!(plain.wide.len(), 300, "client 1's keys took the wide table");
    }

    /// A client whose hole never fills keeps its entries; the others still forget.
    #[test]
    fn a_hole_that_never_fills_keeps_its_clients_entries() {
        let (_, forgetting, plain) = scattered(300, Some((2, 5)));
        assert_eq!(plain.len(), 900);
        assert_eq!(forgetting.len(), 300);
        assert!(forgetting.packed.keys().all(|&k| k >> LOW_BITS == 2));
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
