//! `summary.md` of a run and the compact terminal summary.

use std::fmt::Write;

use crate::model::{RunReport, RunResult, Verdict};
use crate::text::{at_s, count, decimal, md_cell, md_code_block, md_code_span, ms, verdict_str};

/// Invariants the checker runs on every run; a scenario may list more under
/// the knob `invariants` (comma-separated), e.g. `per_key_order`.
pub(crate) const ALWAYS_CHECKED: [&str; 2] = ["no_loss", "no_duplicates"];

/// One row of the invariants table.
pub(crate) struct InvariantRow {
    /// Invariant name.
    pub name: String,
    /// Violations recorded under it.
    pub violations: usize,
    /// What the counts say about it, if anything.
    pub evidence: String,
}

/// The invariants a run checked, with their outcome: those always checked,
/// those the scenario's `invariants` knob names, any other that was
/// violated, and the budgets as one row.
pub(crate) fn invariant_rows(report: &RunReport) -> Vec<InvariantRow> {
    let r = &report.result;
    let mut names: Vec<String> = ALWAYS_CHECKED.iter().map(|s| s.to_string()).collect();
    let listed = report
        .knobs
        .iter()
        .filter(|(k, _)| k == "invariants")
        .flat_map(|(_, v)| v.split(',').map(str::trim).filter(|s| !s.is_empty()));
    for name in listed.map(str::to_string) {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    if r.transactions.is_some() {
        for name in ["aborted_read", "intermediate_read", "hanging_transaction"] {
            if !names.iter().any(|n| n == name) {
                names.push(name.to_string());
            }
        }
    }
    let is_budget = |n: &str| n.starts_with("budget");
    for v in &r.violations {
        if !is_budget(&v.invariant) && !names.contains(&v.invariant) {
            names.push(v.invariant.clone());
        }
    }
    let mut rows: Vec<InvariantRow> = names
        .into_iter()
        .map(|name| {
            let violations = r.violations.iter().filter(|v| v.invariant == name).count();
            let evidence = match name.as_str() {
                "no_loss" => format!(
                    "{} of {} acknowledged events lost",
                    count(r.events_lost),
                    count(r.events_acked)
                ),
                "no_duplicates" => format!("{} events duplicated", count(r.events_duplicated)),
                "lake.no_loss" => r.lake.as_ref().map_or(String::new(), |l| {
                    format!(
                        "{} of {} committed records in no committed lake file",
                        count(l.events_missing),
                        count(l.events_missing + l.events_archived)
                    )
                }),
                "lake.exactly_once" => r.lake.as_ref().map_or(String::new(), |l| {
                    format!(
                        "{} records in more than one of {} committed files",
                        count(l.events_duplicated),
                        count(l.files)
                    )
                }),
                "serving.stale_read" => r.serving.as_ref().map_or(String::new(), |v| {
                    format!(
                        "{} of {} reads older than {} ms (oldest served {} ms)",
                        count(v.stale_reads),
                        count(v.reads),
                        v.staleness_bound_ms,
                        decimal(v.max_staleness_ms, 3)
                    )
                }),
                "serving.no_loss" => r.serving.as_ref().map_or(String::new(), |v| {
                    format!(
                        "{} of {} reads unanswered",
                        count(v.failed_reads),
                        count(v.reads + v.failed_reads)
                    )
                }),
                "poll_skip" | "nonmonotonic_poll" | "inconsistent_offsets" | "unseen" => {
                    let per: Vec<String> = r
                        .subscriptions
                        .iter()
                        .map(|(s, v)| format!("{s} {}", count(v.checks.get(&name).copied().unwrap_or(0))))
                        .collect();
                    per.join(", ")
                }
                "aborted_read" => r.transactions.as_ref().map_or(String::new(), |t| {
                    format!(
                        "{} of {} transactional records read were aborted",
                        count(t.aborted_reads),
                        count(t.records_read)
                    )
                }),
                "intermediate_read" => r.transactions.as_ref().map_or(String::new(), |t| {
                    format!(
                        "{} of {} transactional records read before their commit",
                        count(t.intermediate_reads),
                        count(t.records_read)
                    )
                }),
                "hanging_transaction" => r.transactions.as_ref().map_or(String::new(), |t| {
                    format!(
                        "{} partition(s) held by a transaction past transaction.max.timeout.ms, {} late batch(es) refused",
                        t.hanging_partitions.len(),
                        count(t.unverified_batches)
                    )
                }),
                _ => String::new(),
            };
            InvariantRow {
                name,
                violations,
                evidence,
            }
        })
        .collect();
    if !r.budgets.is_empty() || r.violations.iter().any(|v| is_budget(&v.invariant)) {
        let exceeded = r.budgets.iter().filter(|b| !b.ok).count();
        let budget_violations = r.violations.iter().filter(|v| is_budget(&v.invariant)).count();
        rows.push(InvariantRow {
            name: "budgets".to_string(),
            violations: exceeded.max(budget_violations),
            evidence: format!("{} of {} budgets exceeded", exceeded, r.budgets.len()),
        });
    }
    rows
}

/// Whether the outcome is the one the scenario expected.
pub(crate) fn as_expected(r: &RunResult) -> bool {
    r.verdict == r.expect
}

/// The one-line verdict, e.g. `violation (expected pass): UNEXPECTED`.
pub(crate) fn verdict_line(r: &RunResult) -> String {
    let tail = match (as_expected(r), r.verdict) {
        (true, Verdict::Pass) => "as expected",
        (true, Verdict::Violation) => "as expected: the checker caught this unsafe setting",
        (false, Verdict::Violation) => "UNEXPECTED: an invariant broke",
        (false, Verdict::Pass) => "UNEXPECTED: the checker missed a known-unsafe setting",
    };
    format!(
        "{} (expected {}): {tail}",
        verdict_str(r.verdict),
        verdict_str(r.expect)
    )
}

fn mark(ok: bool) -> &'static str {
    if ok {
        "✅ pass"
    } else {
        "❌ fail"
    }
}

