//! Turning fault targets into nodes at the moment a fault fires: role
//! targets (`leader:P`, `follower:P`) read the published metadata, and
//! `sink@checkpoint` waits (bounded) for a processor checkpoint.

use super::Injector;
use crate::clock;
use crate::ids::Addr;
use crate::scenario::Target;
use rand::Rng;
use std::collections::BTreeSet;

/// How long `sink@checkpoint` waits for a checkpoint before hitting the sink anyway, ms.
pub const CHECKPOINT_WAIT_MS: u64 = 10_000;

impl Injector {
    /// The node a target names now, or `None` (no leader, no in-sync
    /// follower, no such node in this run).
    pub(super) fn resolve(&self, t: &Target) -> Option<Addr> {
        let l = &self.sh.layout;
        match t {
            Target::Broker(b) => Some(l.broker(*b)),
            Target::Controller => Some(l.controller()),
            Target::Gateway(g) | Target::GatewayAfterAbort(g) => (*g < l.gateways).then(|| l.gateway(*g)),
            Target::Client(c) => Some(l.client(*c)),
            Target::Processor(i) | Target::ProcessorAtCheckpoint(i) => (*i < l.processors).then(|| l.processor(*i)),
            Target::Sink | Target::SinkAtCheckpoint => l.sink.then(|| l.sink()),
            Target::LakeWriter(i) | Target::LakeWriterBeforeManifest(i) => {
                (*i < l.lake_writers).then(|| l.lake_writer(*i))
            }
            Target::Cache(i) => (*i == 0 && l.cache).then(|| l.cache()),
            Target::Consumer(name, i) => {
                let subs = &self.sh.subscriptions;
                let s = subs.configs.iter().position(|c| &c.name == name)?;
                (*i < subs.configs[s].consumers).then(|| l.subscriber(subs.global(s, *i)))
            }
            Target::LeaderOf(p) => {
                let md = self.sh.metadata.lock().expect("metadata lock");
                md.get(*p).and_then(|s| s.leader).map(|b| l.broker(b))
            }
            Target::FollowerOf(p) => {
                let candidates: Vec<usize> = {
                    let md = self.sh.metadata.lock().expect("metadata lock");
                    let s = md.get(*p)?;
                    // The ISR as published, without its leader, in broker order.
                    let mut c: Vec<usize> = s.isr.iter().copied().filter(|b| Some(*b) != s.leader).collect();
                    c.sort_unstable();
                    c
                };
                if candidates.is_empty() {
                    return None;
                }
                let i = self.rng.lock().expect("fault rng lock").gen_range(0..candidates.len());
                Some(l.broker(candidates[i]))
            }
        }
    }

    /// The nodes a set of targets names now (unresolvable ones left out).
    pub(super) fn resolve_set(&self, ts: &[Target]) -> BTreeSet<Addr> {
        ts.iter().filter_map(|t| self.resolve(t)).collect()
    }

    /// Every node of the run not in `a`.
    pub(super) fn all_but(&self, a: &BTreeSet<Addr>) -> BTreeSet<Addr> {
        (0..self.sh.layout.nodes() as u32)
            .map(Addr)
            .filter(|x| !a.contains(x))
            .collect()
    }

    /// The two sides of a link fault: `b` empty means every node not in
    /// `a`; both empty means every link.
    pub(super) fn link_sides(&self, a: &[Target], b: &[Target]) -> (BTreeSet<Addr>, BTreeSet<Addr>) {
        if a.is_empty() && b.is_empty() {
            let all = self.all_but(&BTreeSet::new());
            return (all.clone(), all);
        }
        let sa = self.resolve_set(a);
        let sb = if b.is_empty() {
            self.all_but(&sa)
        } else {
            &self.resolve_set(b) - &sa
        };
        (sa, sb)
    }

    /// Wait until a processor checkpoint is under way, for at most
    /// [`CHECKPOINT_WAIT_MS`] and never past the workload. Returns whether one was seen.
    /// For `processor:N@checkpoint`, one of that processor's checkpoints; for
    /// `lake:N@manifest`, a file of that writer in the bucket and not in the manifest;
    /// for `gateway:N@abort`, an abort that gateway asked for answered by its coordinator.
    pub(super) async fn wait_for_checkpoint(&self, t: &Target) -> bool {
        let deadline = clock::now_ms() + CHECKPOINT_WAIT_MS;
        let aborts = |g: usize| self.sh.txn.lock().expect("txn lock").producer_aborts(g as u64);
        let aborts_before = match t {
            Target::GatewayAfterAbort(g) => aborts(*g),
            _ => 0,
        };
        loop {
            let seen = if let Target::GatewayAfterAbort(g) = t {
                aborts(*g) > aborts_before
            } else if let Target::LakeWriterBeforeManifest(i) = t {
                self.sh.lake.lock().expect("lake lock").unmanifested.contains(i)
            } else {
                let senders = self.sh.checkpoint_senders.lock().expect("checkpoint senders lock");
                match t {
                    Target::ProcessorAtCheckpoint(i) => senders.contains(&self.sh.layout.processor(*i)),
                    _ => !senders.is_empty(),
                }
            };
            if seen {
                return true;
            }
            if clock::now_ms() >= deadline || self.sh.is_workload_over() {
                return false;
            }
            clock::sleep_until_ms(clock::now_ms() + 1).await;
        }
    }
}
