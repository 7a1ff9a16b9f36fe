//! The fabric: mailboxes, links, cuts, and the receive future.

use super::alarms::Alarms;
use super::link::{draw_latency_us, Cut, Degrade};
use super::mailbox::{Envelope, NodeNet};
use crate::clock;
use crate::config::NetworkConfig;
use crate::ids::Addr;
use crate::msg::Msg;
use crate::trace::TraceHash;
use madsim::task::NodeId;
use madsim::time::{Duration, Instant, Sleep};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll, Wake, Waker};

#[cfg(test)]
mod tests;

struct Inner {
    nodes: Vec<NodeNet>,
    by_madsim: BTreeMap<NodeId, Addr>,
    link: NetworkConfig,
    /// Link faults laid over `link`, in the order they were installed.
    degrades: Vec<Degrade>,
    cuts: Vec<Cut>,
    rng: ChaCha8Rng,
    seq: u64,
    nic_bytes_per_us: f64,
    /// Deliveries are due on this grid of µs (1: as they arrive).
    quantum_us: u64,
    trace: Option<Arc<TraceHash>>,
    delivered: u64,
    dropped: u64,
    /// The instants the fabric's madsim timers are pending for.
    alarms: Alarms,
    /// Arms the fabric's madsim timers: reset to an instant and polled, it
    /// registers a timer for exactly that microsecond, and it can be reset
    /// again at once. A new madsim sleep for each timer cloned the runtime's
    /// time handle and read its clock, only to be reset: madsim rounds a
    /// sleep up to a millisecond from now.
    timer: Sleep,
    /// The instant the runtime's virtual time counts from.
    start: Instant,
    /// The fabric itself, for the [`Bell`] of each timer (set when it is configured).
    me: Weak<Fabric>,
}

/// The simulated network. Registered as a madsim simulator so that madsim
/// tells it when a node is killed or restarted: a dead node's mailbox and
/// in-flight deliveries to it vanish, as on a real host.
pub struct Fabric {
    inner: Mutex<Inner>,
}

impl madsim::plugin::Simulator for Fabric {
    fn new(_rand: &madsim::rand::GlobalRng, time: &madsim::time::TimeHandle, _config: &madsim::Config) -> Self {
        Fabric {
            inner: Mutex::new(Inner {
                nodes: Vec::new(),
                by_madsim: BTreeMap::new(),
                link: NetworkConfig::default(),
                degrades: Vec::new(),
                cuts: Vec::new(),
                rng: ChaCha8Rng::seed_from_u64(0),
                seq: 0,
                nic_bytes_per_us: 25e9 / 8.0 / 1e6,
                quantum_us: 1,
                trace: None,
                delivered: 0,
                dropped: 0,
                alarms: Alarms::default(),
                timer: time.sleep(Duration::ZERO),
                start: clock::start_of(time),
                me: Weak::new(),
            }),
        }
    }

    fn reset_node(&self, id: NodeId) {
        let mut g = self.lock();
        if let Some(&a) = g.by_madsim.get(&id) {
            let n = &mut g.nodes[a.0 as usize];
            n.queue.clear();
            n.waker = None;
            n.timer_us = u64::MAX;
        }
    }
}

