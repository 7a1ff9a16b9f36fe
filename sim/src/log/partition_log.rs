//! One replica's log of one partition: record batches, the leader-epoch
//! cache, and how much of it has reached the disk. This is the part of a
//! broker that survives a crash, minus whatever was not flushed.

use super::idempotence::ProducerTable;
use crate::msg::{Batch, Record};
use std::sync::Arc;

/// A replica's log. Batches are shared behind `Arc` between the replicas
/// that hold them (a follower appends what the leader's fetch reply carried),
/// so replication costs a pointer per replica, not a copy of the batch.
#[derive(Debug, Clone, Default)]
pub struct PartitionLog {
    batches: Vec<Arc<Batch>>,
    /// (epoch, start offset), increasing in both.
    epochs: Vec<(u32, u64)>,
    /// Offset up to which the log is durable.
    flushed: u64,
    /// High watermark as last checkpointed to disk.
    pub hw_checkpoint: u64,
    /// Idempotent producer state, derived from the batches' stamps.
    pub producers: ProducerTable,
}

impl PartitionLog {
    /// Log end offset: the next offset to be written.
    pub fn leo(&self) -> u64 {
        self.batches.last().map_or(0, |b| b.end_offset())
    }

    /// Epoch of the last record, 0 for an empty log.
    pub fn last_epoch(&self) -> u32 {
        self.epochs.last().map_or(0, |e| e.0)
    }

    /// The batches (for the checker and for rebuilding producer state).
    pub fn batches(&self) -> &[Arc<Batch>] {
        &self.batches
    }

    /// Bytes not yet flushed.
    pub fn unflushed_bytes(&self) -> u64 {
        let i = self.batch_index_at(self.flushed);
        self.batches[i..].iter().map(|b| b.bytes).sum()
    }

    /// Mark everything written so far as durable.
    pub fn flush(&mut self) {
        self.flushed = self.leo();
    }

    /// Record that a leader of `epoch` starts writing at the current end (a new leader does this on election).
    pub fn assign_epoch(&mut self, epoch: u32) {
        if epoch > self.last_epoch() {
            let leo = self.leo();
            // An epoch that never got a record is superseded by the next one at the same offset.
            if self.epochs.last().is_some_and(|e| e.1 == leo) {
                self.epochs.pop();
            }
            self.epochs.push((epoch, leo));
        }
    }

    /// Append a batch at the end; its base offset is rewritten to the log end
    /// (a copy is made only when it differs, which replication never causes).
    pub fn append(&mut self, batch: Arc<Batch>) -> u64 {
        let base = self.leo();
        let batch = if batch.base_offset == base {
            batch
        } else {
            Arc::new(Batch {
                base_offset: base,
                ..(*batch).clone()
            })
        };
        self.assign_epoch(batch.epoch);
        self.producers.observe(&batch);
        self.batches.push(batch);
        base
    }

    /// Index of the batch containing `offset`, or of the first batch after it.
    fn batch_index_at(&self, offset: u64) -> usize {
        // Search on the base offsets stored inline: `end_offset` would dereference every probed batch's records.
        // Fetches and flushes ask for offsets near the end, so gallop back from the end before
        // bisecting: a binary search over a long log misses the cache at every probe.
        let n = self.batches.len();
        let mut lo = n;
        let mut step = 1;
        while lo > 0 && self.batches[lo - 1].base_offset > offset {
            lo = lo.saturating_sub(step);
            step *= 2;
        }
        let hi = (lo + step).min(n);
        let i = lo + self.batches[lo..hi].partition_point(|b| b.base_offset <= offset);
        match i.checked_sub(1) {
            Some(prev) if self.batches[prev].end_offset() > offset => prev,
            _ => i,
        }
    }

