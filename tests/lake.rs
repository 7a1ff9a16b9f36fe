//! The cold path: lake writers archive every committed record in exactly
//! one committed file through a writer crash between a file's put and its
//! manifest commit, and a writer that commits offsets first is caught.

use crate::common;

use streamsim_reports::Verdict;

/// The bar: every seed of 1 to 20 passes, and the negative control
/// is caught on at least one of them.
const SEEDS: u64 = 20;

#[test]
fn the_cold_path_archives_every_record_once_on_every_seed() {
    let runs = common::assert_passes_every_seed("seed-cold-path", common::seeds(SEEDS));
    let mut retried = 0;
    let mut replaced = 0;
    for r in &runs {
        let lake = r.lake.as_ref().expect("a cold path reports its lake");
        // Every acknowledged event is in the committed log once (no retry copies here), and
        // the log is archived up to its end: the counts meet.
        assert_eq!(lake.events_archived, r.events_acked + r.retry_copies, "seed {}", r.seed);
        assert_eq!((lake.events_duplicated, lake.events_missing), (0, 0), "seed {}", r.seed);
        assert!(lake.files > 0 && lake.freshness_p99_s.is_some(), "seed {}", r.seed);
        retried += lake.failed_requests;
        replaced += lake.objects_replaced;
        // The lake's tiers join the storage bill, which is their sum.
        let cost = r.cost.as_ref().expect("the scenario names a priced machine");
        let tiers: Vec<&str> = cost.storage_by_tier.iter().map(|t| t.tier.as_str()).collect();
        assert_eq!(tiers, ["broker log", "lake hot", "lake warm", "lake cold"]);
        let sum: f64 = cost.storage_by_tier.iter().map(|t| t.per_month_usd).sum();
        assert!((sum - cost.storage_per_month_usd).abs() < 1e-9 && sum > 0.0);
    }
    // The object store failed requests and the writers retried them under the same names.
    assert!(retried > 0, "no seed drew a failed object-store request");
    assert!(replaced > 0, "no put ever landed on a name already in the bucket");
}

#[test]
fn committing_offsets_before_the_manifest_loses_records_after_a_crash() {
    let r = common::assert_caught("neg-lake-offsets-first", "lake.no_loss", SEEDS);
    let lake = r.lake.as_ref().expect("lake");
    assert!(lake.events_missing > 0);
    // The log itself lost nothing: the loss is the lake's alone.
    assert_eq!(r.events_lost, 0);
    assert_eq!(r.verdict, Verdict::Violation);
}

#[test]
fn random_file_names_commit_records_twice_when_a_commit_is_retried() {
    let r = common::assert_caught("neg-lake-random-names", "lake.exactly_once", SEEDS);
    let lake = r.lake.as_ref().expect("lake");
    assert!(lake.events_duplicated > 0 && lake.events_missing == 0);
    assert_eq!(r.events_duplicated, 0, "the log itself holds one copy");
}

#[test]
fn a_freshness_budget_below_the_roll_interval_is_missed() {
    // The passing scenario with a budget under its 5 s roll interval: files wait longer than that.
    let text = std::fs::read_to_string(common::scenario("seed-cold-path")).unwrap();
    let text = text.replace("lake_freshness_s = 15", "lake_freshness_s = 2");
    let loaded = streamsim_sim::scenario::parse_scenario(&common::scenario("seed-cold-path"), &text).unwrap();
    let r = streamsim_sim::run::run_scenario(&loaded, &common::options(1))
        .unwrap()
        .report
        .result;
    let invariants: Vec<&str> = r.violations.iter().map(|v| v.invariant.as_str()).collect();
    assert_eq!(invariants, ["budget.lake_freshness_s"]);
}

#[test]
fn a_run_of_the_cold_path_is_deterministic_and_plots_its_freshness() {
    use streamsim_sim::run::run_scenario;
    let loaded = streamsim_sim::scenario::load_scenario(&common::scenario("seed-cold-path")).unwrap();
    let opts = common::options(3);
    let a = run_scenario(&loaded, &opts).unwrap();
    let b = run_scenario(&loaded, &opts).unwrap();
    assert_eq!(a.report.result.trace_hash, b.report.result.trace_hash);
    assert_eq!(a.report.result.lake, b.report.result.lake);
    // Freshness is sampled every second of the workload and plotted.
    let sampled = a.report.buckets.iter().filter(|b| b.lake_freshness_s.is_some()).count();
    assert_eq!(sampled as f64, loaded.scenario.duration_s);
    assert!(streamsim_reports::run_plots(&a.report).contains(&"lake_freshness"));
}

#[test]
fn lake_fault_targets_parse_and_a_missing_writer_is_refused_at_its_line() {
    use streamsim_sim::scenario::{parse_scenario, Target};
    assert_eq!("lake:1".parse::<Target>(), Ok(Target::LakeWriter(1)));
    assert_eq!(
        "lake:0@manifest".parse::<Target>(),
        Ok(Target::LakeWriterBeforeManifest(0))
    );
    assert_eq!(Target::LakeWriterBeforeManifest(2).to_string(), "lake:2@manifest");
    let text = "name = \"x\"\nexpect = \"pass\"\nduration_s = 5\n[workload]\nrate = { kind = \"constant\", events_per_s = 10 }\n\
                [lake]\nwriters = 2\n[[faults]]\nat_s = 1\nkind = \"crash\"\ntarget = \"lake:2@manifest\"\n";
    let e = parse_scenario(std::path::Path::new("x.toml"), text).expect_err("refused");
    assert_eq!(e.field(), "faults[0].target", "{e}");
    assert_eq!(e.line(), Some(11), "{e}");
    assert!(e.message().contains("2 lake writers"), "{e}");
}
