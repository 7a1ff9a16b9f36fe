//! Every truncation of a replica's log goes on the timeline: which broker,
//! which partition, the offsets removed, why, and how many of the removed
//! records were events their clients had already been told were written,
//! and, counted when the run ends, how many more were acknowledged after the
//! cut (the acknowledgement was on its way, or a retry's copy was
//! acknowledged later: the ledger cannot tell which). A run that loses
//! acknowledged events shows where they went.

use super::partition_log::PartitionLog;
use crate::ids::{BrokerId, PartitionId};
use crate::record::EventId;
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
    // Only the unacknowledged ids are kept: a power loss at a peak cuts
    // hundreds of thousands of acknowledged records, and a few in flight.
    let mut acked = 0u64;
    let mut unacked = Vec::new();
    {
        let ledger = sh.ledger.lock().expect("ledger lock");
        for r in log.records_from(to) {
            if acknowledged(&ledger, r.id) {
                acked += 1;
            } else {
                unacked.push(r.id);
            }
        }
    }
    log.truncate_to(to);
    let after = log.leo();
    let removed = before - after;
    let at = sh.timeline_with(
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
    sh.truncated_unacknowledged
        .lock()
        .expect("truncated events lock")
        .push((at, unacked));
    removed
}

fn acknowledged(ledger: &crate::checker::ledger::Ledger, id: EventId) -> bool {
    ledger
        .clients
        .get(id.client as usize)
        .is_some_and(|c| c.acked.contains(id.seq))
}

/// At the end of a run: add to each truncation the removed events that their
/// clients heard acknowledged only after the cut, as the field
/// `acknowledged_after_cut`. With acks=1 a leader answers as it appends, and
/// a cut can come while the answer is still on the network; a retry's copy
/// acknowledged later counts too, so the field bounds the late answers from
/// above.
pub fn count_late_acknowledgements(sh: &Shared) {
    let pending = std::mem::take(&mut *sh.truncated_unacknowledged.lock().expect("truncated events lock"));
    let ledger = sh.ledger.lock().expect("ledger lock");
    let mut timeline = sh.timeline.lock().expect("timeline lock");
    for (at, ids) in pending {
        let late = ids.iter().filter(|&&id| acknowledged(&ledger, id)).count() as u64;
        let e = &mut timeline[at];
        e.fields.push(("acknowledged_after_cut".into(), late.into()));
        if late > 0 {
            e.text
                .push_str(&format!(", and {late} more acknowledged after the cut"));
        }
    }
}

/// A power loss on broker `b`: every log loses its unflushed tail, each loss on the timeline.
pub fn power_loss(sh: &Shared, b: BrokerId) {
    let mut guard = sh.disks[b].lock().expect("disk lock");
    let disk = &mut *guard;
    disk.unclean_shutdown = true;
    // What the disk finished writing before the power went is durable; the rest of the cache is not.
    disk.page_cache.complete(&mut disk.logs, crate::clock::now_us());
    disk.page_cache.lose_power();
    for (p, log) in disk.logs.iter_mut() {
        let flushed = log.flushed();
        truncate_on_timeline(sh, b, p, log, flushed, "power loss: the unflushed tail is gone");
    }
}

#[cfg(test)]
mod tests {
    use crate::run::{run_scenario, RunOptions};
    use crate::world::{TimelineEntry, TimelineKind};

    /// KIP-101's first scenario at a small scale: follower broker 1 restarts within its session
    /// (its high-watermark checkpoint is from 5 s), leader broker 0 has just crashed.
    const SCHEDULE: &str = r#"
name = "hw-truncation-on-become-follower"
expect = "violation"
duration_s = 20
[topology]
brokers = 2
partitions = 2
replication_factor = 2
gateways = 1
clients = 2
[log]
truncation = "high_watermark"
flush = "every_batch"
broker_session_timeout_ms = 6000
broker_heartbeat_interval_ms = 1000
[producer]
request_timeout_ms = 3000
[workload]
rate = { kind = "constant", events_per_s = 400 }
[[faults]]
at_s = 8.5
kind = "crash"
target = "broker:1"
restart_after_s = 1
[[faults]]
at_s = 9.4
kind = "crash"
target = "broker:0"
restart_after_s = 8
"#;

    fn num(e: &TimelineEntry, name: &str) -> u64 {
        e.fields
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.as_u64())
            .unwrap_or_else(|| panic!("no {name} in {}", e.text))
    }

    fn reason(e: &TimelineEntry) -> &str {
        e.fields
            .iter()
            .find(|(k, _)| k == "reason")
            .and_then(|(_, v)| v.as_str())
            .unwrap()
    }

    #[test]
    fn a_restarted_replica_truncates_to_its_checkpoint_only_when_it_becomes_a_follower() {
        let loaded = crate::scenario::parse_scenario(std::path::Path::new("inline.toml"), SCHEDULE).unwrap();
        let opts = RunOptions {
            seed: 1,
            wall_limit: std::time::Duration::from_secs(120),
        };
        let out = run_scenario(&loaded, &opts).unwrap();
        let t = &out.timeline;
        let at = |kind: TimelineKind, words: &[u64]| {
            t.iter()
                .find(|e| e.kind == kind && e.words.starts_with(words))
                .unwrap_or_else(|| panic!("no {kind:?} {words:?}"))
                .at_ms
        };
        let cuts = |b: u64, p: u64| -> Vec<&TimelineEntry> {
            t.iter()
                .filter(|e| e.kind == TimelineKind::Truncation && num(e, "broker") == b && num(e, "partition") == p)
                .collect()
        };
        // Broker 1 comes back at 9.5 s, registers (incarnation 2), and only then cuts partition 0,
        // which it follows, to the checkpoint: acknowledged records go with it.
        let registered = at(TimelineKind::Registered, &[1, 2]);
        let follower_cut = cuts(1, 0);
        assert_eq!(follower_cut.len(), 1, "{follower_cut:?}");
        assert!(follower_cut[0].at_ms >= registered && follower_cut[0].at_ms < 9_600);
        assert!(reason(follower_cut[0]).starts_with("becoming a follower"));
        assert!(num(follower_cut[0], "acknowledged_removed") > 0);
        // Partition 1, which it still leads (the restart went unnoticed), keeps its whole log.
        assert!(cuts(1, 1).is_empty(), "{:?}", cuts(1, 1));
        // Still in the ISR, broker 1 is elected when broker 0's session expires...
        let elected = t
            .iter()
            .find(|e| e.kind == TimelineKind::Election && e.text.starts_with("partition 0 leader broker-0 -> broker-1"))
            .expect("broker 1 elected for partition 0");
        // ...and broker 0, back as its follower, first cuts to its own checkpoint, then to the new
        // leader's shorter log: the records broker 1 cut are gone from both.
        let leader_cuts = cuts(0, 0);
        assert!(leader_cuts.iter().all(|e| e.at_ms > elected.at_ms), "{leader_cuts:?}");
        let diverged: u64 = leader_cuts
            .iter()
            .filter(|e| reason(e).starts_with("diverged"))
            .map(|e| num(e, "acknowledged_removed"))
            .sum();
        assert!(diverged > 0, "{leader_cuts:?}");
        assert!(out.report.result.events_lost > 0);
    }
}
