//! The sink's consumer of the processors' output topic (`exactly_once_txn`),
//! as a Kafka Connect sink or a database's own Kafka ingestion runs beside
//! the database: it fetches each output partition from its leader with
//! read_committed (up to the last stable offset, aborted transactions'
//! records dropped, markers stepped over) and applies what it read in one
//! database transaction together with the partition's next offset, on the
//! condition that the stored offset is still the one it read from. A sink
//! crash loses its position and the transactions under way; the restarted
//! sink resumes from the offsets it stored, so no row is lost or doubled.
//!
//! The reader does not poll: every partition has a fetch in flight, a
//! database transaction under way or a wait after a leaderless fetch, and
//! the sink node wakes for a message or for the earliest of the reader's
//! timers ([`OutputReader::next_wake_ms`]); each pass ends with
//! [`OutputReader::drive`], which fetches whatever that pass freed.

use crate::consumer_fetches::{ByLeader, Fetcher, FetchesInFlight, FETCH_TIMEOUT_MS};
use crate::ids::{Addr, PartitionId};
use crate::log::last_stable_offset::AbortedTxn;
use crate::wire::{ConsumerFetchResult, Row};
use crate::world::Shared;

/// Wait after a fetch that found no leader, ms.
const NO_LEADER_WAIT_MS: u64 = 50;

/// One database transaction of the reader: rows of an output partition and its next offset.
pub struct OutputTxn {
    /// Input partition whose output this is (the sink's tables are kept by it).
    pub input: PartitionId,
    /// The stored offset it read from.
    pub from: u64,
    /// The next offset once applied.
    pub to: u64,
    /// Rows.
    pub rows: Vec<Row>,
    /// The highest row number read, which the table may forget once this is applied.
    pub last_row: Option<u64>,
}

/// The reader's volatile state (lost with the sink).
pub struct OutputReader {
    addr: Addr,
    positions: Vec<u64>,
    /// A fetch or a database transaction of the partition is under way.
    busy: Vec<bool>,
    idle_until_ms: Vec<u64>,
    fetches: FetchesInFlight,
    next_req: u64,
}

impl OutputReader {
    /// A reader resuming from the offsets the database stored, if the mode is on.
    pub fn new(sh: &Shared, incarnation: u64) -> Option<Self> {
        if sh.output.count == 0 {
            return None;
        }
        let positions = sh.sink.lock().expect("sink lock").output_offsets.clone();
        let n = positions.len();
        Some(OutputReader {
            addr: sh.layout.sink(),
            positions,
            busy: vec![false; n],
            idle_until_ms: vec![0; n],
            fetches: FetchesInFlight::new(),
            next_req: incarnation << 40,
        })
    }

    /// The next instant (ms) after `now_ms` the reader has something to do with no
    /// message to wake it: a fetch to abandon (unanswered past the broker's long-poll
    /// wait and the fetch timeout, its leader may be dead) or a partition's wait after
    /// a leaderless fetch to end. Everything else it waits for (fetch replies) is a
    /// message, and its database transactions are the sink's own timers.
    pub fn next_wake_ms(&self, sh: &Shared, now_ms: u64) -> Option<u64> {
        let timeout = FETCH_TIMEOUT_MS + sh.scenario.processor.fetch_max_wait_ms;
        let expiries = self.fetches.values().map(|&(_, sent)| sent + timeout);
        expiries
            .chain(self.idle_until_ms.iter().copied())
            .filter(|&t| t > now_ms)
            .min()
    }

    /// Send a fetch for every idle partition, one per leader.
    pub fn drive(&mut self, sh: &Shared, now_ms: u64, now_us: u64) {
        let cfg = &sh.scenario.processor;
        for p in crate::consumer_fetches::expire(&mut self.fetches, now_ms, cfg.fetch_max_wait_ms) {
            if let Some(i) = sh.output.input_of(p) {
                self.busy[i] = false;
            }
        }
        let mut by_leader = ByLeader::new();
        {
            let md = sh.metadata.lock().expect("metadata lock");
            for i in 0..self.positions.len() {
                if self.busy[i] || now_ms < self.idle_until_ms[i] {
                    continue;
                }
                let q = sh.output.of_input(i);
                match md.get(q).and_then(|s| s.leader) {
                    Some(l) => {
                        self.busy[i] = true;
                        by_leader.group(l).push((q, self.positions[i]));
                    }
                    None => self.idle_until_ms[i] = now_ms + NO_LEADER_WAIT_MS,
                }
            }
        }
        let fetcher = Fetcher {
            sh,
            from: self.addr,
            max_bytes: cfg.fetch_max_bytes,
            max_wait_ms: cfg.fetch_max_wait_ms,
        };
        fetcher.send(by_leader, &mut self.fetches, &mut self.next_req, now_ms, now_us);
    }

