//! Link behaviour: latency draws, the cuts that partitions install, and
//! the degradations (slow, lossy, duplicating, reordering links) that
//! link faults lay over the scenario's link model for a while.

use crate::config::NetworkConfig;
use crate::ids::Addr;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeSet;

/// A directed cut: messages from any node in `from` to any node in `to` are dropped.
#[derive(Clone, Debug)]
pub struct Cut {
    /// Id used to heal the cut.
    pub id: u64,
    /// Senders.
    pub from: BTreeSet<Addr>,
    /// Receivers.
    pub to: BTreeSet<Addr>,
}

impl Cut {
    /// Whether this cut drops a message from `src` to `dst`.
    pub fn blocks(&self, src: Addr, dst: Addr) -> bool {
        self.from.contains(&src) && self.to.contains(&dst)
    }
}

/// One-way latency of a message, microseconds: a fixed base plus an
/// exponential tail, the usual shape of datacenter RTT distributions.
pub fn draw_latency_us(cfg: &NetworkConfig, rng: &mut ChaCha8Rng) -> u64 {
    let jitter = if cfg.latency_jitter_us == 0 {
        0.0
    } else {
        let u: f64 = rng.gen_range(f64::MIN_POSITIVE..1.0);
        -u.ln() * cfg.latency_jitter_us as f64
    };
    cfg.latency_base_us + jitter as u64
}

/// A degradation of every link between two node sets, both ways, laid
/// over the scenario's link model while a link fault lasts.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Degrade {
    /// Id used to heal it.
    pub id: u64,
    /// One side.
    pub a: BTreeSet<Addr>,
    /// The other side.
    pub b: BTreeSet<Addr>,
    /// Latency added to each message, µs.
    pub extra_latency_us: u64,
    /// Mean of the exponential jitter added on top, µs.
    pub extra_jitter_us: u64,
    /// Probability of dropping a message.
    pub loss: f64,
    /// Probability of delivering a message twice.
    pub duplicate: f64,
    /// Probability of holding a message back.
    pub reorder: f64,
    /// Largest hold-back, ms.
    pub reorder_max_ms: u64,
}

impl Degrade {
    /// Whether the degradation covers a message from `src` to `dst`.
    pub fn covers(&self, src: Addr, dst: Addr) -> bool {
        (self.a.contains(&src) && self.b.contains(&dst)) || (self.b.contains(&src) && self.a.contains(&dst))
    }

    /// The link model with this degradation laid over it. Independent
    /// chances combine as independent events (`1 - (1-p)(1-q)`).
    pub fn apply(&self, base: &mut NetworkConfig) {
        // A zero chance leaves the base value bit for bit as it was.
        let or = |p: f64, q: f64| if q > 0.0 { 1.0 - (1.0 - p) * (1.0 - q) } else { p };
        base.latency_base_us += self.extra_latency_us;
        base.latency_jitter_us += self.extra_jitter_us;
        base.loss = or(base.loss, self.loss);
        base.duplicate = or(base.duplicate, self.duplicate);
        base.reorder = or(base.reorder, self.reorder);
        base.reorder_max_ms = base.reorder_max_ms.max(self.reorder_max_ms);
    }
}
