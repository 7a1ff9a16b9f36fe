//! The checker: once the run drains, compare what clients were promised
//! with what the log committed, and latencies with the budgets. Each
//! violation names the invariant, a small witness and the virtual time.

mod committed;
pub mod e2e;
mod key_order;
pub mod lake;
pub mod ledger;
pub mod log_audit;
pub(crate) mod reference;
mod resume_points;
pub mod serving;
pub mod subscription;
pub mod throughput;
pub mod transactions;

use crate::world::Shared;
use committed::{committed_ends, WITNESS};
use log_audit::LogAudit;
use std::collections::BTreeMap;
use streamsim_reports::{BudgetCheck, Percentiles, Violation};

/// Counts and violations of a finished run.
#[derive(Debug, Default, Clone)]
pub struct CheckReport {
    /// Violations in the order checked.
    pub violations: Vec<Violation>,
    /// Budgets compared.
    pub budgets: Vec<BudgetCheck>,
    /// Distinct events sent at least once.
    pub sent: u64,
    /// Distinct events acknowledged.
    pub acked: u64,
    /// Acknowledged events missing from the committed log.
    pub lost: u64,
    /// Events with more committed copies than attempts.
    pub duplicated: u64,
    /// Extra copies explained by client retries.
    pub retry_copies: u64,
    /// Events never settled.
    pub uncertain: u64,
    /// Events dead-lettered.
    pub dead_lettered: u64,
    /// Ack latency percentiles.
    pub ack: Percentiles,
    /// The read path's counts, when the scenario has one.
    pub e2e: Option<e2e::E2eReport>,
    /// End-to-end latency percentiles, when the scenario has a read path.
    pub e2e_latency: Option<Percentiles>,
    /// Committed records folded while the run went (counted as events, or for the output
    /// topic's rows only summarised) and then kept only as log summaries.
    pub summarised: u64,
    /// Records retention deleted, summed over replicas.
    pub retention_deleted: u64,
    /// The most records the logs held in memory (not summarised) at a fold, summed over replicas.
    pub held_peak: u64,
    /// The cold path's counts, when the scenario has one.
    pub lake: Option<lake::LakeReport>,
    /// The lake's freshness p99 over the workload, seconds, when the scenario has a cold path.
    pub lake_freshness_p99_s: Option<f64>,
    /// The serving layer's reads, when the scenario has one.
    pub serving: Option<serving::ServingReport>,
    /// Events the clients gave up on at their delivery timeout that the log holds
    /// anyway (an attempt landed unacknowledged): delivered, not duplicated.
    pub expired_in_log: u64,
    /// Each `[[subscription]]`, in file order (empty without any).
    pub subscriptions: Vec<subscription::SubscriptionReport>,
    /// The transactions and what the processors read of them, when the gateways are transactional.
    pub transactions: Option<transactions::TxnReport>,
}

/// How the read path's drain went, for the liveness check and its budget.
#[derive(Debug, Clone, Copy)]
pub struct ReadDrain {
    /// Virtual seconds from the end of the workload until consumer lag was zero everywhere; `None` if it never was.
    pub drain_s: Option<f64>,
    /// Largest consumer lag sampled.
    pub max_lag: u64,
}

