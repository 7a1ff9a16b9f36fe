//! The workload is a function of the seed alone: faults change what happens
//! to events, never which events the clients generate.

use streamsim_sim::run::run_scenario;
use streamsim_sim::scenario::load_scenario;

use crate::common;

fn stream_hash(name: &str, seed: u64) -> (String, u64) {
    let loaded = load_scenario(&common::scenario(name)).unwrap();
    let out = run_scenario(&loaded, &common::options(seed)).unwrap();
    (out.workload_hash, out.report.result.events_sent)
}

#[test]
fn same_seed_same_event_stream_with_and_without_faults() {
    // steady and leader-crash share the workload table; only the faults differ.
    let (calm, n_calm) = stream_hash("steady", 11);
    let (crash, n_crash) = stream_hash("leader-crash", 11);
    assert_eq!(calm, crash, "faults changed the generated events");
    assert_eq!(n_calm, n_crash);
    let (other, _) = stream_hash("steady", 12);
    assert_ne!(calm, other, "a different seed must give a different stream");
}
