//! Where each processor instance would fetch next, for the partitions it holds
//! in its own view of the group. The log audit may not summarise past any of
//! them: an instance paused long enough for the group to move its partitions
//! elsewhere still fetches from its old position when it wakes, before it
//! learns of the rebalance (its work is then fenced, but its fetch is real).
//! The group's committed offsets alone do not bound that, since the new owner
//! commits past it. A crash ends the instance's view, so its entries go.

use crate::ids::PartitionId;

/// Per instance, per events partition: the next offset it would fetch, or
/// `u64::MAX` where it holds no task.
#[derive(Debug, Default)]
pub struct ProcessorPositions {
    by_instance: Vec<Vec<u64>>,
}

impl ProcessorPositions {
    /// No instance holds anything yet.
    pub fn new(instances: usize, partitions: usize) -> Self {
        ProcessorPositions {
            by_instance: vec![vec![u64::MAX; partitions]; instances],
        }
    }

    /// Instance `i` now holds exactly `held` (partition, position) pairs.
    pub fn publish(&mut self, i: usize, held: impl IntoIterator<Item = (PartitionId, u64)>) {
        let Some(row) = self.by_instance.get_mut(i) else { return };
        row.fill(u64::MAX);
        for (p, pos) in held {
            if let Some(slot) = row.get_mut(p) {
                *slot = pos;
            }
        }
    }

    /// Instance `i` lost its process (a crash): it holds nothing.
    pub fn clear(&mut self, i: usize) {
        self.publish(i, []);
    }

    /// The lowest position any instance holds for partition `p` (`u64::MAX` if none).
    pub fn floor(&self, p: PartitionId) -> u64 {
        self.by_instance
            .iter()
            .filter_map(|row| row.get(p))
            .copied()
            .min()
            .unwrap_or(u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::ProcessorPositions;

    #[test]
    fn the_floor_is_the_lowest_position_of_any_instance_until_it_lets_go_or_crashes() {
        let mut t = ProcessorPositions::new(2, 3);
        assert_eq!(t.floor(1), u64::MAX);
        t.publish(0, [(0, 50), (1, 70)]);
        // A zombie (instance 1, paused) still holds partition 1 at an older position.
        t.publish(1, [(1, 20)]);
        assert_eq!((t.floor(0), t.floor(1), t.floor(2)), (50, 20, u64::MAX));
        // Back from its pause it learns of the rebalance and lets the partition go.
        t.publish(1, []);
        assert_eq!(t.floor(1), 70);
        t.clear(0);
        assert_eq!(t.floor(0), u64::MAX);
    }
}
