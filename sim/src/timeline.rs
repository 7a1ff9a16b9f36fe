//! The run's timeline of protocol steps and faults: what each entry is.
//! A leaf, so stores below the shared world (the consumer group's
//! coordinator) can describe their steps without reaching up to it.

/// Kinds of timeline entries (protocol steps and faults).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimelineKind {
    /// A fault was injected.
    FaultStart,
    /// A fault healed.
    FaultEnd,
    /// A node (re)started.
    NodeStarted,
    /// The controller fenced a broker.
    Fenced,
    /// A broker registered with the controller.
    Registered,
    /// A leader changed.
    Election,
    /// A broker took leadership of a partition.
    BecameLeader,
    /// A leader proposed a smaller ISR.
    IsrShrink,
    /// A follower truncated its log.
    Truncation,
    /// The workload ended and the drain began.
    Drain,
    /// The processor group moved to a new generation and reassigned partitions.
    Rebalance,
    /// A processor task resumed a partition from the sink's checkpoint.
    TaskResumed,
    /// The sink refused a zombie owner's write.
    SinkFenced,
    /// A partition's first checkpoint under a new owner committed (recovery done).
    Checkpoint,
    /// The read path consumed and committed everything.
    ReadDrained,
    /// The controller committed a larger ISR (a follower caught up).
    IsrExpand,
    /// A partition's high watermark stopped advancing while its leader holds unreplicated records.
    HwStall,
    /// A stalled high watermark advances again.
    HwResume,
    /// Nothing progressed for a long stretch: the run ends early, naming what was stuck.
    Stall,
    /// The first violated invariant, with its witness.
    Violation,
    /// A fault drawn by swarm mode for this seed (listed at time zero).
    Swarm,
    /// The controller changed a partition's eligible leader replicas (KIP-966).
    Elr,
    /// A broker registered after an unclean shutdown and the controller took it
    /// out of the ISR and ELR of its partitions (KIP-966).
    UncleanShutdown,
    /// A lake writer's file joined the lake's manifest.
    LakeCommit,
    /// A lake writer claimed a partition and resumes it from the manifest or its offset.
    LakeResumed,
    /// The lake's manifest refused a zombie writer's commit.
    LakeFenced,
    /// The autoscaler decided a step, a broker joined the cluster or left it.
    Autoscale,
    /// A partition reassignment started, completed, or a broker dropped a moved replica.
    Reassignment,
    /// The serving layer's reader gave up on the cache for a while: reads go to the database.
    CacheSkipped,
    /// A subscription's consumer took partitions, or a consumer-side check caught an anomaly.
    Subscription,
    /// A transaction began, was decided (commit or abort), timed out, or a coordinator
    /// finished one another broker had decided.
    Transaction,
    /// A transaction coordinator refused a request from a producer's older epoch (a zombie).
    ProducerFenced,
}

/// One timeline entry.
#[derive(Clone, Debug)]
pub struct TimelineEntry {
    /// Virtual ms.
    pub at_ms: u64,
    /// Kind.
    pub kind: TimelineKind,
    /// Human text.
    pub text: String,
    /// The words folded into the trace hash for this entry.
    pub words: Vec<u64>,
    /// Named fields for the JSON trace (`--trace`); empty when the entry has only its words.
    pub fields: Vec<(String, serde_json::Value)>,
}
