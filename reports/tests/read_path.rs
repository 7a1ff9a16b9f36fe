//! The read path's part of a run report (end-to-end latency, consumer lag,
//! sink throughput, `e2e_latency.hlog`), checked against the synthetic run
//! it was written from, and its absence from write-path-only runs.

use crate::common;

use std::fs;
use std::path::Path;

use common::{assert_png_plot, assert_well_formed, decode_hlog, svg_texts};
use hdrhistogram::Histogram;
use streamsim_reports::{
    latency_histogram, run_plots, write_run_report, CompactHistogram, FaultWindow, Percentiles, PLOT_SIZE, READ_PLOTS,
    RUN_PLOTS,
};

/// Files every run report has besides its plots.
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

/// Pixels of a PNG in the light red of a shaded fault window.
fn band_pixels(png: &[u8]) -> usize {
    let mut reader = png::Decoder::new(png).read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    buf[..info.buffer_size()]
        .chunks(3)
        .filter(|px| px[0] >= 240 && (195..=235).contains(&px[1]) && px[1].abs_diff(px[2]) <= 6)
        .count()
}

fn has_text(dir: &Path, plot: &str, text: &str) -> bool {
    svg_texts(&read(dir, &format!("{plot}.svg"))).iter().any(|t| t == text)
}

#[test]
fn the_plot_list_depends_on_the_read_path() {
    assert_eq!(run_plots(&common::synthetic_report()), RUN_PLOTS.to_vec());
    let read = run_plots(&common::read_path_report());
    assert_eq!(
        read,
        [
            "ack_latency",
            "e2e_latency",
            "throughput",
            "partition_load",
            "replication_lag",
            "consumer_lag",
            "latency_distribution",
            "broker_utilisation",
        ]
    );
    for p in RUN_PLOTS.iter().chain(&READ_PLOTS) {
        assert!(read.contains(p), "{p} missing from the read-path list");
    }
}

#[test]
fn read_path_run_writes_its_plots_and_log() {
    let report = common::read_path_report();
    let dir = common::out_dir("read-files");
    let files = write_run_report(&report, &dir).unwrap();
    let mut expected: Vec<String> = DATA_FILES.iter().map(|s| s.to_string()).collect();
    expected.push("e2e_latency.hlog".into());
    for p in run_plots(&report) {
        expected.push(format!("{p}.svg"));
        expected.push(format!("{p}.png"));
    }
    for name in &expected {
        assert!(files.files.contains(&dir.join(name)), "{name} not listed");
    }
    assert_eq!(files.files.len(), expected.len());

    for name in READ_PLOTS {
        let png = fs::read(dir.join(format!("{name}.png"))).unwrap();
        assert_png_plot(name, &png, PLOT_SIZE);
        // A chart with lines, bands and text, not a "no data" note.
        assert!(png.len() > 20_000, "{name}.png is only {} bytes", png.len());
        // The 15 s crash of a 60 s run, shaded over the chart's height.
        let band = band_pixels(&png);
        assert!(band > 40_000, "{name}.png: fault window not shaded ({band} px)");
        let svg = read(&dir, &format!("{name}.svg"));
        assert_well_formed(name, &svg);
        assert!(svg.len() > 10_000, "{name}.svg is only {} bytes", svg.len());
    }
}

