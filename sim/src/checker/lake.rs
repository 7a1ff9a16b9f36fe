//! The cold path's checks: once the run drained, the files the lake's
//! manifest names must tile every events partition's committed log,
//! offset 0 up to the final high watermark, exactly once. A gap is a
//! committed record no lake file holds (`lake.no_loss`); an overlap is a
//! record two committed files hold (`lake.exactly_once`). Files are offset
//! ranges, so the walk costs one step per file, never one per event. With
//! the log's own `no_loss` (every acknowledged event sits below its
//! partition's high watermark) this is every acknowledged event in exactly
//! one committed lake file.
//!
//! Under a transactional gateway, no committed file may hold a record of an
//! aborted transaction (`lake.no_aborted`, the lake's `aborted_read`): each
//! file notes the transactional batches it took records of, and the log's
//! transaction index says how each one's transaction ended.

use super::committed::WITNESS;
use crate::lake::store::LakeStore;
use crate::log::last_stable_offset::TxnOutcome;
use crate::world::Shared;
use streamsim_reports::Violation;

/// What the lake holds at the end of a run.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct LakeReport {
    /// Files the manifest names.
    pub files: u64,
    /// Committed log records held by at least one committed file.
    pub archived: u64,
    /// Records held by more than one committed file (counted once per extra copy).
    pub duplicated: u64,
    /// Committed log records no committed file holds.
    pub missing: u64,
    /// Objects in the bucket no manifest entry names (cut-off uploads).
    pub orphans: u64,
    /// Bytes of the committed files.
    pub bytes: u64,
    /// Puts that replaced an object of the same name.
    pub replaced: u64,
    /// Requests that failed and were retried.
    pub failed_requests: u64,
    /// Records of aborted transactions that committed files hold.
    pub aborted: u64,
}

/// Walk each partition's committed files in offset order against its committed log.
pub fn check(sh: &Shared, ends: &[Option<(usize, u64)>], end_ms: u64, out: &mut Vec<Violation>) -> LakeReport {
    let lake = sh.lake.lock().expect("lake lock");
    let mut rep = LakeReport {
        files: lake.manifest.len() as u64,
        orphans: lake.orphans() as u64,
        bytes: lake.committed_bytes(),
        replaced: lake.stats.replaced,
        failed_requests: lake.stats.failed_requests,
        ..Default::default()
    };
    let (mut gaps, mut overlaps) = (Vec::new(), Vec::new());
    for p in 0..sh.event_partitions {
        // Keys are zero-padded partition and offsets: the manifest's order is offset order.
        let mut files: Vec<(u64, u64)> = lake
            .manifest
            .values()
            .filter(|f| f.partition == p)
            .map(|f| (f.lo, f.hi))
            .collect();
        files.sort_unstable();
        let hw = match ends.get(p).copied().flatten() {
            Some((_, hw)) => hw,
            // No leader at the end: the log's own check reports the partition.
            None => continue,
        };
        let mut covered = 0u64;
        for (lo, hi) in files {
            if lo > covered {
                let gap_end = lo.min(hw);
                if gap_end > covered {
                    rep.missing += gap_end - covered;
                    gaps.push(format!("partition {p} offsets {covered}..{gap_end}"));
                }
            }
            let overlap = hi.min(covered).saturating_sub(lo);
            if overlap > 0 {
                rep.duplicated += overlap;
                overlaps.push(format!("partition {p} offsets {lo}..{} in two files", lo + overlap));
            }
            rep.archived += hi.saturating_sub(lo.max(covered));
            covered = covered.max(hi);
        }
        if covered < hw {
            rep.missing += hw - covered;
            gaps.push(format!(
                "partition {p} offsets {covered}..{hw} (the lake group's offset is {})",
                lake.offsets[p]
            ));
        }
    }
    let mut aborted_w = Vec::new();
    rep.aborted = aborted_held(sh, &lake, ends, &mut aborted_w);
    if rep.aborted > 0 {
        out.push(Violation {
            invariant: "lake.no_aborted".into(),
            detail: format!(
                "{} record(s) of aborted transactions in committed lake files: {}",
                rep.aborted,
                aborted_w.join("; ")
            ),
            at_ms: end_ms,
        });
    }
    if rep.missing > 0 {
        out.push(Violation {
            invariant: "lake.no_loss".into(),
            detail: format!(
                "{} committed record(s) in no committed lake file: {}",
                rep.missing,
                gaps.into_iter().take(WITNESS).collect::<Vec<_>>().join("; ")
            ),
            at_ms: end_ms,
        });
    }
    if rep.duplicated > 0 {
        out.push(Violation {
            invariant: "lake.exactly_once".into(),
            detail: format!(
                "{} record(s) in more than one committed lake file: {}",
                rep.duplicated,
                overlaps.into_iter().take(WITNESS).collect::<Vec<_>>().join("; ")
            ),
            at_ms: end_ms,
        });
    }
    rep
}

/// Records of aborted transactions the manifest's files hold, as the final
/// leader's transaction index judges them; the first few go to `witness`.
fn aborted_held(sh: &Shared, lake: &LakeStore, ends: &[Option<(usize, u64)>], witness: &mut Vec<String>) -> u64 {
    let mut n = 0;
    for f in lake.manifest.values() {
        let (Some(i), Some(Some((leader, _)))) = (f.txn_held, ends.get(f.partition)) else {
            continue;
        };
        let disk = sh.disks[*leader].lock().expect("disk lock");
        let Some(log) = disk.logs.get(&f.partition) else {
            continue;
        };
        for h in &lake.txn_held[i] {
            if log.txns.outcome(h.pid, h.offset) == TxnOutcome::Aborted {
                n += h.records;
                if witness.len() < WITNESS {
                    witness.push(format!(
                        "{} holds {} record(s) of the batch at offset {} of producer {:#x}, whose transaction aborted",
                        f.name(),
                        h.records,
                        h.offset,
                        h.pid
                    ));
                }
            }
        }
    }
    n
}

/// The p99 of freshness samples, seconds (`None` without samples).
pub fn p99(samples: &[f64]) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    let mut v = samples.to_vec();
    v.sort_by(f64::total_cmp);
    let i = ((v.len() as f64 * 0.99).ceil() as usize).clamp(1, v.len()) - 1;
    Some(v[i])
}

/// The lake's freshness now, seconds: the age of the newest committed event
/// on the events partition furthest behind, among partitions that hold records.
pub fn freshness_s(sh: &Shared, now_us: u64) -> f64 {
    let lake = sh.lake.lock().expect("lake lock");
    let oldest = (0..sh.event_partitions)
        .filter(|&p| sh.committed_hw(p) > 0)
        .map(|p| lake.newest_born_us[p])
        .min();
    oldest.map_or(0.0, |born| now_us.saturating_sub(born) as f64 / 1e6)
}

#[cfg(test)]
mod tests {
    use super::p99;

    #[test]
    fn p99_takes_the_sample_at_the_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(p99(&v), Some(99.0));
        assert_eq!(p99(&[3.0]), Some(3.0));
        assert_eq!(p99(&[]), None);
    }
}
