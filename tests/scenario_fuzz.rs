//! Mutated scenario and OpenMessaging Benchmark files, built from the
//! repository's own, through the loader and validator: each must end in a
//! valid scenario or a clean error (every problem placed inside the file),
//! never a panic or a hang. The suite runs 200 cases; `cargo xtask fuzz
//! --cases N` runs the same property over N (`STREAMSIM_FUZZ_CASES`).

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestRunner};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::Duration;
use streamsim_sim::scenario::parse_scenario;

/// Longest one case may take before it counts as a hang (the slowest real
/// scenario loads in well under a second in a release build).
const CASE_LIMIT: Duration = Duration::from_secs(10);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every file under `dir` (recursively) ending in `ext`, with its text, sorted.
fn files(dir: &Path, ext: &str, out: &mut Vec<(PathBuf, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            files(&p, ext, out);
        } else if p.extension().is_some_and(|e| e == ext) {
            if let Ok(t) = std::fs::read_to_string(&p) {
                out.push((p, t));
            }
        }
    }
}

fn scenarios() -> &'static [(PathBuf, String)] {
    static FILES: OnceLock<Vec<(PathBuf, String)>> = OnceLock::new();
    FILES.get_or_init(|| {
        let mut v = Vec::new();
        files(&root().join("scenarios"), "toml", &mut v);
        files(&root().join("examples/scenarios"), "toml", &mut v);
        // The calibration case list is not a scenario.
        v.retain(|(p, _)| p.file_name().is_none_or(|n| n != "cases.toml"));
        v
    })
}

fn omb_files() -> &'static [(PathBuf, String)] {
    static FILES: OnceLock<Vec<(PathBuf, String)>> = OnceLock::new();
    FILES.get_or_init(|| {
        let mut v = Vec::new();
        files(&root().join("scenarios"), "yaml", &mut v);
        files(&root().join("tests/fixtures"), "yaml", &mut v);
        v
    })
}

/// Values of every wrong kind and size.
fn junk() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("18446744073709551616".to_string()),
        Just("-9223372036854775808".to_string()),
        Just("1e308".to_string()),
        Just("-1e400".to_string()),
        Just("nan".to_string()),
        Just("inf".to_string()),
        Just("-0".to_string()),
        Just("0".to_string()),
        Just("\"\"".to_string()),
        Just("\"broker:99\"".to_string()),
        Just("true".to_string()),
        Just("[]".to_string()),
        Just("{}".to_string()),
        Just("[1, \"a\", true]".to_string()),
        Just("1979-05-27T07:32:00Z".to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|x| format!("{x:?}")),
        "[a-z_:]{0,12}".prop_map(|s| format!("\"{s}\"")),
    ]
}

/// One change to a file.
#[derive(Debug, Clone)]
enum Mutation {
    /// Cut the file at a byte.
    Truncate(Index),
    /// Give a `key = value` line another value.
    Value(Index, String),
    /// Put random bytes somewhere.
    Bytes(Index, Vec<u8>),
    /// Make a value an array (or table) nested `depth` deep.
    Nest(Index, usize, bool),
    /// Exchange the keys of two lines.
    SwapKeys(Index, Index),
    /// Repeat a line.
    Duplicate(Index),
    /// Drop a line.
    Delete(Index),
    /// Change one character of a key (a typo).
    Typo(Index, Index, char),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<Index>().prop_map(Mutation::Truncate),
        (any::<Index>(), junk()).prop_map(|(i, v)| Mutation::Value(i, v)),
        (any::<Index>(), prop::collection::vec(any::<u8>(), 1..64)).prop_map(|(i, b)| Mutation::Bytes(i, b)),
        (any::<Index>(), 1usize..3000, any::<bool>()).prop_map(|(i, d, t)| Mutation::Nest(i, d, t)),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::SwapKeys(a, b)),
        any::<Index>().prop_map(Mutation::Duplicate),
        any::<Index>().prop_map(Mutation::Delete),
        (any::<Index>(), any::<Index>(), prop::char::range('a', 'z')).prop_map(|(l, c, ch)| Mutation::Typo(l, c, ch)),
    ]
}

