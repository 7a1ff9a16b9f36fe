//! One task: the processing of one events-topic partition by its current
//! owner. It resumes from the sink's checkpoint, consumes committed records
//! in offset order, runs the operator chain and commits to the sink in the
//! scenario's delivery mode:
//!
//! - `exactly_once`: output rows, the next offset and the operator state go
//!   in one sink transaction per commit interval, fenced by the owner's
//!   generation and conditional on the previously committed offset, so a
//!   replay after a crash re-creates exactly the rows that were not committed.
//! - `at_least_once`: rows are written as soon as a fetch is processed, and
//!   the offset and state are committed afterwards; a crash in between
//!   replays the fetch and writes its rows again.

use crate::config::{Delivery, SaltConfig};
use crate::ids::PartitionId;
use crate::msg::Record;
use crate::operator::TaskOperator;
use crate::stream::Output;
use crate::wire::{Checkpoint, Row};
use std::sync::Arc;

/// Where a task is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for the sink's checkpoint.
    Loading,
    /// Consuming and committing.
    Running,
}

/// A transaction sent to the sink and not yet answered.
#[derive(Clone)]
pub struct InFlight {
    /// Request id (kept across retries, so the sink recognises a retried commit).
    pub req: u64,
    /// Rows.
    pub rows: Arc<Vec<Row>>,
    /// Checkpoint committed with the rows, if any.
    pub checkpoint: Option<Arc<Checkpoint>>,
    /// Whether the sink checks the claim.
    pub fenced: bool,
    /// When the last attempt left, ms.
    pub sent_ms: u64,
}

/// The state of one partition's processing on its owner.
pub struct Task {
    /// Partition.
    pub partition: PartitionId,
    /// Life phase.
    pub phase: Phase,
    /// Load request under way, with when it left.
    pub load: Option<(u64, u64)>,
    /// The operator, with its state at `position`.
    pub op: Box<dyn TaskOperator>,
    /// Next offset to process.
    pub position: u64,
    /// Offset of the last committed checkpoint.
    pub committed: u64,
    /// Whether the committed checkpoint is the final one.
    pub committed_finished: bool,
    /// Output rows not yet handed to the sink.
    pub pending: Vec<Row>,
    /// The transaction under way.
    pub in_flight: Option<InFlight>,
    /// A fetch for this partition is under way.
    pub fetching: bool,
    /// Do not fetch before this, ms (idle poll wait or leader change).
    pub idle_until_ms: u64,
    /// Do not contact the sink before this, ms (retry backoff).
    pub backoff_until_ms: u64,
    /// Current retry backoff, ms.
    pub backoff_ms: u64,
    /// Next periodic commit, ms.
    pub next_commit_ms: u64,
    /// The high watermark last seen for the partition.
    pub hw_seen: u64,
    /// The last fetch found nothing new below the high watermark.
    pub caught_up: bool,
    /// End of input reached and every window fired.
    pub finished: bool,
    /// The task's thread is busy with what it processed until then, µs
    /// (`task_us_per_record`): it fetches nothing and its rows leave no earlier.
    pub busy_until_us: u64,
}

impl Task {
    /// A task that must first load its checkpoint.
    pub fn new(partition: PartitionId, fresh: Box<dyn TaskOperator>) -> Self {
        Task {
            partition,
            phase: Phase::Loading,
            load: None,
            op: fresh,
            position: 0,
            committed: 0,
            committed_finished: false,
            pending: Vec::new(),
            in_flight: None,
            fetching: false,
            idle_until_ms: 0,
            backoff_until_ms: 0,
            backoff_ms: 0,
            next_commit_ms: 0,
            hw_seen: 0,
            caught_up: false,
            finished: false,
            busy_until_us: 0,
        }
    }

    /// The sink answered the load: resume from its checkpoint (or from the start).
    pub fn resume(
        &mut self,
        checkpoint: Option<&Checkpoint>,
        mut fresh: Box<dyn TaskOperator>,
        now_ms: u64,
        commit_interval_ms: u64,
    ) {
        self.phase = Phase::Running;
        self.load = None;
        self.pending.clear();
        self.in_flight = None;
        self.fetching = false;
        self.caught_up = false;
        match checkpoint {
            Some(c) => {
                fresh.restore(&c.state);
                self.op = fresh;
                self.position = c.offset;
                self.committed = c.offset;
                self.committed_finished = c.finished;
                self.finished = c.finished;
            }
            None => {
                self.op = fresh;
                self.position = 0;
                self.committed = 0;
                self.committed_finished = false;
                self.finished = false;
            }
        }
        self.next_commit_ms = now_ms + commit_interval_ms;
    }

    /// Whether the task may ask for more records.
    pub fn wants_fetch(&self, delivery: Delivery, max_pending_rows: usize, now_ms: u64) -> bool {
        self.phase == Phase::Running
            && !self.fetching
            && !self.finished
            && now_ms >= self.idle_until_ms
            && self.pending.len() < max_pending_rows
            // At least once: the rows of one fetch must be written before the next is processed,
            // so an offset commit never covers unwritten rows.
            && !(delivery == Delivery::AtLeastOnce && (self.in_flight.is_some() || !self.pending.is_empty()))
    }

