//! Subscriptions over transactions: a `[[subscription]]` consumer steps over
//! markers at either isolation level, and a read_committed one reads to the
//! last stable offset and drops the aborted records its fetch lists, so
//! `aborted_read` and `intermediate_read` hold for it as for the processors.
//! The scenario is `txn-zombie-fenced` (an aborted transaction every run)
//! with a subscription added; the negative control plants a consumer bug
//! that keeps the listed aborted records.

use crate::common;

/// `txn-zombie-fenced` with one two-consumer subscription of `table` settings.
fn with_subscription(name: &str, table: &str, expect: &str) -> std::path::PathBuf {
    let base = std::fs::read_to_string(common::scenario("txn-zombie-fenced")).expect("scenario");
    let text = base
        .replacen("name = \"txn-zombie-fenced\"", &format!("name = \"{name}\""), 1)
        .replacen("expect = \"pass\"", expect, 1)
        + &format!("\n[[subscription]]\nname = \"audit\"\nconsumers = 2\n{table}");
    let file = common::scratch("txn_subscriptions", name).join(format!("{name}.toml"));
    std::fs::write(&file, text).expect("written");
    file
}

#[test]
fn a_read_committed_subscription_reads_every_committed_record_and_no_aborted_one() {
    for (name, isolation) in [
        ("txn-sub-committed", "read_committed"),
        ("txn-sub-uncommitted", "read_uncommitted"),
    ] {
        let file = with_subscription(name, &format!("isolation = \"{isolation}\"\n"), "expect = \"pass\"");
        for r in common::assert_passes_every_seed_file(name, &file, common::seeds(3)) {
            let s = &r.subscriptions["audit"];
            // Markers are consumed offsets, not records: nothing committed went unseen.
            assert_eq!(s.checks.get("unseen"), Some(&0), "{name} seed {}: {s:?}", r.seed);
            assert!(s.records_received > 10_000, "{name} seed {}: {s:?}", r.seed);
            let t = r.transactions.as_ref().expect("transactions");
            assert_eq!(
                (t.aborted_reads, t.intermediate_reads),
                (0, 0),
                "{name} seed {}",
                r.seed
            );
        }
    }
}

#[test]
fn a_subscription_that_keeps_listed_aborted_records_is_caught() {
    let file = with_subscription(
        "neg-txn-sub-keep-aborted",
        "isolation = \"read_committed\"\nplanted_bug = \"keep_aborted\"\n",
        "expect = \"violation\"\nexpect_invariant = [\"aborted_read\"]",
    );
    let r = common::assert_caught_file("neg-txn-sub-keep-aborted", &file, "aborted_read", 3);
    let t = r.transactions.as_ref().expect("transactions");
    assert!(t.aborted_reads > 0 && t.intermediate_reads == 0, "{t:?}");
}
