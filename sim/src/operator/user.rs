//! The trait a user implements.

use super::context::{Context, Timer};
use crate::record::Record;

/// A user's per-record processing, run by the processor task that owns the
/// partition. Called only from the simulated task, so it runs under the
/// seeded executor: it must be deterministic (no wall clock, no thread-local
/// random numbers, ordered maps when iteration order reaches an output).
///
/// `process` gets every record of the partition in offset order, once per
/// processing; after a crash the records since the last checkpoint are
/// processed again by a fresh instance whose state is the checkpoint's.
pub trait Operator: Send + 'static {
    /// State the harness checkpoints and restores. `Clone` is the snapshot
    /// and is taken at every checkpoint, so make it cheap: [`KeyedState`](super::KeyedState)
    /// (a persistent map) clones in O(1).
    type State: Clone + Send + Sync + 'static;

    /// The state of a partition nothing was processed of yet.
    fn initial_state(&self) -> Self::State;

    /// One record. Emit output rows through `ctx`; register timers there.
    fn process(&mut self, state: &mut Self::State, record: &Record, ctx: &mut Context<'_>);

    /// A timer registered through [`Context::set_timer`] fired: an
    /// event-time timer once the watermark reached its time, a
    /// processing-time timer once the task's clock did.
    fn on_timer(&mut self, state: &mut Self::State, timer: Timer, ctx: &mut Context<'_>) {
        let _ = (state, timer, ctx);
    }

    /// End of input: the task read its whole partition after the workload
    /// ended. Every timer pending then has fired once (event time first, the
    /// watermark at +infinity); timers set from then on never fire. Emit
    /// whatever is still held back.
    fn finish(&mut self, state: &mut Self::State, ctx: &mut Context<'_>) {
        let _ = (state, ctx);
    }

    /// Entries in `state`, which the harness charges on the wire and at the
    /// sink when a checkpoint carries it (16 bytes each).
    fn state_entries(&self, state: &Self::State) -> usize {
        let _ = state;
        0
    }
}
