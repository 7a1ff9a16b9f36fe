//! `cargo xtask pgo`: the CLI built with profile-guided optimisation for long
//! runs (virtual days, sizing). The `dist` build is instrumented, runs a
//! training set of library scenarios, and is built again with the counts it
//! gathered, so that LLVM lays out and inlines the simulation's hot paths by
//! how they are really taken. Results do not change: the trace hash of a run
//! is checked to be the same with the instrumented and the final binary.
//!
//! Everything lives under `target/pgo/`, in build directories of its own, so
//! the ordinary builds keep their caches.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Library scenarios the instrumented binary runs: the write path, the full
/// pipeline steady and under faults, transactions, hot keys, the serving and
/// cold paths. The days and the peak-rate probes are left out, so what the
/// benchmarks measure is not what the profile was trained on.
const TRAINING: &[&str] = &[
    "steady",
    "leader-crash",
    "pipeline-steady",
    "pipeline-leader-crash",
    "processor-crash-eos",
    "txn-eos-v2-broker-crash",
    "txn-coordinator-crash",
    "seed-hot-keys",
    "seed-serving-cache",
    "seed-cold-path",
    "seed-autoscale",
    "chaos-swarm",
];

/// The scenario whose trace hash the two binaries must agree on.
const CHECKED: &str = "pipeline-leader-crash";

fn rustc_output(args: &[&str]) -> Result<String, String> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = Command::new(&rustc)
        .args(args)
        .output()
        .map_err(|e| format!("could not start {rustc}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{rustc} {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `llvm-profdata` of the toolchain that builds the project: its profile format
/// must be the one rustc's LLVM writes, which only the toolchain's own
/// `llvm-tools` component guarantees. Installed with rustup when missing.
fn llvm_profdata() -> Result<PathBuf, String> {
    let sysroot = rustc_output(&["--print", "sysroot"])?.trim().to_string();
    let host = rustc_output(&["-vV"])?
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(str::to_string)
        .ok_or("`rustc -vV` names no host")?;
    let tool = Path::new(&sysroot)
        .join("lib/rustlib")
        .join(host)
        .join("bin/llvm-profdata");
    if !tool.exists() {
        println!("pgo: llvm-profdata is missing; installing the toolchain's llvm-tools component with rustup");
        let installed = Command::new("rustup")
            .args(["component", "add", "llvm-tools"])
            .status()
            .is_ok_and(|s| s.success());
        if !installed || !tool.exists() {
            return Err(format!(
                "{} not found: install it with `rustup component add llvm-tools`",
                tool.display()
            ));
        }
    }
    Ok(tool)
}

/// `cargo build --profile dist --bin streamsim` into `target_dir` with `extra` rustc flags.
/// `--cfg madsim` is given again because these flags replace `.cargo/config.toml`'s.
fn build(target_dir: &Path, extra: &str) -> Result<PathBuf, String> {
    let flags = ["--cfg", "madsim", extra].join("\x1f");
    let status = crate::cargo()
        .env("CARGO_ENCODED_RUSTFLAGS", flags)
        .env("CARGO_TARGET_DIR", target_dir)
        .args(["build", "--profile", "dist", "--bin", "streamsim"])
        .status()
        .map_err(|e| format!("could not start cargo: {e}"))?;
    if !status.success() {
        return Err(format!("the build with {extra} failed ({status})"));
    }
    Ok(target_dir.join("dist/streamsim"))
}

/// Run `scenario` with seed 1 and return its trace hash.
fn run(bin: &Path, scenario: &str) -> Result<String, String> {
    let file = crate::root().join("scenarios").join(format!("{scenario}.toml"));
    let out = Command::new(bin)
        .args(["run", "--seed", "1", "--no-report", "--json"])
        .arg(&file)
        .output()
        .map_err(|e| format!("could not start {}: {e}", bin.display()))?;
    // Exit 1 is a violation the scenario may expect; only bad input and harness errors stop here.
    if !matches!(out.status.code(), Some(0 | 1)) {
        return Err(format!(
            "{} on {}: {} {}",
            bin.display(),
            file.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{scenario}: unreadable JSON summary: {e}"))?;
    json.get("trace_hash")
        .and_then(|v| v.as_str())
        .map(str::to_string)
        .ok_or_else(|| format!("{scenario}: the JSON summary has no trace_hash"))
}

/// Build, train, merge, build again; print where the binary is.
pub fn pgo() -> Result<(), String> {
    let profdata = llvm_profdata()?;
    let root = std::fs::canonicalize(crate::root()).map_err(|e| format!("the workspace root: {e}"))?;
    let dir = root.join("target/pgo");
    let raw = dir.join("raw");
    println!("pgo: 1/4 the instrumented build (about 5 minutes)");
    let gen = build(&dir.join("build-gen"), &format!("-Cprofile-generate={}", raw.display()))?;
    // The build scripts ran instrumented too; their counts are not the simulation's.
    let _ = std::fs::remove_dir_all(&raw);
    println!("pgo: 2/4 training on {} library scenarios", TRAINING.len());
    let mut expected = String::new();
    for s in TRAINING {
        let trace = run(&gen, s)?;
        println!("  {s:<26} trace {trace}");
        if *s == CHECKED {
            expected = trace;
        }
    }
    println!("pgo: 3/4 merging the counts");
    let merged = dir.join("merged.profdata");
    let status = Command::new(&profdata)
        .arg("merge")
        .arg("-o")
        .arg(&merged)
        .arg(&raw)
        .status()
        .map_err(|e| format!("could not start {}: {e}", profdata.display()))?;
    if !status.success() {
        return Err(format!("llvm-profdata merge failed ({status})"));
    }
    println!("pgo: 4/4 the optimised build (about 5 minutes)");
    let built = build(&dir.join("build"), &format!("-Cprofile-use={}", merged.display()))?;
    let got = run(&built, CHECKED)?;
    if got != expected {
        return Err(format!(
            "{CHECKED} seed 1 gave trace {got} with the optimised binary and {expected} with the instrumented one"
        ));
    }
    let bin = dir.join("streamsim");
    std::fs::copy(&built, &bin).map_err(|e| format!("{}: {e}", bin.display()))?;
    println!("pgo: {CHECKED} seed 1 has the same trace hash ({got}) with both binaries");
    println!("pgo: wrote {}", bin.display());
    Ok(())
}
