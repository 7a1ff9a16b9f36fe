//! The replicated log with Kafka's semantics: partition logs with leader
//! epochs, idempotent producers, ISR and high watermark on the leader,
//! follower fetching and truncation, and a controller that fences silent
//! brokers and elects leaders.

pub mod broker;
mod consumer_fetch;
pub mod controller;
pub mod counted_prefix;
pub mod disk;
mod follower;
pub mod idempotence;
pub mod last_stable_offset;
mod leader;
pub mod metadata;
pub mod page_cache;
pub mod partition_change;
pub mod partition_log;
pub mod producer_ids;
pub mod reassignment;
mod replica;
mod scaling;
pub mod summary_span;
mod throttle;
pub mod transaction_coordinator;
mod transaction_host;
pub mod transaction_ledger;
mod transaction_markers;
pub mod transaction_metadata;
pub mod transaction_reads;
pub mod transaction_state_log;
mod transaction_state_writes;
pub mod truncation;
mod txn_offset_commit;
pub mod txn_offsets;

pub use disk::{assign_replicas, BrokerDisk};
pub use partition_log::PartitionLog;
