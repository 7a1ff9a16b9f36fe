//! The sweep report: summary counts, JUnit XML, CSV and markdown.

use crate::common;

use std::collections::BTreeMap;
use std::fs;

use quick_xml::events::Event;
use quick_xml::Reader;
use streamsim_reports::{render_summary_text, summarize, sweep_summary_markdown, write_sweep_report, Verdict};

#[test]
fn summarize_counts_each_scenario() {
    let rows = summarize(&common::sweep_entries());
    let names: Vec<&str> = rows.iter().map(|r| r.scenario.as_str()).collect();
    assert_eq!(names, ["acks1-crash", "baseline", "isolate-leader"]);
    let by: BTreeMap<&str, _> = rows.iter().map(|r| (r.scenario.as_str(), r)).collect();

    let control = by["acks1-crash"];
    assert_eq!(control.expect, Verdict::Violation);
    assert_eq!((control.seeds_run, control.passed, control.violations), (8, 2, 6));
    // Caught on six seeds: the two seeds that happened to pass are not failures.
    assert_eq!(control.unexpected, 0);

    let base = by["baseline"];
    assert_eq!(
        (base.seeds_run, base.passed, base.violations, base.unexpected),
        (8, 8, 0, 0)
    );

    let iso = by["isolate-leader"];
    assert_eq!((iso.passed, iso.violations, iso.unexpected), (6, 2, 2));

    let entries = common::sweep_entries();
    let p99s: Vec<f64> = entries
        .iter()
        .filter(|e| e.result.scenario == "baseline")
        .map(|e| e.result.ack_latency_ms.p99)
        .collect();
    let worst = p99s.iter().copied().fold(f64::MIN, f64::max);
    let best = p99s.iter().copied().fold(f64::MAX, f64::min);
    assert_eq!(base.worst_ack_p99_ms, worst);
    assert_eq!(base.best_ack_p99_ms, best);
    assert!(base.median_ack_p99_ms >= best && base.median_ack_p99_ms <= worst);
}

/// (suite, testcase name) -> failure (message, type), None when it passed.
type Cases = BTreeMap<(String, String), Option<(String, String)>>;

fn parse_junit(xml: &str) -> Cases {
    let mut reader = Reader::from_str(xml);
    let mut cases = Cases::new();
    let (mut suite, mut case) = (String::new(), String::new());
    let attr = |e: &quick_xml::events::BytesStart, name: &str| -> String {
        e.try_get_attribute(name)
            .unwrap()
            .unwrap_or_else(|| panic!("missing {name}"))
            .unescape_value()
            .unwrap()
            .into_owned()
    };
    loop {
        match reader.read_event().expect("junit.xml is well-formed") {
            Event::Start(e) | Event::Empty(e) if e.name().as_ref() == b"testsuite" => {
                suite = attr(&e, "name");
            }
            Event::Start(e) if e.name().as_ref() == b"testcase" => {
                case = attr(&e, "name");
                assert!(
                    cases.insert((suite.clone(), case.clone()), None).is_none(),
                    "duplicate {case}"
                );
            }
            Event::Empty(e) if e.name().as_ref() == b"testcase" => {
                case = attr(&e, "name");
                assert!(
                    cases.insert((suite.clone(), case.clone()), None).is_none(),
                    "duplicate {case}"
                );
            }
            Event::Start(e) | Event::Empty(e) if e.name().as_ref() == b"failure" => {
                let slot = cases.get_mut(&(suite.clone(), case.clone())).unwrap();
                assert!(slot.is_none(), "two failures in {suite}/{case}");
                *slot = Some((attr(&e, "message"), attr(&e, "type")));
            }
            Event::Eof => break,
            _ => {}
        }
    }
    cases
}

