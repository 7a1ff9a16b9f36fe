//! Event time: how far behind its send time an event's timestamp is.

use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{fraction, join, FieldError};
use crate::rng::{exp1, unit_f64};

/// Lateness and disorder of event time relative to send time. All fields default
/// to 0: every event is stamped with its send time.
///
/// Each event is, independently, *late* with probability `late_fraction` (lag drawn
/// from an exponential of mean `late_mean_ms`, rounded to whole ms and clamped to
/// `[1, max_lateness_ms]`), else *out of order* with probability
/// `out_of_order_fraction` (lag uniform in `[1, out_of_order_max_ms]`), else on time
/// (lag 0). Late events are those a watermark should have passed; out-of-order ones
/// are the small jitter that a bounded-disorder watermark absorbs.
///
/// ```toml
/// [workload]
/// rate = { kind = "constant", events_per_s = 1000.0 }
///
/// [workload.event_time]
/// late_fraction = 0.01
/// late_mean_ms = 30000.0
/// max_lateness_ms = 600000
/// out_of_order_fraction = 0.2
/// out_of_order_max_ms = 500
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EventTimeSpec {
    /// Fraction of events that are late, in [0, 1].
    pub late_fraction: f64,
    /// Mean lateness of late events in ms (exponential), > 0 when `late_fraction` > 0.
    pub late_mean_ms: f64,
    /// Cap on lateness in ms, >= 1 when `late_fraction` > 0.
    pub max_lateness_ms: u64,
    /// Fraction of events that are slightly out of order, in [0, 1]; with
    /// `late_fraction` at most 1 in total.
    pub out_of_order_fraction: f64,
    /// Largest out-of-order lag in ms, >= 1 when `out_of_order_fraction` > 0.
    pub out_of_order_max_ms: u64,
}

impl EventTimeSpec {
    /// Checks ranges and consistency; `path` is this table's dotted path (`"event_time"`).
    pub fn validate(&self, path: &str) -> Result<(), FieldError> {
        fraction(path, "late_fraction", self.late_fraction)?;
        fraction(path, "out_of_order_fraction", self.out_of_order_fraction)?;
        if self.late_fraction + self.out_of_order_fraction > 1.0 {
            return Err(FieldError::new(
                join(path, "out_of_order_fraction"),
                format!(
                    "late_fraction + out_of_order_fraction must be <= 1, got {} + {}",
                    self.late_fraction, self.out_of_order_fraction
                ),
            ));
        }
        if self.late_fraction > 0.0 {
            if !self.late_mean_ms.is_finite() || self.late_mean_ms <= 0.0 {
                return Err(FieldError::new(
                    join(path, "late_mean_ms"),
                    format!(
                        "must be a finite number > 0 when late_fraction > 0, got {}",
                        self.late_mean_ms
                    ),
                ));
            }
            if self.max_lateness_ms == 0 {
                return Err(FieldError::new(
                    join(path, "max_lateness_ms"),
                    "must be >= 1 when late_fraction > 0",
                ));
            }
        }
        if self.out_of_order_fraction > 0.0 && self.out_of_order_max_ms == 0 {
            return Err(FieldError::new(
                join(path, "out_of_order_max_ms"),
                "must be >= 1 when out_of_order_fraction > 0",
            ));
        }
        Ok(())
    }

    /// Whether any event can have a non-zero lag.
    pub fn is_active(&self) -> bool {
        self.late_fraction > 0.0 || self.out_of_order_fraction > 0.0
    }

    /// Expected lag of a late event after rounding and clamping, in ms (for tests
    /// and for sizing allowed lateness).
    pub fn expected_late_lag_ms(&self) -> f64 {
        let (mu, cap) = (self.late_mean_ms, self.max_lateness_ms as f64);
        // E[min(X, cap)] of an exponential; rounding is close to unbiased above 1 ms.
        mu * (1.0 - libm::exp(-cap / mu))
    }

    #[inline]
    pub(crate) fn sample(&self, rng: &mut ChaCha8Rng) -> u64 {
        if !self.is_active() {
            return 0;
        }
        let u = unit_f64(rng);
        if u < self.late_fraction {
            let lag = (exp1(rng) * self.late_mean_ms).round();
            (lag.min(self.max_lateness_ms as f64) as u64).max(1)
        } else if u < self.late_fraction + self.out_of_order_fraction {
            1 + crate::rng::below(rng, self.out_of_order_max_ms)
        } else {
            0
        }
    }
}
