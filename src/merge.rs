//! `streamsim merge`: joins the `sweep.json` of each shard of a sweep into
//! one sweep report, refusing inputs that are not distinct shards of one
//! sweep.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::outcome::SweepOutcome;
use crate::shard_file::{ShardRef, SweepFile};
use crate::EXIT_BAD_INPUT;

/// Arguments of `streamsim merge`.
#[derive(Args)]
pub struct MergeArgs {
    /// Shard directories (the --out of each `streamsim sweep --shard K/N`), or their sweep.json files.
    #[arg(required = true, value_name = "DIR")]
    dirs: Vec<PathBuf>,
    /// Merged report directory (default: target/streamsim/sweep/merged).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Also append the markdown summary to FILE (e.g. "$GITHUB_STEP_SUMMARY").
    #[arg(long, value_name = "FILE")]
    summary_md: Option<PathBuf>,
    /// Merge even if some shards of the sweep are missing (the report then covers only the shards given).
    #[arg(long)]
    partial: bool,
}

/// Merges; exit codes as for `sweep`.
pub fn merge(args: MergeArgs) -> ExitCode {
    match plan(&args) {
        Ok((outcome, mut file)) => {
            let out = args
                .out
                .clone()
                .unwrap_or_else(|| PathBuf::from("target/streamsim/sweep/merged"));
            if let Some(d) = args.dirs.iter().find(|d| same_dir(d, &out)) {
                eprintln!(
                    "error: --out {} is the input {}: the merge would overwrite a shard's results",
                    out.display(),
                    d.display()
                );
                return ExitCode::from(EXIT_BAD_INPUT);
            }
            print!("{}", crate::ui::highlight(&outcome.render(crate::ui::quiet())));
            if !file.complete {
                println!("\nnote: some shards stopped early (--fail-fast) or are missing: not every seed ran");
            }
            if let Err(e) = outcome.write(&mut file, &out, args.summary_md.as_deref()) {
                eprintln!("error: {e}");
                return ExitCode::from(EXIT_BAD_INPUT);
            }
            if !crate::ui::quiet() {
                eprintln!("report: {}", out.display());
            }
            outcome.exit_code()
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_BAD_INPUT)
        }
    }
}

/// Whether two paths name one directory (an input may also be a sweep.json).
fn same_dir(input: &std::path::Path, out: &std::path::Path) -> bool {
    let dir = if input.is_file() {
        input.parent().unwrap_or(input)
    } else {
        input
    };
    match (dir.canonicalize(), out.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => dir == out,
    }
}

/// Reads and checks the inputs; the merged runs and the merged file.
fn plan(args: &MergeArgs) -> Result<(SweepOutcome, SweepFile), String> {
    let mut inputs = Vec::new();
    for d in &args.dirs {
        let (file, dir) = SweepFile::read(d)?;
        inputs.push((d.display().to_string(), file, dir));
    }
    let (first_name, first, _) = &inputs[0];
    let Some(ShardRef { count, .. }) = first.shard else {
        return Err(format!(
            "{first_name} is already a merge of shards; merge the shard directories themselves"
        ));
    };
    let mut by_shard: BTreeMap<u64, &str> = BTreeMap::new();
    for (name, f, _) in &inputs {
        let mismatch = |what: &str, a: &str, b: &str| {
            format!("{name} and {first_name} are not shards of one sweep: {what} {b} against {a}")
        };
        if f.streamsim_version != first.streamsim_version {
            return Err(mismatch("streamsim", &first.streamsim_version, &f.streamsim_version));
        }
        if f.seeds != first.seeds {
            return Err(mismatch("--seeds", &first.seeds, &f.seeds));
        }
        let Some(shard) = f.shard else {
            return Err(format!(
                "{name} is already a merge of shards; merge the shard directories themselves"
            ));
        };
        if shard.count != count {
            return Err(mismatch(
                "--shard",
                &format!("?/{count}"),
                &format!("{}/{}", shard.index, shard.count),
            ));
        }
        let names = |f: &SweepFile| -> Vec<(String, String)> {
            let mut v: Vec<_> = f.scenarios.iter().map(|s| (s.name.clone(), s.digest.clone())).collect();
            v.sort();
            v
        };
        if names(f) != names(first) {
            let list = |f: &SweepFile| {
                f.scenarios
                    .iter()
                    .map(|s| format!("{} ({})", s.name, s.digest))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            return Err(mismatch("scenarios (name and file digest)", &list(first), &list(f)));
        }
        if let Some(other) = by_shard.insert(shard.index, name) {
            return Err(format!(
                "{other} and {name} are both shard {}/{count}: overlapping inputs (the same shard given twice?)",
                shard.index
            ));
        }
    }
    let missing: Vec<String> = (1..=count)
        .filter(|k| !by_shard.contains_key(k))
        .map(|k| format!("{k}/{count}"))
        .collect();
    if !missing.is_empty() && !args.partial {
        return Err(format!(
            "missing shard(s) {} of the sweep over seeds {}: give every shard's directory, or pass --partial",
            missing.join(", "),
            first.seeds
        ));
    }

    let mut outcome = SweepOutcome::default();
    let mut seen: BTreeMap<(String, u64), &str> = BTreeMap::new();
    for (name, f, dir) in &inputs {
        for e in &f.entries {
            claim(&mut seen, &e.result.scenario, e.result.seed, name)?;
        }
        for e in &f.errors {
            claim(&mut seen, &e.scenario, e.seed, name)?;
        }
        outcome.entries.extend(f.sweep_entries(dir));
        outcome.errors.extend(f.errors.iter().cloned());
    }
    outcome.sort();

    let mut merged = first.clone();
    merged.shard = None;
    merged.merged_shards = by_shard.keys().map(|&index| ShardRef { index, count }).collect();
    merged.complete = missing.is_empty() && inputs.iter().all(|(_, f, _)| f.complete);
    Ok((outcome, merged))
}

/// Records that `input` holds (scenario, seed); refuses a second holder.
fn claim<'a>(
    seen: &mut BTreeMap<(String, u64), &'a str>,
    scenario: &str,
    seed: u64,
    input: &'a str,
) -> Result<(), String> {
    if let Some(other) = seen.insert((scenario.to_string(), seed), input) {
        return Err(format!(
            "{other} and {input} both hold {scenario} seed {seed}: overlapping inputs"
        ));
    }
    Ok(())
}
