//! `--seeds` and `--shard`: which seeds a sweep runs, and which slice of
//! them one machine of a CI matrix or one pod of an indexed Job takes.

use std::fmt;

/// Largest number of seeds one sweep may name: enough for any CI or sizing
/// sweep, small enough that a typo such as `0..10000000000` is refused
/// instead of scheduling years of work.
pub const MAX_SEEDS: u64 = 10_000_000;

/// A range of seeds, `start..end` half-open, as Rust writes ranges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeedRange {
    /// First seed.
    pub start: u64,
    /// One past the last seed.
    pub end: u64,
}

impl SeedRange {
    /// Number of seeds.
    pub fn len(&self) -> u64 {
        self.end - self.start
    }

    /// The seeds of the range that shard `shard` runs: those whose index in
    /// the range, counted from 0, is `K-1` modulo `N`. Striding rather than
    /// cutting into blocks gives every shard a share of every part of the
    /// range, so shards take about the same time.
    pub fn seeds(&self, shard: Shard) -> impl Iterator<Item = u64> {
        let (start, end) = (self.start, self.end);
        (start.saturating_add(shard.index - 1)..end).step_by(shard.count as usize)
    }
}

/// Written back the way it is accepted, half-open: `0..32`.
impl fmt::Display for SeedRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.start, self.end)
    }
}

/// Parses `A..B` (half-open: A to B-1, so `0..32` is 32 seeds), `A..=B`
/// (inclusive) or a single seed `N`.
pub fn parse_seeds(s: &str) -> Result<SeedRange, String> {
    let form = "expected A..B (half-open: `0..32` is the 32 seeds 0 to 31), A..=B (inclusive) or one seed N";
    let num = |t: &str| -> Result<u64, String> {
        t.trim()
            .parse::<u64>()
            .map_err(|_| format!("{t:?} is not a seed (a whole number from 0 to {}); {form}", u64::MAX))
    };
    let (start, end) = if let Some((a, b)) = s.split_once("..=") {
        let (a, b) = (num(a)?, num(b)?);
        if b < a {
            return Err(format!("{s} is empty: {b} is below {a}"));
        }
        (
            a,
            b.checked_add(1)
                .ok_or_else(|| format!("{s}: the range ends past the largest seed"))?,
        )
    } else if let Some((a, b)) = s.split_once("..") {
        let (a, b) = (num(a)?, num(b)?);
        if b < a {
            return Err(format!("{s} is empty: {b} is below {a}"));
        }
        if b == a {
            return Err(format!(
                "{s} is empty: A..B is half-open and runs A to B-1; for the one seed {a} write {a}"
            ));
        }
        (a, b)
    } else {
        let n = num(s)?;
        (
            n,
            n.checked_add(1)
                .ok_or_else(|| format!("{s}: the largest seed cannot be swept"))?,
        )
    };
    let range = SeedRange { start, end };
    if range.len() > MAX_SEEDS {
        return Err(format!(
            "{s} names {} seeds; a sweep takes at most {MAX_SEEDS} (split it with --shard or narrow the range)",
            range.len()
        ));
    }
    Ok(range)
}

/// Slice `index` (1-based) of `count` of a sweep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// K, from 1 to `count`.
    pub index: u64,
    /// N, at least 1.
    pub count: u64,
}

impl Shard {
    /// The whole sweep: shard 1/1.
    pub const ALL: Shard = Shard { index: 1, count: 1 };
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Parses `K/N` with `1 <= K <= N`.
pub fn parse_shard(s: &str) -> Result<Shard, String> {
    let form = "expected K/N with 1 <= K <= N, e.g. 2/4 for the second of four shards";
    let (k, n) = s.split_once('/').ok_or_else(|| format!("{s:?}: {form}"))?;
    let num = |t: &str| {
        t.trim()
            .parse::<u64>()
            .map_err(|_| format!("{t:?} is not a whole number; {form}"))
    };
    let (index, count) = (num(k)?, num(n)?);
    if count == 0 {
        return Err(format!("{s}: the shard count N must be at least 1; {form}"));
    }
    if index == 0 || index > count {
        return Err(format!(
            "{s}: shard K must be from 1 to {count} (shards are numbered from 1); {form}"
        ));
    }
    if count > MAX_SEEDS {
        return Err(format!("{s}: at most {MAX_SEEDS} shards"));
    }
    Ok(Shard { index, count })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        let r = parse_seeds("0..32").unwrap();
        assert_eq!(r.len(), 32);
        assert_eq!(r.to_string(), "0..32");
        assert_eq!(parse_seeds("1..=50").unwrap(), SeedRange { start: 1, end: 51 });
        assert_eq!(parse_seeds("7").unwrap(), SeedRange { start: 7, end: 8 });
        for bad in ["5..5", "5..2", "a..3", "..4", "1..=0", "0..99999999999", "-1..3", ""] {
            assert!(parse_seeds(bad).is_err(), "{bad}");
        }
        assert!(parse_seeds(&format!("{}..={}", u64::MAX, u64::MAX)).is_err());
    }

    #[test]
    fn shards_partition_the_seeds() {
        let r = parse_seeds("3..20").unwrap();
        let mut all: Vec<u64> = (1..=4)
            .flat_map(|k| r.seeds(Shard { index: k, count: 4 }).collect::<Vec<_>>())
            .collect();
        all.sort_unstable();
        assert_eq!(all, (3..20).collect::<Vec<_>>());
        assert_eq!(
            r.seeds(Shard { index: 2, count: 4 }).collect::<Vec<_>>(),
            [4, 8, 12, 16]
        );
        assert_eq!(
            parse_seeds("0..2").unwrap().seeds(Shard { index: 4, count: 4 }).count(),
            0
        );
        assert_eq!(r.seeds(Shard::ALL).count(), 17);
    }

    #[test]
    fn shard_syntax() {
        assert_eq!(parse_shard("2/4").unwrap(), Shard { index: 2, count: 4 });
        for bad in ["0/4", "5/4", "1/0", "2", "a/b", "1/-3"] {
            assert!(parse_shard(bad).is_err(), "{bad}");
        }
    }
}
