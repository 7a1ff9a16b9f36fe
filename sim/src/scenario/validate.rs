//! Settings that cannot work are refused before a run starts, with the
//! field that is wrong and why, rather than discovered as a strange result.

use super::model::*;
use super::CLOCK_RESOLUTION_MS;
use crate::config::*;
use std::path::Path;

use super::problem::{cpu_cost, fail, positive, Problem, Refusals};

fn probability(field: &str, v: f64) -> Result<(), Problem> {
    if !(0.0..1.0).contains(&v) {
        return fail(field, format!("must be a probability in [0, 1), got {v}"));
    }
    Ok(())
}

/// Check a parsed scenario; `base` resolves files it names.
///
/// Every section is checked, so the answer lists all the problems found,
/// each with its field.
pub fn validate(s: &Scenario, base: &Path) -> Vec<Problem> {
    let mut out = Refusals::default();
    if s.name.trim().is_empty() {
        out.fail("name", "must not be empty");
    }
    out.check(positive("duration_s", s.duration_s));
    out.check(positive("drain_timeout_s", s.drain_timeout_s));
    topology(&s.topology, &mut out);
    // Faults name nodes of the topology: judged only against a valid one.
    let topology_ok = !out.0.iter().any(|(f, _)| f.starts_with("topology."));
    log(&s.log, &s.topology, &mut out);
    producer(&s.producer, &mut out);
    client(&s.client, &s.gateway, &mut out);
    super::client::validate(&s.client, &mut out);
    out.check(super::gateway::validate(&s.gateway));
    network(&s.network, &mut out);
    resources(&s.resources, &mut out);
    // The workload is built only from a spec that passed its own checks.
    match s.workload.validate() {
        Err(e) => out.fail(format!("workload.{}", e.field), e.message.clone()),
        Ok(()) => out.check(
            streamsim_workloads::Workload::new(&s.workload, base)
                .map(|_| ())
                .map_err(|e| (format!("workload.{}", e.field), e.message.clone())),
        ),
    }
    if topology_ok {
        super::fault_checks::faults(s, &mut out);
    }
    if !s.expect_invariant.is_empty() && s.expect != Expect::Violation {
        out.fail(
            "expect_invariant",
            "only a negative control (expect = \"violation\") names the invariant it must violate",
        );
    }
    if s.expect_invariant.iter().any(|i| i.trim().is_empty()) {
        out.fail("expect_invariant", "must name an invariant, e.g. \"no_loss\"");
    }
    super::pipeline::validate(s, &mut out);
    out.check(super::lake::validate(s));
    out.check(super::autoscale::validate(s));
    super::hot_keys::validate(s, &mut out);
    out.check(super::serving::validate(s));
    super::subscription::validate(s, &mut out);
    super::transactions::validate(s, &mut out);
    super::transaction_state::validate(s, &mut out);
    super::exactly_once_txn::validate(s, &mut out);
    report(s, &mut out);
    throughput_check(s, &mut out);
    budgets(&s.budgets, &mut out);
    out.0
}

fn throughput_check(s: &Scenario, out: &mut Refusals) {
    let i = &s.invariants;
    if !(i.throughput_min_ratio > 0.0 && i.throughput_min_ratio <= 1.0) {
        out.fail(
            "invariants.throughput_min_ratio",
            format!(
                "{} is not a share of the offered events: must be above 0 and at most 1",
                i.throughput_min_ratio
            ),
        );
    }
    if i.throughput_grace_s.is_some_and(|g| !(g >= 0.0 && g.is_finite())) {
        out.fail("invariants.throughput_grace_s", "must be 0 or more seconds");
    }
    let mean = s.workload.size.mean_bytes();
    if (s.client.buffer_memory_bytes as f64) < mean {
        out.fail(
            "client.buffer_memory_bytes",
            format!(
                "{} bytes cannot hold one event of the workload's mean size ({mean:.0} bytes): no send could ever complete",
                s.client.buffer_memory_bytes
            ),
        );
    }
}

fn topology(t: &Topology, out: &mut Refusals) {
    for (field, v) in [
        ("topology.brokers", t.brokers),
        ("topology.partitions", t.partitions),
        ("topology.replication_factor", t.replication_factor),
        ("topology.gateways", t.gateways),
        ("topology.clients", t.clients),
    ] {
        if v == 0 {
            out.fail(field, "must be at least 1");
        }
    }
    if t.replication_factor > t.brokers {
        out.fail(
            "topology.replication_factor",
            format!(
                "replication factor {} is above the number of brokers {}: replicas of a partition must sit on distinct brokers",
                t.replication_factor, t.brokers
            ),
        );
    }
    if t.partitions > 10_000 {
        out.fail("topology.partitions", "more than 10000 partitions is not supported");
    }
}

