//! The consumer-side checks of transactions, on what the processors' consumers
//! passed on to processing (noted as they read it) against each partition's
//! transaction index and the times its markers were written. A read is judged
//! when the log audit folds past it (its transaction's outcome is then final on
//! every replica) and forgotten; the reads still pending at the end are judged then:
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
use crate::ids::PartitionId;
use crate::log::last_stable_offset::TxnOutcome;
use crate::log::partition_log::PartitionLog;
use crate::log::transaction_coordinator::{state_partitions, TxnStats};
use crate::log::transaction_ledger::{HangingTxn, TxnLedger};
use crate::log::transaction_reads::TxnRead;
use crate::world::Shared;
use streamsim_reports::{TxnBookkeeping, Violation};

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

/// Judge what the consumers read (the processors, and the read_committed
/// subscriptions) and is still pending against how each transaction ended, and
/// report both checks over the whole run.
pub fn check(sh: &Shared, end_ms: u64, out: &mut Vec<Violation>) -> TxnReport {
    track_held_lso(sh, end_ms);
    let mut txn = sh.txn.lock().expect("txn lock");
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
    for (seq, read) in txn.reads.take_all() {
        let Some(Some(b)) = leaders.get(read.partition) else {
            continue;
        };
        let disk = sh.disks[*b].lock().expect("disk lock");
        let Some(log) = disk.logs.get(&read.partition) else {
            continue;
        };
        judge(&mut txn, seq, &read, log, true);
    }
    let rep = TxnReport {
        stats: txn.store.stats,
        records_read: txn.reads.records_read,
        aborted_reads: txn.reads.aborted.records,
        intermediate_reads: txn.reads.intermediate.records,
    };
    if rep.aborted_reads > 0 {
        out.push(Violation {
            invariant: "aborted_read".into(),
            detail: format!(
                "the consumers read {} record(s) of aborted transactions: {}",
                rep.aborted_reads,
                txn.reads.aborted.witnesses().join("; ")
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
                txn.reads.intermediate.witnesses().join("; ")
            ),
            at_ms: end_ms,
        });
    }
    rep
}

/// The log audit folds partition `p` up to `cut` on its leader's `log` and is about
/// to summarise it: judge the reads below `cut` now (their transactions closed with
/// markers every replica holds durably, so the outcome is final), then forget them and
/// the times of the markers below `cut`. Their witnesses name no event, as the records
/// are about to be summarised away.
pub fn judge_folded(sh: &Shared, p: PartitionId, log: &PartitionLog, cut: u64) {
    let mut txn = sh.txn.lock().expect("txn lock");
    for (seq, read) in txn.reads.take_below(p, cut) {
        judge(&mut txn, seq, &read, log, false);
    }
    txn.forget_markers_below(p, cut);
}

/// Judge one read, numbered `seq`, against `log`'s transaction index; `held` says
/// whether the log may still hold its records (for the witness's first event).
fn judge(txn: &mut TxnLedger, seq: u64, read: &TxnRead, log: &PartitionLog, held: bool) {
    let what = || {
        let event = log
            .records_from(read.offset)
            .next()
            .filter(|_| held && read.offset >= log.summary_end())
            .map_or(String::new(), |r| format!(" (first event {})", r.id));
        format!(
            "partition {} offsets {}..{} of producer {:#x} read at {} ms{event}",
            read.partition,
            read.offset,
            read.offset + read.records,
            read.pid,
            read.at_ms
        )
    };
    match log.txns.outcome(read.pid, read.offset) {
        TxnOutcome::Aborted => {
            txn.reads
                .aborted
                .add(seq, read.records, || format!("{}: its transaction aborted", what()));
        }
        TxnOutcome::Committed(marker, leader_epoch) => {
            // The surviving marker's leader epoch tells its write from a stale leader's
            // write at the same offset that was truncated away.
            let written = txn.marker_time(read.partition, marker, leader_epoch).unwrap_or(0);
            if written > read.at_ms {
                txn.reads.intermediate.add(seq, read.records, || {
                    format!(
                        "{}: its commit marker (offset {marker}) was written at {written} ms",
                        what()
                    )
                });
            }
        }
        TxnOutcome::Open => {
            txn.reads.intermediate.add(seq, read.records, || {
                format!("{}: its transaction never closed", what())
            });
        }
        TxnOutcome::None => {}
    }
}

/// Note the sizes of the run's transaction bookkeeping, keeping the largest seen.
fn note_bookkeeping(sh: &Shared) {
    let (mut index_entries, mut log_records_held) = (0usize, 0u64);
    for d in &sh.disks {
        for l in d.lock().expect("disk lock").logs.values() {
            index_entries += l.txn_entries();
            log_records_held += l.records_held();
        }
    }
    let output_rows = sh.output_rows.lock().expect("output rows lock").len();
    let mut txn = sh.txn.lock().expect("txn lock");
    let now = TxnBookkeeping {
        reads_pending: txn.reads.held() as u64,
        marker_times: txn.marker_at.len() as u64,
        index_entries: index_entries as u64,
        output_rows: output_rows as u64,
        log_records_held,
    };
    txn.peak = txn.peak.max(now);
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
    note_bookkeeping(sh);
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
    note_bookkeeping(sh);
    let (series, hanging, peak) = {
        let txn = sh.txn.lock().expect("txn lock");
        (txn.lso_series.clone(), txn.hanging.keys().copied().collect(), txn.peak)
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
        bookkeeping_peak: peak,
        state_records_written: s.state_writes,
        state_records_held: state_records_held(sh),
    }
}

/// The most records any replica of a transaction-state partition holds now.
fn state_records_held(sh: &Shared) -> u64 {
    let mut most = 0;
    for p in sh.first_state_partition()..sh.assignment.len() {
        for &b in &sh.assignment[p] {
            let disk = sh.disks[b].lock().expect("disk lock");
            most = most.max(disk.logs.get(&p).map_or(0, |l| l.batches().len() as u64));
        }
    }
    most
}
