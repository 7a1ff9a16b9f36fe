//! The Kafka driver file's settings mapped onto the scenario's knobs, and
//! the settings an OMB run takes when the driver says nothing.
//!
//! Each property is either honoured (it sets a knob, and an error in the
//! built scenario is placed back on its line) or listed as ignored with the
//! reason; none is dropped silently.

use std::fmt::Write as _;
use std::path::Path;

use streamsim_workloads::{OmbDriver, OmbError, OmbIgnored, OmbProperty, OmbWorkload, WorkloadSpec};

use crate::config::{Acks, FlushPolicy};
use crate::scenario::ScenarioError;

/// The knobs an OMB run sets, with where each came from.
pub(super) struct Settings {
    replication_factor: usize,
    brokers: usize,
    partitions: u64,
    clients: usize,
    consumers: usize,
    acks: Acks,
    min_insync_replicas: usize,
    unclean_leader_election: bool,
    retention_ms: Option<u64>,
    retention_bytes: Option<u64>,
    segment_bytes: Option<u64>,
    flush: Option<FlushPolicy>,
    linger_ms: Option<u64>,
    batch_max_bytes: Option<u64>,
    idempotence: Option<bool>,
    max_in_flight: Option<usize>,
    request_timeout_ms: Option<u64>,
    /// The OMB producer's `delivery.timeout.ms`, `buffer.memory` and `max.block.ms`.
    producer_limits: ProducerLimits,
    commit_interval_ms: u64,
    fetch_max_bytes: Option<u64>,
    fetch_max_wait_ms: u64,
    pub(super) session_timeout_ms: u64,
    /// Scenario field → the driver property that set it.
    origin: Vec<(&'static str, OmbProperty)>,
}

/// The OMB producer's own bounds, honoured by the simulated client (unset: the client's defaults,
/// which are Kafka's).
#[derive(Default)]
struct ProducerLimits {
    delivery_timeout_ms: Option<u64>,
    buffer_memory_bytes: Option<u64>,
    max_block_ms: Option<u64>,
}

/// Kafka's `auto.commit.interval.ms` default, for `enable.auto.commit=true`.
const KAFKA_AUTO_COMMIT_MS: u64 = 5_000;

/// Kafka's `fetch.max.wait.ms` default: how long a broker holds a consumer
/// fetch that has nothing to return.
const KAFKA_FETCH_MAX_WAIT_MS: u64 = 500;

/// OMB's consumer commits after each poll when auto-commit is off; the model
/// checkpoints on an interval, this short.
const POLL_COMMIT_MS: u64 = 100;

impl Settings {
    /// What a run takes when the driver file says nothing: the project's
    /// defaults, with the OMB workload's shape.
    pub(super) fn defaults(w: &OmbWorkload, consumers: usize) -> Settings {
        Settings {
            replication_factor: 3,
            brokers: 3,
            partitions: w.total_partitions(),
            clients: w.total_producers() as usize,
            consumers,
            acks: Acks::All,
            min_insync_replicas: 2,
            unclean_leader_election: false,
            retention_ms: None,
            retention_bytes: None,
            segment_bytes: None,
            flush: None,
            linger_ms: None,
            batch_max_bytes: None,
            idempotence: None,
            // The project's 1, not Kafka's 5: with more in flight the model's
            // client can reorder a key's messages, which Kafka's idempotent
            // producer does not (docs/OMB.md).
            max_in_flight: None,
            request_timeout_ms: None,
            producer_limits: ProducerLimits::default(),
            commit_interval_ms: POLL_COMMIT_MS,
            fetch_max_bytes: None,
            fetch_max_wait_ms: KAFKA_FETCH_MAX_WAIT_MS,
            session_timeout_ms: 10_000,
            origin: Vec::new(),
        }
    }

