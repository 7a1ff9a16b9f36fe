//! A closed interval's latency histogram, kept as its encoded counts.
//!
//! A time-series bucket's histogram is read again only when the report is
//! written, but a live one holds a dense counts array: about 10 KiB at two
//! significant digits up to a tenth of a second, and up to twice that in
//! the slack its growth leaves. A virtual day of one-minute buckets held
//! about 50 MiB of mostly zeros that way. HdrHistogram's V2 encoding keeps
//! only the non-zero counts and the lengths of the zero runs between them,
//! a few hundred bytes a bucket, and decoding gives back the same counts,
//! so every percentile, merge and interval-log line is what the dense
//! histogram gave.

use hdrhistogram::serialization::{Deserializer, Serializer, V2Serializer};
use hdrhistogram::Histogram;

/// A histogram in HdrHistogram's V2 encoding (uncompressed: deflate would
/// save a little more and cost far more to build and read back).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompactHistogram {
    bytes: Box<[u8]>,
    /// The encoding keeps the range the histogram had, not whether it grew
    /// on demand; a merge into a decoded histogram needs it to grow again.
    auto_resize: bool,
}

impl CompactHistogram {
    /// The encoding of `h`.
    pub fn new(h: &Histogram<u64>) -> Self {
        let mut bytes = Vec::new();
        V2Serializer::new()
            .serialize(h, &mut bytes)
            // Only a count above i64::MAX fails to encode: more events than a run can hold.
            .expect("a latency histogram's counts fit the V2 encoding");
        CompactHistogram {
            bytes: bytes.into_boxed_slice(),
            auto_resize: h.is_auto_resize(),
        }
    }

    /// The histogram back, with the same counts, range and precision.
    pub fn histogram(&self) -> Histogram<u64> {
        let mut h: Histogram<u64> = Deserializer::new()
            .deserialize(&mut &self.bytes[..])
            // The bytes are only ever this type's own encoding of a valid histogram.
            .expect("a compact histogram decodes");
        h.auto(self.auto_resize);
        h
    }

    /// Bytes the encoding takes.
    pub fn encoded_len(&self) -> usize {
        self.bytes.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{bucket_histogram, record_in_bucket, Percentiles};

    fn minute_of_latencies() -> Histogram<u64> {
        let mut h = bucket_histogram();
        // A minute at a few hundred events a second: ack latencies of 5 to 40 ms
        // with a tail past a second, as a leader's failover gives.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for i in 0..20_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let us = 5_000 + x % 35_000 + if i % 997 == 0 { 1_500_000 } else { 0 };
            record_in_bucket(&mut h, us);
        }
        h
    }

    #[test]
    fn decoding_gives_back_the_same_counts_and_percentiles() {
        let h = minute_of_latencies();
        let c = CompactHistogram::new(&h);
        let back = c.histogram();
        assert_eq!(back, h, "counts and precision survive the encoding");
        assert_eq!(back.high(), h.high(), "and the range, which the interval log writes");
        assert_eq!(back.distinct_values(), h.distinct_values());
        assert_eq!(back.len(), 20_000);
        assert_eq!(back.max(), h.max());
        assert_eq!(Percentiles::from_micros(&back).p99, Percentiles::from_micros(&h).p99);
        assert!(back.is_auto_resize());
    }

    #[test]
    fn the_encoding_is_a_small_part_of_the_dense_counts() {
        let h = minute_of_latencies();
        let dense = h.distinct_values() * std::mem::size_of::<u64>();
        let c = CompactHistogram::new(&h);
        assert!(
            c.encoded_len() * 4 < dense,
            "{} encoded bytes against {dense} of dense counts",
            c.encoded_len()
        );
    }

    #[test]
    fn a_decoded_bucket_still_merges_a_wider_one() {
        let narrow = CompactHistogram::new(&{
            let mut h = bucket_histogram();
            record_in_bucket(&mut h, 2_000);
            h
        })
        .histogram();
        let mut wide = bucket_histogram();
        record_in_bucket(&mut wide, 3_000_000_000);
        let mut merged = Histogram::new_from(&narrow);
        merged.add(&narrow).expect("same range");
        merged
            .add(&wide)
            .expect("a decoded bucket histogram grows to take a wider one, as the live one did");
        assert_eq!(merged.len(), 2);
    }

    #[test]
    fn an_empty_histogram_round_trips() {
        let h = bucket_histogram();
        assert_eq!(CompactHistogram::new(&h).histogram(), h);
    }
}
