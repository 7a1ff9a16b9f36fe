//! Protocol messages between simulated nodes. Payloads that several nodes
//! read (record batches) are shared behind `Arc` so that replication and
//! retries do not copy them.

use crate::config::Acks;
use crate::ids::{BrokerId, PartitionId};
pub use crate::record::{records_bytes, Batch, EventId, ProducerStamp, Record, RECORD_OVERHEAD, REQUEST_OVERHEAD};
use std::sync::Arc;

/// What happened to one event a client submitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventResult {
    /// Written to the log under the configured acks.
    Acked,
    /// Failed validation; written to the dead-letter topic.
    DeadLettered,
    /// The gateway gave up (delivery timeout, gateway lost leadership info): retry.
    Failed,
    /// Refused by the gateways' rate limit before it was queued (HTTP 429): never
    /// written, retry after the limit's Retry-After.
    RateLimited,
    /// Refused because an earlier batch of the client's partition has not reached the
    /// gateway yet (idempotence on): never taken, re-sent in sequence order.
    OutOfOrderSequence,
}

/// The outcome of one batch of a client request, sent once the log settled all of it.
#[derive(Clone, Debug)]
pub struct PartReply {
    /// Client request id.
    pub req: u64,
    /// Index of the batch in the request.
    pub part: u32,
    /// Results as runs over the batch's records, `(first index, count, result)`:
    /// a batch is nearly always settled whole, so it is one run, not one entry per event.
    pub runs: Vec<(u32, u32, EventResult)>,
}

/// Errors a partition leader returns for a produced batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProduceError {
    /// This broker does not lead the partition (or its epoch is stale).
    NotLeader,
    /// ISR below `min.insync.replicas` at append time.
    NotEnoughReplicas,
    /// ISR shrank below `min.insync.replicas` while waiting for replication.
    NotEnoughReplicasAfterAppend,
    /// Replication did not complete within `request.timeout.ms`.
    Timeout,
    /// Sequence gap for an idempotent producer.
    OutOfOrderSequence,
    /// A transactional producer's epoch is older than the partition's (`PRODUCER_FENCED`).
    ProducerFenced,
    /// The partition is not in the producer's ongoing transaction at its coordinator
    /// (KIP-890 verification; Kafka's `INVALID_TXN_STATE`): the batch is late or stray.
    InvalidTxnState,
}

/// One partition's record batch in a produce request.
#[derive(Clone, Debug)]
pub struct ProduceBatch {
    /// Target partition.
    pub partition: PartitionId,
    /// Idempotence stamp.
    pub producer: Option<ProducerStamp>,
    /// Records.
    pub records: Arc<[Record]>,
}

/// A follower's position in one partition, sent with each fetch.
#[derive(Clone, Copy, Debug)]
pub struct FetchPart {
    /// Partition.
    pub partition: PartitionId,
    /// Next offset the follower wants (its log end offset).
    pub fetch_offset: u64,
    /// The leader epoch the follower believes current.
    pub current_epoch: u32,
    /// Epoch of the follower's last record (for divergence detection).
    pub last_fetched_epoch: u32,
}

/// The leader's answer for one partition of a fetch.
#[derive(Clone, Debug)]
pub enum FetchResult {
    /// Records from the fetch offset, and the leader's high watermark.
    Records {
        /// Batches from the fetch offset on.
        batches: Vec<Arc<Batch>>,
        /// Leader high watermark.
        hw: u64,
    },
    /// The fetch offset lies in the leader's summarised prefix: the span from it on, in
    /// place of records, and the leader's high watermark.
    Summary {
        /// Offsets, bytes and epochs from the fetch offset on.
        span: Box<crate::log::summary_span::SummarySpan>,
        /// Leader high watermark.
        hw: u64,
    },
    /// The follower's log diverges: truncate to `end_offset` of `epoch` and fetch again.
    Diverging {
        /// Largest epoch both logs share.
        epoch: u32,
        /// Leader's end offset of that epoch.
        end_offset: u64,
    },
    /// The fetch carried an older epoch than the leader's.
    FencedEpoch,
    /// The receiver does not lead this partition (any more).
    NotLeader,
}

/// Partition state as the controller decides it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionState {
    /// Partition.
    pub partition: PartitionId,
    /// Leader, or `None` while offline.
    pub leader: Option<BrokerId>,
    /// Leader epoch, bumped at each leader change.
    pub leader_epoch: u32,
    /// Partition epoch, bumped at every change (ISR too).
    pub partition_epoch: u32,
    /// In-sync replicas.
    pub isr: Vec<BrokerId>,
    /// Eligible leader replicas (KIP-966): out of the ISR but holding every
    /// record up to the high watermark, so electable when the ISR is empty.
    /// Always empty unless `log.eligible_leader_replicas` is on.
    pub elr: Vec<BrokerId>,
    /// Assigned replicas, preferred leader first.
    pub replicas: Vec<BrokerId>,
    /// Replicas a reassignment is adding: they copy the partition from the
    /// leader under the replication throttle until they join the ISR.
    pub adding: Vec<BrokerId>,
    /// Replicas a reassignment removes once every added one is in the ISR.
    pub removing: Vec<BrokerId>,
}

impl PartitionState {
    /// A new partition: its preferred replica leads epoch 1 with every
    /// replica in sync.
    pub fn initial(partition: PartitionId, replicas: Vec<BrokerId>) -> Self {
        PartitionState {
            partition,
            leader: Some(replicas[0]),
            leader_epoch: 1,
            partition_epoch: 1,
            isr: replicas.clone(),
            elr: Vec::new(),
            replicas,
            adding: Vec::new(),
            removing: Vec::new(),
        }
    }
}

