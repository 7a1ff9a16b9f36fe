//! Sweep reports: many seeds of many scenarios, judged against what each
//! scenario expects (negative controls are expected to fail).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io;
use std::path::{Component, Path};

pub use crate::junit::failure_headline;
use crate::junit::junit_xml;
use crate::model::Verdict;
use crate::plots::sweep::{P99AcrossSeeds, StripRow};
use crate::text::{count, decimal, md_cell, md_code_block, md_code_span, median_sorted, verdict_str};
use crate::{ReportFiles, SweepReportFiles};

pub use crate::sweep_entry::{caught_scenarios, is_unexpected, SweepEntry, SweepRunError};

/// What a sweep found for one scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepSummaryRow {
    /// Scenario name.
    pub scenario: String,
    /// What the scenario expects (of its first run, should seeds disagree).
    pub expect: Verdict,
    /// Runs (seeds) of this scenario.
    pub seeds_run: usize,
    /// Runs whose verdict was `pass`.
    pub passed: usize,
    /// Runs whose verdict was `violation`.
    pub violations: usize,
    /// Runs whose verdict differs from what the scenario expects.
    pub unexpected: usize,
    /// Lowest ack p99 over the seeds, ms.
    pub best_ack_p99_ms: f64,
    /// Median ack p99 over the seeds, ms.
    pub median_ack_p99_ms: f64,
    /// Highest ack p99 over the seeds, ms.
    pub worst_ack_p99_ms: f64,
}

/// Entries grouped by scenario (by name), each group sorted by seed, so the
/// report is the same however shards were merged.
fn grouped(entries: &[SweepEntry]) -> Vec<(String, Vec<&SweepEntry>)> {
    let mut map: BTreeMap<&str, Vec<&SweepEntry>> = BTreeMap::new();
    for e in entries {
        map.entry(e.result.scenario.as_str()).or_default().push(e);
    }
    map.into_iter()
        .map(|(k, mut v)| {
            v.sort_by_key(|e| e.result.seed);
            (k.to_string(), v)
        })
        .collect()
}

/// One row per scenario, ordered by scenario name.
pub fn summarize(entries: &[SweepEntry]) -> Vec<SweepSummaryRow> {
    let caught = caught_scenarios(entries);
    grouped(entries)
        .into_iter()
        .map(|(scenario, runs)| {
            let mut p99: Vec<f64> = runs.iter().map(|e| e.result.ack_latency_ms.p99).collect();
            p99.sort_by(f64::total_cmp);
            SweepSummaryRow {
                scenario,
                expect: runs[0].result.expect,
                seeds_run: runs.len(),
                passed: runs.iter().filter(|e| e.result.verdict == Verdict::Pass).count(),
                violations: runs.iter().filter(|e| e.result.verdict == Verdict::Violation).count(),
                unexpected: runs.iter().filter(|e| is_unexpected(e, &caught)).count(),
                best_ack_p99_ms: p99.first().copied().unwrap_or(0.0),
                median_ack_p99_ms: median_sorted(&p99),
                worst_ack_p99_ms: p99.last().copied().unwrap_or(0.0),
            }
        })
        .collect()
}

/// At most this many unexpected runs are spelled out; results.csv has all.
const MAX_LISTED: usize = 50;

/// Markdown for a CI job summary: a verdict line, one row per scenario with
/// the spread of p99 over seeds, and each unexpected run with its replay
/// command. Report directories are shown as paths, since a job summary
/// cannot link into the job's files.
pub fn sweep_summary_markdown(entries: &[SweepEntry]) -> String {
    sweep_markdown(entries, &[], None)
}

/// [`sweep_summary_markdown`] with the runs that did not finish listed too.
pub fn sweep_summary_markdown_with_errors(entries: &[SweepEntry], errors: &[SweepRunError]) -> String {
    sweep_markdown(entries, errors, None)
}

/// Run errors sorted by scenario, then seed, as every report lists them.
fn sorted_errors(errors: &[SweepRunError]) -> Vec<&SweepRunError> {
    let mut v: Vec<&SweepRunError> = errors.iter().collect();
    v.sort_by(|a, b| (&a.scenario, a.seed).cmp(&(&b.scenario, b.seed)));
    v
}

