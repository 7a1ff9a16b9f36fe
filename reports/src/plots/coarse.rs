//! Long runs have more buckets than a plot has pixels (a virtual day is
//! 86,400 one-second buckets): merging neighbours keeps the SVGs small and
//! the lines legible, and loses nothing a reader could see.

use std::borrow::Cow;

use hdrhistogram::Histogram;

use crate::model::{Bucket, Percentiles, RunReport, Utilisation};

/// Most points a time plot draws per line.
pub(crate) const MAX_POINTS: usize = 1500;

/// `report` itself if it is short enough, otherwise a copy whose buckets
/// merge runs of neighbours: counts add up, lag takes the worst, utilisation
/// the mean, and latency percentiles come from the merged histograms when
/// every bucket has one (else the worst of the buckets' own).
pub(crate) fn for_plotting(report: &RunReport) -> Cow<'_, RunReport> {
    let n = report.buckets.len();
    if n <= MAX_POINTS {
        return Cow::Borrowed(report);
    }
    let group = n.div_ceil(MAX_POINTS);
    let exact = report.ack_intervals.len() == n;
    let mut buckets = Vec::with_capacity(n / group + 1);
    let mut intervals = Vec::new();
    for (g, chunk) in report.buckets.chunks(group).enumerate() {
        let mut b = merge(chunk);
        if exact {
            let hs = &report.ack_intervals[g * group..g * group + chunk.len()];
            let mut h = Histogram::new_from(&hs[0]);
            for x in hs {
                // Incompatible ranges only come from a producer bug; the
                // bucket then shows what could be merged.
                let _ = h.add(x);
            }
            b.ack_latency_ms = Percentiles::from_micros(&h);
            intervals.push(h);
        }
        buckets.push(b);
    }
    Cow::Owned(RunReport {
        result: report.result.clone(),
        bucket_ms: report.bucket_ms.max(1) * group as u64,
        buckets,
        ack_intervals: intervals,
        ack_latency_us: report.ack_latency_us.clone(),
        faults: report.faults.clone(),
        knobs: report.knobs.clone(),
        brokers: report.brokers,
        partitions: report.partitions,
    })
}

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
    for x in chunk {
        b.sent += x.sent;
        b.acked += x.acked;
        b.appended += x.appended;
        let p = &mut b.ack_latency_ms;
        let q = &x.ack_latency_ms;
        p.p50 = p.p50.max(q.p50);
        p.p99 = p.p99.max(q.p99);
        p.p999 = p.p999.max(q.p999);
        p.max = p.max.max(q.max);
        grow(&mut b.partition_appends, x.partition_appends.len());
        for (t, a) in b.partition_appends.iter_mut().zip(&x.partition_appends) {
            *t += a;
        }
        grow(&mut b.partition_hw_lag, x.partition_hw_lag.len());
        for (t, l) in b.partition_hw_lag.iter_mut().zip(&x.partition_hw_lag) {
            *t = (*t).max(*l);
        }
        if b.brokers.len() < x.brokers.len() {
            b.brokers.resize(x.brokers.len(), Utilisation::default());
            util_n.resize(x.brokers.len(), 0);
        }
        for ((t, u), n) in b.brokers.iter_mut().zip(&x.brokers).zip(&mut util_n) {
            t.cpu += u.cpu;
            t.disk += u.disk;
            t.nic += u.nic;
            *n += 1;
        }
    }
    for (t, n) in b.brokers.iter_mut().zip(util_n) {
        let n = f64::from(n.max(1));
        t.cpu /= n;
        t.disk /= n;
        t.nic /= n;
    }
    b
}
