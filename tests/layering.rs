//! The simulation crate's layers, as ARCHITECTURE.md draws them, checked
//! against the code: the files of `sim/src` and the `crate::` and `super::`
//! paths each one names (outside comments and its `#[cfg(test)]` part).
//!
//! - protocol modules never name the scenario parser (`crate::scenario`):
//!   they take their settings from `crate::config`;
//! - `config` is a leaf: it names nothing else of the crate;
//! - no two files import each other, directly or round a longer circle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Modules that run the pipeline's protocols on simulated nodes.
const PROTOCOL: [&str; 7] = ["log", "processor", "sink", "net", "consumer_group", "gateway", "client"];

/// One source file: its module path and the module paths it names.
struct File {
    path: PathBuf,
    module: Vec<String>,
    names: BTreeSet<Vec<String>>,
}

fn sim_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sim").join("src")
}

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read sim/src") {
        let p = e.expect("dir entry").path();
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `log/mod.rs` is module `log`, `log/leader.rs` is `log::leader`, `lib.rs` the root.
fn module_of(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel.iter().map(|c| c.to_string_lossy().into_owned()).collect();
    let last = parts.pop().expect("a file name");
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" {
        parts.push(stem.to_string());
    }
    parts
}

/// The code a layer rule applies to: comments and the test part cut off.
fn code_of(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        if line.trim_start().starts_with("#[cfg(test)]") {
            break;
        }
        let line = match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        };
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Every path that starts with `crate::`, `super::` or, in `use` lines, a
/// child module's name, as module path segments (braces expand to each item).
fn names_in(code: &str, module: &[String]) -> BTreeSet<Vec<String>> {
    let mut out = BTreeSet::new();
    let bytes = code.as_bytes();
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut i = 0;
    while i < bytes.len() {
        // Bytes, not `str` slices: a match starts on ASCII, but `i` walks through non-ASCII text too.
        let rest = &bytes[i..];
        let starts_word = i == 0 || !ident(bytes[i - 1]) && bytes[i - 1] != b':';
        let base: Option<(Vec<String>, usize)> = if starts_word && rest.starts_with(b"crate::") {
            Some((Vec::new(), "crate::".len()))
        } else if starts_word && rest.starts_with(b"super::") {
            // `super` of `a::b` (a file) is `a`; of `a` written as `a/mod.rs` it is the root.
            let mut m = module.to_vec();
            m.pop();
            Some((m, "super::".len()))
        } else {
            None
        };
        let Some((mut prefix, skip)) = base else {
            i += 1;
            continue;
        };
        let mut j = i + skip;
        while j < bytes.len() && (ident(bytes[j]) || bytes[j] == b':') {
            j += 1;
        }
        for seg in code[i + skip..j].split("::").filter(|s| !s.is_empty()) {
            prefix.push(seg.to_string());
        }
        if code[j..].starts_with('{') {
            let end = code[j..].find('}').map_or(code.len(), |e| j + e);
            for item in code[j + 1..end].split(',') {
                let item = item.split_whitespace().next().unwrap_or("");
                let mut p = prefix.clone();
                p.extend(
                    item.split("::")
                        .filter(|s| !s.is_empty() && *s != "self")
                        .map(String::from),
                );
                out.insert(p);
            }
            j = end;
        } else {
            out.insert(prefix);
        }
        i = j.max(i + 1);
    }
    // `use child::Item;` in a module's own file names its child module.
    for line in code.lines() {
        let l = line.trim_start();
        let l = l.strip_prefix("pub ").unwrap_or(l);
        if let Some(rest) = l.strip_prefix("use ") {
            let first = rest.split("::").next().unwrap_or("");
            if !["crate", "super", "self", "std", "core"].contains(&first) && rest.contains("::") {
                let mut p = module.to_vec();
                p.push(first.to_string());
                out.insert(p);
            }
        }
    }
    out
}

fn load() -> Vec<File> {
    let root = sim_src();
    let mut paths = Vec::new();
    rs_files(&root, &mut paths);
    paths.sort();
    paths
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n != "tests.rs"))
        .map(|path| {
            let rel = path.strip_prefix(&root).expect("under sim/src").to_path_buf();
            let module = module_of(&rel);
            let text = std::fs::read_to_string(&path).expect("read a source file");
            let names = names_in(&code_of(&text), &module);
            File {
                path: rel,
                module,
                names,
            }
        })
        .collect()
}

/// The file a named path lands in: the longest module prefix that is a file.
fn resolve<'a>(files: &'a [File], name: &[String]) -> Option<&'a File> {
    (1..=name.len())
        .rev()
        .find_map(|n| files.iter().find(|f| f.module == name[..n]))
}

fn under(module: &[String], top: &str) -> bool {
    module.first().is_some_and(|m| m == top)
}

