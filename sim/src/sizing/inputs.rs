//! The sizing question: volume, shape of the day, retention, replication,
//! the failure to survive, budgets, machines and the search's limits.

use crate::scenario::machine;
use serde::Serialize;

/// The failure a sizing answer must survive at the peak.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Survive {
    /// No failure.
    None,
    /// The busiest broker crashes and restarts.
    Broker,
    /// A third of the brokers are cut off.
    Zone,
}

/// The question.
#[derive(Clone, Debug, Serialize)]
pub struct SizingInputs {
    /// Events a day.
    pub events_per_day: u64,
    /// Peak rate over the day's mean.
    pub peak_factor: f64,
    /// Payload bytes per event.
    pub event_bytes: u64,
    /// Days the log keeps.
    pub retention_days: f64,
    /// Replicas per partition.
    pub replication_factor: usize,
    /// What the cluster must survive at the peak.
    pub survive: Survive,
    /// Acknowledgement p99 budget over the peak window, failure included, ms.
    pub ack_p99_ms: Option<f64>,
    /// End-to-end p99 budget, ms.
    pub e2e_p99_ms: Option<f64>,
    /// Machine profiles to consider.
    pub machines: Vec<String>,
    /// Highest CPU, disk and NIC utilisation allowed, and the fullest the disks may be.
    pub headroom: f64,
    /// Largest broker count searched.
    pub max_brokers: usize,
    /// Seed of every candidate's run.
    pub seed: u64,
}

impl SizingInputs {
    /// The project's defaults, after the seed platforms: 1 KiB events, peak 3x the mean,
    /// 7 days, RF 3, surviving a broker, every priced profile, 70% headroom.
    pub fn new(events_per_day: u64) -> Self {
        SizingInputs {
            events_per_day,
            peak_factor: 3.0,
            event_bytes: 1024,
            retention_days: 7.0,
            replication_factor: 3,
            survive: Survive::Broker,
            ack_p99_ms: None,
            e2e_p99_ms: None,
            machines: machine::built_in()
                .into_iter()
                .filter(|m| m.price_per_hour_usd.is_some())
                .map(|m| m.name)
                .collect(),
            headroom: 0.7,
            max_brokers: 24,
            seed: 1,
        }
    }
}
