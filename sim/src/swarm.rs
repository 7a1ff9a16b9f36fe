//! Swarm mode: each seed draws its own fault schedule within the bounds of
//! a `[faults]` table with `mode = "swarm"`. As in swarm testing (Groce et
//! al., ISSTA 2012), a seed first draws which fault kinds are on at all,
//! then a rate for each, so some seeds hammer one kind while others mix a
//! few: combinations a fixed mix of everything would rarely reach.
//!
//! The draw uses its own ChaCha stream (seed, "swarm"), touching neither
//! madsim's generator nor any other stream, so the drawn schedule written
//! out as a plain scheduled scenario (`schedule.toml`) replays to the same
//! outcome.

use crate::rewrite::ScenarioText;
use crate::scenario::{FaultKind, FaultKindName, FaultSpec, LoadedScenario, Scenario, SwarmSpec, Target};
use crate::world::{Shared, TimelineEntry, TimelineKind};
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// What a seed drew.
#[derive(Clone, Debug, PartialEq)]
pub struct Draw {
    /// Kinds that are on, with their rates (faults per minute).
    pub kinds: Vec<(FaultKindName, f64)>,
    /// The schedule, by start time.
    pub faults: Vec<FaultSpec>,
}

fn uniform(rng: &mut ChaCha8Rng, [lo, hi]: [f64; 2]) -> f64 {
    lo + (hi - lo) * rng.gen::<f64>()
}

/// Round to `digits` decimals, so the written schedule is readable and
/// parses back to exactly the value that was run.
fn round(x: f64, digits: i32) -> f64 {
    let m = 10f64.powi(digits);
    (x * m).round() / m
}

/// Split `ts` into two non-empty sides at random (`ts` has at least two).
fn split(rng: &mut ChaCha8Rng, ts: &[Target]) -> (Vec<Target>, Vec<Target>) {
    let (mut a, mut b): (Vec<Target>, Vec<Target>) = (Vec::new(), Vec::new());
    for t in ts {
        if rng.gen_bool(0.5) {
            a.push(t.clone());
        } else {
            b.push(t.clone());
        }
    }
    if a.is_empty() {
        a.push(b.remove(rng.gen_range(0..b.len())));
    } else if b.is_empty() {
        b.push(a.remove(rng.gen_range(0..a.len())));
    }
    (a, b)
}

fn pick(rng: &mut ChaCha8Rng, ts: &[Target]) -> Target {
    ts[rng.gen_range(0..ts.len())].clone()
}

/// One fault of kind `k` lasting `d` seconds.
fn make(
    k: FaultKindName,
    d: f64,
    w: &SwarmSpec,
    singles: &[Target],
    sets: &[Target],
    rng: &mut ChaCha8Rng,
) -> FaultKind {
    let prob = |rng: &mut ChaCha8Rng, b| round(uniform(rng, b), 4);
    // A reorder window covers every link half the time, else one node's
    // links. Duplicate windows are always one target's links: targets are
    // never clients, so a client's request is not duplicated on its way to
    // a gateway (no transport does that, and no gateway claims to survive it).
    let window_sides = |rng: &mut ChaCha8Rng, global: bool| {
        if global && rng.gen_bool(0.5) {
            (Vec::new(), Vec::new())
        } else {
            (vec![pick(rng, sets)], Vec::new())
        }
    };
    match k {
        FaultKindName::Crash => FaultKind::Crash {
            target: pick(rng, singles),
            restart_after_s: w.restart.then_some(d),
        },
        FaultKindName::Isolate => FaultKind::Isolate {
            target: pick(rng, singles),
            duration_s: d,
        },
        FaultKindName::Pause => FaultKind::Pause {
            target: pick(rng, singles),
            duration_s: d,
        },
        FaultKindName::Partition => {
            let (side_a, side_b) = split(rng, sets);
            FaultKind::Partition {
                side_a,
                side_b,
                duration_s: d,
            }
        }
        FaultKindName::OneWay => {
            let (from, to) = split(rng, sets);
            FaultKind::OneWay {
                from,
                to,
                duration_s: d,
            }
        }
        FaultKindName::Bridge => {
            let mut ts = sets.to_vec();
            ts.shuffle(rng);
            let bridge = ts.remove(0);
            let (side_a, side_b) = split(rng, &ts);
            FaultKind::Bridge {
                side_a,
                side_b,
                bridge,
                duration_s: d,
            }
        }
        FaultKindName::SlowLink => {
            let extra = round(uniform(rng, w.extra_latency_ms), 1);
            FaultKind::SlowLink {
                side_a: vec![pick(rng, sets)],
                side_b: Vec::new(),
                extra_latency_ms: extra,
                jitter_ms: round(extra / 4.0, 1),
                duration_s: d,
            }
        }
        FaultKindName::LossyLink => FaultKind::LossyLink {
            side_a: vec![pick(rng, sets)],
            side_b: Vec::new(),
            loss: prob(rng, w.loss),
            duration_s: d,
        },
        FaultKindName::Duplicate => {
            let (side_a, side_b) = window_sides(rng, false);
            FaultKind::Duplicate {
                side_a,
                side_b,
                probability: prob(rng, w.duplicate),
                duration_s: d,
            }
        }
        FaultKindName::Reorder => {
            let (side_a, side_b) = window_sides(rng, true);
            FaultKind::Reorder {
                side_a,
                side_b,
                probability: prob(rng, w.reorder),
                max_delay_ms: w.reorder_max_ms,
                duration_s: d,
            }
        }
        FaultKindName::SlowDisk => {
            let brokers: Vec<Target> = singles.iter().filter(|t| t.is_broker()).cloned().collect();
            let f = round(uniform(rng, w.disk_slowdown), 1).max(1.0);
            FaultKind::SlowDisk {
                target: pick(rng, &brokers),
                bandwidth_divisor: f,
                fsync_multiplier: f,
                duration_s: d,
            }
        }
    }
}

