//! Fault injection at virtual times: crashes with loss of unflushed data,
//! pauses, isolation, partitions between sets, bridges, one-way cuts, slow,
//! lossy, duplicating and reordering links, and slow disks. Targets named
//! by role (`leader:3`, `follower:3`, `sink@checkpoint`) are resolved when
//! the fault fires. Every fault is a window in the report and a start and
//! an end in the timeline. At the drain every fault heals, so the checker
//! judges durability rather than availability.
//!
//! `inject.rs` runs one scheduled fault; `resolve.rs` turns targets into
//! nodes. This file holds the live state and the undo of each fault.

mod inject;
mod resolve;

use crate::clock;
use crate::ids::{Addr, Role};
use crate::net::{Cut, Degrade};
use crate::resources::Slowdown;
use crate::world::{Shared, TimelineKind};
use madsim::task::NodeId;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use streamsim_reports::FaultWindow;

/// How an active fault is undone when it heals.
#[derive(Clone, Debug)]
enum Undo {
    /// Power the node back on.
    Restart(Addr),
    /// Let the node run again.
    Resume(Addr),
    /// Remove the cuts with these fabric ids.
    Cuts(Vec<u64>),
    /// Remove the link degradation with this fabric id.
    Degrade(u64),
    /// Restore a broker's disk.
    Disk(usize, Slowdown),
}

/// A fault that has started and not yet healed.
struct Active {
    /// Index of its window in `windows`.
    window: usize,
    /// Position of the fault in the run's schedule.
    fault: usize,
    undo: Undo,
}

/// The live state of injected faults.
#[derive(Default)]
pub struct FaultState {
    crashed: BTreeSet<Addr>,
    paused: BTreeSet<Addr>,
    /// Active faults by activation id, in the order they started.
    active: BTreeMap<u64, Active>,
    next_id: u64,
    /// Windows for the report.
    pub windows: Vec<FaultWindow>,
}

/// Controls nodes: the madsim ids behind addresses and the fault state.
pub struct Injector {
    sh: Arc<Shared>,
    nodes: Vec<NodeId>,
    state: Mutex<FaultState>,
    /// Draws among candidates of role targets (`follower:P`); its own
    /// stream, so fault targeting never shifts the workload or the network.
    rng: Mutex<ChaCha8Rng>,
}

/// Handle of an active fault, to heal it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ActiveId(u64);

