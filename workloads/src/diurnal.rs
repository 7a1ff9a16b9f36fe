//! The compiled 24-hour curve of [`crate::RateSpec::Diurnal`].
//!
//! The shape `trough + (peak - trough) * ((1 + cos θ) / 2)^k` has no closed-form
//! integral for a real `k`, so the cumulative count over one day is tabulated once
//! per minute and read back with cubic Hermite interpolation (values and rates at
//! both ends of the minute), which keeps the count consistent with the rate to far
//! better than one event a day.

use std::f64::consts::TAU;

const DAY_S: f64 = 86_400.0;
const KNOT_S: f64 = 60.0;
const KNOTS: usize = 1440;
/// Simpson sub-intervals per minute: enough for the narrowest peak accepted.
const SUB: usize = 16;
/// Points of the trapezoid rule used to solve for `k`: spectrally accurate for a
/// smooth periodic integrand.
const SOLVE_POINTS: usize = 4096;

#[derive(Debug, Clone)]
pub(crate) struct Diurnal {
    trough: f64,
    peak: f64,
    k: f64,
    peak_hour: f64,
    /// Seconds of a day already gone at virtual time 0.
    offset_s: f64,
    /// Events per second per unit of shape.
    scale: f64,
    events_per_day: f64,
    /// Cumulative events from midnight to each minute knot (KNOTS + 1 values).
    cum: Vec<f64>,
    /// Events a minute at each knot's rate (KNOTS + 1 values): the Hermite slopes,
    /// kept because every arrival drawn reads two, and the shape costs a `pow`.
    slope: Vec<f64>,
    /// Events from midnight to virtual time 0.
    before_start: f64,
    /// Curve seconds per virtual second: 1 for a real day, more for a day compressed into `day_s`.
    speed: f64,
}

fn mean_of_power(cs: &[f64], k: f64) -> f64 {
    cs.iter().map(|&c| libm::pow(c, k)).sum::<f64>() / cs.len() as f64
}

