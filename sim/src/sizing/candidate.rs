//! One candidate cluster for a sizing question, written out as a scenario
//! file: the peak of the day as a window of virtual time at the peak rate,
//! with the failure the answer must survive injected in the middle of it.

use super::inputs::{SizingInputs, Survive};
use crate::scenario::machine::MachineProfile;
use std::fmt::Write as _;

/// Virtual seconds at the peak rate before the failure.
pub const FAILURE_AT_S: f64 = 20.0;
/// How long the failed brokers stay down (crash) or cut off (zone).
pub const FAILURE_FOR_S: f64 = 15.0;
/// Virtual seconds of the peak window: the failure, the recovery and a steady stretch after it.
pub const WINDOW_S: f64 = 60.0;
/// Bytes of record overhead on disk and on the wire (the log's record format).
const RECORD_OVERHEAD: f64 = crate::msg::RECORD_OVERHEAD as f64;
/// A partition carries at most this much of the peak, MB/s: a common planning figure
/// for one partition's consumer.
const PARTITION_MB_PER_S: f64 = 10.0;
/// The seed platforms run 24 to 100 partitions.
const MIN_PARTITIONS: usize = 24;
/// Events per second one processor instance is planned for.
const PROCESSOR_EVENTS_PER_S: f64 = 10_000.0;

/// The shape of one candidate cluster.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    /// Machine profile name.
    pub machine: String,
    /// Brokers.
    pub brokers: usize,
    /// Partitions of the events topic (a multiple of the broker count).
    pub partitions: usize,
    /// Stream processor instances (and sink writers).
    pub processors: usize,
    /// Gateways, enough that their links are not what is sized.
    pub gateways: usize,
    /// Clients.
    pub clients: usize,
}

/// Peak events per second of the question.
pub fn peak_rate(inputs: &SizingInputs) -> f64 {
    inputs.events_per_day as f64 / 86_400.0 * inputs.peak_factor
}

/// Bytes a record takes on disk and on the wire.
pub fn record_bytes(inputs: &SizingInputs) -> f64 {
    inputs.event_bytes as f64 + RECORD_OVERHEAD
}

/// The candidate of `brokers` brokers of `machine`.
pub fn shape(inputs: &SizingInputs, machine: &MachineProfile, brokers: usize) -> Candidate {
    let rate = peak_rate(inputs);
    let peak_mb = rate * record_bytes(inputs) / 1e6;
    let wanted = (peak_mb / PARTITION_MB_PER_S).ceil() as usize;
    let partitions = round_up(wanted.max(MIN_PARTITIONS).max(2 * brokers), brokers);
    let processors = ((rate / PROCESSOR_EVENTS_PER_S).ceil() as usize).clamp(2, partitions);
    // Gateways and clients run on the same profile's links; half a link each at the peak
    // keeps them out of the answer, which is about the brokers.
    let link_mb = machine.nic_gbps * 1e3 / 8.0;
    let gateways = ((peak_mb / (0.5 * link_mb)).ceil() as usize).max(2);
    let clients = (gateways * 4).max(8);
    Candidate {
        machine: machine.name.clone(),
        brokers,
        partitions,
        processors,
        gateways,
        clients,
    }
}

fn round_up(n: usize, to: usize) -> usize {
    n.div_ceil(to) * to
}

/// The candidate as a scenario file that `streamsim run` replays, failure included.
pub fn scenario_text(inputs: &SizingInputs, c: &Candidate) -> String {
    let rate = peak_rate(inputs).round().max(1.0) as u64;
    let rf = inputs.replication_factor;
    let mut s = String::new();
    let _ = writeln!(s, "name = \"size-{}-{}-brokers\"", c.machine, c.brokers);
    let _ = writeln!(
        s,
        "description = \"A sizing candidate: {} brokers of {} at the peak of {} events a day ({} events/s, {} B each, peak {}x the mean), RF {rf}, {}, for {} virtual seconds.\"",
        c.brokers,
        c.machine,
        inputs.events_per_day,
        rate,
        inputs.event_bytes,
        inputs.peak_factor,
        survive_sentence(inputs.survive, c.brokers),
        WINDOW_S,
    );
    let _ = writeln!(s, "expect = \"pass\"\nduration_s = {WINDOW_S}\ndrain_timeout_s = 120\n");
    let _ = writeln!(
        s,
        "[topology]\nmachine = \"{}\"\nbrokers = {}\npartitions = {}\nreplication_factor = {rf}\ngateways = {}\nclients = {}\n",
        c.machine, c.brokers, c.partitions, c.gateways, c.clients
    );
    let _ = writeln!(
        s,
        "[log]\nacks = \"all\"\nmin_insync_replicas = {}\nretention_ms = {}\n",
        min_isr(rf),
        (inputs.retention_days * 86_400_000.0).round() as u64
    );
    let _ = writeln!(
        s,
        "[workload]\nrate = {{ kind = \"constant\", events_per_s = {rate} }}\nkeys = {{ kind = \"uniform\", count = 100000 }}\nsize = {{ kind = \"fixed\", bytes = {} }}\n",
        inputs.event_bytes
    );
    let _ = writeln!(
        s,
        "[processor]\ninstances = {}\ndelivery = \"exactly_once\"\n",
        c.processors
    );
    if inputs.ack_p99_ms.is_some() || inputs.e2e_p99_ms.is_some() {
        let _ = writeln!(s, "[budgets]");
        if let Some(v) = inputs.ack_p99_ms {
            let _ = writeln!(s, "ack_p99_ms = {v}");
        }
        if let Some(v) = inputs.e2e_p99_ms {
            let _ = writeln!(s, "e2e_p99_ms = {v}");
        }
        s.push('\n');
    }
    match inputs.survive {
        Survive::None => {}
        Survive::Broker => {
            // With uniform keys every broker leads as many partitions as any other; broker 0
            // is as busy as the busiest.
            let _ = writeln!(
                s,
                "[[faults]]\nat_s = {FAILURE_AT_S}\nkind = \"crash\"\ntarget = \"broker:0\"\nrestart_after_s = {FAILURE_FOR_S}\n"
            );
        }
        Survive::Zone => {
            for b in 0..zone_size(c.brokers) {
                let _ = writeln!(
                    s,
                    "[[faults]]\nat_s = {FAILURE_AT_S}\nkind = \"isolate\"\ntarget = \"broker:{b}\"\nduration_s = {FAILURE_FOR_S}\n"
                );
            }
        }
    }
    s
}

/// Kafka's usual pairing: one replica may be down and writes go on.
pub fn min_isr(rf: usize) -> usize {
    rf.saturating_sub(1).max(1)
}

/// Brokers in one zone of three.
pub fn zone_size(brokers: usize) -> usize {
    brokers.div_ceil(3)
}

fn survive_sentence(s: Survive, brokers: usize) -> String {
    match s {
        Survive::None => "no failure".into(),
        Survive::Broker => format!("broker 0 crashing at {FAILURE_AT_S} s and back {FAILURE_FOR_S} s later"),
        Survive::Zone => format!(
            "{} of the brokers (a zone of three) cut off at {FAILURE_AT_S} s for {FAILURE_FOR_S} s",
            zone_size(brokers)
        ),
    }
}
