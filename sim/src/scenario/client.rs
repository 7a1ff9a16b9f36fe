//! Refusals for the clients' delivery timeout and resource model, each
//! named by its field.

use super::problem::{cpu_cost, positive, Refusals};
use crate::config::ClientConfig;

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
    out.check(cpu_cost("client.cpu_us_per_request", c.cpu_us_per_request));
    out.check(cpu_cost("client.cpu_us_per_kib", c.cpu_us_per_kib));
    if let Some(nic) = c.nic_mb_s {
        out.check(positive("client.nic_mb_s", nic));
    }
}