    /// The scenario text for these settings.
    pub(super) fn write(&self, out: &mut String, w: &OmbWorkload, rate: f64) {
        let _ = writeln!(
            out,
            "[topology]\nbrokers = {}\npartitions = {}\nreplication_factor = {}\nclients = {}\nbalancer = \"consistent_hash\"",
            self.brokers, self.partitions, self.replication_factor, self.clients
        );
        let acks = match self.acks {
            Acks::Zero => "0",
            Acks::One => "1",
            Acks::All => "all",
        };
        let _ = writeln!(
            out,
            "[log]\nacks = \"{acks}\"\nmin_insync_replicas = {}\nunclean_leader_election = {}",
            self.min_insync_replicas, self.unclean_leader_election
        );
        if let Some(v) = self.retention_ms {
            let _ = writeln!(out, "retention_ms = {v}");
        }
        if let Some(v) = self.retention_bytes {
            let _ = writeln!(out, "retention_bytes = {v}");
        }
        if let Some(v) = self.segment_bytes {
            let _ = writeln!(out, "segment_bytes = {v}");
        }
        match self.flush {
            Some(FlushPolicy::EveryBatch) => {
                let _ = writeln!(out, "flush = \"every_batch\"");
            }
            Some(FlushPolicy::Interval { interval_ms }) => {
                let _ = writeln!(out, "flush = {{ policy = \"interval\", interval_ms = {interval_ms} }}");
            }
            _ => {}
        }
        // The OMB producer batches at the client; the gateway passes its
        // batches on without lingering a second time.
        let _ = writeln!(out, "[producer]\nlinger_ms = 0");
        if let Some(v) = self.batch_max_bytes {
            let _ = writeln!(out, "batch_max_bytes = {v}");
        }
        if let Some(v) = self.idempotence {
            let _ = writeln!(out, "idempotence = {v}");
        }
        if let Some(v) = self.request_timeout_ms {
            let _ = writeln!(out, "request_timeout_ms = {v}");
        }
        let _ = writeln!(out, "[client]");
        if let Some(v) = self.max_in_flight {
            let _ = writeln!(out, "max_in_flight = {v}");
        }
        if let Some(v) = self.linger_ms {
            let _ = writeln!(out, "linger_ms = {v}");
        }
        if let Some(bytes) = self.batch_max_bytes {
            // The client is the OMB producer, whose batches per partition hold batch.size bytes.
            let events = (bytes / u64::from(w.message_size).max(1)).max(1);
            let _ = writeln!(out, "max_batch_events = {events}");
        }
        let l = &self.producer_limits;
        for (field, v) in [
            ("delivery_timeout_ms", l.delivery_timeout_ms),
            ("buffer_memory_bytes", l.buffer_memory_bytes),
            ("max_block_ms", l.max_block_ms),
        ] {
            if let Some(v) = v {
                let _ = writeln!(out, "{field} = {v}");
            }
        }
        if self.consumers > 0 {
            // A consumer group that only reads: at-least-once, nothing
            // de-duplicated, a sink that costs nothing, no start-up delay.
            let _ = writeln!(
                out,
                "[processor]\ninstances = {}\ndelivery = \"at_least_once\"\ndedup = false\ncommit_interval_ms = {}\n\
                 initial_rebalance_delay_ms = 0\nfetch_max_wait_ms = {}\nsession_timeout_ms = {}",
                self.consumers, self.commit_interval_ms, self.fetch_max_wait_ms, self.session_timeout_ms
            );
            if let Some(v) = self.fetch_max_bytes {
                let _ = writeln!(out, "fetch_max_bytes = {v}");
            }
            let _ = writeln!(out, "[sink]\ncommit_us = 0\nper_row_us = 0.0");
        }
        #[derive(serde::Serialize)]
        struct Doc<'a> {
            workload: &'a WorkloadSpec,
        }
        let mut spec = w.spec.clone();
        spec.rate = streamsim_workloads::RateSpec::Constant { events_per_s: rate };
        out.push_str(&toml::to_string(&Doc { workload: &spec }).expect("a workload spec serialises"));
    }

    /// The subscriptions after the first (which the processor group stands
    /// for), each a `[[subscription]]` with the first one's consumers and
    /// consumer settings; returns their names.
    pub(super) fn write_subscriptions(&self, out: &mut String, extra: u32) -> Vec<String> {
        let mut names = Vec::new();
        for i in 1..=extra {
            let name = format!("sub-{i:03}");
            let _ = writeln!(
                out,
                "[[subscription]]\nname = \"{name}\"\nconsumers = {}\nauto_commit_interval_ms = {}\n\
                 initial_rebalance_delay_ms = 0\nfetch_max_wait_ms = {}\nsession_timeout_ms = {}",
                self.consumers, self.commit_interval_ms, self.fetch_max_wait_ms, self.session_timeout_ms
            );
            if let Some(v) = self.fetch_max_bytes {
                let _ = writeln!(out, "fetch_max_bytes = {v}");
            }
            names.push(name);
        }
        names
    }

