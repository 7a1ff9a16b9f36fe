//! The reference the end-to-end checker compares the sink with, fed one
//! accepted event at a time as the log audit counts the committed logs:
//! the built-in chain's window model, or a user's function over the events.

use crate::config::WindowKind;
use crate::plugins::{Reference, ReferenceFn};
use crate::record::Record;
use crate::sink::Table;
use crate::stream::ReferenceAggregates;

/// A reference model being fed.
#[derive(Clone)]
pub enum RefModel {
    /// The built-in chain's windows, summed as events arrive.
    Builtin(ReferenceAggregates),
    /// A user's function, called once at the end over every event fed.
    User {
        /// The function.
        f: ReferenceFn,
        /// The events fed so far.
        events: Vec<Record>,
    },
}

impl std::fmt::Debug for RefModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RefModel::Builtin(r) => r.fmt(f),
            RefModel::User { events, .. } => write!(f, "RefModel::User({} events)", events.len()),
        }
    }
}

impl RefModel {
    /// The model a run's reference asks for, if any.
    pub fn new(reference: &Reference, window: &WindowKind) -> Option<Self> {
        match reference {
            Reference::Builtin => Some(RefModel::Builtin(ReferenceAggregates::new(window))),
            Reference::User(f) => Some(RefModel::User {
                f: f.clone(),
                events: Vec::new(),
            }),
            Reference::None => None,
        }
    }

    /// One accepted event.
    pub fn add(&mut self, r: &Record) {
        match self {
            RefModel::Builtin(m) => m.add(r.key, r.event_time_ms, r.size),
            RefModel::User { events, .. } => events.push(*r),
        }
    }

    /// The built-in model's rows of windows ending at or before `end_ms`,
    /// taken out (a user's function sees every event at once: nothing).
    pub fn take_closed(&mut self, end_ms: u64) -> Table {
        match self {
            RefModel::Builtin(m) => m.take_closed(end_ms),
            RefModel::User { .. } => Table::new(),
        }
    }

    /// The table.
    pub fn finish(self) -> Table {
        match self {
            RefModel::Builtin(m) => m.finish(),
            RefModel::User { f, events } => f(&events),
        }
    }
}
