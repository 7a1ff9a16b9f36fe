//! `cargo xtask bench sets`: the set the checkers count events with
//! (`IntervalSet`, home-made) against the crates that keep such sets, on the
//! order in which the log audit sees a billion-event day's peak.
//!
//! The ledgers, the sink's tables and the log audit hold, per client, the
//! sequence numbers they have seen. The audit walks the committed log every
//! 5 virtual seconds, partition by partition, so a client's numbers of a
//! period reach it in 24 passes of about 900 scattered ones, a few a period late
//! (retries, events a crash held back) and a very few twice. Each set kind
//! runs that order in a child process of its own, so its peak resident set is
//! its own; a run with no set at all gives the cost of making the order, which
//! is taken off the others.

use crate::measure::{run_self, ChildFailure};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use range_set_blaze::RangeSetBlaze;
use roaring::RoaringTreemap;
use std::hint::black_box;
use std::time::Instant;
use streamsim_sim::event_sets::IntervalSet;

/// Producers of the billion-event day.
const CLIENTS: usize = 8;
/// Partitions of its topic.
const PARTITIONS: usize = 24;
/// Events in one audit period at its peak: 35,000 events/s for 5 s.
const PER_PERIOD: usize = 175_000;
/// Of 2^32: events that reach the audit a period late (about 1 in 1,000).
const LATE: u32 = 4_294_967;
/// Of 2^32: events the audit sees twice, the second copy a period later (about 1 in 10,000).
const TWICE: u32 = 429_497;

/// Audit periods between two run compressions of the roaring sets: a virtual
/// minute. After a compression the containers at the frontier are runs,
/// which take inserts slowly; compressing every period was slower still.
const OPTIMISE_EVERY: u64 = 12;

/// The kinds compared, in the order they run.
const KINDS: &[&str] = &[
    "none",
    "interval-set",
    "roaring",
    "roaring-optimised",
    "range-set-blaze",
];

/// A set of sequence numbers per client, as one kind keeps it.
trait ClientSets {
    /// Insert; whether the number was new.
    fn insert(&mut self, client: usize, seq: u64) -> bool;
    /// The audit period ended.
    fn end_period(&mut self) {}
    /// What the sets hold, in the kind's own terms.
    fn shape(&self) -> String;
}

/// No set: what making the order costs.
struct Nothing(u64);

impl ClientSets for Nothing {
    fn insert(&mut self, client: usize, seq: u64) -> bool {
        self.0 = black_box(self.0 ^ seq ^ client as u64);
        true
    }
    fn shape(&self) -> String {
        "-".into()
    }
}

impl ClientSets for Vec<IntervalSet> {
    fn insert(&mut self, client: usize, seq: u64) -> bool {
        self[client].insert(seq)
    }
    fn shape(&self) -> String {
        let ranges: usize = self.iter().map(IntervalSet::ranges).sum();
        format!("{ranges} ranges behind {} bitmap windows of 16 KiB", self.len())
    }
}

/// Roaring bitmaps over u64, run-compressed every [`OPTIMISE_EVERY`] periods if `optimise`.
struct Roaring {
    sets: Vec<RoaringTreemap>,
    optimise: bool,
    periods: u64,
}

impl ClientSets for Roaring {
    fn insert(&mut self, client: usize, seq: u64) -> bool {
        self.sets[client].insert(seq)
    }
    fn end_period(&mut self) {
        self.periods += 1;
        if self.optimise && self.periods.is_multiple_of(OPTIMISE_EVERY) {
            for s in &mut self.sets {
                s.optimize();
            }
        }
    }
    fn shape(&self) -> String {
        let (mut bitset, mut run, mut array) = (0u64, 0u64, 0u64);
        for s in &self.sets {
            for (_, b) in s.bitmaps() {
                let st = b.statistics();
                bitset += u64::from(st.n_bitset_containers);
                run += u64::from(st.n_run_containers);
                array += u64::from(st.n_array_containers);
            }
        }
        // A bitset container is 65,536 bits whatever it holds.
        format!(
            "{bitset} bitset containers ({} KiB), {run} run, {array} array",
            bitset * 8
        )
    }
}

