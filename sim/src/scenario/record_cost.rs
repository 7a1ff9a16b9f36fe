//! Refusals for the brokers' CPU costs per record and per batch
//! (`[resources] cpu_per_record_us`, `cpu_per_batch_us`).

use super::problem::{fail, Problem};
use crate::config::ResourceConfig;

/// Refuse a per-record or per-batch cost that is negative or not a number:
/// the CPU queue would run time backwards or never finish.
pub(super) fn validate(r: &ResourceConfig) -> Result<(), Problem> {
    for (field, v) in [
        ("resources.cpu_per_record_us", r.cpu_per_record_us),
        ("resources.cpu_per_batch_us", r.cpu_per_batch_us),
    ] {
        if !(v.is_finite() && v >= 0.0) {
            return fail(field, format!("must be a finite number of µs, 0 or more, got {v}"));
        }
    }
    Ok(())
}
