//! The files of a run report, checked against the synthetic run they
//! were written from.

use crate::common;

use std::fs;
use std::path::Path;

use common::{assert_png_plot, assert_well_formed, decode_hlog, svg_texts};
use hdrhistogram::Histogram;
use streamsim_reports::{
    write_run_report, CompactHistogram, FaultWindow, Percentiles, RunResult, PLOT_SIZE, RUN_PLOTS,
};

const DATA_FILES: [&str; 5] = [
    "result.json",
    "summary.md",
    "report.html",
    "timeseries.csv",
    "ack_latency.hlog",
];

fn read(dir: &Path, name: &str) -> String {
    fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn writes_every_file_non_empty() {
    let dir = common::out_dir("run-all-files");
    let files = write_run_report(&common::synthetic_report(), &dir).unwrap();
    assert_eq!(files.dir, dir);
    let mut expected: Vec<String> = DATA_FILES.iter().map(|s| s.to_string()).collect();
    for p in RUN_PLOTS {
        expected.push(format!("{p}.svg"));
        expected.push(format!("{p}.png"));
    }
    for name in &expected {
        let path = dir.join(name);
        assert!(files.files.contains(&path), "{name} not listed");
        let len = fs::metadata(&path).unwrap_or_else(|e| panic!("{name}: {e}")).len();
        assert!(len > 0, "{name} is empty");
    }
    assert_eq!(files.files.len(), expected.len());
}

#[test]
fn result_json_round_trips() {
    let report = common::synthetic_report();
    let dir = common::out_dir("run-json");
    write_run_report(&report, &dir).unwrap();
    let back: RunResult = serde_json::from_str(&read(&dir, "result.json")).unwrap();
    assert_eq!(back, report.result);
    // Exactly the serde form: field names as in the model, verdicts in snake case.
    let value: serde_json::Value = serde_json::from_str(&read(&dir, "result.json")).unwrap();
    assert_eq!(value["verdict"], "violation");
    assert_eq!(value["expect"], "pass");
    assert_eq!(value, serde_json::to_value(&report.result).unwrap());
}

#[test]
fn timeseries_csv_has_a_row_per_bucket() {
    let report = common::synthetic_report();
    let dir = common::out_dir("run-csv");
    write_run_report(&report, &dir).unwrap();
    let mut rdr = csv::Reader::from_path(dir.join("timeseries.csv")).unwrap();
    let header: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
    let columns = 10 + 2 * common::PARTITIONS + 4 * common::BROKERS;
    assert_eq!(header.len(), columns);
    assert_eq!(
        &header[..10],
        [
            "start_s",
            "offered",
            "sent",
            "acked",
            "sent_bytes",
            "acked_bytes",
            "appended",
            "ack_p50_ms",
            "ack_p99_ms",
            "ack_p999_ms"
        ]
    );
    assert_eq!(header[10], "p0_appends");
    assert_eq!(header[10 + common::PARTITIONS], "p0_hw_lag");
    assert_eq!(header[columns - 4..], ["b2_cpu", "b2_disk", "b2_nic", "b2_dirty"]);

    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), common::BUCKETS);
    let acked = header.iter().position(|h| h == "acked").unwrap();
    let sum: u64 = rows.iter().map(|r| r[acked].parse::<u64>().unwrap()).sum();
    let expected: u64 = report.buckets.iter().map(|b| b.acked).sum();
    assert_eq!(sum, expected);
    assert_eq!(&rows[20][0], "20");
    let p99 = header.iter().position(|h| h == "ack_p99_ms").unwrap();
    let got: f64 = rows[25][p99].parse().unwrap();
    assert!((got - report.buckets[25].ack_latency_ms.p99).abs() < 1e-3);
}

