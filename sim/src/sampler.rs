//! Once per virtual second, the state that is not an event count:
//! replication lag per partition and resource utilisation per broker and
//! per gateway.

use crate::ids::Addr;
use crate::resources::Cpu;
use crate::world::Shared;
use std::sync::Mutex;
use streamsim_reports::Utilisation;

/// The busy fractions of a node's CPU (over its cores) and NIC since `prev`, the busy
/// µs of both at the last sample, over `span` µs; `prev` moves to now.
fn cpu_and_nic(
    sh: &Shared,
    cpu: &Mutex<Cpu>,
    node: Addr,
    now_us: u64,
    span: f64,
    prev: &mut (u64, u64),
) -> Utilisation {
    let c = cpu.lock().expect("cpu lock");
    let (busy, cores) = (c.busy_us_at(now_us), c.cores());
    drop(c);
    let nic = sh.fabric.nic_busy_us(node);
    let u = Utilisation {
        cpu: (busy.saturating_sub(prev.0) as f64 / (span * cores as f64)).min(1.0),
        nic: (nic.saturating_sub(prev.1) as f64 / span).min(1.0),
        ..Default::default()
    };
    *prev = (busy, nic);
    u
}

/// One sample, taken at a bucket's end.
#[derive(Clone, Debug, Default)]
pub struct Sample {
    /// Leader end offset minus the furthest-behind live replica, per events partition.
    pub hw_lag: Vec<u64>,
    /// Per broker.
    pub brokers: Vec<Utilisation>,
    /// Per gateway (CPU and NIC; a gateway has no disk).
    pub gateways: Vec<Utilisation>,
    /// The clients' CPU and NIC, their mean and the busiest.
    pub clients: Option<streamsim_reports::ClientsUtilisation>,
    /// High watermark minus the processor's committed offset, per events partition (empty without a read path).
    pub consumer_lag: Vec<u64>,
}

/// Consumer lag per events partition: committed records the processor has not committed to the sink.
pub fn consumer_lag(sh: &Shared) -> Vec<u64> {
    if sh.layout.processors == 0 {
        return Vec::new();
    }
    sh.read_progress().iter().map(|r| r.lag()).collect()
}

/// Keeps the previous busy counters to turn them into fractions.
pub struct Sampler {
    prev: Vec<(u64, u64, u64)>,
    prev_gateways: Vec<(u64, u64)>,
    /// Per client, sized at the first sample.
    prev_clients: Vec<(u64, u64)>,
    prev_us: u64,
}

impl Sampler {
    /// A sampler starting at `now_us`.
    pub fn new(brokers: usize, gateways: usize, now_us: u64) -> Self {
        Sampler {
            prev: vec![(0, 0, 0); brokers],
            prev_gateways: vec![(0, 0); gateways],
            prev_clients: Vec::new(),
            prev_us: now_us,
        }
    }

    /// Take a sample; `up` tells which brokers are running.
    pub fn sample(&mut self, sh: &Shared, now_us: u64, up: &dyn Fn(usize) -> bool) -> Sample {
        let span = (now_us - self.prev_us).max(1) as f64;
        self.prev_us = now_us;
        let mut brokers = Vec::with_capacity(self.prev.len());
        for (b, prev) in self.prev.iter_mut().enumerate() {
            let r = sh.resources[b].lock().expect("resources lock");
            let (cpu, disk, cores) = (r.cpu.busy_us_at(now_us), r.disk.busy_us_at(now_us), r.cpu.cores());
            drop(r);
            let nic = sh.fabric.nic_busy_us(sh.layout.broker(b));
            let dirty = sh.disks[b]
                .lock()
                .expect("disk lock")
                .page_cache
                .fill(&sh.scenario.resources);
            brokers.push(Utilisation {
                cpu: (cpu.saturating_sub(prev.0) as f64 / (span * cores as f64)).min(1.0),
                disk: (disk.saturating_sub(prev.1) as f64 / span).min(1.0),
                nic: ((nic - prev.2) as f64 / span).min(1.0),
                dirty,
            });
            *prev = (cpu, disk, nic);
        }
        let mut gateways = Vec::with_capacity(self.prev_gateways.len());
        for (g, prev) in self.prev_gateways.iter_mut().enumerate() {
            gateways.push(cpu_and_nic(
                sh,
                &sh.gateway_cpu[g],
                sh.layout.gateway(g),
                now_us,
                span,
                prev,
            ));
        }
        let clients = self.clients(sh, now_us, span);
        let md = sh.metadata.lock().expect("metadata lock").clone();
        let mut hw_lag = Vec::with_capacity(sh.event_partitions);
        for s in md.iter().take(sh.event_partitions) {
            let leo = |b: usize| sh.leo(b, s.partition);
            let lag = match s.leader {
                Some(l) => {
                    let lead = leo(l);
                    s.replicas
                        .iter()
                        .filter(|&&r| r != l && up(r))
                        .map(|&r| lead.saturating_sub(leo(r)))
                        .max()
                        .unwrap_or(0)
                }
                None => 0,
            };
            hw_lag.push(lag);
        }
        Sample {
            hw_lag,
            brokers,
            gateways,
            clients: Some(clients),
            consumer_lag: consumer_lag(sh),
        }
    }

    /// The clients' busy fractions since the last sample, over `span` µs.
    fn clients(&mut self, sh: &Shared, now_us: u64, span: f64) -> streamsim_reports::ClientsUtilisation {
        self.prev_clients.resize(sh.layout.clients, (0, 0));
        let mut each = Vec::with_capacity(self.prev_clients.len());
        for (c, prev) in self.prev_clients.iter_mut().enumerate() {
            each.push(cpu_and_nic(
                sh,
                &sh.client_cpu[c],
                sh.layout.client(c),
                now_us,
                span,
                prev,
            ));
        }
        streamsim_reports::ClientsUtilisation::of(&each)
    }
}