#[test]
fn protocol_modules_take_settings_from_config_not_from_the_parser() {
    let files = load();
    let mut offences = Vec::new();
    for f in files.iter().filter(|f| PROTOCOL.iter().any(|p| under(&f.module, p))) {
        for n in &f.names {
            if under(n, "scenario") {
                offences.push(format!("{} names crate::{}", f.path.display(), n.join("::")));
            }
        }
    }
    assert!(
        offences.is_empty(),
        "protocol modules must import their settings from crate::config, never from the scenario parser:\n{}",
        offences.join("\n")
    );
}

#[test]
fn config_is_a_leaf() {
    let files = load();
    let config: Vec<&File> = files.iter().filter(|f| under(&f.module, "config")).collect();
    assert!(!config.is_empty(), "sim/src/config is missing");
    let mut offences = Vec::new();
    for f in config {
        for n in &f.names {
            if !under(n, "config") {
                offences.push(format!("{} names crate::{}", f.path.display(), n.join("::")));
            }
        }
    }
    assert!(
        offences.is_empty(),
        "crate::config must depend on nothing else in the crate:\n{}",
        offences.join("\n")
    );
}

#[test]
fn no_file_imports_itself_round_a_circle() {
    let files = load();
    let mut edges: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
    for (i, f) in files.iter().enumerate() {
        for n in &f.names {
            if let Some(t) = resolve(&files, n) {
                let j = files.iter().position(|g| std::ptr::eq(g, t)).expect("a file");
                // A module names its own items, and the crate root declares every module.
                if j != i && !f.module.is_empty() && !t.module.is_empty() {
                    edges.entry(i).or_default().insert(j);
                }
            }
        }
    }
    let circles = strongly_connected(files.len(), &edges);
    let shown: Vec<String> = circles
        .iter()
        .map(|c| {
            let mut names: Vec<String> = c.iter().map(|&i| files[i].path.display().to_string()).collect();
            names.sort();
            names.join(" <-> ")
        })
        .collect();
    assert!(shown.is_empty(), "import circles in sim/src:\n{}", shown.join("\n"));
}

/// The test's own reader must see the arrows it judges, or the checks above pass vacuously.
#[test]
fn the_reader_sees_known_imports() {
    let files = load();
    let find = |m: &str| {
        files
            .iter()
            .find(|f| f.module.join("::") == m)
            .unwrap_or_else(|| panic!("no module {m}"))
    };
    let world = find("world");
    assert!(world
        .names
        .contains(&vec!["log".to_string(), "disk".to_string(), "BrokerDisk".to_string()]));
    let leader = find("log::leader");
    assert!(leader.names.iter().any(|n| under(n, "config")));
    assert!(leader
        .names
        .iter()
        .any(|n| n[..] == ["log".to_string(), "broker".to_string(), "Broker".to_string()]));
    // A planted offence is caught.
    let planted = names_in("use crate::scenario::Acks;\n", &["log".into(), "leader".into()]);
    assert!(planted.iter().any(|n| under(n, "scenario")));
    let commented = names_in(&code_of("// use crate::scenario::Acks;\n"), &["log".into()]);
    assert!(code_of("// use crate::scenario::Acks;\n").trim().is_empty() && commented.is_empty());
}

/// Tarjan's algorithm: the groups of two or more files that reach each other.
fn strongly_connected(n: usize, edges: &BTreeMap<usize, BTreeSet<usize>>) -> Vec<Vec<usize>> {
    struct S<'a> {
        edges: &'a BTreeMap<usize, BTreeSet<usize>>,
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        stack: Vec<usize>,
        on: Vec<bool>,
        next: usize,
        out: Vec<Vec<usize>>,
    }
    fn visit(s: &mut S, v: usize) {
        s.index[v] = Some(s.next);
        s.low[v] = s.next;
        s.next += 1;
        s.stack.push(v);
        s.on[v] = true;
        let succ: Vec<usize> = s.edges.get(&v).map(|e| e.iter().copied().collect()).unwrap_or_default();
        for w in succ {
            match s.index[w] {
                None => {
                    visit(s, w);
                    s.low[v] = s.low[v].min(s.low[w]);
                }
                Some(iw) if s.on[w] => s.low[v] = s.low[v].min(iw),
                Some(_) => {}
            }
        }
        if Some(s.low[v]) == s.index[v] {
            let mut comp = Vec::new();
            loop {
                let w = s.stack.pop().expect("on the stack");
                s.on[w] = false;
                comp.push(w);
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                s.out.push(comp);
            }
        }
    }
    let mut s = S {
        edges,
        index: vec![None; n],
        low: vec![0; n],
        stack: Vec::new(),
        on: vec![false; n],
        next: 0,
        out: Vec::new(),
    };
    for v in 0..n {
        if s.index[v].is_none() {
            visit(&mut s, v);
        }
    }
    s.out
}
