//! Scenario files: parsing with precise errors, and validation that
//! refuses impossible settings before a run starts.

mod autoscale;
mod client;
mod diagnostic;
mod exactly_once_txn;
mod fault_checks;
pub mod faults;
mod gateway;
mod hot_keys;
mod lake;
mod locate;
pub mod machine;
pub mod model;
mod omb;
mod pipeline;
mod problem;
mod read;
mod serving;
mod subscription;
mod suggest;
mod transaction_state;
mod transactions;
mod validate;

pub use crate::config::*;
pub use diagnostic::{Diagnostic, ScenarioError};
pub use faults::*;
pub use model::*;

use std::path::{Path, PathBuf};

/// Clock resolution of the simulation: budgets finer than this cannot be judged.
pub const CLOCK_RESOLUTION_MS: f64 = 1.0;

/// A scenario as loaded: the parsed file plus where it came from.
#[derive(Clone, Debug)]
pub struct LoadedScenario {
    /// Parsed and validated scenario.
    pub scenario: Scenario,
    /// Path as given.
    pub path: PathBuf,
    /// Raw text (kept for the report).
    pub text: String,
}

/// Read and parse a TOML file of the project's own (calibration cases, a
/// sizing question, a machine profile); an error shows the file, line and
/// column with the text at fault, rendered as scenario errors are.
pub fn read_toml_file<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: cannot read the file: {e}", path.display()))?;
    toml::from_str(&text).map_err(|e| {
        let span = e.span();
        let (name, mut message) = locate::split_toml_message(e.message());
        if message.is_empty() {
            message = locate::describe_at(&text, span.as_ref());
        }
        let field = match name {
            Some(n) => locate::qualify(&text, span.clone(), n),
            None => locate::field_at(&text, span.clone()),
        };
        // Callers print their own `error: ` before a message.
        ScenarioError::one(path, &text, Diagnostic::at(&text, span, field, message)).without_prefix()
    })
}

/// Read, parse and validate a scenario file.
pub fn load_scenario(path: &Path) -> Result<LoadedScenario, ScenarioError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ScenarioError::one(path, "", Diagnostic::whole_file(format!("cannot read the file: {e}"))))?;
    parse_scenario(path, &text)
}

/// Parse and validate scenario text; `path` is used in errors, to name a
/// scenario that has no `name`, and to resolve relative files.
///
/// Every problem is reported at once: unknown keys and bad values the parser
/// finds, then (when the rest of the file reads) every refused setting.
pub fn parse_scenario(path: &Path, text: &str) -> Result<LoadedScenario, ScenarioError> {
    let refuse = |problems: Vec<Diagnostic>| ScenarioError {
        file: path.to_path_buf(),
        text: text.to_string(),
        problems,
    };
    let read = read::read(text);
    let mut problems = read.problems;
    let Some(mut scenario) = read.scenario else {
        return Err(refuse(problems));
    };
    if !text.parse::<toml::Table>().is_ok_and(|t| t.contains_key("name")) {
        scenario.name = default_name(path);
    }
    let base = path.parent().unwrap_or(Path::new("."));
    let mut refused = Vec::new();
    if let Err(p) = apply_machine(&mut scenario, text) {
        refused.push(p);
    }
    // A workload the OMB file did not fill in cannot be judged.
    match omb::apply(&mut scenario, text, base) {
        Ok(()) => refused.extend(validate::validate(&scenario, base)),
        Err(p) => refused.push(p),
    }
    problems.extend(
        refused
            .into_iter()
            .map(|(field, message)| Diagnostic::at(text, locate::span_of_field(text, &field), field, message)),
    );
    if !problems.is_empty() {
        return Err(refuse(problems));
    }
    Ok(LoadedScenario {
        scenario,
        path: path.to_path_buf(),
        text: text.to_string(),
    })
}

/// A scenario's name when the file gives none: the file's stem.
fn default_name(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "scenario".to_string())
}

/// Resolve `topology.machine`: the profile's resources, under whatever the
/// file's own `[resources]` table sets.
fn apply_machine(scenario: &mut Scenario, text: &str) -> Result<(), (String, String)> {
    let Some(name) = &scenario.topology.machine else {
        return Ok(());
    };
    let profile = machine::find(name).map_err(|m| ("topology.machine".to_string(), m))?;
    let explicit: Vec<String> = text
        .parse::<toml::Table>()
        .ok()
        .and_then(|t| t.get("resources").and_then(|r| r.as_table()).cloned())
        .map(|t| t.keys().cloned().collect())
        .unwrap_or_default();
    scenario.resources = machine::overlay(&profile, &scenario.resources, &explicit);
    scenario.machine = Some(profile);
    Ok(())
}