/// Every message on the fabric.
#[derive(Clone, Debug)]
pub enum Msg {
    /// Client to gateway: produce these batches, one per partition.
    Submit {
        /// Client request id.
        req: u64,
        /// Batches, each of one partition's events; answered one by one.
        parts: Vec<Vec<Record>>,
        /// Each batch's place in its partition's sequence, aligned with `parts`; empty with
        /// idempotence off. Part of the batch header Kafka always sends, so it costs no bytes.
        seqs: Vec<crate::gateway::client_order::BatchSeq>,
    },
    /// Gateway to client: outcomes of the batches settled since the last reply.
    SubmitReply {
        /// Settled batches, of one or more requests.
        parts: Vec<PartReply>,
    },
    /// Gateway to client: queue full, try again later; none of the events was taken.
    Backpressure {
        /// Client request id.
        req: u64,
        /// Suggested wait.
        retry_after_ms: u64,
    },
    /// Gateway to broker.
    Produce {
        /// Gateway request id.
        req: u64,
        /// Acks requested.
        acks: Acks,
        /// Batches, one per partition.
        batches: Vec<ProduceBatch>,
    },
    /// Broker to gateway.
    ProduceReply {
        /// Gateway request id.
        req: u64,
        /// Per-partition result: base offset or error.
        results: Vec<(PartitionId, Result<u64, ProduceError>)>,
    },
    /// Follower to leader.
    Fetch {
        /// Follower.
        follower: BrokerId,
        /// Session id: replies to older sessions are ignored.
        session: u64,
        /// Positions.
        parts: Vec<FetchPart>,
    },
    /// Leader to follower.
    FetchReply {
        /// Leader.
        leader: BrokerId,
        /// Echo of the session id.
        session: u64,
        /// Per-partition results.
        parts: Vec<(PartitionId, FetchResult)>,
    },
    /// Broker to controller, periodically.
    Heartbeat {
        /// Broker.
        broker: BrokerId,
        /// Changes at every restart, so the controller sees a restart it missed.
        incarnation: u64,
        /// The run before this incarnation ended without a clean shutdown (a power
        /// loss): KIP-966's broker registration carries this, and the controller
        /// reads it when the incarnation is new.
        unclean_shutdown: bool,
    },
    /// Leader to controller: change the ISR.
    AlterPartition {
        /// Leader.
        broker: BrokerId,
        /// Partition.
        partition: PartitionId,
        /// Leader epoch the leader holds.
        leader_epoch: u32,
        /// Partition epoch the leader holds.
        partition_epoch: u32,
        /// Proposed ISR.
        isr: Vec<BrokerId>,
    },
    /// Controller to broker: the state of these partitions.
    LeaderAndIsr {
        /// States.
        states: Vec<PartitionState>,
    },
    /// Read path: processor, group coordinator, consumer fetches and the sink.
    Read(crate::wire::ReadMsg),
    /// Serving layer: reader, cache, database reads and the processor's cache writes.
    Serving(crate::serving::wire::ServingMsg),
    /// Transactions: producers, their coordinator and the markers it writes.
    Txn(crate::txn_wire::TxnMsg),
}

impl Msg {
    /// Approximate wire size, for NIC and CPU accounting.
    pub fn bytes(&self) -> u64 {
        REQUEST_OVERHEAD
            + match self {
                Msg::Submit { parts, .. } => parts.iter().map(|p| 8 + records_bytes(p)).sum(),
                Msg::SubmitReply { parts } => parts.iter().map(|p| 12 + 9 * p.runs.len() as u64).sum(),
                Msg::Produce { batches, .. } => batches.iter().map(|b| 60 + records_bytes(&b.records)).sum(),
                Msg::ProduceReply { results, .. } => 16 * results.len() as u64,
                Msg::Fetch { parts, .. } => 24 * parts.len() as u64,
                Msg::FetchReply { parts, .. } => parts
                    .iter()
                    .map(|(_, r)| match r {
                        FetchResult::Records { batches, .. } => 30 + batches.iter().map(|b| 60 + b.bytes).sum::<u64>(),
                        FetchResult::Summary { span, .. } => 30 + 60 * span.segments + span.bytes,
                        _ => 30,
                    })
                    .sum(),
                Msg::LeaderAndIsr { states } => 40 * states.len() as u64,
                Msg::Read(r) => r.bytes(),
                Msg::Serving(m) => m.bytes(),
                Msg::Txn(m) => m.bytes(),
                _ => 0,
            }
    }

    /// A small stable code per message kind, for the trace hash.
    pub fn kind_code(&self) -> u64 {
        match self {
            Msg::Submit { .. } => 1,
            Msg::SubmitReply { .. } => 2,
            Msg::Backpressure { .. } => 3,
            Msg::Produce { .. } => 4,
            Msg::ProduceReply { .. } => 5,
            Msg::Fetch { .. } => 6,
            Msg::FetchReply { .. } => 7,
            Msg::Heartbeat { .. } => 8,
            Msg::AlterPartition { .. } => 9,
            Msg::LeaderAndIsr { .. } => 10,
            Msg::Read(r) => 20 + r.kind_code(),
            Msg::Serving(m) => 40 + m.kind_code(),
            Msg::Txn(m) => 60 + m.kind_code(),
        }
    }
}
