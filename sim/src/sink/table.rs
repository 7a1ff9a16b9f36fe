//! The sink's aggregate table as a user supplies it: a [`Sink`] applies the
//! rows of each committed transaction to storage of its own, and shows the
//! checker what it holds at the end.

use crate::stream::Window;
use crate::wire::Row;
use std::collections::BTreeMap;

/// Aggregate rows: `(key, window)` to `(count, sum)`. What the built-in
/// sink's `window_counts` table holds, what a [`Sink`] shows the checker,
/// and what a reference function returns.
pub type Table = BTreeMap<(u64, Window), (u64, u64)>;

/// A user's sink: where committed output rows go.
///
/// The harness runs the database node around it: the connection pool and
/// commit costs, the stalls, outages and crashes of the scenario's faults,
/// the fencing of zombie owners and the offset check of exactly-once
/// delivery. `apply` is called once per transaction the sink commits, with
/// all of its rows, and never for a transaction a crash cut short or a
/// fence refused. Under at-least-once delivery a replay after a crash
/// applies rows again, so `apply` should be idempotent by key (an upsert),
/// as the built-in table is.
///
/// The harness keeps the `events` and `late_events` rows itself, to check
/// exactly-once delivery; a sink may also store them.
pub trait Sink: Send + 'static {
    /// Applies one committed transaction's rows, in order, for events-topic `partition`.
    fn apply(&mut self, partition: usize, rows: &[Row]);

    /// The aggregate rows it holds, which the end-to-end checker compares
    /// with the reference function's table once the run drained.
    fn contents(&self) -> Table;
}