#[test]
fn junit_has_one_case_per_seed_and_fails_exactly_the_unexpected() {
    let entries = common::sweep_entries();
    let dir = common::out_dir("sweep-junit");
    write_sweep_report(&entries, &dir).unwrap();
    let xml = fs::read_to_string(dir.join("junit.xml")).unwrap();
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
    let cases = parse_junit(&xml);
    assert_eq!(cases.len(), entries.len());
    for e in &entries {
        let r = &e.result;
        let key = (r.scenario.clone(), format!("seed-{}", r.seed));
        let failure = cases.get(&key).unwrap_or_else(|| panic!("no case for {key:?}"));
        let expected = r.verdict == Verdict::Pass || r.expect == Verdict::Violation;
        if expected {
            assert!(failure.is_none(), "{key:?} should pass");
            continue;
        }
        let (message, kind) = failure.as_ref().unwrap_or_else(|| panic!("{key:?} should fail"));
        assert!(message.contains(&r.replay), "{key:?}: {message}");
        if r.verdict == Verdict::Violation {
            assert!(message.starts_with("no_loss violated at"), "{message}");
            assert_eq!(kind, "no_loss");
        } else {
            assert!(message.contains("expected a violation"), "{message}");
        }
    }
    // The witness with quotes, pipes, angle brackets and ampersands survives
    // escaping and comes back unchanged.
    let mut reader = Reader::from_str(&xml);
    let mut bodies = Vec::new();
    let mut in_failure = false;
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) if e.name().as_ref() == b"failure" => in_failure = true,
            Event::End(e) if e.name().as_ref() == b"failure" => in_failure = false,
            Event::Text(t) if in_failure => bodies.push(t.unescape().unwrap().into_owned()),
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(bodies
        .iter()
        .any(|b| b.contains("acked by <broker-1> at 26.1 s & missing")));
    assert!(bodies.iter().any(|b| b.contains("(key \"user|7\")")));
}

#[test]
fn control_characters_in_a_witness_do_not_break_junit() {
    let mut entries = common::sweep_entries();
    let bad = entries
        .iter_mut()
        .find(|e| e.result.scenario == "isolate-leader" && e.result.seed == 3)
        .unwrap();
    bad.result.violations[0].detail = "raw bytes \u{1}\u{1b}[31m here".into();
    let dir = common::out_dir("sweep-control-chars");
    write_sweep_report(&entries, &dir).unwrap();
    let cases = parse_junit(&fs::read_to_string(dir.join("junit.xml")).unwrap());
    assert_eq!(cases.len(), entries.len());
}

#[test]
fn sweep_files_csv_and_markdown() {
    let entries = common::sweep_entries();
    let dir = common::out_dir("sweep-files").join("out").join("sweep");
    let files = write_sweep_report(&entries, &dir).unwrap();
    for name in [
        "results.csv",
        "junit.xml",
        "summary.md",
        "p99_across_seeds.svg",
        "p99_across_seeds.png",
    ] {
        let path = dir.join(name);
        assert!(files.files.contains(&path), "{name} not listed");
        assert!(fs::metadata(&path).unwrap().len() > 0, "{name} empty");
    }
    let png = fs::read(dir.join("p99_across_seeds.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(u32::from_be_bytes(png[16..20].try_into().unwrap()), 1200);
    let svg = fs::read_to_string(dir.join("p99_across_seeds.svg")).unwrap();
    assert!(svg.contains("ack latency p99 of each seed (ms, log scale)"));
    assert!(svg.contains("isolate-leader"));

    let mut rdr = csv::Reader::from_path(dir.join("results.csv")).unwrap();
    let header: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
    for col in [
        "scenario",
        "seed",
        "verdict",
        "expect",
        "matches_expect",
        "first_violation",
        "ack_p50_ms",
        "ack_p99_ms",
        "ack_p999_ms",
        "events_sent",
        "events_acked",
        "events_lost",
        "events_duplicated",
        "trace_hash",
        "replay",
    ] {
        assert!(header.contains(&col.to_string()), "results.csv lacks {col}");
    }
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), entries.len());
    let col = |n: &str| header.iter().position(|h| h == n).unwrap();
    let mismatches = rows.iter().filter(|r| &r[col("matches_expect")] == "false").count();
    assert_eq!(mismatches, 2);
    let row = rows
        .iter()
        .find(|r| &r[col("scenario")] == "isolate-leader" && &r[col("seed")] == "3")
        .unwrap();
    assert_eq!(&row[col("first_violation")], "no_loss");
    assert_eq!(&row[col("verdict")], "violation");

    let md = fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(md.contains("2 unexpected outcomes in 24 runs of 3 scenarios"));
    // Relative link from out/sweep to out/runs/<scenario>-<seed>: the entries'
    // report dirs are relative to the working directory, the sweep dir here
    // is absolute, so the link climbs to the common ancestor.
    assert!(md.contains("](p99_across_seeds.png)"));
    for (scenario, seed) in [("isolate-leader", 3), ("isolate-leader", 6)] {
        let replay = format!("streamsim run scenarios/{scenario}.toml --seed {seed}");
        assert!(
            md.contains(&format!("```sh\n{replay}\n```")),
            "no replay for {scenario}/{seed}"
        );
        assert!(
            md.contains(&format!("runs/{scenario}-{seed})")),
            "no report link for {scenario}/{seed}"
        );
    }
    assert!(!md.contains("```sh\nstreamsim run scenarios/baseline.toml"));
    // The control's passing seeds are not listed as failures.
    assert!(!md.contains("```sh\nstreamsim run scenarios/acks1-crash.toml --seed 3"));
}

