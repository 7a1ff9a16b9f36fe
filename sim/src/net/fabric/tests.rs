//! The fabric's timers across a node's restart, on a small madsim runtime.

use super::Fabric;
use crate::clock;
use crate::config::NetworkConfig;
use crate::ids::Addr;
use crate::trace::TraceHash;
use madsim::time::Duration;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

/// Wake-ups of one node whose receive loop ticks every 10 ms, as
/// (incarnation, virtual µs), with the node powered off and on at 25 ms by
/// `cycle` (given the fabric, the runtime's handle and the node).
fn ticks_across_a_restart(cycle: fn(&Fabric, &madsim::runtime::Handle, madsim::task::NodeId)) -> Vec<(u32, u64)> {
    let rt = madsim::runtime::Runtime::with_seed_and_config(1, madsim::Config::default());
    rt.add_simulator::<Fabric>();
    rt.block_on(async move {
        let _clock = clock::bind();
        let fabric = madsim::plugin::simulator::<Fabric>();
        fabric.configure(1, NetworkConfig::default(), 25.0, 1, Arc::new(TraceHash::default()));
        let wakes: Arc<Mutex<Vec<(u32, u64)>>> = Arc::default();
        let incarnations = Arc::new(AtomicU32::new(0));
        let handle = madsim::runtime::Handle::current();
        let (f, w) = (fabric.clone(), wakes.clone());
        let node = handle
            .create_node()
            .name("ticker")
            .init(move || {
                let (f, w, n) = (f.clone(), w.clone(), incarnations.clone());
                async move {
                    let me = n.fetch_add(1, Ordering::SeqCst);
                    loop {
                        f.recv(Addr(0), clock::now_ms() + 10).await;
                        w.lock().expect("wakes").push((me, clock::now_us()));
                    }
                }
            })
            .build();
        fabric.bind(Addr(0), node.id());
        // The first incarnation ticks at 10 and 20 ms and has a timer pending for 30.
        madsim::time::sleep(Duration::from_millis(25)).await;
        cycle(&fabric, &handle, node.id());
        madsim::time::sleep(Duration::from_millis(36)).await;
        let out = wakes.lock().expect("wakes").clone();
        out
    })
}

/// madsim's `restart` does not tell simulators, unlike `kill`: the timer the
/// old incarnation left pending at 30 ms would wake a dead task, and had the
/// fabric kept it as the node's, the new incarnation's receive (due at 35 ms)
/// would never have registered its own and would sleep for ever.
#[test]
fn a_node_restarted_without_a_kill_registers_its_own_timer() {
    let wakes = ticks_across_a_restart(|fabric, handle, node| {
        fabric.set_up(Addr(0), false);
        handle.restart(node);
        fabric.set_up(Addr(0), true);
    });
    let first: Vec<u64> = wakes.iter().filter(|w| w.0 == 0).map(|w| w.1).collect();
    let second: Vec<u64> = wakes.iter().filter(|w| w.0 == 1).map(|w| w.1).collect();
    assert_eq!(first, [10_000, 20_000]);
    assert_eq!(second, [35_000, 45_000, 55_000]);
}

/// Negative control: a fabric that kept the old incarnation's timer as the
/// node's across the restart leaves the new incarnation asleep for ever.
#[test]
fn a_timer_kept_across_a_restart_leaves_the_new_incarnation_asleep() {
    let wakes = ticks_across_a_restart(|fabric, handle, node| {
        fabric.switch_power(Addr(0), false, false);
        handle.restart(node);
        fabric.switch_power(Addr(0), true, false);
    });
    let first: Vec<u64> = wakes.iter().filter(|w| w.0 == 0).map(|w| w.1).collect();
    assert_eq!(first, [10_000, 20_000], "the first incarnation ticked as before");
    assert!(
        wakes.iter().all(|w| w.0 == 0),
        "the new incarnation should never have woken: {wakes:?}"
    );
}

/// The same through a kill, as a crash and its restart run it.
#[test]
fn a_node_killed_and_restarted_ticks_again() {
    let wakes = ticks_across_a_restart(|fabric, handle, node| {
        fabric.set_up(Addr(0), false);
        handle.kill(node);
        handle.restart(node);
        fabric.set_up(Addr(0), true);
    });
    let second: Vec<u64> = wakes.iter().filter(|w| w.0 == 1).map(|w| w.1).collect();
    assert_eq!(second, [35_000, 45_000, 55_000]);
}
