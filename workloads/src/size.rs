//! Event sizes in bytes.

use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{join, positive, FieldError};
use crate::rng::{below, std_normal};

/// How large each event is, tagged by `kind`. The default is a fixed 1024 bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum SizeSpec {
    /// Every event the same size. Draws no randomness.
    ///
    /// ```toml
    /// [workload]
    /// rate = { kind = "constant", events_per_s = 1000.0 }
    /// size = { kind = "fixed", bytes = 1024 }
    /// ```
    Fixed {
        /// Size in bytes, >= 1.
        bytes: u32,
    },
    /// Uniform over `[min, max]` bytes, both included.
    ///
    /// ```toml
    /// [workload]
    /// rate = { kind = "constant", events_per_s = 1000.0 }
    /// size = { kind = "uniform", min = 100, max = 2000 }
    /// ```
    Uniform {
        /// Smallest size, >= 1.
        min: u32,
        /// Largest size, >= `min`.
        max: u32,
    },
    /// Log-normal with the given median and shape `sigma` (of the underlying
    /// normal), rounded to whole bytes and clamped to `[1, max_bytes]`.
    ///
    /// ```toml
    /// [workload]
    /// rate = { kind = "constant", events_per_s = 1000.0 }
    /// size = { kind = "lognormal", median_bytes = 800.0, sigma = 0.6, max_bytes = 1_048_576 }
    /// ```
    Lognormal {
        /// Median size in bytes, > 0.
        median_bytes: f64,
        /// Spread, >= 0 (0 makes every event the median).
        sigma: f64,
        /// Largest size, >= 1; larger draws are clamped to it.
        max_bytes: u32,
    },
}

impl Default for SizeSpec {
    fn default() -> SizeSpec {
        SizeSpec::Fixed { bytes: 1024 }
    }
}

impl SizeSpec {
    /// Checks ranges; `path` is this table's dotted path (`"size"`).
    pub fn validate(&self, path: &str) -> Result<(), FieldError> {
        match *self {
            SizeSpec::Fixed { bytes } => {
                if bytes == 0 {
                    return Err(FieldError::new(join(path, "bytes"), "must be >= 1"));
                }
            }
            SizeSpec::Uniform { min, max } => {
                if min == 0 {
                    return Err(FieldError::new(join(path, "min"), "must be >= 1"));
                }
                if min > max {
                    return Err(FieldError::new(
                        join(path, "min"),
                        format!("must be <= max ({max}), got {min}"),
                    ));
                }
            }
            SizeSpec::Lognormal {
                median_bytes,
                sigma,
                max_bytes,
            } => {
                positive(path, "median_bytes", median_bytes)?;
                if !sigma.is_finite() || sigma < 0.0 {
                    return Err(FieldError::new(
                        join(path, "sigma"),
                        format!("must be a finite number >= 0, got {sigma}"),
                    ));
                }
                if max_bytes == 0 {
                    return Err(FieldError::new(join(path, "max_bytes"), "must be >= 1"));
                }
            }
        }
        Ok(())
    }

    /// Mean size in bytes, for sizing (for a log-normal, the unclamped mean capped at `max_bytes`).
    pub fn mean_bytes(&self) -> f64 {
        match *self {
            SizeSpec::Fixed { bytes } => f64::from(bytes),
            SizeSpec::Uniform { min, max } => 0.5 * (f64::from(min) + f64::from(max)),
            SizeSpec::Lognormal {
                median_bytes,
                sigma,
                max_bytes,
            } => (median_bytes * libm::exp(0.5 * sigma * sigma)).min(f64::from(max_bytes)),
        }
    }

    #[inline]
    pub(crate) fn sample(&self, rng: &mut ChaCha8Rng) -> u32 {
        match *self {
            SizeSpec::Fixed { bytes } => bytes,
            SizeSpec::Uniform { min, max } => min + below(rng, u64::from(max - min) + 1) as u32,
            SizeSpec::Lognormal {
                median_bytes,
                sigma,
                max_bytes,
            } => {
                if sigma == 0.0 {
                    return (median_bytes.round() as u32).clamp(1, max_bytes);
                }
                let x = median_bytes * libm::exp(sigma * std_normal(rng));
                (x.round().min(f64::from(max_bytes)) as u32).max(1)
            }
        }
    }
}
