//! The consumer-side checks that watch polls as they happen (the consumers
//! report each poll here; the watch keeps its own view, so a consumer's bug
//! cannot hide from it):
//!
//! - `poll_skip`: within one assignment, a poll of a partition starts past
//!   where the previous one ended, or the first poll past the offset the
//!   group had committed when the assignment began;
//! - `nonmonotonic_poll`: within one assignment, a poll starts before where
//!   the previous one ended, with no seek in between;
//! - `inconsistent_offsets`: two polls (of any consumers, of any
//!   subscriptions, or of the processors' group) returned different records
//!   at the same offsets.
//!
//! The processors' consumers read the same partitions, so their polls are
//! fingerprinted too (whenever the run has subscriptions to compare them
//! with): a processor and a subscription that saw different records at one
//! offset are caught, whichever read first.
//!
//! The last compares batch fingerprints, not records: the producer stamp
//! (id, epoch, base sequence) and the batch's end offset with its last
//! record's id. A fetch that starts inside a batch returns its tail, which
//! keeps the stamp and the end, so two views of one batch agree however
//! they were cut. Fingerprints are kept only above the lowest offset any
//! subscription committed on the partition: the window between the slowest
//! and the fastest reader.

use crate::ids::PartitionId;
use crate::record::{Batch, EventId, ProducerStamp};
use std::collections::BTreeMap;
use streamsim_reports::Violation;

/// The consumer-side checks' names, in report order.
pub const CHECKS: [&str; 4] = ["poll_skip", "nonmonotonic_poll", "inconsistent_offsets", "unseen"];

/// Witnesses kept per check (every occurrence is counted).
const WITNESSES: usize = 3;

/// A consumer's view of one partition in one assignment.
#[derive(Clone, Copy, Debug)]
struct Track {
    generation: u64,
    incarnation: u64,
    /// Where the next poll must start (none: anywhere, after an offset reset without a commit).
    next: Option<u64>,
}

/// What identifies a batch's records, however a fetch cut its front.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Fingerprint {
    stamp: Option<ProducerStamp>,
    last: Option<EventId>,
}

/// Who polled: a subscription's consumer, or the processors' group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reader {
    Subscription { sub: usize, consumer: usize },
    Processors,
}

impl Reader {
    fn name(self, names: &[String]) -> String {
        match self {
            Reader::Subscription { sub, consumer } => format!("{} consumer {consumer}", names[sub]),
            Reader::Processors => "the processors' group".to_string(),
        }
    }

    fn sub(self) -> Option<usize> {
        match self {
            Reader::Subscription { sub, .. } => Some(sub),
            Reader::Processors => None,
        }
    }
}

/// One poll's view of a batch.
#[derive(Clone, Copy, Debug)]
struct Seen {
    lo: u64,
    print: Fingerprint,
    reader: Reader,
    at_ms: u64,
}

/// A poll as a consumer reports it.
#[derive(Clone, Copy, Debug)]
pub struct Poll {
    /// Subscription index.
    pub sub: usize,
    /// Consumer index in its subscription.
    pub consumer: usize,
    /// The consumer's process incarnation.
    pub incarnation: u64,
    /// Group generation of the assignment.
    pub generation: u64,
    /// Partition polled.
    pub partition: PartitionId,
    /// First offset returned.
    pub lo: u64,
    /// One past the last offset returned.
    pub hi: u64,
    /// Virtual ms.
    pub at_ms: u64,
}

/// The checks' state and findings.
#[derive(Debug, Default)]
pub struct PollWatch {
    /// By (subscription, consumer, partition).
    tracks: BTreeMap<(usize, usize, PartitionId), Track>,
    /// Per partition: fingerprints by batch end offset.
    book: Vec<BTreeMap<u64, Seen>>,
    /// The first witnesses of each check.
    pub found: Vec<Violation>,
    /// Occurrences per (subscription, check).
    pub counts: BTreeMap<(usize, &'static str), u64>,
}

impl PollWatch {
    /// A watch over `partitions` events partitions.
    pub fn new(partitions: usize) -> Self {
        PollWatch {
            book: vec![BTreeMap::new(); partitions],
            ..Default::default()
        }
    }

    /// A consumer took a partition in a generation; `committed` is what the
    /// group had committed for it then (the first poll must start there).
    pub fn assigned(
        &mut self,
        (sub, consumer): (usize, usize),
        incarnation: u64,
        p: PartitionId,
        generation: u64,
        committed: Option<u64>,
    ) {
        self.tracks.insert(
            (sub, consumer, p),
            Track {
                generation,
                incarnation,
                next: committed,
            },
        );
    }

    /// A consumer moved its position on purpose (an offset reset): the next poll starts there.
    pub fn seek(&mut self, (sub, consumer): (usize, usize), p: PartitionId, to: u64) {
        if let Some(t) = self.tracks.get_mut(&(sub, consumer, p)) {
            t.next = Some(to);
        }
    }

