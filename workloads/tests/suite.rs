//! The integration tests, one module per file, built as one test binary, as
//! the workspace's other crates do: a binary per file each linked the crate
//! again, and one binary lets the harness keep both cores busy across files.
//! `cargo test --release --test suite -- keys::` runs one file's tests.

mod common;

mod csv_export;
mod determinism;
mod event_shape;
mod keys;
mod omb;
mod rates;
mod validation;
