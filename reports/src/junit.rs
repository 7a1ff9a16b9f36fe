//! `junit.xml`: one test suite per scenario and one test case per seed, so
//! CI systems list each failing seed with its replay command. A run that did
//! not finish is a test case with an `<error>`, the JUnit word for "the test
//! could not run to a verdict", as opposed to a `<failure>`.

use std::collections::BTreeSet;
use std::io;

use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::Writer;

use crate::model::Verdict;
use crate::sweep_entry::{is_unexpected, SweepEntry, SweepRunError};
use crate::text::{at_s, decimal, verdict_str, xml_safe};

/// What went wrong in an entry whose outcome differs from `expect`, naming
/// the first invariant violated, on one line.
pub fn failure_headline(e: &SweepEntry) -> String {
    let r = &e.result;
    let what = match (r.verdict, r.violations.first()) {
        (Verdict::Violation, Some(v)) => {
            let more = r.violations.len() - 1;
            let more = if more > 0 {
                format!(" (+{more} more)")
            } else {
                String::new()
            };
            format!(
                "{} violated at {}{more}, expected {}",
                v.invariant,
                at_s(v.at_ms),
                verdict_str(r.expect)
            )
        }
        (Verdict::Violation, None) => format!("violation, expected {}", verdict_str(r.expect)),
        (Verdict::Pass, _) => "expected a violation, but every invariant held".to_string(),
    };
    what.replace(['\r', '\n'], " ")
}

/// The failure message: the headline and the replay command, on one line
/// since CI tools show it as a title.
fn failure_message(e: &SweepEntry) -> String {
    format!("{}; replay: {}", failure_headline(e), e.result.replay).replace(['\r', '\n'], " ")
}

/// The failure body: every violation with its witness, then the replay command.
fn failure_body(e: &SweepEntry) -> String {
    let r = &e.result;
    let mut s = format!(
        "verdict {} (expected {})\n",
        verdict_str(r.verdict),
        verdict_str(r.expect)
    );
    for v in &r.violations {
        s.push_str(&format!(
            "{} at {}:\n  {}\n",
            v.invariant,
            at_s(v.at_ms),
            v.detail.replace('\n', "\n  ")
        ));
    }
    if let Some(dir) = &e.report_dir {
        s.push_str(&format!("report: {}\n", dir.display()));
    }
    s.push_str(&format!("replay: {}\n", r.replay));
    s
}

/// The JUnit XML of a sweep, given its entries grouped by scenario and the
/// runs that did not finish, sorted by scenario and seed.
pub(crate) fn junit_xml(
    groups: &[(String, Vec<&SweepEntry>)],
    errors: &[&SweepRunError],
    caught: &BTreeSet<String>,
) -> io::Result<Vec<u8>> {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let unexpected = |e: &&&SweepEntry| is_unexpected(e, caught);
    let total: usize = groups.iter().map(|g| g.1.len()).sum::<usize>() + errors.len();
    let failures: usize = groups.iter().map(|g| g.1.iter().filter(unexpected).count()).sum();
    let time: f64 = groups.iter().flat_map(|g| &g.1).map(|e| e.result.wall_s).sum();

    // Suites are scenarios with results or with errors, by name.
    let mut names: Vec<&str> = groups.iter().map(|g| g.0.as_str()).collect();
    names.extend(errors.iter().map(|e| e.scenario.as_str()));
    names.sort_unstable();
    names.dedup();
    let no_entries: Vec<&SweepEntry> = Vec::new();

    w.create_element("testsuites")
        .with_attributes([
            ("name", "streamsim sweep"),
            ("tests", total.to_string().as_str()),
            ("failures", failures.to_string().as_str()),
            ("errors", errors.len().to_string().as_str()),
            ("time", decimal(time, 3).as_str()),
        ])
        .write_inner_content(|w| {
            for name in names {
                let entries = groups.iter().find(|g| g.0 == name).map_or(&no_entries, |g| &g.1);
                let errs: Vec<&SweepRunError> = errors.iter().copied().filter(|e| e.scenario == name).collect();
                let scenario = xml_safe(name);
                let failed = entries.iter().filter(unexpected).count();
                let time: f64 = entries.iter().map(|e| e.result.wall_s).sum();
                w.create_element("testsuite")
                    .with_attributes([
                        ("name", scenario.as_str()),
                        ("tests", (entries.len() + errs.len()).to_string().as_str()),
                        ("failures", failed.to_string().as_str()),
                        ("errors", errs.len().to_string().as_str()),
                        ("skipped", "0"),
                        ("time", decimal(time, 3).as_str()),
                    ])
                    .write_inner_content(|w| {
                        // Cases by seed, whether they finished or not.
                        let (mut i, mut j) = (0, 0);
                        while i < entries.len() || j < errs.len() {
                            let take_entry =
                                j >= errs.len() || (i < entries.len() && entries[i].result.seed <= errs[j].seed);
                            if take_entry {
                                write_case(w, &scenario, entries[i], caught)?;
                                i += 1;
                            } else {
                                write_error_case(w, &scenario, errs[j])?;
                                j += 1;
                            }
                        }
                        Ok(())
                    })?;
            }
            Ok(())
        })?;
    let mut out = w.into_inner();
    out.push(b'\n');
    Ok(out)
}

fn write_case(w: &mut Writer<Vec<u8>>, scenario: &str, e: &SweepEntry, caught: &BTreeSet<String>) -> io::Result<()> {
    let r = &e.result;
    let case = w.create_element("testcase").with_attributes([
        ("name", format!("seed-{}", r.seed).as_str()),
        ("classname", scenario),
        ("time", decimal(r.wall_s, 3).as_str()),
    ]);
    if !is_unexpected(e, caught) {
        case.write_empty()?;
        return Ok(());
    }
    let kind = match (r.verdict, r.violations.first()) {
        (Verdict::Violation, Some(v)) => v.invariant.clone(),
        (Verdict::Violation, None) => "violation".to_string(),
        (Verdict::Pass, _) => "missed_violation".to_string(),
    };
    case.write_inner_content(|w| {
        w.create_element("failure")
            .with_attributes([
                ("message", xml_safe(&failure_message(e)).as_str()),
                ("type", xml_safe(&kind).as_str()),
            ])
            .write_text_content(BytesText::new(&xml_safe(&failure_body(e))))?;
        Ok(())
    })?;
    Ok(())
}

fn write_error_case(w: &mut Writer<Vec<u8>>, scenario: &str, e: &SweepRunError) -> io::Result<()> {
    let kind = if e.message.starts_with("watchdog") {
        "watchdog"
    } else {
        "run_error"
    };
    w.create_element("testcase")
        .with_attributes([
            ("name", format!("seed-{}", e.seed).as_str()),
            ("classname", scenario),
            ("time", "0"),
        ])
        .write_inner_content(|w| {
            let message = format!("{}; replay: {}", e.message, e.replay).replace(['\r', '\n'], " ");
            w.create_element("error")
                .with_attributes([("message", xml_safe(&message).as_str()), ("type", kind)])
                .write_text_content(BytesText::new(&xml_safe(&format!(
                    "{}\nreplay: {}\n",
                    e.message, e.replay
                ))))?;
            Ok(())
        })?;
    Ok(())
}
