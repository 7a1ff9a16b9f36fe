//! The follower side of replication: one fetch session per leader broker
//! carrying all partitions followed from it, appending what comes back,
//! and truncating where the logs diverge.

use super::broker::{Broker, FetchSession, SESSION_TIMEOUT_SLACK_MS};
use super::replica::Role;
use crate::config::FlushPolicy;
use crate::ids::{BrokerId, PartitionId};
use crate::msg::{FetchPart, FetchResult, Msg};
use crate::net::ByDestination;

/// After an error answer, wait this long before fetching that partition again.
const ERROR_BACKOFF_MS: u64 = 100;

impl Broker {
    /// Start a fetch towards every leader we follow and have nothing in flight to.
    pub(super) fn send_fetches(&mut self, now_us: u64) {
        let now_ms = now_us / 1000;
        // Called on every wake-up; most find every session in flight.
        if now_ms < self.fetches_idle_until_ms {
            return;
        }
        let mut backoff_ends = u64::MAX;
        let mut by_leader: ByDestination<BrokerId, FetchPart> = ByDestination::new();
        {
            let disk = self.sh.disks[self.id].lock().expect("disk lock");
            for (p, r) in &self.parts {
                if let Role::Follower {
                    leader,
                    backoff_until_ms,
                } = r.role
                {
                    if self.sessions.get(&leader).is_some_and(|s| s.in_flight) {
                        continue;
                    }
                    if backoff_until_ms > now_ms {
                        backoff_ends = backoff_ends.min(backoff_until_ms);
                        continue;
                    }
                    let log = disk.logs.get(&p).expect("hosted partition");
                    by_leader.group(leader).push(FetchPart {
                        partition: p,
                        fetch_offset: log.leo(),
                        current_epoch: r.leader_epoch,
                        last_fetched_epoch: log.last_epoch(),
                    });
                }
            }
        }
        // Until a session ends (its reply, its expiry) or roles change, only a
        // backoff's end can give this more to send.
        self.fetches_idle_until_ms = backoff_ends;
        for (leader, parts) in by_leader {
            let depart_us = self
                .fetcher_blocked_until_us
                .remove(&leader)
                .map_or(now_us, |t| t.max(now_us));
            self.next_session += 1;
            let session = self.next_session;
            self.sessions.insert(
                leader,
                FetchSession {
                    id: session,
                    in_flight: true,
                    sent_ms: depart_us / 1000,
                },
            );
            let dst = self.sh.layout.broker(leader);
            self.send(
                dst,
                Msg::Fetch {
                    follower: self.id,
                    session,
                    parts,
                },
                depart_us,
            );
        }
    }

    /// Forget fetches that were never answered (lost messages, dead leader).
    pub(super) fn expire_sessions(&mut self, now_ms: u64) {
        let limit = self.sh.scenario.log.replica_fetch_wait_max_ms + SESSION_TIMEOUT_SLACK_MS;
        for s in self.sessions.values_mut() {
            if s.in_flight && now_ms >= s.sent_ms + limit {
                s.in_flight = false;
                self.fetches_idle_until_ms = 0;
            }
        }
    }