    /// A poll returned `batches` (already cut to `[poll.lo, poll.hi)`).
    /// Returns the timeline lines of what it caught.
    pub fn polled(&mut self, names: &[String], poll: Poll, batches: &[&Batch]) -> Vec<String> {
        let mut notes = Vec::new();
        let reader = Reader::Subscription {
            sub: poll.sub,
            consumer: poll.consumer,
        };
        let who = reader.name(names);
        let p = poll.partition;
        if let Some(t) = self.tracks.get_mut(&(poll.sub, poll.consumer, p)) {
            if t.generation == poll.generation && t.incarnation == poll.incarnation {
                if let Some(next) = t.next {
                    if poll.lo > next {
                        notes.push(self.caught(
                            Some(poll.sub),
                            "poll_skip",
                            format!(
                                "{who} polled partition {p} from offset {} in generation {}, but its previous poll \
                                 (or the group's committed offset) ended at {next}: offsets {next}..{} were skipped",
                                poll.lo, poll.generation, poll.lo
                            ),
                            poll.at_ms,
                        ));
                    } else if poll.lo < next {
                        notes.push(self.caught(
                            Some(poll.sub),
                            "nonmonotonic_poll",
                            format!(
                                "{who} polled partition {p} from offset {} in generation {} after a poll that ended \
                                 at {next}, with no seek or rebalance between",
                                poll.lo, poll.generation
                            ),
                            poll.at_ms,
                        ));
                    }
                }
                if let Some(t) = self.tracks.get_mut(&(poll.sub, poll.consumer, p)) {
                    t.next = Some(poll.hi);
                }
            }
        }
        for b in batches {
            if let Some(n) = self.fingerprint(names, (&who, reader), p, poll.at_ms, b) {
                notes.push(n);
            }
        }
        notes
    }

    /// The processors' group handed on `batches` of events partition `p` (wholly below
    /// the high watermark): compare them with what the subscriptions' consumers and
    /// earlier processor polls saw. Returns the timeline lines of what it caught.
    pub fn processors_polled(
        &mut self,
        names: &[String],
        p: PartitionId,
        batches: &[&Batch],
        at_ms: u64,
    ) -> Vec<String> {
        if p >= self.book.len() {
            return Vec::new();
        }
        let who = Reader::Processors.name(names);
        batches
            .iter()
            .filter_map(|b| self.fingerprint(names, (&who, Reader::Processors), p, at_ms, b))
            .collect()
    }

    /// Compare a batch with what earlier polls saw at its offsets, and remember it.
    fn fingerprint(
        &mut self,
        names: &[String],
        (who, reader): (&str, Reader),
        p: PartitionId,
        at_ms: u64,
        b: &Batch,
    ) -> Option<String> {
        let (lo, end) = (b.base_offset, b.end_offset());
        if lo >= end {
            return None;
        }
        let print = Fingerprint {
            stamp: b.producer,
            last: b.records.last().map(|r| r.id),
        };
        let clash = self.book[p]
            .range(lo + 1..)
            .take_while(|(_, s)| s.lo < end)
            .find(|&(&e, s)| differs(s.print, e, print, end))
            .map(|(&e, s)| (e, *s));
        if let Some((e, s)) = clash {
            let from = lo.max(s.lo);
            let text = format!(
                "{who} read partition {p} offsets {lo}..{end} as {}, but {} had read offsets {}..{e} \
                 as {} at {} ms: different records at offset {from}",
                describe(print),
                s.reader.name(names),
                s.lo,
                describe(s.print),
                s.at_ms
            );
            // Counted for the subscription that read: this poll's, or the earlier one's.
            let sub = reader.sub().or(s.reader.sub());
            return Some(self.caught(sub, "inconsistent_offsets", text, at_ms));
        }
        self.book[p].entry(end).or_insert(Seen {
            lo,
            print,
            reader,
            at_ms,
        });
        None
    }

    /// Forget fingerprints every subscription has committed past.
    pub fn prune(&mut self, p: PartitionId, below: u64) {
        let book = &mut self.book[p];
        *book = book.split_off(&(below + 1));
    }

    /// Fingerprints held, over every partition (the window's size).
    pub fn held(&self) -> usize {
        self.book.iter().map(|b| b.len()).sum()
    }

    fn caught(&mut self, sub: Option<usize>, check: &'static str, detail: String, at_ms: u64) -> String {
        if let Some(sub) = sub {
            *self.counts.entry((sub, check)).or_default() += 1;
        }
        if self.found.iter().filter(|v| v.invariant == check).count() < WITNESSES {
            self.found.push(Violation {
                invariant: check.to_string(),
                detail: detail.clone(),
                at_ms,
            });
        }
        format!("{check}: {detail}")
    }
}

/// Two views of overlapping offsets disagree: different producer stamps, or
/// (for batches without one) the same end offset with a different last record.
fn differs(a: Fingerprint, a_end: u64, b: Fingerprint, b_end: u64) -> bool {
    match (a.stamp, b.stamp) {
        (Some(x), Some(y)) => x != y || (a_end == b_end && a.last != b.last),
        (None, None) => a_end == b_end && a.last != b.last,
        _ => true,
    }
}

fn describe(f: Fingerprint) -> String {
    let last = f.last.map_or("none".to_string(), |id| id.to_string());
    match f.stamp {
        Some(s) => format!(
            "producer {} epoch {} sequence {} (last record {last})",
            s.pid, s.epoch, s.base_seq
        ),
        None => format!("a batch without producer stamp (last record {last})"),
    }
}
