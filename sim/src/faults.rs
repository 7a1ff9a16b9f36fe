//! Fault injection at scheduled virtual times: crashes with loss of
//! unflushed data, isolation, partitions between sets, one-way cuts and
//! pauses. Targets named by role (`leader:3`) are resolved when the fault
//! fires. At the drain every fault heals, so the checker judges
//! durability rather than availability.

use crate::clock;
use crate::ids::{Addr, Role};
use crate::net::Cut;
use crate::scenario::{FaultKind, FaultSpec, Target};
use crate::world::{Shared, TimelineKind};
use madsim::task::NodeId;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use streamsim_reports::FaultWindow;

/// The live state of injected faults.
#[derive(Default)]
pub struct FaultState {
    crashed: BTreeSet<Addr>,
    paused: BTreeSet<Addr>,
    cuts: BTreeMap<u64, usize>,
    next_cut: u64,
    /// Windows for the report.
    pub windows: Vec<FaultWindow>,
}

/// Controls nodes: the madsim ids behind addresses and the fault state.
pub struct Injector {
    sh: Arc<Shared>,
    nodes: Vec<NodeId>,
    state: Mutex<FaultState>,
}

impl Injector {
    /// An injector over the run's nodes (indexed by address).
    pub fn new(sh: Arc<Shared>, nodes: Vec<NodeId>) -> Self {
        Injector {
            sh,
            nodes,
            state: Mutex::new(FaultState::default()),
        }
    }

    fn resolve(&self, t: &Target) -> Option<Addr> {
        let l = &self.sh.layout;
        match t {
            Target::Broker(b) => Some(l.broker(*b)),
            Target::Controller => Some(l.controller()),
            Target::Gateway(g) => Some(l.gateway(*g)),
            Target::Client(c) => Some(l.client(*c)),
            Target::Processor(i) => Some(l.processor(*i)),
            Target::Sink => l.sink.then(|| l.sink()),
            Target::LeaderOf(p) => {
                let md = self.sh.metadata.lock().expect("metadata lock");
                md.get(*p).and_then(|s| s.leader).map(|b| l.broker(b))
            }
        }
    }

    fn label(&self, a: Addr) -> String {
        self.sh.layout.role(a).to_string()
    }

    fn window_start(&self, label: String) -> usize {
        let mut st = self.state.lock().expect("fault lock");
        st.windows.push(FaultWindow {
            label,
            start_ms: clock::now_ms(),
            end_ms: None,
        });
        st.windows.len() - 1
    }

    fn window_end(&self, i: usize) {
        let mut st = self.state.lock().expect("fault lock");
        if st.windows[i].end_ms.is_none() {
            st.windows[i].end_ms = Some(clock::now_ms());
        }
    }

    /// Power off a node: tasks die, unflushed log data is lost.
    pub fn crash(&self, a: Addr) {
        if !self.state.lock().expect("fault lock").crashed.insert(a) {
            return;
        }
        self.sh.fabric.set_up(a, false);
        madsim::runtime::Handle::current().kill(self.nodes[a.0 as usize]);
        if let Role::Broker(b) = self.sh.layout.role(a) {
            self.sh.disks[b].lock().expect("disk lock").crash();
        }
        self.sh.timeline(
            TimelineKind::FaultStart,
            &format!("crash {}", self.label(a)),
            &[1, a.0 as u64],
        );
    }

    /// Power a crashed node back on.
    pub fn restart(&self, a: Addr) {
        if !self.state.lock().expect("fault lock").crashed.remove(&a) {
            return;
        }
        madsim::runtime::Handle::current().restart(self.nodes[a.0 as usize]);
        self.sh.fabric.set_up(a, true);
        self.sh.timeline(
            TimelineKind::FaultEnd,
            &format!("restart {}", self.label(a)),
            &[2, a.0 as u64],
        );
    }

    fn add_cut(&self, from: BTreeSet<Addr>, to: BTreeSet<Addr>, both: bool, label: &str) -> u64 {
        let mut st = self.state.lock().expect("fault lock");
        st.next_cut += 1;
        let id = st.next_cut;
        drop(st);
        self.sh.fabric.add_cut(Cut {
            id: id * 2,
            from: from.clone(),
            to: to.clone(),
        });
        if both {
            self.sh.fabric.add_cut(Cut {
                id: id * 2 + 1,
                from: to,
                to: from,
            });
        }
        let w = self.window_start(label.to_string());
        self.state.lock().expect("fault lock").cuts.insert(id, w);
        self.sh.timeline(TimelineKind::FaultStart, label, &[3, id]);
        id
    }

    fn heal_cut(&self, id: u64) {
        let Some(w) = self.state.lock().expect("fault lock").cuts.remove(&id) else {
            return;
        };
        self.sh.fabric.heal_cut(id * 2);
        self.sh.fabric.heal_cut(id * 2 + 1);
        self.window_end(w);
        self.sh
            .timeline(TimelineKind::FaultEnd, &format!("heal cut {id}"), &[4, id]);
    }