    /// Run the operator chain over fetched records; returns how many were processed.
    /// Under salting, the first stage aggregates a hot key's events by their sub-key.
    pub fn process(
        &mut self,
        records: impl Iterator<Item = (u64, Record)>,
        hw: u64,
        now_ms: u64,
        salt: Option<&SaltConfig>,
    ) -> u64 {
        let mut out = Vec::new();
        let mut n = 0;
        for (off, mut rec) in records {
            if off < self.position || off >= hw {
                continue;
            }
            if let Some(s) = salt {
                rec.key = s.routing_key(rec.key, rec.id.client, rec.id.seq);
            }
            out.clear();
            self.op.process(&rec, now_ms, &mut out);
            self.pending.extend(out.drain(..).map(|o| to_row(o, rec.born_us)));
            self.position = off + 1;
            n += 1;
        }
        self.hw_seen = self.hw_seen.max(hw);
        n
    }

    /// The rows for a transaction. The next commit's rows are about as many, so
    /// room for them is taken at once rather than by doubling from nothing.
    fn take_pending(&mut self) -> Vec<Row> {
        let room = self.pending.len();
        std::mem::replace(&mut self.pending, Vec::with_capacity(room))
    }

    /// Fire the processing-time timers due at `now_ms`.
    pub fn tick(&mut self, now_ms: u64) {
        let mut out = Vec::new();
        self.op.tick(now_ms, &mut out);
        self.pending.extend(out.into_iter().map(|o| to_row(o, 0)));
    }

    /// End of input: fire every timer and window.
    pub fn finish(&mut self, now_ms: u64) {
        let mut out = Vec::new();
        self.op.finish(now_ms, &mut out);
        self.pending.extend(out.into_iter().map(|o| to_row(o, 0)));
        self.finished = true;
    }

    /// Nothing processed is left uncommitted: the task can be given up without a replay.
    pub fn quiescent(&self) -> bool {
        self.phase != Phase::Running
            || (self.in_flight.is_none()
                && self.pending.is_empty()
                && self.position == self.committed
                && self.finished == self.committed_finished)
    }

    /// The next transaction to send, if one is due; `force` commits now whatever the interval.
    pub fn next_txn(
        &mut self,
        delivery: Delivery,
        now_ms: u64,
        commit_interval_ms: u64,
        req: u64,
        force: bool,
    ) -> Option<InFlight> {
        if self.phase != Phase::Running || self.in_flight.is_some() || now_ms < self.backoff_until_ms {
            return None;
        }
        let progressed = self.position > self.committed || (self.finished && !self.committed_finished);
        let commit_due = force || now_ms >= self.next_commit_ms || self.finished;
        let txn = match delivery {
            Delivery::ExactlyOnce => {
                let work = progressed || !self.pending.is_empty();
                if !commit_due || !work {
                    return None;
                }
                self.next_commit_ms = now_ms + commit_interval_ms;
                InFlight {
                    req,
                    rows: Arc::new(self.take_pending()),
                    checkpoint: Some(self.checkpoint()),
                    fenced: true,
                    sent_ms: now_ms,
                }
            }
            // Its transactions are the instance's, not the task's (`eos.rs`).
            Delivery::ExactlyOnceTxn => return None,
            Delivery::AtLeastOnce if !self.pending.is_empty() => InFlight {
                req,
                rows: Arc::new(self.take_pending()),
                checkpoint: None,
                fenced: false,
                sent_ms: now_ms,
            },
            Delivery::AtLeastOnce => {
                if !commit_due || !progressed {
                    return None;
                }
                self.next_commit_ms = now_ms + commit_interval_ms;
                InFlight {
                    req,
                    rows: Arc::new(Vec::new()),
                    checkpoint: Some(self.checkpoint()),
                    fenced: true,
                    sent_ms: now_ms,
                }
            }
        };
        self.in_flight = Some(txn.clone());
        Some(txn)
    }

    pub(super) fn checkpoint(&self) -> Arc<Checkpoint> {
        Arc::new(Checkpoint {
            from_offset: self.committed,
            offset: self.position,
            state: self.op.snapshot(),
            finished: self.finished,
        })
    }

    /// The sink committed the transaction under way.
    pub fn committed_ok(&mut self) {
        if let Some(t) = self.in_flight.take() {
            if let Some(c) = t.checkpoint {
                self.committed = c.offset;
                self.committed_finished = c.finished;
            }
        }
        self.backoff_ms = 0;
    }

    /// The transaction timed out: resend the same one after a backoff.
    pub fn retry_due(
        &mut self,
        now_ms: u64,
        timeout_ms: u64,
        backoff_min_ms: u64,
        backoff_max_ms: u64,
    ) -> Option<InFlight> {
        let t = self.in_flight.as_mut()?;
        if now_ms < t.sent_ms + timeout_ms {
            return None;
        }
        if self.backoff_until_ms <= t.sent_ms {
            self.backoff_ms = (self.backoff_ms * 2).clamp(backoff_min_ms, backoff_max_ms);
            self.backoff_until_ms = now_ms + self.backoff_ms;
        }
        if now_ms < self.backoff_until_ms {
            return None;
        }
        t.sent_ms = now_ms;
        Some(t.clone())
    }
}

fn to_row(o: Output, born_us: u64) -> Row {
    match o {
        Output::Event { id, .. } => Row::Event { id, born_us },
        Output::Late { id, .. } => Row::Late { id, born_us },
        Output::Upsert {
            key,
            window,
            count,
            bytes,
        } => Row::Upsert {
            key,
            window,
            count,
            bytes,
        },
        Output::Delete { key, window } => Row::Delete { key, window },
    }
}
