//! The leader side of replication: produce with acks and idempotence,
//! serving follower fetches with divergence detection, the high watermark,
//! ISR shrink and expand through the controller, and the purgatory of
//! acks=all requests.

use super::broker::{Broker, ParkedAsk, ParkedFetch, PendingProduce, Waiter};
use super::idempotence::SeqCheck;
use super::replica::Role;
use crate::config::{Acks, FlushPolicy, Truncation};
use crate::ids::{Addr, BrokerId, PartitionId};
use crate::msg::{Batch, FetchPart, FetchResult, Msg, ProduceBatch, ProduceError};
use crate::world::TimelineKind;

impl Broker {
    pub(super) fn on_produce(&mut self, src: Addr, req: u64, acks: Acks, batches: Vec<ProduceBatch>, now_us: u64) {
        let mut load = crate::record_cost::RecordLoad::default();
        for b in &batches {
            load.add_batch(b.records.len() as u64, crate::msg::records_bytes(&b.records));
        }
        let cpu_done = self.cpu_records(now_us, load);
        let cfg = &self.sh.scenario.log;
        let fsync = cfg.flush == FlushPolicy::EveryBatch;
        let dirties = cfg.flush.uses_page_cache();
        let mut reply_at = cpu_done;
        let mut results = Vec::new();
        let mut waits = Vec::new();
        let mut touched = Vec::new();
        for pb in batches {
            let p = pb.partition;
            let Some(r) = self.parts.get(&p) else {
                results.push((p, Err(ProduceError::NotLeader)));
                continue;
            };
            if !matches!(r.role, Role::Leader(_)) {
                results.push((p, Err(ProduceError::NotLeader)));
                continue;
            }
            if acks == Acks::All && r.isr.len() < cfg.min_insync_replicas {
                results.push((p, Err(ProduceError::NotEnoughReplicas)));
                continue;
            }
            let epoch = r.leader_epoch;
            let n = pb.records.len() as u64;
            let mut disk = self.sh.disks[self.id].lock().expect("disk lock");
            let log = disk.logs.get_mut(&p).expect("hosted partition");
            if let Some(stamp) = &pb.producer {
                match log.producers.check(stamp) {
                    SeqCheck::Append => {}
                    SeqCheck::Duplicate(base) => {
                        // Already written by an earlier attempt: answer as that attempt would have.
                        if acks == Acks::All {
                            waits.push((p, base, base + n, epoch));
                        } else {
                            results.push((p, Ok(base)));
                        }
                        continue;
                    }
                    SeqCheck::OutOfOrder => {
                        results.push((p, Err(ProduceError::OutOfOrderSequence)));
                        continue;
                    }
                    // With fencing off (a negative control) the zombie's write is taken.
                    SeqCheck::Fenced if !cfg.transaction_fencing => {}
                    SeqCheck::Fenced => {
                        results.push((p, Err(ProduceError::ProducerFenced)));
                        continue;
                    }
                }
                if !self.txn_batch_verified(stamp, p, log.txns.is_open(stamp.pid)) {
                    results.push((p, Err(ProduceError::InvalidTxnState)));
                    continue;
                }
            }
            let batch_bytes = crate::msg::records_bytes(&pb.records);
            let base = log.append(std::sync::Arc::new(Batch {
                base_offset: log.leo(),
                epoch,
                producer: pb.producer,
                records: pb.records.as_ref().into(),
                bytes: batch_bytes,
                control: None,
                txn_state: None,
            }));
            if fsync {
                log.flush();
                drop(disk);
                let done =
                    self.sh.resources[self.id]
                        .lock()
                        .expect("resources lock")
                        .disk
                        .write(cpu_done, batch_bytes, true);
                reply_at = reply_at.max(done);
            } else if dirties {
                // The write lands in the page cache; at the dirty limit the request
                // handler blocks in write() until writeback makes room.
                let disk = &mut *disk;
                let mut res = self.sh.resources[self.id].lock().expect("resources lock");
                let go = disk.page_cache.dirtied(
                    &mut disk.logs,
                    &mut res.disk,
                    &self.sh.scenario.resources,
                    p,
                    batch_bytes,
                    cpu_done,
                );
                reply_at = reply_at.max(go);
            } else {
                drop(disk);
            }
            self.sh.metrics_append(p, n);
            touched.push(p);
            match acks {
                Acks::All => waits.push((p, base, base + n, epoch)),
                Acks::One | Acks::Zero => results.push((p, Ok(base))),
            }
        }
        if acks != Acks::Zero {
            if waits.is_empty() {
                self.send(src, Msg::ProduceReply { req, results }, reply_at);
            } else {
                let deadline_ms = now_us / 1000 + cfg.request_timeout_ms;
                self.due_by(deadline_ms);
                self.purgatory.push(PendingProduce {
                    src,
                    req,
                    results,
                    waits,
                    deadline_ms,
                    not_before_us: reply_at,
                });
            }
        }
        for &p in &touched {
            self.advance_hw(p, reply_at);
        }
        // Consumers read up to the high watermark, so the loop above woke those that
        // can read more; followers read up to the end, which moved only where touched.
        self.wake_parked_followers(&touched, reply_at);
    }

