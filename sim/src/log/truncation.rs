//! Every truncation of a replica's log goes on the timeline: which broker,
//! which partition, the offsets removed, why, and how many of the removed
//! records were events their clients had already been told were written.
//! A run that loses acknowledged events shows where they went.

use super::PartitionLog;
use crate::ids::{BrokerId, PartitionId};
use crate::world::{Shared, TimelineKind};

/// Truncate `log` (partition `p` on broker `b`) to `to` and record it; `why` ends the
/// timeline sentence. Returns the records removed.
pub fn truncate_on_timeline(
    sh: &Shared,
    b: BrokerId,
    p: PartitionId,
    log: &mut PartitionLog,
    to: u64,
    why: &str,
) -> u64 {
    let before = log.leo();
    if to >= before {
        return 0;
    }
    let acked = {
        let ledger = sh.ledger.lock().expect("ledger lock");
        log.records_from(to)
            .filter(|r| {
                ledger
                    .clients
                    .get(r.id.client as usize)
                    .is_some_and(|c| c.acked.contains(r.id.seq))
            })
            .count() as u64
    };
    log.truncate_to(to);
    let after = log.leo();
    let removed = before - after;
    sh.timeline_with(
        TimelineKind::Truncation,
        &format!(
            "broker-{b} truncates partition {p} from {before} to {after} ({why}): {removed} record(s) removed, {acked} of them acknowledged"
        ),
        &[b as u64, p as u64, before, after, acked],
        vec![
            ("broker".into(), b.into()),
            ("partition".into(), p.into()),
            ("from_offset".into(), before.into()),
            ("to_offset".into(), after.into()),
            ("removed".into(), removed.into()),
            ("acknowledged_removed".into(), acked.into()),
            ("reason".into(), why.into()),
        ],
    );
    removed
}

/// A power loss on broker `b`: every log loses its unflushed tail, each loss on the timeline.
pub fn power_loss(sh: &Shared, b: BrokerId) {
    let mut disk = sh.disks[b].lock().expect("disk lock");
    disk.unclean_shutdown = true;
    for (&p, log) in disk.logs.iter_mut() {
        let flushed = log.flushed();
        truncate_on_timeline(sh, b, p, log, flushed, "power loss: the unflushed tail is gone");
    }
}
