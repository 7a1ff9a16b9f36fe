//! Link behaviour: latency draws and the cuts that partitions install.

use crate::ids::Addr;
use crate::scenario::NetworkConfig;
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
