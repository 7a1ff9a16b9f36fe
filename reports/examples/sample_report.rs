//! Renders the synthetic run and sweep used by the tests, to look at:
//! `cargo run -p streamsim-reports --example sample_report [OUT_DIR]`
//! (default `target/sample-report`).

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let out = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/sample-report"));
    let run = streamsim_reports::write_run_report(&common::synthetic_report(), &out.join("run"))?;
    let large = streamsim_reports::write_run_report(&common::large_report(), &out.join("run-large"))?;
    let read = streamsim_reports::write_run_report(&common::read_path_report(), &out.join("run-read"))?;
    let read_large = streamsim_reports::write_run_report(
        &common::with_read_path(common::large_report()),
        &out.join("run-read-large"),
    )?;
    let sweep = streamsim_reports::write_sweep_report(&common::sweep_entries(), &out.join("sweep"))?;
    let runs = [&run, &large, &read, &read_large];
    for f in runs.iter().flat_map(|r| &r.files).chain(&sweep.files) {
        println!("{}", f.display());
    }
    print!(
        "{}",
        streamsim_reports::render_summary_text(&common::read_path_report().result)
    );
    Ok(())
}
