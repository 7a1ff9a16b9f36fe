//! A broker machine's page cache, as Linux runs it for a Kafka log that is
//! not fsynced per batch (`flush = "os"`, Kafka's default). An append only
//! dirties pages. The flusher threads wake every `dirty_writeback_centisecs`
//! and write back every file dirty for longer than `dirty_expire_centisecs`;
//! above `dirty_background_ratio` they write back at once, oldest file first;
//! at `dirty_ratio` (dirty pages plus pages under writeback) a writer blocks
//! until writeback brings the total back down. Pages are durable only when
//! the disk has written them, so a power loss takes everything younger, and a
//! disk slower than the produce rate ends up throttling the producers.
//!
//! Departures, kept on purpose: the kernel tracks dirty time per inode and
//! writes whole files back; here a partition's active segment is the file.
//! Linux 3.2 and later pause writers progressively between the midpoint of
//! the two ratios and `dirty_ratio`; here a writer blocks only at the limit,
//! which gives the same throughput once saturated and a sharper onset.

use super::partition_log::PartitionLog;
use crate::config::ResourceConfig;
use crate::ids::PartitionId;
use crate::partition_map::PartitionMap;
use crate::resources::Disk;
use std::collections::{BTreeMap, VecDeque};

/// A writeback the disk has queued: when it completes, which log and how far.
#[derive(Debug, Clone, Copy)]
struct InFlight {
    done_us: u64,
    partition: PartitionId,
    generation: u64,
    end: u64,
    bytes: u64,
}

/// Dirty pages of one log: an estimate of their bytes (exact until a
/// truncation removes some; each writeback re-reads the exact figure) and
/// when the log went from clean to dirty.
#[derive(Debug, Clone, Copy)]
struct Dirty {
    bytes: u64,
    since_us: u64,
}

/// What the page cache did over a run, for the report.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PageCacheStats {
    /// Writes that had to wait for writeback at `dirty_ratio`.
    pub throttled_writes: u64,
    /// Their total wait, µs.
    pub throttled_us: u64,
    /// The most dirty and under-writeback bytes seen at once.
    pub peak_bytes: u64,
}

/// One broker machine's page cache. Power loss empties it.
#[derive(Debug, Default)]
pub struct PageCache {
    dirty: BTreeMap<PartitionId, Dirty>,
    dirty_bytes: u64,
    in_flight: VecDeque<InFlight>,
    in_flight_bytes: u64,
    /// Over the run, across restarts.
    pub stats: PageCacheStats,
}

/// The two thresholds in bytes.
fn thresholds(cfg: &ResourceConfig) -> (u64, u64) {
    let cache = cfg.page_cache_mb << 20;
    (
        cache * u64::from(cfg.dirty_background_ratio) / 100,
        cache * u64::from(cfg.dirty_ratio) / 100,
    )
}

impl PageCache {
    /// Dirty pages and pages under writeback, bytes: what `dirty_ratio` limits.
    pub fn held_bytes(&self) -> u64 {
        self.dirty_bytes + self.in_flight_bytes
    }

    /// `held_bytes` as a fraction of the `dirty_ratio` limit (1.0: writers block).
    pub fn fill(&self, cfg: &ResourceConfig) -> f64 {
        self.held_bytes() as f64 / thresholds(cfg).1.max(1) as f64
    }

    /// `bytes` were appended to partition `p` at `now_us`. Starts background
    /// writeback if needed and returns when the writer may go on: `now_us`,
    /// or later if the cache is at `dirty_ratio`.
    pub fn dirtied(
        &mut self,
        logs: &mut PartitionMap<PartitionLog>,
        disk: &mut Disk,
        cfg: &ResourceConfig,
        p: PartitionId,
        bytes: u64,
        now_us: u64,
    ) -> u64 {
        self.complete(logs, now_us);
        let d = self.dirty.entry(p).or_insert(Dirty {
            bytes: 0,
            since_us: now_us,
        });
        d.bytes += bytes;
        self.dirty_bytes += bytes;
        let (background, limit) = thresholds(cfg);
        if self.dirty_bytes > background {
            self.write_back_oldest(logs, disk, now_us, background);
        }
        let held = self.held_bytes();
        self.stats.peak_bytes = self.stats.peak_bytes.max(held);
        if held <= limit {
            return now_us;
        }
        // Blocked until enough of the queued writeback completes (the disk is a FIFO,
        // so completions come in queue order).
        let mut freed = 0;
        let mut until = now_us;
        for w in &self.in_flight {
            if held - freed <= limit {
                break;
            }
            freed += w.bytes;
            until = w.done_us;
        }
        self.stats.throttled_writes += 1;
        self.stats.throttled_us += until - now_us;
        until
    }

