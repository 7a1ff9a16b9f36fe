//! One replica's log of one partition: record batches, the leader-epoch
//! cache, and how much of it has reached the disk. This is the part of a
//! broker that survives a crash, minus whatever was not flushed.
//!
//! A prefix that no reader can need any more (every replica holds it
//! durably, it is below the high watermark and below the processor's
//! committed offset) is folded into the log audit and then kept only as a
//! summary: its end offset, its bytes and the producer state at its end,
//! as Kafka keeps a producer snapshot per segment. Memory then follows
//! what is in flight, not how many events the run has seen.

use super::idempotence::ProducerTable;
use super::last_stable_offset::{TxnIndex, TxnOutcome};
use crate::record::{Batch, Record};
use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::Arc;

mod catch_up;

/// A summarised segment: what retention needs to know of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// First offset.
    pub base: u64,
    /// One past the last offset.
    pub end: u64,
    /// Bytes.
    pub bytes: u64,
    /// Generation time of its newest record, ms (Kafka's segment timestamp).
    pub max_time_ms: u64,
}

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
    /// Offset up to which the page cache has handed the log to the disk
    /// (at or above `flushed`: the rest of that writeback is still in the disk's queue).
    writeback_issued: u64,
    /// Bumped by every truncation that removes records, so that a writeback
    /// issued before it cannot vouch for records written after it.
    generation: u64,
    /// High watermark as last checkpointed to disk.
    pub hw_checkpoint: u64,
    /// Idempotent producer state, derived from the batches' stamps.
    pub producers: ProducerTable,
    /// Offsets below this are summarised: their records are gone from memory.
    summary_end: u64,
    /// Bytes of the summarised prefix that retention has not deleted.
    summary_bytes: u64,
    /// The summarised prefix as segments, oldest first; retention deletes from the front.
    segments: VecDeque<Segment>,
    /// Producer state at `summary_end`, from which a truncation rebuilds.
    summary_producers: ProducerTable,
    /// Offsets below this were summarised from this replica's own durable records once the
    /// audit had counted them; the rest of the summary a leader's summary span brought.
    counted_end: u64,
    /// A truncation reached below `counted_end` (the audit already counted it as committed).
    truncated_into_summary: bool,
    /// Offsets taken from a leader's summarised prefix instead of as records.
    caught_up_from_summary: u64,
    /// Reads that asked for a summarised offset (served from the summary's end).
    summarized_reads: Cell<u64>,
    /// Transactions open and closed in this log, derived from its batches.
    pub txns: TxnIndex,
    /// Transaction index at `summary_end`, from which a truncation rebuilds.
    summary_txns: TxnIndex,
}

impl PartitionLog {
    /// Log end offset: the next offset to be written.
    pub fn leo(&self) -> u64 {
        self.batches.last().map_or(self.summary_end, |b| b.end_offset())
    }

    /// Transaction index entries held, the live index and the summarised prefix's copy.
    pub fn txn_entries(&self) -> usize {
        self.txns.entries() + self.summary_txns.entries()
    }

    /// First offset whose records are still held.
    pub fn summary_end(&self) -> u64 {
        self.summary_end
    }

    /// First offset not deleted by retention (Kafka's log start offset).
    pub fn log_start(&self) -> u64 {
        self.segments
            .front()
            .map_or(self.summary_end.min(self.leo()), |s| s.base)
    }

    /// Offsets the log holds as records in memory, not as a summary.
    pub fn records_held(&self) -> u64 {
        self.leo().saturating_sub(self.summary_end)
    }

    /// The summarised segments, oldest first.
    pub fn segments(&self) -> impl Iterator<Item = &Segment> {
        self.segments.iter()
    }

    /// Bytes on disk, summarised prefix included.
    pub fn bytes(&self) -> u64 {
        self.summary_bytes + self.batches.iter().map(|b| b.bytes).sum::<u64>()
    }

    /// Offset up to which the log is durable.
    pub fn flushed(&self) -> u64 {
        self.flushed
    }

    /// Whether the simulation's assumption behind summaries broke: a truncation
    /// reached into the summarised prefix, or a reader asked for a summarised offset.
    pub fn summary_breaches(&self) -> (bool, u64) {
        (self.truncated_into_summary, self.summarized_reads.get())
    }

