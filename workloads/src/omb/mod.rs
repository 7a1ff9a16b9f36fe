//! Import of OpenMessaging Benchmark (OMB) workload files, so that a published
//! benchmark's workload can be replayed in simulation.
//!
//! OMB describes a workload as a flat YAML map with camelCase names. Every
//! field of OMB's `Workload` class is read; the few that cannot change a
//! simulated run (payload contents) are listed in [`OmbWorkload::ignored`].
//! The Kafka driver file is read by [`driver`].

mod detect;
pub mod driver;
mod source;

pub use detect::{omb_file_kind, OmbFileKind};
use source::Source;
pub use source::{OmbError, OmbIgnored};

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
    /// `producerRate`, messages per second over all producers; 0 asks for the
    /// maximum sustainable rate (see [`OmbWorkload::finds_max_rate`]).
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
    /// `consumerBacklogSizeGB` (GiB, as OMB counts them; 0: no backlog test).
    pub consumer_backlog_size_gb: f64,
    /// `backlogDrainRatio` (default 1: the backlog is drained when 1,000 messages or fewer are left).
    pub backlog_drain_ratio: f64,
    /// `payloadFile`, as written.
    pub payload_file: Option<String>,
    /// Fields read but not modelled, with why.
    pub ignored: Vec<OmbIgnored>,
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

    /// Whether `producerRate` is 0: OMB then searches for the maximum sustainable rate.
    pub fn finds_max_rate(&self) -> bool {
        self.producer_rate == 0.0
    }

    /// Length of the measured test, ms (warm-up excluded).
    pub fn test_duration_ms(&self) -> u64 {
        u64::from(self.test_duration_minutes) * 60_000
    }
}

/// Fields of OMB's workload file, as its `Workload` class names them.
pub const OMB_WORKLOAD_FIELDS: [&str; 17] = [
    "name",
    "topics",
    "partitionsPerTopic",
    "keyDistributor",
    "messageSize",
    "useRandomizedPayloads",
    "randomBytesRatio",
    "randomizedPayloadPoolSize",
    "payloadFile",
    "subscriptionsPerTopic",
    "producersPerTopic",
    "consumerPerSubscription",
    "producerRate",
    "consumerBacklogSizeGB",
    "backlogDrainRatio",
    "testDurationMinutes",
    "warmupDurationMinutes",
];

/// The highest `producerRate` accepted, messages/s: far past what a
/// simulation runs in reasonable time, a guard against a typo.
pub const OMB_MAX_RATE: f64 = 100_000_000.0;

/// The largest `consumerBacklogSizeGB` accepted (1 PiB).
pub const OMB_MAX_BACKLOG_GB: f64 = 1_048_576.0;

/// Producers, or consumers, over all topics a run takes: each is a simulated node.
pub const OMB_MAX_NODES: u64 = 10_000;

/// The rate OMB starts from when `producerRate` is 0 and it searches for the
/// maximum sustainable rate.
pub const OMB_MAX_RATE_START: f64 = 10_000.0;

/// Reads an OMB workload YAML file. Errors name the offending camelCase field.
pub fn from_omb_yaml(path: &Path) -> Result<OmbWorkload, FieldError> {
    read_omb_workload(path).map_err(field_error)
}

/// Parses the text of an OMB workload YAML file (see [`from_omb_yaml`]);
/// a `payloadFile` is looked for against the working directory.
pub fn from_omb_yaml_str(text: &str) -> Result<OmbWorkload, FieldError> {
    parse_omb_workload(Path::new("workload.yaml"), text).map_err(field_error)
}

fn field_error(e: OmbError) -> FieldError {
    let place = match (e.line, e.column) {
        (Some(l), Some(c)) => format!(" (line {l}, column {c})"),
        (Some(l), None) => format!(" (line {l})"),
        _ => String::new(),
    };
    FieldError::new(e.field, format!("{}{place}", e.message))
}

/// Reads an OMB workload file; errors name the file, line, column and field.
pub fn read_omb_workload(path: &Path) -> Result<OmbWorkload, OmbError> {
    let text = std::fs::read_to_string(path).map_err(|e| OmbError {
        file: path.to_path_buf(),
        line: None,
        column: None,
        field: String::new(),
        message: format!("cannot read the OpenMessaging Benchmark workload: {e}"),
    })?;
    parse_omb_workload(path, &text)
}

