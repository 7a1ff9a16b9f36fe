//! A planted bug: the operator of `custom_operator`, but its totals live in
//! a store outside its checkpointed state (here a thread-local map standing
//! in for an external cache it increments). After a processor crash the
//! records since the last checkpoint are processed again and counted twice;
//! the end-to-end checker finds the sink's totals above the reference,
//! names the keys, and this program exits 1 with the replay command.
//!
//! ```sh
//! cargo run --release --example custom_operator_bug [-- --seed N]
//! ```

#[path = "shared/enrich.rs"]
#[allow(dead_code)]
mod enrich;
#[path = "shared/leaky.rs"]
mod leaky;

use std::process::ExitCode;
use streamsim::{Simulation, Verdict};

fn main() -> ExitCode {
    let sim = match Simulation::from_file(enrich::scenario()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let sim = sim
        .operator(leaky::LeakyTotals)
        .reference(enrich::reference)
        .replay_command(|s| format!("cargo run --release --example custom_operator_bug -- --seed {s}"));
    let seeds: Vec<u64> = match enrich::seed_arg() {
        Some(s) => vec![s],
        None => (1..=20).collect(),
    };
    let runs = sim.run_seeds(seeds.iter().copied());
    if let Some((seed, e)) = runs.errors().next() {
        eprintln!("seed {seed} did not finish: {e}");
        return ExitCode::from(3);
    }
    let caught: Vec<u64> = runs.violations().map(|(s, _)| s).collect();
    println!(
        "{} of {} seed(s) caught the planted bug: {caught:?}",
        caught.len(),
        seeds.len()
    );
    let first = runs.violations().next();
    let Some((seed, r)) = first else {
        return ExitCode::SUCCESS;
    };
    assert_eq!(r.verdict, Verdict::Violation);
    println!("seed {seed}:\n{}", streamsim::sim::simulation::describe(r));
    println!("replay: {}", r.replay);
    ExitCode::from(1)
}
