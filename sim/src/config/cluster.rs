//! The cluster's shape and the machines it runs on: brokers, partitions,
//! replication, gateways and clients, the default link model, and each
//! broker's CPU, disk, NIC and page cache.

use serde::{Deserialize, Serialize};

/// How clients pick a gateway.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum Balancer {
    /// Each request to the next gateway in turn.
    #[default]
    RoundRobin,
    /// The gateway with the fewest requests in flight from this client.
    LeastConnections,
    /// By hash of the event key on a ring of virtual nodes, so a key sticks to a gateway.
    ConsistentHash,
}

/// Cluster shape.
#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields, default)]
pub struct Topology {
    /// Number of brokers.
    pub brokers: usize,
    /// Partitions of the events topic.
    pub partitions: usize,
    /// Replicas per partition.
    pub replication_factor: usize,
    /// Gateway instances behind the balancer.
    pub gateways: usize,
    /// Simulated clients sharing the workload.
    pub clients: usize,
    /// How clients spread requests over gateways.
    pub balancer: Balancer,
    /// A machine profile for the brokers (`profiles/*.toml`): its CPU, disk,
    /// NIC, memory and price; `[resources]` settings override its figures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub machine: Option<String>,
}

impl Default for Topology {
    fn default() -> Self {
        Topology {
            brokers: 3,
            partitions: 12,
            replication_factor: 3,
            gateways: 2,
            clients: 16,
            balancer: Balancer::RoundRobin,
            machine: None,
        }
    }
}

/// A link model.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkConfig {
    /// Fixed one-way latency, microseconds.
    pub latency_base_us: u64,
    /// Mean of the exponential jitter added to the base, microseconds.
    pub latency_jitter_us: u64,
    /// Probability that a message is dropped.
    pub loss: f64,
    /// Probability that a message is delivered twice.
    pub duplicate: f64,
    /// Probability that a message is held back by up to `reorder_max_ms`.
    pub reorder: f64,
    /// Largest extra delay of a reordered message.
    pub reorder_max_ms: u64,
    /// Messages are delivered on this grid of microseconds: 1 delivers each
    /// when it arrives; 1000 rounds every hop up to the millisecond, as
    /// the harness did before it had sub-millisecond wake-ups.
    pub delivery_quantum_us: u64,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        // Same-zone datacenter round trips are 0.2 to 0.5 ms.
        NetworkConfig {
            latency_base_us: 150,
            latency_jitter_us: 50,
            loss: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            reorder_max_ms: 10,
            delivery_quantum_us: 1,
        }
    }
}

/// Default `cpu_per_record_us`: an estimate, see docs/RESOURCES.md.
pub const DEFAULT_CPU_PER_RECORD_US: f64 = 0.5;
/// Default `cpu_per_batch_us`: an estimate, see docs/RESOURCES.md.
pub const DEFAULT_CPU_PER_BATCH_US: f64 = 5.0;

/// Per-broker resources. Defaults model an i3en.2xlarge-class broker
/// (8 vCPU, NVMe, 25 Gbit/s); see docs/RESOURCES.md for the calibration.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ResourceConfig {
    /// CPU cores.
    pub cores: usize,
    /// CPU cost of handling one request, microseconds.
    pub cpu_per_request_us: f64,
    /// CPU cost per KiB of payload handled, microseconds.
    pub cpu_per_kib_us: f64,
    /// CPU cost per record of a leader's produce request, microseconds
    /// (followers and consumers' fetches do not walk the records).
    pub cpu_per_record_us: f64,
    /// CPU cost per record batch a leader takes or a follower appends,
    /// microseconds.
    pub cpu_per_batch_us: f64,
    /// Sequential disk write bandwidth, MB/s.
    pub disk_mb_per_s: f64,
    /// Latency of one fsync, microseconds.
    pub fsync_us: u64,
    /// NIC bandwidth, Gbit/s.
    pub nic_gbps: f64,
    /// Memory the kernel can use for the page cache, MiB: the machine's RAM
    /// less the broker's heap and the OS. The dirty ratios are percentages of it.
    pub page_cache_mb: u64,
    /// `vm.dirty_background_ratio`: above this share of dirty pages the
    /// kernel starts writing back in the background.
    pub dirty_background_ratio: u32,
    /// `vm.dirty_ratio`: at this share of dirty pages (and pages under
    /// writeback) a writer blocks until writeback brings it back down.
    pub dirty_ratio: u32,
    /// `vm.dirty_expire_centisecs`: data dirty this long is written back at
    /// the flusher's next wake-up, whatever the ratios say.
    pub dirty_expire_centisecs: u64,
    /// `vm.dirty_writeback_centisecs`: how often the flusher threads wake.
    pub dirty_writeback_centisecs: u64,
}

impl Default for ResourceConfig {
    fn default() -> Self {
        ResourceConfig {
            cores: 8,
            cpu_per_request_us: 25.0,
            cpu_per_kib_us: 2.0,
            cpu_per_record_us: DEFAULT_CPU_PER_RECORD_US,
            cpu_per_batch_us: DEFAULT_CPU_PER_BATCH_US,
            disk_mb_per_s: 1_000.0,
            fsync_us: 1_000,
            nic_gbps: 25.0,
            // 64 GiB of RAM less a 6 GiB heap and about 1 GiB for the OS.
            page_cache_mb: 57 * 1024,
            // Linux's defaults.
            dirty_background_ratio: 10,
            dirty_ratio: 20,
            dirty_expire_centisecs: 3_000,
            dirty_writeback_centisecs: 500,
        }
    }
}
