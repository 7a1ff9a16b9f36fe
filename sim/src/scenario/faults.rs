//! The fault sections of a scenario file: who a fault hits ([`Target`]),
//! scheduled faults ([`FaultSpec`], [`FaultKind`]) and the `[faults]`
//! section itself ([`Faults`]), which is either a list of scheduled faults
//! (`[[faults]]`) or the bounds of a seed-drawn schedule (`[faults]` with
//! `mode = "swarm"`, see [`SwarmSpec`]).

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::{Deserialize, Serialize};

/// Who a fault hits. Written as a string in the file: `broker:2`,
/// `leader:5` (the leader of partition 5 when the fault fires),
/// `follower:5` (an in-sync follower of partition 5, drawn from the seed
/// when the fault fires), `controller`, `gateway:0`, `client:3`,
/// `processor:1`, `sink`, `sink@checkpoint` (the sink, once a processor
/// checkpoint is under way), `lake:0` (a lake writer), `lake:0@manifest`
/// (a lake writer, once it has a file in the bucket that the manifest does
/// not name yet), `cache:0` (the serving layer's cache), `consumer:audit:1`
/// (consumer 1 of the `[[subscription]]` named `audit`), `gateway:0@abort`
/// (a transactional gateway, the moment its coordinator answers an abort it asked for).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    /// A broker by id.
    Broker(usize),
    /// Whichever broker leads the partition when the fault fires.
    LeaderOf(usize),
    /// A follower in the partition's ISR when the fault fires, picked from the seed.
    FollowerOf(usize),
    /// The controller.
    Controller,
    /// A gateway instance.
    Gateway(usize),
    /// A client.
    Client(usize),
    /// A stream processor instance.
    Processor(usize),
    /// The sink database.
    Sink,
    /// The sink, hit while a processor checkpoint is under way (the fault
    /// waits, bounded, for one to start).
    SinkAtCheckpoint,
    /// A processor instance, hit while the sink commits one of its
    /// checkpoints: the commit lands, the reply never reaches it.
    ProcessorAtCheckpoint(usize),
    /// A lake writer of the cold path.
    LakeWriter(usize),
    /// A lake writer, hit between putting a file and committing it to the
    /// manifest (the fault waits, bounded, for such a moment).
    LakeWriterBeforeManifest(usize),
    /// The serving layer's cache node (there is one: `cache:0`).
    Cache(usize),
    /// A consumer of a `[[subscription]]`: the subscription's name and the consumer's index in it.
    Consumer(String, usize),
    /// A transactional gateway, hit the moment its coordinator answers an abort the
    /// gateway asked for, before it starts its next transaction (the fault waits,
    /// bounded, for one).
    GatewayAfterAbort(usize),
}

impl Target {
    /// Whether the fault waits (bounded) for a checkpoint before it fires.
    pub fn waits_for_checkpoint(&self) -> bool {
        matches!(
            self,
            Target::SinkAtCheckpoint
                | Target::ProcessorAtCheckpoint(_)
                | Target::LakeWriterBeforeManifest(_)
                | Target::GatewayAfterAbort(_)
        )
    }

    /// Whether the target always resolves to a broker (so a disk fault fits it).
    pub fn is_broker(&self) -> bool {
        matches!(self, Target::Broker(_) | Target::LeaderOf(_) | Target::FollowerOf(_))
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Broker(i) => write!(f, "broker:{i}"),
            Target::LeaderOf(p) => write!(f, "leader:{p}"),
            Target::FollowerOf(p) => write!(f, "follower:{p}"),
            Target::Controller => write!(f, "controller"),
            Target::Gateway(i) => write!(f, "gateway:{i}"),
            Target::Client(i) => write!(f, "client:{i}"),
            Target::Processor(i) => write!(f, "processor:{i}"),
            Target::Sink => write!(f, "sink"),
            Target::SinkAtCheckpoint => write!(f, "sink@checkpoint"),
            Target::ProcessorAtCheckpoint(i) => write!(f, "processor:{i}@checkpoint"),
            Target::LakeWriter(i) => write!(f, "lake:{i}"),
            Target::LakeWriterBeforeManifest(i) => write!(f, "lake:{i}@manifest"),
            Target::Cache(i) => write!(f, "cache:{i}"),
            Target::Consumer(name, i) => write!(f, "consumer:{name}:{i}"),
            Target::GatewayAfterAbort(i) => write!(f, "gateway:{i}@abort"),
        }
    }
}

