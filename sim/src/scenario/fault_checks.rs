//! Validation of the `faults` section: impossible fault settings are
//! refused before a run with the field that is wrong (negative durations,
//! probabilities outside [0, 1], a bridge node on one side, targets that do
//! not exist, swarm bounds that cannot be drawn from).

use super::faults::*;
use super::model::Scenario;

use super::problem::{fail, positive, Problem, Refusals};

fn non_negative(field: &str, v: f64) -> Result<(), Problem> {
    if !(v.is_finite() && v >= 0.0) {
        return fail(field, format!("must be zero or positive, got {v}"));
    }
    Ok(())
}

fn unit(field: &str, v: f64) -> Result<(), Problem> {
    if !(0.0..=1.0).contains(&v) {
        return fail(field, format!("must be a probability in [0, 1], got {v}"));
    }
    Ok(())
}

/// Check the whole `faults` section: the first problem of each fault.
pub(super) fn faults(s: &Scenario, out: &mut Refusals) {
    match &s.faults {
        Faults::Scheduled(list) => {
            for (i, f) in list.iter().enumerate() {
                out.check(fault(i, f, s));
            }
        }
        Faults::Swarm(w) => out.check(swarm(w, s)),
    }
}

/// Check that a target exists in the scenario's topology.
pub(super) fn target(field: &str, t: &Target, s: &Scenario) -> Result<(), Problem> {
    let (n, max, what) = match t {
        Target::Broker(i) => (*i, s.topology.brokers, "brokers"),
        Target::LeaderOf(p) => (*p, s.topology.partitions, "partitions"),
        Target::FollowerOf(p) => {
            if s.topology.replication_factor < 2 {
                return fail(
                    field,
                    format!("{t}: with replication_factor 1 a partition has no followers"),
                );
            }
            (*p, s.topology.partitions, "partitions")
        }
        Target::Gateway(i) => (*i, s.topology.gateways, "gateways"),
        Target::GatewayAfterAbort(_) if !s.gateway.transactional => {
            return fail(
                field,
                format!("{t} waits for a transaction to abort: set [gateway] transactional = true"),
            );
        }
        Target::GatewayAfterAbort(i) => (*i, s.topology.gateways, "gateways"),
        Target::Client(i) => (*i, s.topology.clients, "clients"),
        Target::Processor(i) | Target::ProcessorAtCheckpoint(i) => (*i, s.processor.instances, "processor instances"),
        Target::Sink | Target::SinkAtCheckpoint if s.processor.instances == 0 => {
            return fail(
                field,
                format!("{t} does not exist: the scenario has no [processor] section"),
            );
        }
        Target::LakeWriter(i) | Target::LakeWriterBeforeManifest(i) => (*i, s.lake.writers, "lake writers"),
        Target::Cache(i) => (
            *i,
            usize::from(s.serving.enabled() && s.serving.cache),
            "cache nodes ([serving] with cache = true has one)",
        ),
        Target::Consumer(name, i) => match s.subscription.iter().find(|c| &c.name == name) {
            Some(c) => (*i, c.consumers, "consumers in that subscription"),
            None => {
                let names: Vec<&str> = s.subscription.iter().map(|c| c.name.as_str()).collect();
                return fail(
                    field,
                    format!("{t} does not exist: no [[subscription]] is named {name:?} (there are {names:?})"),
                );
            }
        },
        Target::Controller | Target::Sink | Target::SinkAtCheckpoint => return Ok(()),
    };
    if n >= max {
        return fail(
            field,
            format!("{t} does not exist: the topology has {max} {what}, numbered from 0"),
        );
    }
    Ok(())
}

/// A node swarm mode may draw. Clients are left to scheduled faults: a
/// drawn duplicate or reorder window on a client's links would duplicate
/// its requests, which no gateway without de-duplication survives.
fn swarm_target(field: &str, t: &Target, s: &Scenario) -> Result<(), Problem> {
    target(field, t, s)?;
    if matches!(t, Target::Client(_)) {
        return fail(
            field,
            "swarm mode does not draw client faults: schedule them with [[faults]] (crash, pause, isolate, partition)",
        );
    }
    Ok(())
}

