//! The fabric's alarms, on a small madsim runtime: nodes whose receive loops
//! tick every 10 ms, across restarts and with several nodes sharing instants.

use super::Fabric;
use crate::clock;
use crate::config::NetworkConfig;
use crate::ids::Addr;
use crate::trace::TraceHash;
use madsim::time::Duration;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

/// How a test disturbs node 0 at 25 ms: given the fabric, the runtime's handle and the node.
type Cycle = fn(&Fabric, &madsim::runtime::Handle, madsim::task::NodeId);

/// One wake-up of a ticking node's receive.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Tick {
    node: u32,
    incarnation: u32,
    us: u64,
}

/// The ticks of `nodes` nodes over 61 ms, each receive loop waiting 10 ms
/// from its last wake-up, with node 0 disturbed at 25 ms by `cycle`; and the
/// madsim timers the fabric armed for them.
fn ticks(nodes: u32, cycle: Cycle) -> (Vec<Tick>, u64) {
    let rt = madsim::runtime::Runtime::with_seed_and_config(1, madsim::Config::default());
    rt.add_simulator::<Fabric>();
    rt.block_on(async move {
        let _clock = clock::bind();
        let fabric = madsim::plugin::simulator::<Fabric>();
        fabric.configure(
            nodes as usize,
            NetworkConfig::default(),
            25.0,
            1,
            Arc::new(TraceHash::default()),
        );
        let wakes: Arc<Mutex<Vec<Tick>>> = Arc::default();
        let handle = madsim::runtime::Handle::current();
        let mut ids = Vec::new();
        for node in 0..nodes {
            let (f, w) = (fabric.clone(), wakes.clone());
            let incarnations = Arc::new(AtomicU32::new(0));
            let id = handle
                .create_node()
                .name(format!("ticker {node}"))
                .init(move || {
                    let (f, w, n) = (f.clone(), w.clone(), incarnations.clone());
                    async move {
                        let incarnation = n.fetch_add(1, Ordering::SeqCst);
                        let mut inbox = Vec::new();
                        loop {
                            f.recv(Addr(node), clock::now_ms() + 10, &mut inbox).await;
                            let us = clock::now_us();
                            w.lock().expect("wakes").push(Tick { node, incarnation, us });
                        }
                    }
                })
                .build()
                .id();
            fabric.bind(Addr(node), id);
            ids.push(id);
        }
        // Node 0's first incarnation ticks at 10 and 20 ms and has an alarm pending for 30.
        madsim::time::sleep(Duration::from_millis(25)).await;
        cycle(&fabric, &handle, ids[0]);
        madsim::time::sleep(Duration::from_millis(36)).await;
        let out = wakes.lock().expect("wakes").clone();
        (out, fabric.timers_armed())
    })
}

/// The instants (µs) of one incarnation of one node.
fn of(ticks: &[Tick], node: u32, incarnation: u32) -> Vec<u64> {
    ticks
        .iter()
        .filter(|t| t.node == node && t.incarnation == incarnation)
        .map(|t| t.us)
        .collect()
}

/// A restart told to the fabric: the new incarnation parks its own receive
/// and ticks from its start (25 ms), and nothing wakes the dead one.
#[test]
fn a_node_powered_off_restarted_and_on_ticks_again() {
    let (wakes, _) = ticks(1, |fabric, handle, node| {
        fabric.set_up(Addr(0), false);
        handle.restart(node);
        fabric.set_up(Addr(0), true);
    });
    assert_eq!(of(&wakes, 0, 0), [10_000, 20_000]);
    assert_eq!(of(&wakes, 0, 1), [35_000, 45_000, 55_000]);
}

/// The same through a kill, as a crash and its restart run it.
#[test]
fn a_node_killed_and_restarted_ticks_again() {
    let (wakes, _) = ticks(1, |fabric, handle, node| {
        fabric.set_up(Addr(0), false);
        handle.kill(node);
        handle.restart(node);
        fabric.set_up(Addr(0), true);
    });
    assert_eq!(of(&wakes, 0, 0), [10_000, 20_000]);
    assert_eq!(of(&wakes, 0, 1), [35_000, 45_000, 55_000]);
}

/// madsim's `restart` does not tell simulators: the fabric keeps the old
/// incarnation's alarm at 30 ms as the node's, so the new incarnation's
/// receive (due at 35 ms) sets none of its own at 25. An alarm rings the
/// node's receive parked when it fires, not the task that set it, so the
/// new incarnation wakes at 30, sets its alarm for 35 and ticks. (A madsim
/// timer per receive, as the fabric once armed, woke the dead task at 30 and
/// left the new one asleep for ever.)
#[test]
fn an_alarm_left_by_the_old_incarnation_wakes_the_new_one() {
    let (wakes, _) = ticks(1, |_, handle, node| handle.restart(node));
    assert_eq!(of(&wakes, 0, 0), [10_000, 20_000]);
    assert_eq!(of(&wakes, 0, 1), [35_000, 45_000, 55_000]);
}

/// Four nodes ticking in step share one madsim timer per instant. Node 0,
/// restarted at 25 ms, ticks at 35, 45 and 55 and the others at 10 to 60.
#[test]
fn nodes_waiting_for_the_same_instant_share_one_timer() {
    let (wakes, timers) = ticks(4, |fabric, handle, node| {
        fabric.set_up(Addr(0), false);
        handle.restart(node);
        fabric.set_up(Addr(0), true);
    });
    for node in 1..4 {
        assert_eq!(of(&wakes, node, 0), [10_000, 20_000, 30_000, 40_000, 50_000, 60_000]);
    }
    assert_eq!(of(&wakes, 0, 1), [35_000, 45_000, 55_000]);
    // The instants 10 to 70 ms (the last pending when the test ends) and node
    // 0's 35 to 65: 11 timers, where one per receive took 28.
    assert_eq!(timers, 11, "{wakes:?}");
}
