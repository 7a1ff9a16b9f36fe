//! The sink database's durable contents: the `events` and `late_events`
//! insert tables, the `window_counts` upsert table, and per partition the
//! processor's checkpoint (committed offset and operator state) with the
//! generation that last claimed it. It lives outside the sink node, like a
//! disk, so it survives a sink crash; a transaction reaches it only when
//! the sink commits it.

use crate::event_sets::Copies;
use crate::ids::PartitionId;
use crate::record::EventId;
use crate::sink::table::{Sink, Table};
use crate::wire::{Checkpoint, Row, SinkError};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Per-partition bookkeeping the processor's exactly-once protocol relies on.
#[derive(Clone, Debug, Default)]
pub struct PartitionSlot {
    /// Highest generation that claimed the partition; older owners are fenced.
    pub claim: u64,
    /// The committed checkpoint, if any.
    pub checkpoint: Option<Arc<Checkpoint>>,
    /// Request id of the last applied checkpoint transaction, so a retried commit whose reply was lost is not applied twice.
    pub last_txn: Option<(u64, u64)>,
}

impl PartitionSlot {
    /// Committed offset (0 before the first commit).
    pub fn offset(&self) -> u64 {
        self.checkpoint.as_ref().map_or(0, |c| c.offset)
    }
}

/// What one applied transaction changed, for metrics.
#[derive(Debug, Default)]
pub struct Applied {
    /// Generation times (µs) of events whose first row this transaction inserted.
    pub first_rows_born_us: Vec<u64>,
    /// The checkpoint committed is the first of its generation for the partition: the offset it reached.
    pub first_checkpoint_of_generation: Option<u64>,
}

/// The sink's tables.
#[derive(Default)]
pub struct SinkDb {
    /// `events` rows per event, by client and sequence.
    pub events: Copies,
    /// `late_events` rows per event.
    pub late: BTreeMap<EventId, u32>,
    /// `window_counts`: (key, window) -> (count, bytes), when the run uses the built-in table.
    pub windows: Table,
    /// The user's sink, which takes the rows instead of `windows`.
    pub user: Option<Box<dyn Sink>>,
    /// Checkpoints by events-topic partition.
    pub slots: Vec<PartitionSlot>,
    /// Distinct events with at least one `events` row.
    pub events_in_sink: u64,
    /// Transactions committed.
    pub txns: u64,
    /// Next offset of each output-topic partition (`exactly_once_txn`), by input
    /// partition: stored with the rows read from it, in the same transaction.
    pub output_offsets: Vec<u64>,
}

impl SinkDb {
    /// An empty database for `partitions` partitions and `clients` clients.
    pub fn new(partitions: usize, clients: usize, user: Option<Box<dyn Sink>>) -> Self {
        SinkDb {
            events: Copies::new(clients),
            slots: vec![PartitionSlot::default(); partitions],
            output_offsets: vec![0; partitions],
            user,
            ..Default::default()
        }
    }

    /// Claim a partition for `generation` and return its checkpoint.
    pub fn claim(&mut self, p: PartitionId, generation: u64) -> Result<Option<Arc<Checkpoint>>, SinkError> {
        let slot = &mut self.slots[p];
        if generation < slot.claim {
            return Err(SinkError::Fenced);
        }
        slot.claim = generation;
        Ok(slot.checkpoint.clone())
    }

    /// Run one transaction: check fencing and the offset precondition, then apply everything or nothing.
    pub fn commit(
        &mut self,
        p: PartitionId,
        txn: (u64, u64),
        fenced: bool,
        rows: &[Row],
        checkpoint: Option<&Arc<Checkpoint>>,
    ) -> Result<Applied, SinkError> {
        let slot = &self.slots[p];
        if fenced && txn.0 < slot.claim {
            return Err(SinkError::Fenced);
        }
        if let Some(c) = checkpoint {
            if slot.last_txn == Some(txn) {
                // A retry of a transaction that already committed: its reply was lost.
                return Ok(Applied::default());
            }
            if c.from_offset != slot.offset() {
                return Err(SinkError::Conflict);
            }
        }
        let mut applied = Applied::default();
        for r in rows {
            match *r {
                Row::Event { id, born_us } => {
                    if self.events.add(id.client, id.seq) == 0 {
                        self.events_in_sink += 1;
                        applied.first_rows_born_us.push(born_us);
                    }
                }
                Row::Late { id, .. } => *self.late.entry(id).or_insert(0) += 1,
                Row::Upsert {
                    key,
                    window,
                    count,
                    bytes,
                } if self.user.is_none() => {
                    self.windows.insert((key, window), (count, bytes));
                }
                Row::Delete { key, window } if self.user.is_none() => {
                    self.windows.remove(&(key, window));
                }
                Row::Upsert { .. } | Row::Delete { .. } => {}
            }
        }
        if let Some(u) = self.user.as_mut() {
            u.apply(p, rows);
        }
        if let Some(c) = checkpoint {
            let slot = &mut self.slots[p];
            if slot.last_txn.map(|t| t.0) != Some(txn.0) {
                applied.first_checkpoint_of_generation = Some(c.offset);
            }
            slot.checkpoint = Some(c.clone());
            slot.last_txn = Some(txn);
        }
        self.txns += 1;
        Ok(applied)
    }

    /// The aggregate rows the sink holds: the user's sink's, or the built-in table.
    pub fn contents(&self) -> std::borrow::Cow<'_, Table> {
        match &self.user {
            Some(u) => std::borrow::Cow::Owned(u.contents()),
            None => std::borrow::Cow::Borrowed(&self.windows),
        }
    }

    /// Rows of an event in the `events` table.
    pub fn event_rows(&self, id: EventId) -> u32 {
        self.events.get(id.client, id.seq)
    }
}
