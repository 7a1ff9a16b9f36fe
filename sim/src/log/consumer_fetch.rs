//! The leader serving consumers' fetches (the stream processor's and the lake
//! writers'). Consumers see only committed records: nothing at or above the
//! high watermark, which is what keeps a consumer from reading data a new
//! leader would truncate.
//!
//! A fetch with nothing to return waits at the broker (Kafka's long poll,
//! `fetch.max.wait.ms`) in the same parking the followers' fetches use, and is
//! answered when the high watermark of one of its partitions moves past the
//! fetch offset, when leadership moves, or when the wait runs out. A consumer
//! therefore fetches again as soon as it has an answer, without polling.

use super::broker::{Broker, ParkedAsk, ParkedFetch, Waiter};
use super::last_stable_offset::AbortedTxn;
use super::replica::Role;
use crate::config::Isolation;
use crate::ids::{Addr, PartitionId};
use crate::msg::Msg;
use crate::wire::{ConsumerFetchResult, ReadMsg};

/// What a consumer fetch would return now.
pub(super) struct ConsumerRead {
    /// Per partition, in the order asked.
    pub parts: Vec<(PartitionId, ConsumerFetchResult)>,
    /// Record bytes read.
    pub bytes: u64,
    /// Worth answering now: records (at least `fetch.min.bytes` = 1), or an error.
    pub ready: bool,
    /// For a read_committed consumer, the aborted transactions the records meet, per partition.
    pub aborted: Option<Vec<(PartitionId, Vec<AbortedTxn>)>>,
}

impl Broker {
    pub(super) fn on_consumer_fetch(
        &mut self,
        src: Addr,
        req: u64,
        parts: Vec<(PartitionId, u64)>,
        max_bytes: u64,
        max_wait_ms: u64,
        now_us: u64,
    ) {
        let read = self.read_for_consumer(src, &parts, max_bytes);
        if read.ready || max_wait_ms == 0 {
            self.reply_to_consumer(src, req, read, now_us);
            return;
        }
        // Parsing the request costs the CPU now; the answer's reads are charged when it leaves.
        let done = self.cpu(now_us, 0);
        let deadline_ms = done / 1000 + max_wait_ms;
        self.due_by(deadline_ms);
        self.parked.insert(
            Waiter::Consumer(src, req),
            ParkedFetch {
                src,
                ask: ParkedAsk::Consumer { parts, max_bytes },
                deadline_ms,
            },
        );
    }

    /// Whether the consumer at `src` reads committed data only. Kafka's fetch request
    /// carries the consumer's `isolation.level`; here the broker reads the setting of
    /// the consumer's role: the processors', a subscription's, the lake writers', and
    /// the sink's, which fetches only the output topic (`exactly_once_txn`) and reads
    /// it committed.
    fn read_committed(&self, src: Addr) -> bool {
        let s = &self.sh.scenario;
        match self.sh.layout.role(src) {
            crate::ids::Role::Processor(_) => s.processor.isolation == Isolation::ReadCommitted,
            crate::ids::Role::Sink => true,
            crate::ids::Role::Subscriber(i) => crate::subscription::reads_committed(&self.sh, i),
            crate::ids::Role::LakeWriter(_) => {
                s.lake.isolation_level(s.gateway.transactional) == Isolation::ReadCommitted
            }
            _ => false,
        }
    }

    /// Reads what a consumer fetch asks for, without sending anything. A
    /// read_committed consumer gets records up to the last stable offset, with the
    /// aborted transactions among them.
    pub(super) fn read_for_consumer(&self, src: Addr, parts: &[(PartitionId, u64)], max_bytes: u64) -> ConsumerRead {
        let committed_only = self.read_committed(src);
        let mut aborted = Vec::new();
        let mut out = Vec::with_capacity(parts.len());
        let mut bytes = 0;
        let mut ready = false;
        let disk = self.sh.disks[self.id].lock().expect("disk lock");
        for &(p, offset) in parts {
            let (Some(r), Some(log)) = (self.parts.get(&p), disk.logs.get(&p)) else {
                out.push((p, ConsumerFetchResult::NotLeader));
                ready = true;
                continue;
            };
            if !matches!(r.role, Role::Leader(_)) {
                out.push((p, ConsumerFetchResult::NotLeader));
                ready = true;
                continue;
            }
            let mut hw = r.hw.min(log.leo());
            if committed_only {
                hw = log.lso(hw);
            }
            if offset > log.leo() {
                out.push((p, ConsumerFetchResult::OutOfRange { hw }));
                ready = true;
                continue;
            }
            let batches: Vec<_> = if offset < hw {
                log.read(offset, max_bytes)
                    .into_iter()
                    .take_while(|b| b.base_offset < hw)
                    .collect()
            } else {
                Vec::new()
            };
            ready |= !batches.is_empty();
            if committed_only && !batches.is_empty() {
                let list = log.txns.aborted_in(offset, hw);
                if !list.is_empty() {
                    aborted.push((p, list));
                }
            }
            bytes += batches.iter().map(|b| b.bytes).sum::<u64>();
            out.push((p, ConsumerFetchResult::Records { batches, hw }));
        }
        ConsumerRead {
            parts: out,
            bytes,
            ready,
            aborted: committed_only.then_some(aborted),
        }
    }

    /// Sends a consumer the answer to its request `req`.
    pub(super) fn reply_to_consumer(&mut self, src: Addr, req: u64, read: ConsumerRead, now_us: u64) {
        // Reads come from the page cache: CPU and NIC, no disk; the records
        // are sent as stored (zero-copy), so per request and per KiB only.
        let done = self.cpu(now_us, read.bytes);
        let reply = match read.aborted {
            Some(aborted) => ReadMsg::ReadCommittedFetchReply {
                req,
                parts: read.parts,
                aborted,
            },
            None => ReadMsg::ConsumerFetchReply { req, parts: read.parts },
        };
        self.send(src, Msg::Read(reply), done);
    }
}