#[test]
fn a_negative_control_no_seed_caught_fails_on_every_seed() {
    use streamsim_reports::sweep::{caught_scenarios, is_unexpected};
    let missed: Vec<_> = (1..=4)
        .map(|seed| common::entry("acks1-crash", seed, Verdict::Pass, Verdict::Violation, 5.0))
        .collect();
    let caught = caught_scenarios(&missed);
    assert!(missed.iter().all(|e| is_unexpected(e, &caught)));
    let rows = summarize(&missed);
    assert_eq!(rows[0].unexpected, 4);
    // One caught seed anywhere in the sweep makes the control as expected.
    let mut with_one = missed.clone();
    with_one.push(common::entry(
        "acks1-crash",
        5,
        Verdict::Violation,
        Verdict::Violation,
        5.0,
    ));
    assert_eq!(summarize(&with_one)[0].unexpected, 0);
}

#[test]
fn sweep_report_links_are_relative_to_the_sweep_dir() {
    let entries = common::sweep_entries();
    let base = common::out_dir("sweep-links");
    let entries: Vec<_> = entries
        .into_iter()
        .map(|mut e| {
            let name = e.report_dir.as_ref().unwrap().file_name().unwrap().to_owned();
            e.report_dir = Some(base.join("runs").join(name));
            e
        })
        .collect();
    write_sweep_report(&entries, &base.join("sweep")).unwrap();
    let md = fs::read_to_string(base.join("sweep").join("summary.md")).unwrap();
    assert!(
        md.contains("Report: [../runs/isolate-leader-3](../runs/isolate-leader-3)"),
        "{md}"
    );
    let csv = fs::read_to_string(base.join("sweep").join("results.csv")).unwrap();
    assert!(csv.contains(",../runs/isolate-leader-3\n"));
}

#[test]
fn ci_summary_markdown_lists_the_unexpected_with_replay() {
    let entries = common::sweep_entries();
    let md = sweep_summary_markdown(&entries);
    assert!(md.starts_with("## ❌"));
    assert!(md.contains("| isolate-leader | pass | 8 | 6 | 2 | ❌ 2 |"), "{md}");
    assert!(md.contains("| baseline | pass | 8 | 8 | 0 | 0 |"));
    assert!(md.contains("```sh\nstreamsim run scenarios/isolate-leader.toml --seed 6\n```"));
    assert!(md.contains("Report: `out/runs/isolate-leader-6`"));
    // The witness is escaped in the bullet list.
    assert!(md.contains("acked by &lt;broker-1&gt;"));
    assert!(!md.contains("<broker-1>"));

    let all_good: Vec<_> = entries
        .into_iter()
        .filter(|e| e.result.verdict == Verdict::Pass || e.result.expect == Verdict::Violation)
        .collect();
    let md = sweep_summary_markdown(&all_good);
    assert!(md.starts_with("## ✅ streamsim sweep: 3 scenarios, 22 runs, every outcome as expected"));
    assert!(!md.contains("```"));
}

#[test]
fn terminal_summary_shows_replay_only_when_it_matters() {
    let report = common::synthetic_report();
    let text = render_summary_text(&report.result);
    assert!(text.starts_with("VIOLATION  acks1-broker-crash seed 42\n"));
    assert!(text.contains("UNEXPECTED"));
    assert!(text.contains("lost 3"));
    assert!(text.contains("no_loss at 27.345 s"));
    assert!(
        text.contains("      retried `twice` *still* lost"),
        "multi-line witness indented"
    );
    assert!(text.contains("ack_latency.p99_ms: measured"));
    assert!(text.contains("EXCEEDED"));
    assert!(text.contains("replay      streamsim run scenarios/acks1-broker-crash.toml --seed 42"));

    let pass = common::entry("baseline", 1, Verdict::Pass, Verdict::Pass, 5.0).result;
    let text = render_summary_text(&pass);
    assert!(text.starts_with("PASS  baseline seed 1\n"));
    assert!(text.contains("as expected"));
    assert!(!text.contains("replay"));
    assert!(text.contains("p99 5 ms"));

    let missed = common::entry("acks1-crash", 3, Verdict::Pass, Verdict::Violation, 5.0).result;
    assert!(render_summary_text(&missed).contains("replay      streamsim run"));
}
