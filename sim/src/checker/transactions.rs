//! The consumer-side checks of transactions, on what the processors' consumers
//! passed on to processing (noted as they read it) against each partition's
//! final transaction index and the times its markers were written:
//!
//! * `aborted_read`: a record of an aborted transaction was read (Adya's G1a,
//!   the anomaly read_committed exists to prevent);
//! * `intermediate_read`: a record was read before the marker that committed
//!   its transaction was written (G1b: a transaction's state seen before it was final);
//! * `hanging_transaction`: a partition's last stable offset stood below its high
//!   watermark, at the same transaction, for longer than `transaction.max.timeout.ms`
//!   (a liveness check: no coordinator lets a transaction it knows of stay open that
//!   long, so this one is unknown to it, and read_committed consumers stop there).
//!
//! Both apply whenever the gateways are transactional: the sink is meant to
//! hold committed data only, so a read_uncommitted processor is the negative control.

use super::committed::WITNESS;
use crate::log::last_stable_offset::TxnOutcome;
use crate::log::transaction_coordinator::{state_partitions, TxnStats};
use crate::log::transaction_ledger::HangingTxn;
use crate::world::Shared;
use streamsim_reports::Violation;

/// What the run's transactions came to.
#[derive(Debug, Default, Clone, Copy)]
pub struct TxnReport {
    /// The coordinator's counts.
    pub stats: TxnStats,
    /// Transactional records the processors read.
    pub records_read: u64,
    /// Of those, records of aborted transactions.
    pub aborted_reads: u64,
    /// Of those, records read before their commit marker was written (or of transactions never closed).
    pub intermediate_reads: u64,
}

/// Compare what the consumers read (the processors, and the read_committed
/// subscriptions) with how each transaction ended.
pub fn check(sh: &Shared, end_ms: u64, out: &mut Vec<Violation>) -> TxnReport {
    track_held_lso(sh, end_ms);
    let txn = sh.txn.lock().expect("txn lock");
    let mut rep = TxnReport {
        stats: txn.store.stats,
        ..TxnReport::default()
    };
    let leaders: Vec<Option<usize>> = {
        let md = sh.metadata.lock().expect("metadata lock");
        (0..sh.assignment.len())
            .map(|p| {
                md.get(p)
                    .and_then(|s| s.leader)
                    .or_else(|| sh.assignment[p].first().copied())
            })
            .collect()
    };
    let (mut aborted_w, mut intermediate_w) = (Vec::new(), Vec::new());
    for read in &txn.reads {
        rep.records_read += read.records;
        let Some(Some(b)) = leaders.get(read.partition) else {
            continue;
        };
        let disk = sh.disks[*b].lock().expect("disk lock");
        let Some(log) = disk.logs.get(&read.partition) else {
            continue;
        };
        let what = format!(
            "partition {} offsets {}..{} of producer {:#x} read at {} ms",
            read.partition,
            read.offset,
            read.offset + read.records,
            read.pid,
            read.at_ms
        );
        let event = log
            .records_from(read.offset)
            .next()
            .filter(|_| read.offset >= log.summary_end())
            .map_or(String::new(), |r| format!(" (first event {})", r.id));
        match log.txns.outcome(read.pid, read.offset) {
            TxnOutcome::Aborted => {
                rep.aborted_reads += read.records;
                if aborted_w.len() < WITNESS {
                    aborted_w.push(format!("{what}{event}: its transaction aborted"));
                }
            }
            TxnOutcome::Committed(marker, leader_epoch) => {
                // The surviving marker's leader epoch tells its write from a stale leader's
                // write at the same offset that was truncated away.
                let written = txn.marker_time(read.partition, marker, leader_epoch).unwrap_or(0);
                if written > read.at_ms {
                    rep.intermediate_reads += read.records;
                    if intermediate_w.len() < WITNESS {
                        intermediate_w.push(format!(
                            "{what}{event}: its commit marker (offset {marker}) was written at {written} ms"
                        ));
                    }
                }
            }
            TxnOutcome::Open => {
                rep.intermediate_reads += read.records;
                if intermediate_w.len() < WITNESS {
                    intermediate_w.push(format!("{what}{event}: its transaction never closed"));
                }
            }
            TxnOutcome::None => {}
        }
    }
    if rep.aborted_reads > 0 {
        out.push(Violation {
            invariant: "aborted_read".into(),
            detail: format!(
                "the consumers read {} record(s) of aborted transactions: {}",
                rep.aborted_reads,
                aborted_w.join("; ")
            ),
            at_ms: end_ms,
        });
    }
    if !txn.hanging.is_empty() {
        let limit = sh.scenario.log.transaction_max_timeout_ms;
        let witnesses: Vec<String> = txn
            .hanging
            .iter()
            .take(WITNESS)
            .map(|(p, h)| hanging_witness(*p, h))
            .collect();
        out.push(Violation {
            invariant: "hanging_transaction".into(),
            detail: format!(
                "{} partition(s) held their last stable offset below the high watermark for longer than \
                 transaction.max.timeout.ms ({limit} ms), so read_committed consumers stopped there: {}",
                txn.hanging.len(),
                witnesses.join("; ")
            ),
            at_ms: txn.hanging.values().map(|h| h.seen_ms).min().unwrap_or(end_ms),
        });
    }
    if rep.intermediate_reads > 0 {
        out.push(Violation {
            invariant: "intermediate_read".into(),
            detail: format!(
                "the consumers read {} record(s) of transactions not committed yet: {}",
                rep.intermediate_reads,
                intermediate_w.join("; ")
            ),
            at_ms: end_ms,
        });
    }
    rep
}

