//! The cold path's lake writer (a Kafka Connect object-store sink task): a
//! member of the lake's own consumer group, next to the processors' and on
//! the same coordinator and protocol, that fetches committed records of its
//! partitions, buffers them, and cuts a file every `roll_mb` MB or
//! `roll_interval_s` seconds. Each file is put in the object store under a
//! name made of its partition and offset range, added to the manifest, and
//! only then the group's offset moves (`commit = "manifest_first"`). What
//! survives a crash is in `store`; the buffers die with the node.

pub mod store;
pub mod tiers;
mod transactions;
mod upload;

use crate::clock;
use crate::config::LakeConfig;
use crate::consumer_fetches::{ByLeader, Fetcher};
use crate::consumer_group::member_node::GroupMemberNode;
use crate::consumer_group::membership::{Change, Membership};
use crate::ids::{Addr, PartitionId};
use crate::log::last_stable_offset::AbortedTxn;
use crate::msg::Msg;
use crate::wire::{ConsumerFetchResult, GroupId, ReadMsg};
use crate::world::{Shared, TimelineKind};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use store::LakeFile;
use upload::{Progress, Upload};

/// Wait after a fetch that found no leader, ms.
const NO_LEADER_WAIT_MS: u64 = 50;

/// Records fetched and not yet cut into a file.
#[derive(Clone, Debug, Default)]
struct Buffer {
    lo: u64,
    hi: u64,
    bytes: u64,
    newest_born_us: u64,
    /// When its first record (or stepped-over offset) arrived, ms.
    since_ms: Option<u64>,
    /// The transactional batches it holds records of.
    txn_held: Vec<store::TxnHeld>,
}

impl Buffer {
    /// Start the buffer at `offset` if it is empty.
    fn start(&mut self, offset: u64, now_ms: u64) {
        if self.since_ms.is_none() {
            *self = Buffer {
                lo: offset,
                hi: offset,
                since_ms: Some(now_ms),
                ..Buffer::default()
            };
        }
    }
}

/// One partition the writer owns.
struct Part {
    position: u64,
    fetching: bool,
    idle_until_ms: u64,
    caught_up: bool,
    buf: Buffer,
    upload: Option<Upload>,
}

struct Writer {
    sh: Arc<Shared>,
    idx: usize,
    addr: Addr,
    incarnation: u64,
    cfg: LakeConfig,
    rng: ChaCha8Rng,
    group: Membership,
    parts: BTreeMap<PartitionId, Part>,
    fetches: crate::consumer_fetches::FetchesInFlight,
    next_req: u64,
    next_heartbeat_ms: u64,
}

/// Entry point of a lake writer node (also after a restart).
pub async fn lake_writer_main(sh: Arc<Shared>, idx: usize) {
    let addr = sh.layout.lake_writer(idx);
    let incarnation = sh.next_incarnation(addr);
    sh.lake.lock().expect("lake lock").unmanifested.remove(&idx);
    sh.timeline(
        TimelineKind::NodeStarted,
        &format!("lake-writer-{idx} started (incarnation {incarnation})"),
        &[addr.0 as u64],
    );
    let mut w = Writer {
        cfg: sh.scenario.lake.clone(),
        rng: streamsim_workloads::stream_rng(sh.seed, &format!("lake-writer-{idx}-{incarnation}")),
        sh: sh.clone(),
        idx,
        addr,
        incarnation,
        group: Membership::default(),
        parts: BTreeMap::new(),
        fetches: BTreeMap::new(),
        next_req: incarnation << 40,
        next_heartbeat_ms: clock::now_ms(),
    };
    crate::consumer_group::member_node::serve(&sh, addr, &mut w).await;
}

impl GroupMemberNode for Writer {
    fn next_heartbeat_ms(&self) -> u64 {
        self.next_heartbeat_ms
    }

    fn on_group_state(&mut self, generation: u64, partitions: Vec<PartitionId>, rebalancing: bool, now_ms: u64) {
        Writer::on_group_state(self, generation, partitions, rebalancing, now_ms);
    }

    fn on_fetch_reply(
        &mut self,
        req: u64,
        parts: Vec<(PartitionId, ConsumerFetchResult)>,
        aborted: Option<Vec<(PartitionId, Vec<AbortedTxn>)>>,
        now_ms: u64,
    ) {
        Writer::on_fetch_reply(self, req, parts, aborted.as_deref().unwrap_or(&[]), now_ms);
    }