    fn all_but(&self, a: &BTreeSet<Addr>) -> BTreeSet<Addr> {
        (0..self.sh.layout.nodes() as u32)
            .map(Addr)
            .filter(|x| !a.contains(x))
            .collect()
    }

    fn resolve_set(&self, ts: &[Target]) -> BTreeSet<Addr> {
        ts.iter().filter_map(|t| self.resolve(t)).collect()
    }

    /// Run one scheduled fault to completion (its heal included).
    pub async fn run_fault(self: Arc<Self>, f: FaultSpec) {
        clock::sleep_until_ms((f.at_s * 1000.0) as u64).await;
        if self.sh.is_workload_over() {
            return;
        }
        let dur_ms = |s: f64| (s * 1000.0) as u64;
        match f.kind {
            FaultKind::Crash {
                target,
                restart_after_s,
            } => {
                let Some(a) = self.resolve(&target) else {
                    return self.skip(&target);
                };
                let w = self.window_start(format!("crash {}", self.label(a)));
                self.crash(a);
                if let Some(r) = restart_after_s {
                    madsim::time::sleep(std::time::Duration::from_millis(dur_ms(r))).await;
                    self.restart(a);
                    self.window_end(w);
                }
            }
            FaultKind::Isolate { target, duration_s } => {
                let Some(a) = self.resolve(&target) else {
                    return self.skip(&target);
                };
                let one: BTreeSet<Addr> = [a].into();
                let id = self.add_cut(
                    one.clone(),
                    self.all_but(&one),
                    true,
                    &format!("isolate {}", self.label(a)),
                );
                madsim::time::sleep(std::time::Duration::from_millis(dur_ms(duration_s))).await;
                self.heal_cut(id);
            }
            FaultKind::Partition {
                side_a,
                side_b,
                duration_s,
            } => {
                let (a, b) = (self.resolve_set(&side_a), self.resolve_set(&side_b));
                let label = format!("partition {} | {}", self.names(&a), self.names(&b));
                let id = self.add_cut(a, b, true, &label);
                madsim::time::sleep(std::time::Duration::from_millis(dur_ms(duration_s))).await;
                self.heal_cut(id);
            }
            FaultKind::OneWay { from, to, duration_s } => {
                let (a, b) = (self.resolve_set(&from), self.resolve_set(&to));
                let label = format!("one-way {} -> {}", self.names(&a), self.names(&b));
                let id = self.add_cut(a, b, false, &label);
                madsim::time::sleep(std::time::Duration::from_millis(dur_ms(duration_s))).await;
                self.heal_cut(id);
            }
            FaultKind::Pause { target, duration_s } => {
                let Some(a) = self.resolve(&target) else {
                    return self.skip(&target);
                };
                let w = self.window_start(format!("pause {}", self.label(a)));
                self.state.lock().expect("fault lock").paused.insert(a);
                madsim::runtime::Handle::current().pause(self.nodes[a.0 as usize]);
                self.sh.timeline(
                    TimelineKind::FaultStart,
                    &format!("pause {}", self.label(a)),
                    &[5, a.0 as u64],
                );
                madsim::time::sleep(std::time::Duration::from_millis(dur_ms(duration_s))).await;
                self.resume(a);
                self.window_end(w);
            }
        }
    }

    fn resume(&self, a: Addr) {
        if self.state.lock().expect("fault lock").paused.remove(&a) {
            madsim::runtime::Handle::current().resume(self.nodes[a.0 as usize]);
            self.sh.timeline(
                TimelineKind::FaultEnd,
                &format!("resume {}", self.label(a)),
                &[6, a.0 as u64],
            );
        }
    }

    fn names(&self, s: &BTreeSet<Addr>) -> String {
        s.iter().map(|a| self.label(*a)).collect::<Vec<_>>().join(",")
    }

    fn skip(&self, t: &Target) {
        self.sh.timeline(
            TimelineKind::FaultStart,
            &format!("fault on {t} skipped: no such node now"),
            &[7],
        );
    }

    /// Heal every fault: restart crashed nodes, resume paused ones, remove cuts.
    pub fn heal_all(&self) {
        let (crashed, paused, cuts): (Vec<Addr>, Vec<Addr>, Vec<u64>) = {
            let st = self.state.lock().expect("fault lock");
            (
                st.crashed.iter().copied().collect(),
                st.paused.iter().copied().collect(),
                st.cuts.keys().copied().collect(),
            )
        };
        for a in crashed {
            self.restart(a);
        }
        for a in paused {
            self.resume(a);
        }
        for id in cuts {
            self.heal_cut(id);
        }
        let now = clock::now_ms();
        let mut st = self.state.lock().expect("fault lock");
        for w in st.windows.iter_mut() {
            if w.end_ms.is_none() {
                w.end_ms = Some(now);
            }
        }
    }

    /// Whether a node is currently crashed.
    pub fn is_down(&self, a: Addr) -> bool {
        self.state.lock().expect("fault lock").crashed.contains(&a)
    }

    /// Fault windows so far.
    pub fn windows(&self) -> Vec<FaultWindow> {
        self.state.lock().expect("fault lock").windows.clone()
    }
}
