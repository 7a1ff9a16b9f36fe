//! The files of a run report, checked against the synthetic run they
//! were written from.

mod common;

use std::fs;
use std::path::Path;

use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::Histogram;
use quick_xml::events::Event;
use quick_xml::Reader;
use streamsim_reports::{write_run_report, FaultWindow, RunResult, PLOT_SIZE, RUN_PLOTS};

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

/// Width and height from a PNG's signature and IHDR chunk.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&bytes[12..16], b"IHDR", "first chunk is IHDR");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&bytes[16..20]), be(&bytes[20..24]))
}

/// The text of every `<text>` element of an SVG, unescaped and trimmed.
fn svg_texts(svg: &str) -> Vec<String> {
    let mut reader = Reader::from_str(svg);
    let (mut out, mut inside) = (Vec::new(), false);
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) if e.name().as_ref() == b"text" => inside = true,
            Event::End(e) if e.name().as_ref() == b"text" => inside = false,
            Event::Text(t) if inside => out.push(t.unescape().unwrap().trim().to_string()),
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

/// Fails unless `text` parses as XML from start to end.
fn assert_well_formed(name: &str, text: &str) {
    let mut reader = Reader::from_str(text);
    let mut depth = 0i64;
    loop {
        match reader.read_event() {
            Ok(Event::Start(_)) => depth += 1,
            Ok(Event::End(_)) => depth -= 1,
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("{name} is not well-formed XML: {e}"),
        }
    }
    assert_eq!(depth, 0, "{name}: unbalanced elements");
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
    let columns = 7 + 2 * common::PARTITIONS + 3 * common::BROKERS;
    assert_eq!(header.len(), columns);
    assert_eq!(
        &header[..7],
        [
            "start_s",
            "sent",
            "acked",
            "appended",
            "ack_p50_ms",
            "ack_p99_ms",
            "ack_p999_ms"
        ]
    );
    assert_eq!(header[7], "p0_appends");
    assert_eq!(header[7 + common::PARTITIONS], "p0_hw_lag");
    assert_eq!(header[columns - 3..], ["b2_cpu", "b2_disk", "b2_nic"]);

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
fn hlog_decodes_to_the_source_histograms() {
    let report = common::synthetic_report();
    let dir = common::out_dir("run-hlog");
    write_run_report(&report, &dir).unwrap();
    let bytes = fs::read(dir.join("ack_latency.hlog")).unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.contains("\"StartTimestamp\",\"Interval_Length\""));

    let mut deserializer = Deserializer::new();
    let mut merged: Histogram<u64> = streamsim_reports::latency_histogram();
    let mut starts = Vec::new();
    let mut base_time = None;
    for entry in IntervalLogIterator::new(&bytes) {
        match entry.unwrap() {
            LogEntry::BaseTime(t) => base_time = Some(t),
            LogEntry::StartTime(_) => {}
            LogEntry::Interval(h) => {
                starts.push(h.start_timestamp().as_millis() as u64);
                assert_eq!(h.duration().as_millis(), 1000);
                let raw = base64_decode(h.encoded_histogram());
                let decoded: Histogram<u64> = deserializer.deserialize(&mut raw.as_slice()).unwrap();
                merged.add(&decoded).unwrap();
            }
        }
    }
    assert_eq!(base_time, Some(std::time::Duration::ZERO));
    let bucket_starts: Vec<u64> = report.buckets.iter().map(|b| b.start_ms).collect();
    assert_eq!(starts, bucket_starts);
    assert_eq!(merged.len(), report.ack_latency_us.len());
    assert_eq!(
        merged.value_at_quantile(0.99),
        report.ack_latency_us.value_at_quantile(0.99)
    );
    assert_eq!(merged.max(), report.ack_latency_us.max());
}

/// Standard base64, enough for the test (the crate's own dependency
/// encodes; decoding independently checks the encoding).
fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("bad base64 byte {c}"),
    };
    let clean: Vec<u8> = s.bytes().filter(|&c| c != b'=').collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &c)| acc | (u32::from(val(c)) << (18 - 6 * i)));
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    out
}

#[test]
fn plots_are_pngs_of_the_intended_size_and_svgs_with_titles_and_faults() {
    let dir = common::out_dir("run-plots");
    write_run_report(&common::synthetic_report(), &dir).unwrap();
    for name in RUN_PLOTS {
        let png = fs::read(dir.join(format!("{name}.png"))).unwrap();
        assert_eq!(png_size(&png), (PLOT_SIZE.width, PLOT_SIZE.height), "{name}.png");
        let decoder = png::Decoder::new(png.as_slice());
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        // Not a blank canvas: more than background and one colour.
        let distinct: std::collections::BTreeSet<&[u8]> = buf[..info.buffer_size()].chunks(3).take(400_000).collect();
        assert!(distinct.len() > 20, "{name}.png looks blank");

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
            h
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
