//! The settings protocol code runs with: acks, the log, the producer,
//! clients, gateways, the network, broker resources, the processor and its
//! windows, the sink, the lake, the serving layer, budgets.
//!
//! A leaf: nothing here imports anything else of the crate, so every
//! protocol module can depend on it without depending on the scenario
//! parser, which builds these types from a file (and re-exports them, so
//! `scenario::LogConfig` names the same type).

mod autoscale;
mod checks;
mod client;
mod cluster;
mod gateway;
mod hot_keys;
mod lake;
mod log;
mod pipeline;
mod serving;
mod subscription;
mod window;

pub use autoscale::AutoscaleConfig;
pub use checks::{Budgets, InvariantConfig};
pub use client::ClientConfig;
pub use cluster::{
    Balancer, NetworkConfig, ResourceConfig, Topology, DEFAULT_CPU_PER_BATCH_US, DEFAULT_CPU_PER_RECORD_US,
};
pub use gateway::{DedupScope, GatewayConfig};
pub use hot_keys::{routing_key, RateLimitBy, RateLimitConfig, SaltConfig, SALTABLE_KEYS};
pub use lake::{default_tiers, LakeCommit, LakeConfig, LakeTier, GCS_STANDARD_USD_PER_GB_MONTH};
pub use log::{Acks, FlushPolicy, LogConfig, ProducerConfig, Truncation};
pub use pipeline::{Delivery, Isolation, ProcessorConfig, SinkConfig, WindowSpec};
pub use serving::{ServingConfig, WritePolicy};
pub use subscription::{OffsetReset, PlantedBug, SubscriptionConfig};
pub use window::{OperatorConfig, Window, WindowKind};
