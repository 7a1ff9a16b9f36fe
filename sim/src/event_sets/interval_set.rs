//! A set of u64 kept as disjoint ranges behind a sliding bitmap: a client's
//! sequence numbers arrive mostly in order, a little scattered (one batch per
//! partition, retries, the log audit's partition-by-partition walk), so the
//! recent ones land in a small bitmap at the frontier and everything behind
//! it is a handful of ranges. A ledger of millions of events takes a few
//! ranges and one window, and an insert near the frontier is a bit set
//! instead of tree searches.

use std::collections::{BTreeMap, VecDeque};

/// Bits per window word.
const WORD: u64 = 64;
/// Most words the window holds (131,072 sequence numbers, 16 KiB): an insert
/// further ahead slides it, turning the words it leaves into ranges. The log
/// audit walks partition by partition, so a client's numbers arrive spread
/// over as many as it sent in one audit period (5 virtual seconds: at a
/// billion-event day's peak, about 22,000 a client); a window narrower than
/// that put most of them behind it, one tree insert each.
const WINDOW_WORDS: u64 = 2048;

/// Disjoint ranges `[start, end)` below `base`, keyed by start, and a bitmap
/// of `[base, base + 64 * words.len())`. The window starts at its first
/// hole: full words at its front move into the ranges.
#[derive(Debug, Clone, Default)]
pub struct IntervalSet {
    ranges: BTreeMap<u64, u64>,
    /// First number the window covers; a multiple of 64.
    base: u64,
    words: VecDeque<u64>,
    len: u64,
}

impl PartialEq for IntervalSet {
    /// Equal elements, whatever the split between ranges and window.
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.spans().eq(other.spans())
    }
}

impl Eq for IntervalSet {}

impl IntervalSet {
    /// Insert `x`; returns whether it was new.
    pub fn insert(&mut self, x: u64) -> bool {
        if x < self.base {
            return self.insert_behind(x);
        }
        let mut word = (x - self.base) / WORD;
        if word >= WINDOW_WORDS {
            self.slide(word + 1 - WINDOW_WORDS);
            word = (x - self.base) / WORD;
        }
        while self.words.len() as u64 <= word {
            self.words.push_back(0);
        }
        let bit = 1u64 << ((x - self.base) % WORD);
        let w = &mut self.words[word as usize];
        if *w & bit != 0 {
            return false;
        }
        *w |= bit;
        self.len += 1;
        while self.words.front() == Some(&u64::MAX) {
            self.words.pop_front();
            self.append_range(self.base, self.base + WORD);
            self.base += WORD;
        }
        true
    }

    /// Insert `x` behind the window: two tree searches when it extends the
    /// range that ends at it or starts a range of its own, a third to join
    /// two ranges.
    fn insert_behind(&mut self, x: u64) -> bool {
        let mut extended = None;
        if let Some((&s, e)) = self.ranges.range_mut(..=x).next_back() {
            if x < *e {
                return false;
            }
            if *e == x {
                *e = x + 1;
                extended = Some(s);
            }
        }
        match (self.ranges.remove(&(x + 1)), extended) {
            (Some(right_end), Some(s)) => {
                self.ranges.insert(s, right_end);
            }
            (Some(right_end), None) => {
                self.ranges.insert(x, right_end);
            }
            (None, Some(_)) => {}
            (None, None) => {
                self.ranges.insert(x, x + 1);
            }
        }
        self.len += 1;
        true
    }

    /// Move the window `n` words forward, its front words becoming ranges.
    fn slide(&mut self, n: u64) {
        let flushed = n.min(self.words.len() as u64);
        for _ in 0..flushed {
            let w = self.words.pop_front().unwrap_or(0);
            for (s, e) in word_runs(self.base, w) {
                self.append_range(s, e);
            }
            self.base += WORD;
        }
        self.base += WORD * (n - flushed);
    }

    /// Add `[s, e)`, which lies at or after the end of every range.
    fn append_range(&mut self, s: u64, e: u64) {
        if let Some(mut last) = self.ranges.last_entry() {
            if *last.get() == s {
                *last.get_mut() = e;
                return;
            }
        }
        self.ranges.insert(s, e);
    }

    /// Remove `x`; returns whether it was there.
    pub fn remove(&mut self, x: u64) -> bool {
        if x >= self.base {
            let word = ((x - self.base) / WORD) as usize;
            let bit = 1u64 << ((x - self.base) % WORD);
            return match self.words.get_mut(word) {
                Some(w) if *w & bit != 0 => {
                    *w &= !bit;
                    self.len -= 1;
                    true
                }
                _ => false,
            };
        }
        let Some((&s, &e)) = self.ranges.range(..=x).next_back() else {
            return false;
        };
        if x >= e {
            return false;
        }
        self.ranges.remove(&s);
        if s < x {
            self.ranges.insert(s, x);
        }
        if x + 1 < e {
            self.ranges.insert(x + 1, e);
        }
        self.len -= 1;
        true
    }