impl ClientSets for Vec<RangeSetBlaze<u64>> {
    fn insert(&mut self, client: usize, seq: u64) -> bool {
        self[client].insert(seq)
    }
    fn shape(&self) -> String {
        let ranges: usize = self.iter().map(RangeSetBlaze::ranges_len).sum();
        format!("{ranges} ranges")
    }
}

/// Feed `sets` `periods` audit periods of the day's peak, in the audit's order.
/// Returns the inserts made and how many were new.
fn walk(sets: &mut dyn ClientSets, periods: u64) -> (u64, u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut next = [0u64; CLIENTS];
    let mut parts: Vec<Vec<(u32, u64)>> = vec![Vec::new(); PARTITIONS];
    let mut carried: Vec<(usize, u32, u64)> = Vec::new();
    let mut carry: Vec<(usize, u32, u64)> = Vec::new();
    let (mut inserts, mut new) = (0u64, 0u64);
    for _ in 0..periods {
        for p in &mut parts {
            p.clear();
        }
        for _ in 0..PER_PERIOD {
            let client = rng.gen_range(0..CLIENTS);
            let seq = next[client];
            next[client] += 1;
            let part = rng.gen_range(0..PARTITIONS);
            let fate: u32 = rng.gen();
            if fate < LATE {
                carry.push((part, client as u32, seq));
                continue;
            }
            parts[part].push((client as u32, seq));
            if fate < LATE + TWICE {
                carry.push((part, client as u32, seq));
            }
        }
        // Last period's late events come at the end of their partitions' runs.
        for &(part, client, seq) in &carried {
            parts[part].push((client, seq));
        }
        carried.clear();
        std::mem::swap(&mut carried, &mut carry);
        for p in &parts {
            for &(client, seq) in p {
                inserts += 1;
                new += u64::from(sets.insert(client as usize, seq));
            }
        }
        sets.end_period();
    }
    (inserts, new)
}

/// Empty sets of `kind`.
fn make(kind: &str) -> Result<Box<dyn ClientSets>, String> {
    Ok(match kind {
        "none" => Box::new(Nothing(0)),
        "interval-set" => Box::new(vec![IntervalSet::default(); CLIENTS]),
        "roaring" | "roaring-optimised" => Box::new(Roaring {
            sets: vec![RoaringTreemap::new(); CLIENTS],
            optimise: kind == "roaring-optimised",
            periods: 0,
        }),
        "range-set-blaze" => Box::new(vec![RangeSetBlaze::new(); CLIENTS]),
        _ => return Err(format!("unknown set kind {kind:?}; one of {KINDS:?}")),
    })
}

/// The child's side: run one kind and print `inserts new wall_s peak_mib shape`.
pub fn child(kind: &str, periods: &str) -> Result<(), String> {
    let periods: u64 = periods
        .parse()
        .map_err(|_| format!("periods must be a whole number, got {periods:?}"))?;
    let mut sets = make(kind)?;
    let start = Instant::now();
    let (inserts, new) = walk(sets.as_mut(), periods);
    let wall = start.elapsed().as_secs_f64();
    println!(
        "{inserts} {new} {wall} {} {}",
        crate::measure::peak_rss_mib(),
        sets.shape()
    );
    Ok(())
}

/// One kind's figures, from its child.
struct Figures {
    inserts: u64,
    new: u64,
    wall_s: f64,
    peak_mib: f64,
    shape: String,
}

/// Run `kind` over `periods` in a child process and read its line.
fn run_child(kind: &str, periods: u64) -> Result<Figures, String> {
    let line = run_self(&["sets-child", kind, &periods.to_string()])
        .map_err(|e| match e {
            ChildFailure::Start(e) => format!("could not start the {kind} run: {e}"),
            ChildFailure::Failed(status, stderr) => format!("the {kind} run failed ({status}): {stderr}"),
        })?
        .trim()
        .to_string();
    let bad = || format!("the {kind} run printed {line:?}");
    let mut f = line.splitn(5, ' ');
    let mut next = || f.next().ok_or_else(bad);
    Ok(Figures {
        inserts: next()?.parse().map_err(|_| bad())?,
        new: next()?.parse().map_err(|_| bad())?,
        wall_s: next()?.parse().map_err(|_| bad())?,
        peak_mib: next()?.parse().map_err(|_| bad())?,
        shape: next()?.to_string(),
    })
}

