//! The stream processor's operators: pure, deterministic, synchronous.
//!
//! One [`TaskState`] runs per events-topic partition (Kafka Streams style:
//! every event of a key lives in one partition, so a task's keyed state is
//! complete; a salted hot key is the exception, its sub-keys are the keys
//! here and [`salt`] re-aggregates them). For each consumed record the processor calls
//! [`TaskState::process`]; the operator chain is
//!
//! 1. **de-duplication** by event id with a processing-time TTL,
//! 2. **lateness** (Flink's `isElementLate`), late elements go to the
//!    [`Output::Late`] side output,
//! 3. **window assignment** (tumbling, sliding, session) and aggregation of
//!    count and bytes per `(key, window)`,
//! 4. **watermark** advance, **firing** and **purging** of windows.
//!
//! Why this order: de-duplication comes first so that a retry of an event
//! that was already accepted is dropped silently even when, by the time it
//! arrives, it would count as late. Were lateness checked first, that retry
//! would land in the Late side output and a checker that subtracts Late ids
//! from the processed set would wrongly subtract an event that *is* counted.
//!
//! The semantics make the final sink contents a pure function of the set of
//! accepted events (see [`reference_aggregates`]): applying every output in
//! order (upsert = replace, delete = remove) leaves exactly the reference
//! aggregates, whatever the arrival order, as long as the watermark never
//! purges a window a non-late element could still reach (it cannot: a
//! window is purged at `end + allowed_lateness <= watermark`, while a
//! non-late element has `event_time + allowed_lateness >= watermark` and
//! every window holding it ends after its event time).
//!
//! Relation to Flink: Flink's bounded-out-of-orderness watermark is
//! `max - ooo - 1` and it tests `t + lateness <= watermark`, fires at
//! `end - 1 <= watermark` and cleans up at `end - 1 + lateness <= watermark`.
//! Here the watermark is `max - ooo` and the tests are `<`, `end <=` and
//! `end + lateness <=`: the same decisions, shifted by one.
//!
//! State is structurally shared so that the checkpoint snapshot, a plain
//! `clone()`, copies little: persistent ordered maps for sessions, and for
//! fixed windows a shared map plus the keys changed since it was last merged
//! into (`pane_keys.rs`). Every iteration that reaches an output is in key
//! order, so every output is deterministic.

mod dedup;
mod end_key;
mod pane_keys;
mod panes;
mod reference;
pub mod salt;
mod watermark;
mod window;

#[cfg(test)]
mod tests;

pub use crate::config::OperatorConfig;
pub use reference::{reference_aggregates, take_closed, ReferenceAggregates};
pub use window::{Window, WindowKind};

use crate::record::{EventId, Record};
use dedup::Dedup;
use end_key::EndKey;
pub(crate) use watermark::Watermark;
use window::WindowStore;

/// What one call of the operator chain emits, in a deterministic order.
#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    /// One per event that passes de-duplication and is not late: the sink's
    /// `events` table gets a row (an insert, not an upsert).
    Event {
        /// Event id.
        id: EventId,
        /// Event key.
        key: u64,
        /// Event time, ms.
        event_time_ms: u64,
    },
    /// Current aggregate of a window (emitted when the watermark first passes
    /// the window end, and again on each later in-lateness update). The sink
    /// upserts by `(key, window)`.
    Upsert {
        /// Key.
        key: u64,
        /// Window.
        window: Window,
        /// Events in the window.
        count: u64,
        /// Sum of the values aggregated: the built-in chain sums the events' sizes, a user's operator what it chooses.
        bytes: u64,
    },
    /// Retraction of a window row (a session window that merged into a
    /// bigger one after having fired).
    Delete {
        /// Key.
        key: u64,
        /// The retracted window.
        window: Window,
    },
    /// Side output: the event arrived too late
    /// (`event_time + allowed_lateness < watermark`). Counted, not silently dropped.
    Late {
        /// Event id.
        id: EventId,
        /// Event key.
        key: u64,
        /// Event time, ms.
        event_time_ms: u64,
    },
}

/// The keyed state of one task: de-duplication ids, open windows, watermark.
///
/// `Clone` is the checkpoint snapshot and costs O(1): every collection is an
/// `imbl` persistent map or set, so a clone shares all nodes with the
/// original and later writes copy only the touched path (a few B-tree nodes).
/// A `std` map would make every checkpoint copy the whole state, which at a
/// million open entries and a checkpoint a second would dominate a run.
#[derive(Clone, Debug)]
pub struct TaskState {
    cfg: OperatorConfig,
    watermark: Watermark,
    dedup: Dedup,
    windows: WindowStore,
    duplicates_dropped: u64,
    late_events: u64,
}

