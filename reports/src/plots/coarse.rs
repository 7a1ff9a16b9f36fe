//! Long runs have more buckets than a plot has pixels (a virtual day is
//! 86,400 one-second buckets): merging neighbours keeps the SVGs small and
//! the lines legible, and loses nothing a reader could see.

use std::borrow::Cow;

use hdrhistogram::Histogram;

use crate::model::{Bucket, CompactHistogram, Percentiles, RunReport, Utilisation};

/// Most points a time plot draws per line.
pub(crate) const MAX_POINTS: usize = 1500;

/// `report` itself if it is short enough, otherwise a copy whose buckets
/// merge runs of neighbours: counts add up, lag takes the worst, utilisation
/// the mean, and each latency's percentiles (ack and end to end) come from
/// its merged histograms when every bucket has one (else the worst of the
/// buckets' own, and the copy has no histograms of that latency).
pub(crate) fn for_plotting(report: &RunReport) -> Cow<'_, RunReport> {
    let n = report.buckets.len();
    if n <= MAX_POINTS {
        return Cow::Borrowed(report);
    }
    let group = n.div_ceil(MAX_POINTS);
    let exact_ack = report.ack_intervals.len() == n;
    let exact_e2e = report.e2e_intervals.len() == n;
    let mut buckets = Vec::with_capacity(n / group + 1);
    let mut ack_intervals = Vec::new();
    let mut e2e_intervals = Vec::new();
    for (g, chunk) in report.buckets.chunks(group).enumerate() {
        let mut b = merge(chunk);
        let range = g * group..g * group + chunk.len();
        if exact_ack {
            let h = merged(&report.ack_intervals[range.clone()]);
            b.ack_latency_ms = Percentiles::from_micros(&h);
            ack_intervals.push(CompactHistogram::new(&h));
        }
        if exact_e2e {
            let h = merged(&report.e2e_intervals[range]);
            b.e2e_latency_ms = Percentiles::from_micros(&h);
            e2e_intervals.push(CompactHistogram::new(&h));
        }
        buckets.push(b);
    }
    Cow::Owned(RunReport {
        result: report.result.clone(),
        bucket_ms: report.bucket_ms.max(1) * group as u64,
        buckets,
        ack_intervals,
        ack_latency_us: report.ack_latency_us.clone(),
        e2e_intervals,
        e2e_latency_us: report.e2e_latency_us.clone(),
        faults: report.faults.clone(),
        knobs: report.knobs.clone(),
        brokers: report.brokers,
        partitions: report.partitions,
    })
}

/// The sum of consecutive buckets' histograms (`hs` is never empty).
fn merged(hs: &[CompactHistogram]) -> Histogram<u64> {
    let mut h = hs[0].histogram();
    for x in &hs[1..] {
        // Incompatible ranges only come from a producer bug; the bucket then
        // shows what could be merged.
        let _ = h.add(x.histogram());
    }
    h
}

