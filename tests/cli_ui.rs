//! The command line's manners: `--quiet`, colour only for a terminal that
//! wants it, and shell completions.

use crate::common;

use std::process::{Command, Output};

fn streamsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_streamsim"))
        .args(args)
        .output()
        .expect("run streamsim")
}

fn path(name: &str) -> String {
    common::scenario(name).display().to_string()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs `args` under a pseudo-terminal (util-linux `script`), so stdout and
/// stderr are a terminal; returns what the terminal showed.
fn on_a_terminal(args: &[&str], env: &[(&str, &str)]) -> String {
    let cmd = std::iter::once(env!("CARGO_BIN_EXE_streamsim"))
        .chain(args.iter().copied())
        .map(|a| format!("'{a}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let mut c = Command::new("script");
    c.args(["-qec", &cmd, "/dev/null"])
        .env_remove("NO_COLOR")
        .env("TERM", "xterm");
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().expect("script (util-linux) runs");
    text(&out.stdout)
}

#[test]
fn quiet_keeps_only_the_failure_and_its_replay_command() {
    let out = streamsim(&[
        "run",
        &path("neg-tight-budget"),
        "--seed",
        "1",
        "--no-report",
        "--quiet",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(
        stdout.contains("neg-tight-budget seed 1") && stdout.contains("budget.ack_p99_ms"),
        "{stdout}"
    );
    assert!(
        stderr.contains("replay with: ") && stderr.contains("scenarios/neg-tight-budget.toml --seed 1"),
        "{stderr}"
    );
    // The same run without --quiet prints the whole summary.
    let loud = streamsim(&["run", &path("neg-tight-budget"), "--seed", "1", "--no-report"]);
    assert!(text(&loud.stdout).lines().count() > 5);

    // A pass says nothing; the exit code is the answer.
    let out = streamsim(&["-q", "run", &path("neg-tight-budget"), "--seed", "1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!text(&out.stderr).contains("report:"), "{}", text(&out.stderr));
    let dir = std::env::temp_dir().join(format!("streamsim-quiet-{}", std::process::id()));
    let pass = streamsim(&[
        "run",
        &path("pipeline-trickle"),
        "--seed",
        "1",
        "--quiet",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(pass.status.code(), Some(0), "{}", text(&pass.stderr));
    assert_eq!((text(&pass.stdout), text(&pass.stderr)), (String::new(), String::new()));
    assert!(dir.join("report.html").is_file(), "--quiet still writes the report");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_quiet_sweep_lists_only_unexpected_outcomes() {
    let dir = std::env::temp_dir().join(format!("streamsim-quiet-sweep-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let s = dir.join("impossible.toml");
    std::fs::write(
        &s,
        "name = \"impossible\"\nexpect = \"pass\"\nduration_s = 5\n[workload]\n\
         rate = { kind = \"constant\", events_per_s = 500 }\n[budgets]\nack_p99_ms = 1\n",
    )
    .unwrap();
    let out_dir = dir.join("out");
    let out = streamsim(&[
        "sweep",
        s.to_str().unwrap(),
        &path("neg-tight-budget"),
        "--seeds",
        "0..2",
        "--quiet",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("unexpected outcomes (2):"), "{stdout}");
    for seed in 0..2 {
        assert!(stdout.contains(&format!("impossible.toml --seed {seed}\n")), "{stdout}");
    }
    // Neither the table nor the negative control's expected violations.
    assert!(
        !stdout.contains("neg-tight-budget") && !stdout.contains("worst ack p99"),
        "{stdout}"
    );
    assert_eq!(text(&out.stderr), "");
    assert!(out_dir.join("results.csv").is_file());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    let args = ["run", &path("neg-tight-budget"), "--seed", "1", "--no-report"];
    let red = "\x1b[1;31mVIOLATION\x1b[0m";
    // Piped: plain text.
    let piped = streamsim(&args);
    assert!(!text(&piped.stdout).contains('\x1b'), "{:?}", text(&piped.stdout));
    if !cfg!(target_os = "linux") {
        return; // `script -qec` is util-linux's
    }
    let tty = on_a_terminal(&args, &[]);
    assert!(tty.contains(red), "no colour on a terminal: {tty:?}");
    assert!(tty.contains("\x1b[2K"), "no spinner on a terminal: {tty:?}");
    let no_color = on_a_terminal(&args, &[("NO_COLOR", "1")]);
    assert!(
        no_color.contains("VIOLATION") && !no_color.contains("\x1b[1;"),
        "{no_color:?}"
    );
    // --quiet on a terminal: no spinner either.
    let quiet = on_a_terminal(
        &["-q", "run", &path("neg-tight-budget"), "--seed", "1", "--no-report"],
        &[],
    );
    assert!(quiet.contains(red) && !quiet.contains("\x1b[2K"), "{quiet:?}");
}

#[test]
fn scenario_errors_are_coloured_only_on_a_terminal() {
    let dir = std::env::temp_dir().join(format!("streamsim-ui-err-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("typo.toml");
    std::fs::write(
        &f,
        "[workload]\nrate = { kind = \"constant\", events_per_s = 10 }\n[log]\nmin_isr = 2\n",
    )
    .unwrap();
    let args = ["check", f.to_str().unwrap()];
    let piped = streamsim(&args);
    assert_eq!(piped.status.code(), Some(2));
    let err = text(&piped.stderr);
    assert!(
        err.contains("did you mean `min_insync_replicas`?") && !err.contains('\x1b'),
        "{err:?}"
    );
    if cfg!(target_os = "linux") {
        let tty = on_a_terminal(&args, &[]);
        assert!(
            tty.contains("did you mean") && tty.contains("\x1b["),
            "no colour on a terminal: {tty:?}"
        );
        let no_color = on_a_terminal(&args, &[("NO_COLOR", "1")]);
        assert!(
            no_color.contains("did you mean") && !no_color.contains('\x1b'),
            "{no_color:?}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn completions_cover_every_command_and_flag() {
    for shell in ["bash", "zsh", "fish"] {
        let out = streamsim(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", text(&out.stderr));
        let script = text(&out.stdout);
        for word in [
            "run",
            "sweep",
            "merge",
            "shrink",
            "check",
            "diff",
            "--shard",
            "--seeds",
            "--quiet",
            "--summary-md",
        ] {
            // fish names long flags as `-l shard`.
            let word = if shell == "fish" {
                word.trim_start_matches('-')
            } else {
                word
            };
            assert!(script.contains(word), "{shell} completions lack {word}");
        }
    }
    // The bash script is valid bash.
    let script = streamsim(&["completions", "bash"]).stdout;
    let f = std::env::temp_dir().join(format!("streamsim-completions-{}.bash", std::process::id()));
    std::fs::write(&f, script).unwrap();
    let check = Command::new("bash").arg("-n").arg(&f).output().expect("bash runs");
    assert!(check.status.success(), "{}", text(&check.stderr));
    std::fs::remove_file(&f).unwrap();
    assert_eq!(streamsim(&["completions", "tcsh"]).status.code(), Some(2));
}
