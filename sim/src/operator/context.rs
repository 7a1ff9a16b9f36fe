//! What an operator sees and does during one call: the clocks, its output
//! rows and side output, and its timers.

use crate::record::Record;
use crate::stream::{Output, Window};
use imbl::OrdSet;

/// Which clock a timer follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TimeDomain {
    /// Event time: fires once the task's watermark reaches the timer's time.
    EventTime,
    /// Processing time: fires once the task's virtual clock reaches it (the
    /// task looks every few milliseconds, and before each record).
    ProcessingTime,
}

/// A registered timer: one per (domain, key, time); registering it again is a no-op.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timer {
    /// Which clock.
    pub domain: TimeDomain,
    /// When, ms on that clock.
    pub at_ms: u64,
    /// The key it was registered for.
    pub key: u64,
}

/// Timers of one task, ordered by time so firing pops from the front. Part
/// of the checkpoint, as Flink keeps timers in keyed state.
#[derive(Clone, Debug, Default)]
pub(crate) struct Timers {
    event: OrdSet<(u64, u64)>,
    processing: OrdSet<(u64, u64)>,
}

impl Timers {
    pub(crate) fn len(&self) -> usize {
        self.event.len() + self.processing.len()
    }

    fn set(&mut self, t: Timer) {
        match t.domain {
            TimeDomain::EventTime => self.event.insert((t.at_ms, t.key)),
            TimeDomain::ProcessingTime => self.processing.insert((t.at_ms, t.key)),
        };
    }

    fn delete(&mut self, t: Timer) {
        match t.domain {
            TimeDomain::EventTime => self.event.remove(&(t.at_ms, t.key)),
            TimeDomain::ProcessingTime => self.processing.remove(&(t.at_ms, t.key)),
        };
    }

    /// Removes and returns every timer of `domain`, in time order.
    pub(crate) fn take_all(&mut self, domain: TimeDomain) -> Vec<Timer> {
        let set = match domain {
            TimeDomain::EventTime => std::mem::take(&mut self.event),
            TimeDomain::ProcessingTime => std::mem::take(&mut self.processing),
        };
        set.into_iter()
            .map(|(at_ms, key)| Timer { domain, at_ms, key })
            .collect()
    }

    /// When the earliest timer of `domain` is due, ms, if there is one.
    pub(crate) fn next_ms(&self, domain: TimeDomain) -> Option<u64> {
        let set = match domain {
            TimeDomain::EventTime => &self.event,
            TimeDomain::ProcessingTime => &self.processing,
        };
        set.get_min().map(|&(at_ms, _)| at_ms)
    }

    /// Removes and returns the earliest timer of `domain` due at `now_ms`.
    pub(crate) fn pop_due(&mut self, domain: TimeDomain, now_ms: u64) -> Option<Timer> {
        let set = match domain {
            TimeDomain::EventTime => &mut self.event,
            TimeDomain::ProcessingTime => &mut self.processing,
        };
        let &(at_ms, key) = set.get_min()?;
        if at_ms > now_ms {
            return None;
        }
        set.remove(&(at_ms, key));
        Some(Timer { domain, at_ms, key })
    }
}

/// The operator's handle for one call: clocks, outputs, timers.
pub struct Context<'a> {
    pub(crate) now_ms: u64,
    pub(crate) watermark_ms: u64,
    pub(crate) out: &'a mut Vec<Output>,
    pub(crate) timers: &'a mut Timers,
}

impl Context<'_> {
    /// The task's processing time, virtual ms.
    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    /// The task's event-time watermark, ms: the largest event time processed
    /// minus the scenario's `processor.max_out_of_orderness_ms`; during
    /// `process` it does not yet count the record being processed, and it is
    /// `u64::MAX` once the input ended.
    pub fn watermark_ms(&self) -> u64 {
        self.watermark_ms
    }

    /// Emits a row as it is, for operators that build [`Output`]s themselves.
    pub fn emit(&mut self, row: Output) {
        self.out.push(row);
    }

    /// Marks a record as processed: one row in the sink's `events` table,
    /// which the end-to-end checker counts (every acknowledged event must
    /// have exactly one row there or in the side output). Call it from
    /// [`Operator::process`](super::Operator::process): the row's end-to-end
    /// latency runs from the event's generation, which a timer no longer knows;
    /// and under `exactly_once_txn` the row must leave in the same transaction
    /// as the input offset past the record, which the checker's log audit
    /// relies on when it folds that offset (a row accepted later, from a timer,
    /// would be missed by its reference model and reported as `sink.aggregates`).
    pub fn accept(&mut self, record: &Record) {
        self.out.push(Output::Event {
            id: record.id,
            key: record.key,
            event_time_ms: record.event_time_ms,
        });
    }

    /// Sends a record to the side output (the sink's `late_events` table)
    /// instead of the main one: counted, not silently dropped.
    pub fn side_output(&mut self, record: &Record) {
        self.out.push(Output::Late {
            id: record.id,
            key: record.key,
            event_time_ms: record.event_time_ms,
        });
    }

    /// Upserts the aggregate row of `(key, window)`: `count` events whose
    /// values sum to `sum`. The sink replaces an existing row.
    pub fn upsert(&mut self, key: u64, window: Window, count: u64, sum: u64) {
        self.out.push(Output::Upsert {
            key,
            window,
            count,
            bytes: sum,
        });
    }

    /// Deletes the row of `(key, window)`.
    pub fn delete(&mut self, key: u64, window: Window) {
        self.out.push(Output::Delete { key, window });
    }

    /// Registers a timer; [`Operator::on_timer`](super::Operator::on_timer)
    /// gets it when its clock reaches `timer.at_ms`.
    pub fn set_timer(&mut self, timer: Timer) {
        self.timers.set(timer);
    }

    /// Removes a timer registered before (nothing if there is none).
    pub fn delete_timer(&mut self, timer: Timer) {
        self.timers.delete(timer);
    }
}
