//! `streamsim diff A B --seeds ...`: two scenarios over the same seeds,
//! compared side by side, with a confidence interval on each difference and
//! optional gates that make a regression fail a CI job.

mod stats;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use serde_json::{json, Value};
use streamsim_reports::{verdict_str, RunResult, Verdict};
use streamsim_sim::run::{run_scenario, RunOptions};
use streamsim_sim::scenario::LoadedScenario;

use crate::progress::Progress;
use crate::seeds::{parse_seeds, SeedRange, Shard};
use crate::{EXIT_BAD_INPUT, EXIT_RUN_ERROR, EXIT_UNEXPECTED};
use stats::{mean, paired_bootstrap, parse_gate, worse_by_percent, Gate, Worse};

/// Arguments of `streamsim diff`.
#[derive(Args)]
pub struct DiffArgs {
    /// Baseline scenario file (A).
    #[arg(value_name = "A")]
    a: PathBuf,
    /// Scenario file compared with it (B), e.g. A with one knob changed.
    #[arg(value_name = "B")]
    b: PathBuf,
    /// Seeds, each run with both A and B: `A..B` half-open, `A..=B` inclusive, `N` one seed.
    #[arg(long, value_name = "A..B", value_parser = parse_seeds)]
    seeds: SeedRange,
    /// Runs at a time (default: the number of cores).
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
    /// Exit 1 when B's mean of METRIC is worse than A's by more than PCT percent, e.g. `p99=10%` (repeatable; metrics as in the table: ack_p50, ack_p99, ack_p999 or p50, p99, p999, e2e_p50, e2e_p99, e2e_p999, throughput, lag).
    #[arg(long, value_name = "METRIC=PCT%")]
    fail_if_worse: Vec<String>,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
    /// Wall-clock seconds before the watchdog abandons one run.
    #[arg(long, default_value_t = 600, value_name = "S")]
    wall_limit_s: u64,
}

/// A figure of one run compared across seeds.
struct Metric {
    key: &'static str,
    label: &'static str,
    worse: Worse,
    /// The run's value, given the workload's duration in seconds; `None`
    /// when the run does not measure it (no read path).
    get: fn(&RunResult, f64) -> Option<f64>,
}

const METRICS: [Metric; 8] = [
    Metric {
        key: "ack_p50",
        label: "ack p50 (ms)",
        worse: Worse::Higher,
        get: |r, _| Some(r.ack_latency_ms.p50),
    },
    Metric {
        key: "ack_p99",
        label: "ack p99 (ms)",
        worse: Worse::Higher,
        get: |r, _| Some(r.ack_latency_ms.p99),
    },
    Metric {
        key: "ack_p999",
        label: "ack p99.9 (ms)",
        worse: Worse::Higher,
        get: |r, _| Some(r.ack_latency_ms.p999),
    },
    Metric {
        key: "e2e_p50",
        label: "e2e p50 (ms)",
        worse: Worse::Higher,
        get: |r, _| r.read.e2e_latency_ms.map(|p| p.p50),
    },
    Metric {
        key: "e2e_p99",
        label: "e2e p99 (ms)",
        worse: Worse::Higher,
        get: |r, _| r.read.e2e_latency_ms.map(|p| p.p99),
    },
    Metric {
        key: "e2e_p999",
        label: "e2e p99.9 (ms)",
        worse: Worse::Higher,
        get: |r, _| r.read.e2e_latency_ms.map(|p| p.p999),
    },
    Metric {
        key: "throughput",
        label: "acked events/s",
        worse: Worse::Lower,
        get: |r, d| (d > 0.0).then(|| r.events_acked as f64 / d),
    },
    Metric {
        key: "lag",
        label: "max consumer lag",
        worse: Worse::Lower,
        get: |r, _| r.read.max_consumer_lag.map(|l| l as f64),
    },
];

/// One metric over both sides: per-seed values in seed order.
struct Compared {
    metric: &'static Metric,
    a: Vec<f64>,
    b: Vec<f64>,
}

impl Compared {
    fn diff_mean(&self) -> f64 {
        mean(&self.b) - mean(&self.a)
    }

    /// The 95 % interval of B − A; the resamples are fixed per metric.
    fn interval(&self, index: usize) -> Option<stats::Interval> {
        let diffs: Vec<f64> = self.a.iter().zip(&self.b).map(|(a, b)| b - a).collect();
        paired_bootstrap(&diffs, 0x5EED_D1FF ^ index as u64)
    }

    /// How much worse B is, in percent of A (infinite when A's mean is 0
    /// and B's is worse).
    fn worse_by(&self) -> f64 {
        let (a, b) = (mean(&self.a), mean(&self.b));
        worse_by_percent(a, b, self.metric.worse).unwrap_or(match (self.metric.worse, b.total_cmp(&a)) {
            (_, std::cmp::Ordering::Equal) => 0.0,
            (Worse::Higher, std::cmp::Ordering::Greater) | (Worse::Lower, std::cmp::Ordering::Less) => f64::INFINITY,
            _ => f64::NEG_INFINITY,
        })
    }
}