/// The markdown summary of one run.
pub(crate) fn run_summary_markdown(report: &RunReport) -> String {
    let r = &report.result;
    let mut s = String::new();
    let icon = if as_expected(r) { "✅" } else { "❌" };
    let _ = writeln!(s, "# {} — seed {}\n", md_cell(&r.scenario), r.seed);
    let _ = writeln!(s, "**Verdict:** {icon} {}\n", md_cell(&verdict_line(r)));

    s.push_str("| run | |\n| --- | --- |\n");
    let rows = [
        ("scenario", md_cell(&r.scenario)),
        ("scenario file", md_code_span(&r.scenario_path)),
        ("seed", r.seed.to_string()),
        ("trace hash", md_code_span(&r.trace_hash)),
        ("virtual time", format!("{} s", decimal(r.virtual_s, 3))),
        ("wall time", format!("{} s", decimal(r.wall_s, 3))),
    ];
    for (k, v) in rows {
        let _ = writeln!(s, "| {k} | {v} |");
    }
    s.push_str("\n## Replay\n\n");
    s.push_str(&md_code_block("sh", &r.replay));

    s.push_str("\n## Invariants\n\n| invariant | result | violations | evidence |\n| --- | --- | ---: | --- |\n");
    for row in invariant_rows(report) {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |",
            md_cell(&row.name),
            mark(row.violations == 0),
            row.violations,
            md_cell(&row.evidence)
        );
    }
    if !r.violations.is_empty() {
        s.push_str("\n### Violations\n\n| invariant | at (virtual) | witness |\n| --- | ---: | --- |\n");
        for v in &r.violations {
            let _ = writeln!(
                s,
                "| {} | {} | {} |",
                md_cell(&v.invariant),
                at_s(v.at_ms),
                md_cell(&v.detail)
            );
        }
    }

    s.push_str("\n## Budgets\n\n");
    if r.budgets.is_empty() {
        s.push_str("The scenario sets no budgets.\n");
    } else {
        s.push_str("| budget | limit | measured | result |\n| --- | ---: | ---: | --- |\n");
        for b in &r.budgets {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} |",
                md_cell(&b.name),
                decimal(b.limit, 3),
                decimal(b.measured, 3),
                mark(b.ok)
            );
        }
    }

    let p = &r.ack_latency_ms;
    s.push_str("\n## Acknowledgement latency\n\n| p50 | p99 | p99.9 | max |\n| ---: | ---: | ---: | ---: |\n");
    let _ = writeln!(s, "| {} | {} | {} | {} |", ms(p.p50), ms(p.p99), ms(p.p999), ms(p.max));

    if let Some(e) = &r.read.e2e_latency_ms {
        s.push_str(
            "\n## End-to-end latency (client to sink commit)\n\n| p50 | p99 | p99.9 | max |\n| ---: | ---: | ---: | ---: |\n",
        );
        let _ = writeln!(s, "| {} | {} | {} | {} |", ms(e.p50), ms(e.p99), ms(e.p999), ms(e.max));
    }

    s.push_str("\n## Events\n\n| events | count |\n| --- | ---: |\n");
    for (k, v) in counts(r) {
        let _ = writeln!(s, "| {k} | {} |", count(v));
    }
    for (k, v) in read_counts(r) {
        let _ = writeln!(s, "| {k} | {v} |");
    }

    if let Some(a) = &r.autoscale {
        s.push_str(&a.markdown());
    }

    s.push_str("\n## Faults\n\n");
    if report.faults.is_empty() {
        s.push_str("No faults were injected.\n");
    } else {
        s.push_str("| fault | start | end |\n| --- | ---: | ---: |\n");
        for f in &report.faults {
            let end = f.end_ms.map(at_s).unwrap_or_else(|| "not healed".into());
            let _ = writeln!(s, "| {} | {} | {end} |", md_cell(&f.label), at_s(f.start_ms));
        }
    }

    s.push_str("\n## Topology and knobs\n\n| knob | value |\n| --- | --- |\n");
    let _ = writeln!(s, "| brokers | {} |", report.brokers);
    let _ = writeln!(s, "| partitions | {} |", report.partitions);
    let _ = writeln!(s, "| bucket width | {} ms |", report.bucket_ms);
    for (k, v) in &report.knobs {
        let _ = writeln!(s, "| {} | {} |", md_cell(k), md_cell(v));
    }

    s.push_str("\n## Plots\n\n");
    let read = report.e2e_latency_us.is_some();
    for name in crate::run_plots(report) {
        let title = crate::plots::run_plot_title(name, read);
        let _ = writeln!(s, "### {title}\n\n![{title}]({name}.png)\n\n[SVG]({name}.svg)\n");
    }
    s.push_str("## Files\n\n");
    for (f, what) in files(report) {
        let _ = writeln!(s, "- [{f}]({f}): {what}");
    }
    s
}

