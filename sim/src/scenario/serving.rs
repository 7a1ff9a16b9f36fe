//! Refusals for `[serving]`: settings the serving layer cannot run with, named by field.

use super::model::Scenario;
use super::problem::{fail, positive, Problem};

const YEAR_S: f64 = 86_400.0 * 365.0;
const HOUR_MS: u64 = 3_600_000;

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
    if !(0.001..=1_000_000.0).contains(&v.reads_per_s) {
        return fail(
            "serving.reads_per_s",
            format!(
                "{} reads/s is outside what one simulated reader can issue (0.001 to 1,000,000)",
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
    for (field, secs) in [("serving.ttl_s", v.ttl_s), ("serving.recent_s", v.recent_s)] {
        if secs > YEAR_S {
            return fail(field, format!("must be at most a year of seconds, got {secs}"));
        }
    }
    for (field, ms) in [
        ("serving.max_staleness_ms", v.max_staleness_ms),
        ("serving.cache_timeout_ms", v.cache_timeout_ms),
        ("serving.cache_retry_ms", v.cache_retry_ms),
        ("serving.db_timeout_ms", v.db_timeout_ms),
    ] {
        if ms > HOUR_MS {
            return fail(field, format!("must be at most an hour ({HOUR_MS} ms), got {ms}"));
        }
    }
    for (field, us) in [
        ("serving.db_read_us", v.db_read_us),
        ("serving.cache_op_us", v.cache_op_us),
    ] {
        if us > 10_000_000 {
            return fail(field, format!("must be at most 10 s (10000000 µs) of work, got {us}"));
        }
    }
    Ok(())
}
