//! Shrinking a failing run to a smaller scenario that still fails the same
//! way with the same seed: delta debugging (Zeller's ddmin) over the fault
//! schedule, for a swarm scenario the schedule its seed drew, then a search
//! over the workload's length and rate. Every candidate is a scenario file
//! (the original text with its faults, `duration_s` and rate rewritten),
//! parsed and run exactly as the user will run the result, so the file
//! written at the end fails deterministically by construction.
//!
//! "Still fails" means: some violation names the invariant the original
//! run violated first. Runs are independent, so each round's candidates
//! run in parallel; the first failing candidate in a fixed order wins,
//! which keeps the result independent of thread timing.

use crate::rewrite::ScenarioText;
use crate::run::{run_scenario, RunError, RunOptions};
use crate::scenario::{parse_scenario, Diagnostic, FaultSpec, LoadedScenario, ScenarioError};
use std::collections::HashMap;
use std::time::Duration;

/// How to shrink.
#[derive(Clone, Debug)]
pub struct ShrinkOptions {
    /// The failing seed.
    pub seed: u64,
    /// Wall-clock limit of each run.
    pub wall_limit: Duration,
    /// Runs at once.
    pub jobs: usize,
    /// Stop searching after this many runs (the best so far is kept).
    pub max_runs: usize,
}

impl ShrinkOptions {
    /// Defaults: 600 s per run, one job per core, at most 300 runs.
    pub fn new(seed: u64) -> Self {
        ShrinkOptions {
            seed,
            wall_limit: Duration::from_secs(600),
            jobs: std::thread::available_parallelism().map_or(2, |n| n.get()),
            max_runs: 300,
        }
    }
}

/// The result of a shrink.
#[derive(Clone, Debug)]
pub struct Shrunk {
    /// The invariant the original run violated first, and the shrunk one still does.
    pub invariant: String,
    /// The shrunk run's violation of it (its witness).
    pub detail: String,
    /// The minimal scenario file.
    pub text: String,
    /// Fault events in the original schedule (for swarm, the drawn one).
    pub faults_before: usize,
    /// Fault events left.
    pub faults_after: usize,
    /// Workload length before, virtual seconds.
    pub duration_before_s: f64,
    /// Workload length after.
    pub duration_after_s: f64,
    /// Rate multiplier kept (1 when the rate did not shrink or cannot).
    pub rate_factor: f64,
    /// Mean events per second before.
    pub rate_before: f64,
    /// Mean events per second after.
    pub rate_after: f64,
    /// Runs made, the original included.
    pub runs: usize,
}

/// Why a shrink could not start.
#[derive(Debug)]
pub enum ShrinkError {
    /// The seed passes: nothing to shrink.
    Passes {
        /// Seed.
        seed: u64,
    },
    /// The original run did not finish.
    Run(RunError),
    /// The scenario written back as a scheduled file no longer fails the same way.
    NotReproduced {
        /// The original's invariant.
        invariant: String,
    },
    /// The scenario text could not be rewritten.
    Scenario(ScenarioError),
}

impl std::fmt::Display for ShrinkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ShrinkError::Passes { seed } => write!(f, "seed {seed} passes: there is no failure to shrink"),
            ShrinkError::Run(e) => write!(f, "the original run did not finish: {e}"),
            ShrinkError::NotReproduced { invariant } => write!(
                f,
                "the scenario rewritten with its fault schedule no longer violates {invariant}; nothing shrunk"
            ),
            ShrinkError::Scenario(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ShrinkError {}

/// One point of the search.
#[derive(Clone, Debug)]
struct Candidate {
    faults: Vec<FaultSpec>,
    duration_s: f64,
    rate_factor: f64,
}

struct Search<'a> {
    loaded: &'a LoadedScenario,
    base: ScenarioText,
    opts: &'a ShrinkOptions,
    invariant: String,
    /// Outcome by candidate text: the violation detail if it still fails.
    cache: HashMap<String, Option<String>>,
    runs: usize,
    log: &'a mut dyn FnMut(&str),
}

