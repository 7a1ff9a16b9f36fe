//! The `[workload]` table of a scenario file.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{fraction, join, FieldError};
use crate::event_time::EventTimeSpec;
use crate::keys::KeySpec;
use crate::profile::Profile;
use crate::rate::RateSpec;
use crate::size::SizeSpec;

/// The `[workload]` table of a scenario file: what the clients send, and when.
///
/// Only `rate` is required, unless `omb` names an OpenMessaging Benchmark
/// workload file, which then sets `rate`, `keys` and `size` (see
/// [`WorkloadSpec::resolve_omb`]). A full example:
///
/// ```toml
/// [workload]
/// rate = { kind = "diurnal", events_per_day = 1_000_000_000.0, peak_factor = 2.0 }
/// keys = { kind = "zipf", count = 1_000_000, exponent = 1.0 }
/// size = { kind = "lognormal", median_bytes = 700.0, sigma = 0.5, max_bytes = 65536 }
/// malformed_fraction = 0.001
/// duplicate_fraction = 0.01
/// schema_versions = [{ version = 1, weight = 0.9 }, { version = 2, weight = 0.1 }]
///
/// [workload.event_time]
/// late_fraction = 0.02
/// late_mean_ms = 5000.0
/// max_lateness_ms = 120000
/// ```
///
/// Replaying an OpenMessaging Benchmark workload instead:
///
/// ```toml
/// [workload]
/// omb = "omb/1-topic-16-partitions-1kb.yaml"   # relative to the scenario file
/// malformed_fraction = 0.001                     # the other fields still apply
/// ```
// Deserialised through `SpecToml` so that `rate` may be left out when `omb`
// is given, and refused next to it, with one error either way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "SpecToml", into = "SpecToml")]
pub struct WorkloadSpec {
    /// An OpenMessaging Benchmark workload file (YAML) that sets `rate`, `keys`
    /// and `size`; a relative path is resolved against the scenario file's
    /// folder. `None` for a workload written out in the table.
    pub omb: Option<PathBuf>,
    /// Cluster-wide events per second over virtual time.
    pub rate: RateSpec,
    /// Key distribution; default uniform over 10,000 keys.
    #[serde(default)]
    pub keys: KeySpec,
    /// Event sizes; default fixed 1024 bytes.
    #[serde(default)]
    pub size: SizeSpec,
    /// Lateness and disorder of event time; default none.
    #[serde(default)]
    pub event_time: EventTimeSpec,
    /// Fraction of events that fail gateway validation, in [0, 1].
    #[serde(default)]
    pub malformed_fraction: f64,
    /// Fraction of events a client sends twice with the same id, in [0, 1].
    #[serde(default)]
    pub duplicate_fraction: f64,
    /// Mix of schema versions; empty means every event is version 1.
    pub schema_versions: Vec<SchemaVersionWeight>,
    /// `omb` is set but its file is not read yet: `rate`, `keys` and `size`
    /// are placeholders until [`WorkloadSpec::resolve_omb`] runs.
    pub(crate) omb_pending: bool,
}

/// The `[workload]` table as written: `rate`, `keys` and `size` are optional
/// here because an OMB file may supply them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SpecToml {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    omb: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rate: Option<RateSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    keys: Option<KeySpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    size: Option<SizeSpec>,
    #[serde(default)]
    event_time: EventTimeSpec,
    #[serde(default)]
    malformed_fraction: f64,
    #[serde(default)]
    duplicate_fraction: f64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    schema_versions: Vec<SchemaVersionWeight>,
}

impl TryFrom<SpecToml> for WorkloadSpec {
    type Error = String;

    fn try_from(t: SpecToml) -> Result<WorkloadSpec, String> {
        let omb_pending = t.omb.is_some();
        if omb_pending {
            let given: Vec<&str> = [
                ("rate", t.rate.is_some()),
                ("keys", t.keys.is_some()),
                ("size", t.size.is_some()),
            ]
            .into_iter()
            .filter_map(|(name, set)| set.then_some(name))
            .collect();
            if !given.is_empty() {
                return Err(format!(
                    "`{}` cannot be set together with `omb`: the OpenMessaging Benchmark file sets the rate \
                     (producerRate), the keys (keyDistributor) and the size (messageSize)",
                    given.join("`, `")
                ));
            }
        }
        let rate = match t.rate {
            Some(r) => r,
            // Placeholder until the OMB file is read; `omb_pending` marks it.
            None if omb_pending => RateSpec::Constant { events_per_s: 0.0 },
            // Worded as serde words it, so error locators pick out the field.
            None => return Err("missing field `rate`".to_string()),
        };
        Ok(WorkloadSpec {
            omb: t.omb,
            rate,
            keys: t.keys.unwrap_or_default(),
            size: t.size.unwrap_or_default(),
            event_time: t.event_time,
            malformed_fraction: t.malformed_fraction,
            duplicate_fraction: t.duplicate_fraction,
            schema_versions: t.schema_versions,
            omb_pending,
        })
    }
}