impl std::str::FromStr for Target {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "controller" => return Ok(Target::Controller),
            "sink" => return Ok(Target::Sink),
            "sink@checkpoint" => return Ok(Target::SinkAtCheckpoint),
            _ => {}
        }
        if let Some(n) = s.strip_prefix("processor:").and_then(|r| r.strip_suffix("@checkpoint")) {
            let n = n.parse().map_err(|_| format!("target {s:?}: {n:?} is not a number"))?;
            return Ok(Target::ProcessorAtCheckpoint(n));
        }
        if let Some(n) = s.strip_prefix("lake:").and_then(|r| r.strip_suffix("@manifest")) {
            let n = n.parse().map_err(|_| format!("target {s:?}: {n:?} is not a number"))?;
            return Ok(Target::LakeWriterBeforeManifest(n));
        }
        if let Some(n) = s.strip_prefix("gateway:").and_then(|r| r.strip_suffix("@abort")) {
            let n = n.parse().map_err(|_| format!("target {s:?}: {n:?} is not a number"))?;
            return Ok(Target::GatewayAfterAbort(n));
        }
        if let Some(rest) = s.strip_prefix("consumer:") {
            let (name, n) = rest
                .rsplit_once(':')
                .ok_or_else(|| format!("target {s:?} must be `consumer:SUBSCRIPTION:N`"))?;
            let n = n.parse().map_err(|_| format!("target {s:?}: {n:?} is not a number"))?;
            return Ok(Target::Consumer(name.to_string(), n));
        }
        let (role, idx) = s.split_once(':').ok_or_else(|| {
            format!(
                "target {s:?} must be `broker:N`, `leader:P`, `follower:P`, `controller`, `gateway:N`, \
                 `gateway:N@abort`, `client:N`, `processor:N`, `processor:N@checkpoint`, `sink`, \
                 `sink@checkpoint`, `lake:N`, `lake:N@manifest`, `cache:0` or `consumer:SUBSCRIPTION:N`"
            )
        })?;
        let n: usize = idx
            .parse()
            .map_err(|_| format!("target {s:?}: {idx:?} is not a number"))?;
        match role {
            "broker" => Ok(Target::Broker(n)),
            "leader" => Ok(Target::LeaderOf(n)),
            "follower" => Ok(Target::FollowerOf(n)),
            "gateway" => Ok(Target::Gateway(n)),
            "client" => Ok(Target::Client(n)),
            "processor" => Ok(Target::Processor(n)),
            "lake" => Ok(Target::LakeWriter(n)),
            "cache" => Ok(Target::Cache(n)),
            _ => Err(format!(
                "target {s:?}: unknown role {role:?} (broker, leader, follower, controller, gateway, client, processor, sink, lake, cache)"
            )),
        }
    }
}

