//! The shared world of one run: what outlives any single node (disks, the
//! controller's metadata log, the clients' ledger, metrics, the trace) and
//! the helpers nodes use to reach it.

use crate::bucket_latency::{BucketLatency, SealedBelow};
use crate::checker::ledger::Ledger;
use crate::ids::{Addr, BrokerId, Layout, PartitionId};
use crate::log::disk::BrokerDisk;
use crate::log::metadata::ControllerStore;
use crate::msg::PartitionState;
use crate::net::Fabric;
use crate::plugins::Plugins;
use crate::resources::BrokerResources;
use crate::scenario::Scenario;
pub use crate::timeline::{TimelineEntry, TimelineKind};
use crate::trace::TraceHash;
use hdrhistogram::Histogram;
use std::sync::{Arc, Mutex};
use streamsim_reports::latency_histogram;
use streamsim_workloads::Workload;

/// Throughput and latency accumulators for one bucket.
#[derive(Clone, Debug)]
pub struct BucketAcc {
    /// Events the workload offered, by the bucket of their scheduled arrival when a blocked
    /// producer took them late or never (otherwise where they were sent).
    pub offered: u64,
    /// Events first sent.
    pub sent: u64,
    /// Bytes of the events first sent.
    pub sent_bytes: u64,
    /// Events acknowledged.
    pub acked: u64,
    /// Bytes of the events acknowledged.
    pub acked_bytes: u64,
    /// Records appended at leaders.
    pub appended: u64,
    /// Appends per events-topic partition.
    pub partition_appends: Vec<u64>,
    /// Ack latency, µs.
    pub ack: BucketLatency,
    /// Events whose first row the sink committed.
    pub sunk: u64,
    /// End-to-end latency (client generation to sink commit), µs.
    pub e2e: BucketLatency,
    /// Events the gateways' rate limit refused.
    pub rate_limited: u64,
}

impl BucketAcc {
    /// An empty bucket.
    pub fn new(partitions: usize) -> Self {
        BucketAcc {
            offered: 0,
            sent: 0,
            sent_bytes: 0,
            acked: 0,
            acked_bytes: 0,
            appended: 0,
            partition_appends: vec![0; partitions],
            ack: BucketLatency::default(),
            sunk: 0,
            e2e: BucketLatency::default(),
            rate_limited: 0,
        }
    }
}

/// Run-wide metrics.
pub struct Metrics {
    /// Bucket width.
    pub bucket_ms: u64,
    /// Buckets from time zero.
    pub buckets: Vec<BucketAcc>,
    /// Whole-run ack latency, µs.
    pub ack: Histogram<u64>,
    /// Whole-run end-to-end latency, µs.
    pub e2e: Histogram<u64>,
    /// What the producers were offered and what they could take.
    pub producers: ProducerStats,
    partitions: usize,
    /// The buckets whose latency histograms are sealed.
    sealed: SealedBelow,
}

/// The clients' producers, summed: what the workload offered them and what
/// their bounded buffers made them refuse or hold back.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProducerStats {
    /// Sends whose wait on a full buffer passed `max_block_ms`.
    pub failed_sends: u64,
    /// Bytes of those sends.
    pub failed_bytes: u64,
    /// Milliseconds clients spent with sends blocked on a full buffer, summed over clients.
    pub blocked_ms: u64,
    /// The most bytes one client's buffer held.
    pub peak_buffer_bytes: u64,
    /// Requests the gateways refused with a retry-after (queue full).
    pub backpressure_rejections: u64,
    /// Events and bytes acknowledged by `throughput_grace_s` after the workload's end.
    pub acked_in_time: (u64, u64),
    /// When the last event was acknowledged, µs.
    pub last_ack_us: u64,
    /// Refusals by the gateways' rate limit (an event refused twice counts twice).
    pub rate_limit_refusals: u64,
    /// Events given up on when their delivery timeout passed unacknowledged.
    pub expired_sends: u64,
    /// Bytes of those events.
    pub expired_bytes: u64,
    /// Client batches a gateway refused as out of sequence (idempotence on), each re-sent in order.
    pub out_of_order_refusals: u64,
}

