//! A follower behind the summarised prefix: the leader answers its fetch with
//! a span of the summary, and the follower's log takes it in place of records.
//!
//! The log audit folds a partition once its in-sync replicas hold the prefix
//! durably, so a broker that was down at a peak does not keep every record
//! of its outage in memory on the others. Offsets and bytes are all a
//! replica's log needs of records nobody reads any more; the producer state
//! and transaction index come with the span that reaches the summary's end,
//! which a follower must pass before it can rejoin the ISR (and so lead).

use super::{prorate, push_segment, PartitionLog, Segment};
use crate::log::summary_span::SummarySpan;

impl PartitionLog {
    /// The summarised stretch from `from` on, about `max_bytes` of it (at least one
    /// offset), or `None` when `from` is not below the summary's end.
    pub fn summary_span(&self, from: u64, max_bytes: u64) -> Option<SummarySpan> {
        if from >= self.summary_end {
            return None;
        }
        let mut span = SummarySpan {
            base: from,
            end: from,
            bytes: 0,
            max_time_ms: 0,
            segments: 0,
            epochs: Vec::new(),
            tail: None,
        };
        for s in &self.segments {
            if s.end <= span.end {
                continue;
            }
            // A segment retention deleted leaves a gap before `s`; it carries no bytes,
            // as a follower that Kafka answers OFFSET_OUT_OF_RANGE restarts at the log start.
            let start = span.end.max(s.base);
            let len = s.end - s.base;
            let mut take = s.end - start;
            let mut bytes = prorate(s.bytes, take, len);
            if span.bytes + bytes > max_bytes {
                if span.segments > 0 {
                    break;
                }
                // One segment is more than a fetch carries: as many offsets as fit, pro rata.
                let fit = u128::from(max_bytes) * u128::from(len) / u128::from(s.bytes.max(1));
                take = (fit as u64).clamp(1, take);
                bytes = prorate(s.bytes, take, len);
            }
            span.end = start + take;
            span.bytes += bytes;
            span.segments += 1;
            span.max_time_ms = span.max_time_ms.max(s.max_time_ms);
            if span.bytes >= max_bytes {
                break;
            }
        }
        if span.end == from {
            // Retention deleted every segment from `from` on.
            span.end = self.summary_end;
        }
        span.epochs = self
            .epochs
            .iter()
            .filter(|&&(_, start)| start >= from && start < span.end)
            .copied()
            .collect();
        if span.end == self.summary_end {
            span.tail = Some(Box::new((self.summary_producers.clone(), self.summary_txns.clone())));
        }
        Some(span)
    }

    /// Take a leader's span at this log's end. The records this replica still
    /// holds lie below the leader's summary, so they were counted too and join
    /// the summary first. The span's bytes are not durable yet: the page cache
    /// writes them back as it would records, and a power loss before that cuts
    /// the span off again (the next fetch brings it back).
    pub fn adopt_summary(&mut self, span: &SummarySpan, segment_bytes: u64) {
        let n = self.batches.len();
        self.absorb(n, segment_bytes);
        push_segment(
            &mut self.segments,
            Segment {
                base: span.base,
                end: span.end,
                bytes: span.bytes,
                max_time_ms: span.max_time_ms,
            },
            segment_bytes,
        );
        self.summary_bytes += span.bytes;
        self.summary_end = span.end;
        self.caught_up_from_summary += span.end - span.base;
        for &(epoch, start) in &span.epochs {
            if epoch > self.last_epoch() {
                if self.epochs.last().is_some_and(|e| e.1 == start) {
                    self.epochs.pop();
                }
                self.epochs.push((epoch, start));
            }
        }
        if let Some(tail) = &span.tail {
            let (producers, txns) = &**tail;
            self.summary_producers = producers.clone();
            self.summary_txns = txns.clone();
            self.producers = producers.clone();
            self.txns = txns.clone();
        }
    }

