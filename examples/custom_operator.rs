//! A user's operator under the harness: enrich each event, total per key,
//! and let the end-to-end checker compare the sink with a reference, through
//! a processor crash.
//!
//! ```sh
//! cargo run --release --example custom_operator [-- --seed N]
//! ```

#[path = "shared/enrich.rs"]
mod enrich;

use std::process::ExitCode;
use streamsim::{Simulation, Verdict};

fn main() -> ExitCode {
    let seed = enrich::seed_arg().unwrap_or(1);
    let sim = match Simulation::from_file(enrich::scenario()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let sim = sim
        .operator(enrich::EnrichAndTotal)
        .reference(enrich::reference)
        .replay_command(|s| format!("cargo run --release --example custom_operator -- --seed {s}"));
    let r = match sim.run(seed) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(3);
        }
    };
    println!(
        "{} seed {seed}: {:?}, {} events acknowledged, {} in the sink",
        r.scenario,
        r.verdict,
        r.events_acked,
        r.read.events_in_sink.unwrap_or(0)
    );
    if r.verdict == Verdict::Pass {
        return ExitCode::SUCCESS;
    }
    println!("{}", streamsim::sim::simulation::describe(&r));
    println!("replay: {}", r.replay);
    ExitCode::from(1)
}