impl Metrics {
    fn new(partitions: usize, bucket_ms: u64) -> Self {
        Metrics {
            bucket_ms,
            buckets: Vec::new(),
            ack: latency_histogram(),
            e2e: latency_histogram(),
            producers: ProducerStats::default(),
            partitions,
            sealed: SealedBelow::default(),
        }
    }

    /// The bucket covering `now_ms`, to record a latency that completes now. Virtual
    /// time only moves forward, so the buckets before it are sealed: their intervals
    /// take no more latencies.
    pub fn latency_bucket(&mut self, now_ms: u64) -> &mut BucketAcc {
        let i = (now_ms / self.bucket_ms) as usize;
        self.sealed.advance(&mut self.buckets, i, |b| {
            b.ack.seal();
            b.e2e.seal();
        });
        self.bucket(now_ms)
    }

    /// The bucket covering `ms`.
    pub fn bucket(&mut self, ms: u64) -> &mut BucketAcc {
        let i = (ms / self.bucket_ms) as usize;
        while self.buckets.len() <= i {
            self.buckets.push(BucketAcc::new(self.partitions));
        }
        &mut self.buckets[i]
    }
}

/// One events partition as the read path sees it.
#[derive(Clone, Copy, Debug)]
pub struct ReadProgress {
    /// High watermark its current leader published.
    pub hw: u64,
    /// Offset of the processor's committed checkpoint.
    pub committed: u64,
    /// The committed checkpoint is final (input closed, every window fired).
    pub finished: bool,
}

impl ReadProgress {
    /// Committed records the processor has not committed to the sink.
    pub fn lag(&self) -> u64 {
        self.hw.saturating_sub(self.committed)
    }

    /// Everything up to the high watermark is in the sink, with final windows.
    pub fn done(&self) -> bool {
        self.finished && self.committed >= self.hw
    }
}

