//! Import of OpenMessaging Benchmark workload files.

use std::path::Path;

use streamsim_workloads::{
    from_omb_yaml, from_omb_yaml_str, omb_file_kind, parse_omb_driver, parse_omb_workload, KeySpec, OmbFileKind,
    OmbKeyDistributor, RateSpec, SizeSpec, Workload, OMB_KEY_COUNT, OMB_MAX_RATE_START,
};

#[test]
fn imports_the_example_file() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/omb-1-topic-100-partitions-1kb.yaml");
    let omb = from_omb_yaml(&path).unwrap();
    assert_eq!(omb.name.as_deref(), Some("1 topic / 100 partitions / 1kb"));
    assert_eq!(omb.topics, 1);
    assert_eq!(omb.partitions_per_topic, 100);
    assert_eq!(omb.total_partitions(), 100);
    assert_eq!(omb.message_size, 1024);
    assert_eq!(omb.producer_rate, 50_000.0);
    assert_eq!(omb.key_distributor, OmbKeyDistributor::NoKey);
    assert_eq!(omb.subscriptions_per_topic, 1);
    assert_eq!(omb.consumer_per_subscription, 1);
    assert_eq!(omb.producers_per_topic, 1);
    assert_eq!(omb.total_producers(), 1);
    assert_eq!(omb.total_consumers(), 1);
    assert_eq!(omb.test_duration_minutes, 15);
    assert_eq!(omb.warmup_duration_minutes, 1);
    assert_eq!(omb.test_duration_ms(), 900_000);
    assert_eq!(omb.spec.rate, RateSpec::Constant { events_per_s: 50_000.0 });
    assert_eq!(omb.spec.size, SizeSpec::Fixed { bytes: 1024 });
    assert!(matches!(omb.spec.keys, KeySpec::Uniform { count } if count >= 1 << 20));

    // The imported spec runs: one second gives ~50 k events of 1 KiB.
    let w = Workload::new(&omb.spec, Path::new(".")).unwrap();
    let mut s = w.client_stream(1, 0, omb.total_producers());
    let mut out = Vec::new();
    for t in (0..1_000).step_by(10) {
        s.draw(t, t + 10, &mut out);
    }
    // Poisson standard deviation 224; tolerance 5 of them.
    assert!((out.len() as f64 - 50_000.0).abs() < 1_120.0, "{}", out.len());
    assert!(out.iter().all(|e| e.size_bytes == 1024));
}

#[test]
fn keyed_distributors_and_defaults() {
    let base = "topics: 4\npartitionsPerTopic: 16\nmessageSize: 100\nproducerRate: 1000\ntestDurationMinutes: 5\n";
    let omb = from_omb_yaml_str(base).unwrap();
    assert_eq!(omb.key_distributor, OmbKeyDistributor::NoKey);
    assert_eq!(
        (
            omb.subscriptions_per_topic,
            omb.consumer_per_subscription,
            omb.producers_per_topic
        ),
        (1, 1, 1)
    );
    assert_eq!(omb.total_partitions(), 64);
    assert_eq!(omb.total_producers(), 4);
    assert_eq!(omb.name, None);

    let rr = from_omb_yaml_str(&format!("{base}keyDistributor: KEY_ROUND_ROBIN\n")).unwrap();
    assert_eq!(rr.spec.keys, KeySpec::RoundRobin { count: OMB_KEY_COUNT });
    let nano = from_omb_yaml_str(&format!(
        "{base}keyDistributor: RANDOM_NANO\nuseRandomizedPayloads: true\n"
    ))
    .unwrap();
    assert_eq!(nano.spec.keys, KeySpec::Uniform { count: OMB_KEY_COUNT });
}

