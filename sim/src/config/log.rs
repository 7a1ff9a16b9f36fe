//! The replicated log's settings, named after the Kafka broker, topic and
//! producer configs they model.

use serde::{Deserialize, Serialize};

/// Kafka's `acks`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Acks {
    /// Fire and forget: acknowledged when sent.
    Zero,
    /// Acknowledged once the leader appended.
    One,
    /// Acknowledged once every in-sync replica has it (high watermark passed it).
    #[default]
    All,
}

impl Serialize for Acks {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match self {
            Acks::Zero => "0",
            Acks::One => "1",
            Acks::All => "all",
        })
    }
}

impl<'de> Deserialize<'de> for Acks {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Kafka users write acks as a number or as "all"/"-1": accept all of them.
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            I(i64),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::I(0) => Ok(Acks::Zero),
            Raw::I(1) => Ok(Acks::One),
            Raw::I(-1) => Ok(Acks::All),
            Raw::S(s) => match s.as_str() {
                "0" => Ok(Acks::Zero),
                "1" => Ok(Acks::One),
                "all" | "-1" => Ok(Acks::All),
                other => Err(serde::de::Error::custom(format!(
                    "acks must be 0, 1 or \"all\", not {other:?}"
                ))),
            },
            Raw::I(n) => Err(serde::de::Error::custom(format!(
                "acks must be 0, 1 or \"all\", not {n}"
            ))),
        }
    }
}

/// How a follower reconciles its log with a new leader.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum Truncation {
    /// KIP-101/KIP-279: truncate to the end offset of the last common leader epoch.
    #[default]
    LeaderEpoch,
    /// Pre-KIP-101 Kafka: truncate to the local high watermark, with its known losses.
    HighWatermark,
}

/// When a broker fsyncs its log. A crash loses whatever was not flushed.
/// Written as a table (`{ policy = "interval", interval_ms = 1000 }`) or, for
/// the policies without settings, as a bare name (`flush = "every_batch"`).
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Default)]
#[serde(rename_all = "snake_case", tag = "policy")]
pub enum FlushPolicy {
    /// fsync every appended batch before it counts as written (`flush.messages=1`).
    EveryBatch,
    /// Background writeback every `interval_ms` (Kafka's default relies on the
    /// OS page cache; Linux writes dirty pages back within about 5 s).
    Interval {
        /// Writeback period.
        interval_ms: u64,
    },
    /// Never flushed: a crash loses the whole local log.
    Never,
    /// The Linux default writeback, every 5 s.
    #[default]
    Os,
}

impl FlushPolicy {
    /// Whether appends go through the page cache, to be written back by the
    /// kernel (and, for `interval`, by Kafka's periodic fsync).
    pub fn uses_page_cache(&self) -> bool {
        matches!(self, FlushPolicy::Os | FlushPolicy::Interval { .. })
    }
}

/// The table form of [`FlushPolicy`], as serde derives it.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case", tag = "policy", deny_unknown_fields)]
enum FlushTable {
    EveryBatch,
    Interval { interval_ms: u64 },
    Never,
    Os,
}

impl<'de> Deserialize<'de> for FlushPolicy {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Either;
        impl<'de> serde::de::Visitor<'de> for Either {
            type Value = FlushPolicy;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("\"every_batch\", \"os\", \"never\", or a table such as { policy = \"interval\", interval_ms = 1000 }")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<FlushPolicy, E> {
                match v {
                    "every_batch" => Ok(FlushPolicy::EveryBatch),
                    "never" => Ok(FlushPolicy::Never),
                    "os" => Ok(FlushPolicy::Os),
                    "interval" => Err(E::custom(
                        "the interval policy needs its period: write { policy = \"interval\", interval_ms = 1000 }",
                    )),
                    other => Err(E::custom(format!(
                        "unknown flush policy {other:?}: expected \"every_batch\", \"interval\", \"never\" or \"os\""
                    ))),
                }
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<FlushPolicy, A::Error> {
                let t = FlushTable::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(match t {
                    FlushTable::EveryBatch => FlushPolicy::EveryBatch,
                    FlushTable::Interval { interval_ms } => FlushPolicy::Interval { interval_ms },
                    FlushTable::Never => FlushPolicy::Never,
                    FlushTable::Os => FlushPolicy::Os,
                })
            }
        }
        d.deserialize_any(Either)
    }
}