    pub(super) fn on_fetch(&mut self, src: Addr, follower: BrokerId, session: u64, parts: Vec<FetchPart>, now_us: u64) {
        let done = self.cpu(now_us, 0);
        // Over TCP a follower's requests arrive once and in order; a network that duplicates
        // or reorders them must not let an old fetch offset move the follower's position back
        // (or ask for a prefix the log no longer holds in full). Kafka's fetch session epochs
        // (KIP-227) refuse such a request; so does this.
        let seen = self.fetch_seen.entry(follower).or_insert(0);
        if session <= *seen {
            return;
        }
        *seen = session;
        let (results, has_data) = self.serve_fetch(follower, &parts, done, true);
        if has_data {
            self.send(
                src,
                Msg::FetchReply {
                    leader: self.id,
                    session,
                    parts: results,
                },
                done,
            );
        } else {
            let deadline_ms = now_us / 1000 + self.sh.scenario.log.replica_fetch_wait_max_ms;
            self.due_by(deadline_ms);
            self.parked.insert(
                Waiter::Follower(follower),
                ParkedFetch {
                    src,
                    ask: ParkedAsk::Follower { session, parts },
                    deadline_ms,
                },
            );
        }
    }

    /// Evaluate a follower fetch. Returns the per-partition results and
    /// whether anything (data, divergence, error) is worth answering now.
    fn serve_fetch(
        &mut self,
        follower: BrokerId,
        parts: &[FetchPart],
        now_us: u64,
        update: bool,
    ) -> (Vec<(PartitionId, FetchResult)>, bool) {
        let now_ms = now_us / 1000;
        let epoch_mode = self.sh.scenario.log.truncation == Truncation::LeaderEpoch;
        let max_bytes = self.sh.scenario.log.replica_fetch_max_bytes;
        let mut out = Vec::with_capacity(parts.len());
        let mut urgent = false;
        let mut advanced = Vec::new();
        // One lock for the whole fetch: it names a few partitions, and nothing
        // below appends to this broker's logs until the loop is done.
        let disk = self.sh.disks[self.id].lock().expect("disk lock");
        for fp in parts {
            let p = fp.partition;
            let Some(r) = self.parts.get_mut(&p) else {
                out.push((p, FetchResult::NotLeader));
                urgent = true;
                continue;
            };
            if !matches!(r.role, Role::Leader(_)) || fp.current_epoch > r.leader_epoch {
                out.push((p, FetchResult::NotLeader));
                urgent = true;
                continue;
            }
            if fp.current_epoch < r.leader_epoch {
                out.push((p, FetchResult::FencedEpoch));
                urgent = true;
                continue;
            }
            let log = disk.logs.get(&p).expect("hosted partition");
            let leo = log.leo();
            if epoch_mode && fp.fetch_offset > 0 {
                let (e, end) = log.end_offset_for_epoch(fp.last_fetched_epoch);
                if e != fp.last_fetched_epoch || end < fp.fetch_offset {
                    out.push((
                        p,
                        FetchResult::Diverging {
                            epoch: e,
                            end_offset: end,
                        },
                    ));
                    urgent = true;
                    continue;
                }
            }
            if fp.fetch_offset > leo {
                // Pre-KIP-101 brokers answer OFFSET_OUT_OF_RANGE and the follower truncates to the leader's end.
                let e = log.last_epoch();
                out.push((
                    p,
                    FetchResult::Diverging {
                        epoch: e,
                        end_offset: leo,
                    },
                ));
                urgent = true;
                continue;
            }
            let Role::Leader(ls) = &r.role else {
                unreachable!("checked above")
            };
            if !ls.followers.contains_key(&follower) {
                // Not a replica (any more): a reassignment moved it off.
                out.push((p, FetchResult::NotLeader));
                urgent = true;
                continue;
            }
            // A replica a reassignment adds copies under the leader's throttle.
            let throttled = r.throttled.contains(&follower);
            let limit = if throttled {
                self.throttle.allowance(now_us).min(max_bytes)
            } else {
                max_bytes
            };
            // A follower behind the audit's fold (it was down or out of the ISR while the
            // in-sync replicas went on) gets the summary's offsets and bytes instead of records.
            let result = if limit == 0 {
                FetchResult::Records {
                    batches: Vec::new(),
                    hw: 0,
                }
            } else if let Some(span) = log.summary_span(fp.fetch_offset, limit) {
                FetchResult::Summary {
                    span: Box::new(span),
                    hw: 0,
                }
            } else {
                FetchResult::Records {
                    batches: log.read(fp.fetch_offset, limit),
                    hw: 0,
                }
            };
            let (has_data, bytes) = match &result {
                FetchResult::Records { batches, .. } => (!batches.is_empty(), batches.iter().map(|b| b.bytes).sum()),
                FetchResult::Summary { span, .. } => (true, span.bytes),
                _ => (false, 0),
            };
            if throttled {
                self.throttle.spend(bytes);
            }
            if update {
                let Role::Leader(ls) = &mut r.role else {
                    unreachable!("checked above")
                };
                let v = ls.followers.get_or_insert_with(follower, Default::default);
                if fp.fetch_offset >= leo {
                    v.last_caught_up_ms = now_ms;
                } else if fp.fetch_offset >= v.prev_leader_leo {
                    v.last_caught_up_ms = v.last_caught_up_ms.max(v.prev_fetch_ms);
                }
                v.prev_fetch_ms = now_ms;
                v.prev_leader_leo = leo;
                // The high watermark's other inputs (the leader's end, the ISR) move it where
                // they change, so a fetch from the offset of the last one cannot.
                let moved = v.leo != fp.fetch_offset;
                v.leo = fp.fetch_offset;
                advanced.push((p, moved));
            }
            if has_data {
                urgent = true;
            }
            out.push((p, result));
        }
        drop(disk);
        for (p, moved) in advanced {
            self.maybe_expand_isr(p, follower, now_us);
            if moved {
                self.advance_hw(p, now_us);
            }
        }
        // The high watermark is read after this fetch moved it, so followers learn it promptly.
        for (p, res) in &mut out {
            if let FetchResult::Records { hw, .. } | FetchResult::Summary { hw, .. } = res {
                *hw = self.parts.get(p).map_or(0, |r| r.hw);
            }
        }
        (out, urgent)
    }