/// Every kind must have found the same numbers new, or the comparison is void.
fn agree(new_counts: &[(&str, u64)]) -> Result<(), String> {
    let Some(&(first_kind, first)) = new_counts.first() else {
        return Ok(());
    };
    match new_counts.iter().find(|&&(_, n)| n != first) {
        Some(&(kind, n)) => Err(format!("{kind} found {n} new numbers where {first_kind} found {first}")),
        None => Ok(()),
    }
}

/// Run every kind `reps` times over `events` events and print medians.
pub fn bench(events: u64, reps: usize) -> Result<(), String> {
    let periods = events.div_ceil(PER_PERIOD as u64).max(1);
    println!(
        "{} events from {CLIENTS} clients over {PARTITIONS} partitions, {periods} audit periods of {PER_PERIOD} \
         (5 s at 35,000 events/s), 1 in 1,000 a period late, 1 in 10,000 twice; medians of {reps} runs",
        periods * PER_PERIOD as u64
    );
    println!(
        "{:<18} {:>12} {:>10} {:>10} {:>12}  shape at the end",
        "set", "inserts", "wall_s", "ns/insert", "peak_MiB"
    );
    let mut base: Option<(f64, f64)> = None;
    let mut new_counts = Vec::new();
    for &kind in KINDS {
        let runs: Vec<Figures> = (0..reps).map(|_| run_child(kind, periods)).collect::<Result<_, _>>()?;
        let wall = crate::median(runs.iter().map(|r| r.wall_s).collect());
        let peak = crate::median(runs.iter().map(|r| r.peak_mib).collect());
        let r = &runs[0];
        let (ns, extra) = match base {
            None => {
                base = Some((wall, peak));
                ("-".to_string(), format!("{peak:.1}"))
            }
            Some((bw, bp)) => (
                format!("{:.1}", (wall - bw).max(0.0) * 1e9 / r.inserts as f64),
                format!("{peak:.1} (+{:.1})", peak - bp),
            ),
        };
        println!(
            "{kind:<18} {:>12} {wall:>10.2} {ns:>10} {extra:>12}  {}",
            r.inserts, r.shape
        );
        if kind != "none" {
            new_counts.push((kind, r.new));
        }
    }
    agree(&new_counts)?;
    println!("ns/insert and +MiB are above the run with no set; every set found the same numbers new");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind agrees on what is new, and the order holds its late and repeated events.
    #[test]
    fn kinds_agree_on_a_few_periods() {
        let mut counts = Vec::new();
        for &kind in &KINDS[1..] {
            let mut sets = make(kind).expect("a known kind");
            counts.push(walk(sets.as_mut(), 4));
        }
        let (inserts, new) = counts[0];
        assert!(counts.iter().all(|&c| c == (inserts, new)), "{counts:?}");
        // Late events of the last period never come, and repeats are not new.
        assert!(new < inserts, "{new} of {inserts}");
        assert!(inserts < 4 * PER_PERIOD as u64 + 4 * PER_PERIOD as u64 / 1_000);
        assert!(new > 4 * PER_PERIOD as u64 * 99 / 100);
        let named: Vec<(&str, u64)> = KINDS[1..].iter().zip(&counts).map(|(&k, &(_, n))| (k, n)).collect();
        assert_eq!(agree(&named), Ok(()));
    }

    /// A set that calls every insert new (a repeat too) disagrees, and the benchmark refuses it.
    #[test]
    fn a_set_that_misses_repeats_is_refused() {
        struct Forgetful;
        impl ClientSets for Forgetful {
            fn insert(&mut self, _: usize, _: u64) -> bool {
                true
            }
            fn shape(&self) -> String {
                String::new()
            }
        }
        let (_, right) = walk(make("interval-set").expect("a known kind").as_mut(), 2);
        let (_, wrong) = walk(&mut Forgetful, 2);
        let err = agree(&[("interval-set", right), ("forgetful", wrong)]).expect_err("must disagree");
        assert!(err.contains("forgetful found"), "{err}");
    }
}
