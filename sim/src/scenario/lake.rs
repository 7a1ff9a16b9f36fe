//! Refusals for `[lake]`: settings the cold path cannot run with, named by field.

use super::model::Scenario;
use super::problem::{fail, positive, Problem};

/// Check the `[lake]` section (nothing to check when it is off) and its budget.
pub(super) fn validate(s: &Scenario) -> Result<(), Problem> {
    if let Some(v) = s.budgets.lake_freshness_s {
        positive("budgets.lake_freshness_s", v)?;
        if !s.lake.enabled() {
            return fail(
                "budgets.lake_freshness_s",
                "a lake freshness budget needs a cold path: set [lake] writers",
            );
        }
    }
    let l = &s.lake;
    if !l.enabled() {
        return Ok(());
    }
    if l.isolation == Some(crate::config::Isolation::ReadCommitted) && !s.gateway.transactional {
        return fail(
            "lake.isolation",
            "read_committed needs a transactional producer to read from: set [gateway] transactional = true, \
             or leave lake.isolation unset",
        );
    }
    positive("lake.roll_mb", l.roll_mb)?;
    positive("lake.roll_interval_s", l.roll_interval_s)?;
    positive("lake.put_mb_per_s", l.put_mb_per_s)?;
    positive("lake.retention_days", l.retention_days)?;
    for (field, v) in [
        ("lake.put_latency_ms", l.put_latency_ms),
        ("lake.put_tail_ms", l.put_tail_ms),
    ] {
        if !(v.is_finite() && v >= 0.0) {
            return fail(field, format!("must be a number of milliseconds, 0 or more, got {v}"));
        }
    }
    if !(0.0..1.0).contains(&l.put_failure) {
        return fail(
            "lake.put_failure",
            format!(
                "must be a probability in [0, 1), got {}: at 1 no request ever succeeds",
                l.put_failure
            ),
        );
    }
    if !(0.0..=1.0).contains(&l.failure_after_write) {
        return fail(
            "lake.failure_after_write",
            format!("must be a share in [0, 1], got {}", l.failure_after_write),
        );
    }
    for (field, v) in [
        ("lake.heartbeat_interval_ms", l.heartbeat_interval_ms),
        ("lake.session_timeout_ms", l.session_timeout_ms),
        ("lake.fetch_max_bytes", l.fetch_max_bytes),
    ] {
        if v == 0 {
            return fail(field, "must be at least 1");
        }
    }
    if l.heartbeat_interval_ms >= l.session_timeout_ms {
        return fail(
            "lake.heartbeat_interval_ms",
            "must be below lake.session_timeout_ms, or every writer's session expires between heartbeats",
        );
    }
    tiers(l)
}

fn tiers(l: &crate::config::LakeConfig) -> Result<(), Problem> {
    let Some(first) = l.tiers.first() else {
        return fail("lake.tiers", "needs at least one tier (the hot one, from 0 days)");
    };
    if first.after_days != 0.0 {
        return fail(
            "lake.tiers",
            format!(
                "the first tier ({}) must start at 0 days, got {}",
                first.name, first.after_days
            ),
        );
    }
    for (i, pair) in l.tiers.windows(2).enumerate() {
        // NaN never orders after anything, so it is refused here too.
        if pair[1].after_days.partial_cmp(&pair[0].after_days) != Some(std::cmp::Ordering::Greater) {
            return fail(
                format!("lake.tiers[{}].after_days", i + 1),
                format!(
                    "tier {} starts at {} days, not after tier {} at {}: list tiers youngest first",
                    pair[1].name, pair[1].after_days, pair[0].name, pair[0].after_days
                ),
            );
        }
    }
    for (i, t) in l.tiers.iter().enumerate() {
        if !(t.usd_per_gb_month.is_finite() && t.usd_per_gb_month >= 0.0) {
            return fail(
                format!("lake.tiers[{i}].usd_per_gb_month"),
                format!("must be a price, 0 or more, got {}", t.usd_per_gb_month),
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::scenario::parse_scenario;
    use std::path::Path;

    fn refusal(section: &str) -> crate::scenario::ScenarioError {
        let text = format!(
            "name = \"x\"\nexpect = \"pass\"\nduration_s = 5\n[workload]\nrate = {{ kind = \"constant\", events_per_s = 10 }}\n{section}"
        );
        parse_scenario(Path::new("x.toml"), &text).expect_err("refused")
    }

    #[test]
    fn impossible_lake_settings_are_refused_with_their_field() {
        let cases = [
            ("[lake]\nwriters = 1\nput_failure = 1.0\n", "lake.put_failure", true),
            ("[lake]\nwriters = 1\nroll_mb = 0\n", "lake.roll_mb", true),
            (
                "[lake]\nwriters = 1\nheartbeat_interval_ms = 9000\nsession_timeout_ms = 6000\n",
                "lake.heartbeat_interval_ms",
                true,
            ),
            (
                "[lake]\nwriters = 1\ntiers = [{ name = \"hot\", after_days = 0, usd_per_gb_month = 0.02 }, \
                 { name = \"cold\", after_days = 0, usd_per_gb_month = 0.004 }]\n",
                "lake.tiers[1].after_days",
                false,
            ),
            ("[budgets]\nlake_freshness_s = 10\n", "budgets.lake_freshness_s", true),
            (
                "[lake]\nwriters = 1\nisolation = \"read_committed\"\n",
                "lake.isolation",
                true,
            ),
        ];
        for (section, field, placed) in cases {
            let e = refusal(section);
            assert_eq!(e.field(), field, "{e}");
            if placed {
                assert!(e.line().is_some(), "{e}");
            }
        }
    }

    #[test]
    fn the_library_cold_path_loads() {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/seed-cold-path.toml"))
            .expect("library scenario");
        let s = parse_scenario(Path::new("seed-cold-path.toml"), &text).expect("loads");
        assert_eq!(s.scenario.lake.writers, 2);
    }
}
