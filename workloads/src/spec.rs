//! The `[workload]` table of a scenario file.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{fraction, join, FieldError};
use crate::event_time::EventTimeSpec;
use crate::keys::KeySpec;
use crate::profile::Profile;
use crate::rate::RateSpec;
use crate::size::SizeSpec;

/// The `[workload]` table of a scenario file: what the clients send, and when.
///
/// Only `rate` is required. A full example:
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadSpec {
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
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schema_versions: Vec<SchemaVersionWeight>,
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
            rate: RateSpec::Constant { events_per_s },
            keys: KeySpec::default(),
            size: SizeSpec::default(),
            event_time: EventTimeSpec::default(),
            malformed_fraction: 0.0,
            duplicate_fraction: 0.0,
            schema_versions: Vec::new(),
        }
    }

    /// Checks ranges and consistency; returns the first problem with its field path.
    pub fn validate(&self) -> Result<(), FieldError> {
        self.rate.validate("rate")?;
        self.keys.validate("keys")?;
        self.size.validate("size")?;
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
        self.rate.validate("rate")?;
        let p = Profile::compile(&self.rate, "rate", base_dir)?;
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
