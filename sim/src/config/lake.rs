//! `[lake]`: the cold path. A second consumer group reads the events topic
//! and archives it to an object store in files, committed through a
//! manifest, with lifecycle tiers that price what the files cost to keep.
//! Off by default (`writers = 0`).

use serde::{Deserialize, Serialize};

/// In which order a lake writer makes a file visible and moves its offsets.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LakeCommit {
    /// Put the file, add it to the manifest, then commit the consumer offsets:
    /// a crash anywhere re-reads from the manifest's end, so nothing is lost
    /// and the idempotent file name keeps a re-written file from doubling.
    ManifestFirst,
    /// Commit the consumer offsets as soon as a file's upload starts (as
    /// auto-commit does for what was polled): a crash before the manifest
    /// names the file resumes past records no committed file holds. Unsafe;
    /// kept as a negative control.
    OffsetsFirst,
}

/// One lifecycle tier: objects move into it at an age and cost its price from then.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LakeTier {
    /// Name (`hot`, `warm`, `cold`).
    pub name: String,
    /// Age at which a lifecycle rule moves an object into this tier, days.
    pub after_days: f64,
    /// Price of storage in this tier, USD per GB-month.
    pub usd_per_gb_month: f64,
}

/// `[lake]`: the lake writers, the object store they write to and the lifecycle rules.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LakeConfig {
    /// Lake writer instances in the lake's consumer group (0: no cold path).
    pub writers: usize,
    /// A file is cut once it holds this many MB (10^6 bytes) of records.
    pub roll_mb: f64,
    /// ... or once its oldest record has waited this long, virtual seconds.
    pub roll_interval_s: f64,
    /// Commit order of file, manifest and offsets.
    pub commit: LakeCommit,
    /// A file's name is its partition and offset range, so every attempt at
    /// it lands on one key. Off, each attempt draws a fresh random name and a
    /// failed manifest commit redoes the whole file under a new one (a
    /// common writer shape): a commit that failed after the manifest took it
    /// then leaves the same records in two committed files. Unsafe; kept as
    /// a negative control.
    pub idempotent_names: bool,
    /// Fixed part of an object-store request's latency, ms.
    pub put_latency_ms: f64,
    /// Mean of the exponential tail added to each request, ms.
    pub put_tail_ms: f64,
    /// Upload throughput of one request, MB/s (a file's size adds size / this).
    pub put_mb_per_s: f64,
    /// Probability that a request (a file put or a manifest commit) fails.
    pub put_failure: f64,
    /// Of the failed requests, the share that failed after the store applied
    /// them (a lost reply, a timeout): the retry repeats a done write.
    pub failure_after_write: f64,
    /// First retry backoff, ms (doubles up to the max).
    pub retry_backoff_ms: u64,
    /// Largest retry backoff, ms.
    pub retry_backoff_max_ms: u64,
    /// Latency of a consumer-offset commit to the group coordinator, ms.
    pub offset_commit_ms: u64,
    /// Group session timeout, ms.
    pub session_timeout_ms: u64,
    /// Heartbeat interval, ms.
    pub heartbeat_interval_ms: u64,
    /// The group's `group.initial.rebalance.delay.ms`.
    pub initial_rebalance_delay_ms: u64,
    /// Bytes per fetch and partition.
    pub fetch_max_bytes: u64,
    /// How long the leader holds a fetch with nothing new before answering it
    /// empty, ms (`fetch.max.wait.ms`, the long poll).
    pub fetch_max_wait_ms: u64,
    /// Lifecycle tiers, youngest first; the first starts at age 0.
    pub tiers: Vec<LakeTier>,
    /// Objects are deleted at this age, days (it bounds the last tier).
    pub retention_days: f64,
    /// The writers' `isolation.level`; unset, read_committed under a transactional
    /// gateway (a lake file must never hold an aborted record), read_uncommitted otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub isolation: Option<super::pipeline::Isolation>,
}

impl LakeConfig {
    /// The writers' isolation level, with a transactional gateway or without.
    pub fn isolation_level(&self, transactional: bool) -> super::pipeline::Isolation {
        self.isolation.unwrap_or(match transactional {
            true => super::pipeline::Isolation::ReadCommitted,
            false => super::pipeline::Isolation::ReadUncommitted,
        })
    }
}

/// GCS Standard storage, USD per GB-month, as the billion-event platform
/// reported paying for its lake (docs/SCENARIOS.md, "The cold path"); GCS's
/// price list (cloud.google.com/storage/pricing) has it in us-east4.
pub const GCS_STANDARD_USD_PER_GB_MONTH: f64 = 0.023;

impl Default for LakeConfig {
    fn default() -> Self {
        LakeConfig {
            writers: 0,
            roll_mb: 64.0,
            roll_interval_s: 300.0,
            commit: LakeCommit::ManifestFirst,
            idempotent_names: true,
            put_latency_ms: 40.0,
            put_tail_ms: 20.0,
            put_mb_per_s: 100.0,
            put_failure: 0.0,
            failure_after_write: 0.5,
            retry_backoff_ms: 100,
            retry_backoff_max_ms: 5_000,
            offset_commit_ms: 5,
            session_timeout_ms: 10_000,
            heartbeat_interval_ms: 1_000,
            initial_rebalance_delay_ms: 3_000,
            fetch_max_bytes: 1 << 20,
            fetch_max_wait_ms: 100,
            tiers: default_tiers(),
            retention_days: 365.0,
            isolation: None,
        }
    }
}

/// Hot, warm and cold as GCS's Standard, Nearline and Coldline classes with
/// lifecycle rules at 30 and 90 days (the minimum storage durations of
/// Nearline and Coldline), priced as GCS lists them in us-east4, where
/// Standard is the seed platform's $0.023: Nearline $0.013, Coldline $0.006.
pub fn default_tiers() -> Vec<LakeTier> {
    let t = |name: &str, after_days: f64, usd_per_gb_month: f64| LakeTier {
        name: name.into(),
        after_days,
        usd_per_gb_month,
    };
    vec![
        t("hot", 0.0, GCS_STANDARD_USD_PER_GB_MONTH),
        t("warm", 30.0, 0.013),
        t("cold", 90.0, 0.006),
    ]
}

impl LakeConfig {
    /// Whether the scenario has a cold path.
    pub fn enabled(&self) -> bool {
        self.writers > 0
    }

    /// Whether the scenario leaves the cold path out (the section is then not written back).
    pub fn is_off(&self) -> bool {
        !self.enabled()
    }

    /// The section in one line, for summaries.
    pub fn describe(&self) -> String {
        let tiers: Vec<String> = self
            .tiers
            .iter()
            .map(|t| format!("{} from {} d at ${}/GB-month", t.name, t.after_days, t.usd_per_gb_month))
            .collect();
        format!(
            "{} writers, a file every {} MB or {} s, {}, {} names, {}% failed requests; {}; deleted at {} d",
            self.writers,
            self.roll_mb,
            self.roll_interval_s,
            match self.commit {
                LakeCommit::ManifestFirst => "manifest_first",
                LakeCommit::OffsetsFirst => "offsets_first",
            },
            if self.idempotent_names { "idempotent" } else { "random" },
            self.put_failure * 100.0,
            tiers.join(", "),
            self.retention_days
        )
    }

    /// Bytes at which a file is cut.
    pub fn roll_bytes(&self) -> u64 {
        (self.roll_mb * 1e6) as u64
    }
}