impl TaskState {
    /// Empty state for `cfg`. Panics on a configuration that
    /// [`OperatorConfig::validate`] refuses.
    pub fn new(cfg: &OperatorConfig) -> Self {
        if let Err(e) = cfg.validate() {
            panic!("invalid operator configuration: {e}");
        }
        TaskState {
            cfg: *cfg,
            watermark: Watermark::new(cfg.max_out_of_orderness_ms),
            dedup: Dedup::new(cfg.dedup_ttl_ms),
            windows: WindowStore::default(),
            duplicates_dropped: 0,
            late_events: 0,
        }
    }

    /// Runs one record through the chain, appending what it emits to `out`:
    /// nothing (a duplicate), `Late`, or `Event` followed by any `Delete`s
    /// (by window) and `Upsert`s (by window end, key, window start).
    /// `now_ms` is processing (virtual) time, used for the dedup TTL.
    pub fn process(&mut self, rec: &Record, now_ms: u64, out: &mut Vec<Output>) {
        self.dedup.expire(now_ms);
        // Accepted ids are remembered whether late or not: a retry of a
        // late element is late again (the watermark never goes back), and
        // without the id it would write a second row to the side output,
        // which the sink's exactly-once check rightly counts. A broker power
        // loss at the peak, with producers retrying after their request
        // timeout, showed it.
        if !self.dedup.accept(rec.id, now_ms) {
            self.duplicates_dropped += 1;
            return;
        }
        let t = rec.event_time_ms;
        if self.watermark.is_late(t, self.cfg.allowed_lateness_ms) {
            self.late_events += 1;
            out.push(Output::Late {
                id: rec.id,
                key: rec.key,
                event_time_ms: t,
            });
            return;
        }
        out.push(Output::Event {
            id: rec.id,
            key: rec.key,
            event_time_ms: t,
        });

        // Windows whose row must be (re-)emitted by this call.
        let mut touched: Vec<EndKey> = Vec::new();
        // Fired session rows retracted by a merge.
        let mut deletes: Vec<EndKey> = Vec::new();
        let size = u64::from(rec.size);
        match self.cfg.window {
            WindowKind::Session { gap_ms } => self.windows.add_session(rec.key, t, gap_ms, size, &mut deletes),
            kind => {
                for w in window::assign_fixed(&kind, t) {
                    self.windows.add_fixed(rec.key, w, size, &mut touched);
                }
            }
        }

        self.watermark.observe(t);
        self.emit(deletes, touched, out);
    }

    /// End of input: the watermark goes to +infinity, every open window fires
    /// (unfired ones emit their `Upsert`), and all state is purged, the dedup
    /// ids included, so [`TaskState::state_entries`] is 0 afterwards. A
    /// record processed after `finish` is late.
    pub fn finish(&mut self, out: &mut Vec<Output>) {
        self.watermark.finish();
        self.emit(Vec::new(), Vec::new(), out);
        self.dedup.clear();
        debug_assert_eq!(self.windows.len(), 0);
    }

    /// Fires what the watermark reached, emits deletes then upserts in a
    /// deterministic order, and purges what is past the allowed lateness.
    fn emit(&mut self, mut deletes: Vec<EndKey>, mut touched: Vec<EndKey>, out: &mut Vec<Output>) {
        let wm = self.watermark.current();
        self.windows.fire_up_to(wm, &mut touched);
        deletes.sort_unstable();
        out.extend(deletes.into_iter().map(|k| Output::Delete {
            key: k.key,
            window: k.window(),
        }));
        // No window is named twice: `add_fixed` names fired windows and
        // `fire_up_to` unfired ones, and an element's windows are distinct.
        touched.sort_unstable();
        debug_assert!(touched.windows(2).all(|p| p[0] < p[1]));
        for k in touched {
            let (count, bytes) = self.windows.aggregate(&k);
            out.push(Output::Upsert {
                key: k.key,
                window: k.window(),
                count,
                bytes,
            });
        }
        self.windows.purge(wm, self.cfg.allowed_lateness_ms);
    }

    /// Current watermark, ms (`u64::MAX` after [`TaskState::finish`]).
    pub fn watermark_ms(&self) -> u64 {
        self.watermark.current()
    }

    /// Records dropped as duplicates within the TTL.
    pub fn duplicates_dropped(&self) -> u64 {
        self.duplicates_dropped
    }

    /// Records sent to the Late side output.
    pub fn late_events(&self) -> u64 {
        self.late_events
    }

    /// Dedup ids plus open window entries: the size of a snapshot.
    pub fn state_entries(&self) -> usize {
        self.dedup.len() + self.windows.len()
    }
}
