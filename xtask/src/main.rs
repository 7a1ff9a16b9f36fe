//! Project chores.
//!
//! * `cargo xtask bench [REPS]` measures simulation speed on the standard
//!   scenarios: simulated events per wall-clock second, virtual-to-wall time
//!   ratio and peak RSS, as medians over repeated runs (machines here are noisy).
//! * `cargo xtask bench scale [--quick]` runs the virtual days of
//!   `scenarios/scale/` once each and prints the same figures, to show wall
//!   time growing with events and memory staying flat; it writes the
//!   figures to `target/bench/scale.csv` and plots them (`scale.svg`,
//!   `scale.png`) beside it. `bench scale --plot CSV [OUTDIR]` draws that
//!   plot from a CSV of the same columns.
//! * `--cli BIN` after `bench [REPS]` or `bench scale [--quick]` measures a
//!   build of the CLI instead of this program (`streamsim run FILE --json`,
//!   its peak resident set from the kernel's accounting of that child): the
//!   PGO build, say, which only the CLI has.
//! * `cargo xtask bench sets [--events N]` times the checkers' event set
//!   against the roaring and range-set-blaze crates on the log audit's
//!   order at a billion-event day's peak (default 100 million events), and
//!   prints each one's peak resident set.
//! * `cargo xtask soak [--seeds N]` runs the many-seed tests (the scenario
//!   library, the write and read path libraries, the cold path, hot keys, the
//!   serving layer and autoscaling) over N seeds (default 50)
//!   instead of the test suite's few, then the user-crate test the suite skips.
//! * `cargo xtask pgo` builds the CLI with profile-guided optimisation for
//!   long runs, trained on library scenarios, into `target/pgo/streamsim`.
//! * `cargo xtask fuzz [--cases N]` feeds N (default 100000) mutated scenario
//!   and OMB files through the loader and validator: the suite's property
//!   test (200 cases) run longer, looking for a panic or a hang.
//!
//! Every measured run is a child process of its own, so its peak RSS is its
//! own and not the largest of all runs before it.

/// The CLI's allocator and its setting, so the benchmark measures what users run.
#[path = "../../src/allocator.rs"]
mod allocator;
mod event_sets;
mod measure;
mod pgo;

use measure::{measure_cli, measure_in_child, Measured};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Write path alone, then the full pipeline (processor and sink) steady and under faults.
const BENCH_SCENARIOS: &[&str] = &[
    "steady",
    "leader-crash",
    "pipeline-steady",
    "pipeline-leader-crash",
    "processor-crash-eos",
];

/// The workspace's root, as a plain path (it is printed beside what a command writes).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits inside the workspace")
        .to_path_buf()
}

/// Cargo at the workspace root, with the environment's rustc flags removed:
/// they would replace the `--cfg madsim` of .cargo/config.toml.
fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root())
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS");
    cmd
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn header() {
    println!(
        "{:<22} {:>5} {:>13} {:>10} {:>9} {:>15} {:>13} {:>10} {:>9}",
        "scenario", "runs", "events", "virtual_s", "wall_s", "events/wall_s", "virtual/wall", "peak_MiB", "verdict"
    );
}

fn row(name: &str, runs: &[Measured]) {
    let last = runs.last().expect("at least one run");
    let verdicts: Vec<&str> = runs.iter().map(|r| r.verdict.as_str()).collect();
    let verdict = if verdicts.iter().all(|v| *v == verdicts[0]) {
        verdicts[0].to_string()
    } else {
        "mixed".into()
    };
    println!(
        "{:<22} {:>5} {:>13} {:>10.1} {:>9.2} {:>15.0} {:>13.1} {:>10.0} {:>9}",
        name,
        runs.len(),
        last.events,
        last.virtual_s,
        median(runs.iter().map(|r| r.wall_s).collect()),
        median(runs.iter().map(|r| r.events as f64 / r.wall_s).collect()),
        median(runs.iter().map(|r| r.virtual_s / r.wall_s).collect()),
        median(runs.iter().map(|r| r.peak_rss_mib).collect()),
        verdict
    );
}

/// The program a benchmark runs.
enum Subject {
    /// This program, built with the `dist` profile as the alias builds it.
    Own,
    /// A build of the CLI, such as `cargo xtask pgo`'s, run as `BIN run FILE --json`.
    Cli(PathBuf),
}

