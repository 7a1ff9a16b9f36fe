//! Scenarios whose `[workload]` names an OpenMessaging Benchmark workload
//! file (`omb = "..."`): the file sets the traffic and the topic's shape.
//!
//! The OMB file says how many partitions the benchmark topic has, so that is
//! what a user replaying it expects to get: the topology takes the file's
//! `topics × partitionsPerTopic` (the simulation has one events topic, so
//! several OMB topics become one topic with as many partitions, which keeps
//! the load per partition). A scenario that also writes
//! `topology.partitions` must agree with the file, or it is refused rather
//! than silently run with another shape.

use super::model::Scenario;
use std::path::Path;

/// Reads the OMB file, if any, into the workload and the partition count.
pub(super) fn apply(s: &mut Scenario, text: &str, base: &Path) -> Result<(), (String, String)> {
    let Some(omb) = s
        .workload
        .resolve_omb(base)
        .map_err(|e| (format!("workload.{}", e.field), e.message))?
    else {
        return Ok(());
    };
    let partitions = omb.total_partitions();
    let file = s.workload.omb.as_deref().unwrap_or(Path::new("")).display().to_string();
    let shape = format!(
        "{} topic(s) × {} partitions = {partitions}",
        omb.topics, omb.partitions_per_topic
    );
    // Whether the file writes the count itself: the parsed topology cannot
    // tell a written 12 from the default 12.
    let written = text
        .parse::<toml::Table>()
        .ok()
        .and_then(|t| t.get("topology")?.get("partitions").cloned())
        .is_some();
    if written && s.topology.partitions as u64 != partitions {
        return Err((
            "topology.partitions".into(),
            format!(
                "{} partitions, but the OpenMessaging Benchmark workload `{file}` has {shape}: \
                 leave topology.partitions out to take the workload's count, or make them agree",
                s.topology.partitions
            ),
        ));
    }
    s.topology.partitions = usize::try_from(partitions).unwrap_or(usize::MAX);
    Ok(())
}
