//! A band of one client's sequence numbers as plain bits: a word per 64
//! numbers from the band's first, so its size follows the band's width,
//! not how many numbers pass through it.
//!
//! A client numbers its events densely and they move through a stage
//! roughly in order, so what one stage holds at a time (the events a
//! producer has not settled, the ids a de-duplication generation accepted)
//! is a narrow band of recent numbers. A bit each costs an eighth of a byte
//! where an ordered map or a queue of ids costs tens of bytes. Sets that
//! span a whole run, with long gaps, are `IntervalSet`s instead.

const WORD: u64 = 64;
/// Dropped words a bitmap keeps at the front of its vector before it moves
/// the live ones down: trimming stays a step of an index, and the vector is
/// compacted once its dead front outweighs the live part.
const COMPACT_AFTER: usize = 256;

/// A set of sequence numbers held as a bitmap from `base`.
///
/// The words live in a plain vector from index `head` on, not a deque: a
/// producer tests and clears a bit per acknowledgement and a generation sets
/// one per accepted id, and a vector's index is cheaper than a ring's.
#[derive(Debug, Default)]
pub struct SeqBitmap {
    /// Sequence number of bit 0 of `words[head]`, a multiple of 64.
    base: u64,
    /// `words[..head]` are dropped (zero); `words[head]` is never zero after
    /// a `remove` (the front is trimmed).
    words: Vec<u64>,
    head: usize,
}

/// A copy keeps the spare room of the vector, not only its words: the newest
/// de-duplication generation is copied at the first id after each commit's
/// snapshot, and a copy cut to its length reallocated at the next new word.
impl Clone for SeqBitmap {
    fn clone(&self) -> Self {
        let live = &self.words[self.head..];
        let mut words = Vec::with_capacity(self.words.capacity() - self.head);
        words.extend_from_slice(live);
        SeqBitmap {
            base: self.base,
            words,
            head: 0,
        }
    }
}

impl SeqBitmap {
    /// Adds `seq`, widening the band at either end as far as it takes.
    pub fn insert(&mut self, seq: u64) {
        let added = self.insert_within(seq, u64::MAX);
        debug_assert!(added, "an unbounded band always widens");
    }

    /// Adds `seq` unless that would widen the band past `max_words` words
    /// (64 numbers each); returns whether it was added. A caller bounds the
    /// width where a straggler far from the band must not make it, and every
    /// copy of it, as wide as the gap.
    pub fn insert_within(&mut self, seq: u64, max_words: u64) -> bool {
        let aligned = seq - seq % WORD;
        if self.head == self.words.len() {
            self.words.clear();
            self.head = 0;
            self.base = aligned;
        }
        if aligned < self.base {
            let grow = (self.base - aligned) / WORD;
            if grow.saturating_add(self.width_words() as u64) > max_words {
                return false;
            }
            let grow = grow as usize;
            // Dropped words are zero, so the band can widen back over them.
            if grow <= self.head {
                self.head -= grow;
            } else {
                let more = grow - self.head;
                self.words.splice(0..0, std::iter::repeat_n(0, more));
                self.head = 0;
            }
            self.base = aligned;
        }
        let i = (aligned - self.base) / WORD;
        if i >= max_words {
            return false;
        }
        let i = self.head + i as usize;
        if self.words.len() <= i {
            self.words.resize(i + 1, 0);
        }
        self.words[i] |= 1 << (seq % WORD);
        true
    }

    /// Removes `seq`; returns whether it was there. Empty words at the front
    /// are dropped, so a band whose oldest numbers clear moves forward.
    pub fn remove(&mut self, seq: u64) -> bool {
        let Some(i) = self.word_of(seq) else { return false };
        let bit = 1 << (seq % WORD);
        if self.words[i] & bit == 0 {
            return false;
        }
        self.words[i] &= !bit;
        while self.head < self.words.len() && self.words[self.head] == 0 {
            self.head += 1;
            self.base += WORD;
        }
        if self.head >= COMPACT_AFTER && self.head * 2 >= self.words.len() {
            self.words.drain(..self.head);
            self.head = 0;
        }
        true
    }

    /// Whether `seq` is in the set.
    pub fn contains(&self, seq: u64) -> bool {
        self.word_of(seq)
            .is_some_and(|i| self.words[i] & (1 << (seq % WORD)) != 0)
    }

    /// Drops the dropped front and the vector's spare capacity: for a bitmap
    /// that takes no more numbers but is held a while.
    pub fn shrink_to_fit(&mut self) {
        self.words.drain(..self.head);
        self.head = 0;
        self.words.shrink_to_fit();
    }

    /// Words held: the band's width in units of 64 numbers.
    pub fn width_words(&self) -> usize {
        self.words.len() - self.head
    }

