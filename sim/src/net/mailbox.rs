//! A node's mailbox: messages ordered by the microsecond they are due, then
//! by send order, so delivery is deterministic.

use crate::ids::Addr;
use crate::msg::Msg;
use std::cmp::Ordering;
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

pub(super) struct Item {
    pub due_us: u64,
    pub seq: u64,
    pub env: Envelope,
}

impl PartialEq for Item {
    fn eq(&self, o: &Self) -> bool {
        (self.due_us, self.seq) == (o.due_us, o.seq)
    }
}
impl Eq for Item {}
impl PartialOrd for Item {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Item {
    // Reversed: BinaryHeap is a max-heap and we want the earliest first.
    fn cmp(&self, o: &Self) -> Ordering {
        (o.due_us, o.seq).cmp(&(self.due_us, self.seq))
    }
}

/// Per-node network state.
#[derive(Default)]
pub(super) struct NodeNet {
    pub up: bool,
    pub queue: BinaryHeap<Item>,
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

impl NodeNet {
    pub fn head_due(&self) -> Option<u64> {
        self.queue.peek().map(|i| i.due_us)
    }
}
