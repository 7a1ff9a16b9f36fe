//! The CI workflow (`.github/workflows/chaos.yml`) checked against the
//! repository and the CLI it drives, so that a renamed flag, a moved
//! scenario directory or a shard count changed in one place only fails here
//! rather than on the first pull request after it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_norway::Value;

const WORKFLOW: &str = ".github/workflows/chaos.yml";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn workflow() -> Value {
    let text = std::fs::read_to_string(root().join(WORKFLOW)).expect("the workflow exists");
    serde_norway::from_str(&text).expect("the workflow is YAML")
}

fn get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.as_mapping()?.get(Value::String(key.to_string()))
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    get(v, key)?.as_str()
}

/// The jobs, by name.
fn jobs(w: &Value) -> Vec<(String, &Value)> {
    get(w, "jobs")
        .and_then(Value::as_mapping)
        .expect("jobs")
        .iter()
        .map(|(k, v)| (k.as_str().expect("job name").to_string(), v))
        .collect()
}

fn steps(job: &Value) -> &[Value] {
    get(job, "steps")
        .and_then(Value::as_sequence)
        .map_or(&[], Vec::as_slice)
}

/// The values of the job's `matrix.shard`, if it has one.
fn shard_matrix(job: &Value) -> Option<Vec<u64>> {
    let m = get(get(job, "strategy")?, "matrix")?;
    let v = get(m, "shard")?.as_sequence()?;
    Some(v.iter().map(|s| s.as_u64().expect("shard numbers")).collect())
}

/// Shell words of a script, one list per simple command: quotes removed,
/// backslash-newlines joined, `;`, `&&`, `||` and `|` ending a command.
/// Enough shell for the workflow's own scripts, not for shell in general.
fn commands(script: &str) -> Vec<Vec<String>> {
    let script = script.replace("\\\n", " ");
    let mut out = Vec::new();
    for line in script.lines() {
        let mut cmd: Vec<String> = Vec::new();
        let mut word = String::new();
        let mut in_word = false;
        let mut quote: Option<char> = None;
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            // A GitHub expression is one piece of a word whatever its spaces.
            if c == '$' && chars.peek() == Some(&'{') {
                let rest: String = chars.clone().collect();
                if let Some(end) = rest.strip_prefix("{{").and_then(|r| r.find("}}")) {
                    word.push('$');
                    word.extend(chars.by_ref().take(end + 4));
                    in_word = true;
                    continue;
                }
            }
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), c) => word.push(c),
                (None, '"' | '\'') => {
                    quote = Some(c);
                    in_word = true;
                }
                (None, '#') if !in_word => break,
                (None, ' ' | '\t') => {
                    if in_word {
                        cmd.push(std::mem::take(&mut word));
                        in_word = false;
                    }
                }
                (None, ';' | '&' | '|') => {
                    if in_word {
                        cmd.push(std::mem::take(&mut word));
                        in_word = false;
                    }
                    if chars.peek() == Some(&c) {
                        chars.next();
                    }
                    out.push(std::mem::take(&mut cmd));
                }
                (None, c) => {
                    word.push(c);
                    in_word = true;
                }
            }
        }
        if in_word {
            cmd.push(word);
        }
        out.push(cmd);
    }
    out.retain(|c| !c.is_empty());
    out
}

/// One `streamsim` command of the workflow, with the job it is in.
struct Invocation {
    job: String,
    args: Vec<String>,
}

/// Every `streamsim` command in the workflow's scripts (an installed
/// binary or `cargo run --release --`), with its arguments.
fn invocations(w: &Value) -> Vec<Invocation> {
    let mut out = Vec::new();
    for (job_name, job) in jobs(w) {
        for step in steps(job) {
            let Some(script) = str_of(step, "run") else { continue };
            for cmd in commands(script) {
                let start = if cmd[0] == "streamsim" || cmd[0].ends_with("/streamsim") {
                    Some(1)
                } else if cmd[0] == "cargo" && cmd.get(1).map(String::as_str) == Some("run") {
                    cmd.iter().position(|w| w == "--").map(|i| i + 1)
                } else {
                    None
                };
                if let Some(s) = start {
                    out.push(Invocation {
                        job: job_name.clone(),
                        args: cmd[s..].to_vec(),
                    });
                }
            }
        }
    }
    out
}

/// The value of `--flag` in `args`.
fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

/// `args` with `${{ matrix.shard }}` replaced by `shard`.
fn with_shard(args: &[String], shard: u64) -> Vec<String> {
    args.iter()
        .map(|a| a.replace("${{ matrix.shard }}", &shard.to_string()))
        .collect()
}

