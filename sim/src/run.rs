//! Running one scenario with one seed: a fresh thread with its own madsim
//! runtime (std's HashMap order and madsim's state are per thread), a
//! wall-clock watchdog outside it, and the assembly of the report.

mod assemble;

use crate::checker;
use crate::clock;
use crate::faults::Injector;
use crate::net::Fabric;
use crate::plugins::Plugins;
use crate::sampler::{Sample, Sampler};
use crate::scenario::LoadedScenario;
use crate::world::{Shared, TimelineKind};
use assemble::{assemble, throughput_check};
pub use assemble::{replay_command, RunOutcome};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use streamsim_workloads::Workload;

/// How to run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Seed.
    pub seed: u64,
    /// Wall-clock limit; past it the run is abandoned with a clear error.
    pub wall_limit: Duration,
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
    /// Virtual time stood still while tasks kept running (a livelock of zero-delay tasks).
    Stalled {
        /// Seed.
        seed: u64,
        /// Virtual time where it stood still.
        virtual_ms: u64,
        /// Wall time it stood still.
        stalled_for: Duration,
        /// What the run was doing when virtual time stopped.
        status: String,
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
            RunError::Stalled {
                seed,
                virtual_ms,
                stalled_for,
                status,
            } => write!(
                f,
                "stalled: seed {seed}: virtual time stood still at {:.3} s for {:.0} s of wall time while {status}: \
                 tasks keep waking each other without time passing (a livelock of zero-delay tasks)",
                *virtual_ms as f64 / 1000.0,
                stalled_for.as_secs_f64()
            ),
            RunError::Panic { seed, message } => write!(f, "seed {seed}: the simulation panicked: {message}"),
        }
    }
}

impl std::error::Error for RunError {}

/// Run a loaded scenario with a seed, in a fresh thread, with the built-in
/// operator chain, sink table and reference model.
pub fn run_scenario(loaded: &LoadedScenario, opts: &RunOptions) -> Result<RunOutcome, RunError> {
    run_scenario_with(loaded, opts, &Plugins::builtin(&loaded.scenario.processor))
}

/// Run a loaded scenario with a seed, in a fresh thread, with a user's
/// operator, sink or reference.
pub fn run_scenario_with(
    loaded: &LoadedScenario,
    opts: &RunOptions,
    plugins: &Plugins,
) -> Result<RunOutcome, RunError> {
    let progress = Arc::new(crate::watch::Progress::default());
    let (tx, rx) = std::sync::mpsc::channel();
    let loaded2 = loaded.clone();
    let seed = opts.seed;
    let progress2 = progress.clone();
    let plugins = plugins.clone();
    let started = Instant::now();
    std::thread::Builder::new()
        .name(format!("seed-{seed}"))
        .spawn(move || {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                simulate(&loaded2, seed, &progress2, plugins)
            }));
            let _ = tx.send(r);
        })
        .expect("spawn the simulation thread");
    let livelock = crate::watch::LIVELOCK_WALL.min(opts.wall_limit);
    match crate::watch::await_result(&rx, &progress, opts.wall_limit, livelock) {
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
        Err(crate::watch::WatchStop::WallLimit) => Err(RunError::Watchdog {
            seed,
            virtual_ms: progress.virtual_ms.load(Ordering::Relaxed),
            limit: opts.wall_limit,
        }),
        Err(crate::watch::WatchStop::Livelock(stalled_for)) => Err(RunError::Stalled {
            seed,
            virtual_ms: progress.virtual_ms.load(Ordering::Relaxed),
            stalled_for,
            status: progress.status(),
        }),
    }
}

fn simulate(loaded: &LoadedScenario, seed: u64, progress: &crate::watch::Progress, plugins: Plugins) -> RunOutcome {
    let rt = madsim::runtime::Runtime::with_seed_and_config(seed, madsim::Config::default());
    rt.add_simulator::<Fabric>();
    rt.block_on(supervise(loaded.clone(), seed, progress, plugins))
}