#[test]
fn a_bucket_without_events_has_empty_latency_cells() {
    // Buckets 20 to 25 acknowledge nothing (a stalled leader); 22 to 23 also
    // commit nothing to the sink. Whatever percentiles such a bucket carries,
    // none were measured.
    let mut report = common::with_read_path(common::synthetic_report());
    for (i, b) in report.buckets.iter_mut().enumerate() {
        if (20..=25).contains(&i) {
            b.acked = 0;
            b.ack_latency_ms = Percentiles::default();
        }
        if (22..=23).contains(&i) {
            b.sunk = 0;
            b.e2e_latency_ms = Percentiles::default();
        }
    }
    let dir = common::out_dir("run-csv-gaps");
    write_run_report(&report, &dir).unwrap();
    let mut rdr = csv::Reader::from_path(dir.join("timeseries.csv")).unwrap();
    let header: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    for (i, row) in rows.iter().enumerate() {
        for (count, cols) in [
            ("acked", ["ack_p50_ms", "ack_p99_ms", "ack_p999_ms"]),
            ("sunk", ["e2e_p50_ms", "e2e_p99_ms", "e2e_p999_ms"]),
        ] {
            let n: u64 = row[col(count)].parse().unwrap();
            for c in cols {
                let cell = &row[col(c)];
                if n == 0 {
                    assert_eq!(cell, "", "bucket {i}: {c} with no {count} events");
                } else {
                    let v: f64 = cell.parse().unwrap_or_else(|_| panic!("bucket {i}: {c} = {cell:?}"));
                    assert!(v > 0.0, "bucket {i}: {c} = {v}");
                }
            }
        }
    }
    assert_eq!(&rows[21][col("acked")], "0");
    assert_eq!(&rows[22][col("sunk")], "0");
}

#[test]
fn hlog_decodes_to_the_source_histograms() {
    let report = common::synthetic_report();
    let dir = common::out_dir("run-hlog");
    write_run_report(&report, &dir).unwrap();
    let bytes = fs::read(dir.join("ack_latency.hlog")).unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.contains("\"StartTimestamp\",\"Interval_Length\""));

    let log = decode_hlog(&bytes);
    let mut merged: Histogram<u64> = streamsim_reports::latency_histogram();
    let mut starts = Vec::new();
    for (start_ms, length_ms, h) in &log.intervals {
        starts.push(*start_ms);
        assert_eq!(*length_ms, 1000);
        merged.add(h).unwrap();
    }
    assert_eq!(log.base_time, Some(std::time::Duration::ZERO));
    let bucket_starts: Vec<u64> = report.buckets.iter().map(|b| b.start_ms).collect();
    assert_eq!(starts, bucket_starts);
    assert_eq!(merged.len(), report.ack_latency_us.len());
    assert_eq!(
        merged.value_at_quantile(0.99),
        report.ack_latency_us.value_at_quantile(0.99)
    );
    assert_eq!(merged.max(), report.ack_latency_us.max());
}

#[test]
fn plots_are_pngs_of_the_intended_size_and_svgs_with_titles_and_faults() {
    let dir = common::out_dir("run-plots");
    write_run_report(&common::synthetic_report(), &dir).unwrap();
    for name in RUN_PLOTS {
        let png = fs::read(dir.join(format!("{name}.png"))).unwrap();
        assert_png_plot(name, &png, PLOT_SIZE);

        let svg = read(&dir, &format!("{name}.svg"));
        assert!(svg.starts_with("<svg"), "{name}.svg");
        assert_well_formed(name, &svg);
    }
    let axis_titles = [
        ("ack_latency", &["virtual time (s)", "ack latency (ms, log scale)"][..]),
        ("throughput", &["virtual time (s)", "events per second"]),
        ("partition_load", &["partition", "records appended (whole run)"]),
        ("replication_lag", &["virtual time (s)", "high-watermark lag (records)"]),
        (
            "latency_distribution",
            &["percentile", "ack latency (ms, log scale)", "99.9%"],
        ),
        (
            "broker_utilisation",
            &["virtual time (s)", "busy (% of time)", "CPU", "disk"],
        ),
    ];
    for (name, titles) in axis_titles {
        let texts = svg_texts(&read(&dir, &format!("{name}.svg")));
        for t in titles {
            assert!(texts.iter().any(|x| x == t), "{name}.svg lacks {t:?}");
        }
    }
    for name in ["ack_latency", "throughput", "replication_lag", "broker_utilisation"] {
        let texts = svg_texts(&read(&dir, &format!("{name}.svg")));
        assert!(
            texts.iter().any(|x| x == common::FAULT_LABEL),
            "{name}.svg lacks the fault label"
        );
    }
}

#[test]
fn open_ended_and_oddly_named_faults_render() {
    let mut report = common::synthetic_report();
    report.faults.push(FaultWindow {
        label: "partition <gw-0 & broker-2>".into(),
        start_ms: 50_000,
        end_ms: None,
    });
    let dir = common::out_dir("run-open-fault");
    write_run_report(&report, &dir).unwrap();
    let svg = read(&dir, "ack_latency.svg");
    assert_well_formed("ack_latency", &svg);
    assert!(svg.contains("partition &lt;gw-0 &amp; broker-2&gt; (not healed)"));
    assert!(svg_texts(&svg).contains(&"partition <gw-0 & broker-2> (not healed)".to_string()));
    let md = read(&dir, "summary.md");
    assert!(md.contains("| partition &lt;gw-0 &amp; broker-2&gt; | 50 s | not healed |"));
}