/// Data files of a run report, with what each holds.
pub(crate) const FILES: [(&str, &str); 4] = [
    ("result.json", "the machine-readable result (the `--json` object)"),
    ("timeseries.csv", "one row per time bucket"),
    (
        "ack_latency.hlog",
        "acknowledgement latency per bucket, HdrHistogram interval log (µs)",
    ),
    ("report.html", "this summary with the plots, in one file"),
];

/// The read path's data file, listed after `ack_latency.hlog` when present.
const E2E_FILE: (&str, &str) = (
    "e2e_latency.hlog",
    "end-to-end latency (client to sink commit) per bucket, HdrHistogram interval log (µs)",
);

/// The data files of `report`: [`FILES`], and the read path's when it has one.
pub(crate) fn files(report: &RunReport) -> Vec<(&'static str, &'static str)> {
    let mut out = FILES.to_vec();
    if report.e2e_latency_us.is_some() {
        out.insert(3, E2E_FILE);
    }
    out
}

/// The event counts of a run, labelled.
pub(crate) fn counts(r: &RunResult) -> [(&'static str, u64); 8] {
    [
        ("sent", r.events_sent),
        ("acknowledged", r.events_acked),
        ("lost (acknowledged, missing after drain)", r.events_lost),
        ("duplicated", r.events_duplicated),
        ("uncertain (never acknowledged)", r.events_uncertain),
        ("retry copies", r.retry_copies),
        ("dead-lettered", r.events_dead_lettered),
        ("backpressure rejections", r.backpressure_rejections),
    ]
}

/// The read path's figures, labelled and formatted (empty for a write-path-only run).
pub(crate) fn read_counts(r: &RunResult) -> Vec<(&'static str, String)> {
    let x = &r.read;
    let mut out = Vec::new();
    if let Some(n) = x.events_in_sink {
        out.push(("in the sink", count(n)));
    }
    if let Some(n) = x.events_late {
        out.push(("late (side output)", count(n)));
    }
    if let Some(n) = x.max_consumer_lag {
        out.push(("largest consumer lag (records)", count(n)));
    }
    if x.events_in_sink.is_some() {
        let d = x
            .drain_s
            .map_or("did not drain".to_string(), |d| format!("{} s", decimal(d, 3)));
        out.push(("read path drained after the workload", d));
    }
    out
}

fn decimal_trim(v: f64) -> String {
    let s = format!("{v:.1}");
    s.strip_suffix(".0").map(String::from).unwrap_or(s)
}

/// Offered against achieved, and in plain words whether the pipeline kept up.
fn throughput_line(t: &crate::model::ThroughputResult) -> String {
    let mut s = format!(
        "  throughput  offered {}/s ({:.1} MB/s), acknowledged {}/s ({:.1} MB/s) counting {} s after the end: {:.1}%",
        count(t.offered_per_s.round() as u64),
        t.offered_mb_per_s,
        count(t.achieved_per_s.round() as u64),
        t.achieved_mb_per_s,
        decimal_trim(t.grace_s),
        t.ratio * 100.0
    );
    if t.kept_up {
        s.push_str(", kept up\n");
    } else {
        s.push_str(", DID NOT KEEP UP\n");
    }
    if t.failed_sends + t.never_sent + t.blocked_ms > 0 {
        let _ = writeln!(
            s,
            "              producer buffers full for {:.1} s (client-seconds): {} sends failed after max_block_ms, {} never taken; peak buffer {:.1} MiB",
            t.blocked_ms as f64 / 1000.0,
            count(t.failed_sends),
            count(t.never_sent),
            t.peak_buffer_bytes as f64 / f64::from(1 << 20)
        );
    }
    if t.expired_sends > 0 {
        let _ = writeln!(
            s,
            "              {} sends failed at their delivery timeout (given up unacknowledged, never counted as lost; {} of them in the log anyway)",
            count(t.expired_sends),
            count(t.expired_in_log)
        );
    }
    s
}

/// A compact summary of a run for the terminal: verdict, counts, latency,
/// budgets, violations with their witness, and the replay command when the
/// run violated something or surprised its scenario.
pub fn render_summary_text(r: &RunResult) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{}  {} seed {}",
        verdict_str(r.verdict).to_uppercase(),
        r.scenario,
        r.seed
    );
    let _ = writeln!(s, "  verdict     {}", verdict_line(r));
    let _ = writeln!(
        s,
        "  events      sent {}  acked {}  lost {}  duplicated {}  uncertain {}",
        count(r.events_sent),
        count(r.events_acked),
        count(r.events_lost),
        count(r.events_duplicated),
        count(r.events_uncertain)
    );
    let _ = writeln!(
        s,
        "              retry copies {}  dead-lettered {}  backpressure rejections {}",
        count(r.retry_copies),
        count(r.events_dead_lettered),
        count(r.backpressure_rejections)
    );
    if r.throughput.offered_events > 0 {
        s.push_str(&throughput_line(&r.throughput));
    }
    if let Some(d) = &r.gateway_dedup {
        let _ = writeln!(
            s,
            "  gateway dedup  lookups {}  hits {}  in flight {}  released {}  expired {}  evicted {}",
            count(d.lookups),
            count(d.hits),
            count(d.in_flight),
            count(d.released),
            count(d.expired),
            count(d.evicted)
        );
    }
    if let Some(a) = &r.autoscale {
        let _ = writeln!(s, "{}", a.summary_line());
    }
    if let Some(l) = &r.rate_limited {
        let _ = writeln!(
            s,
            "  rate limited   rejected {}  delivered after retry {}  refusals {}",
            count(l.rejected),
            count(l.delivered_after_retry),
            count(l.refusals)
        );
    }
    if let Some(l) = &r.lake {
        let _ = writeln!(
            s,
            "  lake           files {}  archived {}  duplicated {}  missing {}  orphans {}  replaced {}  failed requests {}  freshness p99 {}",
            count(l.files),
            count(l.events_archived),
            count(l.events_duplicated),
            count(l.events_missing),
            count(l.orphan_files),
            count(l.objects_replaced),
            count(l.failed_requests),
            l.freshness_p99_s.map_or("n/a".to_string(), |f| format!("{} s", decimal(f, 3)))
        );
    }
    for (name, sub) in &r.subscriptions {
        let _ = writeln!(
            s,
            "  subscription   {name}: consumers {}  received {} ({} offsets)  lag peak {}  rebalances {}  commits {}  {}",
            sub.consumers,
            count(sub.records_received),
            count(sub.offsets_received),
            count(sub.lag_peak),
            sub.rebalances,
            count(sub.commits),
            sub.checks
                .iter()
                .map(|(c, n)| format!("{c} {}", count(*n)))
                .collect::<Vec<_>>()
                .join("  ")
        );
    }
    if let Some(t) = &r.transactions {
        let _ = writeln!(
            s,
            "  transactions   begun {}  committed {}  aborted {}  timed out {}  fenced {}  finished after failover {}  markers {}",
            count(t.begun),
            count(t.committed),
            count(t.aborted),
            count(t.timed_out),
            count(t.fenced),
            count(t.resumed_after_failover),
            count(t.markers)
        );
    }
    if let Some(v) = &r.serving {
        let _ = writeln!(
            s,
            "  serving        reads {}  hit ratio {}%  read p50 {} ms  p99 {} ms  stale {} (bound {} ms, oldest {} ms)  failed {}  cache timeouts {}",
            count(v.reads),
            decimal(v.hit_ratio * 100.0, 1),
            decimal(v.read_latency_ms.p50, 3),
            decimal(v.read_latency_ms.p99, 3),
            count(v.stale_reads),
            v.staleness_bound_ms,
            decimal(v.max_staleness_ms, 3),
            count(v.failed_reads),
            count(v.cache_timeouts)
        );
    }
    if let Some(c) = &r.cost {
        let storage = if c.storage_by_tier.is_empty() {
            "log storage"
        } else {
            "storage"
        };
        let _ = writeln!(
            s,
            "  cost           {}: ${:.2}/h for the brokers, ${:.0}/month of {storage} ({:.0} GB per broker), {} per million events",
            c.machine,
            c.cluster_per_hour_usd,
            c.storage_per_month_usd,
            c.storage_per_broker_gb,
            c.per_million_events_usd.map_or("n/a (nothing acknowledged)".to_string(), |v| format!("${v:.4}"))
        );
        if !c.storage_by_tier.is_empty() {
            let tiers: Vec<String> = c
                .storage_by_tier
                .iter()
                .map(|t| format!("{} {:.0} GB ${:.0}", t.tier, t.gb, t.per_month_usd))
                .collect();
            let _ = writeln!(s, "                 storage by tier a month: {}", tiers.join(", "));
        }
        if let Some(cap) = c.disk_capacity_gb.filter(|&cap| c.storage_per_broker_gb > cap) {
            let _ = writeln!(
                s,
                "                 retention at this rate needs {:.0} GB per broker, more than the machine's {cap:.0} GB",
                c.storage_per_broker_gb
            );
        }
    }
    if let Some(pc) = &r.page_cache {
        let _ = writeln!(
            s,
            "  page cache     {} writes blocked at the dirty limit, {:.1} s waiting in all, peak {:.0} MiB dirty: the disks did not keep up",
            count(pc.throttled_writes),
            pc.throttled_ms / 1000.0,
            pc.peak_dirty_mib
        );
    }
    let p = &r.ack_latency_ms;
    let _ = writeln!(
        s,
        "  ack latency p50 {}  p99 {}  p99.9 {}  max {}",
        ms(p.p50),
        ms(p.p99),
        ms(p.p999),
        ms(p.max)
    );
    if let Some(e) = &r.read.e2e_latency_ms {
        let _ = writeln!(
            s,
            "  end to end  p50 {}  p99 {}  p99.9 {}  max {}",
            ms(e.p50),
            ms(e.p99),
            ms(e.p999),
            ms(e.max)
        );
        let read: Vec<String> = read_counts(r).into_iter().map(|(k, v)| format!("{k} {v}")).collect();
        let _ = writeln!(s, "  read path   {}", read.join("  "));
    }
    for b in &r.budgets {
        let _ = writeln!(
            s,
            "  budget      {}: measured {}, limit {}: {}",
            b.name,
            decimal(b.measured, 3),
            decimal(b.limit, 3),
            if b.ok { "ok" } else { "EXCEEDED" }
        );
    }
    if !r.violations.is_empty() {
        let _ = writeln!(s, "  violations  {}", r.violations.len());
        for v in &r.violations {
            let _ = writeln!(s, "    {} at {}", v.invariant, at_s(v.at_ms));
            for line in v.detail.lines() {
                let _ = writeln!(s, "      {line}");
            }
        }
    }
    let _ = writeln!(
        s,
        "  run         {} virtual s in {} s wall, trace {}",
        decimal(r.virtual_s, 3),
        decimal(r.wall_s, 3),
        r.trace_hash
    );
    if r.verdict == Verdict::Violation || !as_expected(r) {
        let _ = writeln!(s, "  replay      {}", r.replay);
    }
    s
}
