//! The data a run hands to the reports: the machine-readable result (the
//! `--json` object and `result.json`) and the time series behind the plots.
//!
//! Latencies are recorded in microseconds in the histograms and reported in
//! milliseconds (as `f64`) in the result, because the simulation clock
//! resolves to 1 ms and readers think in milliseconds.

use hdrhistogram::Histogram;

pub use crate::compact_histogram::CompactHistogram;
use serde::{Deserialize, Serialize};

/// Outcome of a run.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every invariant and budget held.
    Pass,
    /// At least one invariant or budget was violated.
    Violation,
}

/// One violated invariant or budget, with a small witness.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Violation {
    /// Invariant name, e.g. `no_loss`, `no_duplicates`, `per_key_order`, `budget.ack_p99`.
    pub invariant: String,
    /// Human-readable witness: the few events involved and what happened to them.
    pub detail: String,
    /// Virtual time (ms since the start of the run) at which it was observed.
    pub at_ms: u64,
}

/// Latency percentiles in milliseconds.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Largest value seen.
    pub max: f64,
}

impl Percentiles {
    /// Percentiles of a histogram recorded in microseconds, in milliseconds.
    pub fn from_micros(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return Self::default();
        }
        let ms = |v: u64| v as f64 / 1000.0;
        Percentiles {
            p50: ms(h.value_at_quantile(0.50)),
            p99: ms(h.value_at_quantile(0.99)),
            p999: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
        }
    }
}

/// One budget from the scenario compared with what the run measured.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct BudgetCheck {
    /// Budget name, e.g. `ack_latency.p99_ms`.
    pub name: String,
    /// The limit the scenario set.
    pub limit: f64,
    /// The measured value.
    pub measured: f64,
    /// Whether the measured value is within the limit.
    pub ok: bool,
}

/// The machine-readable result of one run: the `--json` object.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct RunResult {
    /// Scenario name (from the file).
    pub scenario: String,
    /// Path of the scenario file as given on the command line.
    pub scenario_path: String,
    /// Seed of the run.
    pub seed: u64,
    /// Overall verdict.
    pub verdict: Verdict,
    /// What the scenario file expected (`pass` or `violation`).
    pub expect: Verdict,
    /// Violations, first observed first.
    pub violations: Vec<Violation>,
    /// Hash of the protocol trace, hex; equal for equal (binary, scenario, seed).
    pub trace_hash: String,
    /// Distinct events the clients generated and sent at least once.
    pub events_sent: u64,
    /// Distinct events acknowledged to a client.
    pub events_acked: u64,
    /// Acknowledged events missing from the committed log after drain.
    pub events_lost: u64,
    /// Events with more committed copies than client attempts (duplicates idempotence must prevent).
    pub events_duplicated: u64,
    /// Events whose outcome the client never learned (timed out, never acknowledged).
    pub events_uncertain: u64,
    /// Extra committed copies caused by client retries after a timeout (at-least-once into the log).
    pub retry_copies: u64,
    /// Events rejected by validation and written to the dead-letter topic.
    pub events_dead_lettered: u64,
    /// Committed records the checker counted while the run went, after which the logs kept only a summary of them.
    #[serde(default)]
    pub log_records_summarised: u64,
    /// Records that retention deleted from the logs, summed over replicas.
    #[serde(default)]
    pub log_records_deleted_by_retention: u64,
    /// Offsets followers took from a leader's summarised prefix (they had fallen behind
    /// the in-sync replicas), summed over replicas.
    #[serde(default)]
    pub log_offsets_caught_up_from_summaries: u64,
    /// The most records the logs held in memory rather than as summaries, at one of the
    /// log audit's folds, summed over replicas.
    #[serde(default)]
    pub log_records_held_peak: u64,
    /// Client requests rejected by gateway backpressure (each was retried).
    pub backpressure_rejections: u64,
    /// Acknowledgement latency, client first send to acknowledgement.
    pub ack_latency_ms: Percentiles,
    /// Budgets checked.
    pub budgets: Vec<BudgetCheck>,
    /// Virtual seconds simulated, drain included.
    pub virtual_s: f64,
    /// Wall-clock seconds the run took.
    pub wall_s: f64,
    /// Command that replays this run.
    pub replay: String,
    /// The read path's figures (all `null` for a write-path-only scenario).
    #[serde(flatten)]
    pub read: ReadResult,
    /// The gateways' de-duplication cache, present when the scenario turns it on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_dedup: Option<GatewayDedupResult>,
    /// The brokers' page cache, present when some broker's writes blocked at its dirty limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_cache: Option<PageCacheResult>,
    /// Offered against achieved rates, and what the producers' bounded buffers did.
    #[serde(default)]
    pub throughput: ThroughputResult,
    /// What the brokers cost, present when the scenario names a machine profile with a price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<CostResult>,
    /// The cold path's lake, present when the scenario has lake writers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lake: Option<LakeResult>,
    /// Broker autoscaling, present when the scenario has `[autoscale]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscale: Option<crate::autoscale::AutoscaleResult>,
    /// The gateways' rate limit, present when the scenario sets `[gateway.rate_limit]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limited: Option<RateLimitedResult>,
    /// The serving layer's reads, present when the scenario has a query load.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serving: Option<ServingResult>,
    /// CPU and NIC of each gateway over the run, from the per-bucket samples.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gateway_utilisation: Vec<GatewayUtilisation>,
    /// CPU and NIC of the clients over the run (the busiest and the mean), from the per-bucket samples.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_utilisation: Option<crate::ClientUtilisation>,
    /// Each `[[subscription]]` by name, present when the scenario has any.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub subscriptions: std::collections::BTreeMap<String, crate::SubscriptionResult>,
    /// Transactions, present when the gateways are transactional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transactions: Option<crate::transactions::TransactionsResult>,
}

