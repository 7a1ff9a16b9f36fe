//! The events a producer holds and has not settled (acknowledged, dead
//! lettered or given up on), as a bitmap over the client's sequence numbers.
//!
//! A client numbers its events densely and settles them roughly in order, so
//! what is unsettled is a band of recent numbers: a bit each, from the
//! oldest unsettled one, where an ordered map took a node entry per event.
//! The band is as wide as the oldest event still held (a retry waiting out
//! its backoff keeps it open), which the delivery timeout bounds.

use std::collections::VecDeque;

const WORD: u64 = 64;

/// Sequence numbers not yet settled.
#[derive(Debug, Default, Clone)]
pub(super) struct Unsettled {
    /// Sequence number of bit 0 of `words[0]`, a multiple of 64.
    base: u64,
    /// Its first word is never zero (trimmed as bits clear).
    words: VecDeque<u64>,
}

impl Unsettled {
    /// Marks `seq` unsettled.
    pub(super) fn insert(&mut self, seq: u64) {
        let aligned = seq - seq % WORD;
        if self.words.is_empty() {
            self.base = aligned;
        }
        // A restart re-sends from its checkpoint before it generates anew, so
        // numbers arrive in order; one below the band widens it at the front.
        while aligned < self.base {
            self.words.push_front(0);
            self.base -= WORD;
        }
        let i = ((aligned - self.base) / WORD) as usize;
        if self.words.len() <= i {
            self.words.resize(i + 1, 0);
        }
        self.words[i] |= 1 << (seq % WORD);
    }

    /// Settles `seq`; returns whether it was unsettled.
    pub(super) fn remove(&mut self, seq: u64) -> bool {
        let Some(i) = seq.checked_sub(self.base).map(|d| (d / WORD) as usize) else {
            return false;
        };
        let Some(w) = self.words.get_mut(i) else { return false };
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// Against an ordered set, with numbers settled out of order, twice, and
    /// inserted below the band.
    #[test]
    fn agrees_with_an_ordered_set() {
        let (mut u, mut model) = (Unsettled::default(), BTreeSet::new());
        let mut x: u64 = 99;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut top = 5_000u64;
        for _ in 0..100_000 {
            let r = next();
            if r % 3 == 0 {
                let seq = if r % 97 == 0 {
                    top.saturating_sub(r % 5_000)
                } else {
                    top
                };
                top += 1;
                u.insert(seq);
                model.insert(seq);
            } else {
                let seq = top.saturating_sub(r % 700);
                assert_eq!(u.remove(seq), model.remove(&seq), "{seq}");
            }
        }
        for seq in 0..top + 100 {
            assert_eq!(u.remove(seq), model.remove(&seq), "{seq}");
        }
        assert!(u.words.is_empty(), "everything settled leaves no band");
    }
}
