//! Import of OpenMessaging Benchmark (OMB) workload files, so that a published
//! benchmark's workload can be replayed in simulation.
//!
//! OMB describes a workload as a flat YAML map with camelCase names. The fields
//! that shape traffic or topology are read; the rest (`name` aside) are ignored,
//! notably `payloadFile` and `consumerBacklogSizeGB`.

use std::path::Path;

use serde_norway::Value;

use crate::error::FieldError;
use crate::keys::KeySpec;
use crate::size::SizeSpec;
use crate::spec::WorkloadSpec;

/// Number of distinct keys OMB's keyed distributors cycle through.
pub const OMB_KEY_COUNT: u64 = 10_000;

/// Key space standing in for OMB's `NO_KEY`: keyless records are spread evenly over
/// partitions, which a key space far larger than any partition count reproduces.
pub const OMB_NO_KEY_COUNT: u64 = 1 << 20;

/// OMB's `keyDistributor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OmbKeyDistributor {
    /// `NO_KEY`: records carry no key; imported as uniform keys over
    /// [`OMB_NO_KEY_COUNT`], which spreads them evenly like a keyless partitioner.
    NoKey,
    /// `KEY_ROUND_ROBIN`: each producer cycles through [`OMB_KEY_COUNT`] keys;
    /// imported as [`KeySpec::RoundRobin`].
    KeyRoundRobin,
    /// `RANDOM_NANO`: a key picked by the clock among [`OMB_KEY_COUNT`]; imported as
    /// [`KeySpec::Uniform`].
    RandomNano,
}

impl OmbKeyDistributor {
    /// The key distribution that stands in for this distributor.
    pub fn key_spec(self) -> KeySpec {
        match self {
            OmbKeyDistributor::NoKey => KeySpec::Uniform {
                count: OMB_NO_KEY_COUNT,
            },
            OmbKeyDistributor::KeyRoundRobin => KeySpec::RoundRobin { count: OMB_KEY_COUNT },
            OmbKeyDistributor::RandomNano => KeySpec::Uniform { count: OMB_KEY_COUNT },
        }
    }
}

/// An OMB workload: the traffic as a [`WorkloadSpec`] plus the topology OMB sets up.
#[derive(Debug, Clone, PartialEq)]
pub struct OmbWorkload {
    /// The workload's `name`, if any.
    pub name: Option<String>,
    /// Constant `producerRate` (cluster-wide, as in OMB), fixed `messageSize`, keys
    /// from `keyDistributor`.
    pub spec: WorkloadSpec,
    /// `topics`.
    pub topics: u32,
    /// `partitionsPerTopic`.
    pub partitions_per_topic: u32,
    /// `messageSize`, bytes.
    pub message_size: u32,
    /// `producerRate`, messages per second over all producers.
    pub producer_rate: f64,
    /// `keyDistributor` (default `NO_KEY`).
    pub key_distributor: OmbKeyDistributor,
    /// `subscriptionsPerTopic` (default 1).
    pub subscriptions_per_topic: u32,
    /// `consumerPerSubscription` (default 1).
    pub consumer_per_subscription: u32,
    /// `producersPerTopic` (default 1).
    pub producers_per_topic: u32,
    /// `testDurationMinutes`.
    pub test_duration_minutes: u32,
    /// `warmupDurationMinutes` (default 1, as in OMB).
    pub warmup_duration_minutes: u32,
}

impl OmbWorkload {
    /// Partitions over all topics.
    pub fn total_partitions(&self) -> u64 {
        u64::from(self.topics) * u64::from(self.partitions_per_topic)
    }

    /// Producers over all topics: the number of clients to simulate.
    pub fn total_producers(&self) -> u32 {
        self.topics.saturating_mul(self.producers_per_topic)
    }

    /// Consumers over all topics and subscriptions.
    pub fn total_consumers(&self) -> u64 {
        u64::from(self.topics) * u64::from(self.subscriptions_per_topic) * u64::from(self.consumer_per_subscription)
    }

    /// Length of the measured test, ms (warm-up excluded).
    pub fn test_duration_ms(&self) -> u64 {
        u64::from(self.test_duration_minutes) * 60_000
    }
}

/// Reads an OMB workload YAML file. Errors name the offending camelCase field.
pub fn from_omb_yaml(path: &Path) -> Result<OmbWorkload, FieldError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| FieldError::new("", format!("cannot read OMB workload `{}`: {e}", path.display())))?;
    from_omb_yaml_str(&text)
}

