//! Running one scenario with one seed: a fresh thread with its own madsim
//! runtime (std's HashMap order and madsim's state are per thread), a
//! wall-clock watchdog outside it, and the assembly of the report.

use crate::checker;
use crate::clock;
use crate::faults::Injector;
use crate::net::Fabric;
use crate::sampler::{Sample, Sampler};
use crate::scenario::{Expect, LoadedScenario};
use crate::world::{Shared, TimelineEntry, TimelineKind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use streamsim_reports::{Bucket, Percentiles, RunReport, RunResult, Verdict};
use streamsim_workloads::Workload;

/// How to run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Seed.
    pub seed: u64,
    /// Wall-clock limit; past it the run is abandoned with a clear error.
    pub wall_limit: Duration,
}

/// A finished run.
pub struct RunOutcome {
    /// Everything the reports need.
    pub report: RunReport,
    /// Protocol steps and faults in virtual-time order.
    pub timeline: Vec<TimelineEntry>,
    /// Digest of the generated event stream (independent of faults).
    pub workload_hash: String,
}

/// A run that did not finish.
#[derive(Debug)]
pub enum RunError {
    /// The wall-clock watchdog fired.
    Watchdog {
        /// Seed.
        seed: u64,
        /// Virtual time reached.
        virtual_ms: u64,
        /// Wall limit.
        limit: Duration,
    },
    /// The simulation panicked (a bug in the harness or a madsim deadlock).
    Panic {
        /// Seed.
        seed: u64,
        /// Panic message.
        message: String,
    },
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Watchdog { seed, virtual_ms, limit } => write!(
                f,
                "watchdog: seed {seed} made no progress to completion within {} s of wall time (virtual time reached {:.3} s)",
                limit.as_secs_f64(),
                *virtual_ms as f64 / 1000.0
            ),
            RunError::Panic { seed, message } => write!(f, "seed {seed}: the simulation panicked: {message}"),
        }
    }
}

impl std::error::Error for RunError {}

/// The command that replays a run.
pub fn replay_command(path: &std::path::Path, seed: u64) -> String {
    format!("streamsim run {} --seed {seed}", path.display())
}

/// Run a loaded scenario with a seed, in a fresh thread.
pub fn run_scenario(loaded: &LoadedScenario, opts: &RunOptions) -> Result<RunOutcome, RunError> {
    let progress = Arc::new(AtomicU64::new(0));
    let (tx, rx) = std::sync::mpsc::channel();
    let loaded2 = loaded.clone();
    let seed = opts.seed;
    let progress2 = progress.clone();
    let started = Instant::now();
    std::thread::Builder::new()
        .name(format!("seed-{seed}"))
        .spawn(move || {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| simulate(&loaded2, seed, &progress2)));
            let _ = tx.send(r);
        })
        .expect("spawn the simulation thread");
    match rx.recv_timeout(opts.wall_limit) {
        Ok(Ok(mut out)) => {
            out.report.result.wall_s = started.elapsed().as_secs_f64();
            Ok(out)
        }
        Ok(Err(p)) => {
            let message = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            Err(RunError::Panic { seed, message })
        }
        Err(_) => Err(RunError::Watchdog {
            seed,
            virtual_ms: progress.load(Ordering::Relaxed),
            limit: opts.wall_limit,
        }),
    }
}

fn simulate(loaded: &LoadedScenario, seed: u64, progress: &AtomicU64) -> RunOutcome {
    let rt = madsim::runtime::Runtime::with_seed_and_config(seed, madsim::Config::default());
    rt.add_simulator::<Fabric>();
    rt.block_on(supervise(loaded.clone(), seed, progress))
}

async fn supervise(loaded: LoadedScenario, seed: u64, progress: &AtomicU64) -> RunOutcome {
    let scenario = Arc::new(loaded.scenario.clone());
    let base = loaded.path.parent().unwrap_or(std::path::Path::new("."));
    let workload = Workload::new(&scenario.workload, base).expect("validated before the run");
    let fabric = madsim::plugin::simulator::<Fabric>();
    let sh = Arc::new(Shared::new(scenario.clone(), seed, fabric.clone(), workload));
    fabric.configure(
        sh.layout.nodes(),
        scenario.network.clone(),
        scenario.resources.nic_gbps,
        seed,
        sh.trace.clone(),
    );
    let nodes = spawn_nodes(&sh);
    let injector = Arc::new(Injector::new(sh.clone(), nodes));
    for f in scenario.faults.iter().cloned() {
        madsim::task::spawn(injector.clone().run_fault(f));
    }

    let workload_ms = (scenario.duration_s * 1000.0) as u64;
    let drain_deadline = workload_ms + (scenario.drain_timeout_s * 1000.0) as u64;
    let mut sampler = Sampler::new(sh.layout.brokers, clock::now_us());
    let mut samples: Vec<Sample> = Vec::new();
    let mut next_sample = 1000;
    let mut draining = false;
    loop {
        clock::sleep_until_ms(next_sample.min(if draining { clock::now_ms() + 100 } else { u64::MAX })).await;
        let now = clock::now_ms();
        progress.store(now, Ordering::Relaxed);
        if now >= next_sample {
            next_sample += 1000;
            let inj = injector.clone();
            let layout = sh.layout;
            samples.push(sampler.sample(&sh, clock::now_us(), &move |b| !inj.is_down(layout.broker(b))));
        }
        if !draining && now >= workload_ms {
            draining = true;
            sh.workload_over.store(true, Ordering::Relaxed);
            sh.timeline(
                TimelineKind::Drain,
                "workload over: every fault heals, the drain begins",
                &[],
            );
            injector.heal_all();
        }
        if draining && (drained(&sh) || now >= drain_deadline) {
            break;
        }
    }
    let end_ms = clock::now_ms();
    let check = checker::check(&sh, end_ms, workload_ms);
    assemble(&loaded, &sh, seed, check, samples, injector.windows(), end_ms)
}

