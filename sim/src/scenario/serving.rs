//! Refusals for `[serving]`: settings the serving layer cannot run with, named by field.

use super::model::Scenario;
use super::problem::{fail, positive, Problem};

/// Check the `[serving]` section (nothing to check when it is off) and its budget.
pub(super) fn validate(s: &Scenario) -> Result<(), Problem> {
    let v = &s.serving;
    if let Some(b) = s.budgets.read_p99_ms {
        if !b.is_finite() || b < super::CLOCK_RESOLUTION_MS {
            return fail(
                "budgets.read_p99_ms",
                format!("budget {b} ms is below the simulation's clock resolution of 1 ms and cannot be judged"),
            );
        }
        if !v.enabled() {
            return fail(
                "budgets.read_p99_ms",
                "a read latency budget needs a query load: set [serving] reads_per_s",
            );
        }
    }
    if !(v.reads_per_s.is_finite() && v.reads_per_s >= 0.0) {
        return fail(
            "serving.reads_per_s",
            format!("must be a rate, 0 (no serving layer) or more, got {}", v.reads_per_s),
        );
    }
    if !v.enabled() {
        return Ok(());
    }
    if v.reads_per_s > 1_000_000.0 {
        return fail(
            "serving.reads_per_s",
            format!(
                "{} reads/s is past what one simulated reader can issue (at most 1,000,000)",
                v.reads_per_s
            ),
        );
    }
    if s.processor.instances == 0 {
        return fail(
            "serving.reads_per_s",
            "the serving layer reads what the processor writes to the sink: add a [processor] section",
        );
    }
    if !(0.0..=1.0).contains(&v.recent_share) {
        return fail(
            "serving.recent_share",
            format!("must be a share in [0, 1], got {}", v.recent_share),
        );
    }
    positive("serving.recent_s", v.recent_s)?;
    positive("serving.ttl_s", v.ttl_s)?;
    for (field, n) in [
        ("serving.capacity", v.capacity as u64),
        ("serving.max_staleness_ms", v.max_staleness_ms),
        ("serving.cache_timeout_ms", v.cache_timeout_ms),
        ("serving.db_timeout_ms", v.db_timeout_ms),
        ("serving.db_read_us", v.db_read_us),
    ] {
        if n == 0 {
            return fail(field, "must be at least 1");
        }
    }
    if v.ttl_s > 86_400.0 * 365.0 {
        return fail(
            "serving.ttl_s",
            format!("must be at most a year of seconds, got {}", v.ttl_s),
        );
    }
    Ok(())
}
