//! The resource model. madsim charges nothing for CPU or disk, so p99
//! under load would mean nothing without one: each broker has CPU cores,
//! a disk with bandwidth and fsync latency, and (in the fabric) a NIC, each
//! a FIFO queue. A request's reply leaves when the queues it went through
//! have served it, so latency rises and throughput saturates with load.
//!
//! Defaults and their sources are in docs/RESOURCES.md.

use crate::config::ResourceConfig;
use crate::record_cost::RecordLoad;

/// CPU cores as parallel FIFO servers.
#[derive(Debug, Clone)]
pub struct Cpu {
    free_at_us: Vec<u64>,
    /// Total busy time, µs, over all cores.
    pub busy_us: u64,
}

impl Cpu {
    /// `cores` idle cores.
    pub fn new(cores: usize) -> Self {
        Cpu {
            free_at_us: vec![0; cores.max(1)],
            busy_us: 0,
        }
    }

    /// Run a job of `cost_us` arriving at `now_us` on the first free core; returns when it finishes.
    pub fn run(&mut self, now_us: u64, cost_us: u64) -> u64 {
        let (i, free) = self
            .free_at_us
            .iter()
            .copied()
            .enumerate()
            .min_by_key(|&(i, f)| (f, i))
            .expect("at least one core");
        let done = free.max(now_us) + cost_us;
        self.free_at_us[i] = done;
        self.busy_us += cost_us;
        done
    }

    /// Number of cores.
    pub fn cores(&self) -> usize {
        self.free_at_us.len()
    }

    /// Queues emptied by a crash: work still queued at `now_us` never runs,
    /// so it leaves the busy time; what ran stays (history).
    pub fn reset_queues(&mut self, now_us: u64) {
        let busy = self.busy_us_at(now_us);
        *self = Cpu::new(self.cores());
        self.busy_us = busy;
    }

    /// Busy time served by `now_us`, over all cores: work already queued for
    /// later does not count until it runs.
    pub fn busy_us_at(&self, now_us: u64) -> u64 {
        let queued: u64 = self.free_at_us.iter().map(|&f| f.saturating_sub(now_us)).sum();
        self.busy_us.saturating_sub(queued)
    }
}

/// How much slower a degraded disk is (a failing SSD, a noisy neighbour on
/// shared storage, an EBS volume out of burst credits).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Slowdown {
    /// Sequential bandwidth is divided by this.
    pub bandwidth_divisor: f64,
    /// fsync latency is multiplied by this.
    pub fsync_multiplier: f64,
}

/// A disk: sequential writes at a bandwidth, plus fsync latency.
#[derive(Debug, Clone)]
pub struct Disk {
    free_at_us: u64,
    bytes_per_us: f64,
    fsync_us: u64,
    slow: Option<Slowdown>,
    /// Total busy time, µs.
    pub busy_us: u64,
}

impl Disk {
    /// A disk of `mb_per_s` MB/s with `fsync_us` per fsync.
    pub fn new(mb_per_s: f64, fsync_us: u64) -> Self {
        Disk {
            free_at_us: 0,
            bytes_per_us: mb_per_s,
            fsync_us,
            slow: None,
            busy_us: 0,
        }
    }

    /// Busy time served by `now_us`. Everything queued after `now_us` is one
    /// unbroken stretch of work (it was queued by then), so it is the part of
    /// the busy time still ahead; a sample that counted it would show a
    /// saturated disk as idle between bursts of queued writeback.
    pub fn busy_us_at(&self, now_us: u64) -> u64 {
        self.busy_us.saturating_sub(self.free_at_us.saturating_sub(now_us))
    }

    /// Degrade the disk (`Some`) or restore it (`None`).
    pub fn set_slowdown(&mut self, slow: Option<Slowdown>) {
        self.slow = slow;
    }

    /// The current degradation, if any.
    pub fn slowdown(&self) -> Option<Slowdown> {
        self.slow
    }

