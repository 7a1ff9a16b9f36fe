//! The replay command a run prints: one line a person can paste into a
//! shell at the repository's root and get the same run back.
//!
//! Two things make a command as typed fail when pasted: a scenario path
//! relative to some other working directory (a test's, a CI step's), and a
//! `streamsim` that is not installed. So the path is given relative to the
//! root of the workspace that holds the scenario, and the command is
//! `cargo run --release -- run ...` unless the running binary is the
//! `streamsim` a shell finds on `PATH`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The command that replays `scenario` with `seed`.
pub fn command(scenario: &Path, seed: u64) -> String {
    format!(
        "{} {} --seed {seed}{}",
        launcher(),
        quote(&display_path(scenario)),
        omb_args_for(scenario)
    )
}

/// `--driver` and `--virtual-minutes` as given for the OpenMessaging
/// Benchmark workloads of this process (the same for all of them).
static OMB_ARGS: OnceLock<String> = OnceLock::new();

/// Remembers the OMB arguments a replay of an OMB workload file repeats.
pub fn set_omb_args(args: String) {
    let _ = OMB_ARGS.set(args);
}

/// The OMB arguments when `scenario` is an OMB workload file.
fn omb_args_for(scenario: &Path) -> &'static str {
    match OMB_ARGS.get() {
        Some(a) if is_omb_workload(scenario) => a,
        _ => "",
    }
}

/// Whether the file is an OMB workload, told by its content as the run told it
/// (asked here rather than of the OMB command, which uses this module).
fn is_omb_workload(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|text| {
        matches!(
            streamsim_workloads::omb_file_kind(path, &text),
            Some(streamsim_workloads::OmbFileKind::Workload)
        )
    })
}

/// `streamsim run` when this binary is the one on `PATH`, else the cargo
/// form, which works from the repository's root after any build.
fn launcher() -> &'static str {
    static LAUNCHER: OnceLock<&'static str> = OnceLock::new();
    LAUNCHER.get_or_init(|| {
        if installed() {
            "streamsim run"
        } else {
            "cargo run --release -- run"
        }
    })
}

/// Whether a shell typing `streamsim` would run this very binary.
fn installed() -> bool {
    let Some(me) = std::env::current_exe().ok().and_then(|p| p.canonicalize().ok()) else {
        return false;
    };
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    let name = format!("streamsim{}", std::env::consts::EXE_SUFFIX);
    // The first match is what the shell runs; a different streamsim earlier
    // on PATH would replay with another binary, and another trace hash.
    std::env::split_paths(&path)
        .map(|dir| dir.join(&name))
        .find(|p| p.is_file())
        .and_then(|p| p.canonicalize().ok())
        .is_some_and(|p| p == me)
}

/// `scenario` relative to the root of its workspace (the nearest directory
/// above it whose `Cargo.toml` has a `[workspace]` table), or as given when
/// it is in none.
pub fn display_path(scenario: &Path) -> String {
    let relative = scenario
        .canonicalize()
        .ok()
        .and_then(|abs| workspace_root(&abs).and_then(|root| abs.strip_prefix(root).ok().map(Path::to_path_buf)));
    match relative {
        // Forward slashes: the command is for a POSIX shell.
        Some(rel) => rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/"),
        None => scenario.display().to_string(),
    }
}

/// The nearest ancestor of `file` holding a workspace `Cargo.toml`.
fn workspace_root(file: &Path) -> Option<PathBuf> {
    file.ancestors().skip(1).find_map(|dir| {
        let text = std::fs::read_to_string(dir.join("Cargo.toml")).ok()?;
        text.lines()
            .any(|l| l.trim() == "[workspace]")
            .then(|| dir.to_path_buf())
    })
}

/// `s` quoted for a POSIX shell when it needs to be.
pub fn quote(s: &str) -> String {
    let plain = !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+:@%,=".contains(c));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_scenarios_are_named_from_the_repository_root() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let s = root.join("scenarios").join("steady.toml");
        assert_eq!(display_path(&s), "scenarios/steady.toml");
        // However the path was written.
        let odd = root.join("src").join("..").join("scenarios").join("steady.toml");
        assert_eq!(display_path(&odd), "scenarios/steady.toml");
    }

    #[test]
    fn a_file_outside_any_workspace_is_named_as_given() {
        let dir = std::env::temp_dir().join(format!("streamsim-replay-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("mine.toml");
        std::fs::write(&f, "").unwrap();
        assert_eq!(display_path(&f), f.display().to_string());
        assert_eq!(display_path(Path::new("no/such.toml")), "no/such.toml");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn awkward_paths_are_quoted() {
        assert_eq!(quote("scenarios/a.toml"), "scenarios/a.toml");
        assert_eq!(quote("my scenarios/it's.toml"), r"'my scenarios/it'\''s.toml'");
    }
}
