//! A consumer of a `[[subscription]]`: a member of its subscription's own
//! consumer group, on the coordinator and protocol the processors and the
//! lake writers use. It long-polls the consumer fetch, auto-commits its
//! positions every `auto_commit_interval_ms` and when a rebalance revokes
//! its partitions (as the Java consumer does with auto-commit on), and
//! reports every poll to the consumer-side checks (`polls`) and what it
//! received to the subscription's durable state (`state`), so a crash loses
//! only its in-memory positions.
//!
//! An offset commit and the offset lookups of `auto.offset.reset` read and
//! write the group's durable state directly rather than by request: the
//! checks are about which offsets are committed and polled, not about the
//! latency of committing them.

pub mod polls;
pub mod report;
pub mod state;
mod transactions;

use crate::clock;
use crate::config::{Isolation, OffsetReset, PlantedBug, SubscriptionConfig};
use crate::consumer_fetches::{ByLeader, Fetcher, FetchesInFlight};
use crate::consumer_group::member_node::GroupMemberNode;
use crate::consumer_group::membership::{Change, Membership};
use crate::ids::{Addr, PartitionId};
use crate::log::last_stable_offset::AbortedTxn;
use crate::msg::Msg;
use crate::wire::{ConsumerFetchResult, GroupId, ReadMsg};
use crate::world::{Shared, TimelineKind};
use polls::Poll;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Wait after a fetch that found no leader, ms.
const NO_LEADER_WAIT_MS: u64 = 50;
/// The `seek_back` bug fires on every this-many-th poll of a consumer.
const SEEK_BACK_EVERY: u64 = 50;

/// One partition the consumer owns.
struct Part {
    position: u64,
    fetching: bool,
    idle_until_ms: u64,
}

struct Consumer {
    sh: Arc<Shared>,
    sub: usize,
    member: usize,
    addr: Addr,
    incarnation: u64,
    cfg: SubscriptionConfig,
    group: Membership,
    /// Generations this process adopted (the planted skip waits for the second).
    adopted: u64,
    parts: BTreeMap<PartitionId, Part>,
    /// Partitions whose first fetched batch the planted skip drops.
    skip_next: BTreeSet<PartitionId>,
    polls: u64,
    fetches: FetchesInFlight,
    next_req: u64,
    next_heartbeat_ms: u64,
    next_commit_ms: u64,
}

/// Every second of the run: sample each subscription's lag and forget the
/// batch fingerprints every subscription has committed past and that no
/// election can rewrite any more: below the log audit's `folded` offset of
/// the partition, the prefix every assigned replica holds durably below its
/// high-watermark checkpoint. A committed offset alone is no such bound: an
/// unclean leader can rewrite offsets every subscription has committed past,
/// and a consumer sent back by `OutOfRange` re-reads them. (The audit never
/// folds where unclean election is on, so there every fingerprint is kept.)
pub fn tick(sh: &Shared, now_ms: u64, folded: &[u64]) {
    let hw: Vec<u64> = (0..sh.event_partitions).map(|p| sh.committed_hw(p)).collect();
    let subs = &sh.subscriptions;
    subs.sample_lag(&hw, now_ms);
    let mut watch = subs.watch.lock().expect("watch lock");
    for (p, &floor) in folded.iter().enumerate().take(sh.event_partitions) {
        let slowest = subs
            .state
            .iter()
            .map(|s| s.lock().expect("subscription lock").committed[p].unwrap_or(0))
            .min()
            .unwrap_or(0);
        watch.prune(p, slowest.min(floor));
    }
}

/// The lowest offset a subscription may read again on partition `p` (its
/// committed offset, or 0 before its first commit), so that the log audit
/// summarises nothing a consumer could still fetch; `None` without subscriptions.
pub fn resume_floor(sh: &Shared, p: PartitionId) -> Option<u64> {
    sh.subscriptions
        .state
        .iter()
        .map(|s| s.lock().expect("subscription lock").committed[p].unwrap_or(0))
        .min()
}

