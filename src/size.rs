//! `streamsim size`: the cheapest cluster that carries a daily volume and
//! survives a failure at the peak, found by simulating candidates, not by
//! formula; with `--curve`, the same for several volumes.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use serde::Deserialize;
use serde_json::json;
use streamsim_reports::{CurvePoint, SizingPoint};
use streamsim_sim::run::{run_scenario, RunOptions};
use streamsim_sim::scenario::parse_scenario;
use streamsim_sim::sizing::quantity::{format_count, parse_bytes, parse_count};
use streamsim_sim::sizing::{self, CandidateResult, Recommendation, Sizing, SizingInputs, Survive};

use crate::progress::Progress;
use crate::{EXIT_BAD_INPUT, EXIT_RUN_ERROR};

/// The failure to survive, as the command line spells it.
#[derive(Clone, Copy, Debug, ValueEnum, Deserialize)]
#[serde(rename_all = "snake_case")]
enum SurviveArg {
    None,
    Broker,
    Zone,
}

/// Arguments of `streamsim size`; every flag may also be a key of SIZING.toml (flags win).
#[derive(Args, Default)]
pub struct SizeArgs {
    /// A file of the same settings (`events_per_day = "300M"`, `machines = ["i3en.2xlarge"]`, ...).
    sizing: Option<PathBuf>,
    /// Events a day: 300M, 1B, 50000.
    #[arg(long, value_name = "N")]
    events_per_day: Option<String>,
    /// Peak rate over the day's mean (default 3).
    #[arg(long, value_name = "F")]
    peak_factor: Option<f64>,
    /// Payload per event: 1KiB (default), 512, 64KiB.
    #[arg(long, value_name = "B")]
    event_bytes: Option<String>,
    /// Days the log keeps (default 7).
    #[arg(long, value_name = "D")]
    retention_days: Option<f64>,
    /// Replicas per partition (default 3; min ISR is one fewer).
    #[arg(long, value_name = "R")]
    replication_factor: Option<usize>,
    /// The failure injected at the peak (default broker).
    #[arg(long, value_enum)]
    survive: Option<SurviveArg>,
    /// Acknowledgement p99 budget over the peak window, failure included, ms.
    #[arg(long, value_name = "X")]
    ack_p99_ms: Option<f64>,
    /// End-to-end p99 budget, ms.
    #[arg(long, value_name = "Y")]
    e2e_p99_ms: Option<f64>,
    /// Machine profiles to consider, comma-separated (default: every priced profile).
    #[arg(long, value_delimiter = ',', value_name = "A,B")]
    machines: Option<Vec<String>>,
    /// Highest CPU, disk and NIC utilisation, and the fullest the disks may be (default 0.7).
    #[arg(long, value_name = "H")]
    headroom: Option<f64>,
    /// Largest broker count searched (default 24).
    #[arg(long, value_name = "N")]
    max_brokers: Option<usize>,
    /// Size each of these daily volumes in turn: 1M,10M,100M,1B.
    #[arg(long, value_delimiter = ',', value_name = "V,V")]
    curve: Option<Vec<String>>,
    /// Seed of every candidate's run (default 1).
    #[arg(long)]
    seed: Option<u64>,
    /// Where sizing.md, sizing.json, the winner's scenario and the plots go
    /// (default target/streamsim/size-<volume>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print JSON instead of the table.
    #[arg(long)]
    json: bool,
}

/// SIZING.toml: the flags' settings, by the same names.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SizingFile {
    events_per_day: Option<toml::Value>,
    peak_factor: Option<f64>,
    event_bytes: Option<toml::Value>,
    retention_days: Option<f64>,
    replication_factor: Option<usize>,
    survive: Option<SurviveArg>,
    ack_p99_ms: Option<f64>,
    e2e_p99_ms: Option<f64>,
    machines: Option<Vec<String>>,
    headroom: Option<f64>,
    max_brokers: Option<usize>,
    curve: Option<Vec<toml::Value>>,
    seed: Option<u64>,
}

