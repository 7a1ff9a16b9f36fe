//! The scenario library over many seeds: safe settings hold on every seed,
//! known-unsafe settings are caught on some seed.

mod common;

const SEEDS: u64 = 50;

fn assert_passes_every_seed(name: &str) {
    common::assert_passes_every_seed(name, SEEDS);
}

fn assert_caught(name: &str, invariant: &str) {
    common::assert_caught(name, invariant, SEEDS);
}

#[test]
fn steady_passes_every_seed() {
    assert_passes_every_seed("steady");
}

#[test]
fn leader_crash_passes_every_seed() {
    assert_passes_every_seed("leader-crash");
}

#[test]
fn leader_isolated_passes_every_seed() {
    assert_passes_every_seed("leader-isolated");
}

#[test]
fn zombie_leader_with_acks_all_passes_every_seed() {
    assert_passes_every_seed("zombie-leader-acks-all");
}

#[test]
fn lossy_network_with_idempotence_passes_every_seed() {
    assert_passes_every_seed("lossy-network");
}

#[test]
fn acks_1_loses_acknowledged_events() {
    assert_caught("neg-acks1-zombie-leader", "no_loss");
}

#[test]
fn min_isr_1_with_unclean_election_loses_acknowledged_events() {
    assert_caught("neg-unclean-min-isr-1", "no_loss");
}

#[test]
fn retries_without_idempotence_duplicate_events() {
    assert_caught("neg-no-idempotence", "no_duplicates");
}

#[test]
fn pipelined_requests_over_a_reordering_network_break_key_order() {
    assert_caught("neg-reorder-in-flight", "per_key_order");
}

#[test]
fn an_unreachable_latency_budget_is_reported() {
    assert_caught("neg-tight-budget", "budget.ack_p99_ms");
}
