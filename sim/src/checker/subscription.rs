//! The subscriptions' checks at the end of a run: the witnesses the poll
//! watch gathered while the run went (`poll_skip`, `nonmonotonic_poll`,
//! `inconsistent_offsets`), and `unseen`: once the run drained, every
//! subscription must have received every offset of every events partition's
//! committed log, offset 0 up to the final high watermark. With the log's
//! own `no_loss` (every acknowledged event sits below its partition's high
//! watermark), that is every acknowledged event reaching some consumer of
//! each subscription, as long as no offset was rewritten after a consumer
//! read it. An unclean election can rewrite offsets: a consumer sent back by
//! `OutOfRange` re-reads them and `inconsistent_offsets` sees the new
//! records, but one whose position stayed below the new leader's log end is
//! not sent back, and the records now at offsets it read before reach
//! nobody without `unseen` noticing (the consumers do not validate their
//! position against the leader epoch, as KIP-320's do). Offsets are walked
//! as ranges, never one per event.

use super::committed::WITNESS;
use crate::subscription::polls::CHECKS;
use crate::world::Shared;
use streamsim_reports::Violation;

/// One subscription at the end of a run.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct SubscriptionReport {
    /// Its name.
    pub name: String,
    /// Consumers in its group.
    pub consumers: usize,
    /// Records its polls returned (a record polled twice counts twice).
    pub records: u64,
    /// Distinct committed-log offsets it received.
    pub received: u64,
    /// Committed-log offsets no consumer of it received.
    pub unseen: u64,
    /// Largest total lag sampled, records.
    pub lag_peak: u64,
    /// Generations its group went through.
    pub rebalances: u64,
    /// Offset commits accepted.
    pub commits: u64,
    /// Occurrences of each consumer-side check, in [`CHECKS`] order.
    pub checks: Vec<(String, u64)>,
    /// (virtual ms, total lag), sampled every second.
    pub lag: Vec<(u64, u64)>,
}

/// Report every subscription and add the consumer-side violations to `out`.
pub fn check(
    sh: &Shared,
    ends: &[Option<(usize, u64)>],
    end_ms: u64,
    out: &mut Vec<Violation>,
) -> Vec<SubscriptionReport> {
    let subs = &sh.subscriptions;
    let watch = subs.watch.lock().expect("watch lock");
    out.extend(watch.found.iter().cloned());
    let mut reps = Vec::new();
    let mut gaps = Vec::new();
    for (i, cfg) in subs.configs.iter().enumerate() {
        let st = subs.state[i].lock().expect("subscription lock");
        let mut rep = SubscriptionReport {
            name: cfg.name.clone(),
            consumers: cfg.consumers,
            records: st.counts.records,
            lag_peak: st.counts.lag_peak,
            rebalances: subs.groups[i].lock().expect("group lock").generation,
            commits: st.counts.commits,
            lag: st.lag.clone(),
            ..Default::default()
        };
        for p in 0..sh.event_partitions {
            // No leader at the end: the log's own check reports the partition.
            let Some((_, hw)) = ends.get(p).copied().flatten() else {
                continue;
            };
            let mut covered = 0u64;
            for (lo, hi) in st.received[p].spans() {
                if lo >= hw {
                    break;
                }
                if lo > covered {
                    rep.unseen += lo - covered;
                    gaps.push(format!("{} partition {p} offsets {covered}..{lo}", cfg.name));
                }
                rep.received += hi.min(hw) - lo;
                covered = hi.min(hw);
            }
            if covered < hw {
                rep.unseen += hw - covered;
                gaps.push(format!("{} partition {p} offsets {covered}..{hw}", cfg.name));
            }
        }
        rep.checks = CHECKS
            .iter()
            .map(|&c| {
                let n = if c == "unseen" {
                    rep.unseen
                } else {
                    watch.counts.get(&(i, c)).copied().unwrap_or(0)
                };
                (c.to_string(), n)
            })
            .collect();
        reps.push(rep);
    }
    if !gaps.is_empty() {
        let total: u64 = reps.iter().map(|r| r.unseen).sum();
        let more = gaps.len().saturating_sub(WITNESS);
        gaps.truncate(WITNESS);
        out.push(Violation {
            invariant: "unseen".to_string(),
            detail: format!(
                "{total} committed records no consumer of a subscription received after the drain: {}{}",
                gaps.join("; "),
                if more > 0 {
                    format!(" and {more} more ranges")
                } else {
                    String::new()
                }
            ),
            at_ms: end_ms,
        });
    }
    reps
}