/// Draw a seed's schedule within the (validated) bounds `w`.
pub fn draw(w: &SwarmSpec, s: &Scenario, seed: u64) -> Draw {
    let mut rng = streamsim_workloads::stream_rng(seed, "swarm");
    let singles = w.targets_in(s.topology.brokers);
    let sets: Vec<Target> = singles.iter().filter(|t| !t.waits_for_checkpoint()).cloned().collect();
    let mut on: Vec<FaultKindName> = w.kinds.iter().copied().filter(|_| rng.gen_bool(0.5)).collect();
    if on.is_empty() {
        on.push(w.kinds[rng.gen_range(0..w.kinds.len())]);
    }
    let start = w.start_s;
    let end = w.end_s.unwrap_or(s.duration_s);
    let mut kinds = Vec::new();
    let mut faults = Vec::new();
    for k in on {
        let rate = round(uniform(&mut rng, w.rate_per_min), 2);
        kinds.push((k, rate));
        if rate <= 0.0 {
            continue;
        }
        // A Poisson process of `rate` faults per minute over the fault period.
        let mut t = start;
        loop {
            let u: f64 = rng.gen_range(f64::MIN_POSITIVE..1.0);
            t += -u.ln() * 60.0 / rate;
            let at_s = round(t, 3);
            if at_s >= end {
                break;
            }
            let d = round(uniform(&mut rng, w.duration_s), 3).max(0.001);
            faults.push(FaultSpec {
                at_s,
                kind: make(k, d, w, &singles, &sets, &mut rng),
            });
        }
    }
    // Stable: faults drawn at the same millisecond keep their kind order.
    faults.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
    Draw { kinds, faults }
}

/// The faults a run injects: the scheduled list, or this seed's draw.
pub fn faults_for(s: &Scenario, seed: u64) -> Vec<FaultSpec> {
    match s.faults.swarm() {
        Some(w) => draw(w, s, seed).faults,
        None => s.faults.to_vec(),
    }
}

/// Whether the run's fault schedule crashes client `idx` (its source then keeps a checkpoint).
pub fn may_crash_client(s: &Scenario, seed: u64, idx: usize) -> bool {
    faults_for(s, seed)
        .iter()
        .any(|f| matches!(&f.kind, FaultKind::Crash { target: Target::Client(c), .. } if *c == idx))
}

/// The run's fault schedule; in swarm mode the draw is also listed in the
/// timeline at time zero. Those entries stay out of the trace hash, so a
/// swarm run and the replay of its `schedule.toml` hash alike.
pub fn schedule(sh: &Shared) -> Vec<FaultSpec> {
    let s = &sh.scenario;
    let Some(w) = s.faults.swarm() else {
        return s.faults.to_vec();
    };
    let d = draw(w, s, sh.seed);
    let mut tl = sh.timeline.lock().expect("timeline lock");
    let on: Vec<String> = d.kinds.iter().map(|(k, r)| format!("{} {r}/min", k.as_str())).collect();
    tl.push(TimelineEntry {
        at_ms: 0,
        kind: TimelineKind::Swarm,
        text: format!("swarm draws {} fault(s); kinds on: {}", d.faults.len(), on.join(", ")),
        words: Vec::new(),
        fields: vec![
            ("faults".into(), serde_json::json!(d.faults.len())),
            (
                "kinds".into(),
                serde_json::json!(d.kinds.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>()),
            ),
        ],
    });
    for (i, f) in d.faults.iter().enumerate() {
        tl.push(TimelineEntry {
            at_ms: 0,
            kind: TimelineKind::Swarm,
            text: format!("#{i} at {:.3} s: {}", f.at_s, describe(&f.kind)),
            words: Vec::new(),
            fields: vec![
                ("fault".into(), serde_json::json!(i)),
                ("at_s".into(), serde_json::json!(f.at_s)),
                ("spec".into(), serde_json::to_value(&f.kind).unwrap_or_default()),
            ],
        });
    }
    d.faults
}

