//! The scenario file, as serde reads it. Every knob has a default that
//! matches the real system's default or a documented calibration, so a
//! scenario only states what it changes.

use serde::{Deserialize, Serialize};
use streamsim_workloads::WorkloadSpec;

/// What the scenario author expects of every seed.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    /// All invariants and budgets hold.
    Pass,
    /// A negative control: some seed must violate an invariant.
    Violation,
}

/// A whole scenario file.
#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short name used in reports.
    pub name: String,
    /// What the scenario shows, one or two sentences.
    #[serde(default)]
    pub description: String,
    /// Expected outcome.
    pub expect: Expect,
    /// For a negative control, the invariant it must violate (`"no_loss"`),
    /// or the few that one unsafe setting breaks together (`["sink.exactly_once",
    /// "sink.aggregates"]`); every violation the library finds must be one of them.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "one_or_many",
        serialize_with = "one_or_many_out"
    )]
    pub expect_invariant: Vec<String>,
    /// Virtual seconds during which clients generate events.
    pub duration_s: f64,
    /// Virtual seconds allowed, after the workload ends and faults heal,
    /// for every client request to settle and replicas to catch up.
    #[serde(default = "d_drain_timeout_s")]
    pub drain_timeout_s: f64,
    /// Cluster shape.
    #[serde(default)]
    pub topology: Topology,
    /// Log (Kafka broker and topic) settings.
    #[serde(default)]
    pub log: LogConfig,
    /// The gateway's producer into the log.
    #[serde(default)]
    pub producer: ProducerConfig,
    /// Client behaviour.
    #[serde(default)]
    pub client: ClientConfig,
    /// Gateway behaviour.
    #[serde(default)]
    pub gateway: super::gateway::GatewayConfig,
    /// Default link model.
    #[serde(default)]
    pub network: NetworkConfig,
    /// Per-broker resources.
    #[serde(default)]
    pub resources: ResourceConfig,
    /// Traffic.
    pub workload: WorkloadSpec,
    /// The stream processing job (read path); absent means write path only.
    #[serde(default)]
    pub processor: super::pipeline::ProcessorConfig,
    /// The sink database.
    #[serde(default)]
    pub sink: super::pipeline::SinkConfig,
    /// Faults: `[[faults]]` at fixed virtual times, or one `[faults]`
    /// table with `mode = "swarm"` whose schedule each seed draws.
    #[serde(default)]
    pub faults: super::faults::Faults,
    /// Latency budgets and floors.
    #[serde(default)]
    pub budgets: Budgets,
    /// Which optional invariants to check.
    #[serde(default)]
    pub invariants: InvariantConfig,
    /// How the run's time series are kept.
    #[serde(default, skip_serializing_if = "ReportConfig::is_default")]
    pub report: ReportConfig,
    /// The machine profile `topology.machine` names, resolved when the file is
    /// loaded (its figures are already in `resources`; its prices give the cost).
    #[serde(skip)]
    pub machine: Option<super::machine::MachineProfile>,
}

/// A string or a list of strings.
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        One(String),
        Many(Vec<String>),
    }
    Raw::deserialize(d)
        .map(|r| match r {
            Raw::One(s) => vec![s],
            Raw::Many(v) => v,
        })
        .map_err(|_| serde::de::Error::custom("expected an invariant name or a list of them"))
}

fn one_or_many_out<S: serde::Serializer>(v: &[String], s: S) -> Result<S::Ok, S::Error> {
    match v {
        [one] => s.serialize_str(one),
        many => many.serialize(s),
    }
}

fn d_drain_timeout_s() -> f64 {
    120.0
}

/// How clients pick a gateway.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum Balancer {
    /// Each request to the next gateway in turn.
    #[default]
    RoundRobin,
    /// The gateway with the fewest requests in flight from this client.
    LeastConnections,
    /// By hash of the event key on a ring of virtual nodes, so a key sticks to a gateway.
    ConsistentHash,
}

/// Cluster shape.
#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields, default)]
pub struct Topology {
    /// Number of brokers.
    pub brokers: usize,
    /// Partitions of the events topic.
    pub partitions: usize,
    /// Replicas per partition.
    pub replication_factor: usize,
    /// Gateway instances behind the balancer.
    pub gateways: usize,
    /// Simulated clients sharing the workload.
    pub clients: usize,
    /// How clients spread requests over gateways.
    pub balancer: Balancer,
    /// A machine profile for the brokers (`profiles/*.toml`): its CPU, disk,
    /// NIC, memory and price; `[resources]` settings override its figures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub machine: Option<String>,
}