impl RunResult {
    /// The limit of the budget named `name`, if the scenario set one.
    pub fn budget_limit(&self, name: &str) -> Option<f64> {
        self.budgets.iter().find(|b| b.name == name).map(|b| b.limit)
    }
}

/// What the gateways' rate limit refused, and what became of it.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq)]
pub struct RateLimitedResult {
    /// Distinct events the rate limit refused at least once.
    pub rejected: u64,
    /// Of those, events acknowledged (or dead-lettered) after the client retried them.
    pub delivered_after_retry: u64,
    /// Refusals in all (an event refused on three attempts counts three).
    pub refusals: u64,
}

/// What the serving layer's query load saw: reads through the cache (or
/// straight to the database), their latency, and the checks' counts.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct ServingResult {
    /// Reads answered.
    pub reads: u64,
    /// Share of the answered reads the cache answered (0 without a cache).
    pub hit_ratio: f64,
    /// Read latency, from the read's issue to its answer, ms.
    pub read_latency_ms: Percentiles,
    /// Reads that returned a value the database had replaced more than the staleness bound before.
    pub stale_reads: u64,
    /// Reads that got no answer (failed, or still waiting at the end).
    pub failed_reads: u64,
    /// The staleness bound the stale-read check holds reads to, ms.
    pub staleness_bound_ms: u64,
    /// The longest any served value had been replaced in the database, ms.
    pub max_staleness_ms: f64,
    /// The longest from a database commit to the processor's cache write or delete that followed it, ms.
    pub max_invalidation_delay_ms: f64,
    /// Cache requests that timed out (the cache was down or stalled).
    pub cache_timeouts: u64,
}

/// One time bucket of the serving layer's reads.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq)]
pub struct ServingBucket {
    /// Reads issued in the bucket (and answered).
    pub reads: u64,
    /// Of those, answered by the cache.
    pub hits: u64,
    /// Latency of the bucket's reads, ms.
    pub latency_ms: Percentiles,
}

/// What the cold path archived: the files its manifest names, checked
/// against the committed log.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct LakeResult {
    /// Files the manifest names.
    pub files: u64,
    /// Committed log records in at least one committed file.
    pub events_archived: u64,
    /// Records in more than one committed file (extra copies).
    pub events_duplicated: u64,
    /// Committed log records in no committed file.
    pub events_missing: u64,
    /// Objects in the bucket no manifest entry names (uploads a crash cut off).
    pub orphan_files: u64,
    /// Puts that landed on a name already in the bucket (a retry, or a file written again after a crash).
    pub objects_replaced: u64,
    /// Object-store requests (puts and manifest commits) that failed and were retried.
    pub failed_requests: u64,
    /// p99 of the lake's freshness over the workload (the age of the newest
    /// committed event, on the partition furthest behind), seconds.
    pub freshness_p99_s: Option<f64>,
    /// Records of aborted transactions in committed files (only a read_uncommitted writer
    /// under a transactional gateway can write one).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub events_aborted: u64,
}

