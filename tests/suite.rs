//! The integration tests, one module per file, built as one test binary:
//! dozens of binaries each linking the whole simulator took longer to build
//! than to run, and one binary lets the harness keep both cores busy across
//! files. `cargo test --release --test suite -- cli::` runs one file's tests.

mod common;

mod autoscale;
mod calibration;
mod chaos_library;
mod ci_workflow;
mod cli;
mod cli_ui;
mod client_order;
mod client_resources;
mod delivery_timeout;
mod diff_cli;
mod gateway_dedup;
mod gateway_resources;
mod hot_keys;
mod lake;
mod lake_transactions;
mod latency;
mod layering;
mod library;
mod long_poll;
mod omb_files;
mod omb_workload;
mod page_cache;
mod read_path;
mod record_cost;
mod replay;
mod report_files;
mod scenario_fuzz;
mod serving;
mod shrink;
mod sizing;
mod subscriptions;
mod summary_catch_up;
mod sweep_cli;
mod throughput;
mod transactions;
mod txn_bounded;
mod txn_eos_v2;
mod txn_hanging;
mod txn_state_log;
mod txn_state_partition;
mod txn_subscriptions;
mod user_api;
mod user_crate;
mod workload_stream;
