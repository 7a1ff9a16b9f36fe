//! The reference model: final window aggregates computed in batch from the
//! set of accepted events, written independently of the incremental
//! operators so that the end-to-end checker compares two derivations.

use super::window::{Window, WindowKind};
use rustc_hash::FxHashMap;
use std::collections::BTreeMap;

/// Reference model for the end-to-end checker: the final window aggregates
/// the sink must hold, computed from the set of events that were processed
/// (acknowledged events, minus those in the Late side output). Each event is
/// `(key, event_time_ms, size)`; each value is `(count, bytes)`.
///
/// Sessions: per key, sort the times and merge the `[t, t + gap)` intervals
/// with the operators' strict-overlap rule (touching intervals stay apart).
/// Panics on a window kind that [`WindowKind::validate`] refuses.
pub fn reference_aggregates(
    kind: &WindowKind,
    events: impl IntoIterator<Item = (u64, u64, u32)>,
) -> BTreeMap<(u64, Window), (u64, u64)> {
    let mut r = ReferenceAggregates::new(kind);
    for (key, t, size) in events {
        r.add(key, t, size);
    }
    r.finish()
}

/// One window's rows: `(count, bytes)` by key.
type WindowRows = FxHashMap<u64, (u64, u64)>;

/// The reference model fed one event at a time, as the log audit folds the
/// log's settled prefix. Tumbling and sliding windows are sums, so each
/// event goes straight into its rows; sessions depend on every time of a
/// key at once, so their events wait (key, time and size only) until
/// [`finish`](Self::finish).
///
/// Fixed windows' rows are held by window, then by key in a hash map: an
/// event costs a binary search among the open windows and one hash lookup
/// per window it falls in, where one ordered table of `(key, window)`
/// walked a tree as deep as every key's rows. The order the comparison needs
/// is made once per row, when its window closes.
#[derive(Clone, Debug)]
pub struct ReferenceAggregates {
    kind: WindowKind,
    /// Open windows, sorted. A sliding window of many slides keeps thousands
    /// open and an event falls in each, so a window is found by binary search.
    windows: Vec<(Window, WindowRows)>,
    session_events: BTreeMap<u64, Vec<(u64, u32)>>,
}

impl ReferenceAggregates {
    /// Empty. Panics on a window kind that [`WindowKind::validate`] refuses.
    pub fn new(kind: &WindowKind) -> Self {
        if let Err(e) = kind.validate() {
            panic!("invalid window kind: {e}");
        }
        ReferenceAggregates {
            kind: *kind,
            windows: Vec::new(),
            session_events: BTreeMap::new(),
        }
    }

    fn row(&mut self, key: u64, start_ms: u64, end_ms: u64, size: u32) {
        let w = Window { start_ms, end_ms };
        let i = match self.windows.binary_search_by_key(&w, |(open, _)| *open) {
            Ok(i) => i,
            Err(at) => {
                self.windows.insert(at, (w, FxHashMap::default()));
                at
            }
        };
        let row = self.windows[i].1.entry(key).or_insert((0, 0));
        row.0 += 1;
        row.1 += u64::from(size);
    }

    /// One accepted event.
    pub fn add(&mut self, key: u64, t: u64, size: u32) {
        match self.kind {
            WindowKind::Tumbling { size_ms } => {
                let start = t / size_ms * size_ms;
                self.row(key, start, start.saturating_add(size_ms), size);
            }
            WindowKind::Sliding { size_ms, slide_ms } => {
                // Window k holds t iff k*slide <= t < k*slide + size.
                let k_min = if t < size_ms { 0 } else { (t - size_ms) / slide_ms + 1 };
                let k_max = t / slide_ms;
                for k in k_min..=k_max {
                    let start = k * slide_ms;
                    self.row(key, start, start.saturating_add(size_ms), size);
                }
            }
            WindowKind::Session { .. } => self.session_events.entry(key).or_default().push((t, size)),
        }
    }

    /// Take out the rows of windows ending at or before `end_ms`: the log audit compares
    /// them with the sink once no event can reach them any more. Sessions are built only
    /// at [`finish`](Self::finish), so nothing is taken from a session table.
    pub fn take_closed(&mut self, end_ms: u64) -> BTreeMap<(u64, Window), (u64, u64)> {
        let mut out = BTreeMap::new();
        self.windows.retain_mut(|(w, rows)| {
            if w.end_ms > end_ms {
                return true;
            }
            out.extend(rows.drain().map(|(key, v)| ((key, *w), v)));
            false
        });
        out
    }

    /// The table.
    pub fn finish(mut self) -> BTreeMap<(u64, Window), (u64, u64)> {
        let mut table = self.take_closed(u64::MAX);
        let WindowKind::Session { gap_ms } = self.kind else {
            return table;
        };
        let mut row = |key: u64, start_ms: u64, end_ms: u64, count: u64, bytes: u64| {
            table.insert((key, Window { start_ms, end_ms }), (count, bytes));
        };
        for (key, mut evs) in std::mem::take(&mut self.session_events) {
            evs.sort_unstable();
            // (start, end, count, bytes) of the session being built.
            let mut cur: Option<(u64, u64, u64, u64)> = None;
            for (t, size) in evs {
                let end = t.saturating_add(gap_ms);
                cur = match cur {
                    // Sorted, so `s <= t < t + gap` holds; strict overlap is `t < e`.
                    Some((s, e, c, b)) if t < e => Some((s, e.max(end), c + 1, b + u64::from(size))),
                    Some((s, e, c, b)) => {
                        row(key, s, e, c, b);
                        Some((t, end, 1, u64::from(size)))
                    }
                    None => Some((t, end, 1, u64::from(size))),
                };
            }
            if let Some((s, e, c, b)) = cur {
                row(key, s, e, c, b);
            }
        }
        table
    }
}

/// Remove and return the rows of `table` whose window ends at or before `end_ms`.
pub fn take_closed(
    table: &mut BTreeMap<(u64, Window), (u64, u64)>,
    end_ms: u64,
) -> BTreeMap<(u64, Window), (u64, u64)> {
    let closed: Vec<(u64, Window)> = table.keys().filter(|k| k.1.end_ms <= end_ms).copied().collect();
    closed
        .into_iter()
        .map(|k| {
            let v = table.remove(&k).expect("key just listed");
            (k, v)
        })
        .collect()
}