/// Parses the text of the OMB workload file `path` (used in errors, and to
/// find a `payloadFile`: against the file's folder, then its parent, since
/// OMB's own files name payloads from the repository's root).
pub fn parse_omb_workload(path: &Path, text: &str) -> Result<OmbWorkload, OmbError> {
    let src = Source { file: path, text };
    let doc: Value = serde_norway::from_str(text).map_err(|e| src.yaml_error(&e))?;
    let Some(map) = doc.as_mapping() else {
        return Err(OmbError {
            file: path.to_path_buf(),
            line: Some(1),
            column: Some(1),
            field: String::new(),
            message: "an OpenMessaging Benchmark workload must be a YAML map of fields".into(),
        });
    };
    let mut ignored = Vec::new();
    for k in map.keys() {
        let name = k.as_str().map(str::to_string).unwrap_or_else(|| show(k));
        if !OMB_WORKLOAD_FIELDS.contains(&name.as_str()) {
            ignored.push(OmbIgnored::new(
                name,
                "not a field of OMB's workload file (OMB's own loader would refuse it)",
            ));
        }
    }
    let count = |field: &str, default: Option<u32>, min: u32| -> Result<u32, OmbError> {
        let v = match doc.get(field) {
            None | Some(Value::Null) => {
                return default.ok_or_else(|| src.error(field, "is required"));
            }
            Some(v) => v,
        };
        let n = v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| src.error(field, format!("must be a whole number, got {}", show(v))))?;
        if n < min {
            return Err(src.error(field, format!("must be >= {min}, got {n}")));
        }
        Ok(n)
    };
    let number = |field: &str, default: f64| -> Result<f64, OmbError> {
        match doc.get(field) {
            None | Some(Value::Null) => Ok(default),
            Some(v) => v
                .as_f64()
                .filter(|r| r.is_finite() && *r >= 0.0)
                .ok_or_else(|| src.error(field, format!("must be a number >= 0, got {}", show(v)))),
        }
    };
    let topics = count("topics", None, 1)?;
    let partitions_per_topic = count("partitionsPerTopic", None, 1)?;
    let mut message_size = count("messageSize", None, 1)?;
    let subscriptions_per_topic = count("subscriptionsPerTopic", Some(1), 0)?;
    let consumer_per_subscription = count("consumerPerSubscription", Some(1), 0)?;
    let producers_per_topic = count("producersPerTopic", Some(1), 1)?;
    let test_duration_minutes = count("testDurationMinutes", None, 1)?;
    let warmup_duration_minutes = count("warmupDurationMinutes", Some(1), 0)?;
    let consumer_backlog_size_gb = number("consumerBacklogSizeGB", 0.0)?;
    let backlog_drain_ratio = number("backlogDrainRatio", 1.0)?;
    if backlog_drain_ratio > 1.0 {
        return Err(src.error(
            "backlogDrainRatio",
            format!("must be between 0 and 1, got {backlog_drain_ratio}"),
        ));
    }

    let rate_v = doc
        .get("producerRate")
        .ok_or_else(|| src.error("producerRate", "is required"))?;
    let producer_rate = rate_v
        .as_f64()
        .filter(|r| r.is_finite() && *r >= 0.0)
        .ok_or_else(|| src.error("producerRate", format!("must be a number >= 0, got {}", show(rate_v))))?;
    if producer_rate > OMB_MAX_RATE {
        return Err(src.error(
            "producerRate",
            format!(
                "{} messages/s is beyond what a simulation can run (at most {OMB_MAX_RATE})",
                show(rate_v)
            ),
        ));
    }
    if consumer_backlog_size_gb > OMB_MAX_BACKLOG_GB {
        return Err(src.error(
            "consumerBacklogSizeGB",
            format!(
                "{} GB is beyond what a simulation can hold (at most {OMB_MAX_BACKLOG_GB})",
                doc.get("consumerBacklogSizeGB").map(show).unwrap_or_default()
            ),
        ));
    }
    for (field, n) in [
        ("producersPerTopic", u64::from(topics) * u64::from(producers_per_topic)),
        (
            "consumerPerSubscription",
            u64::from(topics) * u64::from(consumer_per_subscription),
        ),
    ] {
        if n > OMB_MAX_NODES {
            return Err(src.error(
                field,
                format!("{n} over all topics, but a simulation runs at most {OMB_MAX_NODES} (one node each)"),
            ));
        }
    }
    if producer_rate == 0.0 && consumer_backlog_size_gb > 0.0 {
        // OMB refuses the same combination.
        return Err(src.error(
            "producerRate",
            "is 0 (search for the maximum rate), which cannot be combined with consumerBacklogSizeGB > 0",
        ));
    }
    let key_distributor = match doc.get("keyDistributor") {
        None | Some(Value::Null) => OmbKeyDistributor::NoKey,
        Some(v) => match v.as_str() {
            Some("NO_KEY") => OmbKeyDistributor::NoKey,
            Some("KEY_ROUND_ROBIN") => OmbKeyDistributor::KeyRoundRobin,
            Some("RANDOM_NANO") => OmbKeyDistributor::RandomNano,
            _ => {
                return Err(src.error(
                    "keyDistributor",
                    format!("must be NO_KEY, KEY_ROUND_ROBIN or RANDOM_NANO, got {}", show(v)),
                ))
            }
        },
    };
    let randomized = doc.get("useRandomizedPayloads").and_then(Value::as_bool) == Some(true);
    for f in ["useRandomizedPayloads", "randomBytesRatio", "randomizedPayloadPoolSize"] {
        if doc.get(f).is_some() {
            ignored.push(OmbIgnored::new(
                f,
                "payload contents matter only to compression, which the model does not have; the size is messageSize",
            ));
        }
    }
    let payload_file = doc.get("payloadFile").and_then(Value::as_str).map(str::to_string);
    if let (Some(p), false) = (&payload_file, randomized) {
        let dir = path.parent().unwrap_or(Path::new("."));
        let found = [dir.join(p), dir.join("..").join(p)].into_iter().find(|c| c.is_file());
        match found.and_then(|f| std::fs::metadata(f).ok()) {
            Some(m) => {
                message_size = u32::try_from(m.len())
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| src.error("payloadFile", format!("`{p}` is empty or larger than 4 GiB")))?;
            }
            None => ignored.push(OmbIgnored::new(
                "payloadFile",
                format!("`{p}` not found next to the workload or in its parent folder; messages are messageSize bytes"),
            )),
        }
    }
    let name = doc.get("name").and_then(Value::as_str).map(str::to_string);
    let start = if producer_rate > 0.0 {
        producer_rate
    } else {
        OMB_MAX_RATE_START
    };
    let mut spec = WorkloadSpec::constant(start);
    spec.size = SizeSpec::Fixed { bytes: message_size };
    spec.keys = key_distributor.key_spec();
    spec.validate().map_err(|e| src.error(&e.field, e.message))?;
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
        consumer_backlog_size_gb,
        backlog_drain_ratio,
        payload_file,
        ignored,
    })
}

