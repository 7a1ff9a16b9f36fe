//! What a broker's CPU pays for one request: a fixed cost, a cost per KiB
//! (checksums and copies), and costs per record and per record batch.
//!
//! The last two are why record size shapes Kafka's throughput: a broker
//! validates every batch (CRC, producer state, offsets) and walks every
//! record in it (offset and timestamp checks, index entries), so at the same
//! MB/s, 100-byte records cost the CPU far more than 10 KiB ones.
//! Defaults and what they stand for are in docs/RESOURCES.md.

use crate::config::ResourceConfig;
use crate::record::Batch;

/// The records a request carries, as the CPU counts them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecordLoad {
    /// Record bytes.
    pub bytes: u64,
    /// Records.
    pub records: u64,
    /// Record batches.
    pub batches: u64,
}

impl RecordLoad {
    /// A request that carries `bytes` and no records or batches the CPU
    /// looks into (a fetch request, a controller message, a consumer's fetch
    /// answer, which Kafka sends from the page cache without reading it).
    pub fn bytes(bytes: u64) -> Self {
        RecordLoad {
            bytes,
            ..RecordLoad::default()
        }
    }

    /// Adds one batch of `records` records and `bytes` bytes.
    pub fn add_batch(&mut self, records: u64, bytes: u64) {
        self.bytes += bytes;
        self.records += records;
        self.batches += 1;
    }

    /// A follower's append of stored batches: Kafka's follower checks each
    /// batch (CRC, producer state, offsets) but does not walk its records
    /// again, as the leader did when it took them.
    pub fn follower_append<B: AsRef<Batch>>(batches: impl IntoIterator<Item = B>) -> Self {
        let mut load = RecordLoad::default();
        for b in batches {
            load.add_batch(0, b.as_ref().bytes);
        }
        load
    }
}

/// CPU time, whole µs, that handling a request with `load` takes.
pub fn cpu_cost_us(cfg: &ResourceConfig, load: RecordLoad) -> u64 {
    let cost = cfg.cpu_per_request_us
        + cfg.cpu_per_kib_us * load.bytes as f64 / 1024.0
        + cfg.cpu_per_record_us * load.records as f64
        + cfg.cpu_per_batch_us * load.batches as f64;
    cost.ceil() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(record: f64, batch: f64) -> ResourceConfig {
        ResourceConfig {
            cpu_per_request_us: 25.0,
            cpu_per_kib_us: 2.0,
            cpu_per_record_us: record,
            cpu_per_batch_us: batch,
            ..ResourceConfig::default()
        }
    }

    #[test]
    fn the_same_bytes_cost_more_in_small_records() {
        let c = cfg(1.0, 5.0);
        // 1,000 KiB as 10,000 records of about 100 B in 100 batches, and as 100 records of 10 KiB in 10.
        let mut small = RecordLoad::default();
        let mut large = RecordLoad::default();
        for _ in 0..100 {
            small.add_batch(100, 10_240);
        }
        for _ in 0..10 {
            large.add_batch(10, 102_400);
        }
        assert_eq!(small.bytes, large.bytes);
        let (s, l) = (cpu_cost_us(&c, small), cpu_cost_us(&c, large));
        assert_eq!(l, 25 + 2_000 + 100 + 50);
        assert_eq!(s, 25 + 2_000 + 10_000 + 500);
    }

    #[test]
    fn without_record_costs_a_request_costs_what_it_did() {
        let c = cfg(0.0, 0.0);
        let load = RecordLoad {
            bytes: 1_500,
            records: 1_000,
            batches: 7,
        };
        let old = (c.cpu_per_request_us + c.cpu_per_kib_us * 1_500.0 / 1024.0).ceil() as u64;
        assert_eq!(cpu_cost_us(&c, load), old);
        assert_eq!(cpu_cost_us(&c, RecordLoad::bytes(1_500)), old);
    }
}
