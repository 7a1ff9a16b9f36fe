//! What a run takes from its user rather than from the scenario file: the
//! operator each processor task runs, the sink the rows go to, and the
//! reference the checker compares the sink with. The CLI's runs use the
//! built-in ones ([`Plugins::builtin`]).

use crate::config::ProcessorConfig;
use crate::operator::{hosted_factory, BuiltinChain, Operator, OperatorFactory};
use crate::record::Record;
use crate::sink::table::{Sink, Table};
use std::sync::Arc;

/// A user's reference model: the aggregate table the sink must hold, from
/// the events the sink accepted (each once, in log order per partition).
pub type ReferenceFn = Arc<dyn Fn(&[Record]) -> Table + Send + Sync>;

type SinkFactory = Arc<dyn Fn() -> Box<dyn Sink> + Send + Sync>;

/// What the end-to-end checker compares the sink's aggregate rows with.
#[derive(Clone)]
pub(crate) enum Reference {
    /// The built-in chain's reference model, for the scenario's windows.
    Builtin,
    /// A function the user supplied.
    User(ReferenceFn),
    /// None: only the `events` rows are checked (no loss, exactly once).
    None,
}

/// The pluggable parts of a run. Cloning shares the factories; every run
/// builds its own instances from them, so parallel seeds share nothing.
#[derive(Clone)]
pub struct Plugins {
    pub(crate) operator: OperatorFactory,
    pub(crate) sink: Option<SinkFactory>,
    pub(crate) reference: Reference,
    /// The operator is the built-in chain and the sink the built-in table:
    /// the checker may then compare closed windows as the run goes.
    pub(crate) builtin: bool,
}

impl Plugins {
    /// The scenario's own operator chain, table and reference model.
    pub fn builtin(p: &ProcessorConfig) -> Self {
        Plugins {
            operator: hosted_factory(BuiltinChain::new(p.operator_config()), p.max_out_of_orderness_ms),
            sink: None,
            reference: Reference::Builtin,
            builtin: true,
        }
    }

    /// Runs `op` in every processor task instead of the built-in chain; the
    /// checker then has no reference until [`Plugins::with_reference`] gives one.
    pub fn with_operator<O: Operator + Clone + Sync>(mut self, op: O, p: &ProcessorConfig) -> Self {
        self.operator = hosted_factory(op, p.max_out_of_orderness_ms);
        self.builtin = false;
        if matches!(self.reference, Reference::Builtin) {
            self.reference = Reference::None;
        }
        self
    }

    /// Sends committed rows to a copy of `sink` (one per run) instead of the built-in table.
    pub fn with_sink<S: Sink + Clone + Sync>(mut self, sink: S) -> Self {
        self.sink = Some(Arc::new(move || Box::new(sink.clone()) as Box<dyn Sink>));
        self.builtin = false;
        self
    }

    /// Compares the sink with `f` of the events it accepted; `None` checks
    /// only that every acknowledged event reached the sink exactly once.
    pub fn with_reference(mut self, f: Option<ReferenceFn>) -> Self {
        self.reference = f.map_or(Reference::None, Reference::User);
        self
    }

    /// A fresh sink for one run, when the user gave one.
    pub(crate) fn new_sink(&self) -> Option<Box<dyn Sink>> {
        self.sink.as_ref().map(|f| f())
    }
}
