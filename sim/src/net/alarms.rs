//! When parked receives must wake with nothing else to wake them, and the
//! one madsim timer per instant that does it.
//!
//! A madsim timer costs about 540 instructions to set (a boxed callback and a
//! heap push under its lock) and as much again to fire, and it cannot be
//! cancelled. One per node per wake-up was a sixth of a run's instructions:
//! at a millisecond delivery grid a dozen nodes wait for the same
//! millisecond, and a receive that learns of an earlier message leaves its
//! later timer behind to fire for nothing. Here a node's wish to wake is an
//! entry in the fabric's own heap, and madsim gets one timer per instant
//! that some entry asks for, whose firing wakes every node whose entry is
//! still its latest.

use rustc_hash::FxHashSet;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// The wake-ups the fabric owes its nodes.
#[derive(Default)]
pub(super) struct Alarms {
    /// (µs, node) to wake, earliest first, then by node. Every entry's
    /// instant has a timer pending, so the earliest entry is always the
    /// instant of the next timer to fire.
    due: BinaryHeap<Reverse<(u64, u32)>>,
    /// Instants with a madsim timer pending that rings these alarms.
    armed: FxHashSet<u64>,
    /// madsim timers armed so far.
    timers: u64,
}

impl Alarms {
    /// Wake `node` at `us`. True if no timer is pending for that instant
    /// yet: the caller arms one, which rings [`Alarms::ring`] when it fires.
    pub(super) fn set(&mut self, us: u64, node: u32) -> bool {
        self.due.push(Reverse((us, node)));
        let new = self.armed.insert(us);
        self.timers += u64::from(new);
        new
    }

    /// A timer of the fabric fired: hands over the entries of its instant,
    /// by node. madsim fires timers in deadline order, and each instant's
    /// timer takes its entries out as it fires, so the instant is the
    /// earliest entry's.
    pub(super) fn ring(&mut self, mut each: impl FnMut(u64, u32)) {
        let Some(&Reverse((at, _))) = self.due.peek() else {
            return;
        };
        self.armed.remove(&at);
        while let Some(&Reverse((us, node))) = self.due.peek() {
            if us > at {
                break;
            }
            self.due.pop();
            each(us, node);
        }
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

    fn rung(a: &mut Alarms) -> Vec<(u64, u32)> {
        let mut out = Vec::new();
        a.ring(|us, n| out.push((us, n)));
        out
    }

    #[test]
    fn one_timer_per_instant_rings_every_node_due_by_it_in_order() {
        let mut a = Alarms::default();
        assert!(a.set(300, 4));
        assert!(a.set(100, 2));
        assert!(!a.set(300, 1), "300 already has its timer");
        assert!(!a.set(100, 0));
        assert_eq!(a.timers(), 2);
        assert_eq!(rung(&mut a), [(100, 0), (100, 2)]);
        assert_eq!(rung(&mut a), [(300, 1), (300, 4)]);
        assert_eq!(rung(&mut a), [], "nothing is left to ring");
        assert!(a.set(300, 4), "a rung instant is armed anew");
    }

    #[test]
    fn a_ring_hands_over_only_what_is_due_by_its_instant() {
        let mut a = Alarms::default();
        a.set(50, 1);
        a.set(70, 2);
        assert_eq!(rung(&mut a), [(50, 1)], "70 waits for its own timer");
        assert_eq!(rung(&mut a), [(70, 2)]);
    }
}
