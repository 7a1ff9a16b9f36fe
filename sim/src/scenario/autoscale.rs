//! Refusals for `[autoscale]`: sizes and thresholds no autoscaler could run with, named by field.

use super::model::Scenario;
use super::problem::{fail, positive, Problem};

/// Check the `[autoscale]` section (nothing to check when it is off).
pub(super) fn validate(s: &Scenario) -> Result<(), Problem> {
    let a = &s.autoscale;
    if !a.enabled() {
        if a.min_brokers > 0 {
            return fail(
                "autoscale.max_brokers",
                "autoscaling needs max_brokers, the provisioned broker slots (at least min_brokers)",
            );
        }
        return Ok(());
    }
    let rf = s.topology.replication_factor;
    if a.min_brokers == 0 {
        return fail("autoscale.min_brokers", "must be at least 1");
    }
    if a.min_brokers > a.max_brokers {
        return fail(
            "autoscale.min_brokers",
            format!(
                "{} is above max_brokers ({}): the cluster cannot start larger than it may grow",
                a.min_brokers, a.max_brokers
            ),
        );
    }
    if a.min_brokers < rf {
        return fail(
            "autoscale.min_brokers",
            format!(
                "{} is below topology.replication_factor ({rf}): a smaller cluster cannot hold every replica",
                a.min_brokers
            ),
        );
    }
    if a.max_brokers == a.min_brokers {
        return fail(
            "autoscale.max_brokers",
            format!("equals min_brokers ({}): there is nothing to scale", a.min_brokers),
        );
    }
    if s.topology.brokers != a.min_brokers {
        return fail(
            "topology.brokers",
            format!(
                "is {}, but with [autoscale] the cluster starts at min_brokers ({}): set them equal",
                s.topology.brokers, a.min_brokers
            ),
        );
    }
    for (field, v) in [
        ("autoscale.cpu_scale_out", a.cpu_scale_out),
        ("autoscale.cpu_scale_in", a.cpu_scale_in),
    ] {
        if !(v > 0.0 && v < 1.0) {
            return fail(field, format!("must be a share of CPU in (0, 1), got {v}"));
        }
    }
    if a.cpu_scale_in >= a.cpu_scale_out {
        return fail(
            "autoscale.cpu_scale_in",
            format!(
                "{} is not below cpu_scale_out ({}): the cluster would scale in and out on the same load",
                a.cpu_scale_in, a.cpu_scale_out
            ),
        );
    }
    positive("autoscale.period_s", a.period_s)?;
    positive("autoscale.reassignment_throttle_mb_s", a.reassignment_throttle_mb_s)?;
    if !(a.cooldown_s.is_finite() && a.cooldown_s >= 0.0) {
        return fail(
            "autoscale.cooldown_s",
            format!("must be a number of seconds, 0 or more, got {}", a.cooldown_s),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::scenario::parse_scenario;
    use std::path::Path;

    fn refusal(topology: &str, section: &str) -> crate::scenario::ScenarioError {
        let text = format!(
            "name = \"x\"\nexpect = \"pass\"\nduration_s = 5\n[topology]\n{topology}\n[workload]\n\
             rate = {{ kind = \"constant\", events_per_s = 10 }}\n[autoscale]\n{section}"
        );
        parse_scenario(Path::new("x.toml"), &text).expect_err("refused")
    }

    #[test]
    fn impossible_autoscale_settings_are_refused_with_their_field_and_line() {
        let three = "brokers = 3\nreplication_factor = 3";
        let cases = [
            (three, "min_brokers = 3\nmax_brokers = 2\n", "autoscale.min_brokers"),
            (three, "min_brokers = 2\nmax_brokers = 6\n", "autoscale.min_brokers"),
            (
                three,
                "min_brokers = 3\nmax_brokers = 6\ncpu_scale_out = 1.2\n",
                "autoscale.cpu_scale_out",
            ),
            (
                three,
                "min_brokers = 3\nmax_brokers = 6\ncpu_scale_in = -0.1\n",
                "autoscale.cpu_scale_in",
            ),
            (
                three,
                "min_brokers = 3\nmax_brokers = 6\ncpu_scale_in = 0.8\ncpu_scale_out = 0.7\n",
                "autoscale.cpu_scale_in",
            ),
            (
                three,
                "min_brokers = 3\nmax_brokers = 6\nperiod_s = 0\n",
                "autoscale.period_s",
            ),
            (
                three,
                "min_brokers = 3\nmax_brokers = 6\nreassignment_throttle_mb_s = 0\n",
                "autoscale.reassignment_throttle_mb_s",
            ),
            (
                "brokers = 4\nreplication_factor = 3",
                "min_brokers = 3\nmax_brokers = 6\n",
                "topology.brokers",
            ),
            (three, "min_brokers = 3\n", "autoscale.max_brokers"),
        ];
        for (topology, section, field) in cases {
            let e = refusal(topology, section);
            assert_eq!(e.field(), field, "{e}");
            assert!(e.line().is_some(), "{e}");
            assert!(e.to_string().contains("x.toml"), "{e}");
        }
    }

    #[test]
    fn the_library_autoscale_scenario_loads() {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/seed-autoscale.toml"))
            .expect("library scenario");
        let s = parse_scenario(Path::new("seed-autoscale.toml"), &text).expect("loads");
        assert!(s.scenario.autoscale.enabled());
    }
}
