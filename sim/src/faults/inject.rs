//! Running one scheduled fault: wait for its time, resolve its targets,
//! apply it, wait for its duration, heal it.

use super::{Injector, Undo};
use crate::clock;
use crate::ids::{Addr, Role};
use crate::net::Degrade;
use crate::resources::Slowdown;
use crate::scenario::{FaultKind, FaultSpec, Target};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::Arc;

/// Seconds of a fault setting as virtual ms. Rounded, so a schedule written
/// out in milliseconds (swarm, shrink) replays to the same tick.
fn ms(s: f64) -> u64 {
    (s * 1000.0).round() as u64
}

fn pct(p: f64) -> String {
    let s = format!("{:.3}", p * 100.0);
    format!("{}%", s.trim_end_matches('0').trim_end_matches('.'))
}

impl Injector {
    /// Run fault number `fault` of the schedule to completion (its heal included).
    pub async fn run_fault(self: Arc<Self>, fault: usize, f: FaultSpec) {
        clock::sleep_until_ms(ms(f.at_s)).await;
        if self.sh.is_workload_over() {
            return;
        }
        let kind_name = f.kind.name().as_str();
        let base = |mut v: Vec<(String, Value)>| {
            v.insert(0, ("fault_kind".into(), json!(kind_name)));
            v
        };
        let duration = f.kind.duration_s().map(ms);
        let id = match &f.kind {
            FaultKind::Crash { target, .. } | FaultKind::Isolate { target, .. } | FaultKind::Pause { target, .. } => {
                let mut note = String::new();
                if target.waits_for_checkpoint() {
                    let lake = matches!(target, Target::LakeWriterBeforeManifest(_));
                    let abort = matches!(target, Target::GatewayAfterAbort(_));
                    note = if self.wait_for_checkpoint(target).await {
                        if abort {
                            ", its transaction just aborted"
                        } else if lake {
                            ", with a file put and not yet in the manifest"
                        } else {
                            ", during a checkpoint"
                        }
                        .to_string()
                    } else if abort {
                        format!(
                            ", no aborted transaction within {} s",
                            super::resolve::CHECKPOINT_WAIT_MS / 1000
                        )
                    } else if lake {
                        format!(
                            ", no file between put and manifest within {} s",
                            super::resolve::CHECKPOINT_WAIT_MS / 1000
                        )
                    } else {
                        format!(
                            ", no checkpoint under way within {} s",
                            super::resolve::CHECKPOINT_WAIT_MS / 1000
                        )
                    };
                    if self.sh.is_workload_over() {
                        return;
                    }
                }
                let Some(a) = self.resolve(target) else {
                    return self.skip(fault, &format!("{target} names no node now"));
                };
                let who = format!("{} ({target}{note})", self.label(a));
                let fields = base(vec![
                    ("target".into(), json!(target.to_string())),
                    ("node".into(), json!(self.label(a))),
                ]);
                match &f.kind {
                    FaultKind::Crash { .. } => {
                        if !self.crash(a) {
                            return self.skip(fault, &format!("{} is already down", self.label(a)));
                        }
                        self.begin(fault, format!("crash {who}"), Undo::Restart(a), fields)
                    }
                    FaultKind::Pause { .. } => {
                        if !self.pause(a) {
                            return self.skip(fault, &format!("{} is down or already paused", self.label(a)));
                        }
                        self.begin(fault, format!("pause {who}"), Undo::Resume(a), fields)
                    }
                    _ => {
                        let one: BTreeSet<Addr> = [a].into();
                        let rest = self.all_but(&one);
                        let cuts = self.cuts(&[(one.clone(), rest.clone()), (rest, one)]);
                        self.begin(fault, format!("isolate {who}"), Undo::Cuts(cuts), fields)
                    }
                }
            }
            FaultKind::Partition { side_a, side_b, .. }
            | FaultKind::OneWay {
                from: side_a,
                to: side_b,
                ..
            } => {
                let both = matches!(f.kind, FaultKind::Partition { .. });
                let a = self.resolve_set(side_a);
                // A node named on both sides (say `leader:0` and `broker:1` when
                // broker 1 leads) stays on the first.
                let b = &self.resolve_set(side_b) - &a;
                if a.is_empty() || b.is_empty() {
                    return self.skip(fault, "a side names no node now");
                }
                let (label, mut pairs) = if both {
                    (format!("partition {} | {}", self.names(&a), self.names(&b)), Vec::new())
                } else {
                    (format!("one-way {} -> {}", self.names(&a), self.names(&b)), Vec::new())
                };
                pairs.push((a.clone(), b.clone()));
                if both {
                    pairs.push((b.clone(), a.clone()));
                }
                let cuts = self.cuts(&pairs);
                let fields = base(vec![
                    ("side_a".into(), self.name_list(&a)),
                    ("side_b".into(), self.name_list(&b)),
                ]);
                self.begin(fault, label, Undo::Cuts(cuts), fields)
            }
            FaultKind::Bridge {
                side_a, side_b, bridge, ..
            } => {
                let Some(x) = self.resolve(bridge) else {
                    return self.skip(fault, &format!("bridge {bridge} names no node now"));
                };
                let mut a = self.resolve_set(side_a);
                a.remove(&x);
                let mut b = &self.resolve_set(side_b) - &a;
                b.remove(&x);
                if a.is_empty() || b.is_empty() {
                    return self.skip(fault, "a side names no node now");
                }
                let label = format!("bridge {} <{}> {}", self.names(&a), self.label(x), self.names(&b));
                let cuts = self.cuts(&[(a.clone(), b.clone()), (b.clone(), a.clone())]);
                let fields = base(vec![
                    ("side_a".into(), self.name_list(&a)),
                    ("bridge".into(), json!(self.label(x))),
                    ("side_b".into(), self.name_list(&b)),
                ]);
                self.begin(fault, label, Undo::Cuts(cuts), fields)
            }
            FaultKind::SlowLink {
                side_a,
                side_b,
                extra_latency_ms,
                jitter_ms,
                ..
            } => {
                let d = Degrade {
                    extra_latency_us: (extra_latency_ms * 1000.0).round() as u64,
                    extra_jitter_us: (jitter_ms * 1000.0).round() as u64,
                    ..Default::default()
                };
                let what = format!("slow link +{extra_latency_ms} ms (jitter {jitter_ms} ms)");
                let extra = vec![
                    ("extra_latency_ms".into(), json!(extra_latency_ms)),
                    ("jitter_ms".into(), json!(jitter_ms)),
                ];
                match self.link_fault(fault, side_a, side_b, d, &what, base(extra)) {
                    Some(id) => id,
                    None => return,
                }
            }
            FaultKind::LossyLink {
                side_a, side_b, loss, ..
            } => {
                let d = Degrade {
                    loss: *loss,
                    ..Default::default()
                };
                let what = format!("lossy link {}", pct(*loss));
                let extra = vec![("loss".into(), json!(loss))];
                match self.link_fault(fault, side_a, side_b, d, &what, base(extra)) {
                    Some(id) => id,
                    None => return,
                }
            }
            FaultKind::Duplicate {
                side_a,
                side_b,
                probability,
                ..
            } => {
                let d = Degrade {
                    duplicate: *probability,
                    ..Default::default()
                };
                let what = format!("duplicate {}", pct(*probability));
                let extra = vec![("probability".into(), json!(probability))];
                match self.link_fault(fault, side_a, side_b, d, &what, base(extra)) {
                    Some(id) => id,
                    None => return,
                }
            }
            FaultKind::Reorder {
                side_a,
                side_b,
                probability,
                max_delay_ms,
                ..
            } => {
                let d = Degrade {
                    reorder: *probability,
                    reorder_max_ms: *max_delay_ms,
                    ..Default::default()
                };
                let what = format!("reorder {} up to {max_delay_ms} ms", pct(*probability));
                let extra = vec![
                    ("probability".into(), json!(probability)),
                    ("max_delay_ms".into(), json!(max_delay_ms)),
                ];
                match self.link_fault(fault, side_a, side_b, d, &what, base(extra)) {
                    Some(id) => id,
                    None => return,
                }
            }
            FaultKind::SlowDisk {
                target,
                bandwidth_divisor,
                fsync_multiplier,
                ..
            } => {
                let Some(a) = self.resolve(target) else {
                    return self.skip(fault, &format!("{target} names no node now"));
                };
                let Role::Broker(b) = self.sh.layout.role(a) else {
                    return self.skip(fault, &format!("{target} is not a broker"));
                };
                let slow = Slowdown {
                    bandwidth_divisor: *bandwidth_divisor,
                    fsync_multiplier: *fsync_multiplier,
                };
                self.sh.resources[b]
                    .lock()
                    .expect("resources lock")
                    .disk
                    .set_slowdown(Some(slow));
                let label = format!(
                    "slow disk broker-{b} ({target}): bandwidth /{bandwidth_divisor}, fsync x{fsync_multiplier}"
                );
                let fields = base(vec![
                    ("target".into(), json!(target.to_string())),
                    ("node".into(), json!(format!("broker-{b}"))),
                    ("bandwidth_divisor".into(), json!(bandwidth_divisor)),
                    ("fsync_multiplier".into(), json!(fsync_multiplier)),
                ]);
                self.begin(fault, label, Undo::Disk(b, slow), fields)
            }
        };
        if let Some(d) = duration {
            madsim::time::sleep(std::time::Duration::from_millis(d)).await;
            self.end(id);
        }
    }

    /// Start a link degradation between the resolved sides.
    fn link_fault(
        &self,
        fault: usize,
        side_a: &[Target],
        side_b: &[Target],
        mut d: Degrade,
        what: &str,
        mut fields: Vec<(String, Value)>,
    ) -> Option<super::ActiveId> {
        let global = side_a.is_empty() && side_b.is_empty();
        let (a, b) = self.link_sides(side_a, side_b);
        if a.is_empty() || b.is_empty() {
            self.skip(fault, "a side names no node now");
            return None;
        }
        let label = if global {
            format!("{what} on every link")
        } else if side_b.is_empty() {
            format!("{what} between {} and every other node", self.names(&a))
        } else {
            format!("{what} between {} and {}", self.names(&a), self.names(&b))
        };
        if !global {
            fields.push(("side_a".into(), self.name_list(&a)));
            fields.push(("side_b".into(), self.name_list(&b)));
        }
        d.a = a;
        d.b = b;
        let id = self.degrade(d);
        Some(self.begin(fault, label, Undo::Degrade(id), fields))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn percentages_read_naturally() {
        assert_eq!(super::pct(0.2), "20%");
        assert_eq!(super::pct(0.005), "0.5%");
        assert_eq!(super::pct(0.125), "12.5%");
    }
}