impl Subject {
    /// `--cli BIN` taken out of `args`, or this program.
    fn from_args(args: &mut Vec<String>) -> Result<Self, String> {
        let Some(i) = args.iter().position(|a| a == "--cli") else {
            return Ok(Subject::Own);
        };
        let bin = args.get(i + 1).ok_or("--cli needs the path of a streamsim binary")?;
        let bin = PathBuf::from(bin);
        if !bin.is_file() {
            return Err(format!(
                "--cli {}: no such file (`cargo xtask pgo` builds target/pgo/streamsim)",
                bin.display()
            ));
        }
        args.drain(i..=i + 1);
        Ok(Subject::Cli(bin))
    }

    fn measure(&self, path: &Path, seed: u64) -> Result<Measured, String> {
        match self {
            Subject::Own => measure_in_child(path, seed),
            Subject::Cli(bin) => measure_cli(bin, path, seed, 4 * 3600),
        }
    }

    fn describe(&self) -> String {
        match self {
            Subject::Own => "this program's `dist` build".into(),
            Subject::Cli(bin) => bin.display().to_string(),
        }
    }
}

fn bench(reps: usize, subject: &Subject) -> Result<(), String> {
    println!(
        "each figure is the median of {reps} seeds, every run in a process of its own, measuring {}",
        subject.describe()
    );
    header();
    for name in BENCH_SCENARIOS {
        let path = root().join("scenarios").join(format!("{name}.toml"));
        let runs = (1..=reps as u64)
            .map(|seed| subject.measure(&path, seed))
            .collect::<Result<Vec<_>, _>>()?;
        row(name, &runs);
    }
    Ok(())
}

/// Events a scale file's name stands for (`day-10m` is 10 million), so the days run smallest first.
fn scale_of(path: &std::path::Path) -> u64 {
    let name = path
        .file_stem()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
    let digits: String = name
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(|c| c.is_ascii_digit())
        .collect();
    let n: u64 = digits.parse().unwrap_or(u64::MAX);
    let suffix = name
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .find(|c| !c.is_ascii_digit());
    let unit = match suffix {
        Some('k') => 1_000,
        Some('m') => 1_000_000,
        Some('b') => 1_000_000_000,
        _ => 1,
    };
    n.saturating_mul(unit)
}

/// The virtual days of `scenarios/scale/`, smallest first; `--quick` runs only the first.
/// Writes `target/bench/scale.csv` and its plot beside it.
fn bench_scale(quick: bool, subject: &Subject) -> Result<(), String> {
    let dir = root().join("scenarios/scale");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort_by_key(|p| (scale_of(p), p.clone()));
    if quick {
        files.truncate(1);
    }
    println!(
        "one seed each, every run in a process of its own, measuring {}",
        subject.describe()
    );
    header();
    let mut days = Vec::new();
    for path in files {
        let run = subject.measure(&path, 1)?;
        let name = path
            .file_stem()
            .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
        row(&name, std::slice::from_ref(&run));
        days.push((name, run));
    }
    let out = root().join("target/bench");
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let csv = out.join("scale.csv");
    std::fs::write(&csv, scale_csv(&days)).map_err(|e| format!("{}: {e}", csv.display()))?;
    plot_scale(&csv, &out)
}

/// Header of the scale benchmark's CSV.
const SCALE_CSV_HEADER: &str = "scenario,events,virtual_s,wall_s,peak_rss_mib,verdict";

fn scale_csv(days: &[(String, Measured)]) -> String {
    let mut text = format!("{SCALE_CSV_HEADER}\n");
    for (name, m) in days {
        text.push_str(&format!(
            "{name},{},{},{},{},{}\n",
            m.events, m.virtual_s, m.wall_s, m.peak_rss_mib, m.verdict
        ));
    }
    text
}

/// Reads a scale CSV (as `bench scale` writes it, or rows measured by hand with
/// `streamsim run` under `/usr/bin/time -v`) and draws its plot into `out`.
fn plot_scale(csv: &Path, out: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(csv).map_err(|e| format!("{}: {e}", csv.display()))?;
    let points = parse_scale_csv(&text).map_err(|e| format!("{}: {e}", csv.display()))?;
    // The scale issue's limits for the billion-event day.
    let target = streamsim_reports::ScaleTarget {
        events: 1e9,
        wall_s: 600.0,
        peak_rss_mib: 2048.0,
    };
    let files = streamsim_reports::write_scale_plot(&points, &[target], out).map_err(|e| e.to_string())?;
    for f in files {
        println!("wrote {}", f.display());
    }
    Ok(())
}