    /// Answer parked fetches that now have data.
    pub(super) fn wake_parked(&mut self, now_us: u64) {
        let waiters: Vec<Waiter> = self.parked.keys().copied().collect();
        for w in waiters {
            self.answer_parked(w, now_us, false);
        }
    }

    /// Answer parked follower fetches that ask for any of `parts`: their end
    /// moved, or their leadership did. As Kafka watches a delayed fetch by its
    /// partitions, a fetch for others is not read again.
    pub(super) fn wake_parked_followers(&mut self, parts: &[PartitionId], now_us: u64) {
        if parts.is_empty() {
            return;
        }
        let waiters: Vec<Waiter> = self
            .parked
            .iter()
            .filter(|(_, pf)| match &pf.ask {
                ParkedAsk::Follower { parts: asked, .. } => asked.iter().any(|fp| parts.contains(&fp.partition)),
                ParkedAsk::Consumer { .. } => false,
            })
            .map(|(w, _)| *w)
            .collect();
        for w in waiters {
            self.answer_parked(w, now_us, false);
        }
    }

    /// Answer parked consumer fetches that now have data (the high watermark
    /// of `only` moved, or of any partition when `None`) or an error (leadership
    /// moved). Followers wait on appends, not on the high watermark, so theirs
    /// stay parked.
    pub(super) fn wake_parked_consumers(&mut self, only: Option<PartitionId>, now_us: u64) {
        // Only the fetches asking for the partition that moved are read again: a
        // high watermark moves on every acknowledged batch.
        let waiters: Vec<Waiter> = self
            .parked
            .iter()
            .filter(|(_, pf)| match (&pf.ask, only) {
                (ParkedAsk::Consumer { .. }, None) => true,
                (ParkedAsk::Consumer { parts, .. }, Some(p)) => parts.iter().any(|&(q, _)| q == p),
                (ParkedAsk::Follower { .. }, _) => false,
            })
            .map(|(w, _)| *w)
            .collect();
        for w in waiters {
            self.answer_parked(w, now_us, false);
        }
    }

