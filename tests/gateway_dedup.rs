//! De-duplication at the gateway, end to end: client retries within the
//! cache's TTL are answered from it and never produced, retries past it
//! reach the sink twice, a per-instance cache misses retries that land on
//! the other gateway, and a retry of a copy still in flight waits for it.

use crate::common;

use std::path::Path;
use streamsim_reports::{RunResult, Verdict};
use streamsim_sim::run::run_scenario;
use streamsim_sim::scenario::parse_scenario;

fn run_text(text: &str, seed: u64) -> RunResult {
    let loaded = parse_scenario(Path::new("inline.toml"), text).unwrap_or_else(|e| panic!("{e}"));
    run_scenario(&loaded, &common::options(seed))
        .unwrap_or_else(|e| panic!("{e}"))
        .report
        .result
}

fn library_text(name: &str) -> String {
    std::fs::read_to_string(common::scenario(name)).expect("library scenario")
}

#[test]
fn retries_within_the_ttl_are_answered_from_the_shared_cache() {
    for r in common::assert_passes_every_seed("gateway-dedup-client-pause", 2) {
        let d = r.gateway_dedup.expect("the scenario turns the cache on");
        // The stalled clients' retries happened and were answered from the cache...
        assert!(d.hits > 0, "seed {}: {d:?}", r.seed);
        assert!(d.lookups > r.events_sent, "seed {}: some ids came twice: {d:?}", r.seed);
        // ...and none was produced: one copy of each event in the log and in the sink.
        assert_eq!(r.retry_copies, 0, "seed {}", r.seed);
        assert_eq!(
            r.read.events_in_sink.unwrap() + r.read.events_late.unwrap(),
            r.events_acked,
            "seed {}",
            r.seed
        );
        assert_eq!((d.expired, d.evicted), (0, 0), "a 60 s TTL outlives a 25 s run");
    }
}

#[test]
fn retries_past_the_ttl_are_second_copies_that_reach_the_sink() {
    let r = common::assert_caught("neg-gateway-dedup-ttl-short", "sink.exactly_once", 4);
    let d = r.gateway_dedup.expect("cache on");
    assert_eq!(d.hits, 0, "the cache forgot every id before the retries came");
    assert!(d.expired > 0);
    // The log holds the second copies as retries, not as duplicates idempotence should have
    // stopped: each has no more copies than its client made attempts.
    assert!(r.retry_copies > 0);
    assert_eq!(r.events_duplicated, 0);
    let v = r
        .violations
        .iter()
        .find(|v| v.invariant == "sink.exactly_once")
        .expect("caught");
    // The witnesses are events of the stalled clients.
    assert!(v.detail.contains("c0#") || v.detail.contains("c1#"), "{}", v.detail);
    assert!(v.detail.contains("2 rows in the sink"), "{}", v.detail);
}

#[test]
fn a_per_instance_cache_misses_retries_on_the_other_gateway() {
    let text = library_text("gateway-dedup-client-pause")
        .replace("dedup_scope = \"shared\"", "dedup_scope = \"per_instance\"");
    // A run retries a handful of requests, so which gateway each lands on is chance: over a
    // few seeds round robin sends some retries to the gateway that produced the first copy
    // (answered from its cache), and on every seed others to the gateway that did not.
    let mut hits = 0;
    for seed in 1..=5 {
        let r = run_text(&text, seed);
        let d = r.gateway_dedup.expect("cache on");
        hits += d.hits;
        assert!(r.retry_copies > 0, "seed {seed}: {d:?}");
        assert_eq!(r.verdict, Verdict::Violation, "seed {seed}");
        assert!(
            r.violations.iter().any(|v| v.invariant == "sink.exactly_once"),
            "seed {seed}"
        );
    }
    assert!(hits > 0, "no retry of seeds 1 to 5 reached the gateway that had its id");
}

#[test]
fn a_retry_of_a_copy_still_in_flight_waits_for_it() {
    // The leader of partition 0 is cut off for 4 s; clients give up on a request after 300 ms
    // while the gateway's producer keeps retrying for 3 s: the retries (to the same gateway, by
    // consistent hashing) find their id in flight and are answered when its copy settles.
    let text = format!(
        "{}\n[[faults]]\nat_s = 4\nkind = \"isolate\"\ntarget = \"leader:0\"\nduration_s = 4\n",
        "name = \"in-flight\"\nexpect = \"pass\"\nduration_s = 12\n\
         [topology]\nclients = 4\nbalancer = \"consistent_hash\"\n\
         [log]\nbroker_session_timeout_ms = 3000\nbroker_heartbeat_interval_ms = 1000\n\
         [producer]\nrequest_timeout_ms = 3000\n\
         [client]\nrequest_timeout_ms = 300\n\
         [gateway]\ndedup = true\ndedup_ttl_s = 30\n\
         [workload]\nrate = { kind = \"constant\", events_per_s = 1000 }\n"
    );
    let r = run_text(&text, 1);
    assert_eq!(r.verdict, Verdict::Pass, "{:?}", r.violations);
    let d = r.gateway_dedup.expect("cache on");
    assert!(d.in_flight > 0, "{d:?}");
    assert_eq!(r.events_uncertain, 0);
}