impl Default for Topology {
    fn default() -> Self {
        Topology {
            brokers: 3,
            partitions: 12,
            replication_factor: 3,
            gateways: 2,
            clients: 16,
            balancer: Balancer::RoundRobin,
            machine: None,
        }
    }
}

/// Kafka's `acks`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Acks {
    /// Fire and forget: acknowledged when sent.
    Zero,
    /// Acknowledged once the leader appended.
    One,
    /// Acknowledged once every in-sync replica has it (high watermark passed it).
    #[default]
    All,
}

impl Serialize for Acks {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match self {
            Acks::Zero => "0",
            Acks::One => "1",
            Acks::All => "all",
        })
    }
}

impl<'de> Deserialize<'de> for Acks {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Kafka users write acks as a number or as "all"/"-1": accept all of them.
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            I(i64),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::I(0) => Ok(Acks::Zero),
            Raw::I(1) => Ok(Acks::One),
            Raw::I(-1) => Ok(Acks::All),
            Raw::S(s) => match s.as_str() {
                "0" => Ok(Acks::Zero),
                "1" => Ok(Acks::One),
                "all" | "-1" => Ok(Acks::All),
                other => Err(serde::de::Error::custom(format!(
                    "acks must be 0, 1 or \"all\", not {other:?}"
                ))),
            },
            Raw::I(n) => Err(serde::de::Error::custom(format!(
                "acks must be 0, 1 or \"all\", not {n}"
            ))),
        }
    }
}

/// How a follower reconciles its log with a new leader.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum Truncation {
    /// KIP-101/KIP-279: truncate to the end offset of the last common leader epoch.
    #[default]
    LeaderEpoch,
    /// Pre-KIP-101 Kafka: truncate to the local high watermark, with its known losses.
    HighWatermark,
}

/// When a broker fsyncs its log. A crash loses whatever was not flushed.
/// Written as a table (`{ policy = "interval", interval_ms = 1000 }`) or, for
/// the policies without settings, as a bare name (`flush = "every_batch"`).
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Default)]
#[serde(rename_all = "snake_case", tag = "policy")]
pub enum FlushPolicy {
    /// fsync every appended batch before it counts as written (`flush.messages=1`).
    EveryBatch,
    /// Background writeback every `interval_ms` (Kafka's default relies on the
    /// OS page cache; Linux writes dirty pages back within about 5 s).
    Interval {
        /// Writeback period.
        interval_ms: u64,
    },
    /// Never flushed: a crash loses the whole local log.
    Never,
    /// The Linux default writeback, every 5 s.
    #[default]
    Os,
}

impl FlushPolicy {
    /// Whether appends go through the page cache, to be written back by the
    /// kernel (and, for `interval`, by Kafka's periodic fsync).
    pub fn uses_page_cache(&self) -> bool {
        matches!(self, FlushPolicy::Os | FlushPolicy::Interval { .. })
    }
}

/// The table form of [`FlushPolicy`], as serde derives it.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case", tag = "policy", deny_unknown_fields)]
enum FlushTable {
    EveryBatch,
    Interval { interval_ms: u64 },
    Never,
    Os,
}

impl<'de> Deserialize<'de> for FlushPolicy {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Either;
        impl<'de> serde::de::Visitor<'de> for Either {
            type Value = FlushPolicy;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("\"every_batch\", \"os\", \"never\", or a table such as { policy = \"interval\", interval_ms = 1000 }")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<FlushPolicy, E> {
                match v {
                    "every_batch" => Ok(FlushPolicy::EveryBatch),
                    "never" => Ok(FlushPolicy::Never),
                    "os" => Ok(FlushPolicy::Os),
                    "interval" => Err(E::custom(
                        "the interval policy needs its period: write { policy = \"interval\", interval_ms = 1000 }",
                    )),
                    other => Err(E::custom(format!(
                        "unknown flush policy {other:?}: expected \"every_batch\", \"interval\", \"never\" or \"os\""
                    ))),
                }
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<FlushPolicy, A::Error> {
                let t = FlushTable::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(match t {
                    FlushTable::EveryBatch => FlushPolicy::EveryBatch,
                    FlushTable::Interval { interval_ms } => FlushPolicy::Interval { interval_ms },
                    FlushTable::Never => FlushPolicy::Never,
                    FlushTable::Os => FlushPolicy::Os,
                })
            }
        }
        d.deserialize_any(Either)
    }
}

