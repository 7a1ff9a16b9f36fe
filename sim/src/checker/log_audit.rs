//! The log audit: the checker's view of the committed logs, built while the
//! run goes rather than after it. Every few virtual seconds the settled
//! prefix of each partition (committed, durable on every replica, below where
//! each of its readers would resume, `resume_points`) is counted event by event: copies per
//! event, per-key order, the reference model's input. The output topic's
//! partitions (`exactly_once_txn`) are folded too, without counting: their
//! records are the sink's rows, which the end-to-end check judges from the
//! sink's tables. Then the logs keep
//! only a summary of that prefix, so memory follows what is in flight, not
//! how many events the run has seen. At the end the checker folds the
//! remaining tail the same way, so a run gives the same verdict whether or
//! not anything was summarised.

use super::committed::{committed_ends, electable_replicas, settled_ends, WITNESS};
use super::e2e::{compare_windows, WindowComparison};
use super::key_order::{KeyOrder, Seen};
use super::reference::RefModel;
use super::resume_points::ResumePoints;
use crate::config::Delivery;
use crate::config::Truncation;
use crate::event_sets::Copies;
use crate::ids::PartitionId;
use crate::log::partition_log::PartitionLog;
use crate::msg::Record;
use crate::sink::db::SinkDb;
use crate::stream::{take_closed, WindowKind};
use crate::world::Shared;
use std::collections::{BTreeMap, VecDeque};

/// Virtual time between folds.
pub const FOLD_INTERVAL_MS: u64 = 5_000;

/// Repeated copies whose position is remembered for witnesses.
const REPEATS_KEPT: usize = 64;

/// What the checker has counted of the committed logs so far.
#[derive(Debug, Clone)]
pub struct LogAudit {
    /// Per partition, the offset below which the log was counted (and summarised).
    pub folded: Vec<u64>,
    /// Committed copies of each event counted so far.
    pub copies: Copies,
    /// Per (client, key): last sequence seen, with its partition and offset, packed.
    key_order: KeyOrder,
    /// Per-key order violations found, as witness lines.
    pub order_witness: Vec<String>,
    /// Where some repeated copies sit: (client, seq) -> (partition, offset).
    pub repeats: BTreeMap<(u32, u64), (PartitionId, u64)>,
    /// The reference model's input so far (events partitions, first copies the sink holds).
    pub(crate) reference: Option<RefModel>,
    /// Whether the settled prefix may be summarised: not under unclean election or
    /// pre-KIP-101 truncation, where a log may later be cut below what every replica
    /// once held.
    enabled: bool,
    /// Records summarised away, over the run.
    pub summarised: u64,
    /// Records retention deleted from summarised segments, over every replica.
    pub retention_deleted: u64,
    /// The most records every replica's logs held unsummarised after a fold.
    pub held_peak: u64,
    /// Elections below the counted offset already rewound to.
    rewound: usize,
    /// Per events partition, committed checkpoints seen and not yet covered by the fold: (offset, watermark).
    marks: Vec<VecDeque<(u64, u64)>>,
    /// Per events partition, the watermark of the newest checkpoint the fold covers.
    covered_watermark: Vec<u64>,
    /// Whether closed windows may leave memory: only when fenced transactions keep every
    /// writer but the partition's owner out of the sink, so no row of a closed window changes.
    close_windows: bool,
    /// Window rows already compared with the sink and dropped from both tables.
    pub closed_windows: WindowComparison,
    /// The processor's salting of hot keys: the sink's rows are re-aggregated before comparing.
    salt: Option<crate::config::SaltConfig>,
    /// Where the readers of each partition would resume: no fold passes it.
    resume_points: ResumePoints,
}

