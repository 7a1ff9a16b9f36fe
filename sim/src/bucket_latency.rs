//! One time-series bucket's latency histogram: dense while its interval
//! is recording, encoded once virtual time has passed it.
//!
//! Latencies are recorded at the virtual time they complete, which only
//! moves forward, so a bucket behind the one being recorded into takes no
//! more values. Sealing it then keeps a day of one-minute buckets at a few
//! hundred bytes each instead of tens of KiB (see
//! [`CompactHistogram`]). Should a value still come for a sealed bucket, it
//! is decoded and recorded: slower, never wrong.

use hdrhistogram::Histogram;
use streamsim_reports::{bucket_histogram, record_in_bucket, CompactHistogram, Percentiles};

/// A bucket's latency histogram, µs.
#[derive(Clone, Debug)]
pub enum BucketLatency {
    /// Still taking values.
    Open(Histogram<u64>),
    /// Its interval is over.
    Sealed(CompactHistogram),
}

impl Default for BucketLatency {
    fn default() -> Self {
        BucketLatency::Open(bucket_histogram())
    }
}

impl BucketLatency {
    /// Record a latency (µs).
    pub fn record(&mut self, us: u64) {
        if let BucketLatency::Sealed(c) = self {
            *self = BucketLatency::Open(c.histogram());
        }
        if let BucketLatency::Open(h) = self {
            record_in_bucket(h, us);
        }
    }

    /// Keep only the encoding from now on.
    pub fn seal(&mut self) {
        if let BucketLatency::Open(h) = self {
            *self = BucketLatency::Sealed(CompactHistogram::new(h));
        }
    }

    /// Its percentiles, in ms.
    pub fn percentiles(&self) -> Percentiles {
        match self {
            BucketLatency::Open(h) => Percentiles::from_micros(h),
            BucketLatency::Sealed(c) => Percentiles::from_micros(&c.histogram()),
        }
    }

    /// The encoded histogram, for the report.
    pub fn into_compact(self) -> CompactHistogram {
        match self {
            BucketLatency::Open(h) => CompactHistogram::new(&h),
            BucketLatency::Sealed(c) => c,
        }
    }
}

/// How far a run's buckets are sealed: every bucket below the mark is.
#[derive(Clone, Copy, Debug, Default)]
pub struct SealedBelow(usize);

impl SealedBelow {
    /// Seal, with `seal`, every bucket below `end` (of those that exist) not
    /// sealed yet, so each bucket is sealed once.
    pub fn advance<B>(&mut self, buckets: &mut [B], end: usize, seal: impl FnMut(&mut B)) {
        let end = end.min(buckets.len());
        if self.0 < end {
            buckets[self.0..end].iter_mut().for_each(seal);
            self.0 = end;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_bucket_keeps_its_values_and_still_takes_late_ones() {
        let mut open = BucketLatency::default();
        let mut sealed = BucketLatency::default();
        for us in [900, 12_000, 15_500, 2_400_000] {
            open.record(us);
            sealed.record(us);
        }
        sealed.seal();
        assert!(matches!(sealed, BucketLatency::Sealed(_)));
        assert_eq!(sealed.percentiles(), open.percentiles());
        open.record(40_000);
        sealed.record(40_000);
        assert!(matches!(sealed, BucketLatency::Open(_)), "a late value reopens it");
        assert_eq!(sealed.into_compact(), open.into_compact());
    }
}
