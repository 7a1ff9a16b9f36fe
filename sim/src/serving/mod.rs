//! The serving layer (`[serving]`): a query load that reads each key's
//! newest window from the sink database through a Redis-like cache, which
//! the processor keeps fresh after each commit. See docs/SCENARIOS.md,
//! "The serving layer".
//!
//! Nodes: the reader (`reader.rs`) and the cache (`cache.rs`); the sink
//! answers point reads on the connections its transactions use. Stores:
//! the database's per-key view and the readers' figures (`view.rs`,
//! `store.rs`). The processor's cache writes are in `writer.rs`.

pub mod cache;
pub mod reader;
pub mod store;
pub mod view;
pub mod wire;
pub mod writer;
