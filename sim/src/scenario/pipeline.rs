//! Validation of the read path's scenario sections (`[processor]`, `[sink]`),
//! whose types live in [`crate::config`].

use super::model::Scenario;
use super::problem::{cpu_cost, Refusals};
use crate::config::WindowSpec;

/// The longest processor de-duplication TTL a scenario may ask for, s.
const MAX_DEDUP_TTL_S: f64 = 2_592_000.0;

/// Refuse read-path settings that cannot run, naming the field.
pub(super) fn validate(s: &Scenario, out: &mut Refusals) {
    let p = &s.processor;
    if p.instances == 0 {
        let b = &s.budgets;
        for (field, set) in [
            ("budgets.e2e_p50_ms", b.e2e_p50_ms.is_some()),
            ("budgets.e2e_p99_ms", b.e2e_p99_ms.is_some()),
            ("budgets.e2e_p999_ms", b.e2e_p999_ms.is_some()),
            ("budgets.max_drain_s", b.max_drain_s.is_some()),
        ] {
            if set {
                out.fail(field, "needs a read path: set [processor] instances to 1 or more");
            }
        }
        return;
    }
    if s.log.retention_ms < p.commit_interval_ms {
        out.fail(
            "log.retention_ms",
            format!(
                "retention of {} ms is shorter than the processor's checkpoint interval of {} ms: the log would delete records before any checkpoint could cover them",
                s.log.retention_ms, p.commit_interval_ms
            ),
        );
    }
    for (field, v) in [
        ("processor.commit_interval_ms", p.commit_interval_ms),
        ("processor.heartbeat_interval_ms", p.heartbeat_interval_ms),
        ("processor.rebalance_timeout_ms", p.rebalance_timeout_ms),
        ("processor.fetch_max_wait_ms", p.fetch_max_wait_ms),
        ("processor.sink_timeout_ms", p.sink_timeout_ms),
        ("processor.sink_retry_backoff_ms", p.sink_retry_backoff_ms),
        ("processor.fetch_max_bytes", p.fetch_max_bytes),
        ("processor.max_pending_rows", p.max_pending_rows as u64),
        ("sink.connections", s.sink.connections as u64),
    ] {
        if v == 0 {
            out.fail(field, "must be at least 1");
        }
    }
    if p.session_timeout_ms <= p.heartbeat_interval_ms {
        out.fail(
            "processor.session_timeout_ms",
            format!(
                "{} ms must exceed heartbeat_interval_ms ({} ms), or every member expires between heartbeats",
                p.session_timeout_ms, p.heartbeat_interval_ms
            ),
        );
    }
    let last_start_ms = (p.instances as u64 - 1).saturating_mul(p.start_stagger_ms);
    if last_start_ms as f64 >= s.duration_s * 1000.0 {
        out.fail(
            "processor.start_stagger_ms",
            format!(
                "instance {} would start at {} s, after the workload ends at {} s",
                p.instances - 1,
                last_start_ms as f64 / 1000.0,
                s.duration_s
            ),
        );
    }
    if p.initial_rebalance_delay_ms > p.rebalance_timeout_ms {
        out.fail(
            "processor.initial_rebalance_delay_ms",
            format!(
                "{} ms exceeds rebalance_timeout_ms ({} ms): the first generation could never wait that long",
                p.initial_rebalance_delay_ms, p.rebalance_timeout_ms
            ),
        );
    }
    if p.sink_retry_backoff_max_ms < p.sink_retry_backoff_ms {
        out.fail(
            "processor.sink_retry_backoff_max_ms",
            format!(
                "must be at least sink_retry_backoff_ms ({} ms)",
                p.sink_retry_backoff_ms
            ),
        );
    }
    if p.dedup && !(p.dedup_ttl_s.is_finite() && p.dedup_ttl_s > 0.0) {
        out.fail(
            "processor.dedup_ttl_s",
            format!("must be a positive number, got {}", p.dedup_ttl_s),
        );
    } else if p.dedup && p.dedup_ttl_s > MAX_DEDUP_TTL_S {
        // The de-duplication queue keeps acceptance times as 32-bit milliseconds.
        out.fail(
            "processor.dedup_ttl_s",
            format!("must be at most {MAX_DEDUP_TTL_S} (30 days), got {}", p.dedup_ttl_s),
        );
    }
    out.check(cpu_cost("processor.cpu_per_record_us", p.cpu_per_record_us));
    out.check(cpu_cost("sink.per_row_us", s.sink.per_row_us));
    if let WindowSpec::Sliding { size_ms, slide_ms } = p.window {
        if slide_ms > size_ms {
            out.fail(
                "processor.window.slide_ms",
                format!(
                    "{slide_ms} ms is longer than size_ms ({size_ms} ms): events between windows would belong to none"
                ),
            );
        }
    }
    if let Err(m) = p.operator_config().validate() {
        out.fail("processor.window", m);
    }
}
