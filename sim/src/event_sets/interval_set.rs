//! A set of u64 kept as disjoint half-open ranges: a client's acknowledged
//! sequence numbers are mostly contiguous, so a ledger of millions of
//! events takes a handful of ranges.

use std::collections::BTreeMap;

/// Disjoint, non-adjacent ranges `[start, end)` keyed by start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IntervalSet {
    ranges: BTreeMap<u64, u64>,
    len: u64,
}

impl IntervalSet {
    /// Insert `x`; returns whether it was new.
    pub fn insert(&mut self, x: u64) -> bool {
        if self.contains(x) {
            return false;
        }
        let mut start = x;
        let mut end = x + 1;
        if let Some((&s, &e)) = self.ranges.range(..=x).next_back() {
            if e == x {
                start = s;
                self.ranges.remove(&s);
            }
        }
        if let Some(&e) = self.ranges.get(&end) {
            self.ranges.remove(&end);
            end = e;
        }
        self.ranges.insert(start, end);
        self.len += 1;
        true
    }

    /// Remove `x`; returns whether it was there.
    pub fn remove(&mut self, x: u64) -> bool {
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

    /// Number of ranges (memory footprint).
    pub fn ranges(&self) -> usize {
        self.ranges.len()
    }

    /// All elements in order.
    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        self.ranges.iter().flat_map(|(&s, &e)| s..e)
    }

    /// The ranges `[start, end)` in order.
    pub fn spans(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.ranges.iter().map(|(&s, &e)| (s, e))
    }

    /// Elements of `self` not in `other`, in order, as ranges: walks both sets'
    /// ranges once, so its cost follows the ranges, not the elements.
    pub fn difference<'a>(&'a self, other: &'a IntervalSet) -> impl Iterator<Item = (u64, u64)> + 'a {
        self.spans().flat_map(move |(s, e)| {
            let mut out = Vec::new();
            let mut at = s;
            // Ranges of `other` that may overlap [s, e): the one starting at or before s, then those inside.
            let first = other.ranges.range(..=s).next_back().map(|(&a, &b)| (a, b));
            for (a, b) in first
                .into_iter()
                .chain(other.ranges.range(s + 1..e).map(|(&a, &b)| (a, b)))
            {
                if b <= at {
                    continue;
                }
                if a > at {
                    out.push((at, a.min(e)));
                }
                at = at.max(b);
                if at >= e {
                    break;
                }
            }
            if at < e {
                out.push((at, e));
            }
            out
        })
    }
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