#[test]
fn summary_markdown_and_html_escape_the_witness() {
    let report = common::synthetic_report();
    let dir = common::out_dir("run-summary");
    write_run_report(&report, &dir).unwrap();

    let md = read(&dir, "summary.md");
    assert!(md.contains("violation (expected pass)"));
    assert!(md.contains("```sh\nstreamsim run scenarios/acks1-broker-crash.toml --seed 42\n```"));
    // The witness stays in its cell: pipes escaped, markup neutralised, newline as <br>.
    let row = md
        .lines()
        .find(|l| l.starts_with("| no\\_loss | 27.345 s |"))
        .expect("violation row");
    assert!(row.contains("(key \"user\\|7\")"), "{row}");
    assert!(row.contains("&lt;broker-1&gt;"));
    assert!(row.contains("&amp; missing"));
    assert!(row.contains("<br>retried \\`twice\\` \\*still\\* lost"));
    assert_eq!(row.matches(" | ").count(), 2, "cell count of {row}");
    // Invariants: always-checked, listed by the knob, and budgets.
    for inv in [
        "| no\\_loss | ❌ fail | 1 |",
        "| no\\_duplicates | ✅ pass | 0 |",
        "| per\\_key\\_order | ✅ pass | 0 |",
        "| budgets | ❌ fail |",
    ] {
        assert!(md.contains(inv), "summary.md lacks {inv}");
    }
    assert!(md.contains("| ack\\_latency.p99\\_ms | 30 |"));
    assert!(md.contains("| acks | 1 |"));
    for p in RUN_PLOTS {
        assert!(md.contains(&format!("]({p}.png)")), "summary.md lacks link to {p}");
    }

    let html = read(&dir, "report.html");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(!html.contains("<broker-1>"));
    assert!(html.contains("acked by &lt;broker-1&gt; at 26.1 s &amp; missing"));
    assert!(html.contains("&quot;user|7&quot;"));
    assert_eq!(html.matches("<svg").count(), RUN_PLOTS.len());
    assert!(!html.contains("src=\"http"), "report.html must not load anything");
}

#[test]
fn a_run_without_data_still_reports() {
    let mut report = common::synthetic_report();
    report.buckets.clear();
    report.ack_intervals.clear();
    report.ack_latency_us = streamsim_reports::latency_histogram();
    report.faults.clear();
    let dir = common::out_dir("run-empty");
    let files = write_run_report(&report, &dir).unwrap();
    assert_eq!(files.files.len(), DATA_FILES.len() + 2 * RUN_PLOTS.len());
    let csv = read(&dir, "timeseries.csv");
    assert_eq!(csv.lines().count(), 1, "header only");
}

#[test]
fn a_virtual_day_is_plotted_from_merged_buckets() {
    let mut report = common::synthetic_report();
    let template = report.buckets.clone();
    let n = 86_400usize;
    report.buckets = (0..n)
        .map(|i| {
            let mut b = template[i % template.len()].clone();
            b.start_ms = i as u64 * 1000;
            b
        })
        .collect();
    // Auto-resizing histograms stay small, so a day of them fits in a test.
    report.ack_intervals = (0..n)
        .map(|i| {
            let mut h = Histogram::<u64>::new(2).unwrap();
            h.record(2_000 + (i as u64 % 50) * 100).unwrap();
            CompactHistogram::new(&h)
        })
        .collect();
    report.faults = vec![FaultWindow {
        label: common::FAULT_LABEL.into(),
        start_ms: 6 * 3600 * 1000,
        end_ms: Some(7 * 3600 * 1000),
    }];
    let dir = common::out_dir("run-day");
    write_run_report(&report, &dir).unwrap();
    for name in RUN_PLOTS {
        let svg = read(&dir, &format!("{name}.svg"));
        assert!(svg.len() < 2_000_000, "{name}.svg is {} bytes", svg.len());
    }
    let texts = svg_texts(&read(&dir, "throughput.svg"));
    assert!(texts.contains(&"virtual time (h)".to_string()));
    assert!(texts.contains(&"24".to_string()), "ticks in hours: {texts:?}");
    let rows = fs::read_to_string(dir.join("timeseries.csv")).unwrap().lines().count();
    assert_eq!(rows, n + 1, "the CSV keeps every bucket");
}
