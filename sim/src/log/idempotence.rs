//! Kafka's idempotent producer on the broker side: per producer id, the
//! epoch and the sequences of the last five batches, so a retried batch is
//! recognised and answered with its original offset instead of appended
//! twice. The table is derived from the stamps in the log itself, which is
//! why a new leader knows it too.

use crate::record::{Batch, ProducerStamp};
use std::collections::{BTreeMap, VecDeque};

/// Batches remembered per producer (Kafka keeps five).
const REMEMBERED: usize = 5;

#[derive(Debug, Clone, Default)]
struct Entry {
    epoch: u16,
    /// (base_seq, last_seq, base_offset) of recent batches.
    recent: VecDeque<(u64, u64, u64)>,
}

/// What the leader should do with an incoming stamped batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqCheck {
    /// Next in sequence: append.
    Append,
    /// Already in the log at this base offset: answer success, do not append.
    Duplicate(u64),
    /// A gap or a stale epoch: refuse.
    OutOfOrder,
    /// A transactional producer's stale epoch: a newer one of its
    /// `transactional.id` took over (Kafka's `PRODUCER_FENCED`).
    Fenced,
}

/// Producer state of one partition.
#[derive(Debug, Clone, Default)]
pub struct ProducerTable {
    by_pid: BTreeMap<u64, Entry>,
}

impl ProducerTable {
    /// Account for a batch written to the log.
    pub fn observe(&mut self, b: &Batch) {
        let Some(s) = b.producer else { return };
        let e = self.by_pid.entry(s.pid).or_default();
        if b.control.is_some() {
            // A transaction marker carries the coordinator's epoch: a bumped one fences the older.
            if s.epoch > e.epoch {
                e.epoch = s.epoch;
                e.recent.clear();
            }
            return;
        }
        if s.epoch > e.epoch {
            e.epoch = s.epoch;
            e.recent.clear();
        }
        e.recent
            .push_back((s.base_seq, s.base_seq + b.records.len() as u64 - 1, b.base_offset));
        if e.recent.len() > REMEMBERED {
            e.recent.pop_front();
        }
    }

    /// Decide on a batch of `len` records stamped `s`.
    pub fn check(&self, s: &ProducerStamp) -> SeqCheck {
        let Some(e) = self.by_pid.get(&s.pid) else {
            return if s.base_seq == 0 {
                SeqCheck::Append
            } else {
                SeqCheck::OutOfOrder
            };
        };
        if s.epoch < e.epoch {
            return if s.transactional {
                SeqCheck::Fenced
            } else {
                SeqCheck::OutOfOrder
            };
        }
        if s.epoch > e.epoch {
            // A bumped epoch restarts sequences at zero (KIP-360).
            return if s.base_seq == 0 {
                SeqCheck::Append
            } else {
                SeqCheck::OutOfOrder
            };
        }
        if let Some(&(_, _, off)) = e.recent.iter().find(|r| r.0 == s.base_seq) {
            return SeqCheck::Duplicate(off);
        }
        let next = e.recent.back().map_or(0, |r| r.1 + 1);
        if s.base_seq == next {
            SeqCheck::Append
        } else {
            SeqCheck::OutOfOrder
        }
    }
}