/// Log settings, named after the Kafka configs they model.
#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `acks` used by the gateway's producer.
    pub acks: Acks,
    /// `min.insync.replicas`.
    pub min_insync_replicas: usize,
    /// `unclean.leader.election.enable`.
    pub unclean_leader_election: bool,
    /// KIP-966's eligible leader replicas (`eligible.leader.replicas.enable` in the
    /// KIP; `eligible.leader.replicas.version=1` in Kafka 4.x): the high watermark
    /// advances only with the ISR at min ISR, replicas leaving a smaller ISR stay
    /// electable, and a broker back from an unclean shutdown leaves ISR and ELR.
    pub eligible_leader_replicas: bool,
    /// Follower truncation rule on leader change.
    pub truncation: Truncation,
    /// `replica.lag.time.max.ms`.
    pub replica_lag_time_max_ms: u64,
    /// `replica.fetch.wait.max.ms`: how long a leader parks an empty follower fetch.
    pub replica_fetch_wait_max_ms: u64,
    /// `replica.fetch.max.bytes` per partition per fetch.
    pub replica_fetch_max_bytes: u64,
    /// `broker.session.timeout.ms`: the controller fences a broker silent this long.
    pub broker_session_timeout_ms: u64,
    /// `broker.heartbeat.interval.ms`.
    pub broker_heartbeat_interval_ms: u64,
    /// Flush policy.
    pub flush: FlushPolicy,
    /// How often the high watermark is checkpointed to disk.
    pub hw_checkpoint_interval_ms: u64,
    /// `request.timeout.ms` on the broker for acks=all produce requests.
    pub request_timeout_ms: u64,
    /// `retention.ms`: a segment whose newest record is older than this is deleted.
    pub retention_ms: u64,
    /// `retention.bytes` per partition replica; absent is Kafka's -1, no size limit.
    pub retention_bytes: Option<u64>,
    /// `segment.bytes`: a segment rolls at this size, and retention deletes whole segments.
    pub segment_bytes: u64,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            acks: Acks::All,
            min_insync_replicas: 2,
            unclean_leader_election: false,
            // Off, as in Kafka 3.x and 4.0 (and clusters upgraded to 4.1 without turning it on).
            eligible_leader_replicas: false,
            truncation: Truncation::LeaderEpoch,
            replica_lag_time_max_ms: 30_000,
            replica_fetch_wait_max_ms: 500,
            replica_fetch_max_bytes: 1 << 20,
            broker_session_timeout_ms: 9_000,
            broker_heartbeat_interval_ms: 2_000,
            flush: FlushPolicy::Os,
            hw_checkpoint_interval_ms: 5_000,
            request_timeout_ms: 30_000,
            // Kafka's defaults: 7 days, no size limit, 1 GiB segments.
            retention_ms: 7 * 24 * 3_600_000,
            retention_bytes: None,
            segment_bytes: 1 << 30,
        }
    }
}

/// The gateway's Kafka producer.
#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields, default)]
pub struct ProducerConfig {
    /// `enable.idempotence`: producer id, epoch and per-partition sequence.
    pub idempotence: bool,
    /// `linger.ms`.
    pub linger_ms: u64,
    /// `batch.size` in bytes.
    pub batch_max_bytes: u64,
    /// `retry.backoff.ms`.
    pub retry_backoff_ms: u64,
    /// `delivery.timeout.ms`: after this the gateway fails the events back to the client.
    pub delivery_timeout_ms: u64,
    /// `request.timeout.ms` on the producer side.
    pub request_timeout_ms: u64,
    /// `metadata.max.age.ms`: periodic metadata refresh.
    pub metadata_max_age_ms: u64,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        ProducerConfig {
            idempotence: true,
            linger_ms: 5,
            batch_max_bytes: 256 * 1024,
            retry_backoff_ms: 100,
            delivery_timeout_ms: 120_000,
            request_timeout_ms: 30_000,
            metadata_max_age_ms: 300_000,
        }
    }
}

