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
use std::collections::btree_map::Entry;
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
        // One walk of the map finds the slot, reads it and writes it.
        let slot = self.next.entry((client, b.partition));
        let expected = match &slot {
            Entry::Occupied(o) => Some(*o.get()),
            Entry::Vacant(_) => None,
        };
        let in_sequence = b.seq == b.first_unsettled || expected == Some((b.epoch, b.seq));
        if in_sequence {
            // A late or duplicated copy of a batch already taken must not move the expected
            // number back: every batch in flight behind it would be refused and re-sent one
            // round trip at a time.
            let next = match expected {
                Some((epoch, n)) if epoch == b.epoch => n.max(b.seq + 1),
                _ => b.seq + 1,
            };
            match slot {
                Entry::Occupied(mut o) => {
                    o.insert((b.epoch, next));
                }
                Entry::Vacant(v) => {
                    v.insert((b.epoch, next));
                }
            }
        }
        in_sequence
    }

    /// The batch `b`, taken by [`admit`](Self::admit), was refused in part or whole at once
    /// (the rate limit, or another gateway producing one of its events): expect it again,
    /// so that a later batch does not overtake its re-sent events. Its re-send is the
    /// client's lowest unsettled batch, which is always taken.
    pub fn expect_again(&mut self, client: Addr, b: &BatchSeq) {
        self.next.insert((client, b.partition), (b.epoch, b.seq));
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

    #[test]
    fn a_late_copy_does_not_move_back_and_a_refused_batch_is_expected_again() {
        let mut o = ClientOrder::default();
        let c = Addr(7);
        assert!(o.admit(c, &batch(0, 0)));
        assert!(o.admit(c, &batch(1, 0)));
        assert!(o.admit(c, &batch(2, 0)));
        // A duplicated copy of batch 0 (still the lowest unsettled) is taken again...
        assert!(o.admit(c, &batch(0, 0)));
        // ...but batch 3 still follows batch 2.
        assert!(o.admit(c, &batch(3, 0)));
        // Batch 4 is taken, then partly refused by the rate limit: batch 5 must wait for it.
        assert!(o.admit(c, &batch(4, 4)));
        o.expect_again(c, &batch(4, 4));
        assert!(!o.admit(c, &batch(5, 4)));
        assert!(o.admit(c, &batch(4, 4)));
        assert!(o.admit(c, &batch(5, 4)));
    }
}
