//! The end of a run: the run-wide checks that need the whole run's figures
//! (throughput), and the report assembled from the checker's counts, the
//! metrics' buckets and histograms, the samples and the fault windows.

use crate::checker;
use crate::sampler::Sample;
use crate::scenario::{Expect, LoadedScenario};
use crate::world::{Shared, TimelineEntry};
use streamsim_reports::{Bucket, RunReport, RunResult, Verdict};

/// A finished run.
pub struct RunOutcome {
    /// Everything the reports need.
    pub report: RunReport,
    /// Protocol steps and faults in virtual-time order.
    pub timeline: Vec<TimelineEntry>,
    /// Digest of the generated event stream (independent of faults).
    pub workload_hash: String,
}

/// The command that replays a run.
pub fn replay_command(path: &std::path::Path, seed: u64) -> String {
    format!("streamsim run {} --seed {seed}", path.display())
}

/// The throughput check, its violation added to the run's.
pub(super) fn throughput_check(
    sh: &Shared,
    check: &mut checker::CheckReport,
    workload_ms: u64,
) -> streamsim_reports::ThroughputResult {
    use checker::throughput;
    let (taken, producers) = {
        let m = sh.metrics.lock().expect("metrics lock");
        let taken = m
            .buckets
            .iter()
            .fold((0, 0), |(n, b), acc| (n + acc.sent, b + acc.sent_bytes));
        (taken, m.producers)
    };
    let never = throughput::never_taken(sh, workload_ms);
    let (mut result, violation) = throughput::check(sh, taken, &producers, never, workload_ms);
    result.expired_in_log = check.expired_in_log;
    if let Some(v) = violation {
        sh.trace
            .record(&[result.offered_events, result.acked_in_time, result.never_sent]);
        check.violations.push(v);
    }
    result
}