/// Client behaviour.
#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields, default)]
pub struct ClientConfig {
    /// Clients gather events this long before sending a request.
    pub linger_ms: u64,
    /// Largest request, in events.
    pub max_batch_events: usize,
    /// A request unanswered this long is uncertain and retried with the same ids.
    pub request_timeout_ms: u64,
    /// First retry backoff; doubles per attempt.
    pub retry_backoff_ms: u64,
    /// Largest retry backoff.
    pub retry_backoff_max_ms: u64,
    /// Requests in flight per client. 1 keeps per-key order across retries.
    pub max_in_flight: usize,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            linger_ms: 5,
            max_batch_events: 500,
            request_timeout_ms: 10_000,
            retry_backoff_ms: 100,
            retry_backoff_max_ms: 5_000,
            max_in_flight: 1,
        }
    }
}

/// A link model.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkConfig {
    /// Fixed one-way latency, microseconds.
    pub latency_base_us: u64,
    /// Mean of the exponential jitter added to the base, microseconds.
    pub latency_jitter_us: u64,
    /// Probability that a message is dropped.
    pub loss: f64,
    /// Probability that a message is delivered twice.
    pub duplicate: f64,
    /// Probability that a message is held back by up to `reorder_max_ms`.
    pub reorder: f64,
    /// Largest extra delay of a reordered message.
    pub reorder_max_ms: u64,
    /// Messages are delivered on this grid of microseconds: 1 delivers each
    /// when it arrives; 1000 rounds every hop up to the millisecond, as
    /// the harness did before it had sub-millisecond wake-ups.
    pub delivery_quantum_us: u64,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        // Same-zone datacenter round trips are 0.2 to 0.5 ms.
        NetworkConfig {
            latency_base_us: 150,
            latency_jitter_us: 50,
            loss: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            reorder_max_ms: 10,
            delivery_quantum_us: 1,
        }
    }
}

/// Per-broker resources. Defaults model an i3en.2xlarge-class broker
/// (8 vCPU, NVMe, 25 Gbit/s); see docs/RESOURCES.md for the calibration.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ResourceConfig {
    /// CPU cores.
    pub cores: usize,
    /// CPU cost of handling one request, microseconds.
    pub cpu_per_request_us: f64,
    /// CPU cost per KiB of payload handled, microseconds.
    pub cpu_per_kib_us: f64,
    /// Sequential disk write bandwidth, MB/s.
    pub disk_mb_per_s: f64,
    /// Latency of one fsync, microseconds.
    pub fsync_us: u64,
    /// NIC bandwidth, Gbit/s.
    pub nic_gbps: f64,
    /// Memory the kernel can use for the page cache, MiB: the machine's RAM
    /// less the broker's heap and the OS. The dirty ratios are percentages of it.
    pub page_cache_mb: u64,
    /// `vm.dirty_background_ratio`: above this share of dirty pages the
    /// kernel starts writing back in the background.
    pub dirty_background_ratio: u32,
    /// `vm.dirty_ratio`: at this share of dirty pages (and pages under
    /// writeback) a writer blocks until writeback brings it back down.
    pub dirty_ratio: u32,
    /// `vm.dirty_expire_centisecs`: data dirty this long is written back at
    /// the flusher's next wake-up, whatever the ratios say.
    pub dirty_expire_centisecs: u64,
    /// `vm.dirty_writeback_centisecs`: how often the flusher threads wake.
    pub dirty_writeback_centisecs: u64,
}

impl Default for ResourceConfig {
    fn default() -> Self {
        ResourceConfig {
            cores: 8,
            cpu_per_request_us: 25.0,
            cpu_per_kib_us: 2.0,
            disk_mb_per_s: 1_000.0,
            fsync_us: 1_000,
            nic_gbps: 25.0,
            // 64 GiB of RAM less a 6 GiB heap and about 1 GiB for the OS.
            page_cache_mb: 57 * 1024,
            // Linux's defaults.
            dirty_background_ratio: 10,
            dirty_ratio: 20,
            dirty_expire_centisecs: 3_000,
            dirty_writeback_centisecs: 500,
        }
    }
}

