//! Import of OpenMessaging Benchmark workload files.

use std::path::Path;

use streamsim_workloads::{
    from_omb_yaml, from_omb_yaml_str, KeySpec, OmbKeyDistributor, RateSpec, SizeSpec, Workload, OMB_KEY_COUNT,
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
        (full.replace("producerRate: 1000", "producerRate: 0"), "producerRate"),
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