/// A one-line description of a fault setting, as it is written in a file.
pub fn describe(k: &FaultKind) -> String {
    match serde_json::to_value(k) {
        Ok(serde_json::Value::Object(m)) => {
            let rest: Vec<String> = m
                .iter()
                .filter(|(key, _)| key.as_str() != "kind")
                .map(|(key, v)| match v {
                    serde_json::Value::String(s) => format!("{key}={s}"),
                    other => format!("{key}={other}"),
                })
                .collect();
            format!("{} {}", k.name().as_str(), rest.join(" "))
        }
        _ => format!("{k:?}"),
    }
}

/// For a swarm scenario, its text with this seed's draw in place of the
/// bounds: a plain scheduled scenario that replays to the same outcome.
/// `None` for a scenario that is already scheduled.
pub fn scheduled_text(loaded: &LoadedScenario, seed: u64) -> Option<String> {
    let w = loaded.scenario.faults.swarm()?;
    let d = draw(w, &loaded.scenario, seed);
    let mut t = ScenarioText::parse(&loaded.text).ok()?;
    t.set_faults(&d.faults);
    t.absolutize_paths(loaded.path.parent().unwrap_or(std::path::Path::new(".")));
    let header = format!(
        "The fault schedule swarm mode drew for seed {seed} from {}.\nReplay: streamsim run schedule.toml --seed {seed}",
        loaded.path.file_name().map_or_else(|| "the scenario".into(), |n| n.to_string_lossy().into_owned()),
    );
    Some(t.render(&header))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{parse_scenario, FaultKind};
    use std::path::Path;

    const TEXT: &str = "name = \"s\"\nexpect = \"pass\"\nduration_s = 60\n[workload]\nrate = { kind = \"constant\", events_per_s = 100 }\n\
                        [faults]\nmode = \"swarm\"\nstart_s = 5\nend_s = 50\nrate_per_min = [4, 10]\nduration_s = [1, 3]\n\
                        targets = [\"broker:0\", \"broker:1\", \"broker:2\", \"controller\", \"leader:1\"]\n";

    fn scenario() -> Scenario {
        parse_scenario(Path::new("s.toml"), TEXT).unwrap().scenario
    }

    #[test]
    fn a_seed_always_draws_the_same_schedule_and_seeds_differ() {
        let s = scenario();
        let w = s.faults.swarm().unwrap();
        assert_eq!(draw(w, &s, 7), draw(w, &s, 7));
        let distinct: std::collections::BTreeSet<String> =
            (0..20).map(|seed| format!("{:?}", draw(w, &s, seed).faults)).collect();
        assert!(distinct.len() > 15, "{} distinct schedules of 20", distinct.len());
    }

    #[test]
    fn draws_stay_within_the_bounds() {
        let s = scenario();
        let w = s.faults.swarm().unwrap();
        let mut kinds_seen = std::collections::BTreeSet::new();
        for seed in 0..200 {
            let d = draw(w, &s, seed);
            assert!(!d.kinds.is_empty());
            for (k, rate) in &d.kinds {
                assert!(w.kinds.contains(k) && (4.0..=10.0).contains(rate), "{k:?} {rate}");
            }
            for f in &d.faults {
                kinds_seen.insert(f.kind.name());
                assert!(d.kinds.iter().any(|(k, _)| *k == f.kind.name()));
                assert!((5.0..50.0).contains(&f.at_s), "{}", f.at_s);
                let dur = f.kind.duration_s().expect("crashes restart");
                assert!((1.0..=3.0).contains(&dur), "{dur}");
                match &f.kind {
                    FaultKind::Bridge {
                        side_a, side_b, bridge, ..
                    } => {
                        assert!(!side_a.is_empty() && !side_b.is_empty());
                        assert!(!side_a.contains(bridge) && !side_b.contains(bridge));
                    }
                    FaultKind::Duplicate { side_a, .. } => assert_eq!(side_a.len(), 1, "never every link"),
                    FaultKind::SlowDisk { target, .. } => assert!(target.is_broker()),
                    _ => {}
                }
            }
            // What a seed draws, written out, is a valid scheduled scenario.
            let mut t = ScenarioText::parse(TEXT).unwrap();
            t.set_faults(&d.faults);
            let written =
                parse_scenario(Path::new("s.toml"), &t.render("")).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
            assert_eq!(written.scenario.faults.to_vec(), d.faults);
        }
        assert_eq!(kinds_seen.len(), FaultKindName::ALL.len(), "{kinds_seen:?}");
    }
}