/// Storage of one tier and what it costs a month.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct TierCost {
    /// `broker log`, or a lake tier (`lake hot`, `lake warm`, `lake cold`).
    pub tier: String,
    /// GB the tier holds in the steady state.
    pub gb: f64,
    /// USD per month.
    pub per_month_usd: f64,
}

/// The brokers' cost at the run's achieved rate: machines by the hour, log
/// storage for the retention period by the GB-month, and both per million events.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct CostResult {
    /// The machine profile priced.
    pub machine: String,
    /// Brokers times the profile's hourly price, USD.
    pub cluster_per_hour_usd: f64,
    /// Log storage for `retention_ms` of the achieved rate, every replica, and
    /// with a cold path the lake's tiers too, USD per month.
    pub storage_per_month_usd: f64,
    /// Hourly cluster cost plus hourly storage cost, divided by millions of events an hour, USD
    /// (`null` when no event was acknowledged).
    pub per_million_events_usd: Option<f64>,
    /// Log storage the retention needs per broker, GB (to compare with the disk's capacity).
    pub storage_per_broker_gb: f64,
    /// The machine's log storage, GB, when the profile gives it.
    #[serde(default)]
    pub disk_capacity_gb: Option<f64>,
    /// Storage by tier (the brokers' log, then the lake's lifecycle tiers),
    /// present with a cold path; `storage_per_month_usd` is their sum.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub storage_by_tier: Vec<TierCost>,
}

/// Whether the pipeline kept up: the events the workload offered against
/// those acknowledged by a grace period after the workload's end.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq)]
pub struct ThroughputResult {
    /// Events the workload offered over its duration (taken, failed or never taken).
    pub offered_events: u64,
    /// Offered events per virtual second of the workload.
    pub offered_per_s: f64,
    /// Offered payload, MB (10^6 bytes) per second of the workload.
    pub offered_mb_per_s: f64,
    /// Events acknowledged by `grace_s` after the workload's end.
    pub acked_in_time: u64,
    /// Those events per virtual second of the workload.
    pub achieved_per_s: f64,
    /// Their payload, MB per second of the workload.
    pub achieved_mb_per_s: f64,
    /// `acked_in_time / offered_events` (1 when nothing was offered).
    pub ratio: f64,
    /// Seconds after the workload's end that acknowledgements still counted.
    pub grace_s: f64,
    /// Seconds after the workload's end of the last acknowledgement.
    pub write_drain_s: f64,
    /// Whether `ratio` reached the scenario's `throughput_min_ratio`.
    pub kept_up: bool,
    /// Sends that failed after blocking `max_block_ms` on a full producer buffer.
    pub failed_sends: u64,
    /// Events the workload offered that a blocked producer had not taken when the run ended.
    pub never_sent: u64,
    /// Milliseconds of blocked sends, summed over clients.
    pub blocked_ms: u64,
    /// The most bytes one client's producer buffer held.
    pub peak_buffer_bytes: u64,
    /// Sends that failed when their `delivery_timeout_ms` passed unacknowledged: taken and
    /// sent, then given up on (never loss; the log may still hold some of them).
    #[serde(default)]
    pub expired_sends: u64,
    /// Of the events given up on, those an earlier attempt left in the log anyway.
    #[serde(default)]
    pub expired_in_log: u64,
    /// Client batches a gateway refused because an earlier batch of the same partition had not
    /// reached it (idempotence on, several batches in flight); each was re-sent in order.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub out_of_order_refusals: u64,
}

/// Writes that blocked at the page cache's `dirty_ratio`, summed over brokers:
/// the disks did not keep up with what was written.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq)]
pub struct PageCacheResult {
    /// Appends (leader or follower) that waited for writeback.
    pub throttled_writes: u64,
    /// Their total wait, ms.
    pub throttled_ms: f64,
    /// The most dirty and under-writeback data any one broker held, MiB.
    pub peak_dirty_mib: f64,
}

