//! The output topic of `delivery = "exactly_once_txn"`: one partition per
//! events-topic partition (the task of input partition `i` writes to output
//! partition `i`), placed after the dead-letter partitions and before the
//! transaction-state partition, replicated and led like any other.
//!
//! An output record stands for one sink row. A log record here is an event
//! (id, key, size, times), which cannot hold an aggregate row, so each output
//! record's id numbers its row in [`OutputRows`], the run's durable table of
//! rows produced; the record itself carries the row's size on the wire and
//! on disk. A row stays until the sink has applied it and stored the offset
//! past it (a replay after a sink crash reads from the stored offset), so the
//! table holds the rows in flight, not one per row of the run.

use crate::config::{Delivery, ProcessorConfig};
use crate::ids::PartitionId;
use crate::msg::Record;
use crate::record::EventId;
use crate::wire::Row;
use std::collections::{BTreeMap, VecDeque};

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

/// The rows produced to the output topic that the sink may still read, numbered
/// (durable: the log's records point here). Rows are numbered in the order the
/// partition's one transactional producer builds its transactions, and an older
/// instance's rows are fenced or aborted, so a partition's committed records carry
/// increasing numbers: once the sink has applied a row and stored the offset past
/// it, no row of that partition numbered as low can reach it again. Those go;
/// what stays is what is in flight, aborted copies of that window included. A
/// negative control that turns off a fence (the producers' epochs, the group's
/// generation, offsets inside the transaction) breaks that order, and the sink
/// then forgets nothing.
#[derive(Default)]
pub struct OutputRows {
    /// Per output partition, rows by number, lowest first.
    rows: BTreeMap<PartitionId, VecDeque<(u64, Row)>>,
    /// Rows numbered so far (the next row's number).
    produced: u64,
    /// Reads of a row already forgotten: the sink would miss it (a bug, counted).
    missed: u64,
}

impl OutputRows {
    /// Number `row` and return the record that carries it to output partition `p`.
    pub fn record(&mut self, row: Row, p: PartitionId) -> Record {
        let born_us = match row {
            Row::Event { born_us, .. } | Row::Late { born_us, .. } => born_us,
            _ => 0,
        };
        let seq = self.produced;
        self.produced += 1;
        self.rows.entry(p).or_default().push_back((seq, row));
        Record {
            id: EventId {
                client: OUTPUT_CLIENT,
                seq,
            },
            key: p as u64,
            size: ROW_BYTES,
            event_time_ms: 0,
            schema_version: 0,
            malformed: false,
            born_us,
        }
    }

    /// The row an output record carries; a read of a row already forgotten is counted.
    pub fn row(&mut self, r: &Record) -> Option<Row> {
        if r.id.client != OUTPUT_CLIENT {
            return None;
        }
        let found = self.rows.get(&(r.key as PartitionId)).and_then(|q| {
            q.binary_search_by_key(&r.id.seq, |(seq, _)| *seq)
                .ok()
                .map(|i| q[i].1.clone())
        });
        if found.is_none() {
            self.missed += 1;
        }
        found
    }

    /// The sink applied output partition `p`'s rows up to number `last` and stored the
    /// offset past them: forget those and every lower-numbered row of `p`.
    pub fn applied(&mut self, p: PartitionId, last: u64) {
        if let Some(q) = self.rows.get_mut(&p) {
            while q.front().is_some_and(|(seq, _)| *seq <= last) {
                q.pop_front();
            }
        }
    }

    /// Rows held now, over every partition.
    pub fn len(&self) -> usize {
        self.rows.values().map(VecDeque::len).sum()
    }

    /// Whether no row is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Rows produced over the run (aborted copies included).
    pub fn produced(&self) -> u64 {
        self.produced
    }

    /// Reads of rows already forgotten (zero unless the numbering's premise broke).
    pub fn missed(&self) -> u64 {
        self.missed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(n: u64) -> Row {
        Row::Event {
            id: EventId { client: 0, seq: n },
            born_us: 0,
        }
    }

    #[test]
    fn applied_rows_go_and_rows_still_to_read_stay() {
        let mut t = OutputRows::default();
        let recs: Vec<Record> = (0..6).map(|i| t.record(row(i), 10 + (i % 2) as usize)).collect();
        assert_eq!((t.len(), t.produced()), (6, 6));
        // The sink applied partition 10 up to row 2 (rows 0 and 2); a crash before the
        // next apply re-reads row 4, which stays.
        t.applied(10, 2);
        assert_eq!(t.len(), 4);
        assert!(t.row(&recs[4]).is_some());
        assert!(t.row(&recs[1]).is_some(), "the other partition keeps its rows");
        assert_eq!(t.missed(), 0);
        // Negative control: a read of a forgotten row is counted, not silently empty.
        assert!(t.row(&recs[2]).is_none());
        assert_eq!(t.missed(), 1);
    }
}
