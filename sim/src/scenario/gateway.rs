//! Validation of the `[gateway]` section, whose types live in [`crate::config`].

use super::problem::{cpu_cost, fail, positive, Problem};
use crate::config::{DedupScope, GatewayConfig};

/// Refuse de-duplication settings that cannot work.
pub(super) fn validate(g: &GatewayConfig) -> Result<(), Problem> {
    if g.cores == 0 {
        return fail("gateway.cores", "must be at least 1 core");
    }
    cpu_cost("gateway.cpu_us_per_request", g.cpu_us_per_request)?;
    cpu_cost("gateway.cpu_us_per_kib", g.cpu_us_per_kib)?;
    if let Some(nic) = g.nic_mb_s {
        positive("gateway.nic_mb_s", nic)?;
    }
    positive("gateway.dedup_ttl_s", g.dedup_ttl_s)?;
    if g.dedup_ttl_ms() == 0 {
        return fail(
            "gateway.dedup_ttl_s",
            format!("{} s is below the clock resolution of 1 ms", g.dedup_ttl_s),
        );
    }
    if g.dedup_capacity == 0 {
        return fail("gateway.dedup_capacity", "must be at least 1 id");
    }
    match (g.dedup_scope, g.dedup_lookup_ms) {
        (DedupScope::PerInstance, Some(_)) => fail(
            "gateway.dedup_lookup_ms",
            "only a shared cache has a round trip: set dedup_scope = \"shared\" or drop this field",
        ),
        (DedupScope::Shared, Some(0)) => fail(
            "gateway.dedup_lookup_ms",
            "must be at least 1 (the clock resolution); a shared cache is a network hop away",
        ),
        _ => Ok(()),
    }
}