fn sweep_markdown(entries: &[SweepEntry], errors: &[SweepRunError], link_base: Option<&Path>) -> String {
    let rows = summarize(entries);
    let caught = caught_scenarios(entries);
    let unexpected: Vec<&SweepEntry> = grouped(entries)
        .into_iter()
        .flat_map(|g| g.1)
        .filter(|e| is_unexpected(e, &caught))
        .collect();
    let mut s = String::new();
    let runs = count((entries.len() + errors.len()) as u64);
    if !errors.is_empty() {
        let _ = writeln!(
            s,
            "## ❌ streamsim sweep: {} runs did not finish and {} outcomes were unexpected in {runs} runs\n",
            count(errors.len() as u64),
            count(unexpected.len() as u64),
        );
    } else if unexpected.is_empty() {
        let _ = writeln!(
            s,
            "## ✅ streamsim sweep: {} scenarios, {runs} runs, every outcome as expected\n",
            rows.len()
        );
    } else {
        let _ = writeln!(
            s,
            "## ❌ streamsim sweep: {} unexpected outcomes in {runs} runs of {} scenarios\n",
            count(unexpected.len() as u64),
            rows.len()
        );
    }
    s.push_str("| scenario | expect | seeds | pass | violation | unexpected | ack p99 min / median / max |\n");
    s.push_str("| --- | --- | ---: | ---: | ---: | ---: | ---: |\n");
    for r in &rows {
        let flag = if r.unexpected > 0 { "❌ " } else { "" };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {flag}{} | {} / {} / {} ms |",
            md_cell(&r.scenario),
            verdict_str(r.expect),
            r.seeds_run,
            r.passed,
            r.violations,
            r.unexpected,
            decimal(r.best_ack_p99_ms, 3),
            decimal(r.median_ack_p99_ms, 3),
            decimal(r.worst_ack_p99_ms, 3),
        );
    }
    if !errors.is_empty() {
        s.push_str("\n### Runs that did not finish\n");
        for e in sorted_errors(errors).into_iter().take(MAX_LISTED) {
            let _ = writeln!(s, "\n#### {} seed {}\n", md_cell(&e.scenario), e.seed);
            let _ = writeln!(s, "{}\n", md_cell(&e.message));
            s.push_str(&md_code_block("sh", &e.replay));
        }
        if errors.len() > MAX_LISTED {
            let _ = writeln!(s, "\n…and {} more.", errors.len() - MAX_LISTED);
        }
    }
    if unexpected.is_empty() {
        return s;
    }
    s.push_str("\n### Unexpected outcomes\n");
    for e in unexpected.iter().take(MAX_LISTED) {
        let r = &e.result;
        let _ = writeln!(
            s,
            "\n#### {} seed {}: {} (expected {})\n",
            md_cell(&r.scenario),
            r.seed,
            verdict_str(r.verdict),
            verdict_str(r.expect)
        );
        let _ = writeln!(s, "{}\n", md_cell(&failure_headline(e)));
        for v in r.violations.iter().take(3) {
            let detail = v.detail.lines().next().unwrap_or("");
            let _ = writeln!(
                s,
                "- {} at {}: {}",
                md_code_span(&v.invariant),
                crate::text::at_s(v.at_ms),
                md_cell(detail)
            );
        }
        if !r.violations.is_empty() {
            s.push('\n');
        }
        if let Some(dir) = &e.report_dir {
            match link_base {
                Some(base) => {
                    let rel = relative_link(dir, base);
                    let _ = writeln!(s, "Report: [{}]({})\n", md_cell(&rel), link_target(&rel));
                }
                None => {
                    let _ = writeln!(s, "Report: {}\n", md_code_span(&dir.display().to_string()));
                }
            }
        }
        s.push_str(&md_code_block("sh", &r.replay));
    }
    if unexpected.len() > MAX_LISTED {
        let _ = writeln!(
            s,
            "\n…and {} more; results.csv lists every run.",
            unexpected.len() - MAX_LISTED
        );
    }
    s
}

/// Writes the report of a sweep into `dir`, creating it if missing:
/// `results.csv`, `junit.xml`, `summary.md` and the `p99_across_seeds`
/// plot as SVG and PNG.
pub fn write_sweep_report(entries: &[SweepEntry], dir: &Path) -> io::Result<SweepReportFiles> {
    write_sweep_report_with_errors(entries, &[], dir)
}

