//! The leader serving the stream processor's fetches. Consumers see only
//! committed records: nothing at or above the high watermark, which is
//! what keeps a consumer from reading data a new leader would truncate.

use super::broker::Broker;
use super::replica::Role;
use crate::ids::{Addr, PartitionId};
use crate::msg::Msg;
use crate::wire::{ConsumerFetchResult, ReadMsg};

impl Broker {
    pub(super) fn on_consumer_fetch(
        &mut self,
        src: Addr,
        req: u64,
        parts: Vec<(PartitionId, u64)>,
        max_bytes: u64,
        now_us: u64,
    ) {
        let mut out = Vec::with_capacity(parts.len());
        let mut bytes = 0;
        {
            let disk = self.sh.disks[self.id].lock().expect("disk lock");
            for (p, offset) in parts {
                let (Some(r), Some(log)) = (self.parts.get(&p), disk.logs.get(&p)) else {
                    out.push((p, ConsumerFetchResult::NotLeader));
                    continue;
                };
                if !matches!(r.role, Role::Leader(_)) {
                    out.push((p, ConsumerFetchResult::NotLeader));
                    continue;
                }
                let hw = r.hw.min(log.leo());
                if offset > log.leo() {
                    out.push((p, ConsumerFetchResult::OutOfRange { hw }));
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
                bytes += batches.iter().map(|b| b.bytes).sum::<u64>();
                out.push((p, ConsumerFetchResult::Records { batches, hw }));
            }
        }
        // Reads come from the page cache: CPU and NIC, no disk.
        let done = self.cpu(now_us, bytes);
        self.send(src, Msg::Read(ReadMsg::ConsumerFetchReply { req, parts: out }), done);
    }
}