    /// A flusher wake-up: write back every log dirty for longer than the
    /// expiry, and the oldest ones while above the background ratio.
    pub fn flusher_wakeup(
        &mut self,
        logs: &mut PartitionMap<PartitionLog>,
        disk: &mut Disk,
        cfg: &ResourceConfig,
        now_us: u64,
    ) {
        self.complete(logs, now_us);
        let expire_us = cfg.dirty_expire_centisecs * 10_000;
        let expired: Vec<PartitionId> = self
            .dirty
            .iter()
            .filter(|(_, d)| d.since_us + expire_us <= now_us)
            .map(|(&p, _)| p)
            .collect();
        for p in expired {
            self.write_back(logs, disk, p, now_us);
        }
        let (background, _) = thresholds(cfg);
        if self.dirty_bytes > background {
            self.write_back_oldest(logs, disk, now_us, background);
        }
    }

    /// An fsync of every log (`flush = { policy = "interval" }`): all dirty
    /// pages go to the disk with one fsync; returns when it is done.
    pub fn sync_all(&mut self, logs: &mut PartitionMap<PartitionLog>, disk: &mut Disk, now_us: u64) -> u64 {
        self.complete(logs, now_us);
        let bytes: u64 = logs.values().map(|l| l.unissued_bytes()).sum();
        for l in logs.values_mut() {
            l.flush();
        }
        self.dirty.clear();
        self.dirty_bytes = 0;
        disk.write(now_us, bytes, true)
    }

    /// Apply every writeback the disk has finished by `now_us`.
    pub fn complete(&mut self, logs: &mut PartitionMap<PartitionLog>, now_us: u64) {
        while let Some(w) = self.in_flight.front().copied().filter(|w| w.done_us <= now_us) {
            self.in_flight.pop_front();
            self.in_flight_bytes -= w.bytes;
            if let Some(l) = logs.get_mut(&w.partition) {
                l.written_back(w.generation, w.end);
            }
        }
    }

    /// Power loss: dirty pages and queued writeback are gone (the statistics stay).
    pub fn lose_power(&mut self) {
        *self = PageCache {
            stats: self.stats,
            ..PageCache::default()
        };
    }

    fn write_back_oldest(
        &mut self,
        logs: &mut PartitionMap<PartitionLog>,
        disk: &mut Disk,
        now_us: u64,
        background: u64,
    ) {
        while self.dirty_bytes > background {
            let Some(p) = self.dirty.iter().min_by_key(|(&p, d)| (d.since_us, p)).map(|(&p, _)| p) else {
                break;
            };
            self.write_back(logs, disk, p, now_us);
        }
    }

