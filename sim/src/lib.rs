//! The simulated world of streamsim.
//!
//! Everything here runs inside madsim's seeded, single-threaded executor:
//! clients, gateways, brokers and the controller are madsim nodes that can be
//! killed, paused and restarted; messages between them travel over the
//! project's own [`net::Fabric`], which delivers every message due at a 1 ms
//! tick together and models latency, bandwidth, partitions, loss,
//! duplication and reordering.

#[cfg(not(madsim))]
compile_error!(
    "streamsim-sim must be built with `--cfg madsim` (set in .cargo/config.toml). \
     A RUSTFLAGS variable in the environment replaces those flags: unset it, or add `--cfg madsim` to it."
);

pub mod calibration;
pub mod checker;
pub mod client;
pub mod clock;
pub mod config;
pub mod consumer_group;
pub mod event_sets;
pub mod faults;
pub mod gateway;
pub mod ids;
pub mod log;
pub mod msg;
pub mod net;
pub mod operator;
pub mod plugins;
pub mod processor;
pub mod record;
pub mod resources;
pub mod rewrite;
pub mod run;
pub mod sampler;
pub mod scenario;
pub mod shrink;
pub mod simulation;
pub mod sink;
pub mod stream;
pub mod swarm;
pub mod timeline;
pub mod trace;
pub mod trace_log;
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