fn parse_scale_csv(text: &str) -> Result<Vec<streamsim_reports::ScalePoint>, String> {
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, h)) if h.trim() == SCALE_CSV_HEADER => {}
        _ => return Err(format!("line 1: the header must be `{SCALE_CSV_HEADER}`")),
    }
    let mut points = Vec::new();
    for (i, line) in lines.filter(|(_, l)| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        if f.len() != 6 {
            return Err(format!("line {}: 6 fields expected, found {}", i + 1, f.len()));
        }
        let num = |k: usize, what: &str| {
            f[k].parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v > 0.0)
                .ok_or_else(|| format!("line {}: {what} must be a positive number, got {:?}", i + 1, f[k]))
        };
        points.push(streamsim_reports::ScalePoint {
            name: f[0].to_string(),
            events: num(1, "events")?,
            wall_s: num(3, "wall_s")?,
            peak_rss_mib: num(4, "peak_rss_mib")?,
        });
    }
    Ok(points)
}

/// `cargo test --release --test suite -- <args>`: the integration tests are one binary, and
/// a module's path picks a file's tests. With `seeds`, the many-seed tests run that many.
fn suite(seeds: Option<u64>, args: &[&str]) -> Result<std::process::ExitStatus, String> {
    let mut cmd = cargo();
    cmd.args(["test", "--release", "--test", "suite", "--"]).args(args);
    if let Some(n) = seeds {
        cmd.env("STREAMSIM_SEEDS", n.to_string());
    }
    cmd.status().map_err(|e| format!("could not start cargo: {e}"))
}

fn soak(seeds: u64) -> Result<(), String> {
    println!("soak: the many-seed tests over {seeds} seeds");
    // `library::` also matches `chaos_library::`, `transactions::` `lake_transactions::` and
    // `subscriptions::` `txn_subscriptions::`: many-seed tests all.
    let status = suite(
        Some(seeds),
        &[
            "chaos_library::",
            "library::",
            "read_path::",
            "lake::",
            "hot_keys::",
            "serving::",
            "autoscale::",
            "subscriptions::",
            "transactions::",
            "delivery_timeout::",
            "--nocapture",
        ],
    )?;
    if !status.success() {
        return Err(format!("the soak failed ({status})"));
    }
    // A crate outside the workspace built against this checkout: slow from a cold build
    // directory, so the test suite leaves it to the soak.
    println!("soak: a user crate outside the workspace");
    let status = suite(None, &["--ignored", "user_crate::"])?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("the user-crate test failed ({status})"))
    }
}

/// The scenario loader's property test over `cases` mutated files.
fn fuzz(cases: u64) -> Result<(), String> {
    println!("fuzz: {cases} mutated scenario files and as many OMB files through the loader");
    let status = cargo()
        .env("STREAMSIM_FUZZ_CASES", cases.to_string())
        // The integration tests are one binary; the module's path picks the fuzz's tests.
        .args([
            "test",
            "--release",
            "--test",
            "suite",
            "--",
            "scenario_fuzz::",
            "--nocapture",
        ])
        .status()
        .map_err(|e| format!("could not start cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "the fuzz found a failing file ({status}); its input is printed above"
        ))
    }
}

const USAGE: &str = "usage: cargo xtask bench [REPS] [--cli BIN] | bench scale [--quick] [--cli BIN] | bench scale --plot CSV [OUTDIR] | bench sets [--events N] | soak [--seeds N] | pgo | fuzz [--cases N]";

fn number<T: std::str::FromStr>(s: Option<&String>, what: &str) -> Result<Option<T>, String> {
    s.map(|s| {
        s.parse()
            .map_err(|_| format!("{what} must be a whole number, got {s:?}"))
    })
    .transpose()
}

