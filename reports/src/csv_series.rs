//! `timeseries.csv`: the run's buckets as one wide table, for spreadsheets
//! and notebooks.
//!
//! Columns, in order: `start_s`, the counts (`offered`, `sent`, `acked`,
//! `sent_bytes`, `acked_bytes`, `appended`), `ack_p50_ms`/`p99`/`p999`,
//! per partition `p<i>_appends` then `p<i>_hw_lag`, per broker
//! `b<i>_cpu`/`disk`/`nic`/`dirty`; with a read path `sunk`, the `e2e_*`
//! percentiles and `p<i>_consumer_lag`; with a cold path
//! `lake_freshness_s`; with a rate limit `rate_limited`; with a serving
//! layer `reads`, `read_hit_ratio` and the `read_*` percentiles; last, when
//! the run sampled them, the gateways' and the clients' busy fractions
//! (`gateway_cpu_max`, `gateway_cpu_mean`, `gateway_nic_max`,
//! `gateway_nic_mean`, `client_cpu_max`, `client_cpu_mean`, `client_nic_max`,
//! `client_nic_mean`: the busiest node's and the mean over the nodes).

use std::io;

use crate::model::{Percentiles, RunReport};
use crate::text::decimal;
use crate::ClientsUtilisation;

/// Column count per bucket is fixed by the widest bucket, so a bucket that
/// lost a partition or broker entry still lines up with the header.
pub fn timeseries_csv(report: &RunReport) -> io::Result<Vec<u8>> {
    let partitions = partitions(report);
    let brokers = brokers(report);

    let mut header: Vec<String> = [
        "start_s",
        "offered",
        "sent",
        "acked",
        "sent_bytes",
        "acked_bytes",
        "appended",
        "ack_p50_ms",
        "ack_p99_ms",
        "ack_p999_ms",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    header.extend((0..partitions).map(|p| format!("p{p}_appends")));
    header.extend((0..partitions).map(|p| format!("p{p}_hw_lag")));
    for b in 0..brokers {
        header.extend(["cpu", "disk", "nic", "dirty"].map(|r| format!("b{b}_{r}")));
    }
    // The read path's columns come last, so write-path readers of the file see the same layout.
    let read = report.e2e_latency_us.is_some();
    if read {
        header.extend(["sunk", "e2e_p50_ms", "e2e_p99_ms", "e2e_p999_ms"].map(String::from));
        header.extend((0..partitions).map(|p| format!("p{p}_consumer_lag")));
    }
    // The cold path's column after those (empty after the workload, when it is not sampled).
    let lake = report.result.lake.is_some();
    if lake {
        header.push("lake_freshness_s".into());
    }
    // With a gateway rate limit, its refusals per bucket last.
    let rate_limit = report.result.rate_limited.is_some();
    if rate_limit {
        header.push("rate_limited".into());
    }
    // The serving layer's columns last.
    let serving = report.result.serving.is_some();
    if serving {
        header.extend(["reads", "read_hit_ratio", "read_p50_ms", "read_p99_ms", "read_p999_ms"].map(String::from));
    }
    // The gateways' and the clients' utilisation after everything else, so that earlier readers
    // of the file find their columns where they were.
    let gateways = report.buckets.iter().any(|b| !b.gateways.is_empty());
    if gateways {
        header.extend(NODE_COLUMNS.map(|c| format!("gateway_{c}")));
    }
    let clients = report.buckets.iter().any(|b| b.clients.is_some());
    if clients {
        header.extend(NODE_COLUMNS.map(|c| format!("client_{c}")));
    }

    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&header)?;
    for bucket in &report.buckets {
        let mut row = vec![
            decimal(bucket.start_ms as f64 / 1000.0, 3),
            bucket.offered.to_string(),
            bucket.sent.to_string(),
            bucket.acked.to_string(),
            bucket.sent_bytes.to_string(),
            bucket.acked_bytes.to_string(),
            bucket.appended.to_string(),
        ];
        row.extend(latency_cells(&bucket.ack_latency_ms, bucket.acked));
        let at = |v: &[u64], i: usize| v.get(i).copied().unwrap_or(0).to_string();
        row.extend((0..partitions).map(|p| at(&bucket.partition_appends, p)));
        row.extend((0..partitions).map(|p| at(&bucket.partition_hw_lag, p)));
        for b in 0..brokers {
            let u = bucket.brokers.get(b).copied().unwrap_or_default();
            row.extend([u.cpu, u.disk, u.nic, u.dirty].map(|f| decimal(f, 4)));
        }
        if read {
            row.push(bucket.sunk.to_string());
            row.extend(latency_cells(&bucket.e2e_latency_ms, bucket.sunk));
            row.extend((0..partitions).map(|p| at(&bucket.consumer_lag, p)));
        }
        if lake {
            row.push(bucket.lake_freshness_s.map_or(String::new(), |f| decimal(f, 3)));
        }
        if rate_limit {
            row.push(bucket.rate_limited.to_string());
        }
        if serving {
            let r = bucket.serving.unwrap_or_default();
            row.push(r.reads.to_string());
            row.push(if r.reads > 0 {
                decimal(r.hits as f64 / r.reads as f64, 4)
            } else {
                String::new()
            });
            row.extend(latency_cells(&r.latency_ms, r.reads));
        }
        if gateways {
            row.extend(node_cells(&ClientsUtilisation::of(&bucket.gateways)));
        }
        if clients {
            row.extend(node_cells(&bucket.clients.unwrap_or_default()));
        }
        w.write_record(&row)?;
    }
    w.into_inner().map_err(|e| io::Error::other(e.to_string()))
}

/// The busiest node's and the mean CPU and NIC, in the order of [`NODE_COLUMNS`].
const NODE_COLUMNS: [&str; 4] = ["cpu_max", "cpu_mean", "nic_max", "nic_mean"];

/// The cells of [`NODE_COLUMNS`] for one bucket.
fn node_cells(u: &ClientsUtilisation) -> [String; 4] {
    [u.max.cpu, u.mean.cpu, u.max.nic, u.mean.nic].map(|f| decimal(f, 4))
}

/// p50, p99 and p99.9 of a bucket in which `count` events were measured.
/// A bucket with none has no latency: its cells are empty, which
/// spreadsheets and pandas read as missing, where 0 would read as instant.
fn latency_cells(p: &Percentiles, count: u64) -> [String; 3] {
    if count == 0 {
        return [String::new(), String::new(), String::new()];
    }
    [p.p50, p.p99, p.p999].map(|v| decimal(v, 3))
}

/// Partitions shown: the topology's count, or more if a bucket carries more.
pub fn partitions(report: &RunReport) -> usize {
    report
        .buckets
        .iter()
        .map(|b| b.partition_appends.len().max(b.partition_hw_lag.len()))
        .fold(report.partitions, usize::max)
}

/// Brokers shown: the topology's count, or more if a bucket carries more.
pub fn brokers(report: &RunReport) -> usize {
    report
        .buckets
        .iter()
        .map(|b| b.brokers.len())
        .fold(report.brokers, usize::max)
}