/// Whether subscription consumer `global` (numbered across subscriptions) reads
/// committed: its fetches are answered to the last stable offset with the aborted
/// transactions listed (Kafka's fetch carries the consumer's `isolation.level`).
pub fn reads_committed(sh: &Shared, global: usize) -> bool {
    let (sub, _) = sh.subscriptions.locate(global);
    sh.subscriptions.configs[sub].isolation == Isolation::ReadCommitted
}

/// Whether every subscription stands at every events partition's high watermark.
pub fn drained(sh: &Shared) -> bool {
    let hw: Vec<u64> = (0..sh.event_partitions).map(|p| sh.committed_hw(p)).collect();
    sh.subscriptions.drained(&hw)
}

/// Entry point of a subscription consumer node (also after a restart), by its
/// number across subscriptions.
pub async fn consumer_main(sh: Arc<Shared>, global: usize) {
    let (sub, member) = sh.subscriptions.locate(global);
    let cfg = sh.subscriptions.configs[sub].clone();
    let start_ms = (cfg.start_s * 1000.0) as u64;
    if clock::now_ms() < start_ms {
        clock::sleep_until_ms(start_ms).await;
    }
    let addr = sh.layout.subscriber(global);
    let incarnation = sh.next_incarnation(addr);
    sh.timeline(
        TimelineKind::NodeStarted,
        &format!("{} consumer {member} started (incarnation {incarnation})", cfg.name),
        &[addr.0 as u64],
    );
    let now = clock::now_ms();
    let mut c = Consumer {
        sh: sh.clone(),
        sub,
        member,
        addr,
        incarnation,
        next_commit_ms: now + cfg.auto_commit_interval_ms,
        cfg,
        group: Membership::default(),
        adopted: 0,
        parts: BTreeMap::new(),
        skip_next: BTreeSet::new(),
        polls: 0,
        fetches: BTreeMap::new(),
        next_req: incarnation << 40,
        next_heartbeat_ms: now,
    };
    crate::consumer_group::member_node::serve(&sh, addr, &mut c).await;
}

impl GroupMemberNode for Consumer {
    fn next_heartbeat_ms(&self) -> u64 {
        self.next_heartbeat_ms
    }

    fn on_group_state(&mut self, generation: u64, partitions: Vec<PartitionId>, rebalancing: bool, now_ms: u64) {
        Consumer::on_group_state(self, generation, partitions, rebalancing, now_ms);
    }

    fn on_fetch_reply(
        &mut self,
        req: u64,
        parts: Vec<(PartitionId, ConsumerFetchResult)>,
        aborted: Option<Vec<(PartitionId, Vec<AbortedTxn>)>>,
        now_ms: u64,
    ) {
        Consumer::on_fetch_reply(self, req, parts, aborted.as_deref(), now_ms);
    }

    fn drive(&mut self, now_us: u64) {
        Consumer::drive(self, now_us);
    }
}

impl Consumer {
    fn send(&self, dst: Addr, m: ReadMsg, at_us: u64) {
        self.sh.fabric.send(self.addr, dst, Msg::Read(m), at_us);
    }

    /// The eager protocol, as the processors and lake writers run it: a
    /// rebalance revokes everything (committing positions first), a new
    /// generation claims its partitions from the committed offsets.
    fn on_group_state(&mut self, generation: u64, partitions: Vec<PartitionId>, rebalancing: bool, now_ms: u64) {
        match self.group.on_state(generation, rebalancing) {
            Change::None => {}
            Change::Revoke { owned } => {
                if owned {
                    self.commit_all();
                }
                self.parts.clear();
                self.fetches.clear();
                self.next_heartbeat_ms = now_ms;
            }
            Change::Adopt => self.adopt(generation, partitions),
        }
    }

