//! The consumer-side checks of transactions, on what the processors' consumers
//! passed on to processing (noted as they read it) against each partition's
//! final transaction index and the times its markers were written:
//!
//! * `aborted_read`: a record of an aborted transaction was read (Adya's G1a,
//!   the anomaly read_committed exists to prevent);
//! * `intermediate_read`: a record was read before the marker that committed
//!   its transaction was written (G1b: a transaction's state seen before it was final).
//!
//! Both apply whenever the gateways are transactional: the sink is meant to
//! hold committed data only, so a read_uncommitted processor is the negative control.

use super::committed::WITNESS;
use crate::log::last_stable_offset::TxnOutcome;
use crate::log::transaction_coordinator::TxnStats;
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

/// Compare what the processors read with how each transaction ended.
pub fn check(sh: &Shared, end_ms: u64, out: &mut Vec<Violation>) -> TxnReport {
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
            TxnOutcome::Committed(marker) => {
                // The surviving marker's leader epoch tells its write from a stale leader's
                // write at the same offset that was truncated away.
                let batches = log.batches();
                let epoch = batches
                    .binary_search_by_key(&marker, |b| b.base_offset)
                    .ok()
                    .map(|i| batches[i].epoch);
                let written = txn.marker_time(read.partition, marker, epoch).unwrap_or(0);
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
                "the processors read {} record(s) of aborted transactions: {}",
                rep.aborted_reads,
                aborted_w.join("; ")
            ),
            at_ms: end_ms,
        });
    }
    if rep.intermediate_reads > 0 {
        out.push(Violation {
            invariant: "intermediate_read".into(),
            detail: format!(
                "the processors read {} record(s) of transactions not committed yet: {}",
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

/// Sample the high watermark and last stable offset of the plotted partition, from its leader.
pub fn sample_lso(sh: &Shared, now_ms: u64) {
    if !crate::processor::output_topic::transactions_on(sh.scenario.gateway.transactional, &sh.scenario.processor) {
        return;
    }
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
    let series = sh.txn.lock().expect("txn lock").lso_series.clone();
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
    }
}