    /// Queue partition `p`'s dirty pages on the disk.
    fn write_back(&mut self, logs: &mut PartitionMap<PartitionLog>, disk: &mut Disk, p: PartitionId, now_us: u64) {
        let Some(d) = self.dirty.remove(&p) else { return };
        self.dirty_bytes -= d.bytes;
        let Some(log) = logs.get_mut(&p) else { return };
        let bytes = log.unissued_bytes();
        let (generation, end) = log.issue_writeback();
        if bytes == 0 {
            return;
        }
        let done_us = disk.write(now_us, bytes, false);
        self.in_flight.push_back(InFlight {
            done_us,
            partition: p,
            generation,
            end,
            bytes,
        });
        self.in_flight_bytes += bytes;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::{Batch, EventId, Record};
    use std::sync::Arc;

    fn cfg(cache_mb: u64) -> ResourceConfig {
        ResourceConfig {
            page_cache_mb: cache_mb,
            ..ResourceConfig::default()
        }
    }

    /// Append one record of `bytes` to partition `p`'s log.
    fn append(logs: &mut PartitionMap<PartitionLog>, p: PartitionId, bytes: u64) {
        let log = logs.get_or_default(p);
        let record = Record {
            id: EventId {
                client: 0,
                seq: log.leo(),
            },
            key: 0,
            size: 0,
            event_time_ms: 0,
            schema_version: 1,
            malformed: false,
            born_us: 0,
        };
        log.append(Arc::new(Batch {
            base_offset: log.leo(),
            epoch: 0,
            producer: None,
            records: vec![record].into(),
            bytes,
            control: None,
            txn_state: None,
        }));
    }

    #[test]
    fn data_younger_than_the_expiry_stays_dirty() {
        let c = cfg(1024);
        let mut logs = PartitionMap::default();
        let mut disk = Disk::new(100.0, 1_000);
        let mut pc = PageCache::default();
        append(&mut logs, 0, 1_000);
        assert_eq!(pc.dirtied(&mut logs, &mut disk, &c, 0, 1_000, 0), 0);
        // Woken at 5 s and 25 s: not 30 s old yet.
        pc.flusher_wakeup(&mut logs, &mut disk, &c, 5_000_000);
        pc.flusher_wakeup(&mut logs, &mut disk, &c, 25_000_000);
        assert_eq!(logs[&0].flushed(), 0);
        pc.flusher_wakeup(&mut logs, &mut disk, &c, 30_000_000);
        // Queued, and durable once the disk has written it (10 µs at 100 MB/s).
        assert_eq!(logs[&0].flushed(), 0);
        pc.complete(&mut logs, 30_000_010);
        assert_eq!(logs[&0].flushed(), 1);
    }

    #[test]
    fn above_the_background_ratio_the_oldest_log_goes_first() {
        // 10 MiB of cache: background at 1 MiB, limit at 2 MiB.
        let c = cfg(10);
        let mut logs = PartitionMap::default();
        let mut disk = Disk::new(1_000.0, 1_000);
        let mut pc = PageCache::default();
        append(&mut logs, 1, 600_000);
        pc.dirtied(&mut logs, &mut disk, &c, 1, 600_000, 0);
        append(&mut logs, 2, 600_000);
        pc.dirtied(&mut logs, &mut disk, &c, 2, 600_000, 10);
        // Partition 1 went to the disk; partition 2 is still dirty.
        assert_eq!(pc.dirty_bytes, 600_000);
        assert_eq!(pc.in_flight_bytes, 600_000);
        pc.complete(&mut logs, 1_000_000);
        assert_eq!((logs[&1].flushed(), logs[&2].flushed()), (1, 0));
    }

    #[test]
    fn at_the_dirty_ratio_a_writer_waits_for_the_disk() {
        // Background at 1 MiB, limit at 2 MiB; a disk of 1 MB/s drains 1 byte per µs.
        let c = cfg(10);
        let mut logs = PartitionMap::default();
        let mut disk = Disk::new(1.0, 1_000);
        let mut pc = PageCache::default();
        let mut now = 0;
        let mut waited = 0;
        for i in 0..10 {
            let p = i % 3;
            append(&mut logs, p, 500_000);
            let go = pc.dirtied(&mut logs, &mut disk, &c, p, 500_000, now);
            assert!(
                pc.held_bytes() <= (2 << 20) + 500_000,
                "bounded by the limit plus one write"
            );
            waited += go - now;
            now = go;
        }
        assert!(pc.stats.throttled_writes > 0);
        // 5 MB written through a 1 MB/s disk with 2 MiB of slack: the writer waited about 3 s.
        assert!((2_500_000..4_000_000).contains(&waited), "waited {waited} µs");
    }

    #[test]
    fn a_writeback_issued_before_a_truncation_does_not_vouch_for_new_records() {
        let c = cfg(10);
        let mut logs = PartitionMap::default();
        let mut disk = Disk::new(1.0, 1_000);
        let mut pc = PageCache::default();
        for _ in 0..3 {
            append(&mut logs, 0, 1_000);
        }
        pc.dirtied(&mut logs, &mut disk, &c, 0, 3_000, 0);
        pc.flusher_wakeup(&mut logs, &mut disk, &c, 30_000_000);
        logs.get_mut(&0).unwrap().truncate_to(1);
        append(&mut logs, 0, 1_000);
        append(&mut logs, 0, 1_000);
        pc.complete(&mut logs, 40_000_000);
        assert_eq!(logs[&0].flushed(), 0);
    }

    #[test]
    fn power_loss_empties_the_cache_but_keeps_the_statistics() {
        let c = cfg(10);
        let mut logs = PartitionMap::default();
        let mut disk = Disk::new(1.0, 1_000);
        let mut pc = PageCache::default();
        append(&mut logs, 0, 3_000_000);
        pc.dirtied(&mut logs, &mut disk, &c, 0, 3_000_000, 0);
        let stats = pc.stats;
        pc.lose_power();
        assert_eq!(pc.held_bytes(), 0);
        assert_eq!(pc.stats, stats);
    }
}
