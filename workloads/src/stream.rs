//! Compiled workloads and the per-client event streams drawn from them.
//!
//! Each client's arrivals form a non-homogeneous Poisson process with intensity
//! `rate_at(t) / clients`: arrivals sit at unit-exponential steps of the cumulative
//! count. An arrival's millisecond is the first whose cumulative count passes it, so
//! a client's stream is a pure function of `(workload, seed, client, clients)`,
//! whatever intervals it is drawn in and whatever other clients do.

use std::path::Path;
use std::sync::Arc;

use rand_chacha::ChaCha8Rng;

use crate::error::FieldError;
use crate::event_time::EventTimeSpec;
use crate::keys::{KeyCursor, KeySampler};
use crate::profile::Profile;
use crate::rng::{chance, exp1, stream_rng, unit_f64};
use crate::size::SizeSpec;
use crate::spec::{mean_of, WorkloadSpec};

/// Arrivals later than this (about 285,000 years) never happen: the rate stays 0.
const HORIZON_MS: u64 = 1 << 53;
const NEVER: u64 = u64::MAX;

/// One generated event as drawn by a client stream.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EventDraw {
    /// Key in `[0, count)` of the key distribution.
    pub key: u64,
    /// Payload size in bytes.
    pub size_bytes: u32,
    /// Event time = the client's send time minus this many ms (lateness / out-of-order).
    pub event_time_lag_ms: u64,
    /// The gateway must reject this event (dead-letter it).
    pub malformed: bool,
    /// The client sends this event twice with the same id.
    pub duplicate_send: bool,
    /// Schema version the event is encoded with.
    pub schema_version: u16,
}

/// An [`EventDraw`] with the millisecond of virtual time at which it arises.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TimedDraw {
    /// Virtual time of the arrival, ms, within the drawn interval.
    pub t_ms: u64,
    /// The event.
    pub event: EventDraw,
}

#[derive(Debug)]
enum Schema {
    Single(u16),
    Weighted { versions: Vec<u16>, cum: Vec<f64> },
}

#[derive(Debug)]
struct Inner {
    spec: WorkloadSpec,
    profile: Profile,
    keys: KeySampler,
    size: SizeSpec,
    event_time: EventTimeSpec,
    malformed: f64,
    duplicate: f64,
    schema: Schema,
}

/// A compiled workload (CSV rate series loaded, samplers built). Cloning is cheap:
/// all clients share one copy.
#[derive(Debug, Clone)]
pub struct Workload {
    inner: Arc<Inner>,
}

impl Workload {
    /// Validates and compiles `spec`. `base_dir` resolves relative paths in the spec
    /// (a CSV rate series) against the scenario file's folder.
    pub fn new(spec: &WorkloadSpec, base_dir: &Path) -> Result<Workload, FieldError> {
        // A spec naming an OMB file that nobody has read yet is read here.
        let spec = &*spec.resolved(base_dir)?;
        spec.validate()?;
        let profile = Profile::compile(&spec.rate, "rate", base_dir)?;
        let schema = match spec.schema_versions.as_slice() {
            [] => Schema::Single(1),
            [one] => Schema::Single(one.version),
            many => {
                let mut acc = 0.0;
                let cum = many
                    .iter()
                    .map(|v| {
                        acc += v.weight;
                        acc
                    })
                    .collect();
                Schema::Weighted {
                    versions: many.iter().map(|v| v.version).collect(),
                    cum,
                }
            }
        };
        Ok(Workload {
            inner: Arc::new(Inner {
                spec: spec.clone(),
                profile,
                keys: KeySampler::new(&spec.keys),
                size: spec.size.clone(),
                event_time: spec.event_time,
                malformed: spec.malformed_fraction,
                duplicate: spec.duplicate_fraction,
                schema,
            }),
        })
    }

    /// The spec this workload was compiled from.
    pub fn spec(&self) -> &WorkloadSpec {
        &self.inner.spec
    }