/// Run every invariant and budget, with the log audit the run kept and, for
/// a cold path, the lake's freshness sampled every second of the workload.
pub fn check(
    sh: &Shared,
    mut audit: LogAudit,
    end_ms: u64,
    workload_ms: u64,
    read: Option<ReadDrain>,
    lake_freshness: Option<&[f64]>,
) -> CheckReport {
    let ledger = sh.ledger.lock().expect("ledger lock").clone();
    let mut rep = CheckReport::default();
    let ends = committed_ends(sh);
    let offline: Vec<usize> = ends
        .iter()
        .enumerate()
        .filter(|(_, e)| e.is_none())
        .map(|(p, _)| p)
        .collect();
    let reference = match read {
        Some(_) => audit.reference_table(sh, &sh.sink.lock().expect("sink lock")),
        None => None,
    };
    rep.summarised = audit.summarised;
    rep.retention_deleted = audit.retention_deleted;
    rep.held_peak = audit.held_peak;
    audit.fold_tail(sh);
    let lost_partitions = sh
        .counted_prefix
        .lock()
        .expect("counted prefix lock")
        .lost
        .iter()
        .map(|l| l.partition)
        .collect();
    let breaches = audit.breaches(sh, &lost_partitions);
    if !breaches.is_empty() {
        rep.violations.push(Violation {
            invariant: "simulation.summaries".into(),
            detail: format!(
                "a summarised log prefix was needed again, so this run's verdict cannot be trusted: {}",
                breaches.into_iter().take(WITNESS).collect::<Vec<_>>().join("; ")
            ),
            at_ms: end_ms,
        });
    }
    let mut lost_w = Vec::new();
    // (client, seq, copies, attempts) of the first duplicated events; where they sit is looked up afterwards.
    let mut dup_ids: Vec<(u32, u64, u32, u32)> = Vec::new();
    for (ci, c) in ledger.clients.iter().enumerate() {
        rep.sent += c.sent.len();
        rep.acked += c.acked.len();
        rep.dead_lettered += c.dead.len();
        let copies = audit.copies.client(ci);
        for settled in [&c.acked, &c.dead] {
            for (lo, hi) in settled.difference(&copies.present) {
                rep.lost += hi - lo;
                for seq in lo..hi {
                    if lost_w.len() >= WITNESS {
                        break;
                    }
                    let retried = c.attempts(seq);
                    lost_w.push(format!(
                        "c{ci}#{seq} (acknowledged after {retried} attempt(s), not in any committed log)"
                    ));
                }
            }
        }
        for (seq, n) in copies.multiple() {
            if seq >= c.generated {
                continue;
            }
            let attempts = c.attempts(seq).max(1);
            if n > attempts {
                rep.duplicated += 1;
                if dup_ids.len() < WITNESS {
                    dup_ids.push((ci as u32, seq, n, attempts));
                }
            } else {
                rep.retry_copies += n as u64 - 1;
            }
        }
        rep.uncertain += c.uncertain();
        if c.expired_unsettled > 0 {
            rep.expired_in_log += c
                .expired
                .iter()
                .filter(|&s| !c.settled(s) && copies.present.contains(s))
                .count() as u64;
        }
    }
    let counted_lost = counted_prefix_lost(sh);
    if rep.lost > 0 || !counted_lost.is_empty() {
        let mut detail = format!(
            "{} acknowledged event(s) missing from the committed log: {}",
            rep.lost,
            lost_w.join("; ")
        );
        if !counted_lost.is_empty() {
            detail.push_str(&format!(
                "; and records the audit had already counted (their events summarised, so not named): {}",
                counted_lost.join("; ")
            ));
        }
        if !offline.is_empty() {
            detail.push_str(&format!("; partitions without a leader at the end: {offline:?}"));
        }
        rep.violations.push(Violation {
            invariant: "no_loss".into(),
            detail,
            at_ms: end_ms,
        });
    }
    if rep.duplicated > 0 {
        let at = first_positions(sh, &ends, &dup_ids);
        let dup_w: Vec<String> = dup_ids
            .iter()
            .map(|&(c, seq, n, attempts)| {
                let at = match (at.get(&(c, seq)), audit.repeats.get(&(c, seq))) {
                    (Some((p, o)), _) => format!(" first at partition {p} offset {o}"),
                    // The first copy sits in a summarised prefix; a repeat's position was kept.
                    (None, Some((p, o))) => format!(" a repeated copy at partition {p} offset {o}"),
                    (None, None) => String::new(),
                };
                format!("c{c}#{seq}: {n} committed copies from {attempts} client attempt(s){at}")
            })
            .collect();
        rep.violations.push(Violation {
            invariant: "no_duplicates".into(),
            detail: format!(
                "{} event(s) committed more often than clients sent them: {}",
                rep.duplicated,
                dup_w.join("; ")
            ),
            at_ms: end_ms,
        });
    }
    if !audit.order_witness.is_empty() {
        rep.violations.push(Violation {
            invariant: "per_key_order".into(),
            detail: audit.order_witness.join("; "),
            at_ms: end_ms,
        });
    }
    if sh.scenario.invariants.settle_within_drain && rep.uncertain > 0 {
        rep.violations.push(Violation {
            invariant: "liveness.settle".into(),
            detail: format!(
                "{} event(s) still unacknowledged when the drain of {} s ran out",
                rep.uncertain, sh.scenario.drain_timeout_s
            ),
            at_ms: end_ms,
        });
    }
    if let Some(r) = read {
        rep.e2e = Some(e2e::check(
            sh,
            &ledger,
            reference,
            std::mem::take(&mut audit.closed_windows),
            end_ms,
            &mut rep.violations,
        ));
        if r.drain_s.is_none() {
            let lag = read_lag_witness(sh);
            rep.violations.push(Violation {
                invariant: "liveness.drain".into(),
                detail: format!(
                    "the read path had not caught up when the drain of {} s ran out: {lag}",
                    sh.scenario.drain_timeout_s
                ),
                at_ms: end_ms,
            });
        }
    }
    if let Some(samples) = lake_freshness {
        rep.lake = Some(lake::check(sh, &ends, end_ms, &mut rep.violations));
        rep.lake_freshness_p99_s = lake::p99(samples);
    }
    if sh.layout.reader {
        rep.serving = Some(serving::check(sh, end_ms, &mut rep.violations));
    }
    if sh.layout.subscribers > 0 {
        rep.subscriptions = subscription::check(sh, &ends, end_ms, &mut rep.violations);
    }
    if crate::processor::output_topic::transactions_on(sh.scenario.gateway.transactional, &sh.scenario.processor) {
        rep.transactions = Some(transactions::check(sh, end_ms, &mut rep.violations));
    }
    let metrics = sh.metrics.lock().expect("metrics lock");
    rep.ack = Percentiles::from_micros(&metrics.ack);
    if read.is_some() {
        rep.e2e_latency = Some(Percentiles::from_micros(&metrics.e2e));
    }
    drop(metrics);
    budgets(sh, &mut rep, end_ms, workload_ms, read);
    rep
}