    /// Whether `x` is in the set.
    pub fn contains(&self, x: u64) -> bool {
        if x >= self.base {
            let word = ((x - self.base) / WORD) as usize;
            return self
                .words
                .get(word)
                .is_some_and(|w| w & (1u64 << ((x - self.base) % WORD)) != 0);
        }
        self.ranges.range(..=x).next_back().is_some_and(|(_, &e)| x < e)
    }

    /// Number of elements.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The end of the run of elements from 0: every number below it is in the set,
    /// and it is not (0 when 0 is not).
    pub fn prefix_end(&self) -> u64 {
        self.spans().next().filter(|&(s, _)| s == 0).map_or(0, |(_, e)| e)
    }

    /// Number of maximal ranges the elements form.
    pub fn ranges(&self) -> usize {
        self.spans().count()
    }

    /// All elements in order.
    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        self.spans().flat_map(|(s, e)| s..e)
    }

    /// The maximal ranges `[start, end)` in order.
    pub fn spans(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        let behind = self.ranges.iter().map(|(&s, &e)| (s, e));
        let window = self
            .words
            .iter()
            .enumerate()
            .flat_map(move |(i, &w)| word_runs(self.base + WORD * i as u64, w));
        merge_adjacent(behind.chain(window))
    }

    /// Elements of `self` not in `other`, in order, as ranges: walks both
    /// sets' ranges once, so its cost follows the ranges, not the elements.
    pub fn difference<'a>(&'a self, other: &'a IntervalSet) -> impl Iterator<Item = (u64, u64)> + 'a {
        let mut theirs = other.spans().peekable();
        self.spans().flat_map(move |(s, e)| {
            let mut out = Vec::new();
            let mut at = s;
            while let Some(&(a, b)) = theirs.peek() {
                if b <= at {
                    theirs.next();
                    continue;
                }
                if a >= e {
                    break;
                }
                if a > at {
                    out.push((at, a));
                }
                at = b;
                if at >= e {
                    // It may cover the start of our next range too: keep it.
                    break;
                }
                theirs.next();
            }
            if at < e {
                out.push((at, e));
            }
            out
        })
    }
}

/// The runs of set bits of the word covering `[base, base + 64)`.
fn word_runs(base: u64, mut w: u64) -> impl Iterator<Item = (u64, u64)> {
    let mut at = 0u64;
    std::iter::from_fn(move || {
        if w == 0 {
            return None;
        }
        let zeros = w.trailing_zeros() as u64;
        w = w.checked_shr(zeros as u32).unwrap_or(0);
        at += zeros;
        let ones = w.trailing_ones() as u64;
        w = w.checked_shr(ones as u32).unwrap_or(0);
        let run = (base + at, base + at + ones);
        at += ones;
        Some(run)
    })
}