impl Fabric {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("fabric lock")
    }

    /// Set up the fabric for a run: node count, link model, NIC speed, seed.
    pub fn configure(
        self: &Arc<Self>,
        nodes: usize,
        link: NetworkConfig,
        nic_gbps: f64,
        seed: u64,
        trace: Arc<TraceHash>,
    ) {
        let mut g = self.lock();
        g.nodes = (0..nodes)
            .map(|_| NodeNet {
                up: true,
                timer_us: u64::MAX,
                ..Default::default()
            })
            .collect();
        g.quantum_us = link.delivery_quantum_us.max(1);
        g.link = link;
        g.nic_bytes_per_us = nic_gbps * 1e9 / 8.0 / 1e6;
        g.rng = streamsim_workloads::stream_rng(seed, "fabric");
        g.trace = Some(trace);
        g.alarms = Alarms::default();
        g.me = Arc::downgrade(self);
    }

    /// Give `addr` a NIC of its own speed, MB/s, instead of the fabric's.
    pub fn set_nic_mb_s(&self, addr: Addr, mb_s: f64) {
        self.lock().nodes[addr.0 as usize].nic_bytes_per_us = Some(mb_s);
    }

    /// Remember which madsim node carries which address.
    pub fn bind(&self, addr: Addr, id: NodeId) {
        self.lock().by_madsim.insert(id, addr);
    }

    /// Mark a node up or down; a down node neither sends nor receives.
    pub fn set_up(&self, addr: Addr, up: bool) {
        let mut g = self.lock();
        let n = &mut g.nodes[addr.0 as usize];
        n.up = up;
        if !up {
            n.queue.clear();
        }
        // The task that runs after a restart parks a receive of its own and
        // sets its own alarm; the old one's alarm then rings nothing.
        n.waker = None;
        n.timer_us = u64::MAX;
    }

    /// Install a cut.
    pub fn add_cut(&self, cut: Cut) {
        self.lock().cuts.push(cut);
    }

    /// Remove a cut.
    pub fn heal_cut(&self, id: u64) {
        self.lock().cuts.retain(|c| c.id != id);
    }

    /// Lay a degradation over the links it covers.
    pub fn add_degrade(&self, d: Degrade) {
        self.lock().degrades.push(d);
    }

    /// Remove a degradation.
    pub fn heal_degrade(&self, id: u64) {
        self.lock().degrades.retain(|d| d.id != id);
    }

    /// Remove every cut and degradation.
    pub fn heal_all(&self) {
        let mut g = self.lock();
        g.cuts.clear();
        g.degrades.clear();
    }

    /// Forget every parked receiver and queued message at the end of a run.
    /// A parked receiver's waker keeps its task, and so the run's shared
    /// state and this fabric, alive: without this the whole world of every
    /// finished run stays in memory, which a sweep of many seeds in one
    /// process cannot afford.
    pub fn release(&self) {
        let mut g = self.lock();
        for n in g.nodes.iter_mut() {
            n.waker = None;
            n.queue.clear();
        }
    }

    /// Accumulated NIC busy time of a node, µs.
    pub fn nic_busy_us(&self, addr: Addr) -> u64 {
        self.lock().nodes[addr.0 as usize].nic_busy_us
    }

    /// Messages delivered and dropped so far.
    pub fn counters(&self) -> (u64, u64) {
        let g = self.lock();
        (g.delivered, g.dropped)
    }

    /// madsim timers the fabric has armed to wake parked receives.
    pub fn timers_armed(&self) -> u64 {
        self.lock().alarms.timers()
    }

    /// The madsim timer of instant `at` fired: wake every parked receive
    /// whose alarm is due by then. A node that asked for `at` and then for
    /// an earlier alarm was woken by that one and holds a later alarm or
    /// none by now, as does a restarted node: they sleep on.
    fn ring(&self, at: u64) {
        let mut g = self.lock();
        g.alarms.rung(at);
        for n in &g.nodes {
            if n.timer_us <= at {
                if let Some(w) = &n.waker {
                    w.wake_by_ref();
                }
            }
        }
    }

    /// Send `msg` from `src` to `dst`, leaving `src` no earlier than `depart_us`
    /// (when the sender's CPU finished producing it).
    pub fn send(&self, src: Addr, dst: Addr, msg: Msg, depart_us: u64) {
        let bytes = msg.bytes();
        let now_us = clock::now_us();
        let mut g = self.lock();
        let g = &mut *g;
        if !g.nodes[src.0 as usize].up || !g.nodes[dst.0 as usize].up || g.cuts.iter().any(|c| c.blocks(src, dst)) {
            g.dropped += 1;
            return;
        }
        // With no degradation covering the link this is the scenario's model
        // unchanged, so runs without link faults draw exactly as before.
        let mut link = g.link.clone();
        for d in g.degrades.iter().filter(|d| d.covers(src, dst)) {
            d.apply(&mut link);
        }
        if link.loss > 0.0 && g.rng.gen_bool(link.loss) {
            g.dropped += 1;
            return;
        }
        // Egress serialisation queues behind whatever the NIC is already sending.
        let sn = &mut g.nodes[src.0 as usize];
        let tx_us = (bytes as f64 / sn.nic_bytes_per_us.unwrap_or(g.nic_bytes_per_us)).ceil() as u64;
        let start = sn.nic_free_us.max(depart_us);
        sn.nic_free_us = start + tx_us;
        sn.nic_busy_us += tx_us;
        let wire_done = start + tx_us;
        let copies = if link.duplicate > 0.0 && g.rng.gen_bool(link.duplicate) {
            2
        } else {
            1
        };
        // Only a duplicate is a clone: the last copy takes the message itself.
        let mut msg = Some(msg);
        for copy in 0..copies {
            let mut arrive = wire_done + draw_latency_us(&link, &mut g.rng);
            if copy == 1 || (link.reorder > 0.0 && g.rng.gen_bool(link.reorder)) {
                arrive += g.rng.gen_range(0..=link.reorder_max_ms.max(1) * 1000);
            }
            // Due on the delivery grid, and strictly later than now: a node
            // never hears back within the instant it sent.
            let q = g.quantum_us;
            let due_us = arrive.max(now_us + 1).div_ceil(q) * q;
            g.seq += 1;
            let seq = g.seq;
            let dn = &mut g.nodes[dst.0 as usize];
            dn.queue.push(
                due_us,
                seq,
                Envelope {
                    src,
                    msg: if copy + 1 < copies { msg.clone() } else { msg.take() }.expect("a message for each copy"),
                },
            );
            // A receive waiting for something later gets an alarm for this
            // message here, rather than a wake-up now only to register it.
            if due_us < dn.timer_us && dn.waker.is_some() {
                dn.timer_us = due_us;
                set_alarm(g, due_us);
            }
        }
    }

    /// Receive every message due by now into `inbox`, in delivery order,
    /// waiting until one is due or until the millisecond `until_ms`, whichever
    /// is first (then nothing may arrive: it is the caller's timer). Returns the
    /// virtual µs the receive returned at, which is the node's time until it
    /// next waits: the receive reads the clock anyway, and a node reading it
    /// again pays a thread-local lookup and madsim's clock lock
    /// (docs/performance-history.md, "The time a receive returns at").
    ///
    /// The node keeps its inbox across receives, so waking up allocates
    /// nothing; the receive appends to whatever the inbox still holds.
    pub fn recv<'a>(&'a self, addr: Addr, until_ms: u64, inbox: &'a mut Vec<Envelope>) -> Recv<'a> {
        Recv {
            fabric: self,
            addr,
            until_us: until_ms.saturating_mul(1000),
            inbox,
        }
    }

    /// Moves the messages due for `addr` by `now_us` from its queue to `out`, under the
    /// lock the receive already holds.
    fn take_due(g: &mut Inner, addr: Addr, now_us: u64, out: &mut Vec<Envelope>) {
        let n = &mut g.nodes[addr.0 as usize];
        let first = out.len();
        while let Some(env) = n.queue.pop_due(now_us) {
            out.push(env);
        }
        let taken = &out[first..];
        g.delivered += taken.len() as u64;
        if let Some(t) = &g.trace {
            for e in taken {
                t.record(&[now_us, e.src.0 as u64, addr.0 as u64, e.msg.kind_code()]);
            }
        }
    }
}

