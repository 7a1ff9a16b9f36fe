//! A stretch of a leader's summarised prefix, as a fetch answer carries it
//! to a follower that fell behind the log audit's fold: a broker that was
//! down, or out of the ISR, while the in-sync replicas went on. Its records
//! were counted from the in-sync replicas and are gone from memory; the
//! follower takes their offsets and bytes, which its disk and the network
//! carry as they would the records.

use super::idempotence::ProducerTable;
use super::last_stable_offset::TxnIndex;

/// Offsets a leader keeps only as a summary, sent instead of their records.
#[derive(Debug, Clone)]
pub struct SummarySpan {
    /// First offset.
    pub base: u64,
    /// One past the last offset.
    pub end: u64,
    /// Bytes: the covered segments' bytes, pro rata for a segment covered in part.
    pub bytes: u64,
    /// Generation time of the newest record of the segments it covers, ms.
    pub max_time_ms: u64,
    /// Segments it covers, whole or in part: a follower checks each as one batch.
    pub segments: u64,
    /// Leader epochs that start inside it, (epoch, start offset).
    pub epochs: Vec<(u32, u64)>,
    /// The producer state and transaction index at the summary's end, when the
    /// span reaches it: a follower that catches up may lead later.
    pub tail: Option<Box<(ProducerTable, TxnIndex)>>,
}