/// One bucket standing for `chunk`; latency percentiles are the worst of
/// the chunk's, for callers to replace when histograms allow an exact merge.
fn merge(chunk: &[Bucket]) -> Bucket {
    let mut b = Bucket {
        start_ms: chunk[0].start_ms,
        ..Bucket::default()
    };
    let grow = |v: &mut Vec<u64>, len: usize| {
        if v.len() < len {
            v.resize(len, 0);
        }
    };
    let mut util_n: Vec<u32> = Vec::new();
    let mut gateway_n: Vec<u32> = Vec::new();
    for x in chunk {
        b.sent += x.sent;
        b.acked += x.acked;
        b.appended += x.appended;
        worst(&mut b.ack_latency_ms, &x.ack_latency_ms);
        grow(&mut b.partition_appends, x.partition_appends.len());
        for (t, a) in b.partition_appends.iter_mut().zip(&x.partition_appends) {
            *t += a;
        }
        b.sunk += x.sunk;
        b.rate_limited += x.rate_limited;
        worst(&mut b.e2e_latency_ms, &x.e2e_latency_ms);
        grow(&mut b.consumer_lag, x.consumer_lag.len());
        for (t, l) in b.consumer_lag.iter_mut().zip(&x.consumer_lag) {
            *t = (*t).max(*l);
        }
        if let Some(r) = x.serving {
            let t = b.serving.get_or_insert_with(Default::default);
            t.reads += r.reads;
            t.hits += r.hits;
            worst(&mut t.latency_ms, &r.latency_ms);
        }
        if let Some(f) = x.lake_freshness_s {
            b.lake_freshness_s = Some(b.lake_freshness_s.map_or(f, |t| t.max(f)));
        }
        grow(&mut b.partition_hw_lag, x.partition_hw_lag.len());
        for (t, l) in b.partition_hw_lag.iter_mut().zip(&x.partition_hw_lag) {
            *t = (*t).max(*l);
        }
        add_utilisation(&mut b.brokers, &mut util_n, &x.brokers);
        add_utilisation(&mut b.gateways, &mut gateway_n, &x.gateways);
    }
    mean_utilisation(&mut b.brokers, &util_n);
    mean_utilisation(&mut b.gateways, &gateway_n);
    b.clients = merge_clients(chunk);
    b
}

/// The clients' utilisation over a chunk: the mean of each bucket's mean, and of each bucket's
/// busiest (an upper bound of the busiest client's share over the chunk).
fn merge_clients(chunk: &[Bucket]) -> Option<crate::ClientsUtilisation> {
    let samples: Vec<crate::ClientsUtilisation> = chunk.iter().filter_map(|x| x.clients).collect();
    if samples.is_empty() {
        return None;
    }
    let (mut mean, mut max) = (Vec::new(), Vec::new());
    let (mut mean_n, mut max_n) = (Vec::new(), Vec::new());
    for s in &samples {
        add_utilisation(&mut mean, &mut mean_n, &[s.mean]);
        add_utilisation(&mut max, &mut max_n, &[s.max]);
    }
    mean_utilisation(&mut mean, &mean_n);
    mean_utilisation(&mut max, &max_n);
    Some(crate::ClientsUtilisation {
        mean: mean[0],
        max: max[0],
    })
}

/// Add one bucket's utilisation per node to the running sums, counting the samples of each node.
fn add_utilisation(sum: &mut Vec<Utilisation>, n: &mut Vec<u32>, x: &[Utilisation]) {
    if sum.len() < x.len() {
        sum.resize(x.len(), Utilisation::default());
        n.resize(x.len(), 0);
    }
    for ((t, u), n) in sum.iter_mut().zip(x).zip(n.iter_mut()) {
        t.cpu += u.cpu;
        t.disk += u.disk;
        t.nic += u.nic;
        t.dirty += u.dirty;
        *n += 1;
    }
}

/// Turn the sums of [`add_utilisation`] into means.
fn mean_utilisation(sum: &mut [Utilisation], n: &[u32]) {
    for (t, &n) in sum.iter_mut().zip(n) {
        let n = f64::from(n.max(1));
        t.cpu /= n;
        t.disk /= n;
        t.nic /= n;
        t.dirty /= n;
    }
}