pub(super) fn assemble(
    loaded: &LoadedScenario,
    sh: &Shared,
    seed: u64,
    (check, read, throughput): (
        checker::CheckReport,
        Option<checker::ReadDrain>,
        streamsim_reports::ThroughputResult,
    ),
    (samples, lake_freshness): (Vec<Sample>, Vec<(u64, f64)>),
    faults: Vec<streamsim_reports::FaultWindow>,
    end_ms: u64,
) -> RunOutcome {
    let s = &loaded.scenario;
    let mut metrics = sh.metrics.lock().expect("metrics lock");
    let bucket_ms = metrics.bucket_ms;
    let nb = (end_ms / bucket_ms + 1) as usize;
    // The report takes the buckets' histograms over rather than copying them.
    let mut accs = std::mem::take(&mut metrics.buckets).into_iter();
    let mut buckets = Vec::with_capacity(nb);
    let mut ack_intervals = Vec::with_capacity(nb);
    let mut e2e_intervals = Vec::new();
    // A sample taken at a bucket's end belongs to it; a bucket keeps its worst second.
    let mut fresh_by_bucket: Vec<Option<f64>> = vec![None; nb];
    for &(at, f) in &lake_freshness {
        if let Some(b) = fresh_by_bucket.get_mut((at.saturating_sub(1) / bucket_ms) as usize) {
            *b = Some(b.map_or(f, |x: f64| x.max(f)));
        }
    }
    for i in 0..nb {
        let acc = accs
            .next()
            .unwrap_or_else(|| crate::world::BucketAcc::new(sh.event_partitions));
        let sample = samples.get(i).cloned().unwrap_or_default();
        buckets.push(Bucket {
            start_ms: i as u64 * bucket_ms,
            offered: acc.offered,
            sent: acc.sent,
            sent_bytes: acc.sent_bytes,
            acked: acc.acked,
            acked_bytes: acc.acked_bytes,
            appended: acc.appended,
            ack_latency_ms: acc.ack.percentiles(),
            partition_appends: acc.partition_appends,
            partition_hw_lag: if sample.hw_lag.is_empty() {
                vec![0; sh.event_partitions]
            } else {
                sample.hw_lag
            },
            brokers: if sample.brokers.is_empty() {
                vec![Default::default(); sh.layout.brokers]
            } else {
                sample.brokers
            },
            gateways: sample.gateways,
            sunk: acc.sunk,
            e2e_latency_ms: acc.e2e.percentiles(),
            consumer_lag: if read.is_none() || !sample.consumer_lag.is_empty() {
                sample.consumer_lag
            } else {
                vec![0; sh.event_partitions]
            },
            lake_freshness_s: fresh_by_bucket.get(i).copied().flatten(),
            rate_limited: acc.rate_limited,
            serving: checker::serving::bucket(sh, i),
            clients: sample.clients,
        });
        ack_intervals.push(acc.ack.into_compact());
        if read.is_some() {
            e2e_intervals.push(acc.e2e.into_compact());
        }
    }
    let ack_latency_us = metrics.ack.clone();
    let e2e_latency_us = read.map(|_| metrics.e2e.clone());
    drop(metrics);
    // Fold the outcome into the trace so equal hashes mean equal verdicts too.
    sh.trace.record(&[
        check.sent,
        check.acked,
        check.lost,
        check.duplicated,
        check.retry_copies,
        end_ms,
    ]);
    if let Some(e) = &check.e2e {
        sh.trace
            .record(&[e.missing, e.duplicated, e.aggregate_mismatches, e.late]);
    }
    if let Some(l) = &check.lake {
        sh.trace
            .record(&[l.files, l.archived, l.duplicated, l.missing, l.orphans]);
    }
    let rate_limited = rate_limited_result(sh);
    if let Some(r) = &rate_limited {
        sh.trace.record(&[r.rejected, r.delivered_after_retry, r.refusals]);
    }
    if let Some(r) = &check.serving {
        sh.trace.record(&[r.reads, r.hits, r.stale_reads, r.failed_reads]);
    }
    if let Some(t) = &check.transactions {
        let s = t.stats;
        sh.trace.record(&[
            s.begun,
            s.committed,
            s.aborted,
            s.timed_out,
            s.fenced,
            t.aborted_reads,
            t.intermediate_reads,
        ]);
    }
    let events_in_sink = read.map(|_| sh.sink.lock().expect("sink lock").events_in_sink);
    let verdict = if check.violations.is_empty() {
        Verdict::Pass
    } else {
        Verdict::Violation
    };
    let result = RunResult {
        scenario: s.name.clone(),
        scenario_path: loaded.path.display().to_string(),
        seed,
        verdict,
        expect: match s.expect {
            Expect::Pass => Verdict::Pass,
            Expect::Violation => Verdict::Violation,
        },
        violations: check.violations,
        trace_hash: sh.trace.hex(),
        events_sent: check.sent,
        events_acked: check.acked,
        events_lost: check.lost,
        events_duplicated: check.duplicated,
        events_uncertain: check.uncertain,
        retry_copies: check.retry_copies,
        events_dead_lettered: check.dead_lettered,
        log_records_summarised: check.summarised,
        log_records_deleted_by_retention: check.retention_deleted,
        log_records_held_peak: check.held_peak,
        log_offsets_caught_up_from_summaries: sh
            .disks
            .iter()
            .map(|d| {
                let d = d.lock().expect("disk lock");
                d.logs.values().map(|l| l.caught_up_from_summary()).sum::<u64>()
            })
            .sum(),
        backpressure_rejections: sh
            .metrics
            .lock()
            .expect("metrics lock")
            .producers
            .backpressure_rejections,
        ack_latency_ms: check.ack,
        budgets: check.budgets,
        virtual_s: end_ms as f64 / 1000.0,
        wall_s: 0.0,
        replay: replay_command(&loaded.path, seed),
        read: streamsim_reports::ReadResult {
            events_in_sink,
            e2e_latency_ms: check.e2e_latency,
            max_consumer_lag: read.map(|r| r.max_lag),
            drain_s: read.and_then(|r| r.drain_s),
            events_late: check.e2e.as_ref().map(|e| e.late),
            consumer_fetches: read.map(|_| sh.consumer_fetches.load(std::sync::atomic::Ordering::Relaxed)),
        },
        gateway_dedup: s
            .gateway
            .dedup
            .then(|| *sh.gateway_dedup_stats.lock().expect("dedup stats lock")),
        page_cache: page_cache_result(sh),
        throughput,
        cost: cost_result(s, check.acked, check.lake.as_ref()),
        lake: check.lake.as_ref().map(|l| streamsim_reports::LakeResult {
            files: l.files,
            events_archived: l.archived,
            events_duplicated: l.duplicated,
            events_missing: l.missing,
            orphan_files: l.orphans,
            objects_replaced: l.replaced,
            failed_requests: l.failed_requests,
            freshness_p99_s: check.lake_freshness_p99_s,
            events_aborted: l.aborted,
        }),
        autoscale: crate::autoscale::report::result(sh),
        rate_limited,
        serving: check.serving.as_ref().map(|r| r.result()),
        gateway_utilisation: (0..sh.layout.gateways)
            .map(|g| streamsim_reports::GatewayUtilisation::over(g, &buckets))
            .collect(),
        client_utilisation: Some(streamsim_reports::ClientUtilisation::over(sh.layout.clients, &buckets)),
        subscriptions: crate::subscription::report::results(&check.subscriptions),
        transactions: check
            .transactions
            .as_ref()
            .map(|t| checker::transactions::result(sh, t)),
    };
    let knobs = crate::scenario::knobs(s);
    RunOutcome {
        report: RunReport {
            result,
            bucket_ms,
            buckets,
            ack_intervals,
            ack_latency_us,
            e2e_intervals,
            e2e_latency_us,
            faults,
            knobs,
            brokers: sh.layout.brokers,
            partitions: sh.event_partitions,
        },
        timeline: sh.timeline.lock().expect("timeline lock").clone(),
        workload_hash: sh.workload_digest(),
    }
}