fn log(l: &LogConfig, t: &Topology, out: &mut Refusals) {
    if l.min_insync_replicas == 0 {
        out.fail("log.min_insync_replicas", "must be at least 1");
    }
    if l.min_insync_replicas > t.replication_factor {
        out.fail(
            "log.min_insync_replicas",
            format!(
                "min.insync.replicas {} is above the replication factor {}: every acks=all produce would fail with NOT_ENOUGH_REPLICAS",
                l.min_insync_replicas, t.replication_factor
            ),
        );
    }
    for (field, v) in [
        ("log.replica_lag_time_max_ms", l.replica_lag_time_max_ms),
        ("log.replica_fetch_wait_max_ms", l.replica_fetch_wait_max_ms),
        ("log.replica_fetch_max_bytes", l.replica_fetch_max_bytes),
        ("log.broker_heartbeat_interval_ms", l.broker_heartbeat_interval_ms),
        ("log.hw_checkpoint_interval_ms", l.hw_checkpoint_interval_ms),
        ("log.request_timeout_ms", l.request_timeout_ms),
        ("log.retention_ms", l.retention_ms),
        ("log.segment_bytes", l.segment_bytes),
        ("log.retention_bytes", l.retention_bytes.unwrap_or(1)),
    ] {
        if v == 0 {
            out.fail(field, "must be positive");
        }
    }
    if l.broker_session_timeout_ms <= l.broker_heartbeat_interval_ms {
        out.fail(
            "log.broker_session_timeout_ms",
            format!(
                "session timeout {} ms must exceed the heartbeat interval {} ms, or live brokers get fenced",
                l.broker_session_timeout_ms, l.broker_heartbeat_interval_ms
            ),
        );
    }
    if l.eligible_leader_replicas && l.truncation == Truncation::HighWatermark {
        out.fail(
            "log.eligible_leader_replicas",
            "eligible leader replicas (KIP-966) need leader-epoch truncation (KIP-101): under truncation = \"high_watermark\" \
             a replica cuts its log to its own, possibly stale, high watermark whenever it becomes a follower, so an ELR member \
             no longer holds every record up to the partition's high watermark and electing it would lose them",
        );
    }
    if let FlushPolicy::Interval { interval_ms: 0 } = l.flush {
        out.fail(
            "log.flush.interval_ms",
            "must be positive (use policy = \"every_batch\")",
        );
    }
}

fn producer(p: &ProducerConfig, out: &mut Refusals) {
    if p.batch_max_bytes == 0 {
        out.fail("producer.batch_max_bytes", "must be positive");
    }
    if p.request_timeout_ms == 0 {
        out.fail("producer.request_timeout_ms", "must be positive");
    }
    if p.delivery_timeout_ms < p.linger_ms + p.request_timeout_ms {
        out.fail(
            "producer.delivery_timeout_ms",
            format!(
                "delivery.timeout.ms {} must be at least linger.ms + request.timeout.ms = {} (Kafka refuses this too)",
                p.delivery_timeout_ms,
                p.linger_ms + p.request_timeout_ms
            ),
        );
    }
    if p.metadata_max_age_ms == 0 {
        out.fail("producer.metadata_max_age_ms", "must be positive");
    }
}

fn client(c: &ClientConfig, g: &GatewayConfig, out: &mut Refusals) {
    if c.linger_ms == 0 {
        out.fail("client.linger_ms", "must be at least 1 (the clock resolution)");
    }
    if c.max_batch_events == 0 {
        out.fail("client.max_batch_events", "must be at least 1");
    }
    if c.max_in_flight == 0 {
        out.fail("client.max_in_flight", "must be at least 1");
    }
    if c.request_timeout_ms == 0 {
        out.fail("client.request_timeout_ms", "must be positive");
    }
    if c.retry_backoff_ms == 0 || c.retry_backoff_ms > c.retry_backoff_max_ms {
        out.fail(
            "client.retry_backoff_ms",
            format!(
                "must be positive and at most retry_backoff_max_ms ({})",
                c.retry_backoff_max_ms
            ),
        );
    }
    if g.queue_capacity_events < c.max_batch_events {
        out.fail(
            "gateway.queue_capacity_events",
            format!(
                "queue capacity {} is below one client request ({} events): every full request would be rejected forever",
                g.queue_capacity_events, c.max_batch_events
            ),
        );
    }
    if g.dead_letter_partitions == 0 {
        out.fail("gateway.dead_letter_partitions", "must be at least 1");
    }
    if g.retry_after_ms == 0 {
        out.fail("gateway.retry_after_ms", "must be positive");
    }
}

