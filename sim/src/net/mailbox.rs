//! A node's mailbox: messages ordered by the microsecond they are due, then
//! by send order, so delivery is deterministic.

use crate::ids::Addr;
use crate::msg::Msg;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::task::Waker;

/// A message with its sender.
#[derive(Clone, Debug)]
pub struct Envelope {
    /// Sender.
    pub src: Addr,
    /// Payload.
    pub msg: Msg,
}

/// Messages waiting for their instant, earliest first, then in send order.
/// The heap orders small keys and the messages wait in slots beside it: a
/// message is large, and a heap moves its elements at every level of every
/// push and pop.
#[derive(Default)]
pub(super) struct Mailbox {
    /// (due µs, send sequence, slot), earliest first.
    order: BinaryHeap<Reverse<(u64, u64, u32)>>,
    slots: Vec<Option<Envelope>>,
    /// Slots free for reuse.
    free: Vec<u32>,
}

impl Mailbox {
    /// Queue `env`, due at `due_us`; `seq` orders it among messages due at the same µs.
    pub fn push(&mut self, due_us: u64, seq: u64, env: Envelope) {
        let slot = match self.free.pop() {
            Some(s) => {
                self.slots[s as usize] = Some(env);
                s
            }
            None => {
                self.slots.push(Some(env));
                (self.slots.len() - 1) as u32
            }
        };
        self.order.push(Reverse((due_us, seq, slot)));
    }

    /// When the earliest message is due, if any.
    pub fn head_due(&self) -> Option<u64> {
        self.order.peek().map(|Reverse((due, _, _))| *due)
    }

    /// The earliest message, if it is due by `now_us`.
    pub fn pop_due(&mut self, now_us: u64) -> Option<Envelope> {
        let &Reverse((due, _, slot)) = self.order.peek()?;
        if due > now_us {
            return None;
        }
        self.order.pop();
        self.free.push(slot);
        self.slots[slot as usize].take()
    }

    /// Drop every message.
    pub fn clear(&mut self) {
        self.order.clear();
        self.slots.clear();
        self.free.clear();
    }
}

/// Per-node network state.
#[derive(Default)]
pub(super) struct NodeNet {
    pub up: bool,
    pub queue: Mailbox,
    /// The receive waiting, if any.
    pub waker: Option<Waker>,
    /// The earliest alarm pending that wakes this node (`u64::MAX`: none); a
    /// message due earlier needs an alarm of its own, a later one does not.
    pub timer_us: u64,
    /// When the NIC's egress queue drains, µs.
    pub nic_free_us: u64,
    /// NIC busy time accumulated, µs (for utilisation).
    pub nic_busy_us: u64,
    /// This node's own NIC speed, bytes per µs (unset: the fabric's).
    pub nic_bytes_per_us: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::{Envelope, Mailbox};
    use crate::ids::Addr;
    use crate::msg::Msg;

    fn env(src: u32) -> Envelope {
        Envelope {
            src: Addr(src),
            msg: Msg::Heartbeat {
                broker: 0,
                incarnation: 0,
                unclean_shutdown: false,
            },
        }
    }

    /// Messages leave by due time, then send order, whatever order they
    /// came in, and freed slots take new messages without reordering them.
    #[test]
    fn delivers_by_due_time_then_send_order_across_reused_slots() {
        let mut m = Mailbox::default();
        m.push(30, 1, env(1));
        m.push(10, 2, env(2));
        m.push(30, 3, env(3));
        m.push(20, 4, env(4));
        assert_eq!(m.head_due(), Some(10));
        assert!(m.pop_due(9).is_none(), "nothing is due before 10");
        let srcs = |m: &mut Mailbox, now| {
            std::iter::from_fn(|| m.pop_due(now))
                .map(|e| e.src.0)
                .collect::<Vec<_>>()
        };
        assert_eq!(srcs(&mut m, 20), [2, 4]);
        // Two slots are free now; these take them and still leave in order.
        m.push(25, 5, env(5));
        m.push(30, 0, env(6));
        assert_eq!(srcs(&mut m, 100), [5, 6, 1, 3]);
        assert_eq!(m.head_due(), None);
        assert_eq!(m.slots.len(), 4, "reused slots, no new ones");
    }
}