/// A node's alarm is now at the virtual µs `us` (later than now): arm a madsim
/// timer for that instant unless one is pending already.
fn set_alarm(g: &mut Inner, us: u64) {
    if g.alarms.set(us) {
        let bell = Waker::from(Arc::new(Bell {
            fabric: g.me.clone(),
            at: us,
        }));
        let mut timer = Pin::new(&mut g.timer);
        timer.as_mut().reset(g.start + Duration::from_micros(us));
        // A timer at or before now would not be registered, and its instant would
        // stay armed with nothing to ring it.
        let armed = timer.poll(&mut Context::from_waker(&bell)).is_pending();
        debug_assert!(armed, "an alarm at {us} µs is not later than now");
    }
}

/// What one of the fabric's madsim timers wakes. It holds the fabric weakly:
/// a timer still pending when a run ends keeps nothing of it alive.
struct Bell {
    fabric: Weak<Fabric>,
    /// The instant the timer was armed for (madsim sets its clock only after
    /// firing the instant's timers, so the time cannot be read here).
    at: u64,
}

impl Wake for Bell {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // madsim calls this under its timer lock: ringing only wakes tasks, it arms nothing.
        if let Some(f) = self.fabric.upgrade() {
            f.ring(self.at);
        }
    }
}

/// Future of [`Fabric::recv`].
pub struct Recv<'a> {
    fabric: &'a Fabric,
    addr: Addr,
    until_us: u64,
    inbox: &'a mut Vec<Envelope>,
}

impl Future for Recv<'_> {
    type Output = u64;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u64> {
        let now = clock::now_us();
        let this = self.get_mut();
        let mut g = this.fabric.lock();
        let n = &mut g.nodes[this.addr.0 as usize];
        let head = n.queue.head_due();
        if head.is_some_and(|d| d <= now) || now >= this.until_us {
            n.waker = None;
            Fabric::take_due(&mut g, this.addr, now, this.inbox);
            return Poll::Ready(now);
        }
        if !n.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            n.waker = Some(cx.waker().clone());
        }
        // An alarm is set only when none is pending at or before the target,
        // for this receive or an earlier one of the node's: an earlier alarm
        // still wakes the node in time, and its receive sets the next then.
        if n.timer_us <= now {
            n.timer_us = u64::MAX;
        }
        let target = head.map_or(this.until_us, |d| d.min(this.until_us));
        if target < n.timer_us {
            n.timer_us = target;
            set_alarm(&mut g, target);
        }
        Poll::Pending
    }
}