/// Everything nodes share in one run.
pub struct Shared {
    /// The scenario.
    pub scenario: Arc<Scenario>,
    /// Seed.
    pub seed: u64,
    /// Node layout.
    pub layout: Layout,
    /// The network.
    pub fabric: Arc<Fabric>,
    /// Trace digest.
    pub trace: Arc<TraceHash>,
    /// Digest of the generated events alone (ids, keys, sizes, lateness), which faults must not change.
    /// One digest per client, so the interleaving of clients does not matter.
    pub workload_hash: Vec<TraceHash>,
    /// Replicas per partition (events topic, then dead-letter topic).
    pub assignment: Vec<Vec<BrokerId>>,
    /// Partitions of the events topic; dead-letter partitions follow.
    pub event_partitions: usize,
    /// Broker disks.
    pub disks: Vec<Mutex<BrokerDisk>>,
    /// Broker CPU and disk queues.
    pub resources: Vec<Mutex<BrokerResources>>,
    /// Gateway CPU queues, by gateway index (they outlive a gateway's restart, as the machine does).
    pub gateway_cpu: Vec<Mutex<crate::resources::Cpu>>,
    /// Client CPU queues, by client index (they outlive a client's restart).
    pub client_cpu: Vec<Mutex<crate::resources::Cpu>>,
    /// The controller's metadata log.
    pub controller: Mutex<ControllerStore>,
    /// Metadata as last published (what a client's metadata request would return).
    pub metadata: Mutex<Vec<PartitionState>>,
    /// Clients' records of what they sent and what was acknowledged.
    pub ledger: Mutex<Ledger>,
    /// Metrics.
    pub metrics: Mutex<Metrics>,
    /// Timeline of protocol steps and faults.
    pub timeline: Mutex<Vec<TimelineEntry>>,
    /// The events each truncation removed before their clients were told they
    /// were written, by the truncation's place on the timeline: an
    /// acknowledgement may have been on its way, and the run's end counts
    /// them again (`log::truncation::count_late_acknowledgements`). Kept to
    /// the run's end: bounded by the unacknowledged records cut.
    pub truncated_unacknowledged: Mutex<Vec<(usize, Vec<crate::record::EventId>)>>,
    /// The workload.
    pub workload: Workload,
    /// High watermark last published by each partition's leader: (broker, leader epoch, hw).
    pub hw_board: Mutex<Vec<(BrokerId, u32, u64)>>,
    /// How far the log audit counted each partition, and leaders elected short of it.
    pub counted_prefix: Mutex<crate::log::counted_prefix::CountedPrefix>,
    /// Incarnation counter per node.
    incarnations: Mutex<Vec<u64>>,
    /// The processor group's coordinator store (durable, like `__consumer_offsets`).
    pub group: Mutex<crate::consumer_group::GroupStore>,
    /// The lake writers' group coordinator store (durable).
    pub lake_group: Mutex<crate::consumer_group::GroupStore>,
    /// The cold path's bucket, manifest and committed offsets (durable).
    pub lake: Mutex<crate::lake::store::LakeStore>,
    /// The `[[subscription]]` groups: coordinators, committed offsets, what they received.
    pub subscriptions: crate::subscription::state::Subscriptions,
    /// The serving layer: the database's per-key view, the readers' figures (durable).
    pub serving: Mutex<crate::serving::store::Serving>,
    /// The operator, sink and reference this run uses.
    pub plugins: Plugins,
    /// The sink database's tables (durable across sink crashes).
    pub sink: Mutex<crate::sink::db::SinkDb>,
    /// Set once the write path drained: no record will be appended any more, so processors may fire every window.
    pub input_closed: std::sync::atomic::AtomicBool,
    /// The processors whose checkpoint transactions (offsets and state) the sink is executing now;
    /// fault targets can wait for one.
    pub checkpoint_senders: Mutex<std::collections::BTreeSet<Addr>>,
    /// Set when the workload is over: clients stop generating.
    pub workload_over: std::sync::atomic::AtomicBool,
    /// Fetch requests the stream processors' consumers sent, over all incarnations.
    pub consumer_fetches: std::sync::atomic::AtomicU64,
    /// The gateways' shared de-duplication cache (`[gateway] dedup_scope = "shared"`), which outlives gateway crashes.
    pub gateway_dedup: Option<Mutex<crate::gateway::dedup::DedupCache>>,
    /// The de-duplication caches' counters, summed over gateways and their incarnations.
    pub gateway_dedup_stats: Mutex<crate::gateway::dedup::DedupStats>,
    /// What survives a client crash: its replayable source and checkpoint (filled when the client first starts).
    pub client_sources: Vec<Mutex<Option<crate::client::source::ClientSource>>>,
    /// The broker autoscaler (`[autoscale]`), beside the controller's metadata log.
    pub autoscale: Option<Mutex<crate::autoscale::Autoscaler>>,
    /// The gateways' rate limit (`[gateway.rate_limit]`): one set of buckets all gateways consult.
    pub rate_limiter: Option<Mutex<crate::gateway::rate_limit::RateLimiter>>,
    /// Transactions: the coordinator's store, marker times and what consumers read.
    pub txn: Mutex<crate::log::transaction_ledger::TxnLedger>,
    /// The rows the processors produced to their output topic (`exactly_once_txn`).
    pub output_rows: Mutex<crate::processor::output_topic::OutputRows>,
    /// Where each processor instance would fetch next, by partition: the log audit does not
    /// summarise past it (a paused instance still fetches from there when it wakes).
    pub processor_positions: Mutex<crate::processor::positions::ProcessorPositions>,
    /// Where the processors' output topic lies among the partitions (none unless `exactly_once_txn`).
    pub output: crate::processor::output_topic::OutputLayout,
}

impl Shared {
    /// The first transaction-state partition: they come last, after the events, the
    /// dead letters and the output topic (none when nothing is transactional).
    pub fn first_state_partition(&self) -> PartitionId {
        let on = crate::processor::output_topic::transactions_on(
            self.scenario.gateway.transactional,
            &self.scenario.processor,
        );
        self.assignment.len() - crate::log::transaction_coordinator::state_partitions(on)
    }