    /// The largest batch boundary at or below `bound` (and at or above the summary's end).
    pub fn boundary_at_or_below(&self, bound: u64) -> u64 {
        let i = self.batches.partition_point(|b| b.end_offset() <= bound);
        match i.checked_sub(1) {
            Some(j) => self.batches[j].end_offset(),
            None => self.summary_end,
        }
    }

    /// Drop the records below `offset` (a batch boundary at or below what this replica
    /// holds durably), keeping a summary in segments that roll at `segment_bytes`. The
    /// caller folds them into the audit first.
    pub fn summarize_to(&mut self, offset: u64, segment_bytes: u64) {
        let n = self.batches.partition_point(|b| b.end_offset() <= offset);
        self.absorb(n, segment_bytes);
        // Only what this replica holds durably counts as its own: a span it adopted and has
        // not written back is not, whatever offset the caller passed.
        self.counted_end = self.counted_end.max(offset.min(self.summary_end).min(self.flushed));
    }

    /// Move the first `n` batches into the summary.
    fn absorb(&mut self, n: usize, segment_bytes: u64) {
        if n == 0 {
            return;
        }
        for b in self.batches.drain(..n) {
            self.summary_producers.observe(&b);
            self.summary_txns.observe(&b);
            self.summary_bytes += b.bytes;
            self.summary_end = b.end_offset();
            let time = b.records.newest_born_us() / 1000;
            push_segment(
                &mut self.segments,
                Segment {
                    base: b.base_offset,
                    end: b.end_offset(),
                    bytes: b.bytes,
                    max_time_ms: time,
                },
                segment_bytes,
            );
        }
        // The fold judged every read below the summary and the LSO is past it: closed
        // transactions there matter to nothing any more (aborted ones stay for fetches).
        self.txns.forget_settled(self.summary_end);
        self.summary_txns.forget_settled(self.summary_end);
    }

    /// Kafka's retention, on the summarised segments: delete from the oldest while a
    /// segment's newest record is older than `retention_ms`, or while the log without it
    /// still holds `retention_bytes`. The newest summarised segment may still grow, so it
    /// stays. Returns the records deleted.
    pub fn apply_retention(&mut self, now_ms: u64, retention_ms: u64, retention_bytes: Option<u64>) -> u64 {
        let mut deleted = 0;
        let mut total = self.bytes();
        while self.segments.len() > 1 {
            let s = self.segments[0];
            let expired = s.max_time_ms.saturating_add(retention_ms) < now_ms;
            let oversized = retention_bytes.is_some_and(|limit| total - s.bytes >= limit);
            if !(expired || oversized) {
                break;
            }
            self.segments.pop_front();
            self.summary_bytes -= s.bytes;
            total -= s.bytes;
            deleted += s.end - s.base;
        }
        let start = self.log_start();
        self.txns.forget_deleted(start);
        self.summary_txns.forget_deleted(start);
        deleted
    }

    /// Epoch of the last record, 0 for an empty log.
    pub fn last_epoch(&self) -> u32 {
        self.epochs.last().map_or(0, |e| e.0)
    }

    /// The batches still held (the summarised prefix is not among them).
    pub fn batches(&self) -> &[Arc<Batch>] {
        &self.batches
    }

    /// Mark everything written so far as durable.
    pub fn flush(&mut self) {
        self.flushed = self.leo();
        self.writeback_issued = self.leo();
    }

    /// Bytes written after the page cache last handed the log to the disk: records, and
    /// the part of a leader's summary span it adopted that was not handed over yet.
    pub fn unissued_bytes(&self) -> u64 {
        let from = self.writeback_issued.max(self.summary_end);
        let i = self.batch_index_at(from);
        let records: u64 = self.batches[i..].iter().map(|b| b.bytes).sum();
        let adopted: u64 = self
            .segments
            .iter()
            .rev()
            .take_while(|s| s.end > self.writeback_issued)
            .map(|s| prorate(s.bytes, s.end - s.base.max(self.writeback_issued), s.end - s.base))
            .sum();
        records + adopted
    }