async fn supervise(
    loaded: LoadedScenario,
    seed: u64,
    progress: &crate::watch::Progress,
    plugins: Plugins,
) -> RunOutcome {
    let _clock = clock::bind();
    let scenario = Arc::new(loaded.scenario.clone());
    let base = loaded.path.parent().unwrap_or(std::path::Path::new("."));
    let workload = Workload::new(&scenario.workload, base).expect("validated before the run");
    let fabric = madsim::plugin::simulator::<Fabric>();
    let sh = Arc::new(Shared::new(scenario.clone(), seed, fabric.clone(), workload, plugins));
    fabric.configure(
        sh.layout.nodes(),
        scenario.network.clone(),
        scenario.resources.nic_gbps,
        seed,
        sh.trace.clone(),
    );
    if let Some(mb_s) = scenario.gateway.nic_mb_s {
        for g in 0..sh.layout.gateways {
            fabric.set_nic_mb_s(sh.layout.gateway(g), mb_s);
        }
    }
    if let Some(mb_s) = scenario.client.nic_mb_s {
        for c in 0..sh.layout.clients {
            fabric.set_nic_mb_s(sh.layout.client(c), mb_s);
        }
    }
    let nodes = spawn_nodes(&sh);
    let injector = Arc::new(Injector::new(sh.clone(), nodes));
    // The scheduled faults, or this seed's draw in swarm mode.
    let fault_tasks: Vec<_> = crate::swarm::schedule(&sh)
        .into_iter()
        .enumerate()
        .map(|(i, f)| madsim::task::spawn(injector.clone().run_fault(i, f)))
        .collect();
    let mut monitor = crate::watch::Monitor::default();
    let mut stall: Option<String>;

    let workload_ms = (scenario.duration_s * 1000.0) as u64;
    let drain_deadline = workload_ms + (scenario.drain_timeout_s * 1000.0) as u64;
    let mut sampler = Sampler::new(sh.layout.brokers, sh.layout.gateways, clock::now_us());
    let mut samples: Vec<Sample> = Vec::new();
    // Utilisation and replication lag are sampled once a bucket; consumer lag, whose maximum
    // is a budget, every second whatever the bucket.
    let bucket_ms = scenario.bucket_ms();
    let mut next_sample = bucket_ms;
    let mut next_lag = 1000;
    let mut draining = false;
    let read_path = sh.layout.processors > 0;
    let lake = sh.layout.lake_writers > 0;
    let subs = sh.layout.subscribers > 0;
    // The lake's freshness, sampled every second of the workload (its p99 is a budget).
    let mut lake_freshness: Vec<(u64, f64)> = Vec::new();
    let mut next_fresh = 1000;
    let mut read_drained_ms: Option<u64> = None;
    let mut max_lag = 0u64;
    let mut audit = checker::log_audit::LogAudit::new(&sh);
    let mut next_fold = checker::log_audit::FOLD_INTERVAL_MS;
    loop {
        let wake = next_sample
            .min(if read_path || subs { next_lag } else { u64::MAX })
            .min(if lake && next_fresh <= workload_ms {
                next_fresh
            } else {
                u64::MAX
            });
        clock::sleep_until_ms(wake.min(if draining { clock::now_ms() + 100 } else { u64::MAX })).await;
        let now = clock::now_ms();
        progress.set(now, || crate::watch::status(&sh, now, workload_ms));
        if (read_path || subs) && now >= next_lag {
            next_lag += 1000;
            if read_path {
                let lag = crate::sampler::consumer_lag(&sh);
                max_lag = max_lag.max(lag.into_iter().max().unwrap_or(0));
            }
            if subs {
                crate::subscription::tick(&sh, now, &audit.folded);
            }
        }
        if lake && now >= next_fresh && next_fresh <= workload_ms {
            next_fresh += 1000;
            lake_freshness.push((now, checker::lake::freshness_s(&sh, clock::now_us())));
        }
        if now >= next_sample {
            next_sample += bucket_ms;
            let inj = injector.clone();
            let layout = sh.layout;
            let sample = sampler.sample(&sh, clock::now_us(), &move |b| !inj.is_down(layout.broker(b)));
            max_lag = max_lag.max(sample.consumer_lag.iter().copied().max().unwrap_or(0));
            samples.push(sample);
            checker::transactions::sample_lso(&sh, now);
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
        // Folding rides on the wake-ups above: it adds none, so it leaves the schedule alone.
        if now >= next_fold {
            next_fold = now + checker::log_audit::FOLD_INTERVAL_MS;
            audit.fold(&sh, now);
        }
        stall = monitor.tick(&sh, now, draining);
        if stall.is_some() || (draining && now >= drain_deadline) {
            break;
        }
        if draining && drained(&sh) {
            if !read_path && !lake && !subs {
                break;
            }
            // Nothing will be appended any more: processors may treat their partitions as complete.
            if !sh.input_closed.swap(true, Ordering::Relaxed) {
                sh.timeline(
                    TimelineKind::Drain,
                    if read_path {
                        "write path drained: input closed, processors fire their remaining windows"
                    } else if !lake {
                        "write path drained: input closed, subscriptions read to the end"
                    } else {
                        "write path drained: input closed, lake writers cut their last files"
                    },
                    &[],
                );
            }
            if read_path && read_drained_ms.is_none() && read_drained(&sh) {
                read_drained_ms = Some(now);
                sh.timeline(
                    TimelineKind::ReadDrained,
                    "read path drained: the sink holds every partition up to its high watermark",
                    &[],
                );
            }
            let subs_drained = !subs || crate::subscription::drained(&sh);
            if (!read_path || read_drained_ms.is_some()) && (!lake || lake_drained(&sh)) && subs_drained {
                if lake {
                    sh.timeline(
                        TimelineKind::ReadDrained,
                        "cold path drained: the lake's manifest reaches every partition's high watermark",
                        &[],
                    );
                }
                break;
            }
        }
    }
    let end_ms = clock::now_ms();
    crate::log::truncation::count_late_acknowledgements(&sh);
    let read = read_path.then(|| checker::ReadDrain {
        drain_s: read_drained_ms.map(|t| t.saturating_sub(workload_ms) as f64 / 1000.0),
        max_lag,
    });
    let fresh: Vec<f64> = lake_freshness.iter().map(|&(_, f)| f).collect();
    let mut check = checker::check(&sh, audit, end_ms, workload_ms, read, lake.then_some(&fresh[..]));
    let throughput = throughput_check(&sh, &mut check, workload_ms);
    crate::watch::annotate(&mut check.violations, stall.as_deref());
    crate::trace_log::note_violation(&sh, &check.violations);
    let out = assemble(
        &loaded,
        &sh,
        seed,
        (check, read, throughput),
        (samples, lake_freshness),
        injector.windows(),
        end_ms,
    );
    injector.teardown(fault_tasks).await;
    out
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
                        crate::ids::Role::Processor(i) => crate::processor::processor_main(s, i).await,
                        crate::ids::Role::Sink => crate::sink::sink_main(s).await,
                        crate::ids::Role::LakeWriter(i) => crate::lake::lake_writer_main(s, i).await,
                        crate::ids::Role::Reader => crate::serving::reader::reader_main(s).await,
                        crate::ids::Role::Cache => crate::serving::cache::cache_main(s).await,
                        crate::ids::Role::Subscriber(i) => crate::subscription::consumer_main(s, i).await,
                    }
                }
            })
            .build();
        sh.fabric.bind(a, node.id());
        ids.push(node.id());
    }
    ids
}

/// The lake's manifest and its group's offsets reach every events partition's high watermark.
fn lake_drained(sh: &Shared) -> bool {
    let lake = sh.lake.lock().expect("lake lock");
    (0..sh.event_partitions).all(|p| {
        let hw = sh.committed_hw(p);
        lake.manifest_end(p) >= hw && lake.offsets[p] >= hw
    })
}

/// The processor committed every events partition up to its high watermark, with final windows.
fn read_drained(sh: &Shared) -> bool {
    sh.read_progress().iter().all(|r| r.done())
}

/// Every event settled and every partition's followers caught up with their leader.
fn drained(sh: &Shared) -> bool {
    let ledger = sh.ledger.lock().expect("ledger lock");
    if !ledger.all_generated() || ledger.unsettled() > 0 {
        return false;
    }
    drop(ledger);
    let md = sh.metadata.lock().expect("metadata lock").clone();
    let board = sh.hw_board.lock().expect("hw board lock").clone();
    md.iter().all(|s| {
        let Some(l) = s.leader else { return false };
        let leo = sh.leo(l, s.partition);
        let (b, e, hw) = board[s.partition];
        leo == 0 || (b == l && e == s.leader_epoch && hw == leo)
    })
}