fn main() {
    allocator::hold_less_memory();
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let subject = match args.first().map(String::as_str) {
        Some("bench") => Subject::from_args(&mut args),
        _ => Ok(Subject::Own),
    };
    let subject = subject.unwrap_or_else(|e| {
        eprintln!("xtask: {e}");
        std::process::exit(2);
    });
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match a.as_slice() {
        ["bench", "scale"] => bench_scale(false, &subject),
        ["bench", "scale", "--quick"] => bench_scale(true, &subject),
        ["bench", "sets", ..] | ["bench", "scale", "--plot", ..] if matches!(subject, Subject::Cli(_)) => Err(
            "--cli goes with `bench [REPS]` and `bench scale [--quick]`: the plot and the event sets run no CLI".into(),
        ),
        ["bench", "scale", "--plot", csv] => plot_scale(Path::new(csv), &root().join("target/bench")),
        ["bench", "scale", "--plot", csv, out] => plot_scale(Path::new(csv), Path::new(out)),
        ["bench", "sets"] => event_sets::bench(100_000_000, 3),
        ["bench", "sets", "--events", _] => {
            number(args.get(3), "--events").and_then(|n| event_sets::bench(n.unwrap_or(0), 3))
        }
        ["bench"] => bench(5, &subject),
        ["bench", _] => number(args.get(1), "REPS").and_then(|n| bench(n.unwrap_or(5), &subject)),
        ["soak"] => soak(50),
        ["soak", "--seeds", _] => number(args.get(2), "--seeds").and_then(|n| soak(n.unwrap_or(50))),
        ["pgo"] => pgo::pgo(),
        ["fuzz"] => fuzz(100_000),
        ["fuzz", "--cases", _] => number(args.get(2), "--cases").and_then(|n| fuzz(n.unwrap_or(100_000))),
        ["measure", path, seed] => measure::child(Path::new(path), seed),
        ["sets-child", kind, periods] => event_sets::child(kind, periods),
        _ => Err(USAGE.into()),
    };
    if let Err(e) = result {
        eprintln!("xtask: {e}");
        std::process::exit(2);
    }
}

#[cfg(test)]
mod tests {
    use super::{parse_scale_csv, scale_of, Subject};
    use std::path::Path;

    #[test]
    fn days_sort_by_the_events_their_names_stand_for() {
        let mut days = ["day-1b.toml", "day-100m.toml", "day-10m.toml"].map(|n| Path::new(n).to_path_buf());
        days.sort_by_key(|p| (scale_of(p), p.clone()));
        assert_eq!(
            days.map(|p| p.display().to_string()),
            ["day-10m.toml", "day-100m.toml", "day-1b.toml"]
        );
    }

    #[test]
    fn a_scale_csv_names_the_line_and_field_it_cannot_read() {
        let head = super::SCALE_CSV_HEADER;
        let ok = parse_scale_csv(&format!("{head}\nday-10m,9997054,86400.2,299,333,pass\n")).unwrap();
        assert_eq!(ok.len(), 1);
        assert_eq!(ok[0].events, 9_997_054.0);
        assert_eq!(ok[0].peak_rss_mib, 333.0);
        let e = parse_scale_csv(&format!("{head}\nday-10m,9997054,86400.2,-1,333,pass\n")).unwrap_err();
        assert!(e.contains("line 2") && e.contains("wall_s"), "{e}");
        let e = parse_scale_csv(&format!("{head}\nday-10m,1,2\n")).unwrap_err();
        assert!(e.contains("line 2") && e.contains("6 fields"), "{e}");
        assert!(parse_scale_csv("events\n").unwrap_err().contains("line 1"));
    }

    #[test]
    fn cli_takes_its_binary_out_of_the_arguments_and_refuses_a_missing_one() {
        let own = std::env::current_exe().unwrap().display().to_string();
        let mut args: Vec<String> = ["bench", "scale", "--cli", &own, "--quick"].map(String::from).into();
        assert!(matches!(Subject::from_args(&mut args), Ok(Subject::Cli(b)) if b.display().to_string() == own));
        assert_eq!(args, ["bench", "scale", "--quick"]);
        let mut args: Vec<String> = ["bench", "3"].map(String::from).into();
        assert!(matches!(Subject::from_args(&mut args), Ok(Subject::Own)));
        let mut args: Vec<String> = ["bench", "--cli", "target/no/such/streamsim"].map(String::from).into();
        let e = Subject::from_args(&mut args).err().unwrap();
        assert!(
            e.contains("target/no/such/streamsim") && e.contains("no such file"),
            "{e}"
        );
        let mut args: Vec<String> = ["bench", "--cli"].map(String::from).into();
        assert!(Subject::from_args(&mut args).err().unwrap().contains("needs the path"));
    }
}
