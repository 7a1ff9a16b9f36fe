//! Event-time watermark with bounded out-of-orderness, and the per-element
//! lateness rule.

/// Watermark = max event time seen minus the out-of-orderness bound
/// (saturating at 0). It starts at 0, so nothing is late before the first
/// element, and it never decreases.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Watermark {
    max_out_of_orderness_ms: u64,
    current: u64,
}

impl Watermark {
    /// A watermark at 0.
    pub(crate) fn new(max_out_of_orderness_ms: u64) -> Self {
        Watermark {
            max_out_of_orderness_ms,
            current: 0,
        }
    }

    /// Current value, ms.
    pub(crate) fn current(&self) -> u64 {
        self.current
    }

    /// Flink's `isElementLate`, against the watermark before this element
    /// advances it: late iff `t + allowed_lateness < watermark`. An element
    /// exactly at the boundary is on time.
    pub(crate) fn is_late(&self, t: u64, allowed_lateness_ms: u64) -> bool {
        t.saturating_add(allowed_lateness_ms) < self.current
    }

    /// Advances from an accepted element's event time (a max, so out-of-order
    /// elements never pull it back).
    pub(crate) fn observe(&mut self, t: u64) {
        self.current = self.current.max(t.saturating_sub(self.max_out_of_orderness_ms));
    }

    /// End of input: +infinity, which fires and purges every window.
    pub(crate) fn finish(&mut self) {
        self.current = u64::MAX;
    }
}