impl Injector {
    /// An injector over the run's nodes (indexed by address).
    pub fn new(sh: Arc<Shared>, nodes: Vec<NodeId>) -> Self {
        let rng = streamsim_workloads::stream_rng(sh.seed, "fault-targets");
        Injector {
            sh,
            nodes,
            state: Mutex::new(FaultState::default()),
            rng: Mutex::new(rng),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FaultState> {
        self.state.lock().expect("fault lock")
    }

    fn label(&self, a: Addr) -> String {
        self.sh.layout.role(a).to_string()
    }

    fn names(&self, s: &BTreeSet<Addr>) -> String {
        s.iter().map(|a| self.label(*a)).collect::<Vec<_>>().join(",")
    }

    fn name_list(&self, s: &BTreeSet<Addr>) -> Value {
        json!(s.iter().map(|a| self.label(*a)).collect::<Vec<_>>())
    }

    /// Record a fault's start: report window, timeline entry, and the undo
    /// to run when it heals.
    fn begin(&self, fault: usize, label: String, undo: Undo, mut fields: Vec<(String, Value)>) -> ActiveId {
        let now = clock::now_ms();
        let id = {
            let mut st = self.lock();
            st.windows.push(FaultWindow {
                label: label.clone(),
                start_ms: now,
                end_ms: None,
            });
            let window = st.windows.len() - 1;
            st.next_id += 1;
            let id = st.next_id;
            st.active.insert(id, Active { window, fault, undo });
            id
        };
        fields.insert(0, ("fault".into(), json!(fault)));
        fields.insert(1, ("phase".into(), json!("start")));
        self.sh
            .timeline_with(TimelineKind::FaultStart, &label, &[fault as u64, id], fields);
        ActiveId(id)
    }

    /// Heal an active fault (a no-op if the drain healed it already).
    pub fn end(&self, id: ActiveId) {
        let Some(act) = self.lock().active.remove(&id.0) else {
            return;
        };
        let text = match &act.undo {
            Undo::Restart(a) => {
                self.restart(*a);
                format!("restart {}", self.label(*a))
            }
            Undo::Resume(a) => {
                self.resume(*a);
                format!("resume {}", self.label(*a))
            }
            Undo::Cuts(ids) => {
                for c in ids {
                    self.sh.fabric.heal_cut(*c);
                }
                "heal cut".to_string()
            }
            Undo::Degrade(d) => {
                self.sh.fabric.heal_degrade(*d);
                "links back to normal".to_string()
            }
            Undo::Disk(b, _) => {
                // Another slow-disk fault on the same broker may still be on.
                let still = self.lock().active.values().find_map(|a| match a.undo {
                    Undo::Disk(x, s) if x == *b => Some(s),
                    _ => None,
                });
                self.sh.resources[*b]
                    .lock()
                    .expect("resources lock")
                    .disk
                    .set_slowdown(still);
                format!("disk of broker-{b} back to normal")
            }
        };
        let now = clock::now_ms();
        let label = {
            let mut st = self.lock();
            let w = &mut st.windows[act.window];
            w.end_ms.get_or_insert(now);
            w.label.clone()
        };
        self.sh.timeline_with(
            TimelineKind::FaultEnd,
            &format!("{text} (end of: {label})"),
            &[act.fault as u64, id.0],
            vec![
                ("fault".into(), json!(act.fault)),
                ("phase".into(), json!("end")),
                ("fault_label".into(), json!(label)),
            ],
        );
    }

    /// Power off a node: tasks die, unflushed log data is lost. Returns
    /// false (and does nothing) if the node is already down.
    fn crash(&self, a: Addr) -> bool {
        if !self.lock().crashed.insert(a) {
            return false;
        }
        // A paused node that loses power is simply off; forget the pause.
        if self.lock().paused.remove(&a) {
            madsim::runtime::Handle::current().resume(self.nodes[a.0 as usize]);
        }
        self.sh.fabric.set_up(a, false);
        madsim::runtime::Handle::current().kill(self.nodes[a.0 as usize]);
        match self.sh.layout.role(a) {
            Role::Broker(b) => crate::log::truncation::power_loss(&self.sh, b),
            // Its view of the group dies with the process: it will fetch nothing from there.
            Role::Processor(i) => self.sh.processor_positions.lock().expect("positions lock").clear(i),
            _ => {}
        }
        true
    }

    /// Power a crashed node back on.
    fn restart(&self, a: Addr) {
        if !self.lock().crashed.remove(&a) {
            return;
        }
        madsim::runtime::Handle::current().restart(self.nodes[a.0 as usize]);
        self.sh.fabric.set_up(a, true);
    }

    /// Freeze a running node; false if it is down or already frozen.
    fn pause(&self, a: Addr) -> bool {
        let mut st = self.lock();
        if st.crashed.contains(&a) || !st.paused.insert(a) {
            return false;
        }
        drop(st);
        madsim::runtime::Handle::current().pause(self.nodes[a.0 as usize]);
        true
    }

    fn resume(&self, a: Addr) {
        if self.lock().paused.remove(&a) {
            madsim::runtime::Handle::current().resume(self.nodes[a.0 as usize]);
        }
    }

    /// Install cuts from `from` to `to` (and back if `both`); returns their fabric ids.
    fn cuts(&self, pairs: &[(BTreeSet<Addr>, BTreeSet<Addr>)]) -> Vec<u64> {
        let mut ids = Vec::new();
        for (from, to) in pairs {
            let id = {
                let mut st = self.lock();
                st.next_id += 1;
                st.next_id
            };
            self.sh.fabric.add_cut(Cut {
                id,
                from: from.clone(),
                to: to.clone(),
            });
            ids.push(id);
        }
        ids
    }

    /// Lay a degradation over links; returns its fabric id.
    fn degrade(&self, mut d: Degrade) -> u64 {
        let id = {
            let mut st = self.lock();
            st.next_id += 1;
            st.next_id
        };
        d.id = id;
        self.sh.fabric.add_degrade(d);
        id
    }

    /// A note in the timeline about a fault that could not be applied.
    fn skip(&self, fault: usize, why: &str) {
        self.sh.timeline_with(
            TimelineKind::FaultStart,
            &format!("fault #{fault} skipped: {why}"),
            &[fault as u64, 0],
            vec![
                ("fault".into(), json!(fault)),
                ("phase".into(), json!("skipped")),
                ("reason".into(), json!(why)),
            ],
        );
    }

    /// Heal every fault, in the order they started.
    pub fn heal_all(&self) {
        let ids: Vec<u64> = self.lock().active.keys().copied().collect();
        for id in ids {
            self.end(ActiveId(id));
        }
        let now = clock::now_ms();
        let mut st = self.lock();
        for w in st.windows.iter_mut() {
            w.end_ms.get_or_insert(now);
        }
    }

    /// End of the run: stop every node and fault task so madsim frees them.
    /// madsim does not drop tasks still pending when its runtime drops (its
    /// timers and the tasks' futures hold each other), so without this each
    /// run would leave its whole world in memory. Killing wakes each node's
    /// tasks, which the executor then drops on the next tick; the outcome is
    /// assembled before, so this changes nothing in it.
    pub async fn teardown(&self, faults: Vec<madsim::task::JoinHandle<()>>) {
        for t in faults {
            t.abort();
        }
        let h = madsim::runtime::Handle::current();
        for id in &self.nodes {
            h.kill(*id);
        }
        self.sh.fabric.release();
        madsim::time::sleep(std::time::Duration::from_millis(1)).await;
    }

    /// Whether a node is currently crashed.
    pub fn is_down(&self, a: Addr) -> bool {
        self.lock().crashed.contains(&a)
    }

    /// Fault windows so far.
    pub fn windows(&self) -> Vec<FaultWindow> {
        self.lock().windows.clone()
    }
}
