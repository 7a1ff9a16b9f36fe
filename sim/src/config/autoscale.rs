//! `[autoscale]`: brokers added when the cluster's CPU runs hot and retired
//! when it idles, each change carried out by moving partition replicas
//! (Kafka's partition reassignment) under a replication throttle.
//! Off by default (`max_brokers = 0`).

use serde::{Deserialize, Serialize};

/// `[autoscale]`: the size range, the CPU thresholds, how often the decision
/// is taken, and how fast a moving replica may copy its partition.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AutoscaleConfig {
    /// Brokers the cluster starts with and never goes below (`topology.brokers` must match).
    pub min_brokers: usize,
    /// Provisioned broker slots: the most brokers the cluster grows to (0: no autoscaling).
    pub max_brokers: usize,
    /// Scale out when the members' mean CPU over a period is above this share.
    pub cpu_scale_out: f64,
    /// Scale in when it is below this share.
    pub cpu_scale_in: f64,
    /// How often the decision looks at the mean CPU of the last period, virtual seconds.
    pub period_s: f64,
    /// After a scaling step completes, no other one starts for this long, virtual seconds.
    pub cooldown_s: f64,
    /// Bytes per second a broker may send to the replicas it is moving onto
    /// others, MB/s (Kafka's `leader.replication.throttled.rate`).
    pub reassignment_throttle_mb_s: f64,
    /// Remove a moving partition's old replica as soon as the move starts,
    /// before the new one has copied the partition and joined the ISR. Unsafe:
    /// the partition runs on fewer copies than its replication factor for the
    /// whole copy, and a crash then can lose acknowledged records. Kept as a
    /// negative control.
    pub drop_old_replica_first: bool,
}

impl Default for AutoscaleConfig {
    fn default() -> Self {
        AutoscaleConfig {
            min_brokers: 0,
            max_brokers: 0,
            // The 300M-events/day platform scaled out at 70% CPU.
            cpu_scale_out: 0.70,
            cpu_scale_in: 0.30,
            period_s: 2.0,
            cooldown_s: 4.0,
            reassignment_throttle_mb_s: 10.0,
            drop_old_replica_first: false,
        }
    }
}

impl AutoscaleConfig {
    /// Whether the cluster scales at all.
    pub fn enabled(&self) -> bool {
        self.max_brokers > 0
    }

    /// Whether the section is left at its defaults (kept out of a written scenario).
    pub fn is_off(&self) -> bool {
        *self == AutoscaleConfig::default()
    }

    /// The section in one line, for summaries.
    pub fn describe(&self) -> String {
        format!(
            "{} to {} brokers, out above {:.0}% CPU, in below {:.0}%, every {} s, cool-down {} s, throttle {} MB/s{}",
            self.min_brokers,
            self.max_brokers,
            self.cpu_scale_out * 100.0,
            self.cpu_scale_in * 100.0,
            self.period_s,
            self.cooldown_s,
            self.reassignment_throttle_mb_s,
            if self.drop_old_replica_first {
                ", old replica dropped first (unsafe)"
            } else {
                ""
            }
        )
    }
}