impl Search<'_> {
    fn text(&self, c: &Candidate) -> String {
        let mut t = self.base.clone();
        t.set_faults(&c.faults);
        if c.duration_s != self.loaded.scenario.duration_s {
            t.set_top("duration_s", c.duration_s);
        }
        if c.rate_factor != 1.0 {
            t.scale_rate(c.rate_factor);
        }
        t.render("")
    }

    /// Run candidates (in parallel, up to `jobs` at once); for each, the
    /// violation detail when it still fails with the invariant.
    fn batch(&mut self, cands: &[Candidate]) -> Vec<Option<String>> {
        let texts: Vec<String> = cands.iter().map(|c| self.text(c)).collect();
        let mut todo: Vec<usize> = Vec::new();
        for (i, t) in texts.iter().enumerate() {
            if !self.cache.contains_key(t) && !todo.iter().any(|&j| texts[j] == *t) {
                todo.push(i);
            }
        }
        todo.truncate(self.opts.max_runs.saturating_sub(self.runs));
        for chunk in todo.chunks(self.opts.jobs.max(1)) {
            let results: Vec<(usize, Result<Option<String>, String>)> = std::thread::scope(|s| {
                let handles: Vec<_> = chunk
                    .iter()
                    .map(|&i| {
                        let text = &texts[i];
                        let (path, opts, inv) = (&self.loaded.path, self.opts, &self.invariant);
                        s.spawn(move || (i, judge(path, text, opts, inv)))
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().expect("shrink worker")).collect()
            });
            for (i, r) in results {
                self.runs += 1;
                let c = &cands[i];
                let verdict = match &r {
                    Ok(Some(_)) => format!("still violates {}", self.invariant),
                    Ok(None) => "passes or fails otherwise".to_string(),
                    Err(e) => format!("skipped: {e}"),
                };
                (self.log)(&format!(
                    "run {:>3}: {} fault(s), {} s, rate x{}: {verdict}",
                    self.runs,
                    c.faults.len(),
                    c.duration_s,
                    c.rate_factor
                ));
                self.cache.insert(texts[i].clone(), r.unwrap_or(None));
            }
        }
        texts.iter().map(|t| self.cache.get(t).cloned().flatten()).collect()
    }

    /// The first candidate (in order) that still fails.
    fn first_failing(&mut self, cands: Vec<Candidate>) -> Option<(Candidate, String)> {
        let res = self.batch(&cands);
        cands.into_iter().zip(res).find_map(|(c, r)| r.map(|d| (c, d)))
    }

    /// ddmin over the fault schedule.
    fn faults(&mut self, cur: (Candidate, String)) -> (Candidate, String) {
        let (mut best, mut detail) = cur;
        if best.faults.is_empty() {
            return (best, detail);
        }
        let with = |b: &Candidate, f: Vec<FaultSpec>| Candidate { faults: f, ..b.clone() };
        // A failure that needs no fault at all needs no search.
        if let Some(found) = self.first_failing(vec![with(&best, Vec::new())]) {
            return found;
        }
        let mut n = 2usize;
        while best.faults.len() >= 2 && self.runs < self.opts.max_runs {
            let len = best.faults.len();
            let chunks: Vec<Vec<FaultSpec>> = (0..n)
                .map(|i| best.faults[i * len / n..(i + 1) * len / n].to_vec())
                .filter(|c| !c.is_empty())
                .collect();
            let subsets = chunks.iter().map(|c| with(&best, c.clone())).collect();
            if let Some((c, d)) = self.first_failing(subsets) {
                (best, detail, n) = (c, d, 2);
                continue;
            }
            if chunks.len() > 2 {
                let complements = (0..chunks.len())
                    .map(|skip| {
                        let rest = chunks
                            .iter()
                            .enumerate()
                            .filter(|(i, _)| *i != skip)
                            .flat_map(|(_, c)| c.iter().cloned())
                            .collect();
                        with(&best, rest)
                    })
                    .collect();
                if let Some((c, d)) = self.first_failing(complements) {
                    (best, detail, n) = (c, d, (n - 1).max(2));
                    continue;
                }
            }
            if n >= len {
                break;
            }
            n = (2 * n).min(len);
        }
        (best, detail)
    }

    /// A k-ary search for the smallest value in `(lo, hi)` at which the
    /// candidate still fails; `make` builds the candidate for a value.
    fn smallest(
        &mut self,
        cur: (Candidate, String),
        mut lo: f64,
        mut hi: f64,
        step: f64,
        make: &dyn Fn(&Candidate, f64) -> Candidate,
    ) -> (Candidate, String) {
        let mut best = cur;
        while hi - lo > step && self.runs < self.opts.max_runs {
            let k = self.opts.jobs.max(1);
            let mut points: Vec<f64> = (1..=k)
                .map(|j| ((lo + (hi - lo) * j as f64 / (k + 1) as f64) / step).round() * step)
                .filter(|p| *p > lo && *p < hi)
                .collect();
            points.dedup();
            if points.is_empty() {
                break;
            }
            let cands: Vec<Candidate> = points.iter().map(|&p| make(&best.0, p)).collect();
            let res = self.batch(&cands);
            match res.iter().position(Option::is_some) {
                Some(i) => {
                    hi = points[i];
                    lo = if i == 0 { lo } else { points[i - 1] };
                    best = (cands[i].clone(), res[i].clone().expect("found"));
                }
                None => lo = *points.last().expect("non-empty"),
            }
        }
        best
    }
}

