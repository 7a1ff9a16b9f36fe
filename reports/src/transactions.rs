//! What a run's transactions came to: the coordinator's counts, what the
//! processors read of transactional records, and the last stable offset
//! next to the high watermark of one partition over time.

use serde::{Deserialize, Serialize};

/// One sample of a partition's offsets.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LsoPoint {
    /// Virtual ms.
    pub at_ms: u64,
    /// High watermark.
    pub hw: u64,
    /// Last stable offset: the first offset of the oldest open transaction, else the high watermark.
    pub lso: u64,
}

/// Transactions, present when the scenario's gateways are transactional.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct TransactionsResult {
    /// Transactions begun.
    pub begun: u64,
    /// Transactions whose commit was decided.
    pub committed: u64,
    /// Transactions aborted at a producer's request or when a new epoch took the id over.
    pub aborted: u64,
    /// Transactions the coordinator aborted on their timeout.
    pub timed_out: u64,
    /// Requests the coordinator refused as coming from a fenced (older) epoch.
    pub fenced: u64,
    /// Decided transactions a coordinator on another broker finished (a failover mid-commit).
    pub resumed_after_failover: u64,
    /// Markers written and acknowledged.
    pub markers: u64,
    /// Transactional records the processors read.
    pub records_read: u64,
    /// Of those, records of aborted transactions (`aborted_read`).
    pub aborted_reads: u64,
    /// Of those, records read before their commit marker (`intermediate_read`).
    pub intermediate_reads: u64,
    /// The partition whose offsets `lso_series` samples.
    pub lso_partition: usize,
    /// Its high watermark and last stable offset, once a bucket.
    pub lso_series: Vec<LsoPoint>,
    /// Transactional batches a leader refused because their partition was not in the
    /// producer's ongoing transaction (KIP-890 verification): late or stray batches.
    #[serde(default)]
    pub unverified_batches: u64,
    /// Partitions whose last stable offset one transaction held for longer than
    /// `transaction.max.timeout.ms` (`hanging_transaction`).
    #[serde(default)]
    pub hanging_partitions: Vec<usize>,
    /// The largest sizes the run's transaction bookkeeping reached.
    #[serde(default)]
    pub bookkeeping_peak: TxnBookkeeping,
    /// Coordinator state changes written to the transaction-state partition.
    #[serde(default)]
    pub state_records_written: u64,
    /// The most records a replica of the transaction-state partition held at the end
    /// (it is compacted to the newest record per `transactional.id`).
    #[serde(default)]
    pub state_records_held: u64,
}

/// Sizes of the transaction bookkeeping that could grow with a run: each is
/// bounded by what is in flight when the checks judge and prune as they go.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TxnBookkeeping {
    /// Transactional reads noted and not judged yet.
    pub reads_pending: u64,
    /// Marker write times kept for the reads still to judge.
    pub marker_times: u64,
    /// Committed, aborted and closed transaction entries over every replica's indexes
    /// (the summarised prefix's copy included).
    pub index_entries: u64,
    /// Rows of the output topic's table (`exactly_once_txn`) the sink may still read.
    pub output_rows: u64,
    /// Records the logs hold in memory (not summarised yet), over every replica of every partition.
    #[serde(default)]
    pub log_records_held: u64,
}

impl TxnBookkeeping {
    /// The larger of each size.
    pub fn max(self, o: TxnBookkeeping) -> TxnBookkeeping {
        TxnBookkeeping {
            reads_pending: self.reads_pending.max(o.reads_pending),
            marker_times: self.marker_times.max(o.marker_times),
            index_entries: self.index_entries.max(o.index_entries),
            output_rows: self.output_rows.max(o.output_rows),
            log_records_held: self.log_records_held.max(o.log_records_held),
        }
    }
}
