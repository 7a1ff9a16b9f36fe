//! Refusals for the hot-key settings: `[gateway.rate_limit]` and
//! `[processor.salt]`, each named by its field.

use super::model::Scenario;
use super::problem::{positive, Refusals};
use crate::config::{WindowKind, SALTABLE_KEYS};

/// Longest Retry-After a rate limit may carry, ms.
const MAX_RETRY_AFTER_MS: u64 = 3_600_000;
/// Largest per-record task cost, µs: beyond it the task's clock would
/// outrun any run, and the sums could overflow.
const MAX_TASK_US_PER_RECORD: f64 = 10_000_000.0;

/// Check the rate limit and the salting (nothing to check when they are off).
pub(super) fn validate(s: &Scenario, out: &mut Refusals) {
    if let Some(r) = &s.gateway.rate_limit {
        out.check(positive("gateway.rate_limit.events_per_s", r.events_per_s));
        // Unset, the burst is one second's worth of the rate, so a rate under
        // one event a second would leave a bucket that never holds a token.
        let (field, b) = match r.burst {
            Some(b) => ("gateway.rate_limit.burst", b),
            None => ("gateway.rate_limit.events_per_s", r.events_per_s),
        };
        if r.events_per_s > 0.0 && !(b.is_finite() && b >= 1.0) {
            out.fail(
                field,
                format!(
                    "the bucket holds {b} event(s), under 1: a bucket that never holds a whole token refuses \
                     everything (set a burst of at least 1)"
                ),
            );
        }
        // The clients add the Retry-After to the clock: keep it to an hour.
        if r.retry_after_ms() > MAX_RETRY_AFTER_MS {
            out.fail(
                if r.retry_after_ms.is_some() {
                    "gateway.rate_limit.retry_after_ms"
                } else {
                    "gateway.rate_limit.events_per_s"
                },
                format!(
                    "a Retry-After of {} ms is longer than an hour ({MAX_RETRY_AFTER_MS} ms): nothing refused would \
                     ever be retried within a run",
                    r.retry_after_ms()
                ),
            );
        }
    }
    let p = &s.processor;
    if !(p.task_us_per_record.is_finite() && (0.0..=MAX_TASK_US_PER_RECORD).contains(&p.task_us_per_record)) {
        out.fail(
            "processor.task_us_per_record",
            format!(
                "must be a number of microseconds from 0 to {MAX_TASK_US_PER_RECORD} (10 s a record), got {}",
                p.task_us_per_record
            ),
        );
    }
    let Some(salt) = &p.salt else { return };
    if salt.hot_keys.is_empty() {
        out.fail(
            "processor.salt.hot_keys",
            "names no key: list the hot keys to spread, e.g. hot_keys = [0]",
        );
    }
    if salt.sub_keys < 2 {
        out.fail(
            "processor.salt.sub_keys",
            format!(
                "must be at least 2, got {}: a hot key spread over {} sub-key(s) is not spread",
                salt.sub_keys, salt.sub_keys
            ),
        );
    }
    if s.workload.keys.count() > SALTABLE_KEYS {
        out.fail(
            "workload.keys",
            format!(
                "draws from {} keys: salting needs keys below 2^48, since a sub-key keeps its salt above them",
                s.workload.keys.count()
            ),
        );
    }
    if s.serving.enabled() {
        out.fail(
            "processor.salt",
            "cannot serve reads of salted keys: the sink's per-key view would hold sub-keys' partial counts \
             (turn off [serving] or the salting)",
        );
    }
    if let Some(k) = salt.hot_keys.iter().find(|&&k| k >= SALTABLE_KEYS) {
        out.fail(
            "processor.salt.hot_keys",
            format!("key {k} is too large to salt: keys below 2^48 only (the sub-key keeps its salt above them)"),
        );
    }
    let mut sorted = salt.hot_keys.clone();
    sorted.sort_unstable();
    if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
        out.fail("processor.salt.hot_keys", format!("lists key {} twice", w[0]));
    }
    if p.instances == 0 {
        out.fail(
            "processor.salt",
            "salting needs a read path to re-aggregate: set [processor] instances",
        );
    }
    if matches!(p.window, WindowKind::Session { .. }) {
        out.fail(
            "processor.salt",
            "cannot re-aggregate session windows: a key's sessions are not the sum of its sub-keys' (use tumbling or sliding windows)",
        );
    }
}

/// The rate limit and the salting as a report's knobs, when on.
pub(super) fn knobs(s: &Scenario) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(r) = &s.gateway.rate_limit {
        out.push((
            "gateway.rate_limit".to_string(),
            format!(
                "{} events/s per {:?}, burst {}, retry after {} ms",
                r.events_per_s,
                r.by,
                r.burst(),
                r.retry_after_ms()
            )
            .to_lowercase(),
        ));
    }
    let p = &s.processor;
    if let Some(salt) = p.salt.as_ref().filter(|s| s.enabled()) {
        out.push((
            "processor.salt".to_string(),
            format!("keys {:?} over {} sub-keys each", salt.hot_keys, salt.sub_keys),
        ));
    }
    if p.task_us_per_record > 0.0 {
        out.push((
            "processor.task_us_per_record".to_string(),
            p.task_us_per_record.to_string(),
        ));
    }
    out
}
