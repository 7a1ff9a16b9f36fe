//! `producerRate: 0`: the search for the maximum sustainable rate.
//!
//! OMB ramps the rate inside one run, every 3 s, by how far publishing and
//! consuming kept up. A simulated run has its rate fixed when it starts, so
//! the search here is a sequence of short runs instead: from OMB's starting
//! 10,000 messages/s the rate doubles while a trial keeps up, then the last
//! interval is halved four times. The rate found is the highest that kept
//! up; the reported run is a full run at that rate.

use serde::Serialize;
use streamsim_workloads::OmbError;

use super::series::{backlog_at, span};
use super::{replan, OmbPlan, OMB_GRID_MS};
use crate::run::{run_scenario, RunError, RunOptions};

/// Share of the offered rate a trial's producers must get acknowledged.
pub const KEEP_UP: f64 = 0.95;

/// Consumers keep up when at most this many messages wait at a trial's end,
/// or 10 ms of traffic at the trial's rate when that is more (messages in
/// flight through a pipeline of a few ms are not a backlog). OMB's
/// controller uses 1,000.
pub const BACKLOG_LIMIT: u64 = 1_000;

/// Bisection steps after the doubling.
pub const REFINE_STEPS: usize = 4;

/// The fastest rate tried, messages/s: a stop for a model without a limit.
pub const MAX_TRIAL_RATE: f64 = 64_000_000.0;

/// One trial run.
#[derive(Debug, Clone, Serialize)]
pub struct Trial {
    /// Offered rate, messages/s.
    pub rate: f64,
    /// Acknowledged per second over the trial's second half.
    pub published: f64,
    /// Messages not yet consumed at the trial's end (`null` without consumers).
    pub backlog: Option<u64>,
    /// Whether it kept up.
    pub sustainable: bool,
}

/// The search and its answer.
#[derive(Debug, Clone, Serialize)]
pub struct MaxRateSearch {
    /// Virtual seconds of each trial.
    pub trial_s: f64,
    /// Trials in the order run.
    pub trials: Vec<Trial>,
    /// The highest rate that kept up, messages/s.
    pub found: f64,
}

/// Why the search stopped.
#[derive(Debug)]
pub enum SearchError {
    /// A trial's scenario was refused.
    Plan(OmbError),
    /// A trial could not finish.
    Run(RunError),
}

/// Length of a trial: a quarter of the (scaled) test, between 2 s (one
/// second to start, one 1-second bucket to judge) and 4 s.
pub fn trial_ms(plan: &OmbPlan) -> u64 {
    let q = (plan.test_ms / 4 / OMB_GRID_MS) * OMB_GRID_MS;
    q.clamp(2_000, 4_000)
}

/// Runs the search with `seed`; `on_trial` sees each trial as it ends.
pub fn search(
    plan: &OmbPlan,
    opts: &RunOptions,
    mut on_trial: impl FnMut(&Trial),
) -> Result<MaxRateSearch, SearchError> {
    let t_ms = trial_ms(plan);
    let mut trials = Vec::new();
    let mut run = |rate: f64| -> Result<bool, SearchError> {
        let p = replan(plan, rate, Some(t_ms)).map_err(SearchError::Plan)?;
        let out = run_scenario(&p.loaded, opts).map_err(SearchError::Run)?;
        // The second half, in whole buckets: the first is the start-up.
        let half = span(&out.report, (t_ms / 2 / OMB_GRID_MS) * OMB_GRID_MS, t_ms);
        let published = half.published as f64 / half.seconds().max(1e-9);
        let backlog = (p.consumers > 0).then(|| backlog_at(&out.report, t_ms));
        let limit = BACKLOG_LIMIT.max((rate * 0.01) as u64);
        let sustainable = published >= KEEP_UP * rate && backlog.is_none_or(|b| b <= limit);
        let t = Trial {
            rate,
            published,
            backlog,
            sustainable,
        };
        on_trial(&t);
        trials.push(t);
        Ok(sustainable)
    };
    let (mut good, mut bad) = (0.0, None);
    let mut rate = streamsim_workloads::OMB_MAX_RATE_START;
    while rate <= MAX_TRIAL_RATE {
        if run(rate)? {
            good = rate;
            rate *= 2.0;
        } else {
            bad = Some(rate);
            break;
        }
    }
    if let Some(mut hi) = bad {
        for _ in 0..REFINE_STEPS {
            let mid = ((good + hi) / 2.0).round();
            if run(mid)? {
                good = mid;
            } else {
                hi = mid;
            }
        }
    }
    Ok(MaxRateSearch {
        trial_s: t_ms as f64 / 1000.0,
        trials,
        found: good,
    })
}