/// [`write_sweep_report`] for a sweep some of whose runs did not finish:
/// they are JUnit errors, rows of `results.csv` with the verdict `error`,
/// and a section of `summary.md`.
pub fn write_sweep_report_with_errors(
    entries: &[SweepEntry],
    errors: &[SweepRunError],
    dir: &Path,
) -> io::Result<SweepReportFiles> {
    let mut out = ReportFiles::create(dir)?;
    let groups = grouped(entries);
    let errors = sorted_errors(errors);
    let caught = caught_scenarios(entries);
    out.write("results.csv", &results_csv(&groups, &errors, &caught, dir)?)?;
    out.write("junit.xml", &junit_xml(&groups, &errors, &caught)?)?;

    let strips = groups
        .iter()
        .map(|(scenario, runs)| StripRow {
            scenario: scenario.clone(),
            points: runs
                .iter()
                .map(|e| (e.result.seed, e.result.ack_latency_ms.p99, is_unexpected(e, &caught)))
                .collect(),
        })
        .collect();
    let plot = crate::plots::render(
        "p99_across_seeds",
        "Ack latency p99 across seeds",
        &P99AcrossSeeds::new(strips),
    )?;
    out.write_plot(&plot)?;

    let mut md = String::from("# streamsim sweep\n\n");
    let owned: Vec<SweepRunError> = errors.into_iter().cloned().collect();
    md.push_str(&sweep_markdown(entries, &owned, Some(dir)));
    md.push_str(
        "\n## Ack latency p99 across seeds\n\n![Ack latency p99 across seeds](p99_across_seeds.png)\n\n\
         [SVG](p99_across_seeds.svg)\n\n## Files\n\n\
         - [results.csv](results.csv): one row per scenario and seed\n\
         - [junit.xml](junit.xml): JUnit XML, one test case per seed\n",
    );
    out.write("summary.md", md.as_bytes())?;
    Ok(out)
}

fn results_csv(
    groups: &[(String, Vec<&SweepEntry>)],
    errors: &[&SweepRunError],
    caught: &BTreeSet<String>,
    dir: &Path,
) -> io::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "scenario",
        "seed",
        "verdict",
        "expect",
        "matches_expect",
        "first_violation",
        "first_violation_at_ms",
        "ack_p50_ms",
        "ack_p99_ms",
        "ack_p999_ms",
        "events_sent",
        "events_acked",
        "events_lost",
        "events_duplicated",
        "trace_hash",
        "replay",
        "report_dir",
    ])?;
    // Rows in (scenario, seed) order, runs that did not finish among them.
    let mut rows: Vec<(&str, u64, Result<&SweepEntry, &SweepRunError>)> = groups
        .iter()
        .flat_map(|g| &g.1)
        .map(|e| (e.result.scenario.as_str(), e.result.seed, Ok(*e)))
        .chain(errors.iter().map(|e| (e.scenario.as_str(), e.seed, Err(*e))))
        .collect();
    rows.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    for (_, _, row) in rows {
        let e = match row {
            Ok(e) => e,
            Err(err) => {
                let mut rec = vec![String::new(); 17];
                rec[0] = err.scenario.clone();
                rec[1] = err.seed.to_string();
                rec[2] = "error".to_string();
                rec[3] = verdict_str(err.expect).to_string();
                rec[4] = "false".to_string();
                rec[15] = err.replay.clone();
                w.write_record(&rec)?;
                continue;
            }
        };
        let r = &e.result;
        let first = r.violations.first();
        let lat = &r.ack_latency_ms;
        w.write_record([
            r.scenario.clone(),
            r.seed.to_string(),
            verdict_str(r.verdict).to_string(),
            verdict_str(r.expect).to_string(),
            (!is_unexpected(e, caught)).to_string(),
            first.map(|v| v.invariant.clone()).unwrap_or_default(),
            first.map(|v| v.at_ms.to_string()).unwrap_or_default(),
            decimal(lat.p50, 3),
            decimal(lat.p99, 3),
            decimal(lat.p999, 3),
            r.events_sent.to_string(),
            r.events_acked.to_string(),
            r.events_lost.to_string(),
            r.events_duplicated.to_string(),
            r.trace_hash.clone(),
            r.replay.clone(),
            e.report_dir
                .as_deref()
                .map(|d| relative_link(d, dir))
                .unwrap_or_default(),
        ])?;
    }
    w.into_inner().map_err(|e| io::Error::other(e.to_string()))
}