#[test]
fn bad_files_name_the_field() {
    let full = "topics: 1\npartitionsPerTopic: 16\nmessageSize: 100\nproducerRate: 1000\ntestDurationMinutes: 5\n";
    let cases = [
        (full.replace("topics: 1\n", ""), "topics"),
        (
            full.replace("partitionsPerTopic: 16", "partitionsPerTopic: lots"),
            "partitionsPerTopic",
        ),
        (full.replace("messageSize: 100", "messageSize: 0"), "messageSize"),
        (full.replace("producerRate: 1000", "producerRate: -5"), "producerRate"),
        (
            format!(
                "{}consumerBacklogSizeGB: 10\n",
                full.replace("producerRate: 1000", "producerRate: 0")
            ),
            "producerRate",
        ),
        (
            full.replace("testDurationMinutes: 5", "testDurationMinutes: 2${ombTestDuration:-40}"),
            "testDurationMinutes",
        ),
        (format!("{full}keyDistributor: ZIPF\n"), "keyDistributor"),
        (format!("{full}producersPerTopic: -2\n"), "producersPerTopic"),
    ];
    for (text, field) in cases {
        let err = from_omb_yaml_str(&text).unwrap_err();
        assert_eq!(err.field, field, "{err}");
    }
    assert!(from_omb_yaml_str("- just\n- a list\n").is_err());
    assert!(from_omb_yaml_str("topics: [1\n").is_err());
    assert!(from_omb_yaml(Path::new("no/such/workload.yaml")).is_err());
}

