//! Bad inputs are refused with the right field path; TOML shapes are strict; the
//! TOML examples in the documentation are valid.

use std::path::Path;

use serde::Deserialize;
use streamsim_workloads::{FieldError, Workload, WorkloadSpec};

/// A scenario file's shape, as far as this crate is concerned.
#[derive(Deserialize)]
struct Scenario {
    workload: WorkloadSpec,
}

fn field_of(body: &str) -> String {
    let spec: WorkloadSpec = toml::from_str(body).unwrap_or_else(|e| panic!("parse error {e} in\n{body}"));
    let err: FieldError = spec.validate().expect_err(body);
    // Compilation refuses it with the same error.
    assert_eq!(Workload::new(&spec, Path::new(".")).unwrap_err(), err);
    assert!(err.to_string().contains(&err.field), "{err}");
    err.field
}

#[test]
fn bad_values_name_their_field() {
    let c = r#"rate = { kind = "constant", events_per_s = 10.0 }"#;
    let cases: Vec<(String, &str)> = vec![
        (r#"rate = { kind = "constant", events_per_s = -5.0 }"#.into(), "rate.events_per_s"),
        (r#"rate = { kind = "constant", events_per_s = nan }"#.into(), "rate.events_per_s"),
        (r#"rate = { kind = "ramp", from_per_s = 1.0, to_per_s = 2.0, start_s = 10.0, end_s = 5.0 }"#.into(), "rate.end_s"),
        (r#"rate = { kind = "step", steps = [] }"#.into(), "rate.steps"),
        (r#"rate = { kind = "step", steps = [{ at_s = 5.0, events_per_s = 1.0 }, { at_s = 5.0, events_per_s = 2.0 }] }"#.into(), "rate.steps[1].at_s"),
        (r#"rate = { kind = "diurnal", events_per_day = 1e6, peak_factor = 0.5 }"#.into(), "rate.peak_factor"),
        (r#"rate = { kind = "diurnal", events_per_day = 1e6, peak_factor = 2.0, peak_hour = 24.0 }"#.into(), "rate.peak_hour"),
        (r#"rate = { kind = "diurnal", events_per_day = 1e6, peak_factor = 2.0, trough_factor = 1.5 }"#.into(), "rate.trough_factor"),
        (r#"rate = { kind = "diurnal", events_per_day = -1.0, peak_factor = 2.0 }"#.into(), "rate.events_per_day"),
        (r#"rate = { kind = "sum", profiles = [{ kind = "constant", events_per_s = 1.0 }, { kind = "constant", events_per_s = -1.0 }] }"#.into(), "rate.profiles[1].events_per_s"),
        (r#"rate = { kind = "sum", profiles = [] }"#.into(), "rate.profiles"),
        (r#"rate = { kind = "with_spikes", base = { kind = "constant", events_per_s = 1.0 }, spikes = [{ at_s = 1.0, duration_s = 0.0, factor = 2.0 }] }"#.into(), "rate.spikes[0].duration_s"),
        (r#"rate = { kind = "with_spikes", base = { kind = "ramp", from_per_s = -1.0, to_per_s = 2.0, start_s = 0.0, end_s = 5.0 }, spikes = [] }"#.into(), "rate.base.from_per_s"),
        (r#"rate = { kind = "csv", path = "" }"#.into(), "rate.path"),
        (format!("{c}\nkeys = {{ kind = \"zipf\", count = 100, exponent = 0.0 }}"), "keys.exponent"),
        (format!("{c}\nkeys = {{ kind = \"zipf\", count = 100, exponent = -1.0 }}"), "keys.exponent"),
        (format!("{c}\nkeys = {{ kind = \"uniform\", count = 0 }}"), "keys.count"),
        (format!("{c}\nkeys = {{ kind = \"hot\", count = 100, hot_keys = 10, hot_share = 1.5 }}"), "keys.hot_share"),
        (format!("{c}\nkeys = {{ kind = \"hot\", count = 100, hot_keys = 100, hot_share = 0.5 }}"), "keys.hot_keys"),
        (format!("{c}\nkeys = {{ kind = \"moving_hotspot\", count = 100, hot_keys = 1, hot_share = 0.5, move_every_s = 0.0 }}"), "keys.move_every_s"),
        (format!("{c}\nsize = {{ kind = \"uniform\", min = 500, max = 100 }}"), "size.min"),
        (format!("{c}\nsize = {{ kind = \"fixed\", bytes = 0 }}"), "size.bytes"),
        (format!("{c}\nsize = {{ kind = \"lognormal\", median_bytes = 0.0, sigma = 1.0, max_bytes = 10 }}"), "size.median_bytes"),
        (format!("{c}\nevent_time = {{ late_fraction = 0.1 }}"), "event_time.late_mean_ms"),
        (format!("{c}\nevent_time = {{ late_fraction = 0.1, late_mean_ms = 10.0 }}"), "event_time.max_lateness_ms"),
        (format!("{c}\nevent_time = {{ late_fraction = 0.7, late_mean_ms = 1.0, max_lateness_ms = 5, out_of_order_fraction = 0.7, out_of_order_max_ms = 5 }}"), "event_time.out_of_order_fraction"),
        (format!("{c}\nevent_time = {{ out_of_order_fraction = -0.1 }}"), "event_time.out_of_order_fraction"),
        (format!("{c}\nmalformed_fraction = 2.0"), "malformed_fraction"),
        (format!("{c}\nduplicate_fraction = -0.5"), "duplicate_fraction"),
        (format!("{c}\nschema_versions = [{{ version = 1, weight = 1.0 }}, {{ version = 1, weight = 2.0 }}]"), "schema_versions[1].version"),
        (format!("{c}\nschema_versions = [{{ version = 1, weight = -1.0 }}]"), "schema_versions[0].weight"),
        (format!("{c}\nschema_versions = [{{ version = 1, weight = 0.0 }}]"), "schema_versions"),
    ];
    for (body, want) in cases {
        assert_eq!(field_of(&body), want, "{body}");
    }
}

#[test]
fn unknown_fields_and_kinds_are_rejected_by_serde() {
    let bad = [
        "rate = { kind = \"constant\", events_per_s = 1.0 }\nrat = 5",
        "rate = { kind = \"constant\", events_per_sec = 1.0 }",
        "rate = { kind = \"constant\", events_per_s = 1.0, extra = 1 }",
        "rate = { kind = \"poisson\", events_per_s = 1.0 }",
        "rate = { kind = \"step\", steps = [{ at_s = 0.0, events_per_s = 1.0, until_s = 3.0 }] }",
        "rate = { kind = \"with_spikes\", base = { kind = \"constant\", events_per_s = 1.0 }, spikes = [{ at_s = 0.0, duration_s = 1.0, factor = 2.0, shape = \"square\" }] }",
        "rate = { kind = \"constant\", events_per_s = 1.0 }\nkeys = { kind = \"zipf\", count = 10, exponent = 1.0, s = 1.0 }",
        "rate = { kind = \"constant\", events_per_s = 1.0 }\nsize = { kind = \"fixed\", byte = 10 }",
        "rate = { kind = \"constant\", events_per_s = 1.0 }\nevent_time = { late_fraction = 0.1, lateness_ms = 10 }",
        "rate = { kind = \"constant\", events_per_s = 1.0 }\nschema_versions = [{ version = 1, weight = 1.0, name = \"v1\" }]",
        "keys = { kind = \"uniform\", count = 10 }",
    ];
    for body in bad {
        assert!(toml::from_str::<WorkloadSpec>(body).is_err(), "accepted:\n{body}");
    }
}

#[test]
fn defaults_and_round_trip() {
    let spec: WorkloadSpec = toml::from_str("rate = { kind = \"constant\", events_per_s = 5 }").unwrap();
    assert_eq!(spec, WorkloadSpec::constant(5.0));
    assert_eq!(spec.keys.count(), 10_000);
    assert_eq!(spec.size.mean_bytes(), 1024.0);
    let text = toml::to_string(&spec).unwrap();
    assert_eq!(toml::from_str::<WorkloadSpec>(&text).unwrap(), spec);
}

/// Pulls the ```toml blocks out of a source file's doc comments.
fn toml_blocks(src: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut cur: Option<String> = None;
    for line in src.lines() {
        let t = line.trim_start();
        let Some(doc) = t.strip_prefix("///").or_else(|| t.strip_prefix("//!")) else {
            continue;
        };
        let doc = doc.strip_prefix(' ').unwrap_or(doc);
        match (&mut cur, doc.trim()) {
            (None, "```toml") => cur = Some(String::new()),
            (Some(_), "```") => blocks.push(cur.take().unwrap()),
            (Some(b), _) => {
                b.push_str(doc);
                b.push('\n');
            }
            _ => {}
        }
    }
    blocks
}

#[test]
fn documented_toml_examples_parse_and_validate() {
    let sources = [
        ("rate.rs", include_str!("../src/rate.rs")),
        ("keys.rs", include_str!("../src/keys.rs")),
        ("size.rs", include_str!("../src/size.rs")),
        ("event_time.rs", include_str!("../src/event_time.rs")),
        ("spec.rs", include_str!("../src/spec.rs")),
    ];
    let mut n = 0;
    for (file, src) in sources {
        for block in toml_blocks(src) {
            // Blocks showing only `[workload.rate]` get a parent table to sit in.
            let scenario: Scenario = toml::from_str(&block).unwrap_or_else(|e| panic!("{file}: {e}\n{block}"));
            scenario
                .workload
                .validate()
                .unwrap_or_else(|e| panic!("{file}: {e}\n{block}"));
            n += 1;
        }
    }
    // One per rate kind (plus the enum's own), key kind, size kind, and the rest.
    assert!(n >= 18, "only {n} TOML examples found");
}