    /// The bitmap as whole words with the sequence number of the first's bit 0
    /// (a multiple of 64): the tests check how the band moves.
    #[cfg(test)]
    fn as_words(&self) -> (u64, &[u64]) {
        (self.base, &self.words[self.head..])
    }

    /// Index into `words` of `seq`'s word, if it lies in the band.
    fn word_of(&self, seq: u64) -> Option<usize> {
        let i = (seq.checked_sub(self.base)? / WORD) as usize;
        (i < self.width_words()).then_some(self.head + i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn xorshift(mut x: u64) -> impl FnMut() -> u64 {
        move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        }
    }

    /// Against an ordered set, as a producer uses it: numbers inserted in
    /// order with some below the band, removed out of order and twice, the
    /// bitmap now and then replaced by a copy of itself (a snapshot's).
    #[test]
    fn agrees_with_an_ordered_set() {
        let (mut b, mut model) = (SeqBitmap::default(), BTreeSet::new());
        let mut next = xorshift(99);
        let mut top = 5_000u64;
        for i in 0..100_000 {
            if i % 1_000 == 999 {
                let copy = b.clone();
                assert_eq!(copy.width_words(), b.width_words());
                assert!(
                    copy.words.capacity() >= b.words.capacity() - b.head,
                    "a copy keeps the spare room"
                );
                b = copy;
            }
            let r = next();
            if r.is_multiple_of(3) {
                let seq = if r.is_multiple_of(97) {
                    top.saturating_sub(r % 5_000)
                } else {
                    top
                };
                top += 1;
                b.insert(seq);
                model.insert(seq);
            } else {
                let seq = top.saturating_sub(r % 700);
                assert_eq!(b.contains(seq), model.contains(&seq), "{seq}");
                assert_eq!(b.remove(seq), model.remove(&seq), "{seq}");
            }
        }
        for seq in 0..top + 100 {
            assert_eq!(b.remove(seq), model.remove(&seq), "{seq}");
        }
        assert_eq!(b.width_words(), 0, "everything removed leaves no band");
    }

    /// A bounded band refuses exactly the numbers that would widen it past
    /// its bound, at either end, and keeps everything it accepted.
    #[test]
    fn a_bounded_band_refuses_only_what_would_widen_it_too_far() {
        let max = 4;
        let mut b = SeqBitmap::default();
        assert!(b.insert_within(1_000, max), "the first number starts the band");
        let first_word = 1_000 - 1_000 % 64;
        let mut model = BTreeSet::from([1_000u64]);
        let mut next = xorshift(7);
        for _ in 0..10_000 {
            let seq = first_word - 512 + next() % 1_024;
            let lo = model.iter().next().map_or(seq, |&s| s.min(seq));
            let hi = model.iter().next_back().map_or(seq, |&s| s.max(seq));
            let fits = (hi / 64 - lo / 64) < max;
            assert_eq!(b.insert_within(seq, max), fits, "{seq} with band {lo}..={hi}");
            if fits {
                model.insert(seq);
            }
            assert!(b.width_words() as u64 <= max);
        }
        for seq in first_word - 512..first_word + 512 {
            assert_eq!(b.contains(seq), model.contains(&seq), "{seq}");
        }
    }

    /// The words cover the band once, in order, after the front was dropped
    /// and the band widened back over dropped words, compacted, and widened
    /// past the vector's start.
    #[test]
    fn words_cover_the_band_in_order() {
        let mut b = SeqBitmap::default();
        let mut model = BTreeSet::new();
        let remove = |b: &mut SeqBitmap, model: &mut BTreeSet<u64>, range: std::ops::Range<u64>| {
            for seq in range {
                assert_eq!(b.remove(seq), model.remove(&seq), "{seq}");
            }
        };
        for seq in (64_000..128_000).step_by(3) {
            b.insert(seq);
            model.insert(seq);
        }
        remove(&mut b, &mut model, 64_000..72_000);
        assert_eq!(b.as_words().0, 72_000, "the front moved on to a word boundary");
        for seq in [70_000, 71_999] {
            b.insert(seq);
            model.insert(seq);
        }
        remove(&mut b, &mut model, 0..110_000);
        assert!(b.words.len() < 1_000 - 256, "the dropped front was compacted away");
        for seq in (0..70_000).rev().step_by(5) {
            b.insert(seq);
            model.insert(seq);
        }
        let (base, words) = b.as_words();
        assert_eq!(base, 0);
        let mut seen = BTreeSet::new();
        for (j, &w) in words.iter().enumerate() {
            for bit in 0..64 {
                if w & (1 << bit) != 0 {
                    seen.insert(base + j as u64 * 64 + bit);
                }
            }
        }
        assert_eq!(seen, model);
    }
}