/// What the gateways' de-duplication cache did in a run, summed over gateways.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GatewayDedupResult {
    /// Event ids looked up (every copy that reached a gateway).
    pub lookups: u64,
    /// Copies answered from a remembered outcome instead of being produced again.
    pub hits: u64,
    /// Copies that found their id's first copy still in flight (they waited for it, or were told to retry).
    pub in_flight: u64,
    /// Claims dropped because their copy failed, so the retry is produced again.
    pub released: u64,
    /// Ids forgotten because their TTL (or a claim's lease) ran out.
    pub expired: u64,
    /// Ids evicted to stay within the cache's capacity.
    pub evicted: u64,
}

impl GatewayDedupResult {
    /// Add another cache's counters.
    pub fn add(&mut self, o: &GatewayDedupResult) {
        self.lookups += o.lookups;
        self.hits += o.hits;
        self.in_flight += o.in_flight;
        self.released += o.released;
        self.expired += o.expired;
        self.evicted += o.evicted;
    }
}

/// What the read path (stream processor and sink) did in a run.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct ReadResult {
    /// Distinct events with a row in the sink's `events` table.
    pub events_in_sink: Option<u64>,
    /// End-to-end latency, client generation to sink commit.
    pub e2e_latency_ms: Option<Percentiles>,
    /// Largest consumer lag of any partition at any sample (records between the high watermark and the committed offset).
    pub max_consumer_lag: Option<u64>,
    /// Virtual seconds from the end of the workload until the sink held everything (consumer lag zero everywhere).
    pub drain_s: Option<f64>,
    /// Events the processor sent to the late side output.
    pub events_late: Option<u64>,
    /// Fetch requests the stream processors' consumers sent to the brokers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer_fetches: Option<u64>,
}

/// A window of virtual time during which a fault was active.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct FaultWindow {
    /// Short label, e.g. `crash broker-1` or `isolate broker-2`.
    pub label: String,
    /// Start, ms of virtual time.
    pub start_ms: u64,
    /// End (heal), ms of virtual time; `None` if it never healed during the run.
    pub end_ms: Option<u64>,
}

/// One gateway's busy fractions over a run: the busiest bucket and the mean
/// over the run's buckets (drain included), each in `[0, 1]`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq)]
pub struct GatewayUtilisation {
    /// Gateway index (`gateway-<i>`).
    pub gateway: usize,
    /// Highest CPU busy fraction of a bucket.
    pub cpu_peak: f64,
    /// Mean CPU busy fraction.
    pub cpu_mean: f64,
    /// Highest NIC egress busy fraction of a bucket.
    pub nic_peak: f64,
    /// Mean NIC egress busy fraction.
    pub nic_mean: f64,
}

impl GatewayUtilisation {
    /// Peaks and means of gateway `gateway` over `buckets`.
    pub fn over(gateway: usize, buckets: &[Bucket]) -> Self {
        let series: Vec<Utilisation> = buckets
            .iter()
            .filter_map(|b| b.gateways.get(gateway).copied())
            .collect();
        let n = series.len().max(1) as f64;
        GatewayUtilisation {
            gateway,
            cpu_peak: series.iter().map(|u| u.cpu).fold(0.0, f64::max),
            cpu_mean: series.iter().map(|u| u.cpu).sum::<f64>() / n,
            nic_peak: series.iter().map(|u| u.nic).fold(0.0, f64::max),
            nic_mean: series.iter().map(|u| u.nic).sum::<f64>() / n,
        }
    }
}

/// Per-node resource utilisation in one bucket, each a fraction in `[0, 1]`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq)]
pub struct Utilisation {
    /// CPU busy fraction (averaged over cores).
    pub cpu: f64,
    /// Disk busy fraction.
    pub disk: f64,
    /// NIC egress busy fraction.
    pub nic: f64,
    /// Dirty page cache (dirty plus under writeback) as a fraction of the
    /// `dirty_ratio` limit: at 1.0 the broker's writes block on the disk.
    #[serde(default)]
    pub dirty: f64,
}

