//! Broker autoscaling: an operator beside the controller that looks at the
//! members' mean CPU once a period and adds a broker above `cpu_scale_out`
//! or retires one below `cpu_scale_in`, one step at a time with a cool-down
//! after each. A step is carried out by partition reassignments (see
//! `log::reassignment`): a joining broker first registers, then replicas move
//! onto it; a retiring broker first has every replica moved off, and only
//! then leaves. Brokers past `members` are provisioned slots whose node
//! idles until it is admitted.

pub mod plan;
pub mod report;

use crate::config::AutoscaleConfig;
use crate::ids::BrokerId;
use crate::msg::PartitionState;
pub use plan::Move;

/// A change of the cluster's size, as the JSON reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScaleEvent {
    /// When the size changed, virtual ms: a joining broker is admitted at
    /// the decision (it registers and takes replicas after), a leaving one
    /// leaves once its replicas have moved off.
    pub at_ms: u64,
    /// Members before.
    pub from: usize,
    /// Members after.
    pub to: usize,
}

/// The members' mean CPU over one decision period.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Period {
    /// End of the period, virtual ms.
    pub at_ms: u64,
    /// Members during it.
    pub brokers: usize,
    /// Their mean CPU, a share of their cores.
    pub cpu: f64,
}

/// The step under way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// A broker was admitted and has not registered yet.
    Joining(BrokerId),
    /// Replicas are moving; `retiring` leaves once they all moved.
    Moving { retiring: Option<BrokerId> },
}

/// What the controller must do after a tick.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Nothing.
    Wait,
    /// Broker `0` may start: its node leaves the idle slot and registers.
    Admit(BrokerId),
    /// Start these reassignments.
    Start(Vec<Move>),
    /// Broker `0` holds no replica any more: it leaves the cluster.
    Retire(BrokerId),
}

/// The autoscaler's state (durable: it lives beside the controller's metadata log).
#[derive(Debug)]
pub struct Autoscaler {
    cfg: AutoscaleConfig,
    /// Brokers in the cluster: ids below this run, the rest idle in their slots.
    pub members: usize,
    prev_busy_us: Vec<u64>,
    prev_at_us: u64,
    next_decision_ms: u64,
    cooldown_until_ms: u64,
    step: Option<Step>,
    /// Size changes so far.
    pub events: Vec<ScaleEvent>,
    /// Every period's mean CPU, as the decision saw it.
    pub periods: Vec<Period>,
    /// Reassignments completed.
    pub moves_done: u64,
}

impl Autoscaler {
    /// An autoscaler with `cfg.min_brokers` members at time zero.
    pub fn new(cfg: &AutoscaleConfig) -> Self {
        Autoscaler {
            cfg: cfg.clone(),
            members: cfg.min_brokers,
            prev_busy_us: vec![0; cfg.max_brokers],
            prev_at_us: 0,
            next_decision_ms: (cfg.period_s * 1000.0) as u64,
            cooldown_until_ms: 0,
            step: None,
            events: Vec::new(),
            periods: Vec::new(),
            moves_done: 0,
        }
    }

    /// Whether a step is under way.
    pub fn busy(&self) -> bool {
        self.step.is_some()
    }

    /// One controller tick: measure at a period's end, advance the step under
    /// way, or decide a new one. `parts` and `alive` are the controller's metadata;
    /// `cpu` gives a broker's busy CPU time so far, µs, and its cores.
    pub fn tick(
        &mut self,
        cpu: &dyn Fn(BrokerId) -> (u64, usize),
        parts: &[PartitionState],
        alive: &[bool],
        now_us: u64,
    ) -> Action {
        let now_ms = now_us / 1000;
        let cpu = (now_ms >= self.next_decision_ms).then(|| self.measure(cpu, now_us));
        match self.step {
            Some(Step::Joining(b)) => {
                if !alive[b] {
                    return Action::Wait;
                }
                self.step = Some(Step::Moving { retiring: None });
                return Action::Start(plan::scale_out(parts, self.members, b));
            }
            Some(Step::Moving { retiring }) => {
                if parts.iter().any(|s| !s.adding.is_empty() || !s.removing.is_empty()) {
                    return Action::Wait;
                }
                self.step = None;
                self.cooldown_until_ms = now_ms + (self.cfg.cooldown_s * 1000.0) as u64;
                if let Some(r) = retiring {
                    self.events.push(ScaleEvent {
                        at_ms: now_ms,
                        from: self.members,
                        to: self.members - 1,
                    });
                    self.members -= 1;
                    return Action::Retire(r);
                }
                return Action::Wait;
            }
            None => {}
        }
        let Some(cpu) = cpu else { return Action::Wait };
        if now_ms < self.cooldown_until_ms {
            return Action::Wait;
        }
        match decide(&self.cfg, self.members, cpu) {
            Some(to) if to > self.members => {
                let b = self.members;
                self.events.push(ScaleEvent {
                    at_ms: now_ms,
                    from: self.members,
                    to,
                });
                self.members = to;
                self.step = Some(Step::Joining(b));
                Action::Admit(b)
            }
            Some(_) => {
                let r = self.members - 1;
                let moves = plan::scale_in(parts, self.members, r);
                self.step = Some(Step::Moving { retiring: Some(r) });
                Action::Start(moves)
            }
            None => Action::Wait,
        }
    }

    /// The members' mean CPU since the previous period's end.
    fn measure(&mut self, busy: &dyn Fn(BrokerId) -> (u64, usize), now_us: u64) -> f64 {
        let span = now_us.saturating_sub(self.prev_at_us).max(1) as f64;
        self.prev_at_us = now_us;
        let mut sum = 0.0;
        for (b, prev) in self.prev_busy_us.iter_mut().enumerate() {
            let (busy, cores) = busy(b);
            if b < self.members {
                sum += (busy.saturating_sub(*prev) as f64 / (span * cores as f64)).min(1.0);
            }
            *prev = busy;
        }
        let cpu = sum / self.members.max(1) as f64;
        let now_ms = now_us / 1000;
        self.periods.push(Period {
            at_ms: now_ms,
            brokers: self.members,
            cpu,
        });
        self.next_decision_ms = now_ms + (self.cfg.period_s * 1000.0) as u64;
        cpu
    }
}

/// The size to go to, if any: one more above `cpu_scale_out`, one fewer below `cpu_scale_in`.
pub fn decide(cfg: &AutoscaleConfig, members: usize, cpu: f64) -> Option<usize> {
    if cpu > cfg.cpu_scale_out && members < cfg.max_brokers {
        Some(members + 1)
    } else if cpu < cfg.cpu_scale_in && members > cfg.min_brokers {
        Some(members - 1)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_decision_keeps_within_its_range_and_between_its_thresholds() {
        let cfg = AutoscaleConfig {
            min_brokers: 2,
            max_brokers: 4,
            ..AutoscaleConfig::default()
        };
        assert_eq!(decide(&cfg, 2, 0.75), Some(3));
        assert_eq!(decide(&cfg, 4, 0.95), None);
        assert_eq!(decide(&cfg, 3, 0.50), None);
        assert_eq!(decide(&cfg, 3, 0.20), Some(2));
        assert_eq!(decide(&cfg, 2, 0.05), None);
    }
}
