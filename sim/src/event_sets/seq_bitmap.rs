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

use std::collections::VecDeque;

const WORD: u64 = 64;

/// A set of sequence numbers held as a bitmap from `base`.
#[derive(Debug, Default, Clone)]
pub struct SeqBitmap {
    /// Sequence number of bit 0 of `words[0]`, a multiple of 64.
    base: u64,
    /// Its first word is never zero after a `remove` (the front is trimmed).
    words: VecDeque<u64>,
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
        if self.words.is_empty() {
            self.base = aligned;
        }
        if aligned < self.base {
            let grow = (self.base - aligned) / WORD;
            if grow.saturating_add(self.words.len() as u64) > max_words {
                return false;
            }
            for _ in 0..grow {
                self.words.push_front(0);
            }
            self.base = aligned;
        }
        let i = (aligned - self.base) / WORD;
        if i >= max_words {
            return false;
        }
        let i = i as usize;
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
        let w = &mut self.words[i];
        let bit = 1 << (seq % WORD);
        if *w & bit == 0 {
            return false;
        }
        *w &= !bit;
        while self.words.front() == Some(&0) {
            self.words.pop_front();
            self.base += WORD;
        }
        true
    }

    /// Whether `seq` is in the set.
    pub fn contains(&self, seq: u64) -> bool {
        self.word_of(seq)
            .is_some_and(|i| self.words[i] & (1 << (seq % WORD)) != 0)
    }

    /// Whether the set holds nothing but empty words (or none).
    pub fn is_empty(&self) -> bool {
        self.words.iter().all(|&w| w == 0)
    }

    /// Words held: the band's width in units of 64 numbers.
    pub fn width_words(&self) -> usize {
        self.words.len()
    }

    /// The bitmap as at most two runs of whole words, each with the sequence
    /// number of its first bit (a multiple of 64), for a word-wise difference
    /// from another bitmap.
    pub fn word_runs(&self) -> impl Iterator<Item = (u64, &[u64])> {
        let (front, back) = self.words.as_slices();
        let back_base = self.base + front.len() as u64 * WORD;
        [(self.base, front), (back_base, back)]
            .into_iter()
            .filter(|(_, run)| !run.is_empty())
    }

    fn word_of(&self, seq: u64) -> Option<usize> {
        let i = (seq.checked_sub(self.base)? / WORD) as usize;
        (i < self.words.len()).then_some(i)
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
    /// order with some below the band, removed out of order and twice.
    #[test]
    fn agrees_with_an_ordered_set() {
        let (mut b, mut model) = (SeqBitmap::default(), BTreeSet::new());
        let mut next = xorshift(99);
        let mut top = 5_000u64;
        for _ in 0..100_000 {
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
        assert!(b.is_empty());
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

    /// The word runs cover the band once, in order, however the deque wrapped.
    #[test]
    fn word_runs_cover_the_band_in_order() {
        let mut b = SeqBitmap::default();
        for seq in (640..6_400).step_by(3) {
            b.insert(seq);
        }
        // Growing at the front can wrap the deque's storage into two runs.
        for seq in (0..640).rev().step_by(5) {
            b.insert(seq);
        }
        let mut seen = BTreeSet::new();
        let mut expect_base = 0;
        for (base, run) in b.word_runs() {
            assert_eq!(base, expect_base, "runs are contiguous and in order");
            for (j, &w) in run.iter().enumerate() {
                for bit in 0..64 {
                    if w & (1 << bit) != 0 {
                        seen.insert(base + j as u64 * 64 + bit);
                    }
                }
            }
            expect_base = base + run.len() as u64 * 64;
        }
        let model: BTreeSet<u64> = (640..6_400).step_by(3).chain((0..640).rev().step_by(5)).collect();
        assert_eq!(seen, model);
    }
}