/// `text` with `m` applied; `sep` is how a line sets a key (`=` or `:`).
fn apply(text: &str, m: &Mutation, sep: char) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let keyed: Vec<usize> = (0..lines.len()).filter(|&i| lines[i].contains(sep)).collect();
    let pick = |i: &Index, v: &[usize]| (!v.is_empty()).then(|| v[i.index(v.len())]);
    match m {
        Mutation::Truncate(i) => {
            let mut cut = i.index(text.len() + 1);
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            return text[..cut].to_string();
        }
        Mutation::Bytes(i, bytes) => {
            let mut b = text.as_bytes().to_vec();
            let at = i.index(b.len() + 1);
            b.splice(at..at, bytes.iter().copied());
            return String::from_utf8_lossy(&b).into_owned();
        }
        Mutation::Value(i, v) => {
            if let Some(l) = pick(i, &keyed) {
                let key = lines[l].split(sep).next().unwrap_or("").to_string();
                lines[l] = format!("{key}{sep} {v}");
            }
        }
        Mutation::Nest(i, depth, table) => {
            if let Some(l) = pick(i, &keyed) {
                let key = lines[l].split(sep).next().unwrap_or("").to_string();
                let (open, close) = match (sep, table) {
                    ('=', true) => ("{ a = ", " }"),
                    (':', true) => ("{a: ", "}"),
                    _ => ("[", "]"),
                };
                lines[l] = format!("{key}{sep} {}1{}", open.repeat(*depth), close.repeat(*depth));
            }
        }
        Mutation::SwapKeys(a, b) => {
            if let (Some(a), Some(b)) = (pick(a, &keyed), pick(b, &keyed)) {
                let (ka, va) = lines[a]
                    .split_once(sep)
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .unwrap_or_default();
                let (kb, vb) = lines[b]
                    .split_once(sep)
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .unwrap_or_default();
                lines[a] = format!("{kb}{sep}{va}");
                lines[b] = format!("{ka}{sep}{vb}");
            }
        }
        Mutation::Duplicate(i) => {
            if !lines.is_empty() {
                let l = i.index(lines.len());
                lines.insert(l, lines[l].clone());
            }
        }
        Mutation::Delete(i) => {
            if !lines.is_empty() {
                lines.remove(i.index(lines.len()));
            }
        }
        Mutation::Typo(l, c, ch) => {
            if let Some(l) = pick(l, &keyed) {
                let key_len = lines[l].find(sep).unwrap_or(0);
                let mut chars: Vec<char> = lines[l].chars().collect();
                if key_len > 0 {
                    let at = c.index(lines[l][..key_len].chars().count());
                    chars[at] = *ch;
                }
                lines[l] = chars.into_iter().collect();
            }
        }
    }
    lines.join("\n") + "\n"
}

/// Run `f` on its own thread and give up after `limit`; a panic in it
/// comes back as this test's panic.
fn bounded<T: Send + 'static>(what: String, limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        let out = f();
        let _ = tx.send(());
        out
    });
    match rx.recv_timeout(limit) {
        Ok(()) => worker.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
        Err(mpsc::RecvTimeoutError::Disconnected) => worker.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what}: still loading after {limit:?}"),
    }
}

/// The property for one scenario file: a scenario, or an error whose every
/// problem says something and is placed inside the file.
fn scenario_case(path: PathBuf, text: String) {
    let lines = text.lines().count() + 1;
    let what = path.display().to_string();
    let result = bounded(what.clone(), CASE_LIMIT, move || {
        parse_scenario(&path, &text).map(|_| ())
    });
    if let Err(e) = result {
        assert!(!e.problems.is_empty(), "{what}: an error with no problem");
        for d in &e.problems {
            assert!(!d.message.trim().is_empty(), "{what}: a problem with no message: {d:?}");
            assert!(
                d.line.is_none_or(|l| (1..=lines).contains(&l)),
                "{what}: line outside the file: {d:?}"
            );
            if let Some(s) = &d.span {
                assert!(
                    s.start <= s.end && s.end <= e.text.len(),
                    "{what}: span outside the file: {d:?}"
                );
            }
        }
        let shown = e.to_string();
        assert!(shown.starts_with("error: "), "{what}: {shown}");
    }
}

fn cases() -> u32 {
    std::env::var("STREAMSIM_FUZZ_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(200)
}

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: cases(),
        // Failures are reported with their input; no regression files in the tree.
        failure_persistence: None,
        max_shrink_time: 60_000,
        ..Config::default()
    })
}

#[test]
fn mutated_scenarios_load_or_are_refused_cleanly() {
    let files = scenarios();
    assert!(files.len() > 40, "the scenario library is missing: {}", files.len());
    let strategy = (any::<Index>(), prop::collection::vec(mutation(), 1..4));
    runner()
        .run(&strategy, |(file, muts)| {
            let (path, text) = &files[file.index(files.len())];
            let text = muts.iter().fold(text.clone(), |t, m| apply(&t, m, '='));
            scenario_case(path.clone(), text);
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn mutated_omb_workloads_parse_or_are_refused_cleanly() {
    let files = omb_files();
    assert!(!files.is_empty(), "no OMB workload file in the repository");
    let strategy = (any::<Index>(), prop::collection::vec(mutation(), 1..4));
    runner()
        .run(&strategy, |(file, muts)| {
            let (path, text) = &files[file.index(files.len())];
            let text = muts.iter().fold(text.clone(), |t, m| apply(&t, m, ':'));
            let what = path.display().to_string();
            if let Err(e) = bounded(what.clone(), CASE_LIMIT, move || {
                streamsim_workloads::from_omb_yaml_str(&text).map(|_| ())
            }) {
                prop_assert!(!e.to_string().trim().is_empty(), "{what}: an empty error");
            }
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn the_unmutated_library_loads() {
    // The positive control of the property: every real file is a scenario.
    for (path, text) in scenarios() {
        parse_scenario(path, text).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn a_broken_file_fails_the_property() {
    // The negative control: the property's checks do catch a bad error.
    let caught = std::panic::catch_unwind(|| {
        bounded("spin".into(), Duration::from_millis(50), || {
            std::thread::sleep(Duration::from_millis(500));
        })
    });
    assert!(caught.is_err(), "a hang went unnoticed");
}