/// `target` relative to the directory `base`, with `/` separators, worked
/// out lexically (the directories need not exist yet).
pub fn relative_link(target: &Path, base: &Path) -> String {
    let cwd = std::env::current_dir().unwrap_or_default();
    let norm = |p: &Path| -> Vec<String> {
        let abs = if p.is_absolute() { p.to_path_buf() } else { cwd.join(p) };
        let mut out: Vec<String> = Vec::new();
        for c in abs.components() {
            match c {
                Component::ParentDir => {
                    out.pop();
                }
                Component::Normal(s) => out.push(s.to_string_lossy().into_owned()),
                Component::Prefix(p) => out.push(p.as_os_str().to_string_lossy().into_owned()),
                Component::RootDir | Component::CurDir => {}
            }
        }
        out
    };
    let (t, b) = (norm(target), norm(base));
    let common = t.iter().zip(&b).take_while(|(x, y)| x == y).count();
    // Nothing shared but the root: a climb to it says less than the path.
    if common == 0 {
        return format!("/{}", t.join("/"));
    }
    let mut parts: Vec<String> = vec!["..".to_string(); b.len() - common];
    parts.extend(t[common..].iter().cloned());
    if parts.is_empty() {
        ".".to_string()
    } else {
        parts.join("/")
    }
}

/// A markdown link target: characters that would end or break the link are
/// percent-encoded.
fn link_target(rel: &str) -> String {
    let mut out = String::with_capacity(rel.len());
    for c in rel.chars() {
        match c {
            ' ' => out.push_str("%20"),
            '(' => out.push_str("%28"),
            ')' => out.push_str("%29"),
            '<' => out.push_str("%3C"),
            '>' => out.push_str("%3E"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn relative_links() {
        assert_eq!(
            relative_link(Path::new("out/runs/a"), Path::new("out/sweep")),
            "../runs/a"
        );
        assert_eq!(relative_link(Path::new("out/sweep/a"), Path::new("out/sweep")), "a");
        assert_eq!(relative_link(Path::new("/x/y"), Path::new("/x/y")), ".");
        assert_eq!(link_target("a b(1)"), "a%20b%281%29");
    }

    #[test]
    fn runs_that_did_not_finish_are_reported() {
        let dir = std::env::temp_dir().join(format!("streamsim-sweep-errors-{}", std::process::id()));
        let err = |seed| SweepRunError {
            scenario: "crash <x>".into(),
            scenario_path: "s.toml".into(),
            seed,
            expect: Verdict::Pass,
            message: "watchdog: stuck".into(),
            replay: format!("streamsim run s.toml --seed {seed}"),
        };
        write_sweep_report_with_errors(&[], &[err(9), err(2)], &dir).unwrap();
        let junit = fs::read_to_string(dir.join("junit.xml")).unwrap();
        assert!(junit.contains(r#"tests="2" failures="0" errors="2""#), "{junit}");
        let seed2 = junit.find(r#"name="seed-2""#).unwrap();
        assert!(
            seed2 < junit.find(r#"name="seed-9""#).unwrap(),
            "cases by seed: {junit}"
        );
        assert!(
            junit.contains(r#"type="watchdog""#) && junit.contains("crash &lt;x&gt;"),
            "{junit}"
        );
        let csv = fs::read_to_string(dir.join("results.csv")).unwrap();
        let rows: Vec<&str> = csv.lines().skip(1).collect();
        assert_eq!(rows.len(), 2);
        assert!(rows[0].starts_with("crash <x>,2,error,pass,false,"), "{csv}");
        assert!(rows[0].contains("streamsim run s.toml --seed 2"), "{csv}");
        let md = fs::read_to_string(dir.join("summary.md")).unwrap();
        assert!(md.contains("2 runs did not finish") && md.contains("--seed 9"), "{md}");
        let _ = fs::remove_dir_all(&dir);
    }
}
