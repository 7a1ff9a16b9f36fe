//! Compiled rate profiles: the rate and its exact integral at any virtual time.
//!
//! Clients place arrivals by the cumulative count (the integral of the rate), so
//! every profile must give that integral exactly, not by stepping the rate.

use std::path::Path;

use crate::diurnal::Diurnal;
use crate::error::{join, FieldError};
use crate::rate::{Interpolation, RateSpec};
use crate::rate_csv::load_series;

/// A profile ready to evaluate. Times are seconds of virtual time.
#[derive(Debug, Clone)]
pub(crate) enum Profile {
    Constant(f64),
    Ramp { from: f64, to: f64, start: f64, end: f64 },
    Piecewise(Piecewise),
    Diurnal(Box<Diurnal>),
    Sum(Vec<Profile>),
    Spikes(Box<Spikes>),
}

impl Profile {
    /// Compiles `spec` (already validated); `path` names it in errors.
    pub(crate) fn compile(spec: &RateSpec, path: &str, base_dir: &Path) -> Result<Profile, FieldError> {
        Ok(match spec {
            RateSpec::Constant { events_per_s } => Profile::Constant(*events_per_s),
            RateSpec::Ramp {
                from_per_s,
                to_per_s,
                start_s,
                end_s,
            } => Profile::Ramp {
                from: *from_per_s,
                to: *to_per_s,
                start: *start_s,
                end: *end_s,
            },
            RateSpec::Step { steps } => Profile::Piecewise(Piecewise::new(
                steps.iter().map(|s| s.at_s).collect(),
                steps.iter().map(|s| s.events_per_s).collect(),
                Interpolation::Step,
                0.0,
            )),
            RateSpec::Diurnal {
                events_per_day,
                peak_factor,
                peak_hour,
                trough_factor,
                start_hour,
                day_s,
            } => {
                let d = Diurnal::new(*events_per_day, *peak_factor, *peak_hour, *trough_factor, *start_hour);
                Profile::Diurnal(Box::new(match day_s {
                    Some(day_s) => d.compressed_to(*day_s),
                    None => d,
                }))
            }
            RateSpec::Csv {
                path: file,
                column,
                interpolation,
            } => {
                let file = if file.is_absolute() {
                    file.clone()
                } else {
                    base_dir.join(file)
                };
                let column = column.as_deref().unwrap_or("events_per_s");
                let (t, v) = load_series(&file, column, &join(path, "path"))?;
                let before = v[0];
                Profile::Piecewise(Piecewise::new(t, v, *interpolation, before))
            }
            RateSpec::Sum { profiles } => Profile::Sum(
                profiles
                    .iter()
                    .enumerate()
                    .map(|(i, p)| Profile::compile(p, &join(path, &format!("profiles[{i}]")), base_dir))
                    .collect::<Result<_, _>>()?,
            ),
            RateSpec::WithSpikes { base, spikes } => {
                let base = Profile::compile(base, &join(path, "base"), base_dir)?;
                let windows: Vec<(f64, f64, f64)> = spikes
                    .iter()
                    .map(|s| (s.at_s, s.at_s + s.duration_s, s.factor))
                    .collect();
                Profile::Spikes(Box::new(Spikes::new(base, &windows)))
            }
        })
    }

    /// Events per second at `t` seconds.
    pub(crate) fn rate(&self, t: f64) -> f64 {
        match self {
            Profile::Constant(r) => *r,
            Profile::Ramp { from, to, start, end } => {
                if t < *start {
                    *from
                } else if t >= *end {
                    *to
                } else {
                    from + (to - from) * (t - start) / (end - start)
                }
            }
            Profile::Piecewise(p) => p.rate(t),
            Profile::Diurnal(d) => d.rate(t),
            Profile::Sum(ps) => ps.iter().map(|p| p.rate(t)).sum(),
            Profile::Spikes(s) => s.rate(t),
        }
    }