impl Serialize for Target {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Target {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A fault at a fixed virtual time.
// No `deny_unknown_fields` here: serde does not support it next to
// `flatten`; the flattened `FaultKind` rejects unknown keys instead.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct FaultSpec {
    /// When it starts, virtual seconds.
    pub at_s: f64,
    /// What happens.
    #[serde(flatten)]
    pub kind: FaultKind,
}

fn d_reorder_max_ms() -> u64 {
    20
}

fn d_slowdown() -> f64 {
    10.0
}

/// The kinds of scheduled fault.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum FaultKind {
    /// Power loss of a node: tasks die, unflushed log data is lost. Restarted after `restart_after_s` if given.
    Crash {
        /// Who.
        target: Target,
        /// Restart delay; omitted means it stays down until the drain.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        restart_after_s: Option<f64>,
    },
    /// Cut every link of one node, both ways.
    Isolate {
        /// Who.
        target: Target,
        /// How long.
        duration_s: f64,
    },
    /// Cut every link between two sets of nodes, both ways.
    Partition {
        /// One side.
        side_a: Vec<Target>,
        /// The other side.
        side_b: Vec<Target>,
        /// How long.
        duration_s: f64,
    },
    /// Jepsen's bridge: the two sides are cut from each other both ways,
    /// but the bridge node still reaches (and is reached by) both.
    Bridge {
        /// One side.
        side_a: Vec<Target>,
        /// The other side.
        side_b: Vec<Target>,
        /// The node both sides can reach; on neither side.
        bridge: Target,
        /// How long.
        duration_s: f64,
    },
    /// Cut links from `from` to `to` only; replies still flow.
    OneWay {
        /// Senders whose messages are dropped.
        from: Vec<Target>,
        /// Receivers.
        to: Vec<Target>,
        /// How long.
        duration_s: f64,
    },
    /// Freeze a node (GC pause, VM stall): it keeps its state and its mail queues up.
    Pause {
        /// Who.
        target: Target,
        /// How long.
        duration_s: f64,
    },
    /// Extra latency (and jitter) on every link between two sets, both ways.
    SlowLink {
        /// One side.
        side_a: Vec<Target>,
        /// The other side; empty means every node not in `side_a`.
        #[serde(default)]
        side_b: Vec<Target>,
        /// Latency added to each message, ms.
        extra_latency_ms: f64,
        /// Mean of an exponential jitter added on top, ms.
        #[serde(default)]
        jitter_ms: f64,
        /// How long.
        duration_s: f64,
    },
    /// Messages between two sets are dropped with a probability, both ways.
    LossyLink {
        /// One side.
        side_a: Vec<Target>,
        /// The other side; empty means every node not in `side_a`.
        #[serde(default)]
        side_b: Vec<Target>,
        /// Probability that a message is dropped, in [0, 1].
        loss: f64,
        /// How long.
        duration_s: f64,
    },
    /// Messages are delivered twice with a probability: everywhere, or between two sets.
    Duplicate {
        /// One side; empty (with `side_b` empty) means every link.
        #[serde(default)]
        side_a: Vec<Target>,
        /// The other side; empty means every node not in `side_a`.
        #[serde(default)]
        side_b: Vec<Target>,
        /// Probability that a message is delivered twice, in [0, 1].
        probability: f64,
        /// How long.
        duration_s: f64,
    },
    /// Messages are held back by up to `max_delay_ms` with a probability, so
    /// later ones overtake them: everywhere, or between two sets.
    Reorder {
        /// One side; empty (with `side_b` empty) means every link.
        #[serde(default)]
        side_a: Vec<Target>,
        /// The other side; empty means every node not in `side_a`.
        #[serde(default)]
        side_b: Vec<Target>,
        /// Probability that a message is held back, in [0, 1].
        probability: f64,
        /// Largest hold-back, ms.
        #[serde(default = "d_reorder_max_ms")]
        max_delay_ms: u64,
        /// How long.
        duration_s: f64,
    },
    /// A degraded disk on one broker: bandwidth divided, fsync multiplied.
    SlowDisk {
        /// The broker (`broker:N`, `leader:P` or `follower:P`).
        target: Target,
        /// Sequential bandwidth is divided by this (>= 1).
        #[serde(default = "d_slowdown")]
        bandwidth_divisor: f64,
        /// fsync latency is multiplied by this (>= 1).
        #[serde(default = "d_slowdown")]
        fsync_multiplier: f64,
        /// How long.
        duration_s: f64,
    },
}

/// The name of a fault kind, as `kind = "..."` spells it; swarm bounds list them.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum FaultKindName {
    /// [`FaultKind::Crash`].
    Crash,
    /// [`FaultKind::Isolate`].
    Isolate,
    /// [`FaultKind::Partition`].
    Partition,
    /// [`FaultKind::Bridge`].
    Bridge,
    /// [`FaultKind::OneWay`].
    OneWay,
    /// [`FaultKind::Pause`].
    Pause,
    /// [`FaultKind::SlowLink`].
    SlowLink,
    /// [`FaultKind::LossyLink`].
    LossyLink,
    /// [`FaultKind::Duplicate`].
    Duplicate,
    /// [`FaultKind::Reorder`].
    Reorder,
    /// [`FaultKind::SlowDisk`].
    SlowDisk,
}