    fn drive(&mut self, now_us: u64) {
        Writer::drive(self, now_us);
    }
}

impl Writer {
    fn send(&self, dst: Addr, m: ReadMsg, at_us: u64) {
        self.sh.fabric.send(self.addr, dst, Msg::Read(m), at_us);
    }

    /// The coordinator's answer, handled as the processors handle it: a
    /// rebalance revokes everything at once (uploads under way are abandoned;
    /// the next owner resumes from the manifest), a new generation claims
    /// its partitions.
    fn on_group_state(&mut self, generation: u64, partitions: Vec<PartitionId>, rebalancing: bool, now_ms: u64) {
        match self.group.on_state(generation, rebalancing) {
            Change::None => {}
            Change::Revoke { .. } => {
                self.parts.clear();
                self.fetches.clear();
                self.note_unmanifested();
                self.next_heartbeat_ms = now_ms;
            }
            Change::Adopt => self.adopt(generation, partitions),
        }
    }

    /// A new generation: claim its partitions from where the lake's manifest resumes them.
    fn adopt(&mut self, generation: u64, partitions: Vec<PartitionId>) {
        self.fetches.clear();
        self.parts.clear();
        let mut lake = self.sh.lake.lock().expect("lake lock");
        let mut resumed = Vec::new();
        for p in partitions {
            let Ok(at) = lake.claim(p, generation) else { continue };
            resumed.push((p, at));
            self.parts.insert(
                p,
                Part {
                    position: at,
                    fetching: false,
                    idle_until_ms: 0,
                    caught_up: false,
                    buf: Buffer::default(),
                    upload: None,
                },
            );
        }
        drop(lake);
        for (p, at) in resumed {
            self.sh.timeline(
                TimelineKind::LakeResumed,
                &format!(
                    "lake-writer-{} resumed partition {p} at offset {at} (generation {generation})",
                    self.idx
                ),
                &[p as u64, at, generation],
            );
        }
    }

    /// Take what a fetch returned into the buffers; `aborted` lists, per partition, the
    /// aborted transactions a read_committed fetch met (empty read_uncommitted).
    fn on_fetch_reply(
        &mut self,
        req: u64,
        parts: Vec<(PartitionId, ConsumerFetchResult)>,
        aborted: &[(PartitionId, Vec<AbortedTxn>)],
        now_ms: u64,
    ) {
        if self.fetches.remove(&req).is_none() {
            return;
        }
        let roll_bytes = self.cfg.roll_bytes();
        for (p, r) in parts {
            let Some(t) = self.parts.get_mut(&p) else { continue };
            if !t.fetching {
                continue;
            }
            t.fetching = false;
            match r {
                ConsumerFetchResult::Records { batches, hw } => {
                    let aborted = aborted.iter().find(|(q, _)| *q == p).map_or(&[][..], |(_, l)| &l[..]);
                    // Records are taken one by one up to the size limit and the rest left for
                    // the next fetch, so a size-cut file has the same range, hence the same
                    // name, however the fetches fell: a file written again after a crash
                    // replaces the one the crash left unmanifested.
                    'batches: for b in &batches {
                        let end = b.end_offset().min(hw);
                        if transactions::stepped_over(b, aborted) {
                            // Its offsets are consumed and the next file's range covers them,
                            // so the files still tile the log.
                            if b.end_offset() <= hw && t.position < b.end_offset() {
                                t.buf.start(t.position, now_ms);
                                t.position = b.end_offset();
                                t.buf.hi = t.position;
                            }
                            continue;
                        }
                        // Decoded from the position on, which steps with it.
                        let mut from_position = t
                            .position
                            .checked_sub(b.base_offset)
                            .map(|i| b.records.iter().skip(i as usize));
                        while t.position < end {
                            if t.buf.bytes >= roll_bytes {
                                break 'batches;
                            }
                            let Some(r) = from_position.as_mut().and_then(Iterator::next) else {
                                break;
                            };
                            t.buf.start(t.position, now_ms);
                            transactions::note_taken(&mut t.buf.txn_held, b);
                            t.buf.bytes += r.wire_bytes();
                            t.buf.newest_born_us = t.buf.newest_born_us.max(r.born_us);
                            t.position += 1;
                            t.buf.hi = t.position;
                        }
                    }
                    // An empty answer came after the broker's long poll: fetch again at once.
                    t.caught_up = t.position >= hw;
                }
                ConsumerFetchResult::NotLeader => t.idle_until_ms = now_ms + NO_LEADER_WAIT_MS,
                ConsumerFetchResult::OutOfRange { hw } => t.position = hw,
            }
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
                    group: GroupId::Lake,
                    member: self.idx,
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
        self.expire_fetches(now_ms);
        self.uploads(now_us);
        self.roll(now_us);
        self.fetch(now_ms, now_us);
    }