/// Raises each of `p` to at least `q`'s.
fn worst(p: &mut Percentiles, q: &Percentiles) {
    p.p50 = p.p50.max(q.p50);
    p.p99 = p.p99.max(q.p99);
    p.p999 = p.p999.max(q.p999);
    p.max = p.max.max(q.max);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{latency_histogram, ReadResult, RunResult, Verdict};

    fn hist(value_us: u64, count: u64) -> Histogram<u64> {
        let mut h = latency_histogram();
        h.record_n(value_us, count).unwrap();
        h
    }

    /// A long read-path run whose even buckets have 1000 events at 1 ms and
    /// odd ones 5 events at 100 ms: merged in pairs, the exact p99 is 1 ms,
    /// where the worst of the pair's own p99 would say 100 ms.
    fn report(n: usize, with_e2e_intervals: bool) -> RunReport {
        let intervals: Vec<_> = (0..n)
            .map(|i| {
                if i % 2 == 0 {
                    hist(1_000, 1000)
                } else {
                    hist(100_000, 5)
                }
            })
            .collect();
        let buckets = intervals
            .iter()
            .enumerate()
            .map(|(i, h)| Bucket {
                start_ms: i as u64 * 1000,
                sunk: h.len(),
                acked: h.len(),
                ack_latency_ms: Percentiles::from_micros(h),
                e2e_latency_ms: Percentiles::from_micros(h),
                consumer_lag: vec![i as u64 % 7, 3],
                ..Bucket::default()
            })
            .collect();
        RunReport {
            result: RunResult {
                scenario: "s".into(),
                scenario_path: "s.toml".into(),
                seed: 1,
                verdict: Verdict::Pass,
                expect: Verdict::Pass,
                violations: Vec::new(),
                trace_hash: String::new(),
                events_sent: 0,
                events_acked: 0,
                events_lost: 0,
                events_duplicated: 0,
                events_uncertain: 0,
                retry_copies: 0,
                log_records_summarised: 0,
                log_records_deleted_by_retention: 0,
                log_offsets_caught_up_from_summaries: 0,
                log_records_held_peak: 0,
                events_dead_lettered: 0,
                backpressure_rejections: 0,
                ack_latency_ms: Percentiles::default(),
                budgets: Vec::new(),
                virtual_s: n as f64,
                wall_s: 0.0,
                replay: String::new(),
                read: ReadResult::default(),
                gateway_dedup: None,
                page_cache: None,
                throughput: Default::default(),
                cost: None,
                lake: None,
                autoscale: None,
                rate_limited: None,
                serving: None,
                gateway_utilisation: Vec::new(),
                client_utilisation: None,
                subscriptions: Default::default(),
                transactions: None,
            },
            bucket_ms: 1000,
            buckets,
            ack_intervals: intervals.iter().map(CompactHistogram::new).collect(),
            ack_latency_us: latency_histogram(),
            e2e_intervals: if with_e2e_intervals {
                intervals.iter().map(CompactHistogram::new).collect()
            } else {
                Vec::new()
            },
            e2e_latency_us: Some(latency_histogram()),
            faults: Vec::new(),
            knobs: Vec::new(),
            brokers: 0,
            partitions: 2,
        }
    }

    #[test]
    fn e2e_percentiles_come_from_merged_histograms() {
        let n = 2 * MAX_POINTS;
        let source = report(n, true);
        let coarse = for_plotting(&source);
        assert_eq!(coarse.buckets.len(), MAX_POINTS);
        assert_eq!(coarse.e2e_intervals.len(), MAX_POINTS);
        for b in &coarse.buckets {
            assert_eq!(b.sunk, 1005);
            assert_eq!(b.e2e_latency_ms.p99, b.ack_latency_ms.p99);
            assert!((b.e2e_latency_ms.p50 - 1.0).abs() < 0.01, "{:?}", b.e2e_latency_ms);
            assert!((b.e2e_latency_ms.p99 - 1.0).abs() < 0.01, "{:?}", b.e2e_latency_ms);
            assert!(b.e2e_latency_ms.max > 99.0);
            assert_eq!(b.consumer_lag[1], 3);
        }
        assert_eq!(coarse.e2e_intervals[0].histogram().len(), 1005);
    }

    #[test]
    fn without_one_histogram_per_bucket_the_worst_percentile_is_kept() {
        let source = report(2 * MAX_POINTS, false);
        let coarse = for_plotting(&source);
        assert!(coarse.e2e_intervals.is_empty());
        for b in &coarse.buckets {
            assert!(b.e2e_latency_ms.p99 > 99.0, "{:?}", b.e2e_latency_ms);
        }
    }

    #[test]
    fn short_runs_are_not_copied() {
        let source = report(10, true);
        assert!(matches!(for_plotting(&source), Cow::Borrowed(_)));
    }
}
