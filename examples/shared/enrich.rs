//! The examples' operator: each event is enriched with its customer's tier
//! (reference data looked up by key) and totalled per key, the running
//! totals flushed to the sink on a processing-time timer.

use streamsim::{Context, KeyedState, Operator, Record, Table, TimeDomain, Timer, Window};

/// The window of a per-key total: all of time.
pub const ALL_TIME: Window = Window {
    start_ms: 0,
    end_ms: u64::MAX,
};

/// How long a key's changed total waits before it is written, ms.
pub const FLUSH_MS: u64 = 500;

/// The enrichment: a customer tier's weight, by key. Static reference data,
/// the same in every instance, so it is configuration, not state.
pub fn weight(key: u64) -> u64 {
    [1, 2, 5][(key % 3) as usize]
}

/// A key's running totals: events, and the sum of their weighted sizes.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Totals {
    pub count: u64,
    pub value: u64,
    /// A flush timer is set for the key.
    pub flush_due: bool,
}

/// Enrich, then total per key; the totals are checkpointed state.
#[derive(Clone, Default)]
pub struct EnrichAndTotal;

impl Operator for EnrichAndTotal {
    type State = KeyedState<Totals>;

    fn initial_state(&self) -> Self::State {
        KeyedState::new()
    }

    fn process(&mut self, state: &mut Self::State, record: &Record, ctx: &mut Context<'_>) {
        ctx.accept(record);
        let t = state.entry(record.key);
        t.count += 1;
        t.value += weight(record.key) * u64::from(record.size);
        schedule_flush(t, record.key, ctx);
    }

    fn on_timer(&mut self, state: &mut Self::State, timer: Timer, ctx: &mut Context<'_>) {
        let t = state.entry(timer.key);
        t.flush_due = false;
        ctx.upsert(timer.key, ALL_TIME, t.count, t.value);
    }

    fn state_entries(&self, state: &Self::State) -> usize {
        state.len()
    }
}

/// Sets the key's flush timer unless one is pending.
pub fn schedule_flush(t: &mut Totals, key: u64, ctx: &mut Context<'_>) {
    if !t.flush_due {
        t.flush_due = true;
        ctx.set_timer(Timer {
            domain: TimeDomain::ProcessingTime,
            at_ms: ctx.now_ms() + FLUSH_MS,
            key,
        });
    }
}

/// What the sink must hold: every accepted event counted once, per key.
pub fn reference(events: &[Record]) -> Table {
    let mut table = Table::new();
    for r in events {
        let row = table.entry((r.key, ALL_TIME)).or_insert((0, 0));
        row.0 += 1;
        row.1 += weight(r.key) * u64::from(r.size);
    }
    table
}

/// The examples' scenario: a processor instance crashes mid-run.
pub fn scenario() -> &'static str {
    concat!(env!("CARGO_MANIFEST_DIR"), "/examples/scenarios/enrich-crash.toml")
}

/// `--seed N` from the command line, if given.
pub fn seed_arg() -> Option<u64> {
    let args: Vec<String> = std::env::args().collect();
    let i = args.iter().position(|a| a == "--seed")?;
    let v = args.get(i + 1).expect("--seed needs a number");
    Some(v.parse().expect("--seed needs a whole number"))
}
