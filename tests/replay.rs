//! The replay command a failing run prints works when pasted into a shell
//! at the repository's root, whatever directory the failing run started in
//! and whether or not `streamsim` is installed.

use crate::common;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_streamsim"))
}

/// `PATH` with the directory of the binary under test first, as after
/// `cargo install`, or with every directory holding a `streamsim` removed.
fn path_env(installed: bool) -> OsString {
    let old = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = std::env::split_paths(&old)
        .filter(|d| !d.join("streamsim").exists())
        .collect();
    if installed {
        dirs.insert(0, bin().parent().unwrap().to_path_buf());
    }
    std::env::join_paths(dirs).unwrap()
}

/// A scratch directory outside the repository to start the failing run in.
fn elsewhere(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("streamsim-replay-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn trace_hash(out: &Output) -> String {
    let j: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    j["trace_hash"].as_str().expect("trace_hash").to_string()
}

/// Runs a negative control from `cwd` and returns its JSON trace hash and
/// the replay command it printed.
fn failing_run(cwd: &Path, installed: bool) -> (String, String) {
    let scenario = common::scenario("neg-tight-budget");
    let out = Command::new(bin())
        .args([
            "run",
            scenario.to_str().unwrap(),
            "--seed",
            "3",
            "--json",
            "--no-report",
        ])
        .current_dir(cwd)
        .env("PATH", path_env(installed))
        .output()
        .expect("run streamsim");
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let replay = stderr
        .lines()
        .find_map(|l| l.split_once("replay with: ").map(|(_, c)| c.to_string()))
        .unwrap_or_else(|| panic!("no replay command in {stderr}"));
    (trace_hash(&out), replay)
}

#[test]
fn the_printed_replay_command_gives_the_same_run_from_the_repository_root() {
    let cwd = elsewhere("installed");
    let (hash, replay) = failing_run(&cwd, true);
    assert_eq!(replay, "streamsim run scenarios/neg-tight-budget.toml --seed 3");
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("{replay} --json --no-report"))
        .current_dir(root())
        .env("PATH", path_env(true))
        .output()
        .expect("run sh");
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(trace_hash(&out), hash, "the pasted command replays another run");
    std::fs::remove_dir_all(&cwd).unwrap();
}

#[test]
fn without_an_installed_streamsim_the_command_is_cargo_run() {
    let cwd = elsewhere("cargo");
    let (hash, replay) = failing_run(&cwd, false);
    let args = replay
        .strip_prefix("cargo run --release -- ")
        .unwrap_or_else(|| panic!("not the cargo form: {replay}"));
    assert_eq!(args, "run scenarios/neg-tight-budget.toml --seed 3");
    // What `cargo run --release --` would start, without a second build.
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("\"$STREAMSIM\" {args} --json --no-report"))
        .current_dir(root())
        .env("STREAMSIM", bin())
        .output()
        .expect("run sh");
    assert_eq!(trace_hash(&out), hash);
    std::fs::remove_dir_all(&cwd).unwrap();
}
