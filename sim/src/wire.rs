//! Messages of the read path: group membership, consumer fetches from
//! partition leaders, and the sink's load and transaction requests. Large
//! payloads (record batches, row sets, state snapshots) travel behind `Arc`.

use crate::ids::PartitionId;
use crate::operator::Snapshot;
use crate::record::{Batch, EventId, RECORD_OVERHEAD};
use crate::stream::Window;
use std::sync::Arc;

/// A row the processor writes to the sink.
#[derive(Clone, Debug, PartialEq)]
pub enum Row {
    /// An insert into the `events` table: one per processed event.
    Event {
        /// The event.
        id: EventId,
        /// When the client generated it, µs (for end-to-end latency).
        born_us: u64,
    },
    /// An insert into the `late_events` side-output table.
    Late {
        /// The event.
        id: EventId,
        /// When the client generated it, µs.
        born_us: u64,
    },
    /// An upsert into the `window_counts` table.
    Upsert {
        /// Key.
        key: u64,
        /// Window.
        window: Window,
        /// Events in the window.
        count: u64,
        /// Sum of the window's values (payload bytes for the built-in chain).
        bytes: u64,
    },
    /// A delete from the `window_counts` table (a session merged away).
    Delete {
        /// Key.
        key: u64,
        /// Window.
        window: Window,
    },
}

/// A task's durable progress: the next offset to consume and the operator state at that offset.
#[derive(Clone)]
pub struct Checkpoint {
    /// Offset the checkpoint was taken from (the owner's last committed offset), for compare-and-set.
    pub from_offset: u64,
    /// Next offset to consume.
    pub offset: u64,
    /// Operator state, timers and watermark after consuming everything below `offset`.
    pub state: Snapshot,
    /// The task consumed its whole partition after the input closed and fired every window.
    pub finished: bool,
}

impl std::fmt::Debug for Checkpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Checkpoint {{ {}..{}, finished: {} }}",
            self.from_offset, self.offset, self.finished
        )
    }
}

/// A sink's refusal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SinkError {
    /// A newer owner of the partition claimed it: the sender is a zombie.
    Fenced,
    /// The committed offset moved since the sender loaded it (another owner committed).
    Conflict,
}

/// What a partition leader answers a consumer.
#[derive(Clone, Debug)]
pub enum ConsumerFetchResult {
    /// Committed batches from the fetch offset (possibly starting earlier within the first batch).
    Records {
        /// Batches.
        batches: Vec<std::sync::Arc<Batch>>,
        /// High watermark: only records below it are committed.
        hw: u64,
    },
    /// This broker does not lead the partition.
    NotLeader,
    /// The fetch offset is beyond the log end (the log was truncated under the consumer).
    OutOfRange {
        /// The leader's high watermark.
        hw: u64,
    },
}

/// Which consumer group a member belongs to (both coordinators run on the controller node).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupId {
    /// The stream processors.
    Processors,
    /// The lake writers of the cold path.
    Lake,
    /// A `[[subscription]]`'s consumers, by the subscription's index.
    Subscription(usize),
}

