//! Event-time windows and the built-in operator chain's knobs.

use serde::{Deserialize, Serialize};

/// How events are grouped into event-time windows. Also the scenario's
/// `processor.window`, written `{ kind = "tumbling", size_ms = 10000 }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum WindowKind {
    /// Fixed, non-overlapping windows `[k*size, (k+1)*size)`.
    Tumbling {
        /// Window length, ms.
        size_ms: u64,
    },
    /// Fixed windows of `size_ms` starting every `slide_ms`; an event belongs
    /// to every window with `start <= t < start + size`.
    Sliding {
        /// Window length, ms.
        size_ms: u64,
        /// Distance between window starts, ms.
        slide_ms: u64,
    },
    /// Per-key activity sessions: each event opens `[t, t + gap)` and merges
    /// with every session of its key that it strictly overlaps.
    Session {
        /// Inactivity gap that closes a session, ms.
        gap_ms: u64,
    },
}

impl WindowKind {
    /// Refuses zero lengths, which would make empty or infinitely many windows.
    pub fn validate(&self) -> Result<(), String> {
        match *self {
            WindowKind::Tumbling { size_ms: 0 } => Err("tumbling window size_ms must be > 0".into()),
            WindowKind::Sliding { size_ms: 0, .. } => Err("sliding window size_ms must be > 0".into()),
            WindowKind::Sliding { slide_ms: 0, .. } => Err("sliding window slide_ms must be > 0".into()),
            WindowKind::Session { gap_ms: 0 } => Err("session window gap_ms must be > 0".into()),
            _ => Ok(()),
        }
    }
}

/// An event-time window `[start_ms, end_ms)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Window {
    /// Inclusive start, ms.
    pub start_ms: u64,
    /// Exclusive end, ms.
    pub end_ms: u64,
}

/// Knobs of one task's operator chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OperatorConfig {
    /// How events are grouped into windows.
    pub window: WindowKind,
    /// Watermark = max event time seen minus this (saturating); it never decreases.
    pub max_out_of_orderness_ms: u64,
    /// How long after the watermark passes a window's end it still accepts
    /// elements (each re-emits the window's row) before it is purged.
    pub allowed_lateness_ms: u64,
    /// De-duplication TTL in processing time; `None` turns de-duplication off.
    pub dedup_ttl_ms: Option<u64>,
}

impl OperatorConfig {
    /// Refuses configurations the operators cannot run (zero-sized windows,
    /// zero slide or gap), so scenario loading can report them clearly.
    pub fn validate(&self) -> Result<(), String> {
        self.window.validate()
    }
}
