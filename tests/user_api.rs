//! A user's operator under the harness, through the library API: the
//! examples' correct operator passes every seed of a processor crash, and
//! the planted bug (totals outside the checkpointed state) is caught.

#[path = "../examples/shared/enrich.rs"]
#[allow(dead_code)] // the examples' command-line helper
mod enrich;
#[path = "../examples/shared/leaky.rs"]
mod leaky;

use streamsim::{Simulation, Verdict};

const SEEDS: std::ops::RangeInclusive<u64> = 1..=20;

fn sim() -> Simulation {
    Simulation::from_file(enrich::scenario())
        .expect("the examples' scenario loads")
        .reference(enrich::reference)
}

#[test]
fn the_correct_operator_passes_every_seed() {
    let runs = sim().operator(enrich::EnrichAndTotal).run_seeds(SEEDS);
    runs.assert_all_pass();
    for (_, r) in &runs.runs {
        let r = r.as_ref().expect("finished");
        // The crash happened and the sink holds every event: the pass is not vacuous.
        assert!(
            r.events_acked > 1000 && r.read.events_in_sink == Some(r.events_acked),
            "{r:?}"
        );
    }
}

#[test]
fn the_checker_catches_totals_kept_outside_the_checkpoint() {
    let runs = sim().operator(leaky::LeakyTotals).run_seeds(SEEDS);
    let caught = runs.assert_caught();
    assert!(
        caught.violations.iter().all(|v| v.invariant == "sink.aggregates"),
        "{:?}",
        caught.violations
    );
    assert!(caught.replay.contains("STREAMSIM_SEED="), "{}", caught.replay);
}

#[test]
fn without_a_reference_only_delivery_is_checked() {
    // The bug double-counts totals, not events: with no reference, every seed passes.
    let r = sim()
        .operator(leaky::LeakyTotals)
        .no_reference()
        .run(1)
        .expect("finished");
    assert_eq!(r.verdict, Verdict::Pass, "{:?}", r.violations);
}

#[test]
fn the_builtin_chain_through_the_api_matches_the_cli_run() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/processor-crash-eos.toml");
    let loaded = streamsim::sim::load_scenario(&path).expect("loads");
    let opts = streamsim::sim::RunOptions {
        seed: 3,
        wall_limit: std::time::Duration::from_secs(300),
    };
    let cli = streamsim::sim::run_scenario(&loaded, &opts)
        .expect("finished")
        .report
        .result;
    let api = Simulation::from_loaded(loaded).run(3).expect("finished");
    assert_eq!(api.trace_hash, cli.trace_hash);
    assert_eq!(api.replay, cli.replay);
}
