//! A synthetic run and sweep with known contents, shared by the tests and
//! the sample-report example.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::Histogram;
use quick_xml::events::Event;
use quick_xml::Reader;

use std::collections::{BTreeSet, VecDeque};

use streamsim_reports::{
    latency_histogram, Bucket, BudgetCheck, CompactHistogram, FaultWindow, Percentiles, ReadResult, RunReport,
    RunResult, SweepEntry, Utilisation, Verdict, Violation,
};

pub const BUCKETS: usize = 60;
pub const PARTITIONS: usize = 6;
pub const BROKERS: usize = 3;
pub const FAULT_LABEL: &str = "crash broker-1";
/// A witness with every character that breaks naive XML, HTML or markdown.
pub const NASTY_DETAIL: &str =
    "event 0x2a (key \"user|7\") acked by <broker-1> at 26.1 s & missing after drain\nretried `twice` *still* lost";

/// A small deterministic generator, so the data is the same on every run.
pub struct Lcg(u64);

impl Lcg {
    pub fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

fn in_fault(second: usize) -> bool {
    (20..35).contains(&second)
}

/// 60 one-second buckets, 6 partitions (partition 0 hot), 3 brokers, and
/// broker-1 crashed from 20 s to 35 s: latency and lag rise, broker-1 idles.
pub fn synthetic_report() -> RunReport {
    let mut rng = Lcg(42);
    let mut whole = latency_histogram();
    let mut intervals = Vec::new();
    let mut buckets = Vec::new();
    let mut lag = [0u64; PARTITIONS];
    for s in 0..BUCKETS {
        let fault = in_fault(s);
        let acked = if fault { 400 } else { 1000 + 50 * (s as u64 % 7) };
        let mut h = latency_histogram();
        for _ in 0..acked {
            // A body plus a 2% tail (retries after a timeout).
            let (body, tail) = if fault { (8_000, 150_000) } else { (2_000, 15_000) };
            let mut us = body + rng.next() % (4 * body);
            if rng.next() % 100 < 2 {
                us += tail / 2 + rng.next() % tail;
            }
            h.record(us).unwrap();
        }
        whole.add(&h).unwrap();
        let appended = acked + 5;
        // Partition 0 takes three shares, the others one each.
        let share = appended / (PARTITIONS as u64 + 2);
        let mut partition_appends = vec![share; PARTITIONS];
        partition_appends[0] = appended - share * (PARTITIONS as u64 - 1);
        for (p, l) in lag.iter_mut().enumerate() {
            // broker-1 leads partitions 1 and 4 and follows for the rest.
            *l = if fault && (p == 1 || p == 4) {
                *l + 300 + rng.next() % 50
            } else if fault {
                20 + rng.next() % 30
            } else {
                *l / 4 + rng.next() % 8
            };
        }
        let brokers = (0..BROKERS)
            .map(|b| {
                let jitter = (rng.next() % 100) as f64 / 1000.0;
                if fault && b == 1 {
                    Utilisation::default()
                } else if fault {
                    Utilisation {
                        cpu: 0.55 + jitter,
                        disk: 0.7 + jitter,
                        nic: 0.5 + jitter,
                        dirty: 0.2 + jitter,
                    }
                } else {
                    Utilisation {
                        cpu: 0.35 + jitter,
                        disk: 0.4 + jitter,
                        nic: 0.3 + jitter,
                        dirty: 0.1 + jitter,
                    }
                }
            })
            .collect();
        buckets.push(Bucket {
            start_ms: s as u64 * 1000,
            sent: acked + 10,
            acked,
            appended,
            ack_latency_ms: Percentiles::from_micros(&h),
            partition_appends,
            partition_hw_lag: lag.to_vec(),
            brokers,
            ..Default::default()
        });
        intervals.push(h);
    }
    let whole_p = Percentiles::from_micros(&whole);
    let acked: u64 = buckets.iter().map(|b| b.acked).sum();
    let result = RunResult {
        scenario: "acks1-broker-crash".into(),
        scenario_path: "scenarios/acks1-broker-crash.toml".into(),
        seed: 42,
        verdict: Verdict::Violation,
        expect: Verdict::Pass,
        violations: vec![
            Violation {
                invariant: "no_loss".into(),
                detail: NASTY_DETAIL.into(),
                at_ms: 27_345,
            },
            Violation {
                invariant: "budget.ack_p99".into(),
                detail: "whole-run ack p99 above its 30 ms budget".into(),
                at_ms: 60_000,
            },
        ],
        trace_hash: "9f3a1c0de0ad4b2e".into(),
        events_sent: acked + 600,
        events_acked: acked,
        events_lost: 3,
        events_duplicated: 0,
        events_uncertain: 12,
        retry_copies: 4,
        log_records_summarised: 0,
        log_records_deleted_by_retention: 0,
        log_offsets_caught_up_from_summaries: 0,
        log_records_held_peak: 0,
        events_dead_lettered: 2,
        backpressure_rejections: 0,
        ack_latency_ms: whole_p,
        budgets: vec![
            BudgetCheck {
                name: "ack_latency.p99_ms".into(),
                limit: 30.0,
                measured: whole_p.p99,
                ok: whole_p.p99 <= 30.0,
            },
            BudgetCheck {
                name: "ack_latency.p999_ms".into(),
                limit: 250.0,
                measured: whole_p.p999,
                ok: whole_p.p999 <= 250.0,
            },
        ],
        virtual_s: 62.5,
        wall_s: 0.84,
        replay: "streamsim run scenarios/acks1-broker-crash.toml --seed 42".into(),
        read: Default::default(),
        gateway_dedup: None,
        page_cache: None,
        throughput: Default::default(),
        cost: None,
        lake: None,
        autoscale: None,
        rate_limited: None,
        serving: None,
        gateway_utilisation: Vec::new(),
        client_utilisation: None,
        subscriptions: Default::default(),
        transactions: None,
    };
    RunReport {
        result,
        bucket_ms: 1000,
        buckets,
        ack_intervals: intervals.iter().map(CompactHistogram::new).collect(),
        ack_latency_us: whole,
        e2e_intervals: Vec::new(),
        e2e_latency_us: None,
        faults: vec![FaultWindow {
            label: FAULT_LABEL.into(),
            start_ms: 20_000,
            end_ms: Some(35_000),
        }],
        knobs: vec![
            ("acks".into(), "1".into()),
            ("replication factor".into(), "3".into()),
            ("min.insync.replicas".into(), "1".into()),
            ("unclean.leader.election".into(), "false".into()),
            ("invariants".into(), "no_loss, no_duplicates, per_key_order".into()),
        ],
        brokers: BROKERS,
        partitions: PARTITIONS,
    }
}

/// A bigger variant for looking at: 24 partitions, 9 brokers, an
/// overlapping second fault and one that never heals.
pub fn large_report() -> RunReport {
    let mut r = synthetic_report();
    let mut rng = Lcg(9);
    for b in &mut r.buckets {
        let total: u64 = b.partition_appends.iter().sum();
        b.partition_appends = (0..24)
            .map(|p| total / 24 + if p == 5 { total / 8 } else { 0 })
            .collect();
        b.partition_hw_lag = (0..24)
            .map(|p| b.partition_hw_lag[p % PARTITIONS] + rng.next() % 40)
            .collect();
        b.brokers = (0..9).map(|i| b.brokers[i % BROKERS]).collect();
    }
    r.partitions = 24;
    r.brokers = 9;
    r.faults.push(FaultWindow {
        label: "isolate broker-2 <-> controller".into(),
        start_ms: 30_000,
        end_ms: Some(42_000),
    });
    r.faults.push(FaultWindow {
        label: "slow disk broker-7".into(),
        start_ms: 52_000,
        end_ms: None,
    });
    r
}

/// How much faster than its mean append rate the processor can consume a
/// partition: enough that only a stall builds a backlog, little enough
/// that the backlog takes a while to drain.
pub const CONSUME_HEADROOM: f64 = 1.5;
/// Budget on end-to-end p99 in the read-path fixture, ms.
pub const E2E_P99_BUDGET_MS: f64 = 2_000.0;

/// `report` with a read path added: a stream processor consumes every
/// partition at up to [`CONSUME_HEADROOM`] times its mean append rate, except that it
/// cannot fetch the partitions broker-1 leads (`p % 6` is 1 or 4) while
/// broker-1 is down (20 s to 35 s; partition 4 moves to a new leader at
/// 28 s); their backlog drains afterwards. An event's end-to-end latency is
/// the processing delay and sink commit interval, a rare slow commit, and
/// the time it waited in the backlog.
pub fn with_read_path(mut report: RunReport) -> RunReport {
    let mut rng = Lcg(1234);
    let n = report.buckets.len();
    let partitions = report.partitions;
    // Per partition, a FIFO of (bucket appended in, records still unconsumed).
    let mut backlog: Vec<VecDeque<(usize, u64)>> = vec![VecDeque::new(); partitions];
    let mut whole = latency_histogram();
    let mut intervals = Vec::with_capacity(n);
    let mut max_lag = 0u64;
    let mut drained_at = None;
    let capacity: Vec<u64> = (0..partitions)
        .map(|p| {
            let total: u64 = report.buckets.iter().filter_map(|b| b.partition_appends.get(p)).sum();
            (CONSUME_HEADROOM * total as f64 / n.max(1) as f64) as u64
        })
        .collect();
    for s in 0..n {
        let mut h = latency_histogram();
        let mut sunk = 0u64;
        let mut lag = Vec::with_capacity(partitions);
        let appends = report.buckets[s].partition_appends.clone();
        for (p, queue) in backlog.iter_mut().enumerate() {
            queue.push_back((s, appends.get(p).copied().unwrap_or(0)));
            let stalled = match p % PARTITIONS {
                1 => in_fault(s),
                4 => in_fault(s) && s < 28,
                _ => false,
            };
            let mut budget = if stalled { 0 } else { capacity[p] };
            while budget > 0 {
                let Some((from, left)) = queue.front_mut() else { break };
                let take = (*left).min(budget);
                for _ in 0..take {
                    // Processing and the sink's commit interval, then the wait.
                    let mut us = 40_000 + rng.next() % 80_000 + (s - *from) as u64 * 1_000_000;
                    if rng.next() % 500 == 0 {
                        us += 300_000 + rng.next() % 300_000;
                    }
                    h.record(us).unwrap();
                }
                sunk += take;
                budget -= take;
                *left -= take;
                if *left == 0 {
                    queue.pop_front();
                }
            }
            // Offsets are committed a little behind what was processed.
            let behind: u64 = queue.iter().map(|(_, left)| left).sum();
            lag.push(behind + rng.next() % 20);
        }
        max_lag = max_lag.max(lag.iter().copied().max().unwrap_or(0));
        if s > 35 && drained_at.is_none() && backlog.iter().all(VecDeque::is_empty) {
            drained_at = Some(s);
        }
        whole.add(&h).unwrap();
        let b = &mut report.buckets[s];
        b.sunk = sunk;
        b.e2e_latency_ms = Percentiles::from_micros(&h);
        b.consumer_lag = lag;
        intervals.push(h);
    }
    let e2e = Percentiles::from_micros(&whole);
    let r = &mut report.result;
    r.read = ReadResult {
        events_in_sink: Some(whole.len()),
        e2e_latency_ms: Some(e2e),
        max_consumer_lag: Some(max_lag),
        // The workload is the whole series; once the backlog is gone the
        // last bucket's records reach the sink within a commit interval.
        drain_s: drained_at.map(|_| 0.12),
        events_late: Some(0),
        consumer_fetches: None,
    };
    r.budgets.push(BudgetCheck {
        name: "e2e_p99_ms".into(),
        limit: E2E_P99_BUDGET_MS,
        measured: e2e.p99,
        ok: e2e.p99 <= E2E_P99_BUDGET_MS,
    });
    report.e2e_intervals = intervals.iter().map(CompactHistogram::new).collect();
    report.e2e_latency_us = Some(whole);
    report
}

/// [`synthetic_report`] with a read path ([`with_read_path`]).
pub fn read_path_report() -> RunReport {
    with_read_path(synthetic_report())
}

/// One sweep entry.
pub fn entry(scenario: &str, seed: u64, verdict: Verdict, expect: Verdict, p99: f64) -> SweepEntry {
    let violations = if verdict == Verdict::Violation {
        vec![Violation {
            invariant: "no_loss".into(),
            detail: NASTY_DETAIL.into(),
            at_ms: 10_000 + seed,
        }]
    } else {
        Vec::new()
    };
    SweepEntry {
        result: RunResult {
            scenario: scenario.into(),
            scenario_path: format!("scenarios/{scenario}.toml"),
            seed,
            verdict,
            expect,
            violations,
            trace_hash: format!("{seed:016x}"),
            events_sent: 1000,
            events_acked: 990,
            events_lost: if verdict == Verdict::Violation { 1 } else { 0 },
            events_duplicated: 0,
            events_uncertain: 10,
            retry_copies: 0,
            log_records_summarised: 0,
            log_records_deleted_by_retention: 0,
            log_offsets_caught_up_from_summaries: 0,
            log_records_held_peak: 0,
            events_dead_lettered: 0,
            backpressure_rejections: 0,
            ack_latency_ms: Percentiles {
                p50: p99 / 4.0,
                p99,
                p999: p99 * 2.0,
                max: p99 * 3.0,
            },
            budgets: Vec::new(),
            virtual_s: 30.0,
            wall_s: 0.1,
            replay: format!("streamsim run scenarios/{scenario}.toml --seed {seed}"),
            read: Default::default(),
            gateway_dedup: None,
            page_cache: None,
            throughput: Default::default(),
            cost: None,
            lake: None,
            autoscale: None,
            rate_limited: None,
            serving: None,
            gateway_utilisation: Vec::new(),
            client_utilisation: None,
            subscriptions: Default::default(),
            transactions: None,
        },
        report_dir: Some(PathBuf::from(format!("out/runs/{scenario}-{seed}"))),
    }
}

/// Three scenarios of eight seeds each: a safe one that always passes, a
/// negative control that is caught on some seeds and missed on the rest,
/// and a safe one that breaks on two seeds.
pub fn sweep_entries() -> Vec<SweepEntry> {
    use Verdict::{Pass, Violation as V};
    let mut out = Vec::new();
    let mut rng = Lcg(7);
    for seed in 1..=8u64 {
        let jitter = (rng.next() % 1000) as f64 / 100.0;
        out.push(entry("baseline", seed, Pass, Pass, 4.0 + jitter));
        let caught = seed % 3 != 0;
        out.push(entry(
            "acks1-crash",
            seed,
            if caught { V } else { Pass },
            V,
            20.0 + 5.0 * jitter,
        ));
        let broke = seed == 3 || seed == 6;
        out.push(entry(
            "isolate-leader",
            seed,
            if broke { V } else { Pass },
            Pass,
            60.0 + 30.0 * jitter,
        ));
    }
    out
}

/// Where a test writes, fresh for each test name.
pub fn out_dir(name: &str) -> PathBuf {
    let base = option_env!("CARGO_TARGET_TMPDIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let dir = base.join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Width and height from a PNG's signature and IHDR chunk.
pub fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&bytes[12..16], b"IHDR", "first chunk is IHDR");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&bytes[16..20]), be(&bytes[20..24]))
}

