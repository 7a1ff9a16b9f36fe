//! How far the log audit has counted each partition, as the brokers see it,
//! and the leaders elected with a log that ends short of it.
//!
//! The audit counts a prefix once every in-sync or eligible replica holds it
//! durably, so a clean election picks a replica that holds it. A replica
//! that was behind then, and caught up later, can rejoin the ISR while it
//! holds the prefix only in its page cache; should the others die and it
//! lose power too, it is elected with a shorter log and the counted records
//! are gone, as they would be in Kafka. Their events were summarised and
//! cannot be named, so the loss is recorded here by its offsets.

use crate::ids::{BrokerId, PartitionId};

/// The audit's counted offset per partition, and the counted prefixes lost at elections.
#[derive(Debug, Default)]
pub struct CountedPrefix {
    /// Per partition, the offset below which the audit counted the log.
    counted: Vec<u64>,
    /// Elections below the counted offset: one witness line each.
    pub lost: Vec<LostPrefix>,
}

/// A leader elected with its log ending below what the audit had counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LostPrefix {
    /// Partition.
    pub partition: PartitionId,
    /// The new leader.
    pub broker: BrokerId,
    /// Its leader epoch.
    pub epoch: u32,
    /// Its log end.
    pub log_end: u64,
    /// What the audit had counted.
    pub counted: u64,
}

impl CountedPrefix {
    /// The audit counted partition `p` below `offset`.
    pub fn set(&mut self, p: PartitionId, offset: u64) {
        if self.counted.len() <= p {
            self.counted.resize(p + 1, 0);
        }
        self.counted[p] = offset;
    }

    /// `broker` leads `p` at `epoch` with its log ending at `log_end`.
    pub fn elected(&mut self, p: PartitionId, broker: BrokerId, epoch: u32, log_end: u64) {
        let counted = self.counted.get(p).copied().unwrap_or(0);
        if log_end < counted {
            // The new leader writes from its log end; the audit counts from there again.
            self.counted[p] = log_end;
            self.lost.push(LostPrefix {
                partition: p,
                broker,
                epoch,
                log_end,
                counted,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_leader_short_of_the_counted_offset_is_a_loss() {
        let mut c = CountedPrefix::default();
        c.elected(3, 0, 1, 0);
        c.set(3, 100);
        c.elected(3, 1, 2, 100);
        c.elected(3, 2, 3, 250);
        assert!(c.lost.is_empty());
        c.elected(3, 2, 4, 40);
        c.elected(3, 0, 5, 40);
        assert_eq!(
            c.lost,
            vec![LostPrefix {
                partition: 3,
                broker: 2,
                epoch: 4,
                log_end: 40,
                counted: 100
            }],
            "counted again from 40, the next leader at 40 lost nothing"
        );
    }
}
