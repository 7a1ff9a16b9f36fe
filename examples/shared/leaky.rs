//! The planted bug of `custom_operator_bug`: totals kept outside the
//! operator's checkpointed state.

use std::cell::RefCell;
use std::collections::BTreeMap;
use streamsim::{Context, KeyedState, Operator, Record, Timer};

thread_local! {
    /// Totals by key, kept where no checkpoint sees them. Each run has its
    /// own thread, so runs do not share it; a crashed task's replacement does.
    static EXTERNAL: RefCell<BTreeMap<u64, (u64, u64)>> = const { RefCell::new(BTreeMap::new()) };
}

/// The bug: only the flush bookkeeping is state; the totals are not.
#[derive(Clone, Default)]
pub struct LeakyTotals;

impl Operator for LeakyTotals {
    type State = KeyedState<super::enrich::Totals>;

    fn initial_state(&self) -> Self::State {
        KeyedState::new()
    }

    fn process(&mut self, state: &mut Self::State, record: &Record, ctx: &mut Context<'_>) {
        ctx.accept(record);
        EXTERNAL.with(|e| {
            let mut t = e.borrow_mut();
            let row = t.entry(record.key).or_insert((0, 0));
            row.0 += 1;
            row.1 += super::enrich::weight(record.key) * u64::from(record.size);
        });
        super::enrich::schedule_flush(state.entry(record.key), record.key, ctx);
    }

    fn on_timer(&mut self, state: &mut Self::State, timer: Timer, ctx: &mut Context<'_>) {
        state.entry(timer.key).flush_due = false;
        let (count, value) = EXTERNAL.with(|e| e.borrow().get(&timer.key).copied().unwrap_or_default());
        ctx.upsert(timer.key, super::enrich::ALL_TIME, count, value);
    }
}