/// Join ranges that touch: the ranges behind the window and the window's
/// runs are stored apart, but a reader sees maximal ranges.
fn merge_adjacent(it: impl Iterator<Item = (u64, u64)>) -> impl Iterator<Item = (u64, u64)> {
    let mut it = it.peekable();
    std::iter::from_fn(move || {
        let (s, mut e) = it.next()?;
        while let Some(&(s2, e2)) = it.peek() {
            if s2 != e {
                break;
            }
            e = e2;
            it.next();
        }
        Some((s, e))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_neighbours_and_counts() {
        let mut s = IntervalSet::default();
        for x in [5, 3, 4, 10, 11, 9, 4] {
            s.insert(x);
        }
        assert_eq!(s.len(), 6);
        assert_eq!(s.ranges(), 2);
        assert!(s.contains(4) && s.contains(11) && !s.contains(6) && !s.contains(2));
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![3, 4, 5, 9, 10, 11]);
    }

    #[test]
    fn remove_splits_ranges() {
        let mut s = IntervalSet::default();
        for x in 0..10 {
            s.insert(x);
        }
        assert!(s.remove(4) && !s.remove(4) && !s.remove(42));
        assert!(s.remove(0) && s.remove(9));
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![1, 2, 3, 5, 6, 7, 8]);
        assert_eq!((s.len(), s.ranges()), (7, 2));
        s.insert(4);
        assert_eq!(s.ranges(), 1);
    }

    #[test]
    fn insert_agrees_with_a_plain_set() {
        let mut s = IntervalSet::default();
        let mut plain = std::collections::BTreeSet::new();
        // A deterministic scatter with many joins, extensions and repeats.
        let mut x: u64 = 7;
        for i in 0..3_000u64 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let v = (x >> 33) % 2_000;
            assert_eq!(s.insert(v), plain.insert(v), "insert {v}");
            assert_eq!(s.len(), plain.len() as u64);
            if i.is_multiple_of(100) {
                assert_eq!(s.iter().collect::<Vec<_>>(), plain.iter().copied().collect::<Vec<_>>());
                // Ranges are disjoint and never adjacent.
                let spans: Vec<_> = s.spans().collect();
                assert!(spans.windows(2).all(|w| w[0].1 < w[1].0), "{spans:?}");
            }
        }
        assert!(s.ranges() > 1, "the scatter left gaps to check");
    }

    /// A brute-force check of every operation over a scatter wide enough to
    /// slide the window many times and land behind it.
    #[test]
    fn window_and_ranges_agree_with_a_plain_set() {
        let span = WORD * WINDOW_WORDS * 6;
        let mut s = IntervalSet::default();
        let mut other = IntervalSet::default();
        let mut plain = std::collections::BTreeSet::new();
        let mut plain_other = std::collections::BTreeSet::new();
        let mut x: u64 = 11;
        for i in 0..40_000u64 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            // Mostly a frontier moving forward with a little scatter, sometimes far behind or ahead.
            let v = match (x >> 60) % 8 {
                0 => (x >> 20) % span,
                1 => (i * 3 + 5_000).min(span - 1),
                _ => (i * 2 + (x >> 40) % 300).min(span - 1),
            };
            if (x >> 58).is_multiple_of(16) {
                assert_eq!(s.remove(v), plain.remove(&v), "remove {v}");
            } else {
                assert_eq!(s.insert(v), plain.insert(v), "insert {v}");
            }
            if (x >> 50).is_multiple_of(3) {
                other.insert(v ^ 1);
                plain_other.insert(v ^ 1);
            }
            assert_eq!(s.len(), plain.len() as u64);
            if i.is_multiple_of(2_000) {
                for probe in (0..span).step_by(37) {
                    assert_eq!(s.contains(probe), plain.contains(&probe), "contains {probe}");
                }
                assert_eq!(s.iter().collect::<Vec<_>>(), plain.iter().copied().collect::<Vec<_>>());
                let spans: Vec<_> = s.spans().collect();
                assert!(spans.windows(2).all(|w| w[0].1 < w[1].0), "spans maximal and disjoint");
                let diff: Vec<u64> = s.difference(&other).flat_map(|(a, b)| a..b).collect();
                let brute: Vec<u64> = plain.difference(&plain_other).copied().collect();
                assert_eq!(diff, brute);
                let prefix = (0..).find(|x| !plain.contains(x)).unwrap_or(0);
                assert_eq!(s.prefix_end(), prefix);
            }
        }
        assert!(s.base > 0, "the window slid");
        assert!(!s.ranges.is_empty(), "some elements live behind the window");
    }

    #[test]
    fn equal_sets_compare_equal_whatever_their_layout() {
        let mut a = IntervalSet::default();
        let mut b = IntervalSet::default();
        // `a` slides its window far ahead and comes back; `b` never slides.
        a.insert(WORD * WINDOW_WORDS * 4);
        a.insert(3);
        a.remove(WORD * WINDOW_WORDS * 4);
        b.insert(3);
        assert_eq!(a, b);
        b.insert(4);
        assert_ne!(a, b);
    }

    #[test]
    fn a_contiguous_run_is_one_range_and_an_empty_window() {
        let mut s = IntervalSet::default();
        for x in 0..100_000 {
            s.insert(x);
        }
        assert_eq!((s.len(), s.ranges()), (100_000, 1));
        assert_eq!(s.prefix_end(), 100_000);
        s.remove(0);
        assert_eq!(s.prefix_end(), 0, "nothing runs from 0");
        s.insert(0);
        s.remove(70_001);
        assert_eq!(s.prefix_end(), 70_001, "a hole behind the window");
        s.insert(70_001);
        for x in 100_000..100_100 {
            s.insert(x);
        }
        assert_eq!(s.prefix_end(), 100_100, "a run from the ranges into the window");
        assert!(s.words.len() <= 1, "full words left the window");
    }

    #[test]
    fn difference_by_ranges() {
        let mut a = IntervalSet::default();
        let mut b = IntervalSet::default();
        for x in (0..20).chain(30..40) {
            a.insert(x);
        }
        for x in [0, 1, 5, 6, 7, 19, 20, 21, 35] {
            b.insert(x);
        }
        let d: Vec<_> = a.difference(&b).collect();
        assert_eq!(d, vec![(2, 5), (8, 19), (30, 35), (36, 40)]);
        let brute: Vec<u64> = a.iter().filter(|&x| !b.contains(x)).collect();
        let by_ranges: Vec<u64> = d.iter().flat_map(|&(s, e)| s..e).collect();
        assert_eq!(brute, by_ranges);
    }
}
