//! The instants the fabric has a madsim timer pending for, so that nodes
//! waiting for the same instant share one.
//!
//! A madsim timer costs about 540 instructions to set (a boxed callback and a
//! heap push under its lock) and as much again to fire, and it cannot be
//! cancelled. One per node per wake-up was a sixth of a run's instructions:
//! at a millisecond delivery grid a dozen nodes wait for the same
//! millisecond. A node's wish to wake is its `timer_us` in the fabric; madsim
//! gets one timer per instant some node asks for, and its firing wakes every
//! parked node whose wish is due by then (`Fabric::ring`). A wish replaced by
//! an earlier one leaves its instant's timer to fire, and wake no one, unless
//! another node wants that instant too.

use rustc_hash::FxHashSet;

/// The instants with a madsim timer of the fabric's pending.
#[derive(Default)]
pub(super) struct Alarms {
    armed: FxHashSet<u64>,
    /// madsim timers armed so far.
    timers: u64,
}

impl Alarms {
    /// A node wants waking at `us`. True if no timer is pending for that
    /// instant yet: the caller arms one, and reports it with [`Alarms::rung`]
    /// when it fires.
    pub(super) fn set(&mut self, us: u64) -> bool {
        let new = self.armed.insert(us);
        self.timers += u64::from(new);
        new
    }

    /// The timer of instant `at` fired: a node that wants `at` again needs a new one.
    pub(super) fn rung(&mut self, at: u64) {
        self.armed.remove(&at);
    }

    /// madsim timers armed so far: one per instant asked for, however many
    /// nodes asked for it.
    pub(super) fn timers(&self) -> u64 {
        self.timers
    }
}

#[cfg(test)]
mod tests {
    use super::Alarms;

    #[test]
    fn one_timer_per_instant_until_it_fires() {
        let mut a = Alarms::default();
        assert!(a.set(300));
        assert!(a.set(100));
        assert!(!a.set(300), "300 has its timer");
        assert!(!a.set(100));
        assert_eq!(a.timers(), 2);
        a.rung(100);
        assert!(a.set(100), "a rung instant needs a timer anew");
        assert!(!a.set(300), "300 has not fired yet");
        assert_eq!(a.timers(), 3);
    }
}