/// Finds `k` with mean(((1+cos)/2)^k) = target, for target in (0, 1).
fn solve_k(target: f64) -> f64 {
    if (target - 0.5).abs() < 1e-15 {
        return 1.0;
    }
    let cs: Vec<f64> = (0..SOLVE_POINTS)
        .map(|i| 0.5 * (1.0 + libm::cos(TAU * i as f64 / SOLVE_POINTS as f64)))
        .collect();
    let (mut lo, mut hi) = (1e-9f64, 1e7f64);
    for _ in 0..100 {
        let mid = libm::sqrt(lo * hi);
        if mean_of_power(&cs, mid) > target {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi / lo < 1.0 + 1e-12 {
            break;
        }
    }
    libm::sqrt(lo * hi)
}

impl Diurnal {
    pub(crate) fn new(
        events_per_day: f64,
        peak_factor: f64,
        peak_hour: f64,
        trough_factor: Option<f64>,
        start_hour: f64,
    ) -> Diurnal {
        let flat = peak_factor <= 1.0;
        let trough = if flat {
            1.0
        } else {
            trough_factor.unwrap_or((2.0 - peak_factor).max(0.0))
        };
        let k = if flat {
            1.0
        } else {
            solve_k((1.0 - trough) / (peak_factor - trough))
        };
        let mut d = Diurnal {
            trough,
            peak: if flat { 1.0 } else { peak_factor },
            k,
            peak_hour,
            offset_s: start_hour * 3600.0,
            scale: 1.0,
            events_per_day,
            cum: Vec::with_capacity(KNOTS + 1),
            slope: Vec::new(),
            before_start: 0.0,
            speed: 1.0,
        };
        // Tabulate the shape's integral, then scale so that a day holds exactly
        // `events_per_day`: the peak-over-mean ratio is untouched by the scaling.
        let h = KNOT_S / SUB as f64;
        let mut acc = 0.0;
        d.cum.push(0.0);
        for j in 0..KNOTS {
            let t0 = j as f64 * KNOT_S;
            let mut s = d.shape(t0) + d.shape(t0 + KNOT_S);
            for i in 1..SUB {
                let w = if i % 2 == 1 { 4.0 } else { 2.0 };
                s += w * d.shape(t0 + i as f64 * h);
            }
            acc += s * h / 3.0;
            d.cum.push(acc);
        }
        d.scale = if acc > 0.0 { events_per_day / acc } else { 0.0 };
        for c in &mut d.cum {
            *c *= d.scale;
        }
        d.slope = (0..=KNOTS)
            .map(|j| d.scale * d.shape(j as f64 * KNOT_S) * KNOT_S)
            .collect();
        d.before_start = d.since_midnight(d.offset_s);
        d
    }

    /// The same curve run through in `day_s` virtual seconds instead of a day: a
    /// short run that still has a morning rise, a peak and an evening fall.
    pub(crate) fn compressed_to(mut self, day_s: f64) -> Diurnal {
        self.speed = DAY_S / day_s;
        self
    }

    /// The unscaled shape at `s` seconds after midnight.
    fn shape(&self, s: f64) -> f64 {
        if self.peak == self.trough {
            return self.peak;
        }
        let hour = s / 3600.0;
        let th = TAU * (hour - self.peak_hour) / 24.0;
        let c = 0.5 * (1.0 + libm::cos(th));
        self.trough + (self.peak - self.trough) * libm::pow(c, self.k)
    }

    /// Events per second at `t_s` seconds of virtual time.
    pub(crate) fn rate(&self, t_s: f64) -> f64 {
        let s = (t_s * self.speed + self.offset_s).rem_euclid(DAY_S);
        self.speed * self.scale * self.shape(s)
    }

    /// Events from midnight of day 0 to `x` seconds after it.
    fn since_midnight(&self, x: f64) -> f64 {
        let days = libm::floor(x / DAY_S);
        let s = x - days * DAY_S;
        let j = ((s / KNOT_S) as usize).min(KNOTS - 1);
        let t0 = j as f64 * KNOT_S;
        let u = ((s - t0) / KNOT_S).clamp(0.0, 1.0);
        let (p0, p1) = (self.cum[j], self.cum[j + 1]);
        let (m0, m1) = (self.slope[j], self.slope[j + 1]);
        let (u2, u3) = (u * u, u * u * u);
        let h00 = 2.0 * u3 - 3.0 * u2 + 1.0;
        let h10 = u3 - 2.0 * u2 + u;
        let h01 = -2.0 * u3 + 3.0 * u2;
        let h11 = u3 - u2;
        days * self.events_per_day + h00 * p0 + h10 * m0 + h01 * p1 + h11 * m1
    }

    /// Events over `[0, t_s)` of virtual time.
    pub(crate) fn integral(&self, t_s: f64) -> f64 {
        self.since_midnight(t_s * self.speed + self.offset_s) - self.before_start
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn k_solver_recovers_known_means() {
        // mean(c^2) = 3/8, mean(c^3) = 5/16 for c = (1+cos)/2.
        assert!((solve_k(0.375) - 2.0).abs() < 1e-6);
        assert!((solve_k(0.3125) - 3.0).abs() < 1e-6);
        assert_eq!(solve_k(0.5), 1.0);
    }

    #[test]
    fn integral_matches_rate() {
        let d = Diurnal::new(86_400_000.0, 3.0, 14.0, None, 5.5);
        // Central difference of the integral reproduces the rate at odd times.
        for t in [12.345, 3_600.0 * 7.77, 50_000.5, 86_400.0 * 3.0 + 17.0] {
            let num = (d.integral(t + 0.5) - d.integral(t - 0.5)) / 1.0;
            let r = d.rate(t);
            assert!((num - r).abs() < 1e-3 * r.max(1.0), "t={t} num={num} rate={r}");
        }
        assert!((d.integral(86_400.0) - 86_400_000.0).abs() < 1e-3);
    }

    #[test]
    fn a_compressed_day_keeps_its_count_and_peaks_at_the_same_hour() {
        let d = Diurnal::new(40_000.0, 1.8, 12.0, Some(0.3), 0.0).compressed_to(20.0);
        assert!((d.integral(20.0) - 40_000.0).abs() < 1e-6, "{}", d.integral(20.0));
        // Noon of a 20 s day is 10 s in: 1.8 times the mean of 2000/s.
        assert!((d.rate(10.0) - 3_600.0).abs() < 1.0, "{}", d.rate(10.0));
        assert!((d.rate(0.0) - 600.0).abs() < 1.0, "{}", d.rate(0.0));
        let num = d.integral(7.5) - d.integral(6.5);
        assert!((num - d.rate(7.0)).abs() < 1e-2 * d.rate(7.0), "{num}");
    }
}
