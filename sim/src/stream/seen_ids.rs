//! The ids a task's de-duplication remembers, as one bitmap window per
//! client over its sequence numbers.
//!
//! A task sees a client's ids in roughly increasing sequence order (a
//! partition is read in offset order), and remembers each for the TTL, so
//! what is live is a band of recent sequence numbers with a few stragglers
//! (retries of old events). A bit per sequence number in that band costs
//! about 24 bits an id at 24 partitions, where an ordered map paid about 70
//! bytes an id: 4.2 million ids at a 35,000 events/s peak with the default
//! 120 s TTL took 294 MB. Numbers outside the band go to an ordered set.
//! Both structures are persistent, so the checkpoint's clone stays O(1).

use imbl::{OrdSet, Vector};

/// Bits in a word of the window.
const WORD: u64 = 64;
/// The widest a window may grow, in words (32 Mi sequence numbers, 4 MiB):
/// a number further off is kept in the set, so one stray id cannot make a
/// window of its distance.
const MAX_WORDS: u64 = 1 << 19;

/// One client's remembered sequence numbers.
#[derive(Clone, Debug, Default)]
struct ClientSeqs {
    /// Sequence number of bit 0 of `words[0]`, a multiple of 64.
    base: u64,
    /// The window; its first word is never zero (trimmed as bits clear).
    words: Vector<u64>,
    /// Remembered numbers outside the window.
    outliers: OrdSet<u64>,
}

impl ClientSeqs {
    #[cfg(test)]
    fn contains(&self, seq: u64) -> bool {
        let in_window = self
            .word_of(seq)
            .and_then(|i| self.words.get(i))
            .is_some_and(|w| w & bit(seq) != 0);
        // A number kept as an outlier may since lie inside the window's span.
        in_window || (!self.outliers.is_empty() && self.outliers.contains(&seq))
    }

    /// Index of `seq`'s word if it lies in the window's current span.
    fn word_of(&self, seq: u64) -> Option<usize> {
        let i = seq.checked_sub(self.base)? / WORD;
        (i < self.words.len() as u64).then_some(i as usize)
    }

    /// Remembers `seq`; returns whether it was new. One walk of the
    /// persistent window both tests and sets the bit, where a lookup before
    /// the insert walked it twice.
    fn insert(&mut self, seq: u64) -> bool {
        // A number kept as an outlier may since lie inside the window's span.
        if !self.outliers.is_empty() && self.outliers.contains(&seq) {
            return false;
        }
        let aligned = seq - seq % WORD;
        if self.words.is_empty() {
            self.base = aligned;
        }
        if aligned < self.base {
            let grow = (self.base - aligned) / WORD;
            if grow + self.words.len() as u64 > MAX_WORDS {
                return self.outliers.insert(seq).is_none();
            }
            for _ in 0..grow {
                self.words.push_front(0);
            }
            self.base = aligned;
        }
        let i = (aligned - self.base) / WORD;
        if i >= MAX_WORDS {
            return self.outliers.insert(seq).is_none();
        }
        while self.words.len() as u64 <= i {
            self.words.push_back(0);
        }
        match self.words.get_mut(i as usize) {
            Some(w) if *w & bit(seq) == 0 => {
                *w |= bit(seq);
                true
            }
            _ => false,
        }
    }

    fn remove(&mut self, seq: u64) {
        self.forget(seq);
        self.trim_front();
    }

    /// Forgets the numbers set in `words`, whose bit 0 is `base` (a multiple of 64).
    fn remove_words(&mut self, base: u64, words: &[u64]) {
        for (j, &w) in words.iter().enumerate() {
            if w == 0 {
                continue;
            }
            let first = base + j as u64 * WORD;
            if !self.outliers.is_empty() {
                let hit: Vec<u64> = self
                    .outliers
                    .range(first..first + WORD)
                    .copied()
                    .filter(|&seq| w & bit(seq) != 0)
                    .collect();
                for seq in hit {
                    self.outliers.remove(&seq);
                }
            }
            // Both start on a multiple of 64, so a word maps onto a word.
            if let Some(mine) = self.word_of(first).and_then(|i| self.words.get_mut(i)) {
                *mine &= !w;
            }
        }
        self.trim_front();
    }

    /// Clears `seq` without trimming the window.
    fn forget(&mut self, seq: u64) {
        if !self.outliers.is_empty() {
            self.outliers.remove(&seq);
        }
        if let Some(w) = self.word_of(seq).and_then(|i| self.words.get_mut(i)) {
            *w &= !bit(seq);
        }
    }

    /// The oldest numbers expire first, so the window's front empties and moves on.
    fn trim_front(&mut self) {
        while self.words.front() == Some(&0) {
            self.words.pop_front();
            self.base += WORD;
        }
    }
}

fn bit(seq: u64) -> u64 {
    1 << (seq % WORD)
}

/// Remembered ids of every client, as sequence-number windows.
#[derive(Clone, Debug, Default)]
pub(super) struct SeenIds {
    /// By client index; grown on first sight of a client.
    clients: Vector<ClientSeqs>,
}

impl SeenIds {
    /// Whether `seq` of `client` is remembered.
    #[cfg(test)]
    pub(super) fn contains(&self, client: u32, seq: u64) -> bool {
        self.clients.get(client as usize).is_some_and(|c| c.contains(seq))
    }