/// A TOML number or string as the text the flag parser reads.
fn value_text(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The question, from the file and the flags; `Err` is a message for exit 2.
fn inputs(args: &SizeArgs) -> Result<(SizingInputs, Vec<u64>), String> {
    let file: SizingFile = match &args.sizing {
        None => SizingFile::default(),
        Some(p) => streamsim_sim::scenario::read_toml_file(p)?,
    };
    let curve: Vec<u64> = match args
        .curve
        .clone()
        .or_else(|| file.curve.as_ref().map(|c| c.iter().map(value_text).collect()))
    {
        Some(list) => list
            .iter()
            .map(|v| parse_count(v).map_err(|e| format!("--curve: {e}")))
            .collect::<Result<_, _>>()?,
        None => Vec::new(),
    };
    let volume = match args
        .events_per_day
        .clone()
        .or_else(|| file.events_per_day.as_ref().map(value_text))
    {
        Some(v) => parse_count(&v).map_err(|e| format!("--events-per-day: {e}"))?,
        None if !curve.is_empty() => curve[0],
        None => return Err("--events-per-day is required (or --curve, or a SIZING.toml that sets it)".into()),
    };
    let mut i = SizingInputs::new(volume);
    if let Some(v) = args.peak_factor.or(file.peak_factor) {
        i.peak_factor = v;
    }
    if let Some(v) = args
        .event_bytes
        .clone()
        .or_else(|| file.event_bytes.as_ref().map(value_text))
    {
        i.event_bytes = parse_bytes(&v).map_err(|e| format!("--event-bytes: {e}"))?;
    }
    if let Some(v) = args.retention_days.or(file.retention_days) {
        i.retention_days = v;
    }
    if let Some(v) = args.replication_factor.or(file.replication_factor) {
        i.replication_factor = v;
    }
    if let Some(v) = args.survive.or(file.survive) {
        i.survive = match v {
            SurviveArg::None => Survive::None,
            SurviveArg::Broker => Survive::Broker,
            SurviveArg::Zone => Survive::Zone,
        };
    }
    i.ack_p99_ms = args.ack_p99_ms.or(file.ack_p99_ms);
    i.e2e_p99_ms = args.e2e_p99_ms.or(file.e2e_p99_ms);
    if let Some(v) = args.machines.clone().or(file.machines) {
        i.machines = v;
    }
    if let Some(v) = args.headroom.or(file.headroom) {
        i.headroom = v;
    }
    if let Some(v) = args.max_brokers.or(file.max_brokers) {
        i.max_brokers = v;
    }
    if let Some(v) = args.seed.or(file.seed) {
        i.seed = v;
    }
    Ok((i, curve))
}

/// Runs the sizing; exit 0 with an answer, 2 on an impossible question or bad input, 3 if a run failed.
pub fn size(args: SizeArgs) -> ExitCode {
    let (inputs, curve) = match inputs(&args) {
        Ok(x) => x,
        Err(e) => return bad(&e),
    };
    let volumes = if curve.is_empty() {
        vec![inputs.events_per_day]
    } else {
        curve.clone()
    };
    let out_dir = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("target/streamsim/size-{}", format_count(volumes[0]))));
    let mut sizings = Vec::new();
    for &v in &volumes {
        let mut i = inputs.clone();
        i.events_per_day = v;
        match size_one(&i, args.json) {
            Ok(s) => sizings.push(s),
            Err(Failure::Input(e)) => return bad(&e),
            Err(Failure::Run(e)) => {
                eprintln!("error: {e}");
                return ExitCode::from(EXIT_RUN_ERROR);
            }
        }
    }
    if let Err(e) = write_outputs(&sizings, &out_dir) {
        eprintln!("error: cannot write {}: {e}", out_dir.display());
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    if args.json {
        println!("{}", json_of(&sizings, !curve.is_empty(), &out_dir));
    } else if !crate::ui::quiet() {
        for s in &sizings {
            print!("{}", crate::size_text::table(s));
        }
        if sizings.len() > 1 {
            print!("{}", crate::size_text::curve_table(&sizings));
        }
        println!("written: {}", out_dir.display());
    }
    match sizings.iter().find(|s| s.recommendation.is_none()) {
        Some(s) => bad(&format!(
            "no candidate of {} carries {} events a day within {} brokers; see {} for why each failed",
            s.inputs.machines.join(", "),
            format_count(s.inputs.events_per_day),
            s.inputs.max_brokers,
            out_dir.join("sizing.md").display()
        )),
        None => ExitCode::SUCCESS,
    }
}

fn bad(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(EXIT_BAD_INPUT)
}

enum Failure {
    Input(String),
    Run(String),
}

