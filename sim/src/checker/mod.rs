//! The checker: once the run drains, compare what clients were promised
//! with what the log committed, and latencies with the budgets. Each
//! violation names the invariant, a small witness and the virtual time.

pub mod e2e;
pub mod interval_set;
pub mod ledger;

use crate::world::Shared;
use std::collections::BTreeMap;
use streamsim_reports::{BudgetCheck, Percentiles, Violation};

/// Largest number of events named in a witness.
const WITNESS: usize = 5;

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
}

/// How the read path's drain went, for the liveness check and its budget.
#[derive(Debug, Clone, Copy)]
pub struct ReadDrain {
    /// Virtual seconds from the end of the workload until consumer lag was zero everywhere; `None` if it never was.
    pub drain_s: Option<f64>,
    /// Largest consumer lag sampled.
    pub max_lag: u64,
}

/// The committed records of every partition: the current leader's log up
/// to the high watermark it last published. Returns, per partition, the
/// committed offset (None when the partition has no leader).
fn committed_ends(sh: &Shared) -> Vec<Option<(usize, u64)>> {
    let st = sh.controller.lock().expect("controller lock");
    let board = sh.hw_board.lock().expect("hw board lock");
    st.parts
        .iter()
        .map(|s| {
            let l = s.leader?;
            let (b, e, hw) = board[s.partition];
            Some((l, if b == l && e == s.leader_epoch { hw } else { 0 }))
        })
        .collect()
}

/// Run every invariant and budget.
pub fn check(sh: &Shared, end_ms: u64, workload_ms: u64, read: Option<ReadDrain>) -> CheckReport {
    let ledger = sh.ledger.lock().expect("ledger lock").clone();
    let mut rep = CheckReport::default();
    let ends = committed_ends(sh);
    let mut copies: Vec<Vec<u8>> = ledger.clients.iter().map(|c| vec![0u8; c.generated as usize]).collect();
    let order = sh.scenario.invariants.per_key_order;
    let mut last_by_key: std::collections::HashMap<(u32, u64), (u64, usize, u64)> = Default::default();
    let mut order_witness = Vec::new();
    let mut offline = Vec::new();
    for (p, end) in ends.iter().enumerate() {
        let Some((leader, hw)) = *end else {
            offline.push(p);
            continue;
        };
        let disk = sh.disks[leader].lock().expect("disk lock");
        let Some(log) = disk.logs.get(&p) else { continue };
        for (off, r) in log.records_until(hw) {
            let c = &mut copies[r.id.client as usize];
            let Some(n) = c.get_mut(r.id.seq as usize) else {
                continue;
            };
            let first = *n == 0;
            *n = n.saturating_add(1);
            if first && order && p < sh.event_partitions {
                let k = (r.id.client, r.key);
                if let Some(&(prev, pp, poff)) = last_by_key.get(&k) {
                    if prev > r.id.seq && order_witness.len() < WITNESS {
                        order_witness.push(format!(
                            "key {} of client {}: event {} at partition {p} offset {off} after event c{}#{prev} at offset {poff} of partition {pp}",
                            r.key, r.id.client, r.id, r.id.client
                        ));
                    }
                }
                let e = last_by_key.entry(k).or_insert((r.id.seq, p, off));
                if r.id.seq >= e.0 {
                    *e = (r.id.seq, p, off);
                }
            }
        }
    }
    let mut lost_w = Vec::new();
    // (client, seq, copies, attempts) of the first duplicated events; where they sit is looked up afterwards.
    let mut dup_ids: Vec<(u32, u64, u8, u32)> = Vec::new();
    for (ci, c) in ledger.clients.iter().enumerate() {
        rep.sent += c.sent_hi;
        rep.acked += c.acked.len();
        rep.dead_lettered += c.dead.len();
        for seq in c.acked.iter().chain(c.dead.iter()) {
            if copies[ci][seq as usize] == 0 {
                rep.lost += 1;
                if lost_w.len() < WITNESS {
                    let retried = c.attempts(seq);
                    lost_w.push(format!(
                        "c{ci}#{seq} (acknowledged after {retried} attempt(s), not in any committed log)"
                    ));
                }
            }
        }
        for (seq, &n) in copies[ci].iter().enumerate() {
            let seq = seq as u64;
            if n == 0 {
                continue;
            }
            let attempts = c.attempts(seq).max(1);
            if n as u32 > attempts {
                rep.duplicated += 1;
                if dup_ids.len() < WITNESS {
                    dup_ids.push((ci as u32, seq, n, attempts));
                }
            } else if n > 1 {
                rep.retry_copies += n as u64 - 1;
            }
        }
        rep.uncertain += c.generated - c.acked.len() - c.dead.len();
    }
    if rep.lost > 0 {
        let mut detail = format!(
            "{} acknowledged event(s) missing from the committed log: {}",
            rep.lost,
            lost_w.join("; ")
        );
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
                let at = at
                    .get(&(c, seq))
                    .map(|(p, o)| format!(" first at partition {p} offset {o}"))
                    .unwrap_or_default();
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
    if !order_witness.is_empty() {
        rep.violations.push(Violation {
            invariant: "per_key_order".into(),
            detail: order_witness.join("; "),
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
        rep.e2e = Some(e2e::check(sh, &ledger, end_ms, &mut rep.violations));
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
    ids: &[(u32, u64, u8, u32)],
) -> BTreeMap<(u32, u64), (usize, u64)> {
    let mut at = BTreeMap::new();
    for (p, end) in ends.iter().enumerate() {
        let Some((leader, hw)) = *end else { continue };
        let disk = sh.disks[leader].lock().expect("disk lock");
        let Some(log) = disk.logs.get(&p) else { continue };
        for (off, r) in log.records_until(hw) {
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
    let (ack, e2e_latency) = (rep.ack, rep.e2e_latency);
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
}