fn fault(i: usize, f: &FaultSpec, s: &Scenario) -> Result<(), Problem> {
    let at = format!("faults[{i}]");
    let field = |name: &str| format!("{at}.{name}");
    if !(f.at_s.is_finite() && f.at_s >= 0.0) {
        return fail(field("at_s"), format!("must be zero or positive, got {}", f.at_s));
    }
    if f.at_s >= s.duration_s {
        return fail(
            field("at_s"),
            format!("fault at {} s is not within the workload's {} s", f.at_s, s.duration_s),
        );
    }
    if let Some(d) = f.kind.duration_s() {
        let name = if matches!(f.kind, FaultKind::Crash { .. }) {
            "restart_after_s"
        } else {
            "duration_s"
        };
        positive(&field(name), d)?;
    }
    match &f.kind {
        FaultKind::Crash { target: t, .. }
        | FaultKind::Isolate { target: t, .. }
        | FaultKind::Pause { target: t, .. } => {
            target(&field("target"), t, s)?;
        }
        FaultKind::Partition { side_a, side_b, .. } => {
            sides(&at, ("side_a", side_a), ("side_b", side_b), false, s)?;
        }
        FaultKind::OneWay { from, to, .. } => sides(&at, ("from", from), ("to", to), false, s)?,
        FaultKind::Bridge {
            side_a, side_b, bridge, ..
        } => {
            sides(&at, ("side_a", side_a), ("side_b", side_b), false, s)?;
            set_member(&field("bridge"), bridge, s)?;
            if side_a.contains(bridge) || side_b.contains(bridge) {
                return fail(
                    field("bridge"),
                    format!("the bridge {bridge} must be on neither side: both sides reach it"),
                );
            }
        }
        FaultKind::SlowLink {
            side_a,
            side_b,
            extra_latency_ms,
            jitter_ms,
            ..
        } => {
            sides(&at, ("side_a", side_a), ("side_b", side_b), true, s)?;
            non_negative(&field("extra_latency_ms"), *extra_latency_ms)?;
            non_negative(&field("jitter_ms"), *jitter_ms)?;
            if *extra_latency_ms == 0.0 && *jitter_ms == 0.0 {
                return fail(field("extra_latency_ms"), "a slow link needs extra latency or jitter");
            }
        }
        FaultKind::LossyLink {
            side_a, side_b, loss, ..
        } => {
            sides(&at, ("side_a", side_a), ("side_b", side_b), true, s)?;
            unit(&field("loss"), *loss)?;
        }
        FaultKind::Duplicate {
            side_a,
            side_b,
            probability,
            ..
        } => {
            link_sides(&at, side_a, side_b, s)?;
            unit(&field("probability"), *probability)?;
        }
        FaultKind::Reorder {
            side_a,
            side_b,
            probability,
            max_delay_ms,
            ..
        } => {
            link_sides(&at, side_a, side_b, s)?;
            unit(&field("probability"), *probability)?;
            if *max_delay_ms == 0 {
                return fail(field("max_delay_ms"), "must be at least 1 (the clock resolution)");
            }
        }
        FaultKind::SlowDisk {
            target: t,
            bandwidth_divisor,
            fsync_multiplier,
            ..
        } => {
            target(&field("target"), t, s)?;
            if !t.is_broker() {
                return fail(
                    field("target"),
                    format!("{t} has no log disk: use broker:N, leader:P or follower:P"),
                );
            }
            at_least_one(&field("bandwidth_divisor"), *bandwidth_divisor)?;
            at_least_one(&field("fsync_multiplier"), *fsync_multiplier)?;
        }
    }
    Ok(())
}

fn at_least_one(field: &str, v: f64) -> Result<(), Problem> {
    if !(v.is_finite() && v >= 1.0) {
        return fail(field, format!("must be at least 1 (a slowdown factor), got {v}"));
    }
    Ok(())
}

/// A member of a node set: it must exist and cannot wait for a checkpoint.
fn set_member(field: &str, t: &Target, s: &Scenario) -> Result<(), Problem> {
    target(field, t, s)?;
    if t.waits_for_checkpoint() {
        return fail(
            field,
            format!("{t} only fits faults on one node (crash, isolate, pause); name the node alone in a set"),
        );
    }
    Ok(())
}

