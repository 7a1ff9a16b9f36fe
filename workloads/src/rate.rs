//! Rate profiles: how many events per second the whole cluster of clients sends,
//! as a function of virtual time. Profiles compose (`sum`, `with_spikes`).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{join, non_negative, positive, FieldError};

/// A cluster-wide rate profile in events per second over virtual time, tagged by `kind`.
///
/// Times are seconds of virtual time since the start of the run.
///
/// ```toml
/// [workload]
/// rate = { kind = "constant", events_per_s = 11574.0 }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum RateSpec {
    /// The same rate for the whole run.
    ///
    /// ```toml
    /// [workload.rate]
    /// kind = "constant"
    /// events_per_s = 11574.0  # 1 B events a day
    /// ```
    Constant {
        /// Events per second, >= 0.
        events_per_s: f64,
    },
    /// `from_per_s` until `start_s`, then linear to `to_per_s` at `end_s`, held after.
    ///
    /// ```toml
    /// [workload.rate]
    /// kind = "ramp"
    /// from_per_s = 100.0
    /// to_per_s = 50000.0
    /// start_s = 10.0
    /// end_s = 310.0
    /// ```
    Ramp {
        /// Rate before `start_s`.
        from_per_s: f64,
        /// Rate from `end_s` on.
        to_per_s: f64,
        /// Start of the ramp, seconds.
        start_s: f64,
        /// End of the ramp, seconds, >= `start_s` (equal makes a step).
        end_s: f64,
    },
    /// Piecewise-constant rate: each step holds from its `at_s` to the next one's.
    /// The rate is 0 before the first step; `at_s` must be strictly increasing.
    ///
    /// ```toml
    /// [workload.rate]
    /// kind = "step"
    /// steps = [
    ///   { at_s = 0.0, events_per_s = 1000.0 },
    ///   { at_s = 60.0, events_per_s = 5000.0 },
    ///   { at_s = 120.0, events_per_s = 1000.0 },
    /// ]
    /// ```
    Step {
        /// The steps, by increasing `at_s`.
        steps: Vec<RateStep>,
    },
    /// A smooth 24-hour curve. Its mean over any whole day is `events_per_day / 86400`
    /// events per second, and its maximum is `peak_factor` times that mean, reached
    /// at `peak_hour`. The minimum, reached twelve hours from the peak, is
    /// `trough_factor` times the mean.
    ///
    /// The shape is `trough + (peak - trough) * ((1 + cos θ) / 2)^k`, θ the angle from
    /// the peak hour, with `k` chosen so the mean comes out exact. With the default
    /// trough (`2 - peak_factor`, floored at 0), a `peak_factor` up to 2 gives a plain
    /// raised cosine (`k = 1`); above 2 the trough is 0 and the peak narrows.
    ///
    /// ```toml
    /// [workload.rate]
    /// kind = "diurnal"
    /// events_per_day = 300_000_000.0
    /// peak_factor = 1.8
    /// peak_hour = 14.0      # default 14
    /// start_hour = 9.0      # hour of day at virtual time 0, default 0
    /// # day_s = 20.0        # the whole day in 20 virtual seconds, default a real day
    /// # trough_factor = 0.3 # default: 2 - peak_factor, floored at 0
    /// ```
    Diurnal {
        /// Events over one whole day, >= 0.
        events_per_day: f64,
        /// Peak rate over mean rate, in [1, 50].
        peak_factor: f64,
        /// Hour of day (in [0, 24)) of the peak.
        #[serde(default = "default_peak_hour")]
        peak_hour: f64,
        /// Trough rate over mean rate, in [0, 1); ignored when `peak_factor` is 1.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        trough_factor: Option<f64>,
        /// Hour of day (in [0, 24)) at virtual time 0.
        #[serde(default)]
        start_hour: f64,
        /// Run the whole day's curve in this many virtual seconds instead of 86400
        /// (`events_per_day` then counts one such short day): a quick run that
        /// still rises to a peak and falls back. Unset: a real day.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        day_s: Option<f64>,
    },
    /// A rate series read from a CSV file with a header row: a `t_s` column (seconds,
    /// strictly increasing, >= 0) and a rate column (`events_per_s` unless `column`
    /// names another). Lines starting with `#` are comments. The rate is held at the
    /// first value before the first row and at the last value after the last row.
    /// A relative `path` is resolved against the scenario file's folder.
    ///
    /// ```toml
    /// [workload.rate]
    /// kind = "csv"
    /// path = "rates/black-friday.csv"
    /// column = "events_per_s"     # default
    /// interpolation = "linear"    # or "step"; default "linear"
    /// ```
    Csv {
        /// The CSV file, relative to the scenario file's folder unless absolute.
        path: PathBuf,
        /// Name of the rate column; default `events_per_s`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        column: Option<String>,
        /// How the rate moves between rows.
        #[serde(default)]
        interpolation: Interpolation,
    },
    /// The sum of several profiles, e.g. a diurnal base plus a constant background.
    ///
    /// ```toml
    /// [workload.rate]
    /// kind = "sum"
    /// profiles = [
    ///   { kind = "diurnal", events_per_day = 50_000_000.0, peak_factor = 2.0 },
    ///   { kind = "constant", events_per_s = 100.0 },
    /// ]
    /// ```
    Sum {
        /// The profiles to add, at least one.
        profiles: Vec<RateSpec>,
    },
    /// A base profile multiplied by `factor` during each spike window
    /// `[at_s, at_s + duration_s)`. Overlapping spikes multiply. A factor below 1 is a
    /// dip (0 silences the clients).
    ///
    /// ```toml
    /// [workload.rate]
    /// kind = "with_spikes"
    /// base = { kind = "constant", events_per_s = 1000.0 }
    /// spikes = [
    ///   { at_s = 600.0, duration_s = 60.0, factor = 10.0 },
    ///   { at_s = 1800.0, duration_s = 30.0, factor = 0.0 },
    /// ]
    /// ```
    WithSpikes {
        /// The profile to modulate.
        base: Box<RateSpec>,
        /// The spike windows.
        spikes: Vec<Spike>,
    },
}

