//! The `throughput` check: did the pipeline keep up with what the workload
//! offered? Overload must be a verdict, not a silent pass: a cluster that
//! takes 60% of the offered rate still loses nothing and duplicates nothing,
//! and its latency budgets may even hold for the events it did take, because
//! the producers' bounded buffers hold the rest back (or fail it).
//!
//! Keeping up means that of the events the workload offered (taken by a
//! producer, failed on a full buffer, or never taken), at least
//! `throughput_min_ratio` were acknowledged by `throughput_grace_s` after the
//! workload's end (by default the client's request timeout, at least 5 s). The grace lets
//! what was in flight at the end settle, or time out and be retried; a
//! backlog that needs longer to drain is overload, however patiently the
//! drain would finish it.

use crate::world::{ProducerStats, Shared};
use streamsim_reports::{thousands, ThroughputResult, Violation};

/// Events and bytes the workload offered that blocked producers never took
/// (the run ended first). Drawing them changes nothing the run could see:
/// the sources are done with.
pub fn never_taken(sh: &Shared, workload_ms: u64) -> (u64, u64) {
    let mut draws = Vec::new();
    let (mut events, mut bytes) = (0, 0);
    for src in &sh.client_sources {
        let mut src = src.lock().expect("client source lock");
        let Some(src) = src.as_mut() else { continue };
        if src.drawn_to < workload_ms {
            draws.clear();
            src.stream.draw_timed(src.drawn_to, workload_ms, &mut draws);
            src.drawn_to = workload_ms;
            events += draws.len() as u64;
            bytes += draws.iter().map(|d| u64::from(d.event.size_bytes)).sum::<u64>();
            let mut m = sh.metrics.lock().expect("metrics lock");
            for d in &draws {
                m.bucket(d.t_ms).offered += 1;
            }
        }
    }
    (events, bytes)
}

/// The run's throughput figures from what producers took (events, bytes) and what they
/// were told, and, when it did not keep up and the scenario checks it, the violation.
pub fn check(
    sh: &Shared,
    taken: (u64, u64),
    producers: &ProducerStats,
    never: (u64, u64),
    workload_ms: u64,
) -> (ThroughputResult, Option<Violation>) {
    let inv = &sh.scenario.invariants;
    let grace_ms = inv.throughput_grace_ms(sh.scenario.client.request_timeout_ms);
    let offered = taken.0 + producers.failed_sends + never.0;
    let offered_bytes = taken.1 + producers.failed_bytes + never.1;
    let workload_s = workload_ms.max(1) as f64 / 1000.0;
    let (acked, acked_bytes) = producers.acked_in_time;
    let ratio = if offered == 0 {
        1.0
    } else {
        acked as f64 / offered as f64
    };
    let kept_up = ratio >= inv.throughput_min_ratio;
    let result = ThroughputResult {
        offered_events: offered,
        offered_per_s: offered as f64 / workload_s,
        offered_mb_per_s: offered_bytes as f64 / 1e6 / workload_s,
        acked_in_time: acked,
        achieved_per_s: acked as f64 / workload_s,
        achieved_mb_per_s: acked_bytes as f64 / 1e6 / workload_s,
        ratio,
        grace_s: grace_ms as f64 / 1000.0,
        write_drain_s: (producers.last_ack_us / 1000).saturating_sub(workload_ms) as f64 / 1000.0,
        kept_up,
        failed_sends: producers.failed_sends,
        never_sent: never.0,
        blocked_ms: producers.blocked_ms,
        peak_buffer_bytes: producers.peak_buffer_bytes,
        expired_sends: producers.expired_sends,
        out_of_order_refusals: producers.out_of_order_refusals,
        // Known from the log audit, which the caller has.
        expired_in_log: 0,
    };
    // Only a run whose clients gave up on events says so, so earlier details read as before.
    let expired = match producers.expired_sends {
        0 => String::new(),
        n => format!("; {} sends failed at their delivery timeout", thousands(n)),
    };
    let violation = (inv.throughput && !kept_up).then(|| Violation {
        invariant: "throughput".into(),
        detail: format!(
            "did not keep up: {} of {} offered events ({:.1}%, at least {:.0}% required) acknowledged \
             by {} s after the workload's end, {} of {} events/s; the last acknowledgement came \
             {:.1} s after the end; {} sends failed on a full producer buffer, {} were never taken{expired}",
            thousands(acked),
            thousands(offered),
            ratio * 100.0,
            inv.throughput_min_ratio * 100.0,
            result.grace_s,
            thousands(result.achieved_per_s.round() as u64),
            thousands(result.offered_per_s.round() as u64),
            result.write_drain_s,
            thousands(producers.failed_sends),
            thousands(never.0)
        ),
        at_ms: workload_ms + grace_ms,
    });
    (result, violation)
}