/// Budgets; each omitted one is not checked.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Budgets {
    /// Acknowledgement latency p50, ms.
    pub ack_p50_ms: Option<f64>,
    /// Acknowledgement latency p99, ms.
    pub ack_p99_ms: Option<f64>,
    /// Acknowledgement latency p99.9, ms.
    pub ack_p999_ms: Option<f64>,
    /// Floor on acknowledged events per virtual second over the workload.
    pub min_acked_per_s: Option<f64>,
    /// End-to-end latency p50 (client generation to sink commit), ms.
    pub e2e_p50_ms: Option<f64>,
    /// End-to-end latency p99, ms.
    pub e2e_p99_ms: Option<f64>,
    /// End-to-end latency p99.9, ms.
    pub e2e_p999_ms: Option<f64>,
    /// Ceiling on the read path's drain: virtual seconds from the end of the
    /// workload (when every fault has healed) until consumer lag is zero everywhere.
    pub max_drain_s: Option<f64>,
}

/// Optional invariants.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct InvariantConfig {
    /// Check that events of one key from one client appear in the log in send order.
    pub per_key_order: bool,
    /// Require every request to settle (acknowledged or refused) within the drain.
    pub settle_within_drain: bool,
}

impl Default for InvariantConfig {
    fn default() -> Self {
        InvariantConfig {
            per_key_order: true,
            settle_within_drain: true,
        }
    }
}

/// How the run's time series are kept.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ReportConfig {
    /// Width of one time-series bucket (throughput, latency percentiles,
    /// utilisation, lag), seconds. Unset: 1 s for runs up to an hour, 10 s up
    /// to six hours, 60 s beyond, so a virtual day keeps 1,440 buckets and
    /// memory does not grow with the run's length.
    pub bucket_s: Option<f64>,
}

impl ReportConfig {
    fn is_default(&self) -> bool {
        *self == ReportConfig::default()
    }
}

impl Scenario {
    /// Width of a time-series bucket, ms.
    pub fn bucket_ms(&self) -> u64 {
        match self.report.bucket_s {
            Some(s) => (s * 1000.0).round() as u64,
            None if self.duration_s <= 3600.0 => 1_000,
            None if self.duration_s <= 6.0 * 3600.0 => 10_000,
            None => 60_000,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(duration_s: f64, bucket_s: Option<f64>) -> Scenario {
        let text = format!(
            "name = \"x\"\nexpect = \"pass\"\nduration_s = {duration_s}\n[workload]\nrate = {{ kind = \"constant\", events_per_s = 1 }}\n"
        );
        let mut s: Scenario = toml::from_str(&text).expect("parses");
        s.report.bucket_s = bucket_s;
        s
    }

    #[test]
    fn buckets_coarsen_with_the_run_so_a_day_keeps_1440() {
        assert_eq!(with(60.0, None).bucket_ms(), 1_000);
        assert_eq!(with(3600.0, None).bucket_ms(), 1_000);
        assert_eq!(with(4.0 * 3600.0, None).bucket_ms(), 10_000);
        let day = with(86_400.0, None);
        assert_eq!(day.bucket_ms(), 60_000);
        assert_eq!(86_400_000 / day.bucket_ms(), 1440);
        assert_eq!(with(86_400.0, Some(5.0)).bucket_ms(), 5_000);
    }

    fn flush(value: &str) -> Result<FlushPolicy, String> {
        let text = format!("[log]\nflush = {value}\n");
        #[derive(Deserialize)]
        struct Doc {
            log: LogConfig,
        }
        toml::from_str::<Doc>(&text)
            .map(|d| d.log.flush)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn flush_takes_the_short_form_and_the_table() {
        assert_eq!(flush("\"every_batch\""), Ok(FlushPolicy::EveryBatch));
        assert_eq!(flush("\"os\""), Ok(FlushPolicy::Os));
        assert_eq!(flush("{ policy = \"every_batch\" }"), Ok(FlushPolicy::EveryBatch));
        assert_eq!(
            flush("{ policy = \"interval\", interval_ms = 250 }"),
            Ok(FlushPolicy::Interval { interval_ms: 250 })
        );
        let e = flush("\"interval\"").unwrap_err();
        assert!(e.contains("interval_ms = 1000") && e.contains("line 2"), "{e}");
        let e = flush("\"sometimes\"").unwrap_err();
        assert!(e.contains("unknown flush policy \"sometimes\""), "{e}");
        let e = flush("{ policy = \"interval\", interval = 250 }").unwrap_err();
        assert!(e.contains("interval"), "{e}");
    }
}
