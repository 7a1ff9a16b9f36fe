//! The end-to-end checker: once the read path drained, every acknowledged
//! event must have exactly one row in the sink (in `events`, or in the
//! late side output), an event whose outcome the client never learned at
//! most one, and the sink's window aggregates must equal a reference model
//! recomputed from those events. A processor that replays without
//! transactions, or forgets de-duplication, breaks one or the other. With
//! salted hot keys the sink holds partial rows per sub-key, which the
//! second stage re-aggregates per original key before the comparison.

use super::committed::WITNESS;
use super::ledger::Ledger;
use crate::msg::EventId;
use crate::stream::Window;
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
pub fn check(
    sh: &Shared,
    ledger: &Ledger,
    expected: Option<BTreeMap<(u64, Window), (u64, u64)>>,
    closed_windows: WindowComparison,
    end_ms: u64,
    out: &mut Vec<Violation>,
) -> E2eReport {
    let mut rep = E2eReport::default();
    let db = sh.sink.lock().expect("sink lock");
    rep.late = db.late.values().map(|&n| n as u64).sum();
    let rows = |id: EventId| db.event_rows(id) + db.late.get(&id).copied().unwrap_or(0);
    let (mut missing_w, mut dup_w) = (Vec::new(), Vec::new());
    for (ci, c) in ledger.clients.iter().enumerate() {
        let client = ci as u32;
        let id = |seq| EventId { client, seq };
        // Only events with a second `events` row or a late row can have more than one row.
        let in_sink = db.events.client(ci);
        let late = db.late.range(id(0)..=id(u64::MAX)).map(|(id, _)| id.seq);
        let mut candidates: Vec<u64> = in_sink.multiple().map(|(s, _)| s).chain(late).collect();
        candidates.sort_unstable();
        candidates.dedup();
        for seq in candidates {
            if !c.sent.contains(seq) || c.dead.contains(seq) {
                continue;
            }
            let n = rows(id(seq));
            if n > 1 {
                rep.duplicated += 1;
                if dup_w.len() < WITNESS {
                    dup_w.push(format!("{}: {n} rows in the sink", id(seq)));
                }
            }
        }
        // Acknowledged events with no `events` row, unless the late side output holds them.
        for (lo, hi) in c.acked.difference(&in_sink.present) {
            for seq in lo..hi {
                if !c.sent.contains(seq) {
                    continue;
                }
                if db.late.contains_key(&id(seq)) {
                    continue;
                }
                rep.missing += 1;
                if missing_w.len() < WITNESS {
                    missing_w.push(format!("{} (acknowledged)", id(seq)));
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

    // The reference model (see the log audit): each event that reached the sink's `events`
    // table, counted once from the committed log (key, event time, size). Acknowledged events
    // missing from the sink are reported above; counting only what the sink holds keeps one
    // fault from being reported twice, while duplicates and wrong windows still show.
    let Some(expected) = expected else {
        return rep;
    };
    let mut windows = closed_windows;
    match sh.scenario.processor.salt.as_ref().filter(|s| s.enabled()) {
        // The second stage: partial rows per sub-key re-aggregated per original key.
        Some(salt) => compare_windows(
            &expected,
            &crate::stream::salt::reaggregate(salt, &db.contents()),
            &mut windows,
        ),
        None => compare_windows(&expected, &db.contents(), &mut windows),
    }
    rep.aggregate_mismatches = windows.mismatches;
    let mismatch_w = windows.witness;
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

/// Window rows compared so far: how many differed, and the first few as witnesses.
#[derive(Debug, Default, Clone)]
pub struct WindowComparison {
    /// Rows compared.
    pub rows: u64,
    /// Rows that differ (a row on one side only counts too).
    pub mismatches: u64,
    /// The first differing rows, described.
    pub witness: Vec<String>,
}

type WindowTable = BTreeMap<(u64, Window), (u64, u64)>;

/// Compare the reference model's rows `want` with the sink's rows `have`.
pub fn compare_windows(want: &WindowTable, have: &WindowTable, out: &mut WindowComparison) {
    // Both tables are sorted by (key, window): walk them side by side rather than
    // collecting the union of their keys, which for a virtual day is millions of rows.
    let (mut want_it, mut have_it) = (want.iter().peekable(), have.iter().peekable());
    loop {
        use std::cmp::Ordering::*;
        let (k, e, g) = match (want_it.peek().copied(), have_it.peek().copied()) {
            (None, None) => break,
            (Some((kw, e)), Some((kh, g))) => match kw.cmp(kh) {
                Less => {
                    want_it.next();
                    (kw, Some(e), None)
                }
                Greater => {
                    have_it.next();
                    (kh, None, Some(g))
                }
                Equal => {
                    want_it.next();
                    have_it.next();
                    (kw, Some(e), Some(g))
                }
            },
            (Some((kw, e)), None) => {
                want_it.next();
                (kw, Some(e), None)
            }
            (None, Some((kh, g))) => {
                have_it.next();
                (kh, None, Some(g))
            }
        };
        out.rows += 1;
        if e != g {
            out.mismatches += 1;
            if out.witness.len() < WITNESS {
                let show =
                    |v: Option<&(u64, u64)>| v.map_or("no row".to_string(), |(c, b)| format!("{c} events, {b} bytes"));
                out.witness.push(format!(
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
}