/// Where the first committed copy of each witness event sits: a second pass over
/// the committed logs, so the first pass keeps no position per event.
fn first_positions(
    sh: &Shared,
    ends: &[Option<(usize, u64)>],
    ids: &[(u32, u64, u32, u32)],
) -> BTreeMap<(u32, u64), (usize, u64)> {
    let mut at = BTreeMap::new();
    for (p, end) in ends.iter().enumerate() {
        let Some((leader, hw)) = *end else { continue };
        let disk = sh.disks[leader].lock().expect("disk lock");
        let Some(log) = disk.logs.get(&p) else { continue };
        for (off, r) in log.committed_records(0, hw) {
            if ids.iter().any(|&(c, s, ..)| (c, s) == (r.id.client, r.id.seq)) {
                at.entry((r.id.client, r.id.seq)).or_insert((p, off));
            }
        }
    }
    at
}

/// Which partitions the processor had not committed to the end, and by how much.
fn read_lag_witness(sh: &Shared) -> String {
    let behind: Vec<String> = sh
        .read_progress()
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.done())
        .map(|(p, r)| {
            format!(
                "partition {p} committed {} of {}{}",
                r.committed,
                r.hw,
                if r.finished { "" } else { ", windows not final" }
            )
        })
        .take(WITNESS)
        .collect();
    behind.join("; ")
}

fn budgets(sh: &Shared, rep: &mut CheckReport, end_ms: u64, workload_ms: u64, read: Option<ReadDrain>) {
    let b = &sh.scenario.budgets;
    let (ack, e2e_latency, lake_fresh) = (rep.ack, rep.e2e_latency, rep.lake_freshness_p99_s);
    let read_p99 = rep.serving.as_ref().map(|s| s.latency.p99);
    let per_s = rep.acked as f64 / (workload_ms.max(1) as f64 / 1000.0);
    let mut push = |name: &str, limit: Option<f64>, measured: f64, below: bool| {
        let Some(limit) = limit else { return };
        let ok = if below { measured <= limit } else { measured >= limit };
        rep.budgets.push(BudgetCheck {
            name: name.into(),
            limit,
            measured,
            ok,
        });
        if !ok {
            rep.violations.push(Violation {
                invariant: format!("budget.{name}"),
                detail: format!("measured {measured:.3}, limit {limit}"),
                at_ms: end_ms,
            });
        }
    };
    push("ack_p50_ms", b.ack_p50_ms, ack.p50, true);
    push("ack_p99_ms", b.ack_p99_ms, ack.p99, true);
    push("ack_p999_ms", b.ack_p999_ms, ack.p999, true);
    push("min_acked_per_s", b.min_acked_per_s, per_s, false);
    if let Some(e) = e2e_latency {
        push("e2e_p50_ms", b.e2e_p50_ms, e.p50, true);
        push("e2e_p99_ms", b.e2e_p99_ms, e.p99, true);
        push("e2e_p999_ms", b.e2e_p999_ms, e.p999, true);
    }
    if let Some(d) = read.and_then(|r| r.drain_s) {
        push("max_drain_s", b.max_drain_s, d, true);
    }
    if let Some(f) = lake_fresh {
        push("lake_freshness_s", b.lake_freshness_s, f, true);
    }
    if let Some(p99) = read_p99 {
        push("read_p99_ms", b.read_p99_ms, p99, true);
    }
}

/// Leaders of events partitions elected with a log ending below what the log audit had
/// counted (`log::counted_prefix`): those counted records are gone from the log.
fn counted_prefix_lost(sh: &Shared) -> Vec<String> {
    let c = sh.counted_prefix.lock().expect("counted prefix lock");
    c.lost
        .iter()
        .filter(|l| sh.output.input_of(l.partition).is_none())
        .take(WITNESS)
        .map(|l| {
            format!(
                "broker-{} led partition {} at epoch {} with its log ending at offset {}, below the {} offsets counted as committed",
                l.broker, l.partition, l.epoch, l.log_end, l.counted
            )
        })
        .collect()
}
