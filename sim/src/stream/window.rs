//! Window assignment and the keyed window store: fixed windows as panes
//! (`panes.rs`), sessions keyed by `(key, window)` with fire and purge
//! indexes, since a key's sessions merge and fire one by one.

use super::end_key::EndKey;
use super::panes::Panes;
pub use crate::config::{Window, WindowKind};
use imbl::{OrdMap, OrdSet};

/// The fixed (tumbling or sliding) windows holding event time `t`, latest
/// start first. Yields nothing for sessions, which depend on state.
pub(super) fn assign_fixed(kind: &WindowKind, t: u64) -> FixedWindows {
    let (size, slide) = match *kind {
        WindowKind::Tumbling { size_ms } => (size_ms, size_ms),
        WindowKind::Sliding { size_ms, slide_ms } => (size_ms, slide_ms),
        WindowKind::Session { .. } => (0, 1),
    };
    FixedWindows {
        next_start: Some(t - t % slide),
        t,
        size,
        slide,
    }
}

/// Iterator over the fixed windows of one event time (no allocation per record).
pub(super) struct FixedWindows {
    next_start: Option<u64>,
    t: u64,
    size: u64,
    slide: u64,
}

impl Iterator for FixedWindows {
    type Item = Window;

    fn next(&mut self) -> Option<Window> {
        let start = self.next_start?;
        let end = start.saturating_add(self.size);
        if end <= self.t {
            // Windows further back end even earlier: done.
            self.next_start = None;
            return None;
        }
        self.next_start = start.checked_sub(self.slide);
        Some(Window {
            start_ms: start,
            end_ms: end,
        })
    }
}

/// Running aggregate of one open session.
#[derive(Clone, Copy, Debug)]
struct Agg {
    count: u64,
    bytes: u64,
    /// The watermark has passed the end: the sink holds a row for it, so
    /// every later change re-emits it and a session merge retracts it.
    fired: bool,
}

/// Open windows of all keys of one task. Fixed windows are in `panes`.
/// Every session is in `aggs` and in exactly one of the two indexes,
/// `unfired` or `fired`, both ordered by end so firing and purging pop from
/// the front instead of scanning.
#[derive(Clone, Debug, Default)]
pub(super) struct WindowStore {
    panes: Panes,
    /// Sessions, keyed by `(key, window)` so a key's sessions are contiguous
    /// and sorted by start, which the merge lookup relies on.
    aggs: OrdMap<(u64, Window), Agg>,
    unfired: OrdSet<EndKey>,
    fired: OrdSet<EndKey>,
}

impl WindowStore {
    /// Open window entries.
    pub(super) fn len(&self) -> usize {
        self.panes.len() + self.aggs.len()
    }

    /// Adds one element of `size` bytes to a fixed window, opening it if
    /// needed; an already-fired window goes to `touched` to be re-emitted.
    pub(super) fn add_fixed(&mut self, key: u64, w: Window, size: u64, touched: &mut Vec<EndKey>) {
        self.panes.add(key, w, size, touched);
    }

    /// Adds an element at `t` to the sessions of `key`: `[t, t + gap)` merges
    /// with every open session it strictly overlaps. Fired sessions replaced
    /// by a different merged window go to `deletes`; the merged window fires
    /// with the watermark (in this call if its end is already passed).
    pub(super) fn add_session(&mut self, key: u64, t: u64, gap: u64, size: u64, deletes: &mut Vec<EndKey>) {
        let mut merged = Window {
            start_ms: t,
            end_ms: t.saturating_add(gap),
        };
        // Open sessions of a key never strictly overlap each other and all
        // have positive length, so sorted by start their ends increase too:
        // walking back from the last session starting before the new end,
        // the overlapping ones are a contiguous run that stops at the first
        // session ending at or before `t`.
        let lo = (key, Window { start_ms: 0, end_ms: 0 });
        let hi = (
            key,
            Window {
                start_ms: merged.end_ms,
                end_ms: 0,
            },
        );
        let overlapping: Vec<(Window, Agg)> = self
            .aggs
            .range(lo..hi)
            .rev()
            .take_while(|((_, w), _)| w.end_ms > t)
            .map(|((_, w), a)| (*w, *a))
            .collect();

        let mut agg = Agg {
            count: 1,
            bytes: size,
            fired: false,
        };
        for (w, a) in &overlapping {
            merged.start_ms = merged.start_ms.min(w.start_ms);
            merged.end_ms = merged.end_ms.max(w.end_ms);
            agg.count += a.count;
            agg.bytes += a.bytes;
        }
        for (w, a) in &overlapping {
            let k = EndKey::new(key, *w);
            self.aggs.remove(&(key, *w));
            if a.fired {
                self.fired.remove(&k);
                // A merged window with the same bounds is the same sink row:
                // an update, not a retraction.
                if *w != merged {
                    deletes.push(k);
                }
            } else {
                self.unfired.remove(&k);
            }
        }
        // The merged window starts unfired even when it keeps a fired row's
        // bounds: a fired window ends at or before the watermark, so it fires
        // again in this same call, which re-emits the updated row.
        self.unfired.insert(EndKey::new(key, merged));
        self.aggs.insert((key, merged), agg);
    }

    /// Fires every unfired window whose end the watermark reached, pushing
    /// it to `touched` for an `Upsert`.
    pub(super) fn fire_up_to(&mut self, watermark: u64, touched: &mut Vec<EndKey>) {
        self.panes.fire_up_to(watermark, touched);
        while let Some(&k) = self.unfired.get_min() {
            if k.end > watermark {
                break;
            }
            self.unfired.remove(&k);
            self.fired.insert(k);
            if let Some(a) = self.aggs.get_mut(&(k.key, k.window())) {
                a.fired = true;
            }
            touched.push(k);
        }
    }

    /// Drops every window with `end + allowed_lateness <= watermark`: no
    /// non-late element can reach it any more. Such windows have fired.
    pub(super) fn purge(&mut self, watermark: u64, allowed_lateness: u64) {
        self.panes.purge(watermark, allowed_lateness);
        while let Some(&k) = self.fired.get_min() {
            if k.end.saturating_add(allowed_lateness) > watermark {
                break;
            }
            self.fired.remove(&k);
            self.aggs.remove(&(k.key, k.window()));
        }
    }

    /// `(count, bytes)` of an open window (zero if it is not open, which the
    /// callers never ask for).
    pub(super) fn aggregate(&self, k: &EndKey) -> (u64, u64) {
        if let Some(fixed) = self.panes.aggregate(k) {
            return fixed;
        }
        self.aggs
            .get(&(k.key, k.window()))
            .map_or((0, 0), |a| (a.count, a.bytes))
    }
}