    /// Remove everything at and after `offset`.
    pub fn truncate_to(&mut self, offset: u64) {
        if offset >= self.leo() {
            return;
        }
        let i = self.batch_index_at(offset);
        if let Some(b) = self.batches.get(i).cloned() {
            if b.base_offset < offset {
                // Logs that diverged after an unclean election can disagree on batch boundaries.
                let keep = (offset - b.base_offset) as usize;
                let records: Vec<Record> = b.records[..keep].to_vec();
                let bytes = crate::msg::records_bytes(&records);
                self.batches[i] = Arc::new(Batch {
                    records: Arc::from(records),
                    bytes,
                    ..(*b).clone()
                });
                self.batches.truncate(i + 1);
            } else {
                self.batches.truncate(i);
            }
        }
        let leo = self.leo();
        self.epochs.retain(|e| e.1 < leo);
        self.producers = ProducerTable::rebuild(&self.batches);
        self.flushed = self.flushed.min(leo);
        self.hw_checkpoint = self.hw_checkpoint.min(leo);
    }

    /// A power loss: whatever was not flushed is gone.
    pub fn crash(&mut self) {
        let f = self.flushed;
        self.truncate_to(f);
    }

    /// The largest epoch at or below `epoch` and the offset where it ends
    /// in this log (KIP-279's OffsetsForLeaderEpoch).
    pub fn end_offset_for_epoch(&self, epoch: u32) -> (u32, u64) {
        let i = self.epochs.partition_point(|e| e.0 <= epoch);
        if i == 0 {
            return (0, self.epochs.first().map_or(self.leo(), |e| e.1));
        }
        let (e, _) = self.epochs[i - 1];
        let end = self.epochs.get(i).map_or(self.leo(), |n| n.1);
        (e, end)
    }

    /// Batches from `offset` on, up to about `max_bytes` (at least one batch).
    pub fn read(&self, offset: u64, max_bytes: u64) -> Vec<Arc<Batch>> {
        let mut out = Vec::new();
        let mut bytes = 0;
        for b in &self.batches[self.batch_index_at(offset)..] {
            if !out.is_empty() && bytes + b.bytes > max_bytes {
                break;
            }
            bytes += b.bytes;
            if b.base_offset < offset {
                let skip = (offset - b.base_offset) as usize;
                let records: Vec<Record> = b.records[skip..].to_vec();
                let bytes = crate::msg::records_bytes(&records);
                out.push(Arc::new(Batch {
                    base_offset: offset,
                    records: Arc::from(records),
                    bytes,
                    ..(**b).clone()
                }));
            } else {
                out.push(b.clone());
            }
        }
        out
    }

    /// Records in offset order up to (not including) `end`.
    pub fn records_until(&self, end: u64) -> impl Iterator<Item = (u64, &Record)> {
        self.batches
            .iter()
            .flat_map(|b| {
                b.records
                    .iter()
                    .enumerate()
                    .map(move |(i, r)| (b.base_offset + i as u64, r))
            })
            .take_while(move |(o, _)| *o < end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::EventId;

    fn batch(epoch: u32, n: usize) -> Arc<Batch> {
        let records: Vec<Record> = (0..n)
            .map(|i| Record {
                id: EventId {
                    client: 0,
                    seq: i as u64,
                },
                key: 0,
                size: 10,
                event_time_ms: 0,
                schema_version: 1,
                malformed: false,
                born_us: 0,
            })
            .collect();
        let bytes = crate::msg::records_bytes(&records);
        Arc::new(Batch {
            base_offset: 0,
            epoch,
            producer: None,
            records: Arc::from(records),
            bytes,
        })
    }

    #[test]
    fn epochs_and_truncation() {
        let mut l = PartitionLog::default();
        l.append(batch(1, 3));
        l.append(batch(1, 2));
        l.append(batch(3, 4));
        assert_eq!(l.leo(), 9);
        assert_eq!(l.end_offset_for_epoch(1), (1, 5));
        assert_eq!(l.end_offset_for_epoch(2), (1, 5));
        assert_eq!(l.end_offset_for_epoch(3), (3, 9));
        l.truncate_to(4);
        assert_eq!(l.leo(), 4);
        assert_eq!(l.last_epoch(), 1);
        assert_eq!(l.read(2, 1 << 20)[0].base_offset, 2);
    }

    #[test]
    fn crash_loses_only_unflushed() {
        let mut l = PartitionLog::default();
        l.append(batch(1, 3));
        l.flush();
        l.append(batch(1, 2));
        l.crash();
        assert_eq!(l.leo(), 3);
    }
}