/// The partition whose last stable offset the report plots: the first events
/// partition, or the first output partition when only the processors are transactional.
fn lso_partition(sh: &Shared) -> usize {
    if sh.scenario.gateway.transactional {
        0
    } else {
        sh.output.of_input(0)
    }
}

/// One hanging transaction, for the violation's detail.
fn hanging_witness(p: usize, h: &HangingTxn) -> String {
    format!(
        "partition {p}: a transaction of producer {:#x} (epoch {}) from offset {} held it from {} ms (still at {} ms), \
         one no coordinator closes",
        h.pid, h.epoch, h.first, h.since_ms, h.seen_ms
    )
}

/// Note, for every data partition, since when its last stable offset has stood where
/// it is below the high watermark, and keep as hanging a transaction that has held it
/// longer than `transaction.max.timeout.ms` (KIP-664 finds hanging transactions the
/// same way: open longer than the longest timeout a coordinator allows).
fn track_held_lso(sh: &Shared, now_ms: u64) {
    let limit = sh.scenario.log.transaction_max_timeout_ms;
    let data = sh.assignment.len() - state_partitions(true);
    let leaders: Vec<Option<usize>> = {
        let md = sh.metadata.lock().expect("metadata lock");
        (0..data).map(|p| md.get(p).and_then(|s| s.leader)).collect()
    };
    for (p, leader) in leaders.into_iter().enumerate() {
        // A partition without a leader is not sampled: its clock keeps running, so a
        // hanging transaction whose partition changes leader is still seen.
        let Some(b) = leader else { continue };
        let hw = sh.committed_hw(p);
        let held = {
            let disk = sh.disks[b].lock().expect("disk lock");
            disk.logs.get(&p).and_then(|log| {
                let lso = log.lso(hw);
                if lso >= hw {
                    return None;
                }
                let batches = log.batches();
                let stamp = batches
                    .binary_search_by_key(&lso, |b| b.base_offset)
                    .ok()
                    .and_then(|i| batches[i].producer);
                Some((lso, stamp.map_or((0, 0), |s| (s.pid, s.epoch))))
            })
        };
        let mut txn = sh.txn.lock().expect("txn lock");
        let Some((lso, (pid, epoch))) = held else {
            txn.lso_held.remove(&p);
            continue;
        };
        let since_ms = match txn.lso_held.get(&p) {
            Some(&(at, since)) if at == lso => since,
            _ => {
                txn.lso_held.insert(p, (lso, now_ms));
                now_ms
            }
        };
        // Held past the limit by a transaction its coordinator still means to close (open, or
        // decided with this marker owed) is a slow close, e.g. a coordinator down or cut
        // off; hanging is one no coordinator knows of, as KIP-664's tool also asks.
        if now_ms.saturating_sub(since_ms) > limit && !txn.hanging.contains_key(&p) && !txn.store.knows(pid, p) {
            txn.hanging.insert(
                p,
                HangingTxn {
                    pid,
                    epoch,
                    first: lso,
                    since_ms,
                    seen_ms: now_ms,
                },
            );
        }
    }
}

/// Sample the high watermark and last stable offset of the plotted partition, from its
/// leader, and note where every partition's last stable offset stands.
pub fn sample_lso(sh: &Shared, now_ms: u64) {
    if !crate::processor::output_topic::transactions_on(sh.scenario.gateway.transactional, &sh.scenario.processor) {
        return;
    }
    track_held_lso(sh, now_ms);
    let p = lso_partition(sh);
    let Some(leader) = sh.metadata.lock().expect("metadata lock").get(p).and_then(|s| s.leader) else {
        return;
    };
    let hw = sh.committed_hw(p);
    let lso = {
        let disk = sh.disks[leader].lock().expect("disk lock");
        let Some(log) = disk.logs.get(&p) else { return };
        log.lso(hw)
    };
    sh.txn.lock().expect("txn lock").lso_series.push((now_ms, hw, lso));
}

/// The run result's transactions object.
pub fn result(sh: &Shared, t: &TxnReport) -> streamsim_reports::TransactionsResult {
    let s = t.stats;
    let (series, hanging) = {
        let txn = sh.txn.lock().expect("txn lock");
        (txn.lso_series.clone(), txn.hanging.keys().copied().collect())
    };
    streamsim_reports::TransactionsResult {
        begun: s.begun,
        committed: s.committed,
        aborted: s.aborted,
        timed_out: s.timed_out,
        fenced: s.fenced,
        resumed_after_failover: s.resumed,
        markers: s.markers,
        records_read: t.records_read,
        aborted_reads: t.aborted_reads,
        intermediate_reads: t.intermediate_reads,
        lso_partition: lso_partition(sh),
        lso_series: series
            .into_iter()
            .map(|(at_ms, hw, lso)| streamsim_reports::LsoPoint { at_ms, hw, lso })
            .collect(),
        unverified_batches: s.unverified,
        hanging_partitions: hanging,
        state_records_written: s.state_writes,
        state_records_held: crate::log::transaction_state_log::records_held(sh),
    }
}