/// Run one candidate text: `Ok(Some(detail))` if it violates `invariant`.
fn judge(path: &std::path::Path, text: &str, opts: &ShrinkOptions, invariant: &str) -> Result<Option<String>, String> {
    let loaded = parse_scenario(path, text).map_err(|e| e.message().to_string())?;
    let o = RunOptions {
        seed: opts.seed,
        wall_limit: opts.wall_limit,
    };
    let out = run_scenario(&loaded, &o).map_err(|e| e.to_string())?;
    Ok(out
        .report
        .result
        .violations
        .iter()
        .find(|v| v.invariant == invariant)
        .map(|v| v.detail.clone()))
}

fn mean_rate(loaded: &LoadedScenario, text: &str, duration_s: f64) -> f64 {
    let base = loaded.path.parent().unwrap_or(std::path::Path::new("."));
    parse_scenario(&loaded.path, text)
        .ok()
        .and_then(|l| l.scenario.workload.mean_rate(base, (duration_s * 1000.0) as u64).ok())
        .unwrap_or(0.0)
}

/// Shrink the failure of `loaded` with `opts.seed`. `log` hears one line per run.
pub fn shrink(loaded: &LoadedScenario, opts: &ShrinkOptions, log: &mut dyn FnMut(&str)) -> Result<Shrunk, ShrinkError> {
    let seed = opts.seed;
    let o = RunOptions {
        seed,
        wall_limit: opts.wall_limit,
    };
    let first = run_scenario(loaded, &o).map_err(ShrinkError::Run)?;
    let Some(v) = first.report.result.violations.first() else {
        return Err(ShrinkError::Passes { seed });
    };
    let invariant = v.invariant.clone();
    log(&format!("run   1: the original violates {invariant}"));
    let base = ScenarioText::parse(&loaded.text).map_err(|message| {
        ShrinkError::Scenario(ScenarioError::one(
            &loaded.path,
            &loaded.text,
            Diagnostic::whole_file(message),
        ))
    })?;
    let s = &loaded.scenario;
    let start = Candidate {
        faults: crate::swarm::faults_for(s, seed),
        duration_s: s.duration_s,
        rate_factor: 1.0,
    };
    let mut search = Search {
        loaded,
        base,
        opts,
        invariant: invariant.clone(),
        cache: HashMap::new(),
        runs: 1,
        log,
    };
    // The schedule written out as plain `[[faults]]` must fail as the original did.
    let Some(found) = search.first_failing(vec![start.clone()]) else {
        return Err(ShrinkError::NotReproduced { invariant });
    };
    let mut best = search.faults(found);
    let whole = |d: f64| d.ceil().max(1.0);
    best = search.smallest(best, 0.0, whole(s.duration_s), 1.0, &|c, d| Candidate {
        faults: c.faults.iter().filter(|f| f.at_s < d).cloned().collect(),
        duration_s: d,
        ..c.clone()
    });
    let scalable = search.base.clone().scale_rate(0.5);
    if scalable {
        best = search.smallest(best, 0.0, 1.0, 1.0 / 64.0, &|c, r| Candidate {
            rate_factor: r,
            ..c.clone()
        });
    }
    if best.0.faults.len() > 1 && (best.0.duration_s != s.duration_s || best.0.rate_factor != 1.0) {
        best = search.faults(best);
    }
    let (c, detail) = best;
    let rate_before = mean_rate(loaded, &loaded.text, s.duration_s);
    let rate_after = mean_rate(loaded, &search.text(&c), c.duration_s);
    let mut t = search.base.clone();
    t.set_faults(&c.faults);
    if c.duration_s != s.duration_s {
        t.set_top("duration_s", c.duration_s);
    }
    if c.rate_factor != 1.0 {
        t.scale_rate(c.rate_factor);
    }
    t.absolutize_paths(loaded.path.parent().unwrap_or(std::path::Path::new(".")));
    let file = loaded
        .path
        .file_name()
        .map_or_else(|| "the scenario".into(), |n| n.to_string_lossy().into_owned());
    let header = format!(
        "Shrunk from {file} with seed {seed}: still violates {invariant}.\n\
         Fault events {} -> {}, duration {} s -> {} s, mean rate {:.0} -> {:.0} events/s ({} runs).\n\
         Replay with the same seed: streamsim run THIS_FILE --seed {seed}",
        start.faults.len(),
        c.faults.len(),
        s.duration_s,
        c.duration_s,
        rate_before,
        rate_after,
        search.runs
    );
    Ok(Shrunk {
        invariant,
        detail,
        text: t.render(&header),
        faults_before: start.faults.len(),
        faults_after: c.faults.len(),
        duration_before_s: s.duration_s,
        duration_after_s: c.duration_s,
        rate_factor: c.rate_factor,
        rate_before,
        rate_after,
        runs: search.runs,
    })
}
