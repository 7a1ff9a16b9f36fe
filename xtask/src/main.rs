//! Project chores. `cargo xtask bench` measures simulation speed:
//! simulated events per wall-clock second and virtual-to-wall time ratio,
//! as medians over repeated runs (machines here are noisy).

use std::path::Path;
use std::time::Duration;
use streamsim_sim::run::{run_scenario, RunOptions};
use streamsim_sim::scenario::load_scenario;

/// Write path alone, then the full pipeline (processor and sink) steady and under a processor crash.
const BENCH_SCENARIOS: &[&str] = &["steady", "leader-crash", "pipeline-steady", "processor-crash-eos"];

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn bench(reps: usize) -> Result<(), String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    println!(
        "{:<20} {:>6} {:>12} {:>10} {:>16} {:>14}",
        "scenario", "runs", "events", "virtual_s", "events/wall_s", "virtual/wall"
    );
    for name in BENCH_SCENARIOS {
        let path = root.join("scenarios").join(format!("{name}.toml"));
        let loaded = load_scenario(&path).map_err(|e| e.to_string())?;
        let mut rates = Vec::new();
        let mut ratios = Vec::new();
        let mut events = 0;
        let mut virt = 0.0;
        for seed in 1..=reps as u64 {
            let out = run_scenario(
                &loaded,
                &RunOptions {
                    seed,
                    wall_limit: Duration::from_secs(600),
                },
            )
            .map_err(|e| e.to_string())?;
            let r = out.report.result;
            events = r.events_sent;
            virt = r.virtual_s;
            rates.push(r.events_sent as f64 / r.wall_s);
            ratios.push(r.virtual_s / r.wall_s);
        }
        println!(
            "{:<20} {:>6} {:>12} {:>10.1} {:>16.0} {:>14.1}",
            name,
            reps,
            events,
            virt,
            median(rates),
            median(ratios)
        );
    }
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("bench") => {
            let reps = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(5);
            bench(reps)
        }
        _ => Err("usage: cargo xtask bench [REPS]".into()),
    };
    if let Err(e) = result {
        eprintln!("xtask: {e}");
        std::process::exit(2);
    }
}