/// One volume: every machine searched (in parallel), then the cheapest that passed.
fn size_one(inputs: &SizingInputs, json: bool) -> Result<Sizing, Failure> {
    let profiles = sizing::check_inputs(inputs).map_err(Failure::Input)?;
    let progress = Progress::run(&format!("sizing {} events a day", format_count(inputs.events_per_day)));
    let show = !json && !crate::ui::quiet();
    let on_run = |r: &CandidateResult| {
        if show {
            progress.eprintln(&format!(
                "  {} x {}: {} (ack p99 {:.1} ms, CPU {:.0}%, disk {:.0}%, NIC {:.0}%)",
                r.brokers,
                r.machine,
                r.verdict,
                r.ack_p99_ms,
                100.0 * r.cpu_peak,
                100.0 * r.disk_peak,
                100.0 * r.nic_peak
            ));
        }
    };
    let results = crate::pool::map_in_order(&profiles, crate::pool::jobs(None), |m| {
        sizing::search_machine(inputs, m, &on_run)
    });
    progress.finish();
    let mut candidates = Vec::new();
    for r in results {
        candidates.extend(r.map_err(Failure::Run)?);
    }
    let recommendation = sizing::recommend(inputs, &candidates);
    Ok(Sizing {
        inputs: inputs.clone(),
        candidates,
        recommendation,
    })
}

/// The winner's file name under the output folder.
fn winner_file(s: &Sizing) -> String {
    format!("winner-{}.toml", format_count(s.inputs.events_per_day))
}

fn recommendation_json(s: &Sizing, dir: &Path) -> serde_json::Value {
    match &s.recommendation {
        None => serde_json::Value::Null,
        Some(r) => {
            let mut v = serde_json::to_value(Recommendation {
                scenario: dir.join(winner_file(s)).display().to_string(),
                ..r.clone()
            })
            .expect("recommendation serialises");
            v["events_per_day"] = json!(s.inputs.events_per_day);
            v
        }
    }
}

/// The JSON the users script against.
fn json_of(sizings: &[Sizing], curve: bool, dir: &Path) -> serde_json::Value {
    if curve {
        let points: Vec<_> = sizings
            .iter()
            .map(|s| json!({"events_per_day": s.inputs.events_per_day, "recommendation": recommendation_json(s, dir), "candidates": s.candidates}))
            .collect();
        json!({
            "inputs": sizings.first().map(|s| &s.inputs),
            "curve": points,
            "monotone": crate::size_text::monotone(sizings),
        })
    } else {
        let s = &sizings[0];
        json!({"inputs": s.inputs, "candidates": s.candidates, "recommendation": recommendation_json(s, dir)})
    }
}

/// sizing.md, sizing.json, each winner's scenario and report, and the plots.
fn write_outputs(sizings: &[Sizing], dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut md = String::new();
    for s in sizings {
        md.push_str(&crate::size_text::markdown(s, &winner_file(s)));
        if let Some(r) = &s.recommendation {
            std::fs::write(dir.join(winner_file(s)), &r.scenario)?;
            write_winner_report(
                s,
                r,
                &dir.join(format!("winner-{}", format_count(s.inputs.events_per_day))),
            )?;
        }
    }
    if sizings.len() > 1 {
        md.push_str(&crate::size_text::curve_markdown(sizings));
    }
    std::fs::write(dir.join("sizing.md"), md)?;
    let json = json_of(sizings, sizings.len() > 1, dir);
    std::fs::write(
        dir.join("sizing.json"),
        format!("{}\n", serde_json::to_string_pretty(&json)?),
    )?;
    let points: Vec<SizingPoint> = sizings
        .last()
        .map(|s| {
            s.candidates
                .iter()
                .map(|c| SizingPoint {
                    machine: c.machine.clone(),
                    brokers: c.brokers,
                    ack_p99_ms: c.ack_p99_ms,
                    passed: c.passed(),
                })
                .collect()
        })
        .unwrap_or_default();
    let curve: Vec<CurvePoint> = if sizings.len() > 1 {
        sizings
            .iter()
            .filter_map(|s| {
                s.recommendation.as_ref().map(|r| CurvePoint {
                    events_per_day: s.inputs.events_per_day as f64,
                    cost_per_million_usd: r.cost_per_million_events_usd,
                    label: format!("{} x {}, ${:.0}/month", r.brokers, r.machine, r.monthly_cost_usd),
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    let budget = sizings.last().and_then(|s| s.inputs.ack_p99_ms);
    streamsim_reports::write_sizing_plots(&points, budget, &curve, dir)?;
    Ok(())
}

/// The winner run again with its full report: utilisation over the peak window, the failure shaded.
fn write_winner_report(s: &Sizing, r: &Recommendation, dir: &Path) -> std::io::Result<()> {
    let name = PathBuf::from(winner_file(s));
    let loaded = parse_scenario(&name, &r.scenario).map_err(|e| std::io::Error::other(e.to_string()))?;
    let opts = RunOptions {
        seed: s.inputs.seed,
        wall_limit: std::time::Duration::from_secs(1_800),
    };
    let out = run_scenario(&loaded, &opts).map_err(|e| std::io::Error::other(e.to_string()))?;
    streamsim_reports::write_run_report(&out.report, dir)?;
    Ok(())
}
