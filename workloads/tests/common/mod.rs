//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::Path;

use streamsim_workloads::{fnv1a64, EventDraw, TimedDraw, Workload, WorkloadSpec};

/// Parses the body of a `[workload]` table.
pub fn spec(toml_text: &str) -> WorkloadSpec {
    toml::from_str(toml_text).unwrap_or_else(|e| panic!("spec does not parse: {e}\n{toml_text}"))
}

/// Parses and compiles the body of a `[workload]` table.
pub fn workload(toml_text: &str) -> Workload {
    Workload::new(&spec(toml_text), Path::new(".")).unwrap_or_else(|e| panic!("{e}"))
}

/// Every event of one client over `[0, duration_ms)`, drawn in `step_ms` steps.
pub fn timed(w: &Workload, seed: u64, client: u32, clients: u32, duration_ms: u64, step_ms: u64) -> Vec<TimedDraw> {
    let mut s = w.client_stream(seed, client, clients);
    let mut out = Vec::new();
    let mut t = 0;
    while t < duration_ms {
        let t1 = (t + step_ms).min(duration_ms);
        s.draw_timed(t, t1, &mut out);
        t = t1;
    }
    out
}

/// Every event of all `clients` clients over `[0, duration_ms)`.
pub fn all_events(w: &Workload, seed: u64, clients: u32, duration_ms: u64, step_ms: u64) -> Vec<EventDraw> {
    let mut out = Vec::new();
    let mut streams: Vec<_> = (0..clients).map(|c| w.client_stream(seed, c, clients)).collect();
    let mut t = 0;
    while t < duration_ms {
        let t1 = (t + step_ms).min(duration_ms);
        for s in &mut streams {
            s.draw(t, t1, &mut out);
        }
        t = t1;
    }
    out
}

/// A stable digest of a stream of timed draws (every field, in order).
pub fn digest(draws: &[TimedDraw]) -> u64 {
    let mut bytes = Vec::with_capacity(draws.len() * 40);
    for d in draws {
        let e = &d.event;
        bytes.extend_from_slice(&d.t_ms.to_le_bytes());
        bytes.extend_from_slice(&e.key.to_le_bytes());
        bytes.extend_from_slice(&e.size_bytes.to_le_bytes());
        bytes.extend_from_slice(&e.event_time_lag_ms.to_le_bytes());
        bytes.push(u8::from(e.malformed));
        bytes.push(u8::from(e.duplicate_send));
        bytes.extend_from_slice(&e.schema_version.to_le_bytes());
    }
    fnv1a64(&bytes)
}
