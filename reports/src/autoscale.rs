//! What broker autoscaling did in a run: its size range, each change of
//! size, and the members' mean CPU each decision period looked at.

use serde::{Deserialize, Serialize};

/// One change of the cluster's size.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScaleEventResult {
    /// When the size changed, virtual ms: a joining broker is admitted at the
    /// decision (it registers and takes replicas after), a leaving one leaves
    /// once its replicas have moved off.
    pub at_ms: u64,
    /// Brokers before.
    pub from: usize,
    /// Brokers after.
    pub to: usize,
}

/// The members' mean CPU over one decision period.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq)]
pub struct AutoscalePeriod {
    /// End of the period, virtual ms.
    pub at_ms: u64,
    /// Brokers in the cluster during it.
    pub brokers: usize,
    /// Their mean CPU, a share of their cores (0 to 1).
    pub cpu: f64,
}

/// Broker autoscaling, present when the scenario has `[autoscale]`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct AutoscaleResult {
    /// Brokers the cluster starts with and never goes below.
    pub min_brokers: usize,
    /// Provisioned broker slots.
    pub max_brokers: usize,
    /// The scale-out threshold, a share of CPU.
    pub cpu_scale_out: f64,
    /// The scale-in threshold, a share of CPU.
    pub cpu_scale_in: f64,
    /// Every change of size, in time order.
    pub scale_events: Vec<ScaleEventResult>,
    /// Partition reassignments that completed.
    pub reassignments: u64,
    /// Each decision period's mean CPU.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub periods: Vec<AutoscalePeriod>,
}

impl AutoscaleResult {
    /// Brokers in the cluster at `at_ms`.
    pub fn brokers_at(&self, at_ms: u64) -> usize {
        self.scale_events
            .iter()
            .take_while(|e| e.at_ms <= at_ms)
            .last()
            .map_or(self.min_brokers, |e| e.to)
    }

    /// The report's section: each change of size, and the reassignments.
    pub fn markdown(&self) -> String {
        let mut s = format!(
            "\n## Autoscaling\n\n{} to {} brokers, out above {:.0}% mean CPU, in below {:.0}%; {} reassignments completed.\n\n",
            self.min_brokers,
            self.max_brokers,
            self.cpu_scale_out * 100.0,
            self.cpu_scale_in * 100.0,
            self.reassignments
        );
        if self.scale_events.is_empty() {
            s.push_str("The cluster kept its size.\n");
            return s;
        }
        s.push_str("| at (virtual) | brokers |\n| ---: | --- |\n");
        for e in &self.scale_events {
            s.push_str(&format!(
                "| {:.1} s | {} -> {} |\n",
                e.at_ms as f64 / 1000.0,
                e.from,
                e.to
            ));
        }
        s
    }

    /// The summary line: the range, the peak size, and each change.
    pub fn summary_line(&self) -> String {
        let peak = self
            .scale_events
            .iter()
            .map(|e| e.to)
            .max()
            .unwrap_or(self.min_brokers)
            .max(self.min_brokers);
        let steps: Vec<String> = self
            .scale_events
            .iter()
            .map(|e| format!("{}->{} at {:.1} s", e.from, e.to, e.at_ms as f64 / 1000.0))
            .collect();
        format!(
            "  autoscale      {} to {} brokers, peak {peak}, {} reassignments; {}",
            self.min_brokers,
            self.max_brokers,
            self.reassignments,
            if steps.is_empty() {
                "no scaling".to_string()
            } else {
                steps.join(", ")
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_size_at_a_time_follows_the_events() {
        let a = AutoscaleResult {
            min_brokers: 3,
            max_brokers: 6,
            scale_events: vec![
                ScaleEventResult {
                    at_ms: 4000,
                    from: 3,
                    to: 4,
                },
                ScaleEventResult {
                    at_ms: 9000,
                    from: 4,
                    to: 3,
                },
            ],
            ..Default::default()
        };
        assert_eq!(a.brokers_at(0), 3);
        assert_eq!(a.brokers_at(4000), 4);
        assert_eq!(a.brokers_at(8999), 4);
        assert_eq!(a.brokers_at(9000), 3);
        assert!(
            a.summary_line().contains("3->4 at 4.0 s, 4->3 at 9.0 s"),
            "{}",
            a.summary_line()
        );
        assert!(a.markdown().contains("| 9.0 s | 4 -> 3 |"), "{}", a.markdown());
    }
}
