//! The serving layer: reads through a write-through cache stay fresh and
//! fast through a cache crash, and each misconfiguration is caught: no
//! cache (the read budget), a processor that leaves the cache alone (stale
//! reads), and reads that do not fall through to the database (lost reads).

use crate::common;

use std::path::PathBuf;
use streamsim_reports::Verdict;

/// Seeds of the passing scenario in the suite, as the bar asks.
const SEEDS: u64 = 20;
/// Seeds a negative control may take to be caught.
const NEG_SEEDS: u64 = 20;

/// A copy of `seed-serving-cache` with each `(from, to)` replaced, written where the test can load it.
fn variant(tag: &str, edits: &[(&str, &str)]) -> PathBuf {
    let mut text = std::fs::read_to_string(common::scenario("seed-serving-cache")).unwrap();
    for (from, to) in edits {
        assert!(text.contains(from), "the scenario has no {from:?}");
        text = text.replacen(from, to, 1);
    }
    let dir = std::env::temp_dir().join(format!("streamsim-serving-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{tag}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_write_through_cache_keeps_reads_fresh_and_fast_through_its_crash() {
    let runs = common::assert_passes_every_seed("seed-serving-cache", common::seeds(SEEDS));
    for r in &runs {
        let s = r.serving.as_ref().expect("a serving layer reports its reads");
        // 3,000 reads/s over 20 s, from the first window the sink holds.
        assert!(s.reads > 50_000, "seed {}: {} reads", r.seed, s.reads);
        assert_eq!((s.stale_reads, s.failed_reads), (0, 0), "seed {}", r.seed);
        // The processor's write reaches the cache within a network hop of the commit.
        assert!(
            s.max_staleness_ms < 5.0 && s.max_invalidation_delay_ms < 5.0,
            "seed {}: {s:?}",
            r.seed
        );
        // The crash was noticed (requests timed out), and the hits still make most reads.
        assert!(s.cache_timeouts > 0, "seed {}", r.seed);
        assert!(
            (0.7..0.9).contains(&s.hit_ratio),
            "seed {}: hit ratio {}",
            r.seed,
            s.hit_ratio
        );
        // A hit is a round trip to the cache: well under a millisecond.
        assert!(s.read_latency_ms.p50 < 1.0, "seed {}: {:?}", r.seed, s.read_latency_ms);
        assert!(s.read_latency_ms.p99 <= 150.0);
        // The database lost nothing to the cache's crash.
        assert_eq!(r.read.events_in_sink, Some(r.events_acked), "seed {}", r.seed);
    }
}

#[test]
fn without_the_cache_the_database_misses_the_read_budget() {
    let r = common::assert_caught("neg-serving-no-cache", "budget.read_p99_ms", NEG_SEEDS);
    let s = r.serving.as_ref().expect("serving");
    assert_eq!(s.hit_ratio, 0.0);
    assert_eq!((s.stale_reads, s.failed_reads), (0, 0), "slow, not wrong");
    assert!(s.read_latency_ms.p99 > 150.0);
    let invariants: Vec<&str> = r.violations.iter().map(|v| v.invariant.as_str()).collect();
    assert_eq!(invariants, ["budget.read_p99_ms"]);
}

#[test]
fn a_processor_that_leaves_the_cache_alone_is_caught_serving_stale_reads() {
    let r = common::assert_caught("neg-serving-skip-invalidation", "serving.stale_read", NEG_SEEDS);
    let s = r.serving.as_ref().expect("serving");
    assert!(s.stale_reads > 0 && s.max_staleness_ms > s.staleness_bound_ms as f64);
    // Entries live until their 30 s TTL: values a second old and more are served.
    assert!(s.max_staleness_ms > 1000.0, "{s:?}");
    assert_eq!(s.failed_reads, 0);
    let v = r
        .violations
        .iter()
        .find(|v| v.invariant == "serving.stale_read")
        .unwrap();
    assert!(v.detail.contains("write policy none"), "{}", v.detail);
    assert_eq!(r.verdict, Verdict::Violation);
}

#[test]
fn invalidate_on_write_is_as_fresh_with_fewer_hits() {
    let file = variant(
        "invalidate",
        &[("write_policy = \"write_through\"", "write_policy = \"invalidate\"")],
    );
    let runs = common::assert_passes_every_seed_file("seed-serving-cache (invalidate)", &file, 2);
    for r in &runs {
        let s = r.serving.as_ref().unwrap();
        assert_eq!(s.stale_reads, 0);
        // Every commit deletes its keys, so the next read of each one misses.
        assert!(
            s.hit_ratio > 0.3 && s.hit_ratio < 0.7,
            "seed {}: {}",
            r.seed,
            s.hit_ratio
        );
    }
}

#[test]
fn reads_that_do_not_fall_through_to_the_database_are_lost_when_the_cache_crashes() {
    let file = variant(
        "no-fall-through",
        &[
            (
                "expect = \"pass\"",
                "expect = \"violation\"\nexpect_invariant = \"serving.no_loss\"",
            ),
            ("cache = true", "cache = true\nfall_through = false"),
        ],
    );
    let r = common::assert_caught_file("seed-serving-cache (no fall-through)", &file, "serving.no_loss", 5);
    let s = r.serving.as_ref().unwrap();
    assert!(s.failed_reads > 0 && s.stale_reads == 0, "{s:?}");
}

#[test]
fn a_run_is_deterministic_and_plots_the_crash_as_a_dip_in_hits() {
    let path = common::scenario("seed-serving-cache");
    let a = common::run_file(&path, 4);
    let b = common::run_file(&path, 4);
    assert_eq!(a.report.result.trace_hash, b.report.result.trace_hash);
    assert_eq!(a.report.result.serving, b.report.result.serving);
    assert!(streamsim_reports::run_plots(&a.report).contains(&"serving"));
    // The cache is down from 8 s to 9 s: that second's reads all went to the database.
    let at = |s: u64| a.report.buckets[s as usize].serving.expect("serving bucket");
    assert!(at(8).reads > 2000 && at(8).hits == 0, "{:?}", at(8));
    for s in [5, 15] {
        assert!(at(s).hits * 10 > at(s).reads * 7, "second {s}: {:?}", at(s));
        assert!(at(s).latency_ms.p99 < at(8).latency_ms.p99);
    }
    // The reader timed out on the cache and went round it.
    assert!(a.timeline.iter().any(|e| e.text.contains("the cache did not answer")));
}

#[test]
fn serving_settings_the_run_cannot_have_are_refused_with_their_field() {
    use streamsim_sim::scenario::{parse_scenario, Target};
    assert_eq!("cache:0".parse::<Target>(), Ok(Target::Cache(0)));
    let base = "name = \"x\"\nexpect = \"pass\"\nduration_s = 5\n[workload]\nrate = { kind = \"constant\", events_per_s = 10 }\n";
    let refused = |extra: &str| {
        let e = parse_scenario(std::path::Path::new("x.toml"), &format!("{base}{extra}")).expect_err("refused");
        (e.field().to_string(), e.message().to_string())
    };
    let (field, msg) = refused("[serving]\nreads_per_s = 100\n");
    assert_eq!(field, "serving.reads_per_s");
    assert!(msg.contains("[processor]"), "{msg}");
    let (field, _) = refused("[budgets]\nread_p99_ms = 10\n");
    assert_eq!(field, "budgets.read_p99_ms");
    let (field, _) = refused("[processor]\ninstances = 1\n[serving]\nreads_per_s = 100\nrecent_share = 1.5\n");
    assert_eq!(field, "serving.recent_share");
    let (field, msg) =
        refused("[processor]\ninstances = 1\n[[faults]]\nat_s = 1\nkind = \"crash\"\ntarget = \"cache:0\"\n");
    assert_eq!(field, "faults[0].target");
    assert!(msg.contains("cache"), "{msg}");
}
