//! The client's side of keeping a partition's batches in order with several
//! in flight (idempotence on; the gateway's side is `gateway/client_order.rs`).
//! Each new batch takes the partition's next number and keeps it through its
//! retries; retries go in number order; a partition's batches behind an
//! unsettled one follow it to its gateway, and a retry goes once nothing
//! numbered before it is in flight to another gateway (behind batches in
//! flight to the same one it is pipelined, as Kafka re-sends). A batch the gateway refuses as out of sequence comes
//! back as a failure and waits among the retries for the gap before it to
//! fill. With idempotence off none of this applies: retries wait in the
//! order they failed, and a key's events can be reordered.

use super::{Client, Retry};
use crate::gateway::client_order::BatchSeq;
use crate::ids::PartitionId;

impl Client {
    /// The place in its partition's sequence of batch `seq`, about to be sent: with the
    /// lowest number the partition still has unsettled (in flight or waiting to retry).
    pub(super) fn number(&self, p: PartitionId, seq: u64) -> BatchSeq {
        let q = &self.queues[p];
        let first_unsettled = [
            q.in_flight_seqs.keys().next().copied(),
            q.retries.front().map(|r| r.seq),
        ]
        .into_iter()
        .flatten()
        .fold(seq, u64::min);
        BatchSeq {
            partition: p,
            epoch: self.epoch,
            seq,
            first_unsettled,
        }
    }

    /// Batch `seq` of partition `p` went out to `gateway`: it holds a slot until it lands.
    pub(super) fn sent_seq(&mut self, p: PartitionId, seq: u64, gateway: usize) {
        self.queues[p].in_flight_seqs.insert(seq, gateway);
    }

    /// Batch `seq` of partition `p` is no longer in flight (answered, timed out or refused).
    pub(super) fn landed(&mut self, p: PartitionId, seq: u64) {
        let q = &mut self.queues[p];
        q.in_flight -= 1;
        q.in_flight_seqs.remove(&seq);
    }

    /// Queue `retry` for partition `p`: in number order with idempotence on, otherwise at the
    /// front (a refused request, sent again first) or the back (a failure, in failing order).
    pub(super) fn requeue(&mut self, p: PartitionId, retry: Retry, front: bool) {
        let q = &mut self.queues[p].retries;
        if self.sequenced {
            let at = q.partition_point(|r| r.seq < retry.seq);
            q.insert(at, retry);
        } else if front {
            q.push_front(retry);
        } else {
            q.push_back(retry);
        }
    }
}
