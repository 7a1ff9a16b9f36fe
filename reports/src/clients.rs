//! The clients' CPU and NIC, aggregated: a run may have hundreds of
//! clients, so each bucket keeps the mean over them and the busiest, and the
//! run keeps their peaks and means.

use serde::{Deserialize, Serialize};

use crate::model::{Bucket, Utilisation};

/// The clients' busy fractions in one bucket (CPU and NIC; a client has no disk).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq)]
pub struct ClientsUtilisation {
    /// Mean over the clients.
    pub mean: Utilisation,
    /// The busiest client's, per resource (the CPU's and the NIC's may be two clients).
    pub max: Utilisation,
}

impl ClientsUtilisation {
    /// The mean and the busiest of `clients`.
    pub fn of(clients: &[Utilisation]) -> Self {
        let n = clients.len().max(1) as f64;
        let mut out = ClientsUtilisation::default();
        for u in clients {
            out.mean.cpu += u.cpu / n;
            out.mean.nic += u.nic / n;
            out.max.cpu = out.max.cpu.max(u.cpu);
            out.max.nic = out.max.nic.max(u.nic);
        }
        out
    }
}

/// The clients' busy fractions over a run, each in `[0, 1]`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq)]
pub struct ClientUtilisation {
    /// Number of clients.
    pub clients: usize,
    /// The busiest client's CPU in its busiest bucket.
    pub cpu_peak: f64,
    /// Mean CPU over the clients and the run's buckets.
    pub cpu_mean: f64,
    /// The busiest client's NIC egress in its busiest bucket.
    pub nic_peak: f64,
    /// Mean NIC egress over the clients and the run's buckets.
    pub nic_mean: f64,
}

impl ClientUtilisation {
    /// Peaks and means of `clients` clients over `buckets` (drain included).
    pub fn over(clients: usize, buckets: &[Bucket]) -> Self {
        let series: Vec<ClientsUtilisation> = buckets.iter().filter_map(|b| b.clients).collect();
        let n = series.len().max(1) as f64;
        ClientUtilisation {
            clients,
            cpu_peak: series.iter().map(|u| u.max.cpu).fold(0.0, f64::max),
            cpu_mean: series.iter().map(|u| u.mean.cpu).sum::<f64>() / n,
            nic_peak: series.iter().map(|u| u.max.nic).fold(0.0, f64::max),
            nic_mean: series.iter().map(|u| u.mean.nic).sum::<f64>() / n,
        }
    }
}