    /// Build the shared state of a run.
    pub fn new(scenario: Arc<Scenario>, seed: u64, fabric: Arc<Fabric>, workload: Workload, plugins: Plugins) -> Self {
        let t = &scenario.topology;
        // With autoscaling, every provisioned slot is a node; those past the
        // starting size idle until the autoscaler admits them.
        let slots = if scenario.autoscale.enabled() {
            scenario.autoscale.max_brokers
        } else {
            t.brokers
        };
        let layout = Layout {
            brokers: slots,
            gateways: t.gateways,
            clients: t.clients,
            processors: scenario.processor.instances,
            sink: scenario.processor.instances > 0,
            lake_writers: scenario.lake.writers,
            reader: scenario.serving.enabled(),
            cache: scenario.serving.enabled() && scenario.serving.cache,
            subscribers: scenario.subscription.iter().map(|s| s.consumers).sum(),
        };
        let dlq = scenario.gateway.dead_letter_partitions;
        // Transactional producers get the coordinator's state partition, last (Kafka's `__transaction_state`).
        let txn_state = crate::log::transaction_coordinator::state_partitions(
            crate::processor::output_topic::transactions_on(scenario.gateway.transactional, &scenario.processor),
        );
        // The processors' output topic (`exactly_once_txn`) follows the dead-letter partitions.
        let output = crate::processor::output_topic::OutputLayout::new(&scenario.processor, t.partitions, dlq);
        let out = output.count;
        let assignment =
            crate::log::disk::assign_replicas(t.partitions + dlq + out + txn_state, t.brokers, t.replication_factor);
        Shared {
            seed,
            layout,
            fabric,
            trace: Arc::new(TraceHash::default()),
            workload_hash: (0..t.clients).map(|_| TraceHash::default()).collect(),
            assignment,
            event_partitions: t.partitions,
            disks: (0..slots).map(|_| Mutex::new(BrokerDisk::default())).collect(),
            resources: (0..slots)
                .map(|_| Mutex::new(BrokerResources::new(&scenario.resources)))
                .collect(),
            gateway_cpu: (0..t.gateways)
                .map(|_| Mutex::new(crate::resources::Cpu::new(scenario.gateway.cores)))
                .collect(),
            client_cpu: (0..t.clients)
                .map(|_| Mutex::new(crate::resources::Cpu::new(scenario.client.cores)))
                .collect(),
            controller: Mutex::new(ControllerStore::default()),
            metadata: Mutex::new(Vec::new()),
            ledger: Mutex::new(Ledger::new(t.clients)),
            metrics: Mutex::new(Metrics::new(t.partitions, scenario.bucket_ms())),
            timeline: Mutex::new(Vec::new()),
            truncated_unacknowledged: Mutex::new(Vec::new()),
            workload,
            hw_board: Mutex::new(vec![(usize::MAX, 0, 0); t.partitions + dlq + out + txn_state]),
            counted_prefix: Mutex::new(Default::default()),
            incarnations: Mutex::new(vec![0; layout.nodes()]),
            workload_over: std::sync::atomic::AtomicBool::new(false),
            checkpoint_senders: Mutex::new(Default::default()),
            group: Mutex::new(Default::default()),
            lake_group: Mutex::new(Default::default()),
            lake: Mutex::new(crate::lake::store::LakeStore::new(t.partitions)),
            subscriptions: crate::subscription::state::Subscriptions::new(&scenario.subscription, t.partitions),
            serving: Mutex::new(crate::serving::store::Serving::new(
                &scenario.serving,
                scenario.bucket_ms(),
            )),
            sink: Mutex::new(crate::sink::db::SinkDb::new(
                t.partitions,
                t.clients,
                plugins.new_sink(),
            )),
            plugins,
            input_closed: std::sync::atomic::AtomicBool::new(false),
            consumer_fetches: std::sync::atomic::AtomicU64::new(0),
            gateway_dedup: None,
            gateway_dedup_stats: Mutex::new(Default::default()),
            client_sources: (0..t.clients).map(|_| Mutex::new(None)).collect(),
            autoscale: scenario
                .autoscale
                .enabled()
                .then(|| Mutex::new(crate::autoscale::Autoscaler::new(&scenario.autoscale))),
            rate_limiter: scenario
                .gateway
                .rate_limit
                .as_ref()
                .map(|r| Mutex::new(crate::gateway::rate_limit::RateLimiter::new(r))),
            txn: Mutex::new(Default::default()),
            output_rows: Mutex::new(Default::default()),
            processor_positions: Mutex::new(crate::processor::positions::ProcessorPositions::new(
                scenario.processor.instances,
                t.partitions,
            )),
            output,
            scenario,
        }
        .with_shared_dedup()
    }

