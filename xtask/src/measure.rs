//! One measured run in a child process: the parent starts `xtask measure
//! PATH SEED`, which runs the scenario, reads its own peak resident set
//! from `/proc/self/status` and prints one line of figures.

use std::path::Path;
use std::process::Command;
use std::time::Duration;
use streamsim_sim::run::{run_scenario, RunOptions};
use streamsim_sim::scenario::load_scenario;

/// The figures of one run.
pub struct Measured {
    pub events: u64,
    pub virtual_s: f64,
    pub wall_s: f64,
    pub peak_rss_mib: f64,
    pub verdict: String,
}

/// Peak resident set of this process, MiB (Linux's `VmHWM`; 0 where there is no `/proc`).
pub fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

/// The child's side: run and print `events virtual_s wall_s peak_mib verdict`.
pub fn child(path: &Path, seed: &str) -> Result<(), String> {
    let seed: u64 = seed
        .parse()
        .map_err(|_| format!("seed must be a number, got {seed:?}"))?;
    let loaded = load_scenario(path).map_err(|e| e.without_prefix())?;
    let out = run_scenario(
        &loaded,
        &RunOptions {
            seed,
            wall_limit: Duration::from_secs(4 * 3600),
        },
    )
    .map_err(|e| e.to_string())?;
    let r = out.report.result;
    // The report is dropped before reading the peak: the peak covers it anyway.
    println!(
        "{} {} {} {} {:?}",
        r.events_sent,
        r.virtual_s,
        r.wall_s,
        peak_rss_mib(),
        r.verdict
    );
    Ok(())
}

/// Why a child process of this program gave no figures.
pub enum ChildFailure {
    /// It could not be started.
    Start(String),
    /// It exited unsuccessfully, with this error output.
    Failed(std::process::ExitStatus, String),
}

