//! A synthetic run and sweep with known contents, shared by the tests and
//! the sample-report example.
#![allow(dead_code)]

use std::path::PathBuf;

use streamsim_reports::{
    latency_histogram, Bucket, BudgetCheck, FaultWindow, Percentiles, RunReport, RunResult, SweepEntry, Utilisation,
    Verdict, Violation,
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
                    }
                } else {
                    Utilisation {
                        cpu: 0.35 + jitter,
                        disk: 0.4 + jitter,
                        nic: 0.3 + jitter,
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
    };
    RunReport {
        result,
        bucket_ms: 1000,
        buckets,
        ack_intervals: intervals,
        ack_latency_us: whole,
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