    /// Events over `[0, t)` seconds.
    pub(crate) fn integral(&self, t: f64) -> f64 {
        if t <= 0.0 {
            return 0.0;
        }
        match self {
            Profile::Constant(r) => r * t,
            Profile::Ramp { from, to, start, end } => {
                if t <= *start {
                    return from * t;
                }
                let mut acc = from * start;
                let ramp_end = t.min(*end);
                if ramp_end > *start {
                    let d = ramp_end - start;
                    let slope = (to - from) / (end - start);
                    acc += from * d + 0.5 * slope * d * d;
                }
                if t > *end {
                    acc += to * (t - end);
                }
                acc
            }
            Profile::Piecewise(p) => p.integral(t),
            Profile::Diurnal(d) => d.integral(t),
            Profile::Sum(ps) => ps.iter().map(|p| p.integral(t)).sum(),
            Profile::Spikes(s) => s.integral(t),
        }
    }
}

/// A series of knots with step or linear interpolation, held constant outside.
#[derive(Debug, Clone)]
pub(crate) struct Piecewise {
    t: Vec<f64>,
    v: Vec<f64>,
    mode: Interpolation,
    /// Rate before the first knot.
    before: f64,
    /// Integral from 0 to each knot.
    cum: Vec<f64>,
}

impl Piecewise {
    fn new(t: Vec<f64>, v: Vec<f64>, mode: Interpolation, before: f64) -> Piecewise {
        let mut p = Piecewise {
            cum: Vec::with_capacity(t.len()),
            t,
            v,
            mode,
            before,
        };
        let mut acc = p.before * p.t[0];
        p.cum.push(acc);
        for i in 0..p.t.len() - 1 {
            acc += p.segment(i, p.t[i + 1]);
            p.cum.push(acc);
        }
        p
    }

    /// Integral from knot `i` to `t` (with `t` not past knot `i + 1`).
    fn segment(&self, i: usize, t: f64) -> f64 {
        let d = t - self.t[i];
        match (self.mode, self.t.get(i + 1)) {
            (Interpolation::Linear, Some(&t1)) => {
                let slope = (self.v[i + 1] - self.v[i]) / (t1 - self.t[i]);
                self.v[i] * d + 0.5 * slope * d * d
            }
            _ => self.v[i] * d,
        }
    }

    /// Index of the last knot at or before `t`, if any.
    fn knot(&self, t: f64) -> Option<usize> {
        self.t.partition_point(|&k| k <= t).checked_sub(1)
    }

    fn rate(&self, t: f64) -> f64 {
        match self.knot(t) {
            None => self.before,
            Some(i) => match (self.mode, self.t.get(i + 1)) {
                (Interpolation::Linear, Some(&t1)) => {
                    self.v[i] + (self.v[i + 1] - self.v[i]) * (t - self.t[i]) / (t1 - self.t[i])
                }
                _ => self.v[i],
            },
        }
    }

    fn integral(&self, t: f64) -> f64 {
        match self.knot(t) {
            None => self.before * t,
            Some(i) => self.cum[i] + self.segment(i, t),
        }
    }
}

/// A base profile times a piecewise-constant multiplier.
#[derive(Debug, Clone)]
pub(crate) struct Spikes {
    base: Profile,
    /// Sorted distinct window edges; the multiplier is 1 outside `[b[0], b[last])`.
    bounds: Vec<f64>,
    /// Multiplier on `[bounds[j], bounds[j + 1])`.
    mult: Vec<f64>,
    /// Base integral at each edge.
    base_at: Vec<f64>,
    /// Extra events (over the base) before each edge.
    excess: Vec<f64>,
}

impl Spikes {
    fn new(base: Profile, windows: &[(f64, f64, f64)]) -> Spikes {
        let mut bounds: Vec<f64> = windows.iter().flat_map(|w| [w.0, w.1]).collect();
        bounds.sort_by(f64::total_cmp);
        bounds.dedup();
        let mult: Vec<f64> = bounds
            .windows(2)
            .map(|seg| {
                let mid = 0.5 * (seg[0] + seg[1]);
                windows
                    .iter()
                    .filter(|w| w.0 <= mid && mid < w.1)
                    .map(|w| w.2)
                    .product()
            })
            .collect();
        let base_at: Vec<f64> = bounds.iter().map(|&b| base.integral(b)).collect();
        let mut excess = Vec::with_capacity(bounds.len());
        let mut acc = 0.0;
        for j in 0..bounds.len() {
            excess.push(acc);
            if j < mult.len() {
                acc += (mult[j] - 1.0) * (base_at[j + 1] - base_at[j]);
            }
        }
        Spikes {
            base,
            bounds,
            mult,
            base_at,
            excess,
        }
    }