/// What the gateways' rate limit refused and what the clients' retries delivered, when it is on.
fn rate_limited_result(sh: &Shared) -> Option<streamsim_reports::RateLimitedResult> {
    sh.scenario.gateway.rate_limit.as_ref()?;
    let (rejected, delivered_after_retry) = sh.ledger.lock().expect("ledger lock").rate_limited_counts();
    let refusals = sh.metrics.lock().expect("metrics lock").producers.rate_limit_refusals;
    Some(streamsim_reports::RateLimitedResult {
        rejected,
        delivered_after_retry,
        refusals,
    })
}

/// The brokers' page-cache throttling, when any write blocked at the dirty limit.
fn page_cache_result(sh: &Shared) -> Option<streamsim_reports::PageCacheResult> {
    let mut out = streamsim_reports::PageCacheResult::default();
    let mut throttled_us = 0;
    let mut peak = 0;
    for d in &sh.disks {
        let stats = d.lock().expect("disk lock").page_cache.stats;
        out.throttled_writes += stats.throttled_writes;
        throttled_us += stats.throttled_us;
        peak = peak.max(stats.peak_bytes);
    }
    out.throttled_ms = throttled_us as f64 / 1000.0;
    out.peak_dirty_mib = peak as f64 / f64::from(1 << 20);
    (out.throttled_writes > 0).then_some(out)
}

/// The brokers' cost at the run's achieved rate, when the machine has a price;
/// with a cold path, the lake's tiers join the storage bill.
fn cost_result(
    s: &crate::scenario::Scenario,
    acked: u64,
    lake: Option<&checker::lake::LakeReport>,
) -> Option<streamsim_reports::CostResult> {
    let m = s.machine.as_ref()?;
    let per_hour = m.price_per_hour_usd? * s.topology.brokers as f64;
    let events_per_s = acked as f64 / s.duration_s;
    let stored_gb = crate::scenario::machine::retained_gb(
        events_per_s,
        s.workload.size.mean_bytes(),
        s.log.retention_ms as f64 / 1000.0,
        s.topology.replication_factor,
    );
    let log_per_month = stored_gb * m.storage_per_gb_month_usd;
    let mut storage_by_tier = Vec::new();
    if let Some(l) = lake {
        storage_by_tier.push(streamsim_reports::TierCost {
            tier: "broker log".into(),
            gb: stored_gb,
            per_month_usd: log_per_month,
        });
        // The lake grows by what it archived per day at this run's rate.
        let gb_per_day = l.bytes as f64 / 1e9 / s.duration_s * 86_400.0;
        for h in crate::lake::tiers::holdings(&s.lake.tiers, gb_per_day, s.lake.retention_days) {
            storage_by_tier.push(streamsim_reports::TierCost {
                tier: format!("lake {}", h.name),
                gb: h.gb,
                per_month_usd: h.per_month_usd,
            });
        }
    }
    let storage_per_month = if storage_by_tier.is_empty() {
        log_per_month
    } else {
        storage_by_tier.iter().map(|t| t.per_month_usd).sum()
    };
    let events_per_hour = events_per_s * 3600.0;
    Some(streamsim_reports::CostResult {
        machine: m.name.clone(),
        cluster_per_hour_usd: per_hour,
        storage_per_month_usd: storage_per_month,
        per_million_events_usd: (events_per_hour > 0.0).then(|| {
            (per_hour + storage_per_month / crate::scenario::machine::HOURS_PER_MONTH) / (events_per_hour / 1e6)
        }),
        storage_per_broker_gb: stored_gb / s.topology.brokers as f64,
        disk_capacity_gb: m.disk_capacity_gb,
        storage_by_tier,
    })
}
