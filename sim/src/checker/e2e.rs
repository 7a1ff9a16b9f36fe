//! The end-to-end checker: once the read path drained, every acknowledged
//! event must have exactly one row in the sink (in `events`, or in the
//! late side output), an event whose outcome the client never learned at
//! most one, and the sink's window aggregates must equal a reference model
//! recomputed from those events. A processor that replays without
//! transactions, or forgets de-duplication, breaks one or the other.

use super::ledger::Ledger;
use super::WITNESS;
use crate::msg::EventId;
use crate::processor::operator_config;
use crate::stream::reference_aggregates;
use crate::world::Shared;
use std::collections::BTreeMap;
use streamsim_reports::Violation;

/// The read path's counts.
#[derive(Debug, Default, Clone)]
pub struct E2eReport {
    /// Acknowledged events with no row in the sink.
    pub missing: u64,
    /// Events with more than one row.
    pub duplicated: u64,
    /// Window rows that differ from the reference model.
    pub aggregate_mismatches: u64,
    /// Events in the late side output.
    pub late: u64,
}

/// Compare the sink with what clients were told and with the reference model.
pub fn check(sh: &Shared, ledger: &Ledger, end_ms: u64, out: &mut Vec<Violation>) -> E2eReport {
    let mut rep = E2eReport::default();
    let db = sh.sink.lock().expect("sink lock");
    rep.late = db.late.values().map(|&n| n as u64).sum();
    let rows = |id: EventId| db.event_rows(id) + db.late.get(&id).copied().unwrap_or(0);
    let (mut missing_w, mut dup_w) = (Vec::new(), Vec::new());
    for (ci, c) in ledger.clients.iter().enumerate() {
        for seq in 0..c.sent_hi {
            if c.dead.contains(seq) {
                continue;
            }
            let id = EventId { client: ci as u32, seq };
            let n = rows(id);
            if n > 1 {
                rep.duplicated += 1;
                if dup_w.len() < WITNESS {
                    dup_w.push(format!("{id}: {n} rows in the sink"));
                }
            } else if n == 0 && c.acked.contains(seq) {
                rep.missing += 1;
                if missing_w.len() < WITNESS {
                    missing_w.push(format!("{id} (acknowledged)"));
                }
            }
        }
    }
    if rep.missing > 0 {
        out.push(Violation {
            invariant: "sink.no_loss".into(),
            detail: format!(
                "{} acknowledged event(s) have no row in the sink: {}",
                rep.missing,
                missing_w.join("; ")
            ),
            at_ms: end_ms,
        });
    }
    if rep.duplicated > 0 {
        out.push(Violation {
            invariant: "sink.exactly_once".into(),
            detail: format!(
                "{} event(s) have more than one row in the sink: {}",
                rep.duplicated,
                dup_w.join("; ")
            ),
            at_ms: end_ms,
        });
    }

    // The reference model's input: each event that reached the sink's `events` table once,
    // taken from the committed log (key, event time, size). Acknowledged events missing from
    // the sink are reported above; counting only what the sink holds keeps one fault from
    // being reported twice, while duplicates and wrong windows still show. Every copy of an
    // event has its key, so it sits in one partition, and every key's windows are computed
    // from its partition alone: one partition at a time keeps no per-event state for the run.
    let kind = operator_config(&sh.scenario.processor).window;
    let mut expected = BTreeMap::new();
    for p in 0..sh.event_partitions {
        let Some(leader) = sh.metadata.lock().expect("metadata lock").get(p).and_then(|s| s.leader) else {
            continue;
        };
        let disk = sh.disks[leader].lock().expect("disk lock");
        let Some(log) = disk.logs.get(&p) else { continue };
        let mut input: Vec<(EventId, u64, u64, u32)> = log
            .records_until(u64::MAX)
            .filter(|(_, r)| db.event_rows(r.id) > 0)
            .map(|(_, r)| (r.id, r.key, r.event_time_ms, r.size))
            .collect();
        drop(disk);
        // The first copy of an event in the log stands for it.
        input.sort_by_key(|e| e.0);
        input.dedup_by_key(|e| e.0);
        expected.extend(reference_aggregates(
            &kind,
            input.into_iter().map(|(_, k, t, s)| (k, t, s)),
        ));
    }
    let mut mismatch_w = Vec::new();
    // Both tables are sorted by (key, window): walk them side by side rather than
    // collecting the union of their keys, which for a virtual day is millions of rows.
    let (mut want, mut have) = (expected.iter().peekable(), db.windows.iter().peekable());
    loop {
        use std::cmp::Ordering::*;
        let (k, e, g) = match (want.peek().copied(), have.peek().copied()) {
            (None, None) => break,
            (Some((kw, e)), Some((kh, g))) => match kw.cmp(kh) {
                Less => {
                    want.next();
                    (kw, Some(e), None)
                }
                Greater => {
                    have.next();
                    (kh, None, Some(g))
                }
                Equal => {
                    want.next();
                    have.next();
                    (kw, Some(e), Some(g))
                }
            },
            (Some((kw, e)), None) => {
                want.next();
                (kw, Some(e), None)
            }
            (None, Some((kh, g))) => {
                have.next();
                (kh, None, Some(g))
            }
        };
        if e != g {
            rep.aggregate_mismatches += 1;
            if mismatch_w.len() < WITNESS {
                let show =
                    |v: Option<&(u64, u64)>| v.map_or("no row".to_string(), |(c, b)| format!("{c} events, {b} bytes"));
                mismatch_w.push(format!(
                    "key {} window [{}, {}) ms: expected {}, sink has {}",
                    k.0,
                    k.1.start_ms,
                    k.1.end_ms,
                    show(e),
                    show(g)
                ));
            }
        }
    }
    if rep.aggregate_mismatches > 0 {
        out.push(Violation {
            invariant: "sink.aggregates".into(),
            detail: format!(
                "{} window row(s) differ from the reference model: {}",
                rep.aggregate_mismatches,
                mismatch_w.join("; ")
            ),
            at_ms: end_ms,
        });
    }
    rep
}