    /// Places an error of the built scenario back on the OMB file's line.
    pub(super) fn place(&self, driver: &Option<OmbDriver>, path: &Path, e: ScenarioError) -> OmbError {
        // The first problem is placed; a built scenario that is refused has one cause in the OMB files.
        let (field, message) = (e.field().to_string(), e.message().to_string());
        if let (Some(d), Some((_, p))) = (driver, self.origin.iter().rev().find(|(f, _)| *f == field)) {
            return d.error_at(p, message);
        }
        let workload_field = match field.as_str() {
            "topology.partitions" => Some("partitionsPerTopic"),
            "topology.clients" => Some("producersPerTopic"),
            "processor.instances" => Some("consumerPerSubscription"),
            f if f.starts_with("workload.size") => Some("messageSize"),
            f if f.starts_with("workload.rate") => Some("producerRate"),
            _ => None,
        };
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let at = workload_field.and_then(|f| {
            text.lines()
                .position(|l| l.strip_prefix(f).is_some_and(|r| r.trim_start().starts_with(':')))
                .map(|i| (f, i + 1))
        });
        OmbError {
            file: path.to_path_buf(),
            line: at.map(|(_, l)| l),
            column: at.map(|_| 1),
            field: at.map(|(f, _)| f.to_string()).unwrap_or_default(),
            message: format!("the scenario built from this workload is refused: field `{field}`: {message}"),
        }
    }
}

fn number<T: std::str::FromStr>(d: &OmbDriver, p: &OmbProperty) -> Result<T, OmbError> {
    p.value
        .parse::<T>()
        .map_err(|_| d.error_at(p, format!("must be a whole number, got `{}`", p.value)))
}

fn boolean(d: &OmbDriver, p: &OmbProperty) -> Result<bool, OmbError> {
    match p.value.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(d.error_at(p, format!("must be true or false, got `{}`", p.value))),
    }
}

