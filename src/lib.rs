//! streamsim as a library: run a scenario with your own stream operator
//! and sink under the harness's faults and checks, from Rust.
//!
//! The CLI (`streamsim run`, `sweep`, ...) runs the scenario's built-in
//! operator chain. A [`Simulation`] runs the same scenario with an
//! [`Operator`] of yours in every processor task, optionally a [`Sink`] of
//! yours, and a reference function the end-to-end checker compares the
//! sink's final rows with; the result is the object `streamsim run --json`
//! prints.
//!
//! ```
//! use streamsim::{Context, KeyedState, Operator, Record, Simulation, Table, Verdict, Window};
//!
//! const ALL_TIME: Window = Window { start_ms: 0, end_ms: u64::MAX };
//!
//! /// Counts events per key; the counts are checkpointed state.
//! #[derive(Clone)]
//! struct CountPerKey;
//!
//! impl Operator for CountPerKey {
//!     type State = KeyedState<u64>;
//!
//!     fn initial_state(&self) -> Self::State {
//!         KeyedState::new()
//!     }
//!
//!     fn process(&mut self, state: &mut Self::State, record: &Record, ctx: &mut Context<'_>) {
//!         ctx.accept(record); // one row in the sink's `events` table
//!         let n = state.entry(record.key);
//!         *n += 1;
//!         ctx.upsert(record.key, ALL_TIME, *n, 0);
//!     }
//! }
//!
//! /// What the sink must hold, from the events it accepted.
//! fn reference(events: &[Record]) -> Table {
//!     let mut t = Table::new();
//!     for r in events {
//!         t.entry((r.key, ALL_TIME)).or_insert((0, 0)).0 += 1;
//!     }
//!     t
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/scenarios/enrich-crash.toml");
//! let result = Simulation::from_file(path)?
//!     .operator(CountPerKey)
//!     .reference(reference)
//!     .run(1)?;
//! assert_eq!(result.verdict, Verdict::Pass, "{}", result.replay);
//! # Ok(())
//! # }
//! ```
//!
//! In a test, [`Simulation::run_seeds`] runs many seeds on all cores and
//! [`SeedRuns::assert_all_pass`] panics with the first failing seed's
//! violations and the command that replays it. See `docs/API.md`.

#![warn(missing_docs)]

pub use streamsim_sim::{
    BuiltinChain, Context, EventId, KeyedState, Operator, Output, Plugins, Record, Row, RunError, RunResult, SeedRuns,
    Simulation, Sink, Table, TimeDomain, Timer, Verdict, Violation, Window, SEED_VAR,
};

/// The simulation crate whole: scenarios, the run harness, every model.
pub use streamsim_sim as sim;
