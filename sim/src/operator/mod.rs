//! The processing a task runs over its partition's records: the
//! [`Operator`] trait a user implements, the [`Context`] it emits through,
//! keyed state and timers the harness checkpoints with the task's offset.
//!
//! The harness owns everything that must survive a crash: the operator's
//! [`Operator::State`], its registered timers and the watermark. It
//! snapshots them in the same sink transaction as the task's offset and
//! output rows (under exactly-once delivery), and a task that takes a
//! partition over, after a crash or a rebalance, starts from a fresh
//! operator instance and the restored snapshot. Whatever an operator keeps
//! elsewhere (its own fields, a global) is not part of that contract: the
//! records since the last checkpoint are processed again, by a new
//! instance.
//!
//! The built-in chain (de-duplication, windows, watermark) is one
//! implementation: [`BuiltinChain`].

mod builtin;
mod context;
mod hosted;
mod keyed;
mod user;

pub use builtin::BuiltinChain;
pub use context::{Context, TimeDomain, Timer};
pub use hosted::Snapshot;
pub(crate) use hosted::{factory as hosted_factory, OperatorFactory, TaskOperator};
pub use keyed::KeyedState;
pub use user::Operator;

pub use crate::record::{EventId, Record};
pub use crate::stream::{Output, Window};