/// The read path's messages.
#[derive(Clone, Debug)]
pub enum ReadMsg {
    /// Processor to group coordinator, every heartbeat interval.
    GroupHeartbeat {
        /// The member's group.
        group: GroupId,
        /// Member (processor or lake writer instance).
        member: usize,
        /// Changes at every restart.
        incarnation: u64,
        /// The newest generation the member has heard of.
        seen_generation: u64,
        /// The member holds no partition and waits for the next generation (a rejoin).
        revoked: bool,
    },
    /// Coordinator to processor: the current generation and the member's partitions,
    /// or that a rebalance replacing that generation is under way.
    GroupState {
        /// Group generation (the one being replaced while `rebalancing`).
        generation: u64,
        /// Partitions assigned to the member (none while `rebalancing`).
        partitions: Vec<PartitionId>,
        /// A rebalance is under way: revoke everything and rejoin.
        rebalancing: bool,
    },
    /// Processor to partition leader.
    ConsumerFetch {
        /// Request id.
        req: u64,
        /// (partition, fetch offset).
        parts: Vec<(PartitionId, u64)>,
        /// Bytes per partition at most.
        max_bytes: u64,
        /// How long the leader may hold a fetch that has nothing to return,
        /// ms (`fetch.max.wait.ms`); 0 answers at once.
        max_wait_ms: u64,
    },
    /// Leader to processor.
    ConsumerFetchReply {
        /// Request id.
        req: u64,
        /// Per partition.
        parts: Vec<(PartitionId, ConsumerFetchResult)>,
    },
    /// Leader to a read_committed consumer: records up to the last stable offset
    /// (reported in place of the high watermark) and the aborted transactions among
    /// them, which the consumer drops (Kafka's `aborted_transactions` in a fetch response).
    ReadCommittedFetchReply {
        /// Request id.
        req: u64,
        /// Per partition.
        parts: Vec<(PartitionId, ConsumerFetchResult)>,
        /// Per partition with any, the aborted transactions the records meet.
        aborted: Vec<(PartitionId, Vec<crate::log::last_stable_offset::AbortedTxn>)>,
    },
    /// Processor to sink: claim a partition for a generation and read its checkpoint.
    SinkLoad {
        /// Request id.
        req: u64,
        /// Partition.
        partition: PartitionId,
        /// Claiming generation (fences older owners).
        generation: u64,
    },
    /// Sink to processor.
    SinkLoaded {
        /// Request id.
        req: u64,
        /// Partition.
        partition: PartitionId,
        /// The checkpoint (offset 0 and no state for a fresh partition), or why not.
        result: Result<Option<Arc<Checkpoint>>, SinkError>,
    },
    /// Processor to sink: one transaction.
    SinkTxn {
        /// Request id.
        req: u64,
        /// Partition.
        partition: PartitionId,
        /// Sender's generation; checked against the partition's claim when `fenced`.
        generation: u64,
        /// Whether the claim is checked (exactly-once writes and every offset commit).
        fenced: bool,
        /// Rows.
        rows: Arc<Vec<Row>>,
        /// Offsets and state to commit with the rows.
        checkpoint: Option<Arc<Checkpoint>>,
    },
    /// Sink to processor.
    SinkTxnReply {
        /// Request id.
        req: u64,
        /// Partition.
        partition: PartitionId,
        /// Committed, or why not.
        result: Result<(), SinkError>,
    },
}

impl ReadMsg {
    /// Approximate wire size, bytes, beyond the request overhead.
    pub fn bytes(&self) -> u64 {
        match self {
            ReadMsg::ConsumerFetch { parts, .. } => 16 * parts.len() as u64,
            ReadMsg::ConsumerFetchReply { parts, .. } | ReadMsg::ReadCommittedFetchReply { parts, .. } => parts
                .iter()
                .map(|(_, r)| match r {
                    ConsumerFetchResult::Records { batches, .. } => {
                        30 + batches.iter().map(|b| 60 + b.bytes).sum::<u64>()
                    }
                    _ => 30,
                })
                .sum(),
            ReadMsg::SinkTxn { rows, checkpoint, .. } => {
                rows.len() as u64 * RECORD_OVERHEAD
                    + checkpoint
                        .as_ref()
                        .map_or(0, |c| 64 + 16 * c.state.state_entries() as u64)
            }
            ReadMsg::SinkLoaded {
                result: Ok(Some(c)), ..
            } => 64 + 16 * c.state.state_entries() as u64,
            ReadMsg::GroupState { partitions, .. } => 8 * partitions.len() as u64,
            _ => 16,
        }
    }

    /// A small stable code per kind, for the trace hash.
    pub fn kind_code(&self) -> u64 {
        match self {
            ReadMsg::GroupHeartbeat { .. } => 1,
            ReadMsg::GroupState { .. } => 2,
            ReadMsg::ConsumerFetch { .. } => 3,
            ReadMsg::ConsumerFetchReply { .. } => 4,
            ReadMsg::SinkLoad { .. } => 5,
            ReadMsg::SinkLoaded { .. } => 6,
            ReadMsg::SinkTxn { .. } => 7,
            ReadMsg::SinkTxnReply { .. } => 8,
            ReadMsg::ReadCommittedFetchReply { .. } => 9,
        }
    }
}