/// Two node sets; `b_may_be_empty` means an empty `b` stands for every other node.
fn sides(
    at: &str,
    a: (&str, &[Target]),
    b: (&str, &[Target]),
    b_may_be_empty: bool,
    s: &Scenario,
) -> Result<(), Problem> {
    for (name, side) in [a, b] {
        if side.is_empty() && !(b_may_be_empty && name == b.0) {
            return fail(format!("{at}.{name}"), "must name at least one node");
        }
        for t in side {
            set_member(&format!("{at}.{name}"), t, s)?;
        }
    }
    if let Some(t) = a.1.iter().find(|t| b.1.contains(t)) {
        return fail(format!("{at}.{}", b.0), format!("{t} is on both sides"));
    }
    Ok(())
}

/// Sides of a duplicate or reorder window: both empty means every link.
fn link_sides(at: &str, a: &[Target], b: &[Target], s: &Scenario) -> Result<(), Problem> {
    if a.is_empty() && !b.is_empty() {
        return fail(
            format!("{at}.side_a"),
            "must name at least one node when side_b does (leave both out for every link)",
        );
    }
    if a.is_empty() {
        return Ok(());
    }
    sides(at, ("side_a", a), ("side_b", b), true, s)
}

fn bounds(field: &str, b: Bounds, min: f64, max: f64) -> Result<(), Problem> {
    let [lo, hi] = b;
    if !(lo.is_finite() && hi.is_finite() && lo >= min && hi <= max) {
        let range = if max.is_finite() {
            format!("[{min}, {max}]")
        } else {
            format!("[{min}, ∞)")
        };
        return fail(field, format!("[{lo}, {hi}] must lie within {range}"));
    }
    if lo > hi {
        return fail(field, format!("[{lo}, {hi}]: the low end is above the high end"));
    }
    Ok(())
}

