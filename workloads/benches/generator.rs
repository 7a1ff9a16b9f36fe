//! Generator throughput: events per wall-clock second, single-threaded, for a few
//! workload profiles. Each profile draws a fixed number of events five times over
//! 16 clients in 10 ms steps (as the simulation does) and the median is printed.

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use streamsim_workloads::{EventDraw, Workload, WorkloadSpec};

const EVENTS: u64 = 4_000_000;
const REPEATS: usize = 5;
const CLIENTS: u32 = 16;
const STEP_MS: u64 = 10;

fn profiles() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "constant/uniform/fixed",
            r#"rate = { kind = "constant", events_per_s = 10_000_000.0 }"#,
        ),
        (
            "constant/zipf(1e6, 1.1)/fixed",
            r#"
            rate = { kind = "constant", events_per_s = 10_000_000.0 }
            keys = { kind = "zipf", count = 1_000_000, exponent = 1.1 }
            "#,
        ),
        (
            "diurnal/hot/lognormal/late+ooo",
            r#"
            rate = { kind = "diurnal", events_per_day = 864_000_000_000.0, peak_factor = 1.5, start_hour = 14.0 }
            keys = { kind = "hot", count = 1_000_000, hot_keys = 100, hot_share = 0.3 }
            size = { kind = "lognormal", median_bytes = 800.0, sigma = 0.6, max_bytes = 65536 }
            event_time = { late_fraction = 0.01, late_mean_ms = 5000.0, max_lateness_ms = 60000, out_of_order_fraction = 0.1, out_of_order_max_ms = 200 }
            "#,
        ),
        (
            "spikes/moving_hotspot/uniform-size/dup+malformed+schemas",
            r#"
            malformed_fraction = 0.001
            duplicate_fraction = 0.01
            schema_versions = [{ version = 1, weight = 0.8 }, { version = 2, weight = 0.2 }]
            rate = { kind = "with_spikes", base = { kind = "constant", events_per_s = 5_000_000.0 }, spikes = [{ at_s = 0.2, duration_s = 0.2, factor = 3.0 }] }
            keys = { kind = "moving_hotspot", count = 1_000_000, hot_keys = 100, hot_share = 0.5, move_every_s = 0.1 }
            size = { kind = "uniform", min = 100, max = 4000 }
            "#,
        ),
    ]
}

/// Draws `EVENTS` events and returns events per wall second.
fn run(w: &Workload, seed: u64) -> f64 {
    let mut streams: Vec<_> = (0..CLIENTS).map(|c| w.client_stream(seed, c, CLIENTS)).collect();
    let mut buf: Vec<EventDraw> = Vec::with_capacity(1 << 16);
    let mut n = 0u64;
    let mut checksum = 0u64;
    let mut t = 0;
    let start = Instant::now();
    while n < EVENTS {
        for s in &mut streams {
            buf.clear();
            s.draw(t, t + STEP_MS, &mut buf);
            n += buf.len() as u64;
            for e in &buf {
                checksum = checksum.wrapping_add(e.key ^ u64::from(e.size_bytes));
            }
        }
        t += STEP_MS;
    }
    let secs = start.elapsed().as_secs_f64();
    black_box(checksum);
    n as f64 / secs
}

fn main() {
    println!("generator: {EVENTS} events x {REPEATS} runs, {CLIENTS} clients, {STEP_MS} ms steps");
    for (name, toml_text) in profiles() {
        let spec: WorkloadSpec = toml::from_str(toml_text).expect("bench profile parses");
        let w = Workload::new(&spec, Path::new(".")).expect("bench profile compiles");
        let mut rates: Vec<f64> = (0..REPEATS as u64).map(|i| run(&w, 1000 + i)).collect();
        rates.sort_by(f64::total_cmp);
        let median = rates[REPEATS / 2];
        println!("{name:<58} median {:>7.2} M events/s", median / 1e6);
    }
}
