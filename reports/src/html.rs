//! `report.html`: the run summary and its plots in one file that opens
//! anywhere, e.g. straight from a CI artifact.

use std::fmt::Write;

use crate::model::RunReport;
use crate::plots::RenderedPlot;
use crate::summary::{as_expected, counts, files, invariant_rows, verdict_line};
use crate::text::{at_s, count, decimal, html, ms};

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;\
max-width:1240px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}\
h1{font-size:1.6em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}\
table{border-collapse:collapse;margin:.6em 0}th,td{border:1px solid #ccc;padding:.3em .7em;\
text-align:left;vertical-align:top}th{background:#f3f3f3}td.n{text-align:right}\
pre{background:#f6f8fa;padding:.8em;overflow-x:auto}\
.pass{color:#1a7f37;font-weight:600}.fail{color:#cf222e;font-weight:600}\
.verdict{font-size:1.2em;padding:.5em .8em;border-radius:6px;display:inline-block}\
.ok{background:#dafbe1}.bad{background:#ffebe9}\
figure{margin:1em 0}figure svg{max-width:100%;height:auto;border:1px solid #eee}\
td.detail{white-space:pre-wrap;font-family:ui-monospace,monospace;font-size:.9em}";

fn mark(ok: bool) -> &'static str {
    if ok {
        "<span class=\"pass\">pass</span>"
    } else {
        "<span class=\"fail\">fail</span>"
    }
}

/// Appends a table; cells are already HTML, `classes` gives each column's
/// CSS class (`n` right-aligns numbers, `detail` keeps a witness's layout).
fn table(s: &mut String, head: &[&str], classes: &[&str], rows: &[Vec<String>]) {
    s.push_str("<table><tr>");
    for h in head {
        let _ = write!(s, "<th>{}</th>", html(h));
    }
    s.push_str("</tr>\n");
    for row in rows {
        s.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            let class = match classes.get(i) {
                Some(c) if !c.is_empty() => format!(" class=\"{c}\""),
                _ => String::new(),
            };
            let _ = write!(s, "<td{class}>{cell}</td>");
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</table>\n");
}

/// The self-contained HTML report of one run, plots inlined as SVG.
pub(crate) fn run_report_html(report: &RunReport, plots: &[RenderedPlot]) -> String {
    let r = &report.result;
    let mut s = String::new();
    let title = format!("{} — seed {}", r.scenario, r.seed);
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        html(&title),
        html(&title)
    );
    let class = if as_expected(r) { "ok" } else { "bad" };
    let _ = writeln!(
        s,
        "<p class=\"verdict {class}\">Verdict: {}</p>",
        html(&verdict_line(r))
    );
    table(
        &mut s,
        &["run", ""],
        &[],
        &[
            vec!["scenario".into(), html(&r.scenario)],
            vec![
                "scenario file".into(),
                format!("<code>{}</code>", html(&r.scenario_path)),
            ],
            vec!["seed".into(), r.seed.to_string()],
            vec!["trace hash".into(), format!("<code>{}</code>", html(&r.trace_hash))],
            vec!["virtual time".into(), format!("{} s", decimal(r.virtual_s, 3))],
            vec!["wall time".into(), format!("{} s", decimal(r.wall_s, 3))],
        ],
    );
    let _ = writeln!(s, "<h2>Replay</h2>\n<pre><code>{}</code></pre>", html(&r.replay));

    s.push_str("<h2>Invariants</h2>\n");
    let rows: Vec<Vec<String>> = invariant_rows(report)
        .into_iter()
        .map(|row| {
            vec![
                html(&row.name),
                mark(row.violations == 0).into(),
                row.violations.to_string(),
                html(&row.evidence),
            ]
        })
        .collect();
    table(
        &mut s,
        &["invariant", "result", "violations", "evidence"],
        &["", "", "n"],
        &rows,
    );
    if !r.violations.is_empty() {
        s.push_str("<h3>Violations</h3>\n");
        let rows: Vec<Vec<String>> = r
            .violations
            .iter()
            .map(|v| vec![html(&v.invariant), at_s(v.at_ms), html(&v.detail)])
            .collect();
        table(
            &mut s,
            &["invariant", "at (virtual)", "witness"],
            &["", "n", "detail"],
            &rows,
        );
    }

    s.push_str("<h2>Budgets</h2>\n");
    if r.budgets.is_empty() {
        s.push_str("<p>The scenario sets no budgets.</p>\n");
    } else {
        let rows: Vec<Vec<String>> = r
            .budgets
            .iter()
            .map(|b| {
                vec![
                    html(&b.name),
                    decimal(b.limit, 3),
                    decimal(b.measured, 3),
                    mark(b.ok).into(),
                ]
            })
            .collect();
        table(
            &mut s,
            &["budget", "limit", "measured", "result"],
            &["", "n", "n"],
            &rows,
        );
    }

    let p = &r.ack_latency_ms;
    s.push_str("<h2>Acknowledgement latency</h2>\n");
    table(
        &mut s,
        &["p50", "p99", "p99.9", "max"],
        &["n"; 4],
        &[vec![ms(p.p50), ms(p.p99), ms(p.p999), ms(p.max)]],
    );
    if let Some(e) = &r.read.e2e_latency_ms {
        s.push_str("<h2>End-to-end latency (client to sink commit)</h2>\n");
        table(
            &mut s,
            &["p50", "p99", "p99.9", "max"],
            &["n"; 4],
            &[vec![ms(e.p50), ms(e.p99), ms(e.p999), ms(e.max)]],
        );
    }
    s.push_str("<h2>Events</h2>\n");
    let mut rows: Vec<Vec<String>> = counts(r).iter().map(|(k, v)| vec![html(k), count(*v)]).collect();
    rows.extend(
        crate::summary::read_counts(r)
            .into_iter()
            .map(|(k, v)| vec![html(k), html(&v)]),
    );
    table(&mut s, &["events", "count"], &["", "n"], &rows);

    s.push_str("<h2>Faults</h2>\n");
    if report.faults.is_empty() {
        s.push_str("<p>No faults were injected.</p>\n");
    } else {
        let rows: Vec<Vec<String>> = report
            .faults
            .iter()
            .map(|f| {
                let end = f.end_ms.map(at_s).unwrap_or_else(|| "not healed".into());
                vec![html(&f.label), at_s(f.start_ms), end]
            })
            .collect();
        table(&mut s, &["fault", "start", "end"], &["", "n", "n"], &rows);
    }

    s.push_str("<h2>Topology and knobs</h2>\n");
    let mut rows = vec![
        vec!["brokers".to_string(), report.brokers.to_string()],
        vec!["partitions".to_string(), report.partitions.to_string()],
        vec!["bucket width".to_string(), format!("{} ms", report.bucket_ms)],
    ];
    rows.extend(report.knobs.iter().map(|(k, v)| vec![html(k), html(v)]));
    table(&mut s, &["knob", "value"], &[], &rows);

    s.push_str("<h2>Plots</h2>\n");
    for p in plots {
        let _ = writeln!(
            s,
            "<figure id=\"{}\">\n{}\n<figcaption>{} (<a href=\"{}.svg\">SVG</a>, <a href=\"{}.png\">PNG</a>)</figcaption>\n</figure>",
            p.name,
            p.svg.trim(),
            html(&p.title),
            p.name,
            p.name
        );
    }
    s.push_str("<h2>Files</h2>\n<ul>\n");
    for (f, what) in files(report) {
        let _ = writeln!(s, "<li><a href=\"{f}\">{f}</a>: {}</li>", html(&what.replace('`', "")));
    }
    s.push_str("</ul>\n</body>\n</html>\n");
    s
}