fn swarm(w: &SwarmSpec, s: &Scenario) -> Result<(), Problem> {
    let end = w.end_s.unwrap_or(s.duration_s);
    non_negative("faults.start_s", w.start_s)?;
    if !(end.is_finite() && end <= s.duration_s) {
        return fail(
            "faults.end_s",
            format!("{end} s is past the workload's {} s", s.duration_s),
        );
    }
    if w.start_s >= end {
        return fail(
            "faults.start_s",
            format!("the fault period [{}, {end}) s is empty", w.start_s),
        );
    }
    if w.kinds.is_empty() {
        return fail("faults.kinds", "must list at least one fault kind");
    }
    for (i, k) in w.kinds.iter().enumerate() {
        if w.kinds[..i].contains(k) {
            return fail("faults.kinds", format!("{} is listed twice", k.as_str()));
        }
    }
    bounds("faults.rate_per_min", w.rate_per_min, 0.0, f64::INFINITY)?;
    if w.rate_per_min[1] == 0.0 {
        return fail("faults.rate_per_min", "a rate range of [0, 0] never draws a fault");
    }
    bounds("faults.duration_s", w.duration_s, 0.0, f64::INFINITY)?;
    positive("faults.duration_s", w.duration_s[0])?;
    bounds("faults.loss", w.loss, 0.0, 1.0)?;
    bounds("faults.duplicate", w.duplicate, 0.0, 1.0)?;
    bounds("faults.reorder", w.reorder, 0.0, 1.0)?;
    bounds("faults.extra_latency_ms", w.extra_latency_ms, 0.0, f64::INFINITY)?;
    positive("faults.extra_latency_ms", w.extra_latency_ms[1])?;
    bounds("faults.disk_slowdown", w.disk_slowdown, 1.0, f64::INFINITY)?;
    if w.reorder_max_ms == 0 {
        return fail("faults.reorder_max_ms", "must be at least 1 (the clock resolution)");
    }
    for t in &w.targets {
        swarm_target("faults.targets", t, s)?;
    }
    let targets = w.targets_in(s.topology.brokers);
    let in_sets = targets.iter().filter(|t| !t.waits_for_checkpoint()).count();
    for k in &w.kinds {
        let need = match k {
            FaultKindName::Partition | FaultKindName::OneWay => 2,
            FaultKindName::Bridge => 3,
            _ => 0,
        };
        if in_sets < need {
            return fail(
                "faults.kinds",
                format!(
                    "{} needs at least {need} targets to split into sides; faults.targets has {in_sets}",
                    k.as_str()
                ),
            );
        }
        if *k == FaultKindName::SlowDisk && !targets.iter().any(Target::is_broker) {
            return fail(
                "faults.kinds",
                "slow_disk needs a broker among faults.targets (broker:N, leader:P or follower:P)",
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::scenario::parse_scenario;
    use std::path::Path;

    const HEAD: &str = "name = \"x\"\nexpect = \"pass\"\nduration_s = 20\n[workload]\nrate = { kind = \"constant\", events_per_s = 100 }\n";

    /// The error for a scenario with `tail` after the header: (line, field, message).
    fn err(tail: &str) -> (Option<usize>, String, String) {
        let e = parse_scenario(Path::new("x.toml"), &format!("{HEAD}{tail}")).expect_err("refused");
        (e.line(), e.field().to_string(), e.message().to_string())
    }

    #[test]
    fn new_fault_kinds_parse_and_validate() {
        let text = format!(
            "{HEAD}[[faults]]\nat_s = 1\nkind = \"bridge\"\nside_a = [\"broker:0\"]\nside_b = [\"broker:2\", \"controller\"]\nbridge = \"broker:1\"\nduration_s = 3\n\
             [[faults]]\nat_s = 2\nkind = \"slow_link\"\nside_a = [\"leader:0\"]\nextra_latency_ms = 20\nduration_s = 3\n\
             [[faults]]\nat_s = 2\nkind = \"lossy_link\"\nside_a = [\"follower:1\"]\nloss = 0.5\nduration_s = 3\n\
             [[faults]]\nat_s = 3\nkind = \"duplicate\"\nprobability = 0.1\nduration_s = 3\n\
             [[faults]]\nat_s = 3\nkind = \"reorder\"\nprobability = 0.1\nduration_s = 3\n\
             [[faults]]\nat_s = 4\nkind = \"slow_disk\"\ntarget = \"follower:2\"\nduration_s = 3\n\
             [[faults]]\nat_s = 5\nkind = \"crash\"\ntarget = \"gateway:1\"\nrestart_after_s = 2\n"
        );
        let l = parse_scenario(Path::new("x.toml"), &text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(l.scenario.faults.len(), 7);
    }

    #[test]
    fn impossible_fault_settings_name_their_field_and_line() {
        let (line, field, msg) =
            err("[[faults]]\nat_s = 1\nkind = \"pause\"\ntarget = \"broker:0\"\nduration_s = -2\n");
        assert_eq!((line, field.as_str()), (Some(10), "faults[0].duration_s"), "{msg}");
        assert!(msg.contains("positive"), "{msg}");
        let (line, field, msg) =
            err("[[faults]]\nat_s = 1\nkind = \"lossy_link\"\nside_a = [\"broker:0\"]\nloss = 1.5\nduration_s = 2\n");
        assert_eq!((line, field.as_str()), (Some(10), "faults[0].loss"), "{msg}");
        assert!(msg.contains("[0, 1]"), "{msg}");
        let (_, field, msg) = err(
            "[[faults]]\nat_s = 1\nkind = \"bridge\"\nside_a = [\"broker:0\", \"broker:1\"]\nside_b = [\"broker:2\"]\nbridge = \"broker:1\"\nduration_s = 2\n",
        );
        assert_eq!(field, "faults[0].bridge", "{msg}");
        assert!(msg.contains("neither side"), "{msg}");
        let (line, field, msg) = err("[[faults]]\nat_s = 1\nkind = \"crash\"\ntarget = \"leader:x\"\n");
        assert_eq!((line, field.as_str()), (Some(9), "faults[0].target"), "{msg}");
        assert!(msg.contains("not a number"), "{msg}");
        let (line, field, msg) = err("[[faults]]\nat_s = 1\nkind = \"crash\"\ntarget = \"broker:0\"\nbogus = 1\n");
        assert_eq!((line, field.as_str()), (Some(10), "faults[0].bogus"), "{msg}");
        let (_, field, msg) = err("[[faults]]\nat_s = 1\nkind = \"crash\"\ntarget = \"rack:1\"\n");
        assert!(
            msg.contains("unknown role") && field.contains("faults"),
            "{field}: {msg}"
        );
        let (_, field, msg) =
            err("[[faults]]\nat_s = 1\nkind = \"slow_disk\"\ntarget = \"gateway:0\"\nduration_s = 2\n");
        assert_eq!(field, "faults[0].target", "{msg}");
        let (_, field, msg) = err("[[faults]]\nat_s = 1\nkind = \"crash\"\ntarget = \"sink@checkpoint\"\n");
        assert_eq!(field, "faults[0].target", "{msg}");
        assert!(msg.contains("no [processor]"), "{msg}");
        let (_, field, _) =
            err("[[faults]]\nat_s = 1\nkind = \"reorder\"\nprobability = 0.1\nmax_delay_ms = 0\nduration_s = 2\n");
        assert_eq!(field, "faults[0].max_delay_ms");
    }

    #[test]
    fn clients_take_scheduled_faults_but_not_swarm_ones() {
        let text = format!(
            "{HEAD}[[faults]]\nat_s = 1\nkind = \"crash\"\ntarget = \"client:0\"\nrestart_after_s = 2\n\
             [[faults]]\nat_s = 2\nkind = \"pause\"\ntarget = \"client:1\"\nduration_s = 3\n\
             [[faults]]\nat_s = 3\nkind = \"isolate\"\ntarget = \"client:2\"\nduration_s = 3\n\
             [[faults]]\nat_s = 4\nkind = \"partition\"\nside_a = [\"client:3\"]\nside_b = [\"gateway:0\", \"gateway:1\"]\nduration_s = 3\n"
        );
        let l = parse_scenario(Path::new("x.toml"), &text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(l.scenario.faults.len(), 4);
        let (line, field, msg) = err("[[faults]]\nat_s = 1\nkind = \"crash\"\ntarget = \"client:16\"\n");
        assert_eq!((line, field.as_str()), (Some(9), "faults[0].target"), "{msg}");
        assert!(
            msg.contains("client:16 does not exist") && msg.contains("16 clients"),
            "{msg}"
        );
        let (_, field, msg) = err("[faults]\nmode = \"swarm\"\ntargets = [\"broker:0\", \"client:1\"]\n");
        assert_eq!(field, "faults.targets", "{msg}");
        assert!(msg.contains("[[faults]]"), "{msg}");
    }

    #[test]
    fn swarm_bounds_are_checked() {
        let ok = "[faults]\nmode = \"swarm\"\nkinds = [\"crash\", \"bridge\", \"slow_disk\"]\nrate_per_min = [1, 4]\n";
        let l = parse_scenario(Path::new("x.toml"), &format!("{HEAD}{ok}")).unwrap_or_else(|e| panic!("{e}"));
        assert!(l.scenario.faults.swarm().is_some());
        assert!(l.scenario.faults.is_empty());
        let (line, field, msg) = err("[faults]\nmode = \"swarm\"\nduration_s = [5, 2]\n");
        assert_eq!((line, field.as_str()), (Some(8), "faults.duration_s"), "{msg}");
        let (_, field, msg) = err("[faults]\nmode = \"swarm\"\nloss = [0.1, 2]\n");
        assert_eq!(field, "faults.loss", "{msg}");
        let (_, field, msg) = err("[faults]\nmode = \"swarm\"\nend_s = 30\n");
        assert_eq!(field, "faults.end_s", "{msg}");
        let (_, field, msg) =
            err("[faults]\nmode = \"swarm\"\nkinds = [\"bridge\"]\ntargets = [\"broker:0\", \"broker:1\"]\n");
        assert_eq!(field, "faults.kinds", "{msg}");
        assert!(msg.contains("at least 3"), "{msg}");
        let (_, field, msg) = err("[faults]\nmode = \"swarm\"\nkinds = [\"meteor\"]\n");
        assert!(field.contains("kinds") && msg.contains("meteor"), "{field}: {msg}");
        let (line, field, msg) = err("[faults]\nmode = \"swarm\"\nrate = 3\n");
        assert_eq!((line, field.as_str()), (Some(8), "faults.rate"), "{msg}");
        let (_, field, msg) = err("[faults]\nmode = \"chaos\"\n");
        assert!(field.contains("mode") || msg.contains("chaos"), "{field}: {msg}");
    }
}
