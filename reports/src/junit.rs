//! `junit.xml`: one test suite per scenario and one test case per seed, so
//! CI systems list each failing seed with its replay command.

use std::io;

use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::Writer;

use crate::model::Verdict;
use crate::sweep::SweepEntry;
use crate::text::{at_s, decimal, verdict_str, xml_safe};

/// What went wrong in an entry whose outcome differs from `expect`, naming
/// the first invariant violated.
pub(crate) fn failure_headline(e: &SweepEntry) -> String {
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

/// The JUnit XML of a sweep, given its entries grouped by scenario.
pub(crate) fn junit_xml(groups: &[(String, Vec<&SweepEntry>)]) -> io::Result<Vec<u8>> {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let unexpected = |e: &&&SweepEntry| e.result.verdict != e.result.expect;
    let total: usize = groups.iter().map(|g| g.1.len()).sum();
    let failures: usize = groups.iter().map(|g| g.1.iter().filter(unexpected).count()).sum();
    let time: f64 = groups.iter().flat_map(|g| &g.1).map(|e| e.result.wall_s).sum();

    w.create_element("testsuites")
        .with_attributes([
            ("name", "streamsim sweep"),
            ("tests", total.to_string().as_str()),
            ("failures", failures.to_string().as_str()),
            ("errors", "0"),
            ("time", decimal(time, 3).as_str()),
        ])
        .write_inner_content(|w| {
            for (scenario, entries) in groups {
                let scenario = xml_safe(scenario);
                let failed = entries.iter().filter(unexpected).count();
                let time: f64 = entries.iter().map(|e| e.result.wall_s).sum();
                w.create_element("testsuite")
                    .with_attributes([
                        ("name", scenario.as_str()),
                        ("tests", entries.len().to_string().as_str()),
                        ("failures", failed.to_string().as_str()),
                        ("errors", "0"),
                        ("skipped", "0"),
                        ("time", decimal(time, 3).as_str()),
                    ])
                    .write_inner_content(|w| {
                        for e in entries {
                            write_case(w, &scenario, e)?;
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

fn write_case(w: &mut Writer<Vec<u8>>, scenario: &str, e: &SweepEntry) -> io::Result<()> {
    let r = &e.result;
    let case = w.create_element("testcase").with_attributes([
        ("name", format!("seed-{}", r.seed).as_str()),
        ("classname", scenario),
        ("time", decimal(r.wall_s, 3).as_str()),
    ]);
    if r.verdict == r.expect {
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