    fn expire_fetches(&mut self, now_ms: u64) {
        for p in crate::consumer_fetches::expire(&mut self.fetches, now_ms, self.cfg.fetch_max_wait_ms) {
            if let Some(t) = self.parts.get_mut(&p) {
                t.fetching = false;
            }
        }
    }

    /// Complete the requests that are due.
    fn uploads(&mut self, now_us: u64) {
        let mut fenced = Vec::new();
        let mut committed = Vec::new();
        let mut lake = self.sh.lake.lock().expect("lake lock");
        for (&p, t) in self.parts.iter_mut() {
            let Some(u) = t.upload.as_mut() else { continue };
            while u.due_us <= now_us {
                match u.complete(&mut lake, self.group.generation, &self.cfg, &mut self.rng, now_us) {
                    Progress::Pending => {}
                    Progress::Done => {
                        committed.push(u.file);
                        t.upload = None;
                        break;
                    }
                    Progress::Fenced => {
                        fenced.push(p);
                        break;
                    }
                }
            }
        }
        drop(lake);
        for f in committed {
            self.sh.timeline(
                TimelineKind::LakeCommit,
                &format!(
                    "lake-writer-{} committed {} ({} records, {} bytes)",
                    self.idx,
                    f.name(),
                    f.hi - f.lo,
                    f.bytes
                ),
                &[f.partition as u64, f.lo, f.hi],
            );
        }
        for p in fenced {
            self.parts.remove(&p);
            self.sh.timeline(
                TimelineKind::LakeFenced,
                &format!(
                    "the lake refused lake-writer-{}'s commit of partition {p}: generation {} is no longer its owner",
                    self.idx, self.group.generation
                ),
                &[p as u64, self.group.generation],
            );
        }
        self.note_unmanifested();
    }

    /// Publish whether this writer has a file in the bucket that the manifest does not name yet.
    fn note_unmanifested(&self) {
        let pending = self
            .parts
            .values()
            .any(|t| t.upload.as_ref().is_some_and(|u| u.unmanifested(&self.cfg)));
        let mut lake = self.sh.lake.lock().expect("lake lock");
        if pending {
            lake.unmanifested.insert(self.idx);
        } else {
            lake.unmanifested.remove(&self.idx);
        }
    }

    /// Cut a file from every buffer that is full, old enough, or final.
    fn roll(&mut self, now_us: u64) {
        let now_ms = now_us / 1000;
        let closed = self.sh.input_closed.load(Ordering::Relaxed);
        let roll_bytes = self.cfg.roll_bytes();
        let interval_ms = (self.cfg.roll_interval_s * 1000.0) as u64;
        let ps: Vec<PartitionId> = self.parts.keys().copied().collect();
        for p in ps {
            let final_hw = if closed { self.sh.committed_hw(p) } else { u64::MAX };
            let t = self.parts.get_mut(&p).expect("owned");
            let Some(since) = t.buf.since_ms else { continue };
            if t.upload.is_some() {
                continue;
            }
            let due = t.buf.bytes >= roll_bytes
                || now_ms >= since + interval_ms
                || (t.caught_up && !t.fetching && t.position >= final_hw);
            if !due {
                continue;
            }
            let b = std::mem::take(&mut t.buf);
            let file = LakeFile {
                partition: p,
                lo: b.lo,
                hi: b.hi,
                bytes: b.bytes,
                newest_born_us: b.newest_born_us,
                random_name: None,
                txn_held: self.sh.lake.lock().expect("lake lock").hold(b.txn_held),
            };
            t.upload = Some(Upload::start(file, &self.cfg, &mut self.rng, now_us));
        }
    }

    fn fetch(&mut self, now_ms: u64, now_us: u64) {
        // A full buffer waits for the upload ahead of it (backpressure).
        let full = self.cfg.roll_bytes();
        let md = self.sh.metadata.lock().expect("metadata lock");
        let mut by_leader = ByLeader::new();
        for (&p, t) in self.parts.iter_mut() {
            if t.fetching || now_ms < t.idle_until_ms || t.buf.bytes >= full {
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