impl FaultKindName {
    /// Every kind, in declaration order.
    pub const ALL: [FaultKindName; 11] = [
        FaultKindName::Crash,
        FaultKindName::Isolate,
        FaultKindName::Partition,
        FaultKindName::Bridge,
        FaultKindName::OneWay,
        FaultKindName::Pause,
        FaultKindName::SlowLink,
        FaultKindName::LossyLink,
        FaultKindName::Duplicate,
        FaultKindName::Reorder,
        FaultKindName::SlowDisk,
    ];

    /// The snake_case name used in files.
    pub fn as_str(&self) -> &'static str {
        match self {
            FaultKindName::Crash => "crash",
            FaultKindName::Isolate => "isolate",
            FaultKindName::Partition => "partition",
            FaultKindName::Bridge => "bridge",
            FaultKindName::OneWay => "one_way",
            FaultKindName::Pause => "pause",
            FaultKindName::SlowLink => "slow_link",
            FaultKindName::LossyLink => "lossy_link",
            FaultKindName::Duplicate => "duplicate",
            FaultKindName::Reorder => "reorder",
            FaultKindName::SlowDisk => "slow_disk",
        }
    }
}

impl FaultKind {
    /// The kind's name.
    pub fn name(&self) -> FaultKindName {
        match self {
            FaultKind::Crash { .. } => FaultKindName::Crash,
            FaultKind::Isolate { .. } => FaultKindName::Isolate,
            FaultKind::Partition { .. } => FaultKindName::Partition,
            FaultKind::Bridge { .. } => FaultKindName::Bridge,
            FaultKind::OneWay { .. } => FaultKindName::OneWay,
            FaultKind::Pause { .. } => FaultKindName::Pause,
            FaultKind::SlowLink { .. } => FaultKindName::SlowLink,
            FaultKind::LossyLink { .. } => FaultKindName::LossyLink,
            FaultKind::Duplicate { .. } => FaultKindName::Duplicate,
            FaultKind::Reorder { .. } => FaultKindName::Reorder,
            FaultKind::SlowDisk { .. } => FaultKindName::SlowDisk,
        }
    }

    /// How long the fault lasts, seconds (`None`: a crash that is not restarted).
    pub fn duration_s(&self) -> Option<f64> {
        match self {
            FaultKind::Crash { restart_after_s, .. } => *restart_after_s,
            FaultKind::Isolate { duration_s, .. }
            | FaultKind::Partition { duration_s, .. }
            | FaultKind::Bridge { duration_s, .. }
            | FaultKind::OneWay { duration_s, .. }
            | FaultKind::Pause { duration_s, .. }
            | FaultKind::SlowLink { duration_s, .. }
            | FaultKind::LossyLink { duration_s, .. }
            | FaultKind::Duplicate { duration_s, .. }
            | FaultKind::Reorder { duration_s, .. }
            | FaultKind::SlowDisk { duration_s, .. } => Some(*duration_s),
        }
    }
}

/// The `faults` section: scheduled faults (`[[faults]]`, an array of
/// tables) or the bounds of a seed-drawn schedule (`[faults]`, one table
/// with `mode = "swarm"`). Dereferences to the scheduled list, which is
/// empty in swarm mode (the swarm module draws that schedule per seed).
#[derive(Clone, Debug, PartialEq)]
pub enum Faults {
    /// Faults at fixed virtual times.
    Scheduled(Vec<FaultSpec>),
    /// A schedule drawn from each seed within these bounds.
    Swarm(Box<SwarmSpec>),
}

impl Default for Faults {
    fn default() -> Self {
        Faults::Scheduled(Vec::new())
    }
}

impl std::ops::Deref for Faults {
    type Target = [FaultSpec];
    fn deref(&self) -> &[FaultSpec] {
        match self {
            Faults::Scheduled(v) => v,
            Faults::Swarm(_) => &[],
        }
    }
}

impl Faults {
    /// The swarm bounds, in swarm mode.
    pub fn swarm(&self) -> Option<&SwarmSpec> {
        match self {
            Faults::Swarm(s) => Some(s),
            Faults::Scheduled(_) => None,
        }
    }
}