    fn with_shared_dedup(mut self) -> Self {
        let g = &self.scenario.gateway;
        if g.dedup && g.dedup_scope == crate::config::DedupScope::Shared {
            self.gateway_dedup = Some(Mutex::new(crate::gateway::dedup::DedupCache::for_gateways(
                g,
                &self.scenario.producer,
            )));
        }
        self
    }

    /// A fresh incarnation number for a node that is starting.
    pub fn next_incarnation(&self, a: Addr) -> u64 {
        let mut g = self.incarnations.lock().expect("incarnation lock");
        g[a.0 as usize] += 1;
        g[a.0 as usize]
    }

    /// Count (when `fenced`) and put on the timeline a transactional producer that learned
    /// its transaction is lost and starts again under a new epoch: a fencing as
    /// `ProducerFenced`, anything else as a `Transaction` step. `text` says who and why.
    pub fn note_producer_restart(&self, fenced: bool, text: &str, words: &[u64]) {
        if fenced {
            self.txn.lock().expect("txn lock").store.stats.fenced += 1;
        }
        let kind = if fenced {
            TimelineKind::ProducerFenced
        } else {
            TimelineKind::Transaction
        };
        self.timeline(kind, text, words);
    }

    /// Append to the timeline (and the trace).
    pub fn timeline(&self, kind: TimelineKind, text: &str, words: &[u64]) {
        self.timeline_with(kind, text, words, Vec::new());
    }

    /// Append to the timeline (and the trace), with named fields for the JSON
    /// trace; returns the entry's place on the timeline.
    pub fn timeline_with(
        &self,
        kind: TimelineKind,
        text: &str,
        words: &[u64],
        fields: Vec<(String, serde_json::Value)>,
    ) -> usize {
        let at_ms = crate::clock::now_ms();
        let mut w = vec![at_ms, 1000 + kind as u64];
        w.extend_from_slice(words);
        self.trace.record(&w);
        let mut timeline = self.timeline.lock().expect("timeline lock");
        timeline.push(TimelineEntry {
            at_ms,
            kind,
            text: text.to_string(),
            words: words.to_vec(),
            fields,
        });
        timeline.len() - 1
    }

    /// Count records appended at a leader.
    pub fn metrics_append(&self, p: PartitionId, n: u64) {
        let now = crate::clock::now_ms();
        let mut m = self.metrics.lock().expect("metrics lock");
        let b = m.bucket(now);
        b.appended += n;
        if let Some(x) = b.partition_appends.get_mut(p) {
            *x += n;
        }
    }

    /// The sink committed the first row of events generated at `born_us`.
    pub fn metrics_sunk(&self, born_us: &[u64], now_us: u64) {
        if born_us.is_empty() {
            return;
        }
        let mut m = self.metrics.lock().expect("metrics lock");
        for &b in born_us {
            m.e2e.saturating_record(now_us.saturating_sub(b));
        }
        let b = m.latency_bucket(now_us / 1000);
        b.sunk += born_us.len() as u64;
        for &born in born_us {
            b.e2e.record(now_us.saturating_sub(born));
        }
    }

