//! The order of a client's batches on the client-to-gateway hop, kept as
//! Kafka's broker keeps an idempotent producer's: with `[producer]
//! idempotence` on, a client numbers its batches per partition and the
//! gateway takes a client's batch for a partition only in sequence. A batch
//! whose predecessor has not arrived (lost, delayed, refused) is answered
//! `OutOfOrderSequence`, as Kafka answers OUT_OF_ORDER_SEQUENCE_NUMBER, and
//! the client re-sends from the gap, in order. The gateway queues what it
//! takes in arrival order and its own idempotent producer writes a
//! partition in queue order, so a key's events reach the log in the order
//! the client numbered them.
//!
//! Each batch carries, besides its own number, the lowest number its client
//! still had unsettled for the partition when it sent it (Kafka's first
//! in-flight sequence). A batch that is that lowest one has nothing before
//! it to overtake, so it is taken whatever the gateway remembers: this is
//! how a restarted gateway, a restarted client, a switch of gateway, or a
//! batch given up on at its delivery timeout (a gap that will never be
//! filled) start a new run of numbers without a handshake.

use crate::ids::{Addr, PartitionId};
use std::collections::BTreeMap;

/// A client batch's place in its partition's sequence (absent with idempotence off).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchSeq {
    /// The client partition the batch is for.
    pub partition: PartitionId,
    /// The client's incarnation: a restarted client numbers from 0 again.
    pub epoch: u64,
    /// The batch's number in its partition, from 0.
    pub seq: u64,
    /// The lowest number the client had unsettled for the partition when it sent this batch.
    pub first_unsettled: u64,
}

/// What a gateway remembers of each client's partitions: the number it takes next.
#[derive(Default)]
pub struct ClientOrder {
    next: BTreeMap<(Addr, PartitionId), (u64, u64)>,
}

impl ClientOrder {
    /// Whether `b` from `client` is in sequence; if so it is taken and the
    /// expected number moves past it.
    pub fn admit(&mut self, client: Addr, b: &BatchSeq) -> bool {
        let key = (client, b.partition);
        let in_sequence = b.seq == b.first_unsettled || self.next.get(&key) == Some(&(b.epoch, b.seq));
        if in_sequence {
            self.next.insert(key, (b.epoch, b.seq + 1));
        }
        in_sequence
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(seq: u64, first_unsettled: u64) -> BatchSeq {
        BatchSeq {
            partition: 3,
            epoch: 1,
            seq,
            first_unsettled,
        }
    }

    #[test]
    fn takes_batches_in_sequence_and_refuses_a_gap() {
        let mut o = ClientOrder::default();
        let c = Addr(7);
        assert!(o.admit(c, &batch(0, 0)));
        assert!(o.admit(c, &batch(1, 0)));
        // Batch 2 was lost: 3 must not overtake it.
        assert!(!o.admit(c, &batch(3, 2)));
        assert!(o.admit(c, &batch(2, 2)));
        assert!(o.admit(c, &batch(3, 2)));
    }

    #[test]
    fn the_lowest_unsettled_batch_starts_a_new_run() {
        let mut o = ClientOrder::default();
        let c = Addr(7);
        // A gateway that never saw the client (restarted, or newly chosen) refuses a pipelined batch...
        assert!(!o.admit(c, &batch(5, 4)));
        // ...and takes the one with nothing before it, then the next.
        assert!(o.admit(c, &batch(4, 4)));
        assert!(o.admit(c, &batch(5, 4)));
        // A restarted client numbers from 0 under a new epoch: an old epoch's number is no match.
        let restarted = BatchSeq {
            epoch: 2,
            ..batch(6, 0)
        };
        assert!(!o.admit(c, &restarted));
        let other_partition = BatchSeq {
            partition: 4,
            ..batch(6, 5)
        };
        assert!(!o.admit(c, &other_partition));
    }
}