fn network(n: &NetworkConfig, out: &mut Refusals) {
    out.check(probability("network.loss", n.loss));
    out.check(probability("network.duplicate", n.duplicate));
    out.check(probability("network.reorder", n.reorder));
    if n.reorder > 0.0 && n.reorder_max_ms == 0 {
        out.fail("network.reorder_max_ms", "must be positive when reorder > 0");
    }
    if !(1..=1000).contains(&n.delivery_quantum_us) {
        out.fail(
            "network.delivery_quantum_us",
            "must be between 1 (deliver at arrival) and 1000 (the millisecond of nodes' timers)",
        );
    }
}

fn resources(r: &ResourceConfig, out: &mut Refusals) {
    if r.cores == 0 {
        out.fail("resources.cores", "must be at least 1");
    }
    out.check(positive("resources.disk_mb_per_s", r.disk_mb_per_s));
    out.check(positive("resources.nic_gbps", r.nic_gbps));
    for (field, v) in [
        ("resources.cpu_per_request_us", r.cpu_per_request_us),
        ("resources.cpu_per_kib_us", r.cpu_per_kib_us),
        ("resources.cpu_per_record_us", r.cpu_per_record_us),
        ("resources.cpu_per_batch_us", r.cpu_per_batch_us),
    ] {
        out.check(cpu_cost(field, v));
    }
    if r.page_cache_mb == 0 {
        out.fail("resources.page_cache_mb", "must be at least 1 MiB");
    }
    if !(1..=100).contains(&r.dirty_ratio) {
        out.fail("resources.dirty_ratio", "must be a percentage from 1 to 100");
    }
    // Linux quietly halves a background ratio at or above dirty_ratio; a scenario says what it means.
    if r.dirty_background_ratio == 0 || r.dirty_background_ratio >= r.dirty_ratio {
        out.fail(
            "resources.dirty_background_ratio",
            format!(
                "must be at least 1 and below dirty_ratio ({}), or background writeback would start only when writers already block",
                r.dirty_ratio
            ),
        );
    }
    if r.dirty_expire_centisecs == 0 {
        out.fail("resources.dirty_expire_centisecs", "must be positive");
    }
    if r.dirty_writeback_centisecs == 0 {
        out.fail(
            "resources.dirty_writeback_centisecs",
            "must be positive (Linux's 0, flusher wake-ups off, is not modelled)",
        );
    }
}

fn report(s: &Scenario, out: &mut Refusals) {
    let Some(b) = s.report.bucket_s else { return };
    if !(b.is_finite() && b >= 1.0 && (b * 1000.0).fract() == 0.0) {
        out.fail(
            "report.bucket_s",
            format!("must be at least 1 s (the sampling period) and a whole number of ms, got {b}"),
        );
    }
    if b > s.duration_s {
        out.fail(
            "report.bucket_s",
            format!(
                "a bucket of {b} s is coarser than the run's {} s: the time series would have a single point",
                s.duration_s
            ),
        );
    }
}

fn budgets(b: &Budgets, out: &mut Refusals) {
    for (field, v) in [
        ("budgets.ack_p50_ms", b.ack_p50_ms),
        ("budgets.ack_p99_ms", b.ack_p99_ms),
        ("budgets.ack_p999_ms", b.ack_p999_ms),
        ("budgets.e2e_p50_ms", b.e2e_p50_ms),
        ("budgets.e2e_p99_ms", b.e2e_p99_ms),
        ("budgets.e2e_p999_ms", b.e2e_p999_ms),
    ] {
        if let Some(v) = v {
            if !v.is_finite() || v < CLOCK_RESOLUTION_MS {
                out.fail(
                    field,
                    format!(
                        "budget {v} ms is below the simulation's clock resolution of {CLOCK_RESOLUTION_MS} ms and cannot be judged"
                    ),
                );
            }
        }
    }
    if let Some(v) = b.min_acked_per_s {
        out.check(positive("budgets.min_acked_per_s", v));
    }
    if let Some(v) = b.max_drain_s {
        out.check(positive("budgets.max_drain_s", v));
    }
}