    /// Where the read path stands on each events partition, in partition order.
    pub fn read_progress(&self) -> Vec<ReadProgress> {
        if self.output.count > 0 {
            return self.read_progress_txn();
        }
        let hws: Vec<u64> = (0..self.event_partitions).map(|p| self.committed_hw(p)).collect();
        let db = self.sink.lock().expect("sink lock");
        hws.into_iter()
            .zip(&db.slots)
            .map(|(hw, slot)| ReadProgress {
                hw,
                committed: slot.offset(),
                finished: slot.checkpoint.as_ref().is_some_and(|c| c.finished),
            })
            .collect()
    }

    /// [`read_progress`](Self::read_progress) under `exactly_once_txn`: the group's
    /// committed offsets (final once every window fired), final only once the sink has
    /// also read the partition's output to the end.
    fn read_progress_txn(&self) -> Vec<ReadProgress> {
        let n = self.event_partitions;
        let out_hw: Vec<u64> = (0..n).map(|p| self.committed_hw(self.output.of_input(p))).collect();
        let hws: Vec<u64> = (0..n).map(|p| self.committed_hw(p)).collect();
        let stored = self.sink.lock().expect("sink lock").output_offsets.clone();
        let txn = self.txn.lock().expect("txn lock");
        (0..n)
            .map(|p| {
                let c = txn.offsets.committed.get(&p);
                ReadProgress {
                    hw: hws[p],
                    committed: c.map_or(0, |c| c.offset),
                    finished: c.is_some_and(|c| c.finished) && stored[p] >= out_hw[p],
                }
            })
            .collect()
    }

    /// High watermark of a partition as its current leader last published it (0 if unknown).
    pub fn committed_hw(&self, p: PartitionId) -> u64 {
        let leader = self
            .metadata
            .lock()
            .expect("metadata lock")
            .get(p)
            .map(|s| (s.leader, s.leader_epoch));
        let (b, e, hw) = self.hw_board.lock().expect("hw board lock")[p];
        match leader {
            Some((Some(l), epoch)) if l == b && epoch == e => hw,
            _ => 0,
        }
    }

    /// Log end offset of a partition's replica on a broker (0 if it hosts none).
    pub fn leo(&self, broker: BrokerId, p: PartitionId) -> u64 {
        self.disks[broker]
            .lock()
            .expect("disk lock")
            .logs
            .get(&p)
            .map_or(0, |l| l.leo())
    }

    /// Replace the published metadata.
    pub fn publish_metadata(&self, parts: &[PartitionState]) {
        *self.metadata.lock().expect("metadata lock") = parts.to_vec();
    }

    /// Digest of every client's generated stream, in client order.
    pub fn workload_digest(&self) -> String {
        let all = TraceHash::default();
        for h in &self.workload_hash {
            all.record(&[h.value()]);
        }
        all.hex()
    }

    /// Whether the workload is over.
    pub fn is_workload_over(&self) -> bool {
        self.workload_over.load(std::sync::atomic::Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bucket_latency::BucketLatency;

    #[test]
    fn recording_a_latency_seals_the_buckets_before_it() {
        let mut m = Metrics::new(2, 1000);
        m.latency_bucket(500).ack.record(2_000);
        m.bucket(1_500).offered += 1; // an arrival drawn ahead does not seal
        assert!(matches!(m.buckets[0].ack, BucketLatency::Open(_)));
        m.latency_bucket(2_100).e2e.record(9_000);
        assert!(matches!(m.buckets[0].ack, BucketLatency::Sealed(_)));
        assert!(matches!(m.buckets[1].e2e, BucketLatency::Sealed(_)));
        assert!(matches!(m.buckets[2].e2e, BucketLatency::Open(_)));
        // Two significant digits: within 1% of what was recorded.
        assert!((m.buckets[0].ack.percentiles().max - 2.0).abs() < 0.02);
        assert!((m.buckets[2].e2e.percentiles().p50 - 9.0).abs() < 0.09);
    }
}