    /// Offsets this replica took from leaders' summaries instead of as records.
    pub fn caught_up_from_summary(&self) -> u64 {
        self.caught_up_from_summary
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::sized_batch;
    use super::super::PartitionLog;
    use crate::record::Batch;
    use std::sync::Arc;

    /// `n` records of 100 bytes on disk each (60 of payload), generated at `born_s` seconds.
    fn batch(epoch: u32, n: usize, born_s: u64) -> Arc<Batch> {
        sized_batch(epoch, n, 60, born_s)
    }

    /// A leader with 10 batches of 4 records of 100 bytes over epochs 1 and 2,
    /// summarised below offset 32 in segments of two batches (800 bytes).
    fn leader() -> PartitionLog {
        let mut l = PartitionLog::default();
        for i in 0..10 {
            l.append(batch(if i < 5 { 1 } else { 2 }, 4, i));
        }
        l.flush();
        l.summarize_to(32, 800);
        l
    }

    /// A follower that holds the leader's first batch durably.
    fn follower() -> PartitionLog {
        let mut f = PartitionLog::default();
        f.append(batch(1, 4, 0));
        f.flush();
        f
    }

    #[test]
    fn a_follower_catches_up_across_the_summary_then_takes_records() {
        let leader = leader();
        let mut f = follower();
        let mut fetches = 0;
        while let Some(span) = leader.summary_span(f.leo(), 1000) {
            assert!(span.bytes <= 1000 || span.segments == 1, "{span:?}");
            assert_eq!(span.tail.is_some(), span.end == 32);
            f.adopt_summary(&span, 800);
            fetches += 1;
        }
        // The rest of the first segment, then one segment a fetch.
        assert_eq!(fetches, 4);
        assert_eq!((f.leo(), f.summary_end(), f.bytes()), (32, 32, 3200));
        assert_eq!(f.caught_up_from_summary(), 28);
        // The epoch that started inside the span came with it: a later divergence check agrees.
        assert_eq!(f.end_offset_for_epoch(1), leader.end_offset_for_epoch(1));
        assert_eq!(f.last_epoch(), 2);
        // Past the summary the leader's records follow as usual.
        for b in leader.read(f.leo(), 1 << 20) {
            f.append(b);
        }
        assert_eq!(f.leo(), leader.leo());
        assert_eq!(f.summary_breaches(), (false, 0));
        assert_eq!(
            leader.summary_breaches(),
            (false, 0),
            "no record was read below the summary"
        );
    }

    #[test]
    fn a_power_loss_cuts_an_unflushed_span_without_a_breach_but_not_a_counted_prefix() {
        let leader = leader();
        let mut f = follower();
        f.summarize_to(4, 800);
        let span = leader.summary_span(4, 1 << 20).expect("behind the summary");
        f.adopt_summary(&span, 800);
        // Power lost before the page cache wrote the span back.
        let flushed = f.flushed();
        f.truncate_to(flushed);
        assert_eq!((f.leo(), f.bytes(), f.summary_breaches().0), (4, 400, false));
        // The same cut below what the audit counted from this replica is a breach.
        f.truncate_to(2);
        assert!(f.summary_breaches().0);
    }

    #[test]
    fn an_adopted_span_is_written_back_like_records_and_only_then_counts_as_its_own() {
        let leader = leader();
        let mut f = follower();
        let span = leader.summary_span(4, 1 << 20).expect("behind the summary");
        f.adopt_summary(&span, 800);
        assert_eq!(f.unissued_bytes(), 2800, "the page cache has the span to write back");
        // The audit's fold passes this replica's own summary end: nothing durable beyond 4.
        f.summarize_to(f.summary_end(), 800);
        let (generation, end) = f.issue_writeback();
        assert_eq!(f.unissued_bytes(), 0);
        // A power loss before the disk finished cuts the span without a breach.
        let mut lost = f.clone();
        let flushed = lost.flushed();
        lost.truncate_to(flushed);
        assert_eq!((lost.leo(), lost.summary_breaches().0), (4, false));
        // Written back, the span is durable.
        f.written_back(generation, end);
        assert_eq!(f.flushed(), 32);
    }

    #[test]
    fn a_fetch_below_a_deleted_segment_starts_at_the_log_start() {
        let mut leader = leader();
        // Segment [0, 8) is older than the retention.
        assert_eq!(leader.apply_retention(60_000, 58_000, None), 8);
        let span = leader.summary_span(0, 1000).expect("behind the summary");
        assert_eq!(
            (span.base, span.end),
            (0, 16),
            "the deleted range without bytes, then one segment"
        );
        assert_eq!(span.bytes, 800);
    }
}
