//! The controller's side of autoscaling: it runs the autoscaler on its tick
//! and carries out what it asks (a broker joins, reassignments start, a
//! broker leaves), and finishes each reassignment once its new replica is
//! in sync. The rules of a move are in `reassignment.rs`.

use super::controller::{change_notes, Controller};
use super::reassignment;
use crate::autoscale::{Action, Move};
use crate::clock;
use crate::ids::BrokerId;
use crate::msg::{Msg, PartitionState};
use crate::world::TimelineKind;
use serde_json::json;
use std::collections::BTreeSet;

impl Controller {
    /// Whether broker slot `b` is a member of the cluster: every slot is
    /// without autoscaling; with it, the first `members` slots (a retired
    /// broker is always the highest member).
    pub(super) fn is_member(&self, b: BrokerId) -> bool {
        self.sh
            .autoscale
            .as_ref()
            .is_none_or(|a| b < a.lock().expect("autoscale lock").members)
    }

    /// Run the autoscaler once and act on its answer.
    pub(super) fn autoscale(&mut self, now_us: u64) {
        let Some(scaler) = &self.sh.autoscale else { return };
        let sh = self.sh.clone();
        let busy = |b: BrokerId| {
            let r = sh.resources[b].lock().expect("resources lock");
            (r.cpu.busy_us_at(now_us), r.cpu.cores())
        };
        let (action, members, cpu) = {
            let st = self.store();
            let mut a = scaler.lock().expect("autoscale lock");
            let action = a.tick(&busy, &st.parts, &st.alive, now_us);
            (action, a.members, a.periods.last().map_or(0.0, |p| p.cpu))
        };
        let cfg = &self.sh.scenario.autoscale;
        match action {
            Action::Wait => {}
            Action::Admit(b) => {
                self.sh.timeline_with(
                    TimelineKind::Autoscale,
                    &format!(
                        "autoscaler: mean broker CPU {:.0}% over the last {} s is above {:.0}%: broker-{b} joins ({} -> {members} brokers)",
                        cpu * 100.0,
                        cfg.period_s,
                        cfg.cpu_scale_out * 100.0,
                        members - 1
                    ),
                    &[b as u64, members as u64],
                    vec![
                        ("broker".into(), json!(b)),
                        ("from".into(), json!(members - 1)),
                        ("to".into(), json!(members)),
                        ("cpu".into(), json!(cpu)),
                    ],
                );
            }
            Action::Start(moves) => {
                let retiring = moves.first().map(|m| m.from).filter(|&f| f + 1 == members);
                if let Some(r) = retiring {
                    self.sh.timeline_with(
                        TimelineKind::Autoscale,
                        &format!(
                            "autoscaler: mean broker CPU {:.0}% over the last {} s is below {:.0}%: broker-{r} retires, its {} replicas move off first",
                            cpu * 100.0,
                            cfg.period_s,
                            cfg.cpu_scale_in * 100.0,
                            moves.len()
                        ),
                        &[r as u64, moves.len() as u64],
                        vec![
                            ("broker".into(), json!(r)),
                            ("moves".into(), json!(moves.len())),
                            ("cpu".into(), json!(cpu)),
                        ],
                    );
                }
                self.start_moves(&moves);
            }
            Action::Retire(b) => {
                self.store().alive[b] = false;
                self.sh.timeline_with(
                    TimelineKind::Autoscale,
                    &format!(
                        "broker-{b} holds no replica any more and leaves the cluster ({} -> {members} brokers)",
                        members + 1
                    ),
                    &[b as u64, members as u64],
                    vec![
                        ("broker".into(), json!(b)),
                        ("from".into(), json!(members + 1)),
                        ("to".into(), json!(members)),
                    ],
                );
            }
        }
    }

    /// Start the reassignments of a step and tell every replica involved.
    fn start_moves(&mut self, moves: &[Move]) {
        let rules = self.rules();
        let cfg = &self.sh.scenario.autoscale;
        let mut changed = BTreeSet::new();
        let mut notes = Vec::new();
        let mut dropped: Vec<(BrokerId, PartitionState)> = Vec::new();
        let mut started = Vec::new();
        {
            let mut st = self.store();
            let alive = st.alive.clone();
            for m in moves {
                let s = &mut st.parts[m.partition];
                let before = s.replicas.clone();
                let (out, gone) = reassignment::start(s, m, cfg.drop_old_replica_first, &|r| alive[r], rules);
                notes.extend(change_notes(s, &out, m.from, "reassignment"));
                changed.insert(m.partition);
                started.push((*m, before, s.replicas.clone(), s.leader));
                dropped.extend(gone.into_iter().map(|g| (g, s.clone())));
                st.dropped.remove(&(m.to, m.partition));
            }
            for (g, s) in &dropped {
                st.dropped.insert((*g, s.partition));
            }
        }
        for (m, before, after, leader) in started {
            let how = if cfg.drop_old_replica_first {
                "the old replica is dropped at once (unsafe order)"
            } else {
                "the old replica stays until the new one is in the ISR"
            };
            self.sh.timeline_with(
                TimelineKind::Reassignment,
                &format!(
                    "reassignment of partition {} starts: replicas {before:?} -> {after:?}; broker-{} copies it from leader {} at up to {} MB/s; {how}",
                    m.partition,
                    m.to,
                    leader.map_or_else(|| "none".to_string(), |l| format!("broker-{l}")),
                    cfg.reassignment_throttle_mb_s
                ),
                &[m.partition as u64, m.from as u64, m.to as u64],
                vec![
                    ("partition".into(), json!(m.partition)),
                    ("from".into(), json!(m.from)),
                    ("to".into(), json!(m.to)),
                    ("replicas_before".into(), json!(before)),
                    ("replicas".into(), json!(after)),
                ],
            );
        }
        self.note(notes);
        self.publish(&changed);
        for (g, s) in dropped {
            self.tell(g, s);
        }
    }

    /// A reassignment finished in `s`: its removed replicas learn they are out.
    pub(super) fn reassignment_done(&mut self, s: PartitionState, gone: Vec<BrokerId>) {
        if let Some(a) = &self.sh.autoscale {
            a.lock().expect("autoscale lock").moves_done += 1;
        }
        self.sh.timeline_with(
            TimelineKind::Reassignment,
            &format!(
                "reassignment of partition {} completes: the new replica is in the ISR {:?}; replicas {:?}, leader {}; removed {gone:?}",
                s.partition,
                s.isr,
                s.replicas,
                s.leader.map_or_else(|| "none".to_string(), |l| format!("broker-{l}")),
            ),
            &[s.partition as u64, s.leader_epoch as u64],
            vec![
                ("partition".into(), json!(s.partition)),
                ("replicas".into(), json!(s.replicas)),
                ("isr".into(), json!(s.isr)),
                ("leader".into(), json!(s.leader)),
                ("removed".into(), json!(gone)),
            ],
        );
        for g in gone {
            self.tell(g, s.clone());
        }
    }

    /// Send one partition's state to a broker that is no longer its replica.
    fn tell(&self, b: BrokerId, s: PartitionState) {
        let dst = self.sh.layout.broker(b);
        self.sh.fabric.send(
            self.sh.layout.controller(),
            dst,
            Msg::LeaderAndIsr { states: vec![s] },
            clock::now_us(),
        );
    }
}