    /// Remembers `seq` of `client`; returns whether it was new.
    pub(super) fn insert(&mut self, client: u32, seq: u64) -> bool {
        while self.clients.len() <= client as usize {
            self.clients.push_back(ClientSeqs::default());
        }
        self.clients.get_mut(client as usize).is_some_and(|c| c.insert(seq))
    }

    /// Forgets `seq` of `client`.
    pub(super) fn remove(&mut self, client: u32, seq: u64) {
        if let Some(c) = self.clients.get_mut(client as usize) {
            c.remove(seq);
        }
    }

    /// Forgets the sequence numbers of `client` set in `words`, whose bit 0
    /// is `base` (a multiple of 64): a word-wise difference, so forgetting a
    /// generation of ids costs a word per 64 sequence numbers, not an
    /// operation per id.
    pub(super) fn remove_words(&mut self, client: u32, base: u64, words: &[u64]) {
        debug_assert_eq!(base % WORD, 0);
        if let Some(c) = self.clients.get_mut(client as usize) {
            c.remove_words(base, words);
        }
    }

    /// Forgets everything.
    pub(super) fn clear(&mut self) {
        self.clients.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// Inserts and removes against a plain set, through every path: the window's
    /// growth at both ends, its trimming, and numbers too far off for it.
    #[test]
    fn agrees_with_an_ordered_set() {
        let mut seen = SeenIds::default();
        let mut model = BTreeSet::new();
        let mut x: u64 = 12345;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for step in 0..200_000u64 {
            let r = next();
            let client = (r % 3) as u32;
            let seq = match r % 97 {
                0 => r >> 20,                                 // far anywhere
                1..=5 => (step * 7).saturating_sub(r % 5000), // behind the band
                _ => step * 7 + r % 300,                      // the band
            };
            if r % 5 < 3 {
                assert_eq!(
                    seen.insert(client, seq),
                    model.insert((client, seq)),
                    "insert says whether {client} {seq} was new"
                );
            } else if let Some(&(c, s)) = model.range((client, 0)..).next() {
                // Expire the oldest of that client, as the TTL does.
                seen.remove(c, s);
                model.remove(&(c, s));
            }
            if step % 1000 == 0 {
                for &(c, s) in model.iter().take(50) {
                    assert!(seen.contains(c, s));
                }
            }
            let probe = next() % (step * 7 + 400);
            assert_eq!(
                seen.contains(client, probe),
                model.contains(&(client, probe)),
                "{client} {probe}"
            );
        }
    }

    /// The word-wise difference agrees with removing the ids one by one, and
    /// clears the outliers its words cover.
    #[test]
    fn remove_words_agrees_with_removing_each() {
        let mut x: u64 = 777;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let (mut by_words, mut by_each) = (SeenIds::default(), SeenIds::default());
        let mut model = BTreeSet::new();
        for step in 0..20_000u64 {
            let r = next();
            let seq = if r % 211 == 0 { r >> 12 } else { step * 3 + r % 90 };
            for s in [&mut by_words, &mut by_each] {
                s.insert(0, seq);
            }
            model.insert(seq);
        }
        // Forget a random quarter of the numbers up to 30,000, as words from base 64.
        let mut words = vec![0u64; 30_000 / 64];
        for (j, w) in words.iter_mut().enumerate() {
            *w = next() & next();
            for b in 0..64 {
                let seq = 64 + j as u64 * 64 + b;
                if *w & (1 << b) != 0 && model.remove(&seq) {
                    by_each.remove(0, seq);
                }
            }
        }
        by_words.remove_words(0, 64, &words);
        for seq in 0..70_000u64 {
            assert_eq!(by_words.contains(0, seq), model.contains(&seq), "{seq}");
            assert_eq!(by_each.contains(0, seq), model.contains(&seq), "{seq}");
        }
        for &seq in &model {
            assert!(by_words.contains(0, seq), "{seq} must survive");
        }
        // A number too far ahead for the window is an outlier; words over it clear it.
        let far = (1 << 25) + 5;
        let mut s = SeenIds::default();
        s.insert(0, 0);
        s.insert(0, far);
        s.insert(0, far + 1);
        assert_eq!(s.clients[0].outliers.len(), 2);
        s.remove_words(0, far - far % 64, &[bit(far)]);
        assert!(!s.contains(0, far) && s.contains(0, far + 1) && s.contains(0, 0));
    }

    #[test]
    fn a_stray_number_far_ahead_does_not_widen_the_window() {
        let mut c = ClientSeqs::default();
        c.insert(10);
        c.insert(u64::MAX - 5);
        assert_eq!(c.words.len(), 1);
        assert!(c.contains(u64::MAX - 5) && c.contains(10) && !c.contains(11));
        c.remove(10);
        assert!(c.words.is_empty(), "the window empties as its last bit clears");
        c.remove(u64::MAX - 5);
        assert!(!c.contains(u64::MAX - 5));
    }

    #[test]
    fn a_snapshot_keeps_what_it_saw() {
        let mut s = SeenIds::default();
        s.insert(0, 5);
        let snap = s.clone();
        s.remove(0, 5);
        s.insert(0, 6);
        assert!(snap.contains(0, 5) && !snap.contains(0, 6));
        assert!(!s.contains(0, 5) && s.contains(0, 6));
    }
}