/// Parses the text of an OMB workload YAML file (see [`from_omb_yaml`]).
pub fn from_omb_yaml_str(text: &str) -> Result<OmbWorkload, FieldError> {
    let doc: Value = serde_norway::from_str(text).map_err(|e| FieldError::new("", format!("not valid YAML: {e}")))?;
    if !doc.is_mapping() {
        return Err(FieldError::new("", "an OMB workload must be a YAML map of fields"));
    }
    let count = |field: &str, default: Option<u32>, min: u32| -> Result<u32, FieldError> {
        let v = match doc.get(field) {
            None | Some(Value::Null) => {
                return default.ok_or_else(|| FieldError::new(field, "is required"));
            }
            Some(v) => v,
        };
        let n = v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| FieldError::new(field, format!("must be a whole number, got {}", show(v))))?;
        if n < min {
            return Err(FieldError::new(field, format!("must be >= {min}, got {n}")));
        }
        Ok(n)
    };
    let topics = count("topics", None, 1)?;
    let partitions_per_topic = count("partitionsPerTopic", None, 1)?;
    let message_size = count("messageSize", None, 1)?;
    let subscriptions_per_topic = count("subscriptionsPerTopic", Some(1), 0)?;
    let consumer_per_subscription = count("consumerPerSubscription", Some(1), 0)?;
    let producers_per_topic = count("producersPerTopic", Some(1), 1)?;
    let test_duration_minutes = count("testDurationMinutes", None, 1)?;
    let warmup_duration_minutes = count("warmupDurationMinutes", Some(1), 0)?;

    let rate_v = doc
        .get("producerRate")
        .ok_or_else(|| FieldError::new("producerRate", "is required"))?;
    let producer_rate = rate_v
        .as_f64()
        .filter(|r| r.is_finite())
        .ok_or_else(|| FieldError::new("producerRate", format!("must be a number, got {}", show(rate_v))))?;
    if producer_rate <= 0.0 {
        return Err(FieldError::new(
            "producerRate",
            format!(
                "must be > 0, got {producer_rate}: OMB's 0 (search for the maximum rate) has no meaning \
                 in a simulation; set the rate to replay"
            ),
        ));
    }
    let key_distributor = match doc.get("keyDistributor") {
        None | Some(Value::Null) => OmbKeyDistributor::NoKey,
        Some(v) => match v.as_str() {
            Some("NO_KEY") => OmbKeyDistributor::NoKey,
            Some("KEY_ROUND_ROBIN") => OmbKeyDistributor::KeyRoundRobin,
            Some("RANDOM_NANO") => OmbKeyDistributor::RandomNano,
            _ => {
                return Err(FieldError::new(
                    "keyDistributor",
                    format!("must be NO_KEY, KEY_ROUND_ROBIN or RANDOM_NANO, got {}", show(v)),
                ))
            }
        },
    };
    let name = doc.get("name").and_then(Value::as_str).map(str::to_string);
    let mut spec = WorkloadSpec::constant(producer_rate);
    spec.size = SizeSpec::Fixed { bytes: message_size };
    spec.keys = key_distributor.key_spec();
    spec.validate()?;
    Ok(OmbWorkload {
        name,
        spec,
        topics,
        partitions_per_topic,
        message_size,
        producer_rate,
        key_distributor,
        subscriptions_per_topic,
        consumer_per_subscription,
        producers_per_topic,
        test_duration_minutes,
        warmup_duration_minutes,
    })
}

fn show(v: &Value) -> String {
    serde_norway::to_string(v)
        .map(|s| s.trim_end().to_string())
        .unwrap_or_else(|_| format!("{v:?}"))
}

// Here rather than in `spec`, so that the workload spec knows nothing of the OMB
// format that fills it.
impl WorkloadSpec {
    /// Reads the OpenMessaging Benchmark file named by `omb` (relative paths
    /// against `base_dir`, the scenario file's folder) and takes its rate,
    /// keys and size; the other fields of the table are kept. Returns the
    /// imported workload, whose topology (topics, partitions) the caller may
    /// apply, or `None` when `omb` is not set. Reading again is harmless.
    ///
    /// Errors are reported on the field `omb` and name the file and what is
    /// wrong with it (unreadable, not YAML, or which OMB field is bad).
    pub fn resolve_omb(&mut self, base_dir: &Path) -> Result<Option<OmbWorkload>, FieldError> {
        let Some(rel) = &self.omb else {
            return Ok(None);
        };
        let path = base_dir.join(rel);
        let omb = from_omb_yaml_str(&std::fs::read_to_string(&path).map_err(|e| {
            FieldError::new(
                "omb",
                format!(
                    "cannot read the OpenMessaging Benchmark workload `{}`: {e}",
                    path.display()
                ),
            )
        })?)
        .map_err(|e| {
            let what = if e.field.is_empty() {
                e.message.clone()
            } else {
                format!("field `{}` {}", e.field, e.message)
            };
            FieldError::new(
                "omb",
                format!("OpenMessaging Benchmark workload `{}`: {what}", path.display()),
            )
        })?;
        self.rate = omb.spec.rate.clone();
        self.keys = omb.spec.keys.clone();
        self.size = omb.spec.size.clone();
        self.omb_pending = false;
        Ok(Some(omb))
    }
}