impl Serialize for Faults {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Faults::Scheduled(v) => v.serialize(s),
            Faults::Swarm(w) => w.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Faults {
    // Hand-written rather than `#[serde(untagged)]`: an untagged enum
    // reports every mistake as "did not match any variant", while this
    // passes each shape to its own type, whose errors name the field.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Faults;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("[[faults]] tables (scheduled faults) or one [faults] table with mode = \"swarm\"")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Faults, A::Error> {
                Vec::<FaultSpec>::deserialize(SeqAccessDeserializer::new(seq)).map(Faults::Scheduled)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Faults, A::Error> {
                SwarmSpec::deserialize(MapAccessDeserializer::new(map)).map(|s| Faults::Swarm(Box::new(s)))
            }
        }
        d.deserialize_any(V)
    }
}

/// The only mode a `[faults]` table has.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SwarmMode {
    /// Draw the schedule from the seed.
    Swarm,
}

/// A closed range `[low, high]`, written as a two-element array.
pub type Bounds = [f64; 2];

fn d_kinds() -> Vec<FaultKindName> {
    FaultKindName::ALL.to_vec()
}
fn d_rate() -> Bounds {
    [1.0, 6.0]
}
fn d_duration() -> Bounds {
    [1.0, 8.0]
}
fn d_loss() -> Bounds {
    [0.05, 0.5]
}
fn d_latency() -> Bounds {
    [5.0, 100.0]
}
fn d_dup() -> Bounds {
    [0.01, 0.2]
}
fn d_disk() -> Bounds {
    [2.0, 20.0]
}
fn d_true() -> bool {
    true
}

/// Bounds of a seed-drawn fault schedule (swarm testing: each seed also
/// draws which kinds are on, so rare combinations get explored).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SwarmSpec {
    /// Always `"swarm"`.
    pub mode: SwarmMode,
    /// Kinds a seed may turn on; each is on with probability 1/2, at least one always.
    #[serde(default = "d_kinds")]
    pub kinds: Vec<FaultKindName>,
    /// Faults start no earlier than this, virtual seconds.
    #[serde(default)]
    pub start_s: f64,
    /// Faults start before this; default the workload's end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_s: Option<f64>,
    /// Faults per minute of each kind that is on: the seed draws a rate in this range.
    #[serde(default = "d_rate")]
    pub rate_per_min: Bounds,
    /// Each fault's duration (a crash's time until restart), seconds.
    #[serde(default = "d_duration")]
    pub duration_s: Bounds,
    /// Nodes faults may hit; default every broker and the controller. Set
    /// kinds (partition, bridge, one-way) split this list in two.
    #[serde(default)]
    pub targets: Vec<Target>,
    /// Loss probability of a lossy link.
    #[serde(default = "d_loss")]
    pub loss: Bounds,
    /// Extra latency of a slow link, ms (its jitter is a quarter of it).
    #[serde(default = "d_latency")]
    pub extra_latency_ms: Bounds,
    /// Probability of a duplicated message in a duplicate window.
    #[serde(default = "d_dup")]
    pub duplicate: Bounds,
    /// Probability of a held-back message in a reorder window.
    #[serde(default = "d_dup")]
    pub reorder: Bounds,
    /// Largest hold-back of a reordered message, ms.
    #[serde(default = "d_reorder_max_ms")]
    pub reorder_max_ms: u64,
    /// Slow disk: bandwidth divisor and fsync multiplier (one draw for both).
    #[serde(default = "d_disk")]
    pub disk_slowdown: Bounds,
    /// Whether crashed nodes restart after their drawn duration (else they stay down until the drain).
    #[serde(default = "d_true")]
    pub restart: bool,
}

impl SwarmSpec {
    /// The targets swarm faults may hit in a cluster of `brokers`: those
    /// listed, else every broker and the controller.
    pub fn targets_in(&self, brokers: usize) -> Vec<Target> {
        if !self.targets.is_empty() {
            return self.targets.clone();
        }
        let mut v: Vec<Target> = (0..brokers).map(Target::Broker).collect();
        v.push(Target::Controller);
        v
    }
}