    pub(super) fn on_fetch_reply(
        &mut self,
        leader: BrokerId,
        session: u64,
        parts: Vec<(PartitionId, FetchResult)>,
        now_us: u64,
    ) {
        match self.sessions.get_mut(&leader) {
            Some(s) if s.id == session => {
                s.in_flight = false;
                self.fetches_idle_until_ms = 0;
            }
            _ => return,
        }
        let mut load = crate::record_cost::RecordLoad::follower_append(parts.iter().flat_map(|(_, r)| match r {
            FetchResult::Records { batches, .. } => batches.as_slice(),
            _ => &[],
        }));
        for (_, r) in &parts {
            if let FetchResult::Summary { span, .. } = r {
                // The records a span stands for were batches on the wire: one check per segment.
                load.bytes += span.bytes;
                load.batches += span.segments;
            }
        }
        let done = self.cpu_records(now_us, load);
        let now_ms = now_us / 1000;
        let fsync = self.sh.scenario.log.flush == FlushPolicy::EveryBatch;
        let mut disk_bytes = 0;
        let mut dirtied: Vec<(PartitionId, u64)> = Vec::new();
        let mut backoff = false;
        let mut disk = self.sh.disks[self.id].lock().expect("disk lock");
        for (p, res) in parts {
            let Some(r) = self.parts.get_mut(&p) else { continue };
            if !matches!(r.role, Role::Follower { leader: l, .. } if l == leader) {
                continue;
            }
            let log = disk.logs.get_mut(&p).expect("hosted partition");
            match res {
                FetchResult::Records { batches, hw } => {
                    let before = disk_bytes;
                    for b in batches {
                        let leo = log.leo();
                        if b.end_offset() <= leo {
                            continue;
                        }
                        // A compacted transaction-state log has gaps the follower keeps.
                        if b.base_offset != leo && !(b.txn_state.is_some() && b.base_offset > leo) {
                            // A gap means our view is stale; the next fetch starts from our end.
                            break;
                        }
                        disk_bytes += b.bytes;
                        log.append(b);
                    }
                    if disk_bytes > before {
                        dirtied.push((p, disk_bytes - before));
                    }
                    if fsync {
                        log.flush();
                    }
                    r.hw = r.hw.max(hw.min(log.leo()));
                }
                FetchResult::Summary { span, hw } => {
                    if span.base != log.leo() {
                        // Our view is stale; the next fetch starts from our end.
                        continue;
                    }
                    log.adopt_summary(&span, self.sh.scenario.log.segment_bytes);
                    disk_bytes += span.bytes;
                    if span.bytes > 0 {
                        dirtied.push((p, span.bytes));
                    }
                    if fsync {
                        log.flush();
                    }
                    r.hw = r.hw.max(hw.min(log.leo()));
                }
                FetchResult::Diverging { epoch, end_offset } => {
                    let (_, own_end) = log.end_offset_for_epoch(epoch);
                    let to = end_offset.min(own_end);
                    super::truncation::truncate_on_timeline(
                        &self.sh,
                        self.id,
                        p,
                        log,
                        to,
                        &format!("diverged from the leader at epoch {epoch}"),
                    );
                    // An epoch this replica led without writing a record starts at the end it
                    // truncated to; asked about again, the leader would answer the same forever.
                    log.forget_epochs_from(to.min(log.leo()));
                    r.hw = r.hw.min(log.leo());
                }
                FetchResult::FencedEpoch | FetchResult::NotLeader => {
                    if let Role::Follower { backoff_until_ms, .. } = &mut r.role {
                        *backoff_until_ms = now_ms + ERROR_BACKOFF_MS;
                        backoff = true;
                    }
                }
            }
        }
        if self.sh.scenario.log.flush.uses_page_cache() && !dirtied.is_empty() {
            // The fetcher thread appends through the page cache; blocked at the dirty
            // limit, it sends its next fetch only when write() returns.
            let disk = &mut *disk;
            let mut res = self.sh.resources[self.id].lock().expect("resources lock");
            let mut go = done;
            for (p, bytes) in dirtied {
                go = go.max(disk.page_cache.dirtied(
                    &mut disk.logs,
                    &mut res.disk,
                    &self.sh.scenario.resources,
                    p,
                    bytes,
                    done,
                ));
            }
            // Only a write blocked at the dirty limit holds the next fetch back; the CPU
            // time of handling this reply is charged to the broker's cores, as it always was.
            if go > done {
                self.fetcher_blocked_until_us.insert(leader, go);
            }
        }
        drop(disk);
        if backoff {
            self.due_by(now_ms + ERROR_BACKOFF_MS);
        }
        if fsync && disk_bytes > 0 {
            self.sh.resources[self.id]
                .lock()
                .expect("resources lock")
                .disk
                .write(done, disk_bytes, true);
        }
    }
}
