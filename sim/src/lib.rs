//! The simulated world of streamsim.
//!
//! Everything here runs inside madsim's seeded, single-threaded executor:
//! clients, gateways, brokers and the controller are madsim nodes that can be
//! killed, paused and restarted; messages between them travel over the
//! project's own [`net::Fabric`], which delivers every message due at a 1 ms
//! tick together and models latency, bandwidth, partitions, loss,
//! duplication and reordering.
//!
//! A run checks the whole pipeline (no loss, no duplicates, order, exactly
//! one sink row per acknowledged event, aggregates against a reference,
//! budgets). [`Simulation`] runs a scenario from Rust, with a user's own
//! [`Operator`] in every processor task, optionally a user's [`Sink`], and
//! a reference function for the end-to-end checker:
//!
//! ```
//! use streamsim_sim::{Context, KeyedState, Operator, Record, Simulation, Table, Verdict, Window};
//!
//! const ALL_TIME: Window = Window { start_ms: 0, end_ms: u64::MAX };
//!
//! /// Sums event sizes per key, in checkpointed state.
//! #[derive(Clone)]
//! struct BytesPerKey;
//!
//! impl Operator for BytesPerKey {
//!     type State = KeyedState<(u64, u64)>;
//!
//!     fn initial_state(&self) -> Self::State {
//!         KeyedState::new()
//!     }
//!
//!     fn process(&mut self, state: &mut Self::State, r: &Record, ctx: &mut Context<'_>) {
//!         ctx.accept(r);
//!         let (n, bytes) = state.entry(r.key);
//!         *n += 1;
//!         *bytes += u64::from(r.size);
//!         let (n, bytes) = (*n, *bytes);
//!         ctx.upsert(r.key, ALL_TIME, n, bytes);
//!     }
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/scenarios/enrich-crash.toml");
//! let result = Simulation::from_file(path)?
//!     .operator(BytesPerKey)
//!     .reference(|events: &[Record]| {
//!         let mut t = Table::new();
//!         for r in events {
//!             let row = t.entry((r.key, ALL_TIME)).or_insert((0, 0));
//!             row.0 += 1;
//!             row.1 += u64::from(r.size);
//!         }
//!         t
//!     })
//!     .run(1)?;
//! assert_eq!(result.verdict, Verdict::Pass);
//! # Ok(())
//! # }
//! ```
//!
//! The layers of this crate, and what each may import, are drawn in the
//! repository's ARCHITECTURE.md; the API in docs/API.md.

#![warn(missing_docs)]

#[cfg(not(madsim))]
compile_error!(
    "streamsim-sim must be built with `--cfg madsim` (set in .cargo/config.toml). \
     A RUSTFLAGS variable in the environment replaces those flags: unset it, or add `--cfg madsim` to it."
);

pub mod autoscale;
pub mod bucket_latency;
pub mod calibration;
pub mod checker;
pub mod client;
pub mod clock;
pub mod config;
pub mod consumer_fetches;
pub mod consumer_group;
pub mod event_sets;
pub mod faults;
pub mod gateway;
pub mod ids;
pub mod lake;
pub mod log;
pub mod msg;
pub mod net;
pub mod omb;
pub mod operator;
pub mod partition_map;
pub mod plugins;
pub mod processor;
pub mod record;
pub mod record_cost;
pub mod resources;
pub mod rewrite;
pub mod run;
pub mod sampler;
pub mod scenario;
pub mod serving;
pub mod shrink;
pub mod simulation;
pub mod sink;
pub mod sizing;
pub mod stream;
pub mod subscription;
pub mod swarm;
pub mod timeline;
pub mod trace;
pub mod trace_log;
pub mod txn_wire;
pub mod watch;
pub mod wire;
pub mod world;

pub use operator::{BuiltinChain, Context, EventId, KeyedState, Operator, Output, Record, TimeDomain, Timer, Window};
pub use plugins::Plugins;
pub use run::{run_scenario, run_scenario_with, RunError, RunOptions, RunOutcome};
pub use scenario::{load_scenario, LoadedScenario, Scenario, ScenarioError};
pub use simulation::{SeedRuns, Simulation, SEED_VAR};
pub use sink::{Sink, Table};
pub use streamsim_reports::{RunResult, Verdict, Violation};
pub use wire::Row;