    fn segment(&self, t: f64) -> Option<usize> {
        self.bounds.partition_point(|&b| b <= t).checked_sub(1)
    }

    fn rate(&self, t: f64) -> f64 {
        let m = match self.segment(t) {
            Some(j) if j < self.mult.len() => self.mult[j],
            _ => 1.0,
        };
        m * self.base.rate(t)
    }

    fn integral(&self, t: f64) -> f64 {
        let b = self.base.integral(t);
        match self.segment(t) {
            None => b,
            Some(j) if j < self.mult.len() => b + self.excess[j] + (self.mult[j] - 1.0) * (b - self.base_at[j]),
            Some(j) => b + self.excess[j],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rate::Spike;

    fn check_consistent(p: &Profile, horizon: f64) {
        // The integral's slope must be the rate, away from discontinuities.
        let n = 997;
        for i in 1..n {
            let t = horizon * i as f64 / n as f64;
            let h = 1e-3;
            let num = (p.integral(t + h) - p.integral(t - h)) / (2.0 * h);
            let r = p.rate(t);
            let jump = (p.rate(t + h) - p.rate(t - h)).abs() > 1e-6 * r.abs().max(1.0);
            if !jump {
                assert!((num - r).abs() < 1e-4 * r.abs().max(1.0), "t={t}: {num} vs {r}");
            }
        }
    }

    #[test]
    fn every_kind_integrates_its_rate() {
        let dir = Path::new(".");
        let specs = [
            RateSpec::Constant { events_per_s: 7.5 },
            RateSpec::Ramp {
                from_per_s: 10.0,
                to_per_s: 110.0,
                start_s: 5.0,
                end_s: 25.0,
            },
            RateSpec::Step {
                steps: vec![
                    crate::rate::RateStep {
                        at_s: 3.0,
                        events_per_s: 4.0,
                    },
                    crate::rate::RateStep {
                        at_s: 9.0,
                        events_per_s: 1.0,
                    },
                ],
            },
            RateSpec::WithSpikes {
                base: Box::new(RateSpec::Constant { events_per_s: 100.0 }),
                spikes: vec![
                    Spike {
                        at_s: 5.0,
                        duration_s: 10.0,
                        factor: 3.0,
                    },
                    Spike {
                        at_s: 10.0,
                        duration_s: 10.0,
                        factor: 0.5,
                    },
                ],
            },
        ];
        for s in &specs {
            let p = Profile::compile(s, "rate", dir).unwrap();
            check_consistent(&p, 40.0);
        }
    }

    #[test]
    fn spikes_multiply_where_they_overlap() {
        let base = RateSpec::Constant { events_per_s: 100.0 };
        let spec = RateSpec::WithSpikes {
            base: Box::new(base),
            spikes: vec![
                Spike {
                    at_s: 5.0,
                    duration_s: 10.0,
                    factor: 3.0,
                },
                Spike {
                    at_s: 10.0,
                    duration_s: 10.0,
                    factor: 0.5,
                },
            ],
        };
        let p = Profile::compile(&spec, "rate", Path::new(".")).unwrap();
        assert_eq!(p.rate(4.0), 100.0);
        assert_eq!(p.rate(7.0), 300.0);
        assert_eq!(p.rate(12.0), 150.0);
        assert_eq!(p.rate(17.0), 50.0);
        assert_eq!(p.rate(21.0), 100.0);
        // 5 s at 100, 5 s at 300, 5 s at 150, 5 s at 50, 10 s at 100.
        let want = 500.0 + 1500.0 + 750.0 + 250.0 + 1000.0;
        assert!((p.integral(30.0) - want).abs() < 1e-9);
    }
}
