//! The reference model: final window aggregates computed in batch from the
//! set of accepted events, written independently of the incremental
//! operators so that the end-to-end checker compares two derivations.

use super::window::{Window, WindowKind};
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
    if let Err(e) = kind.validate() {
        panic!("invalid window kind: {e}");
    }
    let mut table: BTreeMap<(u64, Window), (u64, u64)> = BTreeMap::new();
    let mut add = |key: u64, start_ms: u64, end_ms: u64, count: u64, bytes: u64| {
        let row = table.entry((key, Window { start_ms, end_ms })).or_insert((0, 0));
        row.0 += count;
        row.1 += bytes;
    };
    match *kind {
        WindowKind::Tumbling { size_ms } => {
            for (key, t, size) in events {
                let start = t / size_ms * size_ms;
                add(key, start, start.saturating_add(size_ms), 1, u64::from(size));
            }
        }
        WindowKind::Sliding { size_ms, slide_ms } => {
            for (key, t, size) in events {
                // Window k holds t iff k*slide <= t < k*slide + size.
                let k_min = if t < size_ms { 0 } else { (t - size_ms) / slide_ms + 1 };
                let k_max = t / slide_ms;
                for k in k_min..=k_max {
                    let start = k * slide_ms;
                    add(key, start, start.saturating_add(size_ms), 1, u64::from(size));
                }
            }
        }
        WindowKind::Session { gap_ms } => {
            let mut per_key: BTreeMap<u64, Vec<(u64, u32)>> = BTreeMap::new();
            for (key, t, size) in events {
                per_key.entry(key).or_default().push((t, size));
            }
            for (key, mut evs) in per_key {
                evs.sort_unstable();
                // (start, end, count, bytes) of the session being built.
                let mut cur: Option<(u64, u64, u64, u64)> = None;
                for (t, size) in evs {
                    let end = t.saturating_add(gap_ms);
                    cur = match cur {
                        // Sorted, so `s <= t < t + gap` holds; strict overlap is `t < e`.
                        Some((s, e, c, b)) if t < e => Some((s, e.max(end), c + 1, b + u64::from(size))),
                        Some((s, e, c, b)) => {
                            add(key, s, e, c, b);
                            Some((t, end, 1, u64::from(size)))
                        }
                        None => Some((t, end, 1, u64::from(size))),
                    };
                }
                if let Some((s, e, c, b)) = cur {
                    add(key, s, e, c, b);
                }
            }
        }
    }
    table
}