fn default_peak_hour() -> f64 {
    14.0
}

/// One step of a [`RateSpec::Step`] profile.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateStep {
    /// When this step starts, seconds.
    pub at_s: f64,
    /// Rate from `at_s` until the next step.
    pub events_per_s: f64,
}

/// One window of a [`RateSpec::WithSpikes`] profile.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spike {
    /// Start of the window, seconds.
    pub at_s: f64,
    /// Length of the window, seconds, > 0.
    pub duration_s: f64,
    /// Multiplier of the base rate inside the window, >= 0.
    pub factor: f64,
}

/// How a [`RateSpec::Csv`] series moves between rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Interpolation {
    /// Straight line between consecutive rows.
    #[default]
    Linear,
    /// Each row's rate holds until the next row.
    Step,
}

/// Largest accepted diurnal peak factor: beyond it the day is one burst, better
/// written as spikes.
pub const MAX_PEAK_FACTOR: f64 = 50.0;

/// Smallest `(1 - trough) / (peak - trough)` a diurnal curve may need (see `trough_factor`).
const MIN_PEAK_SHARE: f64 = 0.01;

impl RateSpec {
    /// Checks ranges and consistency; `path` is this profile's own dotted path.
    pub fn validate(&self, path: &str) -> Result<(), FieldError> {
        match self {
            RateSpec::Constant { events_per_s } => non_negative(path, "events_per_s", *events_per_s),
            RateSpec::Ramp {
                from_per_s,
                to_per_s,
                start_s,
                end_s,
            } => {
                non_negative(path, "from_per_s", *from_per_s)?;
                non_negative(path, "to_per_s", *to_per_s)?;
                non_negative(path, "start_s", *start_s)?;
                non_negative(path, "end_s", *end_s)?;
                if end_s < start_s {
                    return Err(FieldError::new(
                        join(path, "end_s"),
                        format!("must be >= start_s ({start_s}), got {end_s}"),
                    ));
                }
                Ok(())
            }
            RateSpec::Step { steps } => {
                if steps.is_empty() {
                    return Err(FieldError::new(join(path, "steps"), "needs at least one step"));
                }
                let mut prev: Option<f64> = None;
                for (i, s) in steps.iter().enumerate() {
                    let p = join(path, &format!("steps[{i}]"));
                    non_negative(&p, "at_s", s.at_s)?;
                    non_negative(&p, "events_per_s", s.events_per_s)?;
                    if let Some(prev) = prev {
                        if s.at_s <= prev {
                            return Err(FieldError::new(
                                join(&p, "at_s"),
                                format!("must be greater than the previous step's at_s ({prev}), got {}", s.at_s),
                            ));
                        }
                    }
                    prev = Some(s.at_s);
                }
                Ok(())
            }
            RateSpec::Diurnal {
                events_per_day,
                peak_factor,
                peak_hour,
                trough_factor,
                start_hour,
                day_s,
            } => {
                non_negative(path, "events_per_day", *events_per_day)?;
                if let Some(d) = day_s {
                    if !(d.is_finite() && *d > 0.0) {
                        return Err(FieldError::new(
                            join(path, "day_s"),
                            format!("must be a positive number of seconds, got {d}"),
                        ));
                    }
                }
                if !(1.0..=MAX_PEAK_FACTOR).contains(peak_factor) {
                    return Err(FieldError::new(
                        join(path, "peak_factor"),
                        format!("must be in [1, {MAX_PEAK_FACTOR}] (peak rate over mean rate), got {peak_factor}"),
                    ));
                }
                for (name, h) in [("peak_hour", peak_hour), ("start_hour", start_hour)] {
                    if !(0.0..24.0).contains(h) {
                        return Err(FieldError::new(
                            join(path, name),
                            format!("must be an hour of day in [0, 24), got {h}"),
                        ));
                    }
                }
                if let Some(tf) = trough_factor {
                    if !(0.0..1.0).contains(tf) {
                        return Err(FieldError::new(
                            join(path, "trough_factor"),
                            format!("must be in [0, 1) (trough rate over mean rate), got {tf}"),
                        ));
                    }
                    // The share of the peak's excess that the day's mean needs; below
                    // this the peak would be only seconds wide.
                    if *peak_factor > 1.0 && (1.0 - tf) / (peak_factor - tf) < MIN_PEAK_SHARE {
                        return Err(FieldError::new(
                            join(path, "trough_factor"),
                            format!(
                                "with peak_factor {peak_factor} the peak would be too narrow: \
                                 (1 - trough_factor) / (peak_factor - trough_factor) must be >= {MIN_PEAK_SHARE}"
                            ),
                        ));
                    }
                }
                Ok(())
            }
            RateSpec::Csv { path: file, column, .. } => {
                if file.as_os_str().is_empty() {
                    return Err(FieldError::new(join(path, "path"), "must name a CSV file"));
                }
                if column.as_deref() == Some("") {
                    return Err(FieldError::new(join(path, "column"), "must not be empty"));
                }
                Ok(())
            }
            RateSpec::Sum { profiles } => {
                if profiles.is_empty() {
                    return Err(FieldError::new(join(path, "profiles"), "needs at least one profile"));
                }
                for (i, p) in profiles.iter().enumerate() {
                    p.validate(&join(path, &format!("profiles[{i}]")))?;
                }
                Ok(())
            }
            RateSpec::WithSpikes { base, spikes } => {
                base.validate(&join(path, "base"))?;
                for (i, s) in spikes.iter().enumerate() {
                    let p = join(path, &format!("spikes[{i}]"));
                    non_negative(&p, "at_s", s.at_s)?;
                    positive(&p, "duration_s", s.duration_s)?;
                    non_negative(&p, "factor", s.factor)?;
                }
                Ok(())
            }
        }
    }
}