/// The text of every `<text>` element of an SVG, unescaped and trimmed.
pub fn svg_texts(svg: &str) -> Vec<String> {
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
pub fn assert_well_formed(name: &str, text: &str) {
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

/// Fails unless `bytes` is a PNG of `size` that decodes and is not a blank
/// canvas (more than background and one colour).
pub fn assert_png_plot(name: &str, bytes: &[u8], size: streamsim_reports::PlotSize) {
    assert_eq!(png_size(bytes), (size.width, size.height), "{name}.png size");
    let decoder = png::Decoder::new(bytes);
    let mut reader = decoder.read_info().unwrap_or_else(|e| panic!("{name}.png: {e}"));
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader
        .next_frame(&mut buf)
        .unwrap_or_else(|e| panic!("{name}.png: {e}"));
    let distinct: BTreeSet<&[u8]> = buf[..info.buffer_size()].chunks(3).take(400_000).collect();
    assert!(distinct.len() > 20, "{name}.png looks blank");
}

/// An HdrHistogram interval log, decoded.
pub struct Hlog {
    /// The `#[BaseTime: ...]` header, if any.
    pub base_time: Option<Duration>,
    /// Each interval: start (ms), length (ms), histogram.
    pub intervals: Vec<(u64, u64, Histogram<u64>)>,
}

/// Decodes an interval log with the reference crate's reader.
pub fn decode_hlog(bytes: &[u8]) -> Hlog {
    let mut deserializer = Deserializer::new();
    let mut out = Hlog {
        base_time: None,
        intervals: Vec::new(),
    };
    for entry in IntervalLogIterator::new(bytes) {
        match entry.unwrap() {
            LogEntry::BaseTime(t) => out.base_time = Some(t),
            LogEntry::StartTime(_) => {}
            LogEntry::Interval(h) => {
                let raw = base64_decode(h.encoded_histogram());
                let decoded: Histogram<u64> = deserializer.deserialize(&mut raw.as_slice()).unwrap();
                out.intervals.push((
                    h.start_timestamp().as_millis() as u64,
                    h.duration().as_millis() as u64,
                    decoded,
                ));
            }
        }
    }
    out
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