impl LogAudit {
    /// An empty audit for a run.
    pub fn new(sh: &Shared) -> Self {
        let log = &sh.scenario.log;
        let read_path = sh.layout.processors > 0;
        LogAudit {
            folded: vec![0; sh.assignment.len()],
            copies: Copies::new(sh.layout.clients),
            key_order: KeyOrder::default(),
            order_witness: Vec::new(),
            repeats: BTreeMap::new(),
            reference: read_path
                .then(|| RefModel::new(&sh.plugins.reference, &sh.scenario.processor.window))
                .flatten(),
            // A replica a reassignment adds copies the partition from offset 0, so no
            // prefix may be summarised away while replicas can move (autoscaling runs are short).
            enabled: !log.unclean_leader_election
                && log.truncation == Truncation::LeaderEpoch
                && !sh.scenario.autoscale.enabled(),
            summarised: 0,
            retention_deleted: 0,
            held_peak: 0,
            rewound: 0,
            marks: vec![VecDeque::new(); sh.event_partitions],
            covered_watermark: vec![0; sh.event_partitions],
            close_windows: read_path
                && sh.plugins.builtin
                && sh.scenario.processor.delivery == Delivery::ExactlyOnce
                && !matches!(sh.scenario.processor.window, WindowKind::Session { .. }),
            closed_windows: WindowComparison::default(),
            salt: sh.scenario.processor.salt.clone().filter(|s| s.enabled()),
            resume_points: ResumePoints::new(sh),
        }
    }

    /// Count the settled prefix of every partition, then summarise it on every replica.
    pub fn fold(&mut self, sh: &Shared, now_ms: u64) {
        if !self.enabled {
            return;
        }
        self.rewind_lost(sh);
        let ends = settled_ends(sh);
        let electable = electable_replicas(sh);
        let readers = self.resume_points.bounds(sh);
        // The transaction-state partitions hold a coordinator's records, not events, and are
        // compacted rather than summarised: a new leader loads its state from them.
        let state_from = sh.first_state_partition();
        for (p, end) in ends.iter().enumerate() {
            let Some((leader, hw)) = *end else { continue };
            if p >= state_from {
                continue;
            }
            let mut bound = hw.min(readers[p]);
            // Every in-sync (or eligible, KIP-966) replica, dead or alive, must hold the prefix
            // durably and know it committed: then no crash, restart or clean election can cut
            // into it. Another replica cannot lead before it has caught up past the prefix and
            // rejoined the ISR; below the summary it catches up from the leader's summary spans
            // (`log/partition_log/catch_up.rs`), so a broker down at a peak does not hold
            // the others' records in memory for its whole outage.
            for r in sh.assignment[p].iter().copied().filter(|r| electable[p].contains(r)) {
                let disk = sh.disks[r].lock().expect("disk lock");
                bound = match disk.logs.get(&p) {
                    Some(l) => bound.min(l.leo()).min(l.flushed()).min(l.hw_checkpoint),
                    None => 0,
                };
            }
            if bound <= self.folded[p] {
                continue;
            }
            let cut = {
                let disk = sh.disks[leader].lock().expect("disk lock");
                let Some(log) = disk.logs.get(&p) else { continue };
                // An open transaction may still abort: nothing from its first record on is settled.
                let cut = log.boundary_at_or_below(log.lso(bound));
                if cut <= self.folded[p] {
                    continue;
                }
                // The output topic's records are rows: the sink's checks judge them from its
                // tables at the end (`checker/e2e.rs`), so here they are only summarised.
                if sh.output.input_of(p).is_none() {
                    let db = sh.sink.lock().expect("sink lock");
                    let from = self.folded[p];
                    self.count(sh, p, log, from, cut, Some(&db));
                }
                // The transactional reads below the cut are decidable now: judge them before the summary.
                super::transactions::judge_folded(sh, p, log, cut);
                cut
            };
            self.summarised += cut - self.folded[p];
            self.folded[p] = cut;
            sh.counted_prefix.lock().expect("counted prefix lock").set(p, cut);
            let cfg = &sh.scenario.log;
            for &r in &sh.assignment[p] {
                let mut disk = sh.disks[r].lock().expect("disk lock");
                if let Some(l) = disk.logs.get_mut(&p) {
                    // Any other replica only below what it holds durably and committed
                    // (its records above may diverge, and a power loss cuts back to `flushed`).
                    let to = if electable[p].contains(&r) {
                        cut
                    } else {
                        l.boundary_at_or_below(cut.min(l.leo()).min(l.flushed()).min(l.hw_checkpoint))
                    };
                    l.summarize_to(to, cfg.segment_bytes);
                    self.retention_deleted += l.apply_retention(now_ms, cfg.retention_ms, cfg.retention_bytes);
                }
            }
        }
        self.held_peak = self.held_peak.max(held_records(sh));
        let copies = &self.copies;
        self.key_order.forget_counted(|client| copies.counted_below(client));
        self.close_windows(sh);
    }