    /// Answer the fetch `w` parked if it has something to return, or in any case when `due`.
    fn answer_parked(&mut self, w: Waiter, now_us: u64, due: bool) {
        let Some(pf) = self.parked.get(&w) else { return };
        match (&pf.ask, w) {
            (ParkedAsk::Follower { parts, .. }, Waiter::Follower(f)) => {
                let parts = parts.clone();
                let (results, urgent) = self.serve_fetch(f, &parts, now_us, false);
                if urgent || due {
                    let pf = self.parked.remove(&w).expect("parked");
                    let ParkedAsk::Follower { session, .. } = pf.ask else {
                        unreachable!("matched above")
                    };
                    self.send(
                        pf.src,
                        Msg::FetchReply {
                            leader: self.id,
                            session,
                            parts: results,
                        },
                        now_us,
                    );
                }
            }
            (ParkedAsk::Consumer { parts, max_bytes }, Waiter::Consumer(_, req)) => {
                let read = self.read_for_consumer(pf.src, parts, *max_bytes);
                if read.ready || due {
                    let pf = self.parked.remove(&w).expect("parked");
                    self.reply_to_consumer(pf.src, req, read, now_us);
                }
            }
            _ => unreachable!("a waiter parks its own kind of fetch"),
        }
    }

    pub(super) fn expire_parked(&mut self, now_us: u64) {
        let now_ms = now_us / 1000;
        let due: Vec<Waiter> = self
            .parked
            .iter()
            .filter(|(_, pf)| pf.deadline_ms <= now_ms)
            .map(|(w, _)| *w)
            .collect();
        for w in due {
            self.answer_parked(w, now_us, true);
        }
    }

    /// Move the high watermark as far as [`super::replica::Replica::hw_candidate`] allows.
    pub(super) fn advance_hw(&mut self, p: PartitionId, now_us: u64) {
        let cfg = &self.sh.scenario.log;
        let strict = cfg.eligible_leader_replicas.then_some(cfg.min_insync_replicas);
        let own_leo = self.sh.leo(self.id, p);
        let Some(r) = self.parts.get_mut(&p) else { return };
        if !matches!(r.role, Role::Leader(_)) {
            return;
        }
        let hw = r.hw_candidate(self.id, own_leo, strict);
        let epoch = r.leader_epoch;
        let raised = hw > r.hw;
        if raised {
            r.hw = hw;
        }
        let published = r.hw;
        let mut board = self.sh.hw_board.lock().expect("hw board lock");
        // A deposed leader that has not heard the news must not overwrite its successor.
        if epoch >= board[p].1 {
            board[p] = (self.id, epoch, published);
        }
        drop(board);
        if raised {
            self.complete_purgatory(now_us);
            self.wake_parked_consumers(Some(p), now_us);
        }
    }

    fn maybe_expand_isr(&mut self, p: PartitionId, follower: BrokerId, now_us: u64) {
        let Some(r) = self.parts.get_mut(&p) else { return };
        if r.isr.contains(&follower) {
            return;
        }
        let hw = r.hw;
        let Role::Leader(ls) = &mut r.role else { return };
        let Some(v) = ls.followers.get(&follower) else { return };
        if ls.pending_isr.is_some() || v.leo < hw || v.leo < ls.epoch_start {
            return;
        }
        let mut isr = r.isr.clone();
        isr.push(follower);
        isr.sort_unstable();
        ls.pending_isr = Some(isr.clone());
        ls.alter_sent_ms = now_us / 1000;
        let msg = Msg::AlterPartition {
            broker: self.id,
            partition: p,
            leader_epoch: r.leader_epoch,
            partition_epoch: r.partition_epoch,
            isr,
        };
        // The change is resent if unanswered a heartbeat interval from now.
        self.due_by(now_us / 1000 + self.sh.scenario.log.broker_heartbeat_interval_ms);
        self.send(self.sh.layout.controller(), msg, now_us);
    }