/// Topology and knobs of a scenario in display order, for summaries.
pub fn knobs(s: &Scenario) -> Vec<(String, String)> {
    let t = &s.topology;
    let l = &s.log;
    let kv = |k: &str, v: String| (k.to_string(), v);
    let mut out = vec![
        kv("brokers", t.brokers.to_string()),
        kv(
            "machine",
            t.machine.clone().unwrap_or_else(|| "custom ([resources])".into()),
        ),
        kv("partitions", t.partitions.to_string()),
        kv("replication_factor", t.replication_factor.to_string()),
        kv("gateways", format!("{} ({:?})", t.gateways, t.balancer)),
        kv("clients", t.clients.to_string()),
        kv("acks", serde_json::to_string(&l.acks).unwrap_or_default()),
        kv("min_insync_replicas", l.min_insync_replicas.to_string()),
        kv("unclean_leader_election", l.unclean_leader_election.to_string()),
        kv("eligible_leader_replicas", l.eligible_leader_replicas.to_string()),
        kv("truncation", format!("{:?}", l.truncation)),
        kv("flush", format!("{:?}", l.flush)),
        kv("replica_lag_time_max_ms", l.replica_lag_time_max_ms.to_string()),
        kv("broker_session_timeout_ms", l.broker_session_timeout_ms.to_string()),
        kv("idempotence", s.producer.idempotence.to_string()),
        kv("client.max_in_flight", s.client.max_in_flight.to_string()),
        kv("client.request_timeout_ms", s.client.request_timeout_ms.to_string()),
        kv("gateway.dedup", gateway_dedup(&s.gateway)),
        kv("duration_s", s.duration_s.to_string()),
        kv(
            "faults",
            match s.faults.swarm() {
                Some(w) => format!(
                    "swarm of {}",
                    w.kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(",")
                ),
                None => s.faults.len().to_string(),
            },
        ),
        kv("invariants", {
            let mut v = vec!["no_loss", "no_duplicates"];
            if s.invariants.per_key_order {
                v.push("per_key_order");
            }
            if s.invariants.settle_within_drain {
                v.push("liveness.settle");
            }
            if s.processor.instances > 0 {
                v.extend(["sink.no_loss", "sink.exactly_once", "sink.aggregates", "liveness.drain"]);
            }
            if s.lake.enabled() {
                v.extend(["lake.no_loss", "lake.exactly_once"]);
                if s.gateway.transactional {
                    v.push("lake.no_aborted");
                }
            }
            if s.serving.enabled() {
                v.extend(["serving.stale_read", "serving.no_loss"]);
            }
            if !s.subscription.is_empty() {
                v.extend(crate::subscription::polls::CHECKS);
            }
            v.join(",")
        }),
    ];
    if s.lake.enabled() {
        out.push(kv("lake", s.lake.describe()));
    }
    if s.autoscale.enabled() {
        out.push(kv("autoscale", s.autoscale.describe()));
    }
    if s.serving.enabled() {
        out.push(kv("serving", s.serving.describe()));
    }
    for sub in &s.subscription {
        out.push(kv(&format!("subscription.{}", sub.name), sub.describe()));
    }
    if let Some(omb) = &s.workload.omb {
        out.push(kv("workload.omb", omb.display().to_string()));
    }
    let p = &s.processor;
    if p.instances > 0 {
        out.extend([
            kv("processor.instances", p.instances.to_string()),
            kv("processor.delivery", format!("{:?}", p.delivery)),
            kv("processor.commit_interval_ms", p.commit_interval_ms.to_string()),
            kv(
                "processor.dedup",
                if p.dedup {
                    format!("on, ttl {} s", p.dedup_ttl_s)
                } else {
                    "off".into()
                },
            ),
            kv("processor.window", format!("{:?}", p.window)),
            kv(
                "processor.watermark",
                format!(
                    "out of order {} ms, allowed lateness {} ms",
                    p.max_out_of_orderness_ms, p.allowed_lateness_ms
                ),
            ),
            kv("sink.connections", s.sink.connections.to_string()),
        ]);
    }
    out.extend(hot_keys::knobs(s));
    out
}

/// The gateway de-duplication knob as a summary shows it.
fn gateway_dedup(g: &GatewayConfig) -> String {
    if !g.dedup {
        return "off".into();
    }
    let scope = match g.dedup_scope {
        DedupScope::PerInstance => "per instance".to_string(),
        DedupScope::Shared => format!("shared, {} ms lookup", g.dedup_lookup_ms()),
    };
    format!("on, ttl {} s, {} ids, {scope}", g.dedup_ttl_s, g.dedup_capacity)
}
