//! The query load: one node standing for the API servers that read the
//! sink. Reads arrive as a Poisson process at `reads_per_s`; each asks the
//! cache first (cache-aside), reads the database on a miss and fills the
//! cache under the miss's lease. A cache that does not answer within its
//! timeout is skipped for `cache_retry_ms` (a circuit breaker), and reads
//! fall through to the database meanwhile.

use crate::clock;
use crate::msg::Msg;
use crate::serving::wire::ServingMsg;
use crate::world::{Shared, TimelineKind};
use rand::Rng;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Where a read is waiting.
#[derive(Clone, Copy, Debug)]
struct Stage {
    key: u64,
    at_cache: bool,
    lease: Option<u64>,
    deadline_us: u64,
}

/// Entry point of the reader node.
pub async fn reader_main(sh: Arc<Shared>) {
    let addr = sh.layout.reader();
    let cache = sh.layout.cache();
    let cfg = sh.scenario.serving.clone();
    let mut rng = streamsim_workloads::stream_rng(sh.seed, "serving-reader");
    let gap_us = |rng: &mut rand_chacha::ChaCha8Rng| {
        let u: f64 = rng.gen();
        (-(1.0 - u).ln() / cfg.reads_per_s * 1e6) as u64
    };
    let workload_us = (sh.scenario.duration_s * 1e6) as u64;
    let mut next_read_us = gap_us(&mut rng);
    let mut next_req = 0u64;
    let mut stages: BTreeMap<u64, Stage> = BTreeMap::new();
    let mut cache_skipped_until_us = 0u64;
    let send = |m: ServingMsg, to, now_us| sh.fabric.send(addr, to, Msg::Serving(m), now_us);
    let to_db = |req: u64, st: &mut Stage, now_us: u64| {
        st.at_cache = false;
        st.deadline_us = now_us + cfg.db_timeout_ms * 1000;
        send(ServingMsg::DbRead { req, key: st.key }, sh.layout.sink(), now_us);
    };
    let mut inbox = Vec::new();
    loop {
        // Reads stop with the workload, also those due just before it ended.
        let issuing = next_read_us < workload_us && clock::now_us() < workload_us;
        let wake_us = stages
            .values()
            .map(|s| s.deadline_us)
            .chain(issuing.then_some(next_read_us))
            .min()
            .unwrap_or(u64::MAX / 4);
        let now_us = sh
            .fabric
            .recv(addr, wake_us.div_ceil(1000).max(clock::now_ms() + 1), &mut inbox)
            .await;
        let mut serving = sh.serving.lock().expect("serving lock");
        for env in inbox.drain(..) {
            let Msg::Serving(m) = env.msg else { continue };
            match m {
                ServingMsg::Hit { req, value, served_us } if stages.get(&req).is_some_and(|s| s.at_cache) => {
                    stages.remove(&req);
                    serving.answered(req, Some(value), served_us, true, now_us);
                }
                ServingMsg::Miss { req, lease } => {
                    if let Some(st) = stages.get_mut(&req).filter(|s| s.at_cache) {
                        st.lease = Some(lease);
                        to_db(req, st, now_us);
                    }
                }
                ServingMsg::DbValue { req, value, served_us } => {
                    let Some(st) = stages.get(&req).filter(|s| !s.at_cache).copied() else {
                        continue;
                    };
                    stages.remove(&req);
                    serving.answered(req, value, served_us, false, now_us);
                    if let (Some(lease), Some(value)) = (st.lease, value) {
                        send(
                            ServingMsg::Fill {
                                key: st.key,
                                value,
                                lease,
                            },
                            cache,
                            now_us,
                        );
                    }
                }
                _ => {}
            }
        }
        let due: Vec<u64> = stages
            .iter()
            .filter(|(_, s)| s.deadline_us <= now_us)
            .map(|(&r, _)| r)
            .collect();
        for req in due {
            let st = stages.get_mut(&req).expect("due read");
            if st.at_cache {
                serving.stats.cache_timeouts += 1;
                if cache_skipped_until_us <= now_us {
                    sh.timeline(
                        TimelineKind::CacheSkipped,
                        &format!(
                            "the cache did not answer within {} ms: reads go to the database for {} ms",
                            cfg.cache_timeout_ms, cfg.cache_retry_ms
                        ),
                        &[now_us / 1000],
                    );
                }
                cache_skipped_until_us = now_us + cfg.cache_retry_ms * 1000;
                if cfg.fall_through {
                    st.lease = None;
                    to_db(req, st, now_us);
                } else {
                    stages.remove(&req);
                    serving.failed(req);
                }
            } else {
                to_db(req, st, now_us);
            }
        }
        while next_read_us <= now_us && now_us < workload_us {
            next_read_us = next_read_us.saturating_add(gap_us(&mut rng).max(1));
            let (coin, pick): (f64, f64) = (rng.gen(), rng.gen());
            // Nothing to read before the sink's first window.
            let Some(key) = serving.view.pick(cfg.recent_share, coin, pick) else {
                continue;
            };
            next_req += 1;
            let req = next_req;
            serving.stats.in_flight.insert(req, (key, now_us));
            let mut st = Stage {
                key,
                at_cache: cfg.cache,
                lease: None,
                deadline_us: now_us + cfg.cache_timeout_ms * 1000,
            };
            if cfg.cache && cache_skipped_until_us <= now_us {
                send(ServingMsg::Get { req, key }, cache, now_us);
            } else if cfg.cache && !cfg.fall_through {
                // The cache is being skipped and the database is not an option.
                serving.failed(req);
                continue;
            } else {
                to_db(req, &mut st, now_us);
            }
            stages.insert(req, st);
        }
    }
}