    /// A leader elected with its log ending below the counted offset (`log::counted_prefix`)
    /// writes new records from its log end: count from there again. The counted records it
    /// lost stay counted (their events were summarised); the check reports them by offsets.
    fn rewind_lost(&mut self, sh: &Shared) {
        let c = sh.counted_prefix.lock().expect("counted prefix lock");
        for l in &c.lost[self.rewound..] {
            if let Some(f) = self.folded.get_mut(l.partition) {
                *f = (*f).min(l.log_end);
            }
        }
        self.rewound = c.lost.len();
    }

    /// Compare, then drop from both tables, the window rows no event can change any more.
    /// A checkpoint at offset `c` with watermark `w` closed every window with
    /// `end + allowed_lateness <= w`, and committed their rows with it; once the fold covers
    /// `c`, every event that counts for such a window is in the reference too, and any later
    /// one is late. The smallest such watermark over the partitions bounds what is final.
    fn close_windows(&mut self, sh: &Shared) {
        if !self.close_windows {
            return;
        }
        let Some(reference) = self.reference.as_mut() else {
            return;
        };
        let lateness = sh.scenario.processor.allowed_lateness_ms;
        let mut db = sh.sink.lock().expect("sink lock");
        for p in 0..sh.event_partitions {
            let marks = &mut self.marks[p];
            if let Some(c) = db.slots[p].checkpoint.as_ref() {
                if marks.back().is_none_or(|&(o, _)| c.offset > o) {
                    marks.push_back((c.offset, c.state.watermark_ms()));
                }
            }
            while let Some(&(offset, wm)) = marks.front() {
                if offset > self.folded[p] {
                    break;
                }
                self.covered_watermark[p] = self.covered_watermark[p].max(wm);
                marks.pop_front();
            }
        }
        let wm = self.covered_watermark.iter().copied().min().unwrap_or(0);
        let Some(end) = wm.checked_sub(lateness) else { return };
        let want = reference.take_closed(end);
        let mut have = take_closed(&mut db.windows, end);
        if let Some(salt) = self.salt.as_ref() {
            have = crate::stream::salt::reaggregate(salt, &have);
        }
        compare_windows(&want, &have, &mut self.closed_windows);
    }

    /// The reference model's table: the folded prefix's input plus, from each events
    /// partition's current leader, every later record whose event the sink holds and that
    /// no earlier copy stood for. Call before [`fold_tail`](Self::fold_tail).
    pub fn reference_table(
        &mut self,
        sh: &Shared,
        db: &SinkDb,
    ) -> Option<BTreeMap<(u64, crate::stream::Window), (u64, u64)>> {
        let mut reference = self.reference.take()?;
        let mut seen = Copies::new(sh.layout.clients);
        for p in 0..sh.event_partitions {
            let Some(leader) = sh.metadata.lock().expect("metadata lock").get(p).and_then(|s| s.leader) else {
                continue;
            };
            let disk = sh.disks[leader].lock().expect("disk lock");
            let Some(log) = disk.logs.get(&p) else { continue };
            for (_, r) in log.committed_records(self.folded[p], u64::MAX) {
                if self.copies.get(r.id.client, r.id.seq) > 0 {
                    continue;
                }
                if seen.add(r.id.client, r.id.seq) == 0 && db.event_rows(r.id) > 0 {
                    reference.add(&r);
                }
            }
        }
        Some(reference.finish())
    }

