//! The output topic of `delivery = "exactly_once_txn"`: one partition per
//! events-topic partition (the task of input partition `i` writes to output
//! partition `i`), placed after the dead-letter partitions and before the
//! transaction-state partition, replicated and led like any other.
//!
//! An output record stands for one sink row. A log record here is an event
//! (id, key, size, times), which cannot hold an aggregate row, so each output
//! record's id numbers its row in [`OutputRows`], the run's durable table of
//! rows produced; the record itself carries the row's size on the wire and
//! on disk. Rows are never removed (a replay after a sink crash reads them
//! again): a run holds one entry per row produced, aborted copies included.

use crate::config::{Delivery, ProcessorConfig};
use crate::ids::PartitionId;
use crate::msg::Record;
use crate::record::EventId;
use crate::wire::Row;

/// The client number output records carry in their id (no client has it).
pub const OUTPUT_CLIENT: u32 = u32::MAX;
/// Bytes of an output record's value (a row: key, window, count, sum or an event id).
const ROW_BYTES: u32 = 48;

/// Whether the processors run the `exactly_once_txn` mode.
pub fn enabled(p: &ProcessorConfig) -> bool {
    p.instances > 0 && p.delivery == Delivery::ExactlyOnceTxn
}

/// Whether any producer of the run is transactional (the gateways or the processors).
pub fn transactions_on(gateways_transactional: bool, p: &ProcessorConfig) -> bool {
    gateways_transactional || enabled(p)
}

/// Where the output topic's partitions are among the cluster's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutputLayout {
    /// The first output partition.
    pub base: PartitionId,
    /// Output partitions (0 unless the mode is on).
    pub count: usize,
}

impl OutputLayout {
    /// The layout for `events` events partitions followed by `dead_letter` dead-letter ones.
    pub fn new(p: &ProcessorConfig, events: usize, dead_letter: usize) -> Self {
        OutputLayout {
            base: events + dead_letter,
            count: if enabled(p) { events } else { 0 },
        }
    }

    /// The output partition of input partition `p`.
    pub fn of_input(&self, p: PartitionId) -> PartitionId {
        self.base + p
    }

    /// The input partition whose output `q` is, if `q` is an output partition.
    pub fn input_of(&self, q: PartitionId) -> Option<PartitionId> {
        (q >= self.base && q < self.base + self.count).then(|| q - self.base)
    }
}

/// Every row produced to the output topic, numbered (durable: the log's records point here).
#[derive(Default)]
pub struct OutputRows {
    rows: Vec<Row>,
}

impl OutputRows {
    /// Number `row` and return the record that carries it to output partition `p`.
    pub fn record(&mut self, row: Row, p: PartitionId) -> Record {
        let born_us = match row {
            Row::Event { born_us, .. } | Row::Late { born_us, .. } => born_us,
            _ => 0,
        };
        self.rows.push(row);
        Record {
            id: EventId {
                client: OUTPUT_CLIENT,
                seq: self.rows.len() as u64 - 1,
            },
            key: p as u64,
            size: ROW_BYTES,
            event_time_ms: 0,
            schema_version: 0,
            malformed: false,
            born_us,
        }
    }

    /// The row an output record carries.
    pub fn row(&self, r: &Record) -> Option<Row> {
        (r.id.client == OUTPUT_CLIENT)
            .then(|| self.rows.get(r.id.seq as usize).cloned())
            .flatten()
    }

    /// Rows produced so far (aborted copies included).
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether no row was produced.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}