    /// Write `bytes` (and fsync if asked) arriving at `now_us`; returns when durable.
    pub fn write(&mut self, now_us: u64, bytes: u64, fsync: bool) -> u64 {
        // A healthy disk takes the exact arithmetic it always did, so runs
        // without disk faults keep their timings.
        let (bytes_per_us, fsync_us) = match self.slow {
            None => (self.bytes_per_us, self.fsync_us),
            Some(s) => (
                self.bytes_per_us / s.bandwidth_divisor,
                (self.fsync_us as f64 * s.fsync_multiplier).round() as u64,
            ),
        };
        let cost = (bytes as f64 / bytes_per_us).ceil() as u64 + if fsync { fsync_us } else { 0 };
        let done = self.free_at_us.max(now_us) + cost;
        self.free_at_us = done;
        self.busy_us += cost;
        done
    }
}

/// A broker's CPU and disk, with the per-request costs of the config.
#[derive(Debug, Clone)]
pub struct BrokerResources {
    /// CPU.
    pub cpu: Cpu,
    /// Disk.
    pub disk: Disk,
    cfg: ResourceConfig,
}

impl BrokerResources {
    /// Idle resources of a broker.
    pub fn new(cfg: &ResourceConfig) -> Self {
        BrokerResources {
            cpu: Cpu::new(cfg.cores),
            disk: Disk::new(cfg.disk_mb_per_s, cfg.fsync_us),
            cfg: cfg.clone(),
        }
    }

    /// Charge the CPU for handling a request carrying `load`; returns when done.
    pub fn handle(&mut self, now_us: u64, load: RecordLoad) -> u64 {
        let cost = crate::record_cost::cpu_cost_us(&self.cfg, load);
        self.cpu.run(now_us, cost)
    }

    /// Queues emptied by a crash; the busy counters (history) and a disk
    /// degradation (the hardware, not the process) stay.
    /// Work still queued at `now_us` never runs, so it leaves the busy time too.
    pub fn reset_queues(&mut self, now_us: u64) {
        let busy_cpu = self.cpu.busy_us_at(now_us);
        let busy_disk = self.disk.busy_us_at(now_us);
        let slow = self.disk.slowdown();
        *self = BrokerResources::new(&self.cfg);
        self.cpu.busy_us = busy_cpu;
        self.disk.busy_us = busy_disk;
        self.disk.set_slowdown(slow);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slow_disk_divides_bandwidth_and_multiplies_fsync() {
        let mut d = Disk::new(100.0, 1_000);
        assert_eq!(d.write(0, 1_000_000, true), 10_000 + 1_000);
        d.set_slowdown(Some(Slowdown {
            bandwidth_divisor: 4.0,
            fsync_multiplier: 10.0,
        }));
        let start = 11_000;
        assert_eq!(d.write(start, 1_000_000, true), start + 40_000 + 10_000);
        d.set_slowdown(None);
        assert_eq!(d.write(100_000, 100, false), 100_001);
    }

    #[test]
    fn a_crash_drops_queued_cpu_work_and_keeps_what_ran() {
        let mut c = Cpu::new(1);
        assert_eq!(c.run(0, 100), 100);
        assert_eq!(c.run(0, 100), 200);
        c.reset_queues(150);
        assert_eq!(
            c.busy_us_at(150),
            150,
            "the half-done second job counts as far as it ran"
        );
        assert_eq!(c.run(150, 10), 160, "the queue is empty after the crash");
    }

    #[test]
    fn a_crash_keeps_the_disk_degradation() {
        let mut r = BrokerResources::new(&ResourceConfig::default());
        let slow = Slowdown {
            bandwidth_divisor: 2.0,
            fsync_multiplier: 3.0,
        };
        r.disk.set_slowdown(Some(slow));
        r.reset_queues(0);
        assert_eq!(r.disk.slowdown(), Some(slow));
    }
}