    /// A new generation: take its partitions from the committed offsets (or the reset policy).
    fn adopt(&mut self, generation: u64, partitions: Vec<PartitionId>) {
        self.adopted += 1;
        self.fetches.clear();
        self.parts.clear();
        self.skip_next.clear();
        let subs = &self.sh.subscriptions;
        let mut starts = Vec::new();
        for p in partitions {
            let committed = subs.state[self.sub].lock().expect("subscription lock").committed[p];
            let position = match (committed, self.cfg.auto_offset_reset) {
                (Some(at), _) => at,
                (None, OffsetReset::Earliest) => 0,
                (None, OffsetReset::Latest) => self.sh.committed_hw(p),
            };
            subs.watch.lock().expect("watch lock").assigned(
                (self.sub, self.member),
                self.incarnation,
                p,
                generation,
                committed,
            );
            subs.state[self.sub].lock().expect("subscription lock").progress[p] = position;
            if self.adopted > 1 && self.cfg.planted_bug == Some(PlantedBug::SkipBatchAfterRebalance) {
                self.skip_next.insert(p);
            }
            starts.push(format!("{p}@{position}"));
            self.parts.insert(
                p,
                Part {
                    position,
                    fetching: false,
                    idle_until_ms: 0,
                },
            );
        }
        self.sh.timeline(
            TimelineKind::Subscription,
            &format!(
                "{} consumer {} took partitions [{}] (generation {generation})",
                self.cfg.name,
                self.member,
                starts.join(", ")
            ),
            &[self.sub as u64, self.member as u64, generation],
        );
    }

    /// A leader's answer; `aborted` is a read_committed fetch's list of aborted transactions.
    fn on_fetch_reply(
        &mut self,
        req: u64,
        parts: Vec<(PartitionId, ConsumerFetchResult)>,
        aborted: Option<&[(PartitionId, Vec<AbortedTxn>)]>,
        now_ms: u64,
    ) {
        if self.fetches.remove(&req).is_none() {
            return;
        }
        let keep_aborted = self.cfg.planted_bug == Some(PlantedBug::KeepAborted);
        for (p, r) in parts {
            let Some(t) = self.parts.get_mut(&p) else { continue };
            if !t.fetching {
                continue;
            }
            t.fetching = false;
            match r {
                ConsumerFetchResult::Records { batches, hw } => {
                    let mut batches: Vec<_> = batches.iter().filter(|b| b.end_offset().min(hw) > t.position).collect();
                    if !batches.is_empty() && self.skip_next.remove(&p) {
                        // The planted bug: the first batch after a rebalance is dropped unseen.
                        t.position = batches[0].end_offset().min(hw);
                        batches.remove(0);
                    }
                    // What the poll returns starts at its first record, which is the position
                    // unless the log itself has nothing there: that is a skip too. Markers and
                    // dropped aborted records are consumed offsets inside the poll's range.
                    let from = t.position;
                    let lo = batches.first().map_or(t.position, |b| b.base_offset.max(t.position));
                    for b in &batches {
                        t.position = t.position.max(b.end_offset().min(hw));
                    }
                    let hi = t.position;
                    if hi > lo {
                        let fetched: Vec<&crate::record::Batch> = batches.iter().map(|b| &***b).collect();
                        let list = aborted.map(|a| a.iter().find(|(q, _)| *q == p).map_or(&[][..], |(_, l)| &l[..]));
                        let (kept, reads) = transactions::handed_on(p, from, &fetched, hw, list, keep_aborted, now_ms);
                        if !reads.is_empty() {
                            self.sh.txn.lock().expect("txn lock").reads.extend(reads);
                        }
                        // Only batches wholly below the high watermark are compared: the tail of
                        // one that straddles it was not read, and a new leader may replace it.
                        let whole: Vec<_> = kept.into_iter().filter(|b| b.end_offset() <= hw).collect();
                        self.delivered(p, lo, hi, &whole, now_ms);
                    }
                }
                ConsumerFetchResult::NotLeader => t.idle_until_ms = now_ms + NO_LEADER_WAIT_MS,
                ConsumerFetchResult::OutOfRange { hw } => {
                    // The leader's log ends before the position (a truncation): move to its
                    // high watermark, as a consumer validating its position against the new
                    // leader's epoch (KIP-320) ends near its log end.
                    t.position = hw;
                    let subs = &self.sh.subscriptions;
                    subs.watch
                        .lock()
                        .expect("watch lock")
                        .seek((self.sub, self.member), p, hw);
                    subs.state[self.sub].lock().expect("subscription lock").progress[p] = hw;
                }
            }
        }
    }

