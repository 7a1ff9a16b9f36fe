//! Sums over a run's time series for OMB's figures: the buckets of a span of
//! virtual time, and the backlog at an instant.

use hdrhistogram::Histogram;
use streamsim_reports::{latency_histogram, RunReport};

/// The run's buckets over `[from_ms, to_ms)`, summed.
#[derive(Debug, Clone)]
pub struct Span {
    /// Start, ms.
    pub from_ms: u64,
    /// End, ms.
    pub to_ms: u64,
    /// Messages acknowledged to producers.
    pub published: u64,
    /// Messages the first subscription's consumers received (first sink row of each).
    pub consumed: u64,
    /// Messages each further subscription (`[[subscription]]`, by name) received.
    pub further: Vec<(String, u64)>,
    /// Publish latency (send to acknowledgement), µs.
    pub publish_latency: Histogram<u64>,
    /// End-to-end latency (creation to consumption), µs; empty without consumers.
    pub e2e_latency: Histogram<u64>,
    /// Records appended per partition.
    pub partition_appends: Vec<u64>,
}

impl Span {
    /// Seconds covered.
    pub fn seconds(&self) -> f64 {
        (self.to_ms - self.from_ms) as f64 / 1000.0
    }

    /// Messages received over every subscription, as OMB sums its consumers' receipts.
    pub fn received(&self) -> u64 {
        self.consumed + self.further.iter().map(|(_, n)| n).sum::<u64>()
    }
}

/// What a further subscription received over `[from_ms, to_ms)`: how far its consumers'
/// positions moved, that is the records `appended` meanwhile less the growth of its lag
/// (sampled every second; the sample at or before each end stands for it).
fn subscription_received(lag: &[[u64; 2]], from_ms: u64, to_ms: u64, appended: u64) -> u64 {
    let at = |t: u64| match lag.partition_point(|s| s[0] <= t) {
        0 => 0,
        i => lag[i - 1][1],
    };
    (appended + at(from_ms)).saturating_sub(at(to_ms))
}

/// Sums the buckets that start in `[from_ms, to_ms)`; the span's ends are
/// those of the buckets summed.
pub fn span(report: &RunReport, from_ms: u64, to_ms: u64) -> Span {
    let bw = report.bucket_ms.max(1);
    let first = (from_ms / bw) as usize;
    let last = (to_ms.div_ceil(bw) as usize).min(report.buckets.len()).max(first);
    let mut s = Span {
        from_ms: first as u64 * bw,
        to_ms: last as u64 * bw,
        published: 0,
        consumed: 0,
        further: Vec::new(),
        publish_latency: latency_histogram(),
        e2e_latency: latency_histogram(),
        partition_appends: vec![0; report.partitions],
    };
    for i in first..last {
        let b = &report.buckets[i];
        s.published += b.acked;
        s.consumed += b.sunk;
        for (p, n) in b.partition_appends.iter().enumerate() {
            if let Some(slot) = s.partition_appends.get_mut(p) {
                *slot += n;
            }
        }
        if let Some(h) = report.ack_intervals.get(i) {
            // Values past the run-wide histogram's hour are clamped when recorded, so this fits.
            let _ = s.publish_latency.add(h.histogram());
        }
        if let Some(h) = report.e2e_intervals.get(i) {
            let _ = s.e2e_latency.add(h.histogram());
        }
    }
    let appended: u64 = s.partition_appends.iter().sum();
    s.further = report
        .result
        .subscriptions
        .iter()
        .map(|(name, sub)| {
            (
                name.clone(),
                subscription_received(&sub.lag, s.from_ms, s.to_ms, appended),
            )
        })
        .collect();
    s
}

/// Messages acknowledged but not yet consumed at `at_ms` (OMB's backlog:
/// sent less received, counted from the start of the run).
pub fn backlog_at(report: &RunReport, at_ms: u64) -> u64 {
    let s = span(report, 0, at_ms);
    s.published.saturating_sub(s.consumed)
}

/// Consumer lag per partition at the end of the bucket that ends at or
/// before `at_ms` (empty without consumers).
pub fn lag_at(report: &RunReport, at_ms: u64) -> Vec<u64> {
    if at_ms == 0 {
        // Nothing was produced before the start.
        return vec![0; report.partitions];
    }
    let bw = report.bucket_ms.max(1);
    let i = (at_ms / bw).saturating_sub(1) as usize;
    report
        .buckets
        .get(i.min(report.buckets.len().saturating_sub(1)))
        .map(|b| b.consumer_lag.clone())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::subscription_received;

    #[test]
    fn a_subscription_receives_what_was_appended_less_its_lag_growth() {
        let lag = [[1_000, 50], [2_000, 80], [3_000, 10]];
        // 1 to 2 s: 300 appended, the lag grew by 30.
        assert_eq!(subscription_received(&lag, 1_000, 2_000, 300), 270);
        // 2 to 3 s: 100 appended, the lag fell by 70.
        assert_eq!(subscription_received(&lag, 2_000, 3_000, 100), 170);
        // Before the first sample nothing lags; between samples the earlier one stands.
        assert_eq!(subscription_received(&lag, 0, 2_500, 400), 320);
        // A lag that grew by more than was appended (a rewind) receives nothing, not less.
        assert_eq!(subscription_received(&lag, 3_000, 3_000, 0), 0);
    }
}
