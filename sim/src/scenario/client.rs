//! Refusals for the clients' delivery timeout and resource model, each
//! named by its field.

use super::problem::{positive, Refusals};
use crate::config::ClientConfig;

/// Largest CPU cost a client may charge per request or per KiB, µs: a second
/// is far beyond any producer, and keeps a request's cost within the CPU's clock.
const MAX_CPU_US: f64 = 1_000_000.0;

/// Check the delivery timeout against the timeouts it must outlast, and the clients' CPU and NIC.
pub(super) fn validate(c: &ClientConfig, out: &mut Refusals) {
    // Kafka's producer refuses the same at construction: a record could
    // expire before its first request had the chance to time out.
    let floor = c.linger_ms.saturating_add(c.request_timeout_ms);
    if c.delivery_timeout_ms < floor {
        out.fail(
            "client.delivery_timeout_ms",
            format!(
                "delivery.timeout.ms {} must be at least linger_ms + request_timeout_ms = {floor} (Kafka refuses this too)",
                c.delivery_timeout_ms
            ),
        );
    }
    if c.cores == 0 {
        out.fail("client.cores", "must be at least 1 core");
    }
    for (field, v) in [
        ("client.cpu_us_per_request", c.cpu_us_per_request),
        ("client.cpu_us_per_kib", c.cpu_us_per_kib),
    ] {
        if !(v >= 0.0 && v.is_finite()) {
            out.fail(field, format!("must be a finite number of µs, 0 or more, got {v}"));
        } else if v > MAX_CPU_US {
            out.fail(
                field,
                format!("{v} µs is more than a second of CPU; at most {MAX_CPU_US} (the CPU's clock would overflow)"),
            );
        }
    }
    if let Some(nic) = c.nic_mb_s {
        out.check(positive("client.nic_mb_s", nic));
    }
}