/// One time bucket of the run's series (normally 1 s of virtual time).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Bucket {
    /// Bucket start, ms of virtual time.
    pub start_ms: u64,
    /// Events the workload offered in the bucket: sent at once, or held back or failed by a
    /// producer whose buffer was full.
    #[serde(default)]
    pub offered: u64,
    /// Events first sent by clients in the bucket.
    pub sent: u64,
    /// Bytes of the events first sent in the bucket.
    #[serde(default)]
    pub sent_bytes: u64,
    /// Events acknowledged to clients in the bucket.
    pub acked: u64,
    /// Bytes of the events acknowledged in the bucket.
    #[serde(default)]
    pub acked_bytes: u64,
    /// Records appended to partition leaders in the bucket (throughput into the log).
    pub appended: u64,
    /// Acknowledgement latency percentiles of events acknowledged in the bucket.
    pub ack_latency_ms: Percentiles,
    /// Records appended per partition in the bucket (skew, hot partitions).
    pub partition_appends: Vec<u64>,
    /// Replication lag per partition at the end of the bucket: leader end offset minus high watermark.
    pub partition_hw_lag: Vec<u64>,
    /// Utilisation per broker, indexed by broker id.
    pub brokers: Vec<Utilisation>,
    /// Utilisation per gateway (CPU and NIC), indexed by gateway.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gateways: Vec<Utilisation>,
    /// Events whose first row the sink committed in the bucket (throughput out).
    #[serde(default)]
    pub sunk: u64,
    /// End-to-end latency percentiles of events first committed to the sink in the bucket.
    #[serde(default)]
    pub e2e_latency_ms: Percentiles,
    /// Consumer lag per partition at the end of the bucket: high watermark minus the processor's committed offset (empty without a read path).
    #[serde(default)]
    pub consumer_lag: Vec<u64>,
    /// The lake's freshness, seconds: the worst per-second sample in the bucket (absent without a cold path, and after the workload).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lake_freshness_s: Option<f64>,
    /// Events the gateways' rate limit refused in the bucket (each refusal counts).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub rate_limited: u64,
    /// The serving layer's reads answered in the bucket (absent without a query load).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serving: Option<ServingBucket>,
    /// The clients' CPU and NIC in the bucket: their mean and the busiest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clients: Option<crate::ClientsUtilisation>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Everything a report needs about one run.
#[derive(Clone, Debug)]
pub struct RunReport {
    /// The `--json` object.
    pub result: RunResult,
    /// Bucket width in ms (1000 by default).
    pub bucket_ms: u64,
    /// Time series, one entry per bucket from 0.
    pub buckets: Vec<Bucket>,
    /// Acknowledgement latency of each bucket as a histogram in microseconds,
    /// same indexing as `buckets` (for the HdrHistogram interval log), encoded:
    /// a day of buckets would otherwise hold tens of MiB of zero counts.
    pub ack_intervals: Vec<CompactHistogram>,
    /// Whole-run acknowledgement latency, microseconds.
    pub ack_latency_us: Histogram<u64>,
    /// End-to-end latency of each bucket, microseconds (empty without a read path).
    pub e2e_intervals: Vec<CompactHistogram>,
    /// Whole-run end-to-end latency, microseconds (`None` without a read path).
    pub e2e_latency_us: Option<Histogram<u64>>,
    /// Fault windows to shade on time plots.
    pub faults: Vec<FaultWindow>,
    /// Topology and knobs, in display order, for the summary. A knob named
    /// `invariants` (comma-separated names) lists the invariants checked
    /// beyond `no_loss` and `no_duplicates`, so the summary can show each
    /// one passing, not only those that failed.
    pub knobs: Vec<(String, String)>,
    /// Number of brokers (names are `broker-<i>`).
    pub brokers: usize,
    /// Number of partitions.
    pub partitions: usize,
}

/// A fresh latency histogram in microseconds: 1 µs to 1 hour, 3 significant digits.
pub fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("static histogram bounds are valid")
}

/// A histogram for one time-series bucket, µs: two significant digits
/// (quantiles within 1%) and a range that grows only as far as the largest
/// value recorded, so an hour of one-second buckets of millisecond latencies
/// takes a few KiB each instead of the run-wide histogram's 188 KiB.
pub fn bucket_histogram() -> Histogram<u64> {
    Histogram::new(2).expect("two significant digits are valid")
}

/// Record a latency (µs) in a [`bucket_histogram`]. Its range grows on
/// `record`; `saturating_record` would clamp to the range it has so far.
/// Values past an hour are clamped, as the run-wide histograms clamp them.
pub fn record_in_bucket(h: &mut Histogram<u64>, us: u64) {
    h.record(us.min(3_600_000_000))
        .expect("an auto-resizing histogram takes any value up to an hour");
}
