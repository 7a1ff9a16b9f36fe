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
    /// When the earliest processing-time timer is due, ms: the processor wakes for it.
    fn next_tick_ms(&self) -> Option<u64>;
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

    fn next_tick_ms(&self) -> Option<u64> {
        self.timers.next_ms(TimeDomain::ProcessingTime)
    }

    fn finish(&mut self, now_ms: u64, out: &mut Vec<Output>) {
        self.watermark.finish();
        // Every timer set before the end fires once, event time first; held-back output must
        // not wait for a clock that no longer matters. Timers set from here on never fire,
        // or a timer that re-arms itself would fire forever.
        let pending = [TimeDomain::EventTime, TimeDomain::ProcessingTime].map(|d| self.timers.take_all(d));
        for t in pending.into_iter().flatten() {
            let mut ctx = Context {
                now_ms,
                watermark_ms: self.watermark.current(),
                out,
                timers: &mut self.timers,
            };
            self.op.on_timer(&mut self.state, t, &mut ctx);
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operator::{KeyedState, Timer};
    use crate::record::EventId;

    /// Counts per key, writes on a processing-time timer that re-arms itself.
    #[derive(Clone)]
    struct Rearming;

    impl Operator for Rearming {
        type State = KeyedState<u64>;

        fn initial_state(&self) -> Self::State {
            KeyedState::new()
        }

        fn process(&mut self, state: &mut Self::State, r: &Record, ctx: &mut Context<'_>) {
            ctx.accept(r);
            *state.entry(r.key) += 1;
            ctx.set_timer(Timer {
                domain: TimeDomain::EventTime,
                at_ms: r.event_time_ms + 10,
                key: r.key,
            });
            ctx.set_timer(Timer {
                domain: TimeDomain::ProcessingTime,
                at_ms: ctx.now_ms() + 5,
                key: r.key,
            });
        }

        fn on_timer(&mut self, state: &mut Self::State, t: Timer, ctx: &mut Context<'_>) {
            let n = state.get(t.key).copied().unwrap_or(0);
            ctx.upsert(
                t.key,
                crate::stream::Window {
                    start_ms: t.at_ms,
                    end_ms: t.at_ms,
                },
                n,
                0,
            );
            ctx.set_timer(Timer {
                at_ms: t.at_ms + 5,
                ..t
            });
        }
    }

    fn rec(seq: u64, key: u64, t: u64) -> Record {
        Record {
            id: EventId { client: 0, seq },
            key,
            size: 1,
            event_time_ms: t,
            schema_version: 1,
            malformed: false,
            born_us: 0,
        }
    }

    fn upserts(out: &[Output]) -> Vec<(u64, u64, u64)> {
        out.iter()
            .filter_map(|o| match o {
                Output::Upsert { key, window, count, .. } => Some((*key, window.start_ms, *count)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn timers_fire_by_their_clocks_and_survive_a_restore() {
        let make = factory(Rearming, 0);
        let mut a = make();
        let mut out = Vec::new();
        a.process(&rec(0, 7, 100), 1_000, &mut out);
        // The event-time timer at 110 waits for the watermark; the record itself is accepted.
        assert_eq!(upserts(&out), []);
        a.process(&rec(1, 8, 120), 1_001, &mut out);
        // The watermark is 120: the timer at 110 fires, and so do its re-armings at 115 and 120.
        assert_eq!(upserts(&out), [(7, 110, 1), (7, 115, 1), (7, 120, 1)]);
        out.clear();
        a.tick(1_004, &mut out);
        assert_eq!(upserts(&out), []);
        a.tick(1_005, &mut out);
        assert_eq!(upserts(&out), [(7, 1_005, 1)], "processing time reached 1005");

        // A fresh instance restored from a snapshot carries state, timers and watermark.
        let snap = a.snapshot();
        assert_eq!(snap.watermark_ms(), 120);
        let mut b = make();
        b.restore(&snap);
        let (mut from_a, mut from_b) = (Vec::new(), Vec::new());
        a.tick(1_010, &mut from_a);
        b.tick(1_010, &mut from_b);
        assert_eq!(from_a, from_b);
        assert!(!from_b.is_empty());
    }

    #[test]
    fn the_next_tick_is_the_earliest_processing_time_timer_the_processor_must_wake_for() {
        let make = factory(Rearming, 0);
        let mut a = make();
        assert_eq!(a.next_tick_ms(), None, "no timer, nothing to wake for");
        let mut out = Vec::new();
        a.process(&rec(0, 7, 100), 1_000, &mut out);
        // Event-time timers wait for records, not for the clock: only the one at 1005 counts.
        assert_eq!(a.next_tick_ms(), Some(1_005));
        a.process(&rec(1, 8, 100), 1_002, &mut out);
        assert_eq!(a.next_tick_ms(), Some(1_005), "the earliest of two");
        out.clear();
        a.tick(1_005, &mut out);
        assert_eq!(upserts(&out), [(7, 1_005, 1)]);
        // Key 8's timer at 1007 is next, before key 7's re-armed one at 1010.
        assert_eq!(a.next_tick_ms(), Some(1_007));
    }

    #[test]
    fn finishing_fires_each_pending_timer_once_even_when_it_re_arms() {
        let make = factory(Rearming, 0);
        let mut a = make();
        let mut out = Vec::new();
        a.process(&rec(0, 7, 100), 1_000, &mut out);
        out.clear();
        a.finish(1_000, &mut out);
        // One event-time and one processing-time timer were pending: two rows, then done.
        assert_eq!(upserts(&out), [(7, 110, 1), (7, 1_005, 1)]);
        assert_eq!(a.snapshot().watermark_ms(), u64::MAX);
    }
}
