//! How the processor holds an operator: one object-safe face for every
//! `Operator` type, with the operator's state, timers and watermark beside
//! it, and the snapshot the sink stores with a checkpoint.

use super::context::{Context, TimeDomain, Timers};
use super::user::Operator;
use crate::record::Record;
use crate::stream::{Output, Watermark};
use std::any::Any;
use std::sync::Arc;

/// A checkpointed task state: what the sink keeps with a partition's
/// committed offset, and what a task resumes from. Cheap to clone.
#[derive(Clone)]
pub struct Snapshot(Arc<dyn Saved>);

impl Snapshot {
    /// Entries it holds (operator state and timers): its size on the wire.
    pub fn state_entries(&self) -> usize {
        self.0.entries()
    }

    /// The task's event-time watermark when it was taken, ms.
    pub fn watermark_ms(&self) -> u64 {
        self.0.watermark_ms()
    }
}

trait Saved: Send + Sync {
    fn entries(&self) -> usize;
    fn watermark_ms(&self) -> u64;
    fn as_any(&self) -> &dyn Any;
}

struct SavedState<S> {
    state: S,
    timers: Timers,
    watermark: Watermark,
    entries: usize,
}

impl<S: Send + Sync + 'static> Saved for SavedState<S> {
    fn entries(&self) -> usize {
        self.entries
    }

    fn watermark_ms(&self) -> u64 {
        self.watermark.current()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The processor's view of one task's operator.
pub(crate) trait TaskOperator: Send {
    /// One record at processing time `now_ms`.
    fn process(&mut self, rec: &Record, now_ms: u64, out: &mut Vec<Output>);
    /// Fires the processing-time timers due at `now_ms`.
    fn tick(&mut self, now_ms: u64, out: &mut Vec<Output>);
    /// End of input: every timer fires, then the operator's `finish`.
    fn finish(&mut self, now_ms: u64, out: &mut Vec<Output>);
    /// The state to checkpoint.
    fn snapshot(&self) -> Snapshot;
    /// Resume from a checkpoint taken by an instance of the same operator.
    fn restore(&mut self, s: &Snapshot);
}

/// Builds the fresh operator instance of a task that starts or resumes.
pub(crate) type OperatorFactory = Arc<dyn Fn() -> Box<dyn TaskOperator> + Send + Sync>;

/// The factory for an operator: each task gets a clone of `proto`.
pub(crate) fn factory<O: Operator + Clone + Sync>(proto: O, max_out_of_orderness_ms: u64) -> OperatorFactory {
    Arc::new(move || {
        let op = proto.clone();
        Box::new(Hosted {
            state: op.initial_state(),
            op,
            timers: Timers::default(),
            watermark: Watermark::new(max_out_of_orderness_ms),
        })
    })
}

struct Hosted<O: Operator> {
    op: O,
    state: O::State,
    timers: Timers,
    watermark: Watermark,
}

impl<O: Operator> Hosted<O> {
    fn fire(&mut self, domain: TimeDomain, up_to_ms: u64, now_ms: u64, out: &mut Vec<Output>) {
        while let Some(t) = self.timers.pop_due(domain, up_to_ms) {
            let mut ctx = Context {
                now_ms,
                watermark_ms: self.watermark.current(),
                out,
                timers: &mut self.timers,
            };
            self.op.on_timer(&mut self.state, t, &mut ctx);
        }
    }
}

impl<O: Operator> TaskOperator for Hosted<O> {
    fn process(&mut self, rec: &Record, now_ms: u64, out: &mut Vec<Output>) {
        self.fire(TimeDomain::ProcessingTime, now_ms, now_ms, out);
        let mut ctx = Context {
            now_ms,
            watermark_ms: self.watermark.current(),
            out,
            timers: &mut self.timers,
        };
        self.op.process(&mut self.state, rec, &mut ctx);
        self.watermark.observe(rec.event_time_ms);
        let wm = self.watermark.current();
        self.fire(TimeDomain::EventTime, wm, now_ms, out);
    }

    fn tick(&mut self, now_ms: u64, out: &mut Vec<Output>) {
        self.fire(TimeDomain::ProcessingTime, now_ms, now_ms, out);
    }

    fn finish(&mut self, now_ms: u64, out: &mut Vec<Output>) {
        self.watermark.finish();
        self.fire(TimeDomain::EventTime, u64::MAX, now_ms, out);
        // Held-back output must not wait for a clock that no longer matters.
        self.fire(TimeDomain::ProcessingTime, u64::MAX, now_ms, out);
        let mut ctx = Context {
            now_ms,
            watermark_ms: self.watermark.current(),
            out,
            timers: &mut self.timers,
        };
        self.op.finish(&mut self.state, &mut ctx);
    }

    fn snapshot(&self) -> Snapshot {
        Snapshot(Arc::new(SavedState {
            state: self.state.clone(),
            timers: self.timers.clone(),
            watermark: self.watermark,
            entries: self.op.state_entries(&self.state) + self.timers.len(),
        }))
    }

    fn restore(&mut self, s: &Snapshot) {
        let saved =
            s.0.as_any()
                .downcast_ref::<SavedState<O::State>>()
                .expect("a checkpoint of this run's operator");
        self.state = saved.state.clone();
        self.timers = saved.timers.clone();
        self.watermark = saved.watermark;
    }
}