fn spawn_nodes(sh: &Arc<Shared>) -> Vec<madsim::task::NodeId> {
    let handle = madsim::runtime::Handle::current();
    let l = sh.layout;
    let mut ids = Vec::with_capacity(l.nodes());
    for i in 0..l.nodes() {
        let a = crate::ids::Addr(i as u32);
        let role = l.role(a);
        let s = sh.clone();
        let node = handle
            .create_node()
            .name(role.to_string())
            .init(move || {
                let s = s.clone();
                async move {
                    match role {
                        crate::ids::Role::Controller => crate::log::controller::controller_main(s).await,
                        crate::ids::Role::Broker(b) => crate::log::broker::broker_main(s, b).await,
                        crate::ids::Role::Gateway(g) => crate::gateway::gateway_main(s, g).await,
                        crate::ids::Role::Client(c) => crate::client::client_main(s, c).await,
                        crate::ids::Role::Processor(_) | crate::ids::Role::Sink => {
                            unreachable!("the read path is not spawned yet")
                        }
                    }
                }
            })
            .build();
        sh.fabric.bind(a, node.id());
        ids.push(node.id());
    }
    ids
}

/// Every event settled and every partition's followers caught up with their leader.
fn drained(sh: &Shared) -> bool {
    if sh.ledger.lock().expect("ledger lock").unsettled() > 0 {
        return false;
    }
    let md = sh.metadata.lock().expect("metadata lock").clone();
    let board = sh.hw_board.lock().expect("hw board lock").clone();
    md.iter().all(|s| {
        let Some(l) = s.leader else { return false };
        let leo = sh.leo(l, s.partition);
        let (b, e, hw) = board[s.partition];
        leo == 0 || (b == l && e == s.leader_epoch && hw == leo)
    })
}

fn assemble(
    loaded: &LoadedScenario,
    sh: &Shared,
    seed: u64,
    check: checker::CheckReport,
    samples: Vec<Sample>,
    faults: Vec<streamsim_reports::FaultWindow>,
    end_ms: u64,
) -> RunOutcome {
    let s = &loaded.scenario;
    let metrics = sh.metrics.lock().expect("metrics lock");
    let nb = (end_ms / metrics.bucket_ms + 1) as usize;
    let mut buckets = Vec::with_capacity(nb);
    let mut ack_intervals = Vec::with_capacity(nb);
    for i in 0..nb {
        let acc = metrics.buckets.get(i);
        let sample = samples.get(i).cloned().unwrap_or_default();
        let hist = acc
            .map(|a| a.ack.clone())
            .unwrap_or_else(streamsim_reports::latency_histogram);
        buckets.push(Bucket {
            start_ms: i as u64 * metrics.bucket_ms,
            sent: acc.map_or(0, |a| a.sent),
            acked: acc.map_or(0, |a| a.acked),
            appended: acc.map_or(0, |a| a.appended),
            ack_latency_ms: Percentiles::from_micros(&hist),
            partition_appends: acc.map_or_else(|| vec![0; sh.event_partitions], |a| a.partition_appends.clone()),
            partition_hw_lag: if sample.hw_lag.is_empty() {
                vec![0; sh.event_partitions]
            } else {
                sample.hw_lag
            },
            brokers: if sample.brokers.is_empty() {
                vec![Default::default(); sh.layout.brokers]
            } else {
                sample.brokers
            },
        });
        ack_intervals.push(hist);
    }
    let ack_latency_us = metrics.ack.clone();
    drop(metrics);
    // Fold the outcome into the trace so equal hashes mean equal verdicts too.
    sh.trace.record(&[
        check.sent,
        check.acked,
        check.lost,
        check.duplicated,
        check.retry_copies,
        end_ms,
    ]);
    let verdict = if check.violations.is_empty() {
        Verdict::Pass
    } else {
        Verdict::Violation
    };
    let result = RunResult {
        scenario: s.name.clone(),
        scenario_path: loaded.path.display().to_string(),
        seed,
        verdict,
        expect: match s.expect {
            Expect::Pass => Verdict::Pass,
            Expect::Violation => Verdict::Violation,
        },
        violations: check.violations,
        trace_hash: sh.trace.hex(),
        events_sent: check.sent,
        events_acked: check.acked,
        events_lost: check.lost,
        events_duplicated: check.duplicated,
        events_uncertain: check.uncertain,
        retry_copies: check.retry_copies,
        events_dead_lettered: check.dead_lettered,
        backpressure_rejections: 0,
        ack_latency_ms: check.ack,
        budgets: check.budgets,
        virtual_s: end_ms as f64 / 1000.0,
        wall_s: 0.0,
        replay: replay_command(&loaded.path, seed),
    };
    let knobs = crate::scenario::knobs(s);
    RunOutcome {
        report: RunReport {
            result,
            bucket_ms: 1000,
            buckets,
            ack_intervals,
            ack_latency_us,
            faults,
            knobs,
            brokers: sh.layout.brokers,
            partitions: sh.event_partitions,
        },
        timeline: sh.timeline.lock().expect("timeline lock").clone(),
        workload_hash: sh.workload_digest(),
    }
}