/// Run this program again with `args` in a child process; what it printed.
pub fn run_self(args: &[&str]) -> Result<String, ChildFailure> {
    let exe = std::env::current_exe().map_err(|e| ChildFailure::Start(e.to_string()))?;
    let out = Command::new(exe)
        .args(args)
        .output()
        .map_err(|e| ChildFailure::Start(e.to_string()))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(ChildFailure::Failed(out.status, stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Run `path` with `seed` in a child process and read its figures.
pub fn measure_in_child(path: &Path, seed: u64) -> Result<Measured, String> {
    let text = run_self(&["measure", &path.display().to_string(), &seed.to_string()]).map_err(|e| match e {
        ChildFailure::Start(e) => format!("could not start the measuring child: {e}"),
        ChildFailure::Failed(_, stderr) => format!("{} seed {seed}: {stderr}", path.display()),
    })?;
    let f: Vec<&str> = text.split_whitespace().collect();
    let bad = || format!("unexpected figures from the measuring child: {text:?}");
    if f.len() != 5 {
        return Err(bad());
    }
    Ok(Measured {
        events: f[0].parse().map_err(|_| bad())?,
        virtual_s: f[1].parse().map_err(|_| bad())?,
        wall_s: f[2].parse().map_err(|_| bad())?,
        peak_rss_mib: f[3].parse().map_err(|_| bad())?,
        verdict: f[4].to_lowercase(),
    })
}

/// The figures of a run of the CLI itself (`streamsim run … --json`), with
/// the peak resident set the kernel kept for that child: how the virtual
/// days are measured with a build xtask is not, such as the PGO build.
pub fn measure_cli(cli: &Path, path: &Path, seed: u64, wall_limit_s: u64) -> Result<Measured, String> {
    if !cfg!(target_os = "linux") {
        return Err("measuring the CLI's peak memory needs Linux's wait4".into());
    }
    let mut child = Command::new(cli)
        .args(["run", &path.display().to_string(), "--seed", &seed.to_string()])
        .args(["--no-report", "--json", "--wall-limit-s", &wall_limit_s.to_string()])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start {}: {e}", cli.display()))?;
    let mut text = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().expect("piped"), &mut text)
        .map_err(|e| format!("reading the output of {}: {e}", cli.display()))?;
    let (code, peak_rss_mib) = wait_with_peak(child.id())?;
    // 0 is a pass and 1 a violation, both with their figures; 2 and 3 are bad input
    // and an unfinished run, which the CLI explained on the error output shown above.
    if !matches!(code, Some(0 | 1)) {
        return Err(format!(
            "{} run {} --seed {seed} exited with {} (its error output is above)",
            cli.display(),
            path.display(),
            code.map_or_else(|| "a signal".to_string(), |c| format!("status {c}"))
        ));
    }
    let mut m = figures_from_json(&text)?;
    m.peak_rss_mib = peak_rss_mib;
    Ok(m)
}

/// Events, virtual and wall seconds and verdict from `streamsim run --json`'s object.
pub fn figures_from_json(text: &str) -> Result<Measured, String> {
    let v: serde_json::Value = serde_json::from_str(text.trim())
        .map_err(|e| format!("the CLI's JSON summary does not parse ({e}): {text:?}"))?;
    let field = |name: &str| {
        v.get(name)
            .ok_or_else(|| format!("the CLI's JSON summary has no `{name}`"))
    };
    let number = |name: &str| {
        field(name)?
            .as_f64()
            .ok_or_else(|| format!("the CLI's JSON summary's `{name}` is not a number"))
    };
    Ok(Measured {
        events: field("events_sent")?
            .as_u64()
            .ok_or("the CLI's JSON summary's `events_sent` is not a whole number")?,
        virtual_s: number("virtual_s")?,
        wall_s: number("wall_s")?,
        peak_rss_mib: 0.0,
        verdict: field("verdict")?
            .as_str()
            .ok_or("the CLI's JSON summary's `verdict` is not a string")?
            .to_lowercase(),
    })
}

/// Waits for the child `pid` and returns its exit code (`None` if a signal
/// ended it) and its peak resident set, MiB. `wait4` gives the peak of that
/// one child, where `getrusage` would give the largest of every child so far.
#[cfg(target_os = "linux")]
fn wait_with_peak(pid: u32) -> Result<(Option<i32>, f64), String> {
    let mut status = 0;
    // SAFETY: zeroed is a valid `rusage` (plain integers), and wait4 writes only
    // through the two pointers, which outlive the call.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = pid as libc::pid_t;
    // SAFETY: as above; `pid` is our own child, not yet waited for.
    if unsafe { libc::wait4(pid, &mut status, 0, &mut usage) } != pid {
        return Err(format!("waiting for the CLI: {}", std::io::Error::last_os_error()));
    }
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    // Linux gives `ru_maxrss` in KiB.
    Ok((code, usage.ru_maxrss as f64 / 1024.0))
}

#[cfg(not(target_os = "linux"))]
fn wait_with_peak(_pid: u32) -> Result<(Option<i32>, f64), String> {
    unreachable!("measure_cli refuses before it starts a child")
}

#[cfg(test)]
mod tests {
    use super::figures_from_json;

    #[test]
    fn the_cli_summary_gives_the_figures_and_names_what_it_lacks() {
        let m = figures_from_json(
            r#"{"events_sent": 299856, "virtual_s": 60.2, "wall_s": 1.5, "verdict": "Pass", "trace_hash": "x"}"#,
        )
        .unwrap();
        assert_eq!(
            (m.events, m.virtual_s, m.wall_s, m.verdict.as_str()),
            (299_856, 60.2, 1.5, "pass")
        );
        let e = figures_from_json(r#"{"events_sent": 1, "virtual_s": 2.0, "verdict": "pass"}"#)
            .err()
            .unwrap();
        assert!(e.contains("`wall_s`"), "{e}");
        let e = figures_from_json(r#"{"events_sent": -1, "virtual_s": 2.0, "wall_s": 1.0, "verdict": "pass"}"#)
            .err()
            .unwrap();
        assert!(e.contains("`events_sent`") && e.contains("whole number"), "{e}");
        assert!(figures_from_json("PASS steady seed 1")
            .err()
            .unwrap()
            .contains("does not parse"));
    }

    /// A stand-in for the CLI: a script that answers `run … --json` as it would.
    #[cfg(target_os = "linux")]
    fn fake_cli(dir: &std::path::Path, name: &str, body: &str) -> std::path::PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_cli_run_is_measured_with_its_own_peak_memory_and_its_failures_reported() {
        use super::measure_cli;
        use std::path::Path;
        let dir = std::env::temp_dir().join(format!("xtask-measure-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let scenario = Path::new("day.toml");
        // The arguments must be the ones a benchmark run needs, the summary its JSON,
        // and a violation (exit 1) still gives figures.
        let cli = fake_cli(
            &dir,
            "violates",
            r#"[ "$*" = "run day.toml --seed 7 --no-report --json --wall-limit-s 60" ] || exit 2
echo '{"events_sent": 10, "virtual_s": 3.5, "wall_s": 0.25, "verdict": "fail"}'
exit 1"#,
        );
        let m = measure_cli(&cli, scenario, 7, 60).unwrap();
        assert_eq!((m.events, m.verdict.as_str()), (10, "fail"));
        // The shell's own resident set: more than nothing, far less than a run.
        assert!(m.peak_rss_mib > 0.1 && m.peak_rss_mib < 64.0, "{}", m.peak_rss_mib);
        let bad = fake_cli(&dir, "refuses", "exit 2");
        let e = measure_cli(&bad, scenario, 1, 60).err().unwrap();
        assert!(e.contains("status 2") && e.contains("day.toml --seed 1"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
