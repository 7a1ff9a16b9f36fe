//! The statistics of `streamsim diff`: a paired bootstrap confidence
//! interval on the difference of means across seeds, and the gates of
//! `--fail-if-worse`.

use std::fmt;

/// Resamples drawn for each interval: enough for a stable 95 % percentile
/// interval, few enough to be instant.
pub const RESAMPLES: usize = 4000;

/// A confidence interval on a difference of means.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Interval {
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
}

/// SplitMix64: a few lines, well mixed, and fixed forever, so an interval
/// never changes under a dependency upgrade.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (Lemire's multiply-shift; the bias at these `n`
    /// is far below what a 95 % interval can show).
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next()) * n as u128) >> 64) as usize
    }
}

/// Mean of `v` (0 for none).
pub fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// The 95 % percentile bootstrap interval of the mean of `diffs`, the
/// per-seed differences B − A. Resampling pairs (one seed's A and B
/// together) keeps what the seed fixes in both runs, the workload and the
/// fault draw, out of the noise. `seed` fixes the resamples, so the same
/// inputs always give the same interval.
pub fn paired_bootstrap(diffs: &[f64], seed: u64) -> Option<Interval> {
    if diffs.len() < 2 {
        return None;
    }
    let mut rng = SplitMix(seed);
    let n = diffs.len();
    let mut means: Vec<f64> = (0..RESAMPLES)
        .map(|_| (0..n).map(|_| diffs[rng.below(n)]).sum::<f64>() / n as f64)
        .collect();
    means.sort_by(f64::total_cmp);
    let at = |q: f64| means[((q * (RESAMPLES - 1) as f64).round() as usize).min(RESAMPLES - 1)];
    Some(Interval {
        low: at(0.025),
        high: at(0.975),
    })
}

/// Which way a metric gets worse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Worse {
    /// Latency, lag: more is worse.
    Higher,
    /// Throughput: less is worse.
    Lower,
}

/// One `--fail-if-worse METRIC=PCT%`.
#[derive(Clone, Debug, PartialEq)]
pub struct Gate {
    /// Metric key, as in the table (`ack_p99`, `e2e_p99`, `throughput`, ...).
    pub metric: String,
    /// Largest change for the worse that passes, in percent of A's mean.
    pub percent: f64,
}

impl fmt::Display for Gate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}%", self.metric, self.percent)
    }
}

/// Short names people type for the acknowledgement latency percentiles.
fn canonical(metric: &str) -> &str {
    match metric {
        "p50" => "ack_p50",
        "p99" => "ack_p99",
        "p999" | "p99.9" => "ack_p999",
        "e2e_p99.9" => "e2e_p999",
        m => m,
    }
}

/// Parses `METRIC=PCT%` (the `%` is optional); `known` lists the metric keys.
pub fn parse_gate(s: &str, known: &[&str]) -> Result<Gate, String> {
    let (metric, pct) = s
        .split_once('=')
        .ok_or_else(|| format!("{s}: expected METRIC=PCT%, e.g. p99=10%"))?;
    let metric = canonical(metric.trim());
    if !known.contains(&metric) {
        return Err(format!("{s}: unknown metric {metric:?}; one of {}", known.join(", ")));
    }
    let pct = pct.trim();
    let percent: f64 = pct
        .strip_suffix('%')
        .unwrap_or(pct)
        .trim()
        .parse()
        .map_err(|_| format!("{s}: {pct:?} is not a percentage"))?;
    if !(percent.is_finite() && percent >= 0.0) {
        return Err(format!("{s}: the percentage must be 0 or more"));
    }
    Ok(Gate {
        metric: metric.to_string(),
        percent,
    })
}

/// The change from `a` to `b` in percent of `a`, signed so that positive
/// is worse; `None` when `a` is 0 and the ratio means nothing.
pub fn worse_by_percent(a: f64, b: f64, worse: Worse) -> Option<f64> {
    if a == 0.0 {
        return None;
    }
    let change = (b - a) / a.abs() * 100.0;
    Some(match worse {
        Worse::Higher => change,
        Worse::Lower => -change,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interval_is_deterministic_and_covers_a_clear_shift() {
        let diffs: Vec<f64> = (0..32).map(|i| 5.0 + (i % 5) as f64 * 0.3).collect();
        let a = paired_bootstrap(&diffs, 7).unwrap();
        assert_eq!(Some(a), paired_bootstrap(&diffs, 7));
        let m = mean(&diffs);
        assert!(a.low <= m && m <= a.high && a.low > 4.9 && a.high < 6.3, "{a:?}");
    }

    #[test]
    fn noise_around_zero_gives_an_interval_around_zero() {
        let diffs: Vec<f64> = (0..40).map(|i| if i % 2 == 0 { 1.0 } else { -1.0 }).collect();
        let a = paired_bootstrap(&diffs, 1).unwrap();
        assert!(a.low < 0.0 && a.high > 0.0, "{a:?}");
        assert_eq!(paired_bootstrap(&[3.0], 1), None);
    }

    #[test]
    fn gates_parse_and_name_what_is_wrong() {
        let known = ["ack_p99", "throughput"];
        assert_eq!(
            parse_gate("p99=10%", &known),
            Ok(Gate {
                metric: "ack_p99".into(),
                percent: 10.0
            })
        );
        assert_eq!(parse_gate("throughput=2.5", &known).unwrap().percent, 2.5);
        assert!(parse_gate("p98=10%", &known).unwrap_err().contains("unknown metric"));
        assert!(parse_gate("p99", &known).unwrap_err().contains("METRIC=PCT%"));
        assert!(parse_gate("p99=-1%", &known).is_err());
    }

    #[test]
    fn worse_is_up_for_latency_and_down_for_throughput() {
        assert_eq!(worse_by_percent(10.0, 12.0, Worse::Higher), Some(20.0));
        assert_eq!(worse_by_percent(100.0, 90.0, Worse::Lower), Some(10.0));
        assert_eq!(worse_by_percent(0.0, 1.0, Worse::Higher), None);
    }
}
