//! The figures an OMB run reports, read from the run's time series: what
//! was measured after the warm-up, per topic (each OMB topic being its
//! group of partitions), and the backlog test's drain.

use serde::Serialize;
use std::collections::BTreeMap;
use streamsim_reports::RunReport;
use streamsim_workloads::OmbIgnored;

use super::max_rate::MaxRateSearch;
use super::series::{lag_at, span};
use super::OmbPlan;

/// One OMB topic's figures over the measured span.
#[derive(Debug, Clone, Serialize)]
pub struct TopicFigures {
    /// `topic-<i>`.
    pub topic: String,
    /// Its partitions in the simulated events topic, first and last.
    pub partitions: [u64; 2],
    /// Records appended to its partitions' leaders per second.
    pub publish_rate: f64,
    /// Records its consumers took per second: appended less the growth of its lag (the first
    /// subscription's; a further subscription's lag is known only over all topics).
    pub consume_rate: Option<f64>,
    /// Records not yet consumed (committed) at the end of the measured span.
    pub backlog: Option<u64>,
}

/// The backlog test's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct BacklogFigures {
    /// The backlog asked for, messages (scaled with the durations).
    pub requested_messages: u64,
    /// Virtual seconds the consumers were stopped.
    pub build_s: f64,
    /// The backlog when the consumers resumed, messages.
    pub backlog_at_resume: u64,
    /// Whether it went down to the empty level (sent less received, as OMB
    /// counts it) within the drain allowance.
    pub drained: bool,
    /// Seconds from the resume until the backlog was at the empty level, to
    /// the end of the 1-second bucket it got there in (`null` if never).
    pub drain_s: Option<f64>,
    /// Messages the consumers took per second while draining, over `drain_s`
    /// (`null` if never drained).
    pub drain_rate_msgs_per_s: Option<f64>,
    /// The empty level, messages.
    pub empty_level: u64,
}

/// What an OMB run adds to the run's JSON, under `omb`.
#[derive(Debug, Clone, Serialize)]
pub struct OmbFigures {
    /// The workload file.
    pub workload_file: String,
    /// The workload's name.
    pub workload: String,
    /// The driver's name.
    pub driver: String,
    /// OMB topics simulated.
    pub topics: u32,
    /// Partitions per topic.
    pub partitions_per_topic: u32,
    /// Producers simulated (clients).
    pub producers: u32,
    /// Consumers simulated (processor instances; one subscription).
    pub consumers: usize,
    /// Message size, bytes.
    pub message_size: u32,
    /// The publish rate simulated, messages/s (the one found, when searched).
    pub producer_rate: f64,
    /// Virtual seconds of warm-up, excluded from the figures.
    pub warmup_s: f64,
    /// Virtual seconds measured.
    pub measured_s: f64,
    /// What `--virtual-minutes` scaled, if it was given.
    pub scaled: Option<String>,
    /// Messages acknowledged per second over the measured span.
    pub publish_rate: f64,
    /// Messages consumed per second over the measured span, summed over every subscription
    /// as OMB sums it (`null` without consumers).
    pub consume_rate: Option<f64>,
    /// Each subscription's share of it: `processor` (the first subscription, the processor
    /// group) and each further one by name (`sub-001`, ...).
    pub consume_rate_by_subscription: BTreeMap<String, f64>,
    /// Per topic.
    pub per_topic: Vec<TopicFigures>,
    /// The backlog test, when the workload asks for one.
    pub backlog: Option<BacklogFigures>,
    /// The search for the maximum sustainable rate, when `producerRate` is 0.
    pub max_rate: Option<MaxRateSearch>,
    /// Fields read but not modelled.
    pub ignored_fields: Vec<OmbIgnored>,
}

/// The figures of a run of `plan`.
pub fn figures(plan: &OmbPlan, report: &RunReport, search: Option<MaxRateSearch>) -> OmbFigures {
    let w = &plan.workload;
    let end = (plan.loaded.scenario.duration_s * 1000.0).round() as u64;
    let s = span(report, plan.warmup_ms, end);
    let secs = s.seconds().max(1e-9);
    let lag_start = lag_at(report, plan.warmup_ms);
    let lag_end = lag_at(report, end);
    let has_consumers = plan.consumers > 0;
    let ppt = w.partitions_per_topic as usize;
    let per_topic = (0..w.topics as usize)
        .map(|t| {
            let range = t * ppt..(t + 1) * ppt;
            let sum = |v: &[u64]| range.clone().filter_map(|p| v.get(p)).sum::<u64>();
            let appended = sum(&s.partition_appends);
            let (l0, l1) = (sum(&lag_start), sum(&lag_end));
            TopicFigures {
                topic: format!("topic-{t}"),
                partitions: [range.start as u64, range.end as u64 - 1],
                publish_rate: appended as f64 / secs,
                consume_rate: has_consumers.then(|| (appended as f64 + l0 as f64 - l1 as f64).max(0.0) / secs),
                backlog: has_consumers.then_some(l1),
            }
        })
        .collect();
    OmbFigures {
        workload_file: plan.workload_path.display().to_string(),
        workload: plan.loaded.scenario.name.clone(),
        driver: plan.driver_name(),
        topics: w.topics,
        partitions_per_topic: w.partitions_per_topic,
        producers: w.total_producers(),
        consumers: plan.consumers,
        message_size: w.message_size,
        producer_rate: plan.rate,
        warmup_s: plan.warmup_ms as f64 / 1000.0,
        measured_s: s.seconds(),
        scaled: plan.scale_note(),
        publish_rate: s.published as f64 / secs,
        consume_rate: has_consumers.then_some(s.received() as f64 / secs),
        consume_rate_by_subscription: match has_consumers {
            true => std::iter::once(("processor".to_string(), s.consumed))
                .chain(s.further.iter().cloned())
                .map(|(name, n)| (name, n as f64 / secs))
                .collect(),
            false => BTreeMap::new(),
        },
        per_topic,
        backlog: backlog(plan, report),
        max_rate: search,
        ignored_fields: plan.ignored.clone(),
    }
}

fn backlog(plan: &OmbPlan, report: &RunReport) -> Option<BacklogFigures> {
    let b = plan.backlog.as_ref()?;
    let resume = b.start_ms + b.build_ms;
    let bw = report.bucket_ms.max(1);
    // OMB's backlog: sent less received from the start, at each bucket's end.
    let mut outstanding = Vec::with_capacity(report.buckets.len());
    let (mut acked, mut consumed) = (0u64, 0u64);
    for x in &report.buckets {
        acked += x.acked;
        consumed += x.sunk;
        outstanding.push(acked.saturating_sub(consumed));
    }
    let at_resume = outstanding
        .get(((resume / bw) as usize).saturating_sub(1))
        .copied()
        .unwrap_or(0);
    let first = (resume / bw) as usize;
    let until = ((resume + b.drain_allowance_ms) / bw) as usize;
    let done = (first..until.min(outstanding.len())).find(|&i| outstanding[i] <= b.empty_level);
    let drain = done.map(|i| {
        let end = (i as u64 + 1) * bw;
        let consumed: u64 = report.buckets[first..=i].iter().map(|x| x.sunk).sum();
        let secs = (end - resume) as f64 / 1000.0;
        (secs, consumed as f64 / secs)
    });
    Some(BacklogFigures {
        requested_messages: b.messages,
        build_s: b.build_ms as f64 / 1000.0,
        backlog_at_resume: at_resume,
        drained: drain.is_some(),
        drain_s: drain.map(|d| d.0),
        drain_rate_msgs_per_s: drain.map(|d| d.1),
        empty_level: b.empty_level,
    })
}
