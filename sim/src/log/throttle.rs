//! The replication throttle of a reassignment (Kafka's
//! `leader.replication.throttled.rate`): a leader sends the replicas being
//! added at most this many bytes a second, over all the partitions it leads,
//! so copying a partition does not starve the in-sync followers and the
//! producers. A token bucket of a tenth of a second's worth, so a copy starts
//! at the rate rather than with a burst of a whole partition.

/// The bucket holds this many microseconds of the rate.
const BURST_US: f64 = 100_000.0;

/// A leader's bucket for its throttled replicas.
#[derive(Debug, Clone)]
pub(super) struct Throttle {
    bytes_per_us: f64,
    tokens: f64,
    last_us: u64,
}

impl Throttle {
    /// A full bucket of `mb_per_s` MB/s at `now_us`.
    pub(super) fn new(mb_per_s: f64, now_us: u64) -> Self {
        Throttle {
            bytes_per_us: mb_per_s,
            tokens: mb_per_s * BURST_US,
            last_us: now_us,
        }
    }

    /// Bytes a throttled replica may be sent now (0: none until the bucket refills).
    pub(super) fn allowance(&mut self, now_us: u64) -> u64 {
        let burst = self.bytes_per_us * BURST_US;
        self.tokens = (self.tokens + now_us.saturating_sub(self.last_us) as f64 * self.bytes_per_us).min(burst);
        self.last_us = self.last_us.max(now_us);
        if self.tokens >= 1.0 {
            self.tokens as u64
        } else {
            0
        }
    }

    /// `bytes` were sent: a batch larger than the allowance leaves the bucket in debt.
    pub(super) fn spend(&mut self, bytes: u64) {
        self.tokens -= bytes as f64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_holds_a_tenth_of_a_second_of_rate_and_refills_at_it() {
        let mut t = Throttle::new(2.0, 0);
        assert_eq!(t.allowance(0), 200_000);
        t.spend(700_000);
        // In debt: nothing until the debt is paid back at 2 bytes a microsecond.
        assert_eq!(t.allowance(200_000), 0);
        assert_eq!(t.allowance(300_000), 100_000);
        // Never more than a tenth of a second's worth, however long it idles.
        assert_eq!(t.allowance(60_000_000), 200_000);
    }
}
