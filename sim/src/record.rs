//! Events and record batches: what clients generate, the log stores and
//! the processor consumes. A leaf, so every layer above can name an event
//! without depending on the protocol messages that carry it.

use std::sync::Arc;

/// A client-assigned event id: the client and its own sequence number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventId {
    /// Client index.
    pub client: u32,
    /// Client-local sequence, dense from 0.
    pub seq: u64,
}

impl std::fmt::Display for EventId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "c{}#{}", self.client, self.seq)
    }
}

/// An event as it travels and as it is stored in the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record {
    /// Unique id (the same on every retry).
    pub id: EventId,
    /// Partitioning key.
    pub key: u64,
    /// Payload size in bytes.
    pub size: u32,
    /// Event time, ms of virtual time.
    pub event_time_ms: u64,
    /// Schema version the client wrote.
    pub schema_version: u16,
    /// Fails gateway validation (a workload fault).
    pub malformed: bool,
    /// Virtual µs at which the client generated it: the start of its end-to-end latency.
    pub born_us: u64,
}

/// Overhead of a record in a Kafka batch (headers, varints), bytes.
pub const RECORD_OVERHEAD: u64 = 40;
/// Overhead of a request on the wire, bytes.
pub const REQUEST_OVERHEAD: u64 = 120;

/// Bytes a record set occupies on disk and on the wire.
pub fn records_bytes(records: &[Record]) -> u64 {
    records.iter().map(|r| r.size as u64 + RECORD_OVERHEAD).sum()
}

/// Identity of an idempotent producer session, with the batch's first sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProducerStamp {
    /// Producer id.
    pub pid: u64,
    /// Producer epoch.
    pub epoch: u16,
    /// Sequence of the batch's first record in this partition.
    pub base_seq: u64,
    /// Written inside a transaction (`transactional.id`): the records count
    /// only once a commit marker closes them.
    pub transactional: bool,
}

/// A transaction marker (Kafka's control record): it takes one offset of
/// the partition and carries no event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ControlMarker {
    /// The producer's transaction committed: its records here count.
    Commit,
    /// The producer's transaction aborted: its records here are skipped by read_committed consumers.
    Abort,
}

/// A record batch as stored in a partition log.
#[derive(Clone, Debug)]
pub struct Batch {
    /// Offset of the first record.
    pub base_offset: u64,
    /// Leader epoch under which it was appended.
    pub epoch: u32,
    /// Idempotent producer stamp, if any.
    pub producer: Option<ProducerStamp>,
    /// The records.
    pub records: Arc<[Record]>,
    /// Bytes of the batch.
    pub bytes: u64,
    /// A transaction marker: no records, one offset.
    pub control: Option<ControlMarker>,
    /// A record of the transaction-state partition (a coordinator's snapshot of one
    /// `transactional.id`): no events, one offset.
    pub txn_state: Option<Arc<crate::log::transaction_metadata::TxnStateRecord>>,
}

impl Batch {
    /// Offset one past the last record (a marker takes one offset of its own).
    pub fn end_offset(&self) -> u64 {
        self.base_offset + self.records.len() as u64 + u64::from(self.control.is_some() || self.txn_state.is_some())
    }
}
