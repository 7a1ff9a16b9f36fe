//! Refusals for `[[subscription]]`: settings a subscription cannot run with, named by field.

use super::model::Scenario;
use super::problem::{fail, Problem, Refusals};

/// Consumers over every subscription a run takes at most (each is a node).
const MAX_CONSUMERS: usize = 10_000;

/// Check every `[[subscription]]` table.
pub(super) fn validate(s: &Scenario, out: &mut Refusals) {
    let mut total = 0usize;
    for (i, sub) in s.subscription.iter().enumerate() {
        let field = |name: &str| format!("subscription[{i}].{name}");
        out.check(one(s, i, &field));
        total = total.saturating_add(sub.consumers);
        if total > MAX_CONSUMERS {
            out.fail(
                field("consumers"),
                format!("more than {MAX_CONSUMERS} consumers over all subscriptions is not supported"),
            );
            break;
        }
        if s.subscription[..i].iter().any(|o| o.name == sub.name) {
            out.fail(
                field("name"),
                format!(
                    "{:?} names two subscriptions: each is its own consumer group, and reports and fault targets find it by name",
                    sub.name
                ),
            );
        }
    }
}

fn one(s: &Scenario, i: usize, field: &dyn Fn(&str) -> String) -> Result<(), Problem> {
    let sub = &s.subscription[i];
    if sub.name.is_empty() || sub.name.contains(':') || sub.name.chars().any(char::is_whitespace) {
        return fail(
            field("name"),
            format!(
                "{:?} must be a non-empty name without spaces or `:` (fault targets write `consumer:NAME:N`)",
                sub.name
            ),
        );
    }
    if sub.consumers == 0 {
        return fail(
            field("consumers"),
            "must be at least 1: a subscription without consumers never reads, and every acknowledged event would be unseen",
        );
    }
    for (name, v) in [
        ("fetch_max_bytes", sub.fetch_max_bytes),
        ("auto_commit_interval_ms", sub.auto_commit_interval_ms),
        ("session_timeout_ms", sub.session_timeout_ms),
        ("heartbeat_interval_ms", sub.heartbeat_interval_ms),
    ] {
        if v == 0 {
            return fail(field(name), "must be at least 1");
        }
    }
    if sub.heartbeat_interval_ms >= sub.session_timeout_ms {
        return fail(
            field("heartbeat_interval_ms"),
            format!(
                "{} ms must be below session_timeout_ms ({} ms), or every consumer's session expires between heartbeats",
                sub.heartbeat_interval_ms, sub.session_timeout_ms
            ),
        );
    }
    if !(sub.start_s.is_finite() && sub.start_s >= 0.0 && sub.start_s < s.duration_s) {
        return fail(
            field("start_s"),
            format!(
                "must be 0 or more and within the workload's {} s, got {}",
                s.duration_s, sub.start_s
            ),
        );
    }
    Ok(())
}