#[test]
fn read_path_plots_have_titled_axes_legends_and_fault_labels() {
    let dir = common::out_dir("read-plots");
    write_run_report(&common::read_path_report(), &dir).unwrap();
    let budget = format!("p99 budget {} ms", common::E2E_P99_BUDGET_MS);
    let expect: [(&str, &[&str]); 4] = [
        (
            "e2e_latency",
            &[
                "End-to-end latency over time (client to sink commit)",
                "virtual time (s)",
                "end-to-end latency (ms, log scale)",
                "p50",
                "p99",
                "p99.9",
                &budget,
                common::FAULT_LABEL,
            ],
        ),
        (
            "consumer_lag",
            &[
                "virtual time (s)",
                "consumer lag (records)",
                "p0",
                "p5",
                common::FAULT_LABEL,
            ],
        ),
        (
            "throughput",
            &["events per second", "appended to the log", "committed to sink"],
        ),
        (
            "latency_distribution",
            &[
                "latency (ms, log scale)",
                "ack p99 budget 30 ms",
                "e2e p99 budget 2000 ms",
            ],
        ),
    ];
    for (plot, texts) in expect {
        for t in texts {
            assert!(has_text(&dir, plot, t), "{plot}.svg lacks {t:?}");
        }
    }
    let dist = svg_texts(&read(&dir, "latency_distribution.svg"));
    for prefix in ["ack, whole run, ", "ack, during faults, ", "end to end, whole run, "] {
        assert!(
            dist.iter().any(|t| t.starts_with(prefix)),
            "latency_distribution.svg lacks a {prefix:?} curve: {dist:?}"
        );
    }
    assert!(!has_text(&dir, "e2e_latency", "no events reached the sink"));
}

#[test]
fn e2e_hlog_decodes_to_the_run_histogram() {
    let report = common::read_path_report();
    let dir = common::out_dir("read-hlog");
    write_run_report(&report, &dir).unwrap();
    let bytes = fs::read(dir.join("e2e_latency.hlog")).unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.contains("client generation to sink commit"));
    assert!(text.contains("\"StartTimestamp\",\"Interval_Length\""));

    let log = decode_hlog(&bytes);
    assert_eq!(log.base_time, Some(std::time::Duration::ZERO));
    let starts: Vec<u64> = log.intervals.iter().map(|i| i.0).collect();
    let bucket_starts: Vec<u64> = report.buckets.iter().map(|b| b.start_ms).collect();
    assert_eq!(starts, bucket_starts);
    let mut merged: Histogram<u64> = latency_histogram();
    for (i, (_, length_ms, h)) in log.intervals.iter().enumerate() {
        assert_eq!(*length_ms, report.bucket_ms);
        assert_eq!(
            Percentiles::from_micros(h),
            report.buckets[i].e2e_latency_ms,
            "bucket {i}"
        );
        merged.add(h).unwrap();
    }
    let whole = report.e2e_latency_us.as_ref().unwrap();
    assert!(whole.len() > 10_000);
    assert_eq!(merged.len(), whole.len());
    assert_eq!(merged.value_at_quantile(0.99), whole.value_at_quantile(0.99));
    assert_eq!(merged.max(), whole.max());
    // The ack log is still the ack latency, not the end-to-end one.
    let ack = decode_hlog(&fs::read(dir.join("ack_latency.hlog")).unwrap());
    let ack_total: u64 = ack.intervals.iter().map(|i| i.2.len()).sum();
    assert_eq!(ack_total, report.ack_latency_us.len());
}

#[test]
fn summary_and_html_list_the_read_path_plots_and_log() {
    let report = common::read_path_report();
    let dir = common::out_dir("read-summary");
    write_run_report(&report, &dir).unwrap();
    let md = read(&dir, "summary.md");
    let html = read(&dir, "report.html");
    for p in run_plots(&report) {
        assert!(md.contains(&format!("]({p}.png)")), "summary.md lacks {p}");
        assert!(html.contains(&format!("<figure id=\"{p}\">")), "report.html lacks {p}");
    }
    assert!(md.contains("### End-to-end latency over time (client to sink commit)"));
    assert!(md.contains("- [e2e_latency.hlog](e2e_latency.hlog): "));
    assert!(html.contains("<a href=\"e2e_latency.hlog\">e2e_latency.hlog</a>"));
    assert_eq!(html.matches("<svg").count(), run_plots(&report).len());
}

