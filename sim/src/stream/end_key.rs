//! The name of one key's window in fire order, shared by the window store
//! and its panes.

use crate::config::Window;

/// A window named in fire order: by end, then key, then start. Firing,
/// purging and the order of emitted rows all follow it, which is what makes
/// the outputs of a call deterministic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct EndKey {
    pub(super) end: u64,
    pub(super) key: u64,
    pub(super) start: u64,
}

impl EndKey {
    /// Names the window `w` of `key`.
    pub(super) fn new(key: u64, w: Window) -> Self {
        EndKey {
            end: w.end_ms,
            key,
            start: w.start_ms,
        }
    }

    /// The window this names.
    pub(super) fn window(&self) -> Window {
        Window {
            start_ms: self.start,
            end_ms: self.end,
        }
    }
}