    /// Count the committed tail the folds left, up to each partition's committed end,
    /// without summarising it: the end of a run.
    pub fn fold_tail(&mut self, sh: &Shared) {
        self.rewind_lost(sh);
        let ends = committed_ends(sh);
        // The transaction-state partitions hold a coordinator's records, not events, and are
        // compacted rather than summarised: a new leader loads its state from them.
        let state_from = sh.first_state_partition();
        for (p, end) in ends.iter().enumerate() {
            let Some((leader, hw)) = *end else { continue };
            if p >= state_from {
                continue;
            }
            let disk = sh.disks[leader].lock().expect("disk lock");
            let Some(log) = disk.logs.get(&p) else { continue };
            let from = self.folded[p];
            if hw > from {
                self.count(sh, p, log, from, hw, None);
                self.folded[p] = hw;
            }
        }
    }

    /// Count records `[from, to)` of partition `p` as read from `log`. With the sink's
    /// tables, first copies that the sink holds also feed the reference model.
    fn count(&mut self, sh: &Shared, p: PartitionId, log: &PartitionLog, from: u64, to: u64, db: Option<&SinkDb>) {
        let events = p < sh.event_partitions;
        let order = sh.scenario.invariants.per_key_order && events;
        for (off, r) in log.committed_records(from, to) {
            let before = self.copies.add(r.id.client, r.id.seq);
            if before > 0 {
                if self.repeats.len() < REPEATS_KEPT {
                    self.repeats.entry((r.id.client, r.id.seq)).or_insert((p, off));
                }
                continue;
            }
            if order {
                self.order(p, off, &r);
            }
            if let (true, Some(db), Some(reference)) = (events, db, self.reference.as_mut()) {
                if db.event_rows(r.id) > 0 {
                    reference.add(&r);
                }
            }
        }
    }

    fn order(&mut self, p: PartitionId, off: u64, r: &Record) {
        // A salted hot key gives up its order across sub-keys (its windows do not need it);
        // each sub-key keeps it, on its one partition.
        let salt = self.salt.as_ref();
        let k = (
            r.id.client,
            crate::config::routing_key(salt, r.key, r.id.client, r.id.seq),
        );
        let here = Seen {
            seq: r.id.seq,
            partition: p,
            offset: off,
        };
        if let Some(prev) = self.key_order.count(k.0, k.1, here) {
            if self.order_witness.len() < WITNESS {
                self.order_witness.push(format!(
                    "key {} of client {}: event {} at partition {p} offset {off} after event c{}#{} at offset {} of partition {}",
                    r.key, r.id.client, r.id, r.id.client, prev.seq, prev.offset, prev.partition
                ));
            }
        }
    }

    /// Summaries whose assumption broke: a log truncated into its summarised prefix, or a
    /// reader that asked for a summarised offset. Each is a bug in the simulation, named so,
    /// except a truncation in a partition whose counted prefix a leader lost (`lost`): the
    /// replicas then follow that leader down, and the loss is reported as one.
    pub fn breaches(&self, sh: &Shared, lost: &std::collections::BTreeSet<usize>) -> Vec<String> {
        let mut out = Vec::new();
        for (b, disk) in sh.disks.iter().enumerate() {
            let disk = disk.lock().expect("disk lock");
            for (p, l) in &disk.logs {
                let (truncated, reads) = l.summary_breaches();
                if truncated && !lost.contains(&p) {
                    out.push(format!("broker {b} truncated partition {p} into its summarised prefix"));
                }
                if reads > 0 {
                    out.push(format!(
                        "broker {b} was asked {reads} time(s) for summarised offsets of partition {p}"
                    ));
                }
            }
        }
        let missed = sh.output_rows.lock().expect("output rows lock").missed();
        if missed > 0 {
            out.push(format!(
                "the sink read {missed} output row(s) the row table had already forgotten"
            ));
        }
        out
    }
}

/// Records every replica's logs hold unsummarised (their batches are shared between
/// replicas, so this counts copies of a pointer as much as of records).
fn held_records(sh: &Shared) -> u64 {
    sh.disks
        .iter()
        .map(|d| {
            let d = d.lock().expect("disk lock");
            d.logs.values().map(PartitionLog::records_held).sum::<u64>()
        })
        .sum()
}