/// Log settings, named after the Kafka configs they model.
#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `acks` used by the gateway's producer.
    pub acks: Acks,
    /// `min.insync.replicas`.
    pub min_insync_replicas: usize,
    /// `unclean.leader.election.enable`.
    pub unclean_leader_election: bool,
    /// KIP-966's eligible leader replicas (`eligible.leader.replicas.enable` in the
    /// KIP; `eligible.leader.replicas.version=1` in Kafka 4.x): the high watermark
    /// advances only with the ISR at min ISR, replicas leaving a smaller ISR stay
    /// electable, and a broker back from an unclean shutdown leaves ISR and ELR.
    pub eligible_leader_replicas: bool,
    /// Follower truncation rule on leader change.
    pub truncation: Truncation,
    /// `replica.lag.time.max.ms`.
    pub replica_lag_time_max_ms: u64,
    /// `replica.fetch.wait.max.ms`: how long a leader parks an empty follower fetch.
    pub replica_fetch_wait_max_ms: u64,
    /// `replica.fetch.max.bytes` per partition per fetch.
    pub replica_fetch_max_bytes: u64,
    /// `broker.session.timeout.ms`: the controller fences a broker silent this long.
    pub broker_session_timeout_ms: u64,
    /// `broker.heartbeat.interval.ms`.
    pub broker_heartbeat_interval_ms: u64,
    /// Flush policy.
    pub flush: FlushPolicy,
    /// How often the high watermark is checkpointed to disk.
    pub hw_checkpoint_interval_ms: u64,
    /// `request.timeout.ms` on the broker for acks=all produce requests.
    pub request_timeout_ms: u64,
    /// `retention.ms`: a segment whose newest record is older than this is deleted.
    pub retention_ms: u64,
    /// `retention.bytes` per partition replica; absent is Kafka's -1, no size limit.
    pub retention_bytes: Option<u64>,
    /// `segment.bytes`: a segment rolls at this size, and retention deletes whole segments.
    pub segment_bytes: u64,
    /// `transaction.max.timeout.ms`: the largest `transaction.timeout.ms` a producer may ask for.
    pub transaction_max_timeout_ms: u64,
    /// Transactional producers' epochs are checked (zombie fencing): off is a safety
    /// switch for negative controls, under which a producer whose transaction the
    /// coordinator aborted keeps writing with its old epoch.
    pub transaction_fencing: bool,
    /// KIP-890's transaction verification: a leader takes the first transactional batch
    /// of a producer in a partition only if its coordinator has that partition in the
    /// producer's ongoing transaction. Off is a safety switch for negative controls,
    /// under which a produce request that arrives after its transaction's marker opens
    /// a transaction no coordinator will close (a hanging transaction).
    pub transaction_verification: bool,
    /// `transaction.state.log.min.isr`: a coordinator writes a state change only with
    /// this many in-sync replicas of its transaction-state partition (else the
    /// producer hears NOT_ENOUGH_REPLICAS and retries), and the change counts once
    /// they all hold it.
    pub transaction_state_min_isr: usize,
    /// A coordinator answers a producer, and acts on a state change, only once the
    /// change is committed in its transaction-state partition (Kafka's behaviour).
    /// Off is a safety switch for negative controls: it answers once the change is in
    /// its own log, so a failover can lose a decision already announced.
    pub coordinator_waits_for_replication: bool,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            acks: Acks::All,
            min_insync_replicas: 2,
            unclean_leader_election: false,
            // Off, as in Kafka 3.x and 4.0 (and clusters upgraded to 4.1 without turning it on).
            eligible_leader_replicas: false,
            truncation: Truncation::LeaderEpoch,
            replica_lag_time_max_ms: 30_000,
            replica_fetch_wait_max_ms: 500,
            replica_fetch_max_bytes: 1 << 20,
            broker_session_timeout_ms: 9_000,
            broker_heartbeat_interval_ms: 2_000,
            flush: FlushPolicy::Os,
            hw_checkpoint_interval_ms: 5_000,
            request_timeout_ms: 30_000,
            // Kafka's defaults: 7 days, no size limit, 1 GiB segments.
            retention_ms: 7 * 24 * 3_600_000,
            retention_bytes: None,
            segment_bytes: 1 << 30,
            // Kafka's default: 15 minutes.
            transaction_max_timeout_ms: 900_000,
            transaction_fencing: true,
            transaction_verification: true,
            transaction_state_min_isr: 2,
            coordinator_waits_for_replication: true,
        }
    }
}

/// The gateway's Kafka producer.
#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields, default)]
pub struct ProducerConfig {
    /// `enable.idempotence`: producer id, epoch and per-partition sequence.
    pub idempotence: bool,
    /// `linger.ms`.
    pub linger_ms: u64,
    /// `batch.size` in bytes.
    pub batch_max_bytes: u64,
    /// `retry.backoff.ms`.
    pub retry_backoff_ms: u64,
    /// `delivery.timeout.ms`: after this the gateway fails the events back to the client.
    pub delivery_timeout_ms: u64,
    /// `request.timeout.ms` on the producer side.
    pub request_timeout_ms: u64,
    /// `metadata.max.age.ms`: periodic metadata refresh.
    pub metadata_max_age_ms: u64,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        ProducerConfig {
            idempotence: true,
            linger_ms: 5,
            batch_max_bytes: 256 * 1024,
            retry_backoff_ms: 100,
            delivery_timeout_ms: 120_000,
            request_timeout_ms: 30_000,
            metadata_max_age_ms: 300_000,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flush(value: &str) -> Result<FlushPolicy, String> {
        let text = format!("[log]\nflush = {value}\n");
        #[derive(Deserialize)]
        struct Doc {
            log: LogConfig,
        }
        toml::from_str::<Doc>(&text)
            .map(|d| d.log.flush)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn flush_takes_the_short_form_and_the_table() {
        assert_eq!(flush("\"every_batch\""), Ok(FlushPolicy::EveryBatch));
        assert_eq!(flush("\"os\""), Ok(FlushPolicy::Os));
        assert_eq!(flush("{ policy = \"every_batch\" }"), Ok(FlushPolicy::EveryBatch));
        assert_eq!(
            flush("{ policy = \"interval\", interval_ms = 250 }"),
            Ok(FlushPolicy::Interval { interval_ms: 250 })
        );
        let e = flush("\"interval\"").unwrap_err();
        assert!(e.contains("interval_ms = 1000") && e.contains("line 2"), "{e}");
        let e = flush("\"sometimes\"").unwrap_err();
        assert!(e.contains("unknown flush policy \"sometimes\""), "{e}");
        let e = flush("{ policy = \"interval\", interval = 250 }").unwrap_err();
        assert!(e.contains("interval"), "{e}");
    }
}