#[test]
fn write_path_run_has_no_read_path_output() {
    let dir = common::out_dir("read-absent");
    let files = write_run_report(&common::synthetic_report(), &dir).unwrap();
    assert_eq!(files.files.len(), DATA_FILES.len() + 2 * RUN_PLOTS.len());
    for name in READ_PLOTS {
        assert!(!dir.join(format!("{name}.svg")).exists(), "{name}.svg written");
        assert!(!dir.join(format!("{name}.png")).exists(), "{name}.png written");
    }
    assert!(!dir.join("e2e_latency.hlog").exists());
    let md = read(&dir, "summary.md");
    assert!(!md.contains("e2e_latency") && !md.contains("consumer_lag"));
    assert!(!has_text(&dir, "throughput", "committed to sink"));
    assert!(has_text(&dir, "latency_distribution", "ack latency (ms, log scale)"));
    let dist = svg_texts(&read(&dir, "latency_distribution.svg"));
    assert!(dist.iter().any(|t| t.starts_with("whole run, ")), "{dist:?}");
    assert!(!dist.iter().any(|t| t.starts_with("end to end")));
}

#[test]
fn many_partitions_get_a_summary_legend() {
    let dir = common::out_dir("read-many");
    write_run_report(&common::with_read_path(common::large_report()), &dir).unwrap();
    assert!(has_text(&dir, "consumer_lag", "each of 24 partitions"));
    assert!(has_text(&dir, "consumer_lag", "max over partitions"));
    assert!(
        !has_text(&dir, "consumer_lag", "p13"),
        "no per-partition legend past 12"
    );
}

#[test]
fn read_path_without_sunk_events_says_so() {
    let mut report = common::read_path_report();
    for b in &mut report.buckets {
        b.sunk = 0;
        b.e2e_latency_ms = Percentiles::default();
        b.consumer_lag.iter_mut().for_each(|l| *l = 0);
    }
    report.e2e_intervals = report
        .buckets
        .iter()
        .map(|_| CompactHistogram::new(&latency_histogram()))
        .collect();
    report.e2e_latency_us = Some(latency_histogram());
    let dir = common::out_dir("read-empty");
    write_run_report(&report, &dir).unwrap();
    assert!(has_text(&dir, "e2e_latency", "no events reached the sink"));
    let dist = svg_texts(&read(&dir, "latency_distribution.svg"));
    assert!(
        dist.iter().any(|t| t.starts_with("end to end, whole run, 0 events")),
        "{dist:?}"
    );
    let log = decode_hlog(&fs::read(dir.join("e2e_latency.hlog")).unwrap());
    assert_eq!(log.intervals.len(), report.buckets.len());
    assert!(log.intervals.iter().all(|i| i.2.is_empty()));
}

#[test]
fn a_virtual_day_with_a_read_path_is_plotted_from_merged_buckets() {
    let mut report = common::read_path_report();
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
    let small = |us: u64| {
        let mut h = Histogram::<u64>::new(2).unwrap();
        h.record(us).unwrap();
        CompactHistogram::new(&h)
    };
    report.ack_intervals = (0..n).map(|i| small(2_000 + (i as u64 % 50) * 100)).collect();
    report.e2e_intervals = (0..n).map(|i| small(80_000 + (i as u64 % 50) * 1_000)).collect();
    report.faults = vec![FaultWindow {
        label: common::FAULT_LABEL.into(),
        start_ms: 6 * 3600 * 1000,
        end_ms: Some(7 * 3600 * 1000),
    }];
    let dir = common::out_dir("read-day");
    write_run_report(&report, &dir).unwrap();
    for name in run_plots(&report) {
        let svg = read(&dir, &format!("{name}.svg"));
        assert!(svg.len() < 2_000_000, "{name}.svg is {} bytes", svg.len());
    }
    assert!(has_text(&dir, "e2e_latency", "virtual time (h)"));
    assert!(has_text(&dir, "consumer_lag", "virtual time (h)"));
    let log = decode_hlog(&fs::read(dir.join("e2e_latency.hlog")).unwrap());
    assert_eq!(log.intervals.len(), n, "the log keeps every bucket");
}
