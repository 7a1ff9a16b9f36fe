//! Seeded event generators for streamsim: how many events the simulated clients
//! send and when (rate profiles), to which keys, how large, and how late their
//! event time runs.
//!
//! A scenario's `[workload]` table deserialises into a [`WorkloadSpec`]; compiling
//! it gives a [`Workload`], shared by all clients; each client draws its own
//! [`ClientStream`] of [`EventDraw`]s, interval by interval of virtual time.
//!
//! Everything random comes from a ChaCha8 stream derived from the run's seed and a
//! stream name ([`stream_rng`]), and every sampler uses platform-independent maths,
//! so a seed gives the same events on any machine, whatever else the simulation
//! draws and in whatever intervals a client asks for its events.
//!
//! ```
//! use std::path::Path;
//! use streamsim_workloads::{Workload, WorkloadSpec};
//!
//! let spec: WorkloadSpec = toml::from_str(r#"
//!     rate = { kind = "constant", events_per_s = 2000.0 }
//!     keys = { kind = "zipf", count = 100000, exponent = 1.0 }
//! "#).unwrap();
//! let workload = Workload::new(&spec, Path::new(".")).unwrap();
//! let mut client = workload.client_stream(7, 0, 4); // client 0 of 4: 500 events/s
//! let mut events = Vec::new();
//! for t in (0..1000).step_by(10) {
//!     client.draw(t, t + 10, &mut events);
//! }
//! assert!((400..600).contains(&events.len()));
//! ```

#![warn(missing_docs)]

mod csv_export;
mod diurnal;
mod error;
mod event_time;
mod keys;
mod omb;
mod profile;
mod rate;
mod rate_csv;
mod rng;
mod size;
mod spec;
mod stream;

pub use csv_export::{write_csv, CSV_COLUMNS};
pub use error::FieldError;
pub use event_time::EventTimeSpec;
pub use keys::KeySpec;
pub use omb::driver::{parse_omb_driver, read_omb_driver, OmbDriver, OmbProperty};
pub use omb::{
    from_omb_yaml, from_omb_yaml_str, omb_file_kind, parse_omb_workload, read_omb_workload, OmbError, OmbFileKind,
    OmbIgnored, OmbKeyDistributor, OmbWorkload, OMB_KEY_COUNT, OMB_MAX_BACKLOG_GB, OMB_MAX_NODES, OMB_MAX_RATE,
    OMB_MAX_RATE_START, OMB_NO_KEY_COUNT, OMB_WORKLOAD_FIELDS,
};
pub use rate::{Interpolation, RateSpec, RateStep, Spike, MAX_PEAK_FACTOR};
pub use rate_csv::TIME_COLUMN;
pub use rng::{fnv1a64, mix64, stream_rng};
pub use size::SizeSpec;
pub use spec::{SchemaVersionWeight, WorkloadSpec};
pub use stream::{ClientStream, EventDraw, TimedDraw, Workload};