/// Applies the driver's properties, listing those it does not model.
pub(super) fn apply(d: &OmbDriver, s: &mut Settings, ignored: &mut Vec<OmbIgnored>) -> Result<(), OmbError> {
    ignored.extend(d.ignored.iter().cloned());
    if !d.is_kafka() {
        ignored.push(OmbIgnored::new(
            "driverClass",
            format!(
                "`{}` is not OMB's Kafka driver; the simulated log is Kafka, and only Kafka's config names are read",
                d.driver_class.as_deref().unwrap_or_default()
            ),
        ));
    }
    if let Some(rf) = d.replication_factor {
        s.replication_factor = rf as usize;
        s.brokers = s.brokers.max(rf as usize);
    }
    // commonConfig applies to producers and consumers alike, then each
    // section's own lines override it, as the Kafka driver loads them.
    for p in &d.properties {
        match (p.section.as_str(), p.key.as_str()) {
            ("topicConfig", "min.insync.replicas") => {
                s.origin.push(("log.min_insync_replicas", p.clone()));
                s.min_insync_replicas = number(d, p)?;
            }
            ("topicConfig", "unclean.leader.election.enable") => {
                s.origin.push(("log.unclean_leader_election", p.clone()));
                s.unclean_leader_election = boolean(d, p)?;
            }
            ("topicConfig", "retention.ms") => {
                s.origin.push(("log.retention_ms", p.clone()));
                // Kafka's -1 keeps records for ever: the model's default week outlasts any run.
                let v: i64 = number(d, p)?;
                s.retention_ms = u64::try_from(v).ok();
            }
            ("topicConfig", "retention.bytes") => {
                s.origin.push(("log.retention_bytes", p.clone()));
                let v: i64 = number(d, p)?;
                s.retention_bytes = u64::try_from(v).ok();
            }
            ("topicConfig", "segment.bytes") => {
                s.origin.push(("log.segment_bytes", p.clone()));
                s.segment_bytes = Some(number(d, p)?);
            }
            ("topicConfig", "flush.messages") => {
                s.origin.push(("log.flush", p.clone()));
                let v: u64 = number(d, p)?;
                if v == 1 {
                    s.flush = Some(FlushPolicy::EveryBatch);
                } else {
                    ignored.push(OmbIgnored::new(
                        p.field(),
                        "only 1 (fsync every batch) is modelled; other counts keep the OS writeback",
                    ));
                }
            }
            ("topicConfig", "flush.ms") => {
                s.origin.push(("log.flush", p.clone()));
                let v: u64 = number(d, p)?;
                if v == 0 {
                    s.flush = Some(FlushPolicy::EveryBatch);
                } else if s.flush != Some(FlushPolicy::EveryBatch) {
                    s.flush = Some(FlushPolicy::Interval { interval_ms: v });
                }
            }
            ("producerConfig", "acks") => {
                s.origin.push(("log.acks", p.clone()));
                s.acks = match p.value.as_str() {
                    "0" => Acks::Zero,
                    "1" => Acks::One,
                    "all" | "-1" => Acks::All,
                    other => return Err(d.error_at(p, format!("must be 0, 1, all or -1, got `{other}`"))),
                };
            }
            ("producerConfig", "linger.ms") => {
                s.origin.push(("client.linger_ms", p.clone()));
                s.linger_ms = Some(number(d, p)?);
            }
            ("producerConfig", "batch.size") => {
                s.origin.push(("producer.batch_max_bytes", p.clone()));
                s.origin.push(("client.max_batch_events", p.clone()));
                s.batch_max_bytes = Some(number(d, p)?);
            }
            ("producerConfig", "enable.idempotence") => {
                s.origin.push(("producer.idempotence", p.clone()));
                s.idempotence = Some(boolean(d, p)?);
            }
            ("producerConfig", "max.in.flight.requests.per.connection") => {
                s.origin.push(("client.max_in_flight", p.clone()));
                s.max_in_flight = Some(number(d, p)?);
            }
            ("producerConfig" | "commonConfig", "request.timeout.ms") => {
                s.origin.push(("producer.request_timeout_ms", p.clone()));
                s.request_timeout_ms = Some(number(d, p)?);
            }
            ("producerConfig", "delivery.timeout.ms") => {
                s.origin.push(("client.delivery_timeout_ms", p.clone()));
                s.producer_limits.delivery_timeout_ms = Some(number(d, p)?);
            }
            ("producerConfig", "buffer.memory") => {
                s.origin.push(("client.buffer_memory_bytes", p.clone()));
                s.producer_limits.buffer_memory_bytes = Some(number(d, p)?);
            }
            ("producerConfig", "max.block.ms") => {
                s.origin.push(("client.max_block_ms", p.clone()));
                s.producer_limits.max_block_ms = Some(number(d, p)?);
            }
            ("producerConfig", "retries") => {
                let v: i64 = number(d, p)?;
                if v < i64::from(i32::MAX) {
                    ignored.push(OmbIgnored::new(
                        p.field(),
                        "the model's producer retries until delivery.timeout.ms, as Kafka does with its default \
                         retries (2147483647); a smaller count is not modelled",
                    ));
                }
            }
            ("consumerConfig", "auto.offset.reset") => match p.value.as_str() {
                "earliest" | "latest" => ignored.push(OmbIgnored::new(
                    p.field(),
                    "no effect here: the simulated consumers join before the first message, as OMB waits for them",
                )),
                other => return Err(d.error_at(p, format!("must be earliest or latest, got `{other}`"))),
            },
            ("consumerConfig", "enable.auto.commit") => {
                s.origin.push(("processor.commit_interval_ms", p.clone()));
                s.commit_interval_ms = if boolean(d, p)? {
                    KAFKA_AUTO_COMMIT_MS
                } else {
                    POLL_COMMIT_MS
                };
            }
            ("consumerConfig", "max.partition.fetch.bytes") => {
                s.origin.push(("processor.fetch_max_bytes", p.clone()));
                s.fetch_max_bytes = Some(number(d, p)?);
            }
            ("consumerConfig", "isolation.level") => match p.value.as_str() {
                "read_committed" | "read_uncommitted" => ignored.push(OmbIgnored::new(
                    p.field(),
                    "OMB's producers are not transactional, so both levels read the same records",
                )),
                other => {
                    return Err(d.error_at(
                        p,
                        format!("must be read_committed or read_uncommitted, got `{other}`"),
                    ))
                }
            },
            ("consumerConfig", "max.poll.records") => ignored.push(OmbIgnored::new(
                p.field(),
                "the simulated consumer fetches by bytes per partition (max.partition.fetch.bytes), not by record count",
            )),
            ("consumerConfig", "fetch.max.wait.ms") => {
                s.origin.push(("processor.fetch_max_wait_ms", p.clone()));
                s.fetch_max_wait_ms = number(d, p)?;
            }
            (_, "bootstrap.servers" | "client.id" | "default.api.timeout.ms") => ignored.push(OmbIgnored::new(
                p.field(),
                "deployment setting: the simulated cluster needs no address",
            )),
            _ => ignored.push(OmbIgnored::new(p.field(), "not modelled")),
        }
    }
    Ok(())
}