    /// Number of distinct keys the workload draws from.
    pub fn key_count(&self) -> u64 {
        self.inner.spec.keys.count()
    }

    /// Cluster-wide rate at virtual time `t_ms` (events/s).
    pub fn rate_at(&self, t_ms: u64) -> f64 {
        self.inner.profile.rate(t_ms as f64 / 1000.0)
    }

    /// Expected cluster-wide number of events over `[t0_ms, t1_ms)`: the integral
    /// of the rate.
    pub fn expected_events(&self, t0_ms: u64, t1_ms: u64) -> f64 {
        self.inner.profile.integral(t1_ms as f64 / 1000.0) - self.inner.profile.integral(t0_ms as f64 / 1000.0)
    }

    /// Mean events per second over `[0, duration_ms)`; the rate at 0 if `duration_ms` is 0.
    pub fn mean_rate(&self, duration_ms: u64) -> f64 {
        mean_of(&self.inner.profile, duration_ms)
    }

    /// The event stream of client `client` of `clients`: it carries `1 / clients` of
    /// the cluster rate. It draws from its own ChaCha stream derived from
    /// `(seed, "client/<client>")`, so the same seed gives the same stream whatever
    /// else the simulation does. `clients` of 0 is taken as 1.
    pub fn client_stream(&self, seed: u64, client: u32, clients: u32) -> ClientStream {
        let clients = clients.max(1);
        ClientStream {
            keys: self.inner.keys.cursor(seed, client, clients),
            w: Arc::clone(&self.inner),
            rng: stream_rng(seed, &format!("client/{client}")),
            share: 1.0 / f64::from(clients),
            next: 0.0,
            at_ms: 0,
            cache: (u64::MAX, 0.0),
            cursor_ms: None,
            client,
            clients,
        }
    }
}

/// The event stream of one client. It is `Send`, so it can move with its client.
#[derive(Debug, Clone)]
pub struct ClientStream {
    w: Arc<Inner>,
    rng: ChaCha8Rng,
    keys: KeyCursor,
    /// This client's share of the cluster rate.
    share: f64,
    /// Cumulative count (this client's share) at which the next arrival happens.
    next: f64,
    /// Millisecond of the next arrival.
    at_ms: u64,
    /// Last evaluated `(ms, lambda(ms))`.
    cache: (u64, f64),
    /// End of the last drawn interval.
    cursor_ms: Option<u64>,
    client: u32,
    clients: u32,
}

impl ClientStream {
    /// Index of this client.
    pub fn client(&self) -> u32 {
        self.client
    }

    /// Number of clients sharing the cluster rate.
    pub fn clients(&self) -> u32 {
        self.clients
    }

    /// Append to `out` the events this client generates in virtual time `[t0_ms, t1_ms)`.
    ///
    /// The count is Poisson with mean = the integral of `rate_at` over the interval
    /// divided by `clients`, so fractional rates are honoured over time. Intervals
    /// are meant to be consecutive; the part of an interval already drawn is skipped,
    /// and a gap between intervals is skipped too (no events are owed for it).
    pub fn draw(&mut self, t0_ms: u64, t1_ms: u64, out: &mut Vec<EventDraw>) {
        self.generate(t0_ms, t1_ms, |_, e| out.push(e));
    }

    /// The millisecond of the next event this stream will draw, once it has drawn
    /// an interval (`None` before the first, or if the rate stays 0 for good): a
    /// client can sleep until then instead of drawing empty intervals.
    pub fn next_arrival_ms(&self) -> Option<u64> {
        (self.cursor_ms.is_some() && self.at_ms != NEVER).then_some(self.at_ms)
    }

    /// Like [`ClientStream::draw`], also giving each event's millisecond. Both
    /// methods draw the same events.
    pub fn draw_timed(&mut self, t0_ms: u64, t1_ms: u64, out: &mut Vec<TimedDraw>) {
        self.generate(t0_ms, t1_ms, |t_ms, event| out.push(TimedDraw { t_ms, event }));
    }