fn show(v: &Value) -> String {
    // A huge number in full would be hundreds of digits.
    if let Some(f) = v.as_f64().filter(|f| f.abs() >= 1e15) {
        return format!("{f:e}");
    }
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
        let text = std::fs::read_to_string(&path).map_err(|e| {
            FieldError::new(
                "omb",
                format!(
                    "cannot read the OpenMessaging Benchmark workload `{}`: {e}",
                    path.display()
                ),
            )
        })?;
        let omb = parse_omb_workload(&path, &text).map_err(|e| FieldError::new("omb", e.to_string()))?;
        // Both need a run shaped by the OMB file itself, which a scenario's fixed
        // duration and faults do not give.
        let unsupported = if omb.finds_max_rate() {
            Some("producerRate: 0 (the search for the maximum rate)")
        } else if omb.consumer_backlog_size_gb > 0.0 {
            Some("consumerBacklogSizeGB (the backlog build and drain)")
        } else {
            None
        };
        if let Some(what) = unsupported {
            return Err(FieldError::new(
                "omb",
                format!(
                    "`{}` asks for {what}, which only a run of the workload file itself does: \
                     `streamsim run {}`",
                    path.display(),
                    path.display()
                ),
            ));
        }
        self.rate = omb.spec.rate.clone();
        self.keys = omb.spec.keys.clone();
        self.size = omb.spec.size.clone();
        self.omb_pending = false;
        Ok(Some(omb))
    }
}
