//! The open fixed (tumbling or sliding) windows of one task, a pane each.
//!
//! Every key of a fixed window fires when the watermark passes the window's
//! end and is purged when it passes the end plus the allowed lateness, so
//! the fired flag and both deadlines belong to the window, not to each
//! `(key, window)` entry. A pane holds its window's aggregates by key alone
//! (`pane_keys.rs`): an event costs one hash lookup, and firing or purging a
//! window is one step, where a store keyed by `(key, window)` with fire and
//! purge indexes by end paid seven persistent-tree operations per entry over
//! its life and 48 bytes an entry plus the indexes' 24.

use super::end_key::EndKey;
use super::pane_keys::PaneKeys;
use crate::config::Window;

/// One open fixed window.
#[derive(Clone, Debug)]
struct Pane {
    window: Window,
    /// The watermark has passed the end: the sink holds a row for each of
    /// its keys, so every later change re-emits the key's row.
    fired: bool,
    /// A checkpoint's snapshot shares most of it.
    keys: PaneKeys,
}

/// The panes of one task, by end ascending. Fixed windows of one size and
/// slide have distinct ends. As many are open as the size over the slide,
/// plus those within the allowed lateness: a vector a snapshot copies.
#[derive(Clone, Debug, Default)]
pub(super) struct Panes {
    panes: Vec<Pane>,
}

impl Panes {
    /// Where the pane ending at `end_ms` is, or would go. A sliding window of
    /// many slides keeps thousands of panes open and an event falls in each,
    /// so a pane is found by binary search, not a scan.
    fn position(&self, end_ms: u64) -> Result<usize, usize> {
        self.panes.binary_search_by_key(&end_ms, |p| p.window.end_ms)
    }

    /// `(key, window)` entries held.
    pub(super) fn len(&self) -> usize {
        self.panes.iter().map(|p| p.keys.len()).sum()
    }

    /// Adds one element of `size` bytes to `key` in `w`, opening the window
    /// if needed; a key of an already-fired window goes to `touched` to be
    /// (re-)emitted.
    pub(super) fn add(&mut self, key: u64, w: Window, size: u64, touched: &mut Vec<EndKey>) {
        let i = match self.position(w.end_ms) {
            Ok(i) => i,
            Err(at) => {
                self.panes.insert(
                    at,
                    Pane {
                        window: w,
                        fired: false,
                        keys: PaneKeys::default(),
                    },
                );
                at
            }
        };
        let pane = &mut self.panes[i];
        debug_assert_eq!(pane.window, w, "fixed windows with one end have one start");
        pane.keys.add(key, size);
        if pane.fired {
            touched.push(EndKey::new(key, w));
        }
    }

    /// Fires every unfired window whose end the watermark reached, pushing
    /// each of its keys to `touched` for an `Upsert`.
    /// Fired panes are not a prefix: an element within the allowed lateness
    /// can open a window the watermark already passed, before fired ones, so
    /// every reached pane is looked at.
    pub(super) fn fire_up_to(&mut self, watermark: u64, touched: &mut Vec<EndKey>) {
        for pane in self.panes.iter_mut().take_while(|p| p.window.end_ms <= watermark) {
            if !pane.fired {
                pane.fired = true;
                touched.extend(pane.keys.sorted_keys().into_iter().map(|k| EndKey::new(k, pane.window)));
            }
        }
    }

    /// Drops every window with `end + allowed_lateness <= watermark`: no
    /// non-late element can reach it any more. Such windows have fired.
    pub(super) fn purge(&mut self, watermark: u64, allowed_lateness: u64) {
        let gone = self
            .panes
            .iter()
            .take_while(|p| p.fired && p.window.end_ms.saturating_add(allowed_lateness) <= watermark)
            .count();
        self.panes.drain(..gone);
    }

    /// `(count, bytes)` of `k`'s key in its window, if open.
    pub(super) fn aggregate(&self, k: &EndKey) -> Option<(u64, u64)> {
        let pane = &self.panes[self.position(k.end).ok()?];
        pane.keys.get(k.key).map(|c| (c.count, c.bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(start_ms: u64, end_ms: u64) -> Window {
        Window { start_ms, end_ms }
    }

    /// Sliding windows opened out of order stay sorted by end; firing names
    /// every key of each reached window once, a key added to a fired window
    /// is named again, and purging drops whole windows past the lateness.
    #[test]
    fn panes_fire_per_window_and_purge_whole() {
        let mut p = Panes::default();
        let mut touched = Vec::new();
        p.add(7, w(10, 30), 5, &mut touched);
        p.add(3, w(0, 20), 1, &mut touched);
        p.add(7, w(0, 20), 2, &mut touched);
        p.add(7, w(20, 40), 4, &mut touched);
        assert!(touched.is_empty());
        let ends: Vec<u64> = p.panes.iter().map(|x| x.window.end_ms).collect();
        assert_eq!(ends, [20, 30, 40]);
        assert_eq!(p.len(), 4);

        p.fire_up_to(30, &mut touched);
        touched.sort_unstable();
        let named: Vec<(u64, u64)> = touched.iter().map(|k| (k.end, k.key)).collect();
        assert_eq!(named, [(20, 3), (20, 7), (30, 7)]);
        touched.clear();
        p.fire_up_to(30, &mut touched);
        assert!(touched.is_empty(), "a fired window fires once");

        p.add(9, w(10, 30), 6, &mut touched);
        p.add(7, w(10, 30), 1, &mut touched);
        p.add(7, w(20, 40), 1, &mut touched);
        let named: Vec<(u64, u64)> = touched.iter().map(|k| (k.end, k.key)).collect();
        assert_eq!(named, [(30, 9), (30, 7)], "only keys of fired windows are re-emitted");
        assert_eq!(p.aggregate(&EndKey::new(7, w(10, 30))), Some((2, 6)));
        assert_eq!(p.aggregate(&EndKey::new(7, w(20, 40))), Some((2, 5)));
        assert_eq!(p.aggregate(&EndKey::new(8, w(10, 30))), None);

        p.purge(34, 5);
        assert_eq!(p.panes.len(), 2, "only the window ending at 20 is past its lateness");
        p.purge(100, 5);
        assert_eq!(p.panes.len(), 1, "the window ending at 40 never fired");
        assert_eq!(p.len(), 1);
    }
}