#[test]
fn a_workload_table_can_name_an_omb_file() {
    let dir = std::env::temp_dir().join(format!("streamsim-omb-spec-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("omb")).unwrap();
    std::fs::write(
        dir.join("omb/w.yaml"),
        "topics: 2\npartitionsPerTopic: 8\nmessageSize: 512\nproducerRate: 4000\ntestDurationMinutes: 1\nkeyDistributor: KEY_ROUND_ROBIN\n",
    )
    .unwrap();
    let mut spec: streamsim_workloads::WorkloadSpec =
        toml::from_str("omb = \"omb/w.yaml\"\nduplicate_fraction = 0.5\n").unwrap();
    assert!(spec.is_omb_pending());
    spec.validate().unwrap();

    // Compiling reads the file by itself...
    let w = Workload::new(&spec, &dir).unwrap();
    assert_eq!(w.spec().rate, RateSpec::Constant { events_per_s: 4000.0 });
    assert_eq!(w.spec().duplicate_fraction, 0.5);
    // ...and resolving returns the OMB topology too.
    let omb = spec.resolve_omb(&dir).unwrap().unwrap();
    assert_eq!(omb.total_partitions(), 16);
    assert!(!spec.is_omb_pending());
    assert_eq!(spec.size, SizeSpec::Fixed { bytes: 512 });
    assert_eq!(spec.keys, KeySpec::RoundRobin { count: OMB_KEY_COUNT });
    assert_eq!(spec.mean_rate(&dir, 1000).unwrap(), 4000.0);

    // Written back, it is the file reference again, and reads back equal.
    let text = toml::to_string(&spec).unwrap();
    assert!(text.contains("omb = ") && !text.contains("rate"), "{text}");
    let mut again: streamsim_workloads::WorkloadSpec = toml::from_str(&text).unwrap();
    again.resolve_omb(&dir).unwrap();
    assert_eq!(again, spec);

    // A missing file names the field `omb` and the path.
    let mut missing: streamsim_workloads::WorkloadSpec = toml::from_str("omb = \"nope.yaml\"\n").unwrap();
    let e = missing.resolve_omb(&dir).unwrap_err();
    assert_eq!(e.field, "omb");
    assert!(e.message.contains("nope.yaml"), "{e}");
    let e = Workload::new(&missing, &dir).unwrap_err();
    assert_eq!(e.field, "omb");

    // `rate` is required without `omb` and refused with it.
    let e =
        toml::from_str::<streamsim_workloads::WorkloadSpec>("keys = { kind = \"uniform\", count = 5 }\n").unwrap_err();
    assert!(e.to_string().contains("missing field `rate`"), "{e}");
    let e = toml::from_str::<streamsim_workloads::WorkloadSpec>(
        "omb = \"omb/w.yaml\"\nsize = { kind = \"fixed\", bytes = 10 }\n",
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("`size` cannot be set together with `omb`"),
        "{e}"
    );
}

#[test]
fn a_zero_rate_asks_for_the_maximum_and_a_scenario_cannot_take_it() {
    let text = "topics: 1\npartitionsPerTopic: 16\nmessageSize: 100\nproducerRate: 0\ntestDurationMinutes: 5\n";
    let omb = from_omb_yaml_str(text).unwrap();
    assert!(omb.finds_max_rate());
    assert_eq!(
        omb.spec.rate,
        RateSpec::Constant {
            events_per_s: OMB_MAX_RATE_START
        }
    );

    // Through a scenario's `omb =` it is refused with the command that runs it.
    let dir = std::env::temp_dir().join(format!("streamsim-omb-zero-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("max.yaml"), text).unwrap();
    let mut spec: streamsim_workloads::WorkloadSpec = toml::from_str("omb = \"max.yaml\"\n").unwrap();
    let e = spec.resolve_omb(&dir).unwrap_err();
    assert!(
        e.message.contains("streamsim run") && e.message.contains("producerRate: 0"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn errors_name_file_line_and_column() {
    let file = Path::new("w.yaml");
    let text = "topics: 1\npartitionsPerTopic: lots\nmessageSize: 100\nproducerRate: 1000\ntestDurationMinutes: 5\n";
    let e = parse_omb_workload(file, text).unwrap_err();
    assert_eq!((e.line, e.column), (Some(2), Some(21)), "{e}");
    assert_eq!(e.field, "partitionsPerTopic");
    assert!(
        e.to_string().starts_with("w.yaml:2:21: field `partitionsPerTopic`"),
        "{e}"
    );

    // A YAML syntax error is placed where the parser stopped.
    let e = parse_omb_workload(file, "topics: 1\npartitionsPerTopic: [16\nmessageSize: 100\n").unwrap_err();
    assert!(e.line.is_some() && e.column.is_some(), "{e}");
    assert!(e.message.contains("not valid YAML"), "{e}");
    assert!(!e.message.contains(" at line "), "the place is said once: {e}");
}

#[test]
fn fields_that_change_nothing_are_listed_never_dropped() {
    let text = "topics: 1\npartitionsPerTopic: 1\nmessageSize: 1024\nproducerRate: 10\ntestDurationMinutes: 1\n\
                useRandomizedPayloads: true\nrandomBytesRatio: 0.5\nfancyNewField: 3\n";
    let omb = parse_omb_workload(Path::new("w.yaml"), text).unwrap();
    let names: Vec<&str> = omb.ignored.iter().map(|i| i.field.as_str()).collect();
    assert_eq!(names, ["fancyNewField", "useRandomizedPayloads", "randomBytesRatio"]);

    // Without those fields nothing is listed.
    let plain = parse_omb_workload(
        Path::new("w.yaml"),
        "topics: 1\npartitionsPerTopic: 1\nmessageSize: 1024\nproducerRate: 10\ntestDurationMinutes: 1\n",
    )
    .unwrap();
    assert!(plain.ignored.is_empty(), "{:?}", plain.ignored);
}

#[test]
fn a_payload_file_sets_the_message_size() {
    let dir = std::env::temp_dir().join(format!("streamsim-omb-payload-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("workloads")).unwrap();
    std::fs::create_dir_all(dir.join("payload")).unwrap();
    std::fs::write(dir.join("payload").join("p.data"), vec![7u8; 700]).unwrap();
    let text = "topics: 1\npartitionsPerTopic: 1\nmessageSize: 1024\npayloadFile: \"payload/p.data\"\nproducerRate: 10\ntestDurationMinutes: 1\n";
    // OMB names payloads from its repository's root, the workload folder's parent.
    let omb = parse_omb_workload(&dir.join("workloads").join("w.yaml"), text).unwrap();
    assert_eq!(omb.message_size, 700);
    assert_eq!(omb.spec.size, SizeSpec::Fixed { bytes: 700 });
    // Not found: messageSize, and the field is listed.
    let omb = parse_omb_workload(&dir.join("workloads").join("deeper").join("w.yaml"), text).unwrap();
    assert_eq!(omb.message_size, 1024);
    assert_eq!(omb.ignored[0].field, "payloadFile");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn driver_properties_are_placed_in_the_file() {
    let text = "name: Kafka\ndriverClass: io.openmessaging.benchmark.driver.kafka.KafkaBenchmarkDriver\n\
                replicationFactor: 3\nreset: true\ntopicConfig: |\n  min.insync.replicas=2\n\
                producerConfig: |\n  acks=all\n  linger.ms = 1\n";
    let d = parse_omb_driver(Path::new("d.yaml"), text).unwrap();
    assert_eq!(d.replication_factor, Some(3));
    assert!(d.is_kafka());
    let acks = d.get("producerConfig", "acks").unwrap();
    assert_eq!((acks.value.as_str(), acks.line, acks.column), ("all", 8, 8));
    let linger = d.get("producerConfig", "linger.ms").unwrap();
    assert_eq!((linger.value.as_str(), linger.line, linger.column), ("1", 9, 15));
    assert_eq!(d.get("topicConfig", "min.insync.replicas").unwrap().line, 6);
    assert_eq!(d.ignored[0].field, "reset");

    let e = parse_omb_driver(Path::new("d.yaml"), "replicationFactor: zero\n").unwrap_err();
    assert_eq!((e.line, e.column), (Some(1), Some(20)), "{e}");
    let e = parse_omb_driver(Path::new("d.yaml"), "producerConfig: |\n  acks\n").unwrap_err();
    assert_eq!(e.line, Some(2), "{e}");
}

#[test]
fn files_are_told_apart_by_content() {
    let p = Path::new("any.txt");
    let w = "topics: 1\npartitionsPerTopic: 1\nmessageSize: 1\nproducerRate: 1\ntestDurationMinutes: 1\n";
    assert_eq!(omb_file_kind(p, w), Some(OmbFileKind::Workload));
    assert_eq!(
        omb_file_kind(p, "driverClass: x\nproducerConfig: |\n  acks=1\n"),
        Some(OmbFileKind::Driver)
    );
    assert_eq!(omb_file_kind(p, "name = \"s\"\nexpect = \"pass\"\n"), None);
    // Broken YAML is still an OMB file by its extension or its keys, so it gets a YAML error.
    assert_eq!(
        omb_file_kind(Path::new("w.yaml"), "topics: [\n"),
        Some(OmbFileKind::Workload)
    );
    assert_eq!(omb_file_kind(p, "partitionsPerTopic: [\n"), Some(OmbFileKind::Workload));
    assert_eq!(omb_file_kind(p, "name = [\n"), None);
}

#[test]
fn sizes_no_simulation_could_run_are_refused_at_their_field() {
    let base = "topics: 2\npartitionsPerTopic: 1\nmessageSize: 100\ntestDurationMinutes: 1\n";
    for (tail, field) in [
        ("producerRate: 1e300\n", "producerRate"),
        (
            "producerRate: 10\nconsumerBacklogSizeGB: 1e300\n",
            "consumerBacklogSizeGB",
        ),
        ("producerRate: 10\nproducersPerTopic: 4000000000\n", "producersPerTopic"),
        (
            "producerRate: 10\nconsumerPerSubscription: 6000\n",
            "consumerPerSubscription",
        ),
    ] {
        let e = parse_omb_workload(Path::new("w.yaml"), &format!("{base}{tail}")).unwrap_err();
        assert_eq!(e.field, field, "{e}");
        assert!(e.message.len() < 200, "a short message: {e}");
    }
    // Just inside the limits is accepted.
    let ok = "producerRate: 100000000\nconsumerPerSubscription: 5000\nproducersPerTopic: 5000\n";
    assert!(parse_omb_workload(Path::new("w.yaml"), &format!("{base}{ok}")).is_ok());
}