    /// A leader answered: the database transactions to run (at most one per partition).
    pub fn on_fetch_reply(
        &mut self,
        sh: &Shared,
        req: u64,
        parts: Vec<(PartitionId, ConsumerFetchResult)>,
        aborted: &[(PartitionId, Vec<AbortedTxn>)],
        now_ms: u64,
    ) -> Vec<OutputTxn> {
        if self.fetches.remove(&req).is_none() {
            return Vec::new();
        }
        let mut out = Vec::new();
        for (q, r) in parts {
            let Some(i) = sh.output.input_of(q) else {
                continue;
            };
            self.busy[i] = false;
            match r {
                ConsumerFetchResult::Records { batches, hw } => {
                    let pos = self.positions[i];
                    let aborted = aborted.iter().find(|(x, _)| *x == q).map_or(&[][..], |(_, a)| &a[..]);
                    let (batches, skip_to) =
                        crate::processor::transactions::consumable(sh, q, pos, batches, hw, aborted, now_ms);
                    let mut to = skip_to.max(pos);
                    let mut rows = Vec::new();
                    let mut last_row = None;
                    let mut store = sh.output_rows.lock().expect("output rows lock");
                    for b in &batches {
                        for (k, rec) in b.records.iter().enumerate() {
                            let off = b.base_offset + k as u64;
                            if off < pos || off >= hw {
                                continue;
                            }
                            rows.extend(store.row(&rec));
                            last_row = last_row.max(Some(rec.id.seq));
                            to = to.max(off + 1);
                        }
                    }
                    drop(store);
                    if to > pos {
                        self.busy[i] = true;
                        self.positions[i] = to;
                        out.push(OutputTxn {
                            input: i,
                            from: pos,
                            to,
                            rows,
                            last_row,
                        });
                    }
                }
                ConsumerFetchResult::NotLeader | ConsumerFetchResult::OutOfRange { .. } => {
                    self.idle_until_ms[i] = now_ms + NO_LEADER_WAIT_MS;
                }
            }
        }
        out
    }

    /// A database transaction finished: apply it if the stored offset is still the
    /// one it read from, then read on from what is stored.
    pub fn apply(&mut self, sh: &Shared, t: OutputTxn, now_us: u64) {
        let mut db = sh.sink.lock().expect("sink lock");
        let i = t.input;
        if db.output_offsets[i] == t.from {
            if let Ok(applied) = db.commit(i, (0, 0), false, &t.rows, None) {
                db.output_offsets[i] = t.to;
                drop(db);
                if let Some(last) = t.last_row.filter(|_| rows_numbered_in_order(sh)) {
                    // Stored past them: no re-read after a crash can ask for these rows again.
                    sh.output_rows
                        .lock()
                        .expect("output rows lock")
                        .applied(sh.output.of_input(i), last);
                }
                sh.metrics_sunk(&applied.first_rows_born_us, now_us);
                if sh.layout.reader {
                    sh.serving.lock().expect("serving lock").view.apply(&t.rows, now_us);
                }
                db = sh.sink.lock().expect("sink lock");
            }
        }
        self.positions[i] = db.output_offsets[i];
        self.busy[i] = false;
    }
}

/// Whether an output partition's committed records carry increasing row numbers, so
/// the rows the sink applied may be forgotten by number (`OutputRows::applied`):
/// only while one fenced producer commits to each partition. A negative control that
/// turns a fence off lets an older instance commit rows numbered below ones already
/// applied; it keeps every row instead (such runs are short).
fn rows_numbered_in_order(sh: &Shared) -> bool {
    let p = &sh.scenario.processor;
    p.generation_fencing && p.offsets_in_transaction && sh.scenario.log.transaction_fencing
}
