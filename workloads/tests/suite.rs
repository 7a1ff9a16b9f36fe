//! The integration tests, one module per file, built as one test binary:
//! dozens of binaries each linking the crate took longer to build
//! than to run, and one binary lets the harness keep both cores busy across
//! files. `cargo test --release --test suite -- cli::` runs one file's tests.

mod common;

mod csv_export;
mod determinism;
mod event_shape;
mod keys;
mod omb;
mod rates;
mod validation;
