//! The subscriptions' figures as the run result gives them.

use crate::checker::subscription::SubscriptionReport;
use std::collections::BTreeMap;
use streamsim_reports::SubscriptionResult;

/// Each subscription's result by name.
pub fn results(reps: &[SubscriptionReport]) -> BTreeMap<String, SubscriptionResult> {
    reps.iter()
        .map(|r| {
            (
                r.name.clone(),
                SubscriptionResult {
                    consumers: r.consumers,
                    records_received: r.records,
                    offsets_received: r.received,
                    lag_peak: r.lag_peak,
                    rebalances: r.rebalances,
                    commits: r.commits,
                    checks: r.checks.iter().cloned().collect(),
                    lag: r.lag.iter().map(|&(t, l)| [t, l]).collect(),
                },
            )
        })
        .collect()
}