/// Runs both scenarios over the seeds and compares them; exit 0, or 1 when
/// a `--fail-if-worse` gate trips, 2 on bad input, 3 if a run did not finish.
pub fn diff(args: DiffArgs) -> ExitCode {
    let known: Vec<&str> = METRICS.iter().map(|m| m.key).collect();
    let gates: Result<Vec<Gate>, String> = args.fail_if_worse.iter().map(|g| parse_gate(g, &known)).collect();
    let loaded = [crate::omb_cmd::load(&args.a), crate::omb_cmd::load(&args.b)];
    let (gates, [a, b]) = match (gates, loaded) {
        (Ok(g), [Ok(a), Ok(b)]) => (g, [a, b]),
        (g, [a, b]) => {
            for e in [g.err().map(|g| format!("error: {g}")), a.err(), b.err()]
                .into_iter()
                .flatten()
            {
                eprintln!("{e}");
            }
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let sides = [&a, &b];
    let seeds: Vec<u64> = args.seeds.seeds(Shard::ALL).collect();
    let jobs = crate::pool::jobs(args.jobs.map(usize::from));
    let runs = match run_all(&sides, &seeds, jobs, Duration::from_secs(args.wall_limit_s)) {
        Ok(r) => r,
        Err(errors) => {
            for e in errors {
                eprintln!("error: {e}");
            }
            return ExitCode::from(EXIT_RUN_ERROR);
        }
    };
    let compared: Vec<Compared> = METRICS
        .iter()
        .filter_map(|m| {
            let side = |i: usize, l: &LoadedScenario| -> Option<Vec<f64>> {
                runs[i].iter().map(|r| (m.get)(r, l.scenario.duration_s)).collect()
            };
            Some(Compared {
                metric: m,
                a: side(0, &a)?,
                b: side(1, &b)?,
            })
        })
        .collect();
    let mut tripped = false;
    let mut gate_rows = Vec::new();
    for g in &gates {
        let Some(c) = compared.iter().find(|c| c.metric.key == g.metric) else {
            eprintln!(
                "error: --fail-if-worse {g}: {} is not measured by both scenarios (no read path?)",
                g.metric
            );
            return ExitCode::from(EXIT_BAD_INPUT);
        };
        let by = c.worse_by();
        tripped |= by > g.percent;
        gate_rows.push((g, by, by > g.percent));
    }
    if args.json {
        let j = to_json(&args, &sides, &seeds, &runs, &compared, &gate_rows);
        println!("{}", serde_json::to_string_pretty(&j).expect("JSON"));
    } else {
        print!(
            "{}",
            crate::ui::highlight(&render(&args, &sides, &seeds, &runs, &compared, &gate_rows))
        );
    }
    if tripped {
        ExitCode::from(EXIT_UNEXPECTED)
    } else {
        ExitCode::SUCCESS
    }
}

/// A finished run: side (0 for A), seed index, and its result or why it
/// did not finish.
/// Every (side, seed) run on `jobs` threads; the results of each side in
/// seed order, or every run that did not finish with its replay command.
fn run_all(
    sides: &[&LoadedScenario; 2],
    seeds: &[u64],
    jobs: usize,
    wall_limit: Duration,
) -> Result<[Vec<RunResult>; 2], Vec<String>> {
    let tasks: Vec<(usize, usize)> = (0..2)
        .flat_map(|side| (0..seeds.len()).map(move |i| (side, i)))
        .collect();
    let progress = Progress::sweep(tasks.len() as u64);
    let done = crate::pool::map_in_order(&tasks, jobs, |&(side, i)| {
        let l = sides[side];
        let opts = RunOptions {
            seed: seeds[i],
            wall_limit,
        };
        let r = run_scenario(l, &opts).map(|o| o.report.result).map_err(|e| {
            format!(
                "{}: {e}\n  replay: {}",
                l.path.display(),
                crate::replay::command(&l.path, seeds[i])
            )
        });
        progress.advance(String::new());
        (side, r)
    });
    progress.finish();
    let mut out: [Vec<RunResult>; 2] = [Vec::new(), Vec::new()];
    let mut errors = Vec::new();
    for (side, r) in done {
        match r {
            Ok(mut r) => {
                r.replay = crate::replay::command(&sides[side].path, r.seed);
                out[side].push(r);
            }
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// A value for the table: enough digits for milliseconds, none for counts.
fn num(v: f64) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    if v.abs() >= 1000.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}

fn signed(v: f64) -> String {
    if v >= 0.0 {
        format!("+{}", num(v))
    } else {
        num(v)
    }
}

fn verdict_counts(runs: &[RunResult]) -> (usize, usize) {
    let v = runs.iter().filter(|r| r.verdict == Verdict::Violation).count();
    (runs.len() - v, v)
}

/// Seeds whose verdicts differ: (seed, A's, B's).
fn differing(runs: &[Vec<RunResult>; 2]) -> Vec<(u64, Verdict, Verdict)> {
    runs[0]
        .iter()
        .zip(&runs[1])
        .filter(|(a, b)| a.verdict != b.verdict)
        .map(|(a, b)| (a.seed, a.verdict, b.verdict))
        .collect()
}

/// The side-by-side table a person reads.
fn render(
    args: &DiffArgs,
    sides: &[&LoadedScenario; 2],
    seeds: &[u64],
    runs: &[Vec<RunResult>; 2],
    compared: &[Compared],
    gates: &[(&Gate, f64, bool)],
) -> String {
    let mut s = String::new();
    for (tag, l) in ["A", "B"].iter().zip(sides) {
        let _ = writeln!(
            s,
            "{tag}: {} ({})",
            crate::replay::display_path(&l.path),
            l.scenario.name
        );
    }
    let _ = writeln!(s, "seeds {} ({} runs of each)\n", args.seeds, seeds.len());
    let mut rows: Vec<[String; 6]> =
        vec![["metric", "A mean", "B mean", "B - A", "95% CI of B - A", "change"].map(String::from)];
    let ((ap, av), (bp, bv)) = (verdict_counts(&runs[0]), verdict_counts(&runs[1]));
    rows.push([
        "verdicts".into(),
        format!("{ap} pass, {av} violation"),
        format!("{bp} pass, {bv} violation"),
        String::new(),
        String::new(),
        String::new(),
    ]);
    for (i, c) in compared.iter().enumerate() {
        let ci = c
            .interval(i)
            .map(|iv| format!("[{}, {}]", signed(iv.low), signed(iv.high)))
            .unwrap_or_else(|| "-".into());
        let (a, b) = (mean(&c.a), mean(&c.b));
        let change = if a == 0.0 {
            "-".to_string()
        } else {
            format!("{:+.1}%", (b - a) / a.abs() * 100.0)
        };
        rows.push([c.metric.label.into(), num(a), num(b), signed(c.diff_mean()), ci, change]);
    }
    let widths: Vec<usize> = (0..6)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    for r in &rows {
        let mut line = format!("{:<w$}", r[0], w = widths[0]);
        for (c, cell) in r.iter().enumerate().skip(1) {
            let _ = write!(line, "  {cell:>w$}", w = widths[c]);
        }
        let _ = writeln!(s, "{}", line.trim_end());
    }
    let diff = differing(runs);
    if !diff.is_empty() {
        let _ = writeln!(s, "\nverdicts differ on {} seed(s):", diff.len());
        for (seed, va, vb) in diff.iter().take(10) {
            let _ = writeln!(s, "  seed {seed}: A {}, B {}", verdict_str(*va), verdict_str(*vb));
            for (tag, side) in [("A", 0), ("B", 1)] {
                if let Some(r) = runs[side]
                    .iter()
                    .find(|r| r.seed == *seed && r.verdict == Verdict::Violation)
                {
                    let _ = writeln!(s, "    replay {tag}: {}", r.replay);
                }
            }
        }
    }
    if !gates.is_empty() {
        let _ = writeln!(s, "\ngates (B worse than A by at most):");
        for (g, by, bad) in gates {
            let how = if *by > 0.0 {
                format!("B is worse by {by:.1}%")
            } else {
                format!("B is not worse (better by {:.1}%)", -by + 0.0)
            };
            let verdict = if *bad { "TRIPPED" } else { "ok" };
            let _ = writeln!(s, "  {g}: {how}: {verdict}");
        }
    }
    s
}

/// The `--json` object.
fn to_json(
    args: &DiffArgs,
    sides: &[&LoadedScenario; 2],
    seeds: &[u64],
    runs: &[Vec<RunResult>; 2],
    compared: &[Compared],
    gates: &[(&Gate, f64, bool)],
) -> Value {
    let side = |i: usize| {
        let (pass, violation) = verdict_counts(&runs[i]);
        json!({
            "scenario": sides[i].scenario.name,
            "path": crate::replay::display_path(&sides[i].path),
            "pass": pass,
            "violation": violation,
            "trace_hashes": runs[i].iter().map(|r| r.trace_hash.clone()).collect::<Vec<_>>(),
        })
    };
    let metrics: Vec<Value> = compared
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let iv = c.interval(i);
            json!({
                "metric": c.metric.key,
                "label": c.metric.label,
                "worse": match c.metric.worse { Worse::Higher => "higher", Worse::Lower => "lower" },
                "a_mean": mean(&c.a),
                "b_mean": mean(&c.b),
                "diff": c.diff_mean(),
                "ci95": iv.map(|iv| json!([iv.low, iv.high])),
                "a": c.a,
                "b": c.b,
            })
        })
        .collect();
    let gates: Vec<Value> = gates
        .iter()
        .map(|(g, by, bad)| {
            json!({
                "metric": g.metric,
                "max_worse_percent": g.percent,
                "worse_by_percent": if by.is_finite() { json!(by) } else { json!(by.to_string()) },
                "tripped": bad,
            })
        })
        .collect();
    json!({
        "a": side(0),
        "b": side(1),
        "seeds": args.seeds.to_string(),
        "seed_list": seeds,
        "verdicts_differ": differing(runs)
            .iter()
            .map(|(s, a, b)| json!({"seed": s, "a": verdict_str(*a), "b": verdict_str(*b)}))
            .collect::<Vec<_>>(),
        "metrics": metrics,
        "gates": gates,
    })
}
