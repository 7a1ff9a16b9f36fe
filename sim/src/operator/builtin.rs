//! The built-in operator chain as an [`Operator`]: de-duplication,
//! lateness, windows and watermark, all in [`TaskState`].

use super::context::Context;
use super::user::Operator;
use crate::config::OperatorConfig;
use crate::record::Record;
use crate::stream::TaskState;

/// The scenario's own operator chain (`[processor]` de-duplication, window,
/// watermark and lateness): what a run uses when no operator is given.
#[derive(Clone, Debug)]
pub struct BuiltinChain {
    cfg: OperatorConfig,
}

impl BuiltinChain {
    /// The chain for these settings. Panics on settings that
    /// [`OperatorConfig::validate`] refuses (scenario loading refuses them first).
    pub fn new(cfg: OperatorConfig) -> Self {
        if let Err(e) = cfg.validate() {
            panic!("invalid operator configuration: {e}");
        }
        BuiltinChain { cfg }
    }
}

impl Operator for BuiltinChain {
    type State = TaskState;

    fn initial_state(&self) -> TaskState {
        TaskState::new(&self.cfg)
    }

    fn process(&mut self, state: &mut TaskState, record: &Record, ctx: &mut Context<'_>) {
        state.process(record, ctx.now_ms(), ctx.out);
        // The host's watermark follows every record, the chain's only accepted ones; they agree
        // because a dropped duplicate or a late record never carries a new largest event time.
        debug_assert!(state.watermark_ms() >= ctx.watermark_ms());
    }

    fn finish(&mut self, state: &mut TaskState, ctx: &mut Context<'_>) {
        state.finish(ctx.out);
    }

    fn state_entries(&self, state: &TaskState) -> usize {
        state.state_entries()
    }
}