    /// Hand a poll's records to the application: record them and show them to the checks.
    fn delivered(&mut self, p: PartitionId, lo: u64, hi: u64, batches: &[&crate::record::Batch], now_ms: u64) {
        self.polls += 1;
        let subs = &self.sh.subscriptions;
        let poll = Poll {
            sub: self.sub,
            consumer: self.member,
            incarnation: self.incarnation,
            generation: self.group.generation,
            partition: p,
            lo,
            hi,
            at_ms: now_ms,
        };
        let names: Vec<String> = subs.configs.iter().map(|c| c.name.clone()).collect();
        let notes = subs.watch.lock().expect("watch lock").polled(&names, poll, batches);
        let mut position = hi;
        if self.cfg.planted_bug == Some(PlantedBug::SeekBack) && self.polls.is_multiple_of(SEEK_BACK_EVERY) {
            // The planted bug: the position moves back over what was just returned, no seek said.
            position = lo;
        }
        if let Some(t) = self.parts.get_mut(&p) {
            t.position = position;
        }
        {
            let mut st = subs.state[self.sub].lock().expect("subscription lock");
            for o in lo..hi {
                st.received[p].insert(o);
            }
            st.counts.records += hi - lo;
            st.progress[p] = position;
        }
        for n in notes {
            self.sh.timeline(
                TimelineKind::Subscription,
                &n,
                &[self.sub as u64, self.member as u64, p as u64, lo, hi],
            );
        }
    }

    /// Commit every owned partition's position.
    fn commit_all(&mut self) {
        let subs = &self.sh.subscriptions;
        for (&p, t) in &self.parts {
            subs.commit(self.sub, self.member, self.group.generation, p, t.position);
        }
    }

    fn drive(&mut self, now_us: u64) {
        let now_ms = now_us / 1000;
        if now_ms >= self.next_heartbeat_ms {
            self.next_heartbeat_ms = now_ms + self.cfg.heartbeat_interval_ms;
            let ctl = self.sh.layout.controller();
            self.send(
                ctl,
                ReadMsg::GroupHeartbeat {
                    group: GroupId::Subscription(self.sub),
                    member: self.member,
                    incarnation: self.incarnation,
                    seen_generation: self.group.seen(),
                    revoked: self.group.revoked,
                },
                now_us,
            );
        }
        if self.group.revoked {
            return;
        }
        if now_ms >= self.next_commit_ms {
            self.next_commit_ms = now_ms + self.cfg.auto_commit_interval_ms;
            self.commit_all();
        }
        for p in crate::consumer_fetches::expire(&mut self.fetches, now_ms, self.cfg.fetch_max_wait_ms) {
            if let Some(t) = self.parts.get_mut(&p) {
                t.fetching = false;
            }
        }
        self.fetch(now_ms, now_us);
    }

    fn fetch(&mut self, now_ms: u64, now_us: u64) {
        let md = self.sh.metadata.lock().expect("metadata lock");
        let mut by_leader = ByLeader::new();
        for (&p, t) in self.parts.iter_mut() {
            if t.fetching || now_ms < t.idle_until_ms {
                continue;
            }
            match md.get(p).and_then(|s| s.leader) {
                Some(l) => {
                    t.fetching = true;
                    by_leader.group(l).push((p, t.position));
                }
                None => t.idle_until_ms = now_ms + NO_LEADER_WAIT_MS,
            }
        }
        drop(md);
        let fetcher = Fetcher {
            sh: &self.sh,
            from: self.addr,
            max_bytes: self.cfg.fetch_max_bytes,
            max_wait_ms: self.cfg.fetch_max_wait_ms,
        };
        fetcher.send(by_leader, &mut self.fetches, &mut self.next_req, now_ms, now_us);
    }
}

#[cfg(test)]
mod tests;
