//! The scenario file, as serde reads it. Every knob has a default that
//! matches the real system's default or a documented calibration, and the
//! file's own fields (`name`, `expect`, `duration_s`) have plain ones, so a
//! scenario only states what it changes; `[workload]` alone is required.

use crate::config::{
    AutoscaleConfig, Budgets, ClientConfig, GatewayConfig, InvariantConfig, LakeConfig, LogConfig, NetworkConfig,
    ProcessorConfig, ProducerConfig, ResourceConfig, SinkConfig, Topology,
};
use serde::{Deserialize, Serialize};
use streamsim_workloads::WorkloadSpec;

/// What the scenario author expects of every seed.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    /// All invariants and budgets hold (the default).
    #[default]
    Pass,
    /// A negative control: some seed must violate an invariant.
    Violation,
}

/// A whole scenario file.
#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short name used in reports; the file's stem when the file gives none.
    #[serde(default)]
    pub name: String,
    /// What the scenario shows, one or two sentences.
    #[serde(default)]
    pub description: String,
    /// Expected outcome; `pass` unless the file says otherwise.
    #[serde(default)]
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
    /// Virtual seconds during which clients generate events
    /// ([`DEFAULT_DURATION_S`] when unset).
    #[serde(default = "d_duration_s")]
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
    pub gateway: GatewayConfig,
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
    pub processor: ProcessorConfig,
    /// The sink database.
    #[serde(default)]
    pub sink: SinkConfig,
    /// The cold path: lake writers archiving the events topic to an object store.
    #[serde(default, skip_serializing_if = "LakeConfig::is_off")]
    pub lake: LakeConfig,
    /// Independent consumer groups on the events topic (`[[subscription]]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subscription: Vec<crate::config::SubscriptionConfig>,
    /// Broker autoscaling with partition reassignment.
    #[serde(default, skip_serializing_if = "AutoscaleConfig::is_off")]
    pub autoscale: AutoscaleConfig,
    /// The serving layer: a query load reading the sink through a cache.
    #[serde(default, skip_serializing_if = "crate::config::ServingConfig::is_off")]
    pub serving: crate::config::ServingConfig,
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

/// Virtual seconds of workload when a scenario does not say.
pub const DEFAULT_DURATION_S: f64 = 60.0;

fn d_duration_s() -> f64 {
    DEFAULT_DURATION_S
}

fn d_drain_timeout_s() -> f64 {
    120.0
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
}