    /// Hand everything written so far to the disk; returns the log's
    /// generation and end, which [`Self::written_back`] takes back when the disk is done.
    pub fn issue_writeback(&mut self) -> (u64, u64) {
        self.writeback_issued = self.leo();
        (self.generation, self.writeback_issued)
    }

    /// A writeback issued at `generation` up to `end` reached the disk. One
    /// issued before a truncation proves nothing about what was written since.
    pub fn written_back(&mut self, generation: u64, end: u64) {
        if generation == self.generation {
            self.flushed = self.flushed.max(end.min(self.leo()));
        }
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
        // A compacted transaction-state log has gaps: a follower keeps the leader's offsets.
        let base = if batch.txn_state.is_some() && batch.base_offset > base {
            batch.base_offset
        } else {
            base
        };
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
        self.txns.observe(&batch);
        self.batches.push(batch);
        base
    }

    /// Remove the batches below `below` whose base offset is not in `keep` (a log
    /// compaction: the offsets of the removed batches become gaps). Only the
    /// transaction-state partition is compacted; its batches carry no events.
    pub fn compact(&mut self, below: u64, keep: &std::collections::BTreeSet<u64>) -> usize {
        let before = self.batches.len();
        self.batches
            .retain(|b| b.base_offset >= below || keep.contains(&b.base_offset));
        before - self.batches.len()
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

    /// Forget the epochs that start at or after `offset` (Kafka's leader epoch
    /// cache truncated from the end): a truncation to a log's own end removes
    /// no record but must still drop an epoch that never got one.
    pub fn forget_epochs_from(&mut self, offset: u64) {
        self.epochs.retain(|e| e.1 < offset);
    }

    /// Remove everything at and after `offset`.
    pub fn truncate_to(&mut self, offset: u64) {
        if offset >= self.leo() {
            return;
        }
        if offset < self.summary_end {
            // Counted records cannot come back; the audit is told so. Below the counted end
            // only a span a leader sent is cut, which the next fetch brings again.
            self.truncated_into_summary |= offset < self.counted_end;
            self.batches.clear();
            self.summary_end = offset;
            self.summary_producers = ProducerTable::default();
            // The summarised prefix's index is cut back too, not dropped: the aborted
            // transactions below the cut still hold for a fetch there.
            self.summary_txns = self.summary_txns.truncated_to(offset);
            while self.segments.back().is_some_and(|s| s.base >= offset) {
                self.segments.pop_back();
            }
            if let Some(s) = self.segments.back_mut() {
                if s.end > offset {
                    s.bytes = prorate(s.bytes, offset - s.base, s.end - s.base);
                    s.end = offset;
                }
            }
            self.summary_bytes = self.segments.iter().map(|s| s.bytes).sum();
        }
        let i = self.batch_index_at(offset);
        if let Some(b) = self.batches.get(i).cloned() {
            if b.base_offset < offset {
                // Logs that diverged after an unclean election can disagree on batch boundaries.
                let keep = (offset - b.base_offset) as usize;
                let records = b.records.slice(0..keep);
                let bytes = records.wire_bytes();
                self.batches[i] = Arc::new(Batch {
                    records,
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
        self.producers = self.summary_producers.clone();
        self.txns = self.summary_txns.clone();
        for b in &self.batches {
            self.producers.observe(b);
            self.txns.observe(b);
        }
        self.flushed = self.flushed.min(leo);
        self.writeback_issued = self.writeback_issued.min(leo);
        self.generation += 1;
        self.hw_checkpoint = self.hw_checkpoint.min(leo);
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
        if offset < self.summary_end {
            self.summarized_reads.set(self.summarized_reads.get() + 1);
        }
        let mut out = Vec::new();
        let mut bytes = 0;
        for b in &self.batches[self.batch_index_at(offset)..] {
            if !out.is_empty() && bytes + b.bytes > max_bytes {
                break;
            }
            bytes += b.bytes;
            if b.base_offset < offset {
                let skip = (offset - b.base_offset) as usize;
                let records = b.records.slice(skip..b.records.len());
                let bytes = records.wire_bytes();
                out.push(Arc::new(Batch {
                    base_offset: offset,
                    records,
                    bytes,
                    ..(**b).clone()
                }));
            } else {
                out.push(b.clone());
            }
        }
        out
    }

    /// Records at and after `offset` that the log still holds, in offset order.
    pub fn records_from(&self, offset: u64) -> impl Iterator<Item = Record> + '_ {
        self.batches[self.batch_index_at(offset)..].iter().flat_map(move |b| {
            let skip = offset.saturating_sub(b.base_offset) as usize;
            b.records.iter().skip(skip)
        })
    }

    /// The last stable offset under high watermark `hw`: the first offset of the
    /// oldest transaction still open or closed by a marker not yet replicated, else
    /// the high watermark.
    pub fn lso(&self, hw: u64) -> u64 {
        self.txns.first_unstable(hw).map_or(hw, |f| f.min(hw))
    }

    /// The records from `from` up to (not including) `end` that count as written: those
    /// of no transaction and those of committed ones (aborted and still-open ones are
    /// skipped, as are markers, which carry no record): without transactions, every
    /// record. The walk starts at the batch holding `from`: records are decoded to be
    /// read, so a reader of the tail does not pay for the whole log.
    pub fn committed_records(&self, from: u64, end: u64) -> impl Iterator<Item = (u64, Record)> + '_ {
        // Bounded per batch, not per record: the checker walks every record a run writes.
        self.batches[self.batch_index_at(from)..]
            .iter()
            .take_while(move |b| b.base_offset < end)
            .filter(|b| match b.producer {
                Some(s) if s.transactional => {
                    matches!(self.txns.outcome(s.pid, b.base_offset), TxnOutcome::Committed(..))
                }
                _ => true,
            })
            .flat_map(move |b| {
                let first = from.saturating_sub(b.base_offset) as usize;
                let past = (end - b.base_offset).min(b.records.len() as u64) as usize;
                (b.base_offset + first as u64..).zip(b.records.iter_range(first..past))
            })
    }
}

/// Add `s` to the newest segment while it is under `segment_bytes`, else roll a new one.
fn push_segment(segments: &mut VecDeque<Segment>, s: Segment, segment_bytes: u64) {
    match segments.back_mut() {
        Some(last) if last.bytes < segment_bytes && last.end == s.base => {
            last.end = s.end;
            last.bytes += s.bytes;
            last.max_time_ms = last.max_time_ms.max(s.max_time_ms);
        }
        _ => segments.push_back(s),
    }
}

/// `bytes` of a stretch of `len` offsets, for `part` of them.
fn prorate(bytes: u64, part: u64, len: u64) -> u64 {
    if len == 0 {
        return 0;
    }
    (u128::from(bytes) * u128::from(part) / u128::from(len)) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::EventId;

    fn batch(epoch: u32, n: usize) -> Arc<Batch> {
        sized_batch(epoch, n, 10, 0)
    }

    /// `n` records of `size` bytes generated at `born_s` seconds, in a batch of leader epoch `epoch`.
    pub(super) fn sized_batch(epoch: u32, n: usize, size: u32, born_s: u64) -> Arc<Batch> {
        let records: Vec<Record> = (0..n)
            .map(|i| Record {
                id: EventId {
                    client: 0,
                    seq: i as u64,
                },
                key: 0,
                size,
                event_time_ms: 0,
                schema_version: 1,
                malformed: false,
                born_us: born_s * 1_000_000,
            })
            .collect();
        let bytes = crate::msg::records_bytes(&records);
        Arc::new(Batch {
            base_offset: 0,
            epoch,
            producer: None,
            records: records.into(),
            bytes,
            control: None,
            txn_state: None,
        })
    }

    #[test]
    fn committed_records_skip_aborted_and_open_transactions() {
        use crate::record::{ControlMarker, ProducerStamp};
        let stamped = |pid: u64, n: usize, control: Option<ControlMarker>| {
            let b = batch(1, n);
            Arc::new(Batch {
                producer: Some(ProducerStamp {
                    pid,
                    epoch: 0,
                    base_seq: 0,
                    transactional: true,
                }),
                control,
                records: if control.is_some() {
                    Default::default()
                } else {
                    b.records.clone()
                },
                ..(*b).clone()
            })
        };
        let mut l = PartitionLog::default();
        l.append(stamped(1, 2, None)); // 0..2, aborted below
        l.append(stamped(2, 3, None)); // 2..5, committed below
        l.append(stamped(1, 0, Some(ControlMarker::Abort))); // 5
        l.append(batch(1, 1)); // 6, no transaction
        l.append(stamped(2, 0, Some(ControlMarker::Commit))); // 7
        l.append(stamped(3, 2, None)); // 8..10, open
        assert_eq!(l.leo(), 10);
        assert_eq!(l.lso(10), 8);
        let offsets: Vec<u64> = l.committed_records(0, u64::MAX).map(|(o, _)| o).collect();
        assert_eq!(offsets, vec![2, 3, 4, 6]);
        // From inside a batch, up to an end inside the log.
        let tail: Vec<u64> = l.committed_records(3, 7).map(|(o, _)| o).collect();
        assert_eq!(tail, vec![3, 4, 6]);
        // Both bounds inside one batch.
        let inside: Vec<u64> = l.committed_records(3, 4).map(|(o, _)| o).collect();
        assert_eq!(inside, vec![3]);
        assert_eq!(l.committed_records(4, 4).count(), 0);
        // A truncation below the commit marker reopens the transaction it closed.
        l.truncate_to(7);
        assert_eq!(l.lso(7), 2);
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
    fn summaries_keep_offsets_and_retention_deletes_old_segments() {
        let mut l = PartitionLog::default();
        for i in 0..6 {
            // Batch i was generated at i seconds.
            l.append(sized_batch(1, 4, 10, i));
        }
        let per_batch = l.batches()[0].bytes;
        l.flush();
        assert_eq!(l.boundary_at_or_below(10), 8);
        // Two batches per segment.
        l.summarize_to(l.boundary_at_or_below(17), 2 * per_batch);
        assert_eq!((l.summary_end(), l.leo(), l.log_start()), (16, 24, 0));
        assert_eq!(l.segments().count(), 2);
        assert_eq!(l.bytes(), 6 * per_batch);
        assert_eq!(l.read(16, 1 << 20)[0].base_offset, 16);
        assert_eq!(l.summary_breaches(), (false, 0));
        // At 62 s with a minute of retention, the segment of seconds 0 and 1 goes; the newest summarised one stays.
        assert_eq!(l.apply_retention(62_000, 60_000, None), 8);
        assert_eq!((l.log_start(), l.bytes()), (8, 4 * per_batch));
        assert_eq!(l.apply_retention(1_000_000, 60_000, None), 0);
        // A size limit deletes only while what is left still meets it.
        let mut m = l.clone();
        assert_eq!(
            m.apply_retention(0, u64::MAX, Some(per_batch)),
            0,
            "the last summarised segment stays"
        );
        // Truncating into the summary is flagged, not silently accepted.
        l.truncate_to(12);
        assert_eq!((l.leo(), l.summary_breaches().0), (12, true));
    }

    #[test]
    fn crash_loses_only_unflushed() {
        let mut l = PartitionLog::default();
        l.append(batch(1, 3));
        l.flush();
        l.append(batch(1, 2));
        // What a power loss does (log::truncation::power_loss): cut back to the flushed offset.
        let flushed = l.flushed();
        l.truncate_to(flushed);
        assert_eq!(l.leo(), 3);
    }

    #[test]
    fn an_epoch_led_without_a_record_is_forgotten_at_a_truncation_to_the_end() {
        let mut log = PartitionLog::default();
        log.append(batch(1, 5));
        // Elected at epoch 2, this replica wrote nothing before it lost leadership.
        log.assign_epoch(2);
        assert_eq!(log.last_epoch(), 2);
        // Truncating to its own end removes no record and keeps the empty epoch...
        log.truncate_to(5);
        assert_eq!(log.last_epoch(), 2);
        // ...which the follower now forgets, so its next fetch names epoch 1.
        log.forget_epochs_from(5);
        assert_eq!(log.last_epoch(), 1);
        assert_eq!(log.end_offset_for_epoch(1), (1, 5));
        assert_eq!(log.leo(), 5);
    }
}