/// Files matching a relative path whose last component may hold `*`.
fn glob(pattern: &str) -> Vec<PathBuf> {
    let p = Path::new(pattern);
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let dir = root().join(p.parent().unwrap_or(Path::new("")));
    if !name.contains('*') {
        let f = root().join(p);
        return if f.exists() { vec![f] } else { Vec::new() };
    }
    let (head, tail) = name.split_once('*').expect("a star");
    assert!(!tail.contains('*'), "one * per pattern: {pattern}");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|f| {
                    let n = f.file_name().and_then(|n| n.to_str()).unwrap_or("");
                    f.is_file() && n.len() >= head.len() + tail.len() && n.starts_with(head) && n.ends_with(tail)
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

#[test]
fn shard_count_of_the_matrix_matches_the_shard_arguments_and_the_merge() {
    let w = workflow();
    let invs = invocations(&w);
    let sweeps: Vec<&Invocation> = invs.iter().filter(|i| i.args[0] == "sweep").collect();
    assert!(!sweeps.is_empty(), "the workflow runs no sweep");
    let mut outs = BTreeSet::new();
    let mut count = None;
    for s in &sweeps {
        let job = jobs(&w).into_iter().find(|(n, _)| *n == s.job).expect("job").1;
        let matrix = shard_matrix(job).unwrap_or_else(|| panic!("job {} sweeps without a shard matrix", s.job));
        let shard = flag(&s.args, "--shard").expect("the sweep is sharded");
        let (k, n) = shard.split_once('/').expect("--shard K/N");
        assert_eq!(k, "${{ matrix.shard }}", "each matrix entry runs its own shard");
        let n: u64 = n.parse().expect("N is a number");
        assert_eq!(
            matrix,
            (1..=n).collect::<Vec<_>>(),
            "matrix.shard must be 1 to {n}, as --shard K/{n} says"
        );
        count = Some(n);
        for k in &matrix {
            let out = flag(&with_shard(&s.args, *k), "--out")
                .expect("each shard writes its own --out")
                .to_string();
            assert!(outs.insert(out.clone()), "two shards write to {out}");
        }
    }
    let merges: Vec<&Invocation> = invs.iter().filter(|i| i.args[0] == "merge").collect();
    assert_eq!(merges.len(), 1, "one merge of the shards");
    let merge = &merges[0].args;
    let mut dirs = BTreeSet::new();
    let mut i = 1;
    while i < merge.len() {
        if merge[i].starts_with("--") {
            assert_ne!(merge[i], "--partial", "CI merges every shard");
            i += 2; // every merge flag but --partial takes a value
            continue;
        }
        dirs.insert(merge[i].clone());
        i += 1;
    }
    assert_eq!(dirs, outs, "the merge names each shard's --out once ({count:?} shards)");
    let merge_job = jobs(&w).into_iter().find(|(n, _)| *n == merges[0].job).expect("job").1;
    let needs = get(merge_job, "needs").expect("the merge job waits for the shards");
    let needs: Vec<&str> = match needs {
        Value::String(s) => vec![s.as_str()],
        v => v
            .as_sequence()
            .expect("needs")
            .iter()
            .filter_map(Value::as_str)
            .collect(),
    };
    assert!(needs.contains(&sweeps[0].job.as_str()), "merge needs {}", sweeps[0].job);
    let cond = str_of(merge_job, "if").unwrap_or("");
    assert!(
        cond.contains("always()") || cond.contains("!cancelled()"),
        "the merge must run when a shard fails, or a failure has no report: if = {cond:?}"
    );
}

#[test]
fn every_streamsim_command_of_the_workflow_parses() {
    let w = workflow();
    let invs = invocations(&w);
    assert!(invs.len() >= 2, "expected a sweep and a merge");
    let summary = std::env::temp_dir().join(format!("streamsim-ci-summary-{}", std::process::id()));
    for inv in &invs {
        for shard in [1, 4] {
            let mut args = Vec::new();
            for a in with_shard(&inv.args, shard) {
                assert!(!a.contains("${{"), "unexpected expression in {a}");
                let a = a.replace("$GITHUB_STEP_SUMMARY", summary.to_str().unwrap());
                if a.contains('*') {
                    let files = glob(&a);
                    assert!(!files.is_empty(), "{a} matches no file");
                    args.extend(files.iter().map(|f| f.display().to_string()));
                } else {
                    args.push(a);
                }
            }
            // clap checks every argument and value up to `--help`, which then
            // prints the help instead of running the command.
            args.push("--help".into());
            let out = Command::new(env!("CARGO_BIN_EXE_streamsim"))
                .args(&args)
                .output()
                .expect("run streamsim");
            assert_eq!(
                out.status.code(),
                Some(0),
                "job {}: streamsim {} is refused: {}",
                inv.job,
                inv.args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

#[test]
fn the_sweep_covers_the_whole_scenario_library() {
    let w = workflow();
    let invs = invocations(&w);
    let sweep = invs.iter().find(|i| i.args[0] == "sweep").expect("a sweep");
    let mut named = Vec::new();
    let mut i = 1;
    while i < sweep.args.len() {
        if sweep.args[i].starts_with("--") {
            i += if sweep.args[i] == "--fail-fast" { 1 } else { 2 };
            continue;
        }
        named.extend(glob(&sweep.args[i]));
        i += 1;
    }
    named.sort();
    let library = glob("scenarios/*.toml");
    assert!(library.len() > 10, "the library is in scenarios/");
    assert_eq!(named, library, "CI sweeps every scenario of the library");
}

#[test]
fn every_path_the_workflow_reads_exists() {
    let w = workflow();
    let mut checked = 0;
    for (job_name, job) in jobs(&w) {
        let mut outputs: Vec<String> = Vec::new();
        for step in steps(job) {
            if let Some(script) = str_of(step, "run") {
                for cmd in commands(script) {
                    // A script run by path, such as .ci/run.
                    if cmd[0].contains('/') && !cmd[0].starts_with('$') {
                        let p = root().join(&cmd[0]);
                        assert!(p.is_file(), "job {job_name} runs {}, which does not exist", cmd[0]);
                        checked += 1;
                    }
                    if let Some(o) = flag(&cmd, "--out") {
                        outputs.push(o.to_string());
                    }
                    if cmd[0] == "cargo" && cmd.get(1).map(String::as_str) == Some("build") {
                        let bin = flag(&cmd, "--bin").expect("the build names its binary");
                        assert!(
                            bin == "streamsim" || root().join("src/bin").join(format!("{bin}.rs")).is_file(),
                            "no binary {bin}"
                        );
                        outputs.push(format!("target/release/{bin}"));
                    }
                }
            }
            // What a job uploads, it made: the release binary or a report.
            if str_of(step, "uses").is_some_and(|u| u.starts_with("actions/upload-artifact")) {
                let path = get(step, "with").and_then(|w| str_of(w, "path")).expect("upload path");
                let any_shard: Vec<String> = (1..=64)
                    .map(|k| path.replace("${{ matrix.shard }}", &k.to_string()))
                    .collect();
                assert!(
                    outputs.iter().any(|o| o == path) || any_shard.iter().any(|p| outputs.contains(p)),
                    "job {job_name} uploads {path}, which none of its commands writes"
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 3, "too few paths found to check: {checked}");
}

#[test]
fn the_workflow_never_sets_rustflags() {
    // RUSTFLAGS replaces the `--cfg madsim` of .cargo/config.toml.
    fn walk(v: &Value, path: &str) {
        match v {
            Value::Mapping(m) => {
                for (k, v) in m {
                    let k = k.as_str().unwrap_or("");
                    assert!(!k.contains("RUSTFLAGS"), "{path}.{k} sets RUSTFLAGS");
                    walk(v, &format!("{path}.{k}"));
                }
            }
            Value::Sequence(s) => s.iter().enumerate().for_each(|(i, v)| walk(v, &format!("{path}[{i}]"))),
            Value::String(s) => {
                assert!(!s.contains("RUSTFLAGS="), "{path} sets RUSTFLAGS");
                // This action exports RUSTFLAGS="-D warnings" by default.
                assert!(!s.contains("actions-rust-lang/setup-rust-toolchain"), "{path}");
            }
            _ => {}
        }
    }
    walk(&workflow(), "");
}

#[test]
fn the_shell_reader_splits_commands_as_sh_does() {
    let c = commands(
        "code=0\nstreamsim sweep a/*.toml --shard ${{ matrix.shard }}/4 --out \"x y\" || code=$? # note\nchmod +x b && echo \"$PWD/bin\" >> f",
    );
    let words: Vec<Vec<&str>> = c.iter().map(|c| c.iter().map(String::as_str).collect()).collect();
    assert_eq!(
        words,
        vec![
            vec!["code=0"],
            vec![
                "streamsim",
                "sweep",
                "a/*.toml",
                "--shard",
                "${{ matrix.shard }}/4",
                "--out",
                "x y"
            ],
            vec!["code=$?"],
            vec!["chmod", "+x", "b"],
            vec!["echo", "$PWD/bin", ">>", "f"],
        ]
    );
}