    /// This client's cumulative expected count at `t_ms`.
    #[inline]
    fn lambda(&mut self, t_ms: u64) -> f64 {
        if self.cache.0 == t_ms {
            return self.cache.1;
        }
        let v = self.w.profile.integral(t_ms as f64 / 1000.0) * self.share;
        self.cache = (t_ms, v);
        v
    }

    /// The millisecond of the arrival at cumulative count `target`: the first
    /// `x >= from` with `target < lambda(x + 1)`, found by galloping then bisection,
    /// so a sparse stream costs a logarithm per event and a dense one a single
    /// evaluation. `NEVER` if the rate stays 0 for good.
    fn locate(&mut self, from: u64, target: f64) -> u64 {
        if target < self.lambda(from + 1) {
            return from;
        }
        let (mut lo, mut step) = (from, 1u64);
        let mut hi = from + 1;
        while self.lambda(hi + 1) <= target {
            if hi >= HORIZON_MS {
                return NEVER;
            }
            lo = hi;
            step = step.saturating_mul(2);
            hi = lo.saturating_add(step).min(HORIZON_MS);
        }
        // lambda(lo + 1) <= target < lambda(hi + 1)
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if self.lambda(mid + 1) <= target {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        hi
    }

    /// Restarts the wait for the next arrival at `t_ms`: arrivals are memoryless,
    /// so this is exact in distribution.
    fn restart(&mut self, t_ms: u64) {
        self.next = self.lambda(t_ms) + exp1(&mut self.rng);
        self.at_ms = self.locate(t_ms, self.next);
    }

    fn generate(&mut self, t0_ms: u64, t1_ms: u64, mut emit: impl FnMut(u64, EventDraw)) {
        let t0 = match self.cursor_ms {
            Some(c) if t0_ms <= c => c,
            Some(_) if self.at_ms >= t0_ms => t0_ms,
            _ => {
                self.restart(t0_ms);
                t0_ms
            }
        };
        if t1_ms <= t0 {
            return;
        }
        self.cursor_ms = Some(t1_ms);
        // Each arrival's millisecond depends only on the previous one's, never on
        // the interval bounds: that is what makes slicing irrelevant.
        while self.at_ms < t1_ms {
            let m = self.at_ms;
            let e = self.event(m);
            emit(m, e);
            self.next += exp1(&mut self.rng);
            // Dense streams put many arrivals in one millisecond: the cached
            // bound of this millisecond settles those without evaluating the profile.
            if !(self.cache.0 == m + 1 && self.next < self.cache.1) {
                self.at_ms = self.locate(m, self.next);
            }
        }
    }

    /// Draws one event's attributes, in a fixed order; disabled features draw nothing.
    #[inline]
    fn event(&mut self, t_ms: u64) -> EventDraw {
        let w = &*self.w;
        let rng = &mut self.rng;
        let key = w.keys.sample(rng, t_ms, &mut self.keys);
        let size_bytes = w.size.sample(rng);
        let event_time_lag_ms = w.event_time.sample(rng);
        let malformed = chance(rng, w.malformed);
        let duplicate_send = chance(rng, w.duplicate);
        let schema_version = match &w.schema {
            Schema::Single(v) => *v,
            Schema::Weighted { versions, cum } => {
                let u = unit_f64(rng) * cum[cum.len() - 1];
                let i = cum.iter().position(|&c| u < c).unwrap_or(cum.len() - 1);
                versions[i]
            }
        };
        EventDraw {
            key,
            size_bytes,
            event_time_lag_ms,
            malformed,
            duplicate_send,
            schema_version,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>() {}

    #[test]
    fn streams_and_workloads_are_send() {
        assert_send::<ClientStream>();
        assert_send::<Workload>();
    }
}