impl From<WorkloadSpec> for SpecToml {
    fn from(s: WorkloadSpec) -> SpecToml {
        // A spec imported from OMB is written back as its file reference, so
        // that it reads back as the same spec.
        let own = s.omb.is_none();
        SpecToml {
            omb: s.omb,
            rate: own.then_some(s.rate),
            keys: own.then_some(s.keys),
            size: own.then_some(s.size),
            event_time: s.event_time,
            malformed_fraction: s.malformed_fraction,
            duplicate_fraction: s.duplicate_fraction,
            schema_versions: s.schema_versions,
        }
    }
}

/// One schema version and its relative weight in the mix.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaVersionWeight {
    /// The version number carried by the event.
    pub version: u16,
    /// Relative weight, >= 0; weights need not sum to 1.
    pub weight: f64,
}

impl WorkloadSpec {
    /// A constant-rate workload with every other setting at its default.
    pub fn constant(events_per_s: f64) -> WorkloadSpec {
        WorkloadSpec {
            omb: None,
            rate: RateSpec::Constant { events_per_s },
            keys: KeySpec::default(),
            size: SizeSpec::default(),
            event_time: EventTimeSpec::default(),
            malformed_fraction: 0.0,
            duplicate_fraction: 0.0,
            schema_versions: Vec::new(),
            omb_pending: false,
        }
    }

    /// True while `omb` names a file that has not been read yet, so `rate`,
    /// `keys` and `size` are placeholders.
    pub fn is_omb_pending(&self) -> bool {
        self.omb_pending
    }

    /// The spec with its OMB file read, if it names one that is not read yet.
    pub(crate) fn resolved(&self, base_dir: &Path) -> Result<std::borrow::Cow<'_, WorkloadSpec>, FieldError> {
        if !self.omb_pending {
            return Ok(std::borrow::Cow::Borrowed(self));
        }
        let mut s = self.clone();
        s.resolve_omb(base_dir)?;
        Ok(std::borrow::Cow::Owned(s))
    }

    /// Checks ranges and consistency; returns the first problem with its field path.
    /// While the OMB file is unread (see [`WorkloadSpec::is_omb_pending`]), the
    /// fields it will set are not checked: reading it checks them.
    pub fn validate(&self) -> Result<(), FieldError> {
        if !self.omb_pending {
            self.rate.validate("rate")?;
            self.keys.validate("keys")?;
            self.size.validate("size")?;
        }
        self.event_time.validate("event_time")?;
        fraction("", "malformed_fraction", self.malformed_fraction)?;
        fraction("", "duplicate_fraction", self.duplicate_fraction)?;
        let mut total = 0.0;
        for (i, sv) in self.schema_versions.iter().enumerate() {
            let p = format!("schema_versions[{i}]");
            if !sv.weight.is_finite() || sv.weight < 0.0 {
                return Err(FieldError::new(
                    join(&p, "weight"),
                    format!("must be a finite number >= 0, got {}", sv.weight),
                ));
            }
            if self.schema_versions[..i].iter().any(|o| o.version == sv.version) {
                return Err(FieldError::new(
                    join(&p, "version"),
                    format!("version {} is listed twice", sv.version),
                ));
            }
            total += sv.weight;
        }
        if !self.schema_versions.is_empty() && total <= 0.0 {
            return Err(FieldError::new("schema_versions", "at least one weight must be > 0"));
        }
        Ok(())
    }

    /// Mean events per second over `[0, duration_ms)` (for sizing and progress).
    /// Reads a CSV rate series relative to `base_dir`; for `duration_ms == 0`, the
    /// rate at time 0.
    pub fn mean_rate(&self, base_dir: &Path, duration_ms: u64) -> Result<f64, FieldError> {
        let spec = self.resolved(base_dir)?;
        spec.rate.validate("rate")?;
        let p = Profile::compile(&spec.rate, "rate", base_dir)?;
        Ok(mean_of(&p, duration_ms))
    }

    /// Expected number of events over `[0, duration_ms)`.
    pub fn expected_events(&self, base_dir: &Path, duration_ms: u64) -> Result<f64, FieldError> {
        Ok(self.mean_rate(base_dir, duration_ms)? * duration_ms as f64 / 1000.0)
    }
}

pub(crate) fn mean_of(p: &Profile, duration_ms: u64) -> f64 {
    if duration_ms == 0 {
        return p.rate(0.0);
    }
    let t = duration_ms as f64 / 1000.0;
    p.integral(t) / t
}