    /// Shrink the ISR of followers that have not caught up within
    /// `replica.lag.time.max.ms`; resend unanswered ISR changes.
    pub(super) fn check_isr(&mut self, now_us: u64) {
        let now_ms = now_us / 1000;
        let lag_max = self.sh.scenario.log.replica_lag_time_max_ms;
        let resend_after = self.sh.scenario.log.broker_heartbeat_interval_ms;
        let ctl = self.sh.layout.controller();
        let mut sends = Vec::new();
        for (p, r) in self.parts.iter_mut() {
            let (isr, le, pe) = (r.isr.clone(), r.leader_epoch, r.partition_epoch);
            let Role::Leader(ls) = &mut r.role else { continue };
            if let Some(pending) = &ls.pending_isr {
                if now_ms >= ls.alter_sent_ms + resend_after {
                    ls.alter_sent_ms = now_ms;
                    sends.push(Msg::AlterPartition {
                        broker: self.id,
                        partition: p,
                        leader_epoch: le,
                        partition_epoch: pe,
                        isr: pending.clone(),
                    });
                }
                continue;
            }
            let lagging: Vec<BrokerId> = isr
                .iter()
                .copied()
                .filter(|&b| {
                    b != self.id
                        && ls
                            .followers
                            .get(&b)
                            .is_none_or(|v| now_ms.saturating_sub(v.last_caught_up_ms) > lag_max)
                })
                .collect();
            if lagging.is_empty() {
                continue;
            }
            let new_isr: Vec<BrokerId> = isr.iter().copied().filter(|b| !lagging.contains(b)).collect();
            self.sh.timeline(
                TimelineKind::IsrShrink,
                &format!(
                    "broker-{} proposes ISR {:?} -> {:?} for partition {p} (lagging {:?})",
                    self.id, isr, new_isr, lagging
                ),
                &[p as u64, new_isr.len() as u64],
            );
            ls.pending_isr = Some(new_isr.clone());
            ls.alter_sent_ms = now_ms;
            sends.push(Msg::AlterPartition {
                broker: self.id,
                partition: p,
                leader_epoch: le,
                partition_epoch: pe,
                isr: new_isr,
            });
        }
        if !sends.is_empty() {
            self.due_by(now_ms + resend_after);
        }
        for m in sends {
            self.send(ctl, m, now_us);
        }
    }

    /// Answer every pending produce whose records are now committed, or whose partition moved.
    pub(super) fn complete_purgatory(&mut self, now_us: u64) {
        self.settle_purgatory(now_us, false, None);
    }

    pub(super) fn expire_purgatory(&mut self, now_us: u64) {
        self.settle_purgatory(now_us, true, None);
    }

    pub(super) fn fail_purgatory_for(&mut self, p: PartitionId, now_us: u64) {
        self.settle_purgatory(now_us, false, Some(p));
    }

    fn settle_purgatory(&mut self, now_us: u64, expire: bool, lost: Option<PartitionId>) {
        let now_ms = now_us / 1000;
        let min_isr = self.sh.scenario.log.min_insync_replicas;
        // The transaction-state partition has its own (`transaction.state.log.min.isr`).
        let state_min_isr = self.sh.scenario.log.transaction_state_min_isr;
        let state_from = self.sh.first_state_partition();
        let mut replies = Vec::new();
        let parts = &self.parts;
        self.purgatory.retain_mut(|pp| {
            pp.waits.retain(|&(p, base, end, epoch)| {
                let r = &parts[&p];
                let res = if lost == Some(p) || r.leader_epoch != epoch || !matches!(r.role, Role::Leader(_)) {
                    Some(Err(ProduceError::NotLeader))
                } else if r.hw >= end {
                    let min_isr = if p >= state_from { state_min_isr } else { min_isr };
                    Some(if r.isr.len() < min_isr {
                        Err(ProduceError::NotEnoughReplicasAfterAppend)
                    } else {
                        Ok(base)
                    })
                } else if expire && now_ms >= pp.deadline_ms {
                    Some(Err(ProduceError::Timeout))
                } else {
                    None
                };
                match res {
                    Some(res) => {
                        pp.results.push((p, res));
                        false
                    }
                    None => true,
                }
            });
            if pp.waits.is_empty() {
                replies.push((
                    pp.src,
                    Msg::ProduceReply {
                        req: pp.req,
                        results: std::mem::take(&mut pp.results),
                    },
                    pp.not_before_us,
                ));
                false
            } else {
                true
            }
        });
        for (dst, m, not_before_us) in replies {
            // A transaction coordinator's own state write: it acts here, nothing is sent.
            if let (true, Msg::ProduceReply { req, results }) = (dst == self.addr, &m) {
                if req & super::transaction_state_writes::STATE_WRITE != 0 {
                    self.state_write_settled(*req, results, now_us.max(not_before_us));
                    continue;
                }
            }
            self.send(dst, m, now_us.max(not_before_us));
        }
    }
}
