//! What readers query in the sink database: each key's newest window
//! count, as a dashboard shows "this key, its latest minute". The sink
//! updates it in the transaction that upserts the window row, so it is
//! exactly as durable as the `window_counts` table it derives from.
//!
//! Each key keeps its recent history of values with their commit instants:
//! that is what the stale-read check measures a served value against.

use crate::wire::Row;
use std::collections::{BTreeMap, VecDeque};

/// One key's value as readers see it: its newest window and the count in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Value {
    /// End of the key's newest window, ms of event time.
    pub window_end_ms: u64,
    /// Events counted in it.
    pub count: u64,
}

/// One key's values in commit order.
#[derive(Clone, Debug, Default)]
struct History {
    /// (value, commit instant µs), oldest first.
    values: VecDeque<(Value, u64)>,
    /// Older values were dropped (replaced before the horizon).
    pruned: bool,
}

/// The database's per-key view and the index of what was updated lately.
#[derive(Debug, Default)]
pub struct View {
    keys: BTreeMap<u64, History>,
    /// Keys in the order of their first commit, for reads of any key.
    order: Vec<u64>,
    /// (commit instant µs, key) of every change in the last `recent_us`.
    recent: VecDeque<(u64, u64)>,
    recent_us: u64,
    /// A value replaced longer ago than this is forgotten (no cache serves it that long).
    horizon_us: u64,
}

/// How stale a served value was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Staleness {
    /// The value was the newest when served (or replaced only after).
    Fresh,
    /// The database committed a newer value this long before it was served, µs.
    ReplacedFor(u64),
}

impl View {
    /// An empty view: `recent_us` is what counts as recent, `horizon_us` how long replaced values are kept.
    pub fn new(recent_us: u64, horizon_us: u64) -> Self {
        View {
            recent_us,
            horizon_us,
            ..Default::default()
        }
    }

    /// Apply a committed transaction's window rows at `now_us`; returns the keys whose value changed.
    pub fn apply(&mut self, rows: &[Row], now_us: u64) -> Vec<u64> {
        let mut changed = Vec::new();
        for r in rows {
            let Row::Upsert { key, window, count, .. } = *r else {
                continue;
            };
            let v = Value {
                window_end_ms: window.end_ms,
                count,
            };
            let h = self.keys.entry(key).or_default();
            match h.values.back() {
                None => self.order.push(key),
                // An older window's late update, or the same value again (a retried commit).
                Some(&(cur, _)) if v.window_end_ms < cur.window_end_ms || v == cur => continue,
                Some(_) => {}
            }
            h.values.push_back((v, now_us));
            // Keep values whose successor came within the horizon.
            while h.values.len() > 1 && h.values[1].1.saturating_add(self.horizon_us) < now_us {
                h.values.pop_front();
                h.pruned = true;
            }
            self.recent.push_back((now_us, key));
            changed.push(key);
        }
        while self
            .recent
            .front()
            .is_some_and(|&(t, _)| t.saturating_add(self.recent_us) < now_us)
        {
            self.recent.pop_front();
        }
        // Each key once, in key order: the processor writes each to the cache.
        changed.sort_unstable();
        changed.dedup();
        changed
    }

    /// A key's current value.
    pub fn get(&self, key: u64) -> Option<Value> {
        self.keys.get(&key).and_then(|h| h.values.back()).map(|&(v, _)| v)
    }

    /// When the key's current value was committed, µs.
    pub fn committed_us(&self, key: u64) -> Option<u64> {
        self.keys.get(&key).and_then(|h| h.values.back()).map(|&(_, t)| t)
    }

    /// Whether nothing was committed yet.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// A key a read asks for: with probability `recent_share` (drawn as
    /// `coin` in [0, 1)) one the sink changed in the last `recent_s`, picked
    /// by change (so often-updated keys are read often); else any key the
    /// sink holds. `pick` is a uniform draw in [0, 1).
    pub fn pick(&self, recent_share: f64, coin: f64, pick: f64) -> Option<u64> {
        if coin < recent_share && !self.recent.is_empty() {
            let i = ((pick * self.recent.len() as f64) as usize).min(self.recent.len() - 1);
            return Some(self.recent[i].1);
        }
        if self.order.is_empty() {
            return None;
        }
        let i = ((pick * self.order.len() as f64) as usize).min(self.order.len() - 1);
        Some(self.order[i])
    }

    /// How stale `served` (the key's value, or none) was when served at `served_us`.
    pub fn staleness(&self, key: u64, served: Option<Value>, served_us: u64) -> Staleness {
        let Some(h) = self.keys.get(&key) else {
            return Staleness::Fresh; // nothing committed: "none" is the truth
        };
        // The value that replaced the served one: the first after it (after all, for "none").
        let next = match served {
            None if h.pruned => return Staleness::ReplacedFor(self.horizon_us),
            None => h.values.front(),
            Some(v) => match h.values.iter().rposition(|&(x, _)| x == v) {
                Some(i) => h.values.get(i + 1),
                // Forgotten (or never committed): replaced before the horizon.
                None => return Staleness::ReplacedFor(self.horizon_us),
            },
        };
        match next {
            Some(&(_, t)) if t < served_us => Staleness::ReplacedFor(served_us - t),
            _ => Staleness::Fresh,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Window;

    fn up(key: u64, end: u64, count: u64) -> Row {
        Row::Upsert {
            key,
            window: Window {
                start_ms: end - 1000,
                end_ms: end,
            },
            count,
            bytes: count * 100,
        }
    }

    #[test]
    fn a_value_is_stale_from_the_commit_that_replaced_it() {
        let mut v = View::new(5_000_000, 60_000_000);
        v.apply(&[up(7, 1000, 3)], 10_000);
        let old = v.get(7);
        v.apply(&[up(7, 2000, 4)], 20_000);
        assert_eq!(v.staleness(7, old, 15_000), Staleness::Fresh);
        assert_eq!(v.staleness(7, old, 25_000), Staleness::ReplacedFor(5_000));
        assert_eq!(v.staleness(7, v.get(7), 90_000), Staleness::Fresh);
        // "Not found" after the first commit is stale too.
        assert_eq!(v.staleness(7, None, 30_000), Staleness::ReplacedFor(20_000));
    }

    #[test]
    fn late_updates_of_older_windows_and_repeats_change_nothing() {
        let mut v = View::new(5_000_000, 60_000_000);
        assert_eq!(v.apply(&[up(1, 2000, 4)], 10), vec![1]);
        assert!(v.apply(&[up(1, 1000, 9), up(1, 2000, 4)], 20).is_empty());
        assert_eq!(
            v.get(1),
            Some(Value {
                window_end_ms: 2000,
                count: 4
            })
        );
    }

    #[test]
    fn recent_reads_pick_keys_changed_lately_and_the_rest_any_key() {
        let mut v = View::new(1_000, 60_000_000);
        v.apply(&[up(1, 1000, 1)], 0);
        v.apply(&[up(2, 1000, 1)], 5_000);
        // Key 1 changed 5 ms ago, past the 1 ms of "recent": only key 2 is recent.
        assert_eq!(v.pick(1.0, 0.0, 0.0), Some(2));
        assert_eq!(v.pick(0.0, 0.5, 0.0), Some(1));
    }
}
