//! The page cache under `flush = "os"`: a disk slower than the produce rate
//! bounds the throughput once dirty pages reach `dirty_ratio`, and a power
//! loss takes what the kernel had not yet written back (up to
//! `dirty_expire_centisecs` of writes, not a fixed 5 s).

use std::path::{Path, PathBuf};
use streamsim_reports::{RunReport, Verdict};

use crate::common;

const NEG: &str = "scenarios/neg-disk-slower-than-produce.toml";

fn run(path: &Path) -> RunReport {
    common::run_file(path, 1).report
}

/// `text` as a scenario file of its own.
fn scenario_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("streamsim-page-cache-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// Mean appended events per second over the buckets starting in `[from_s, to_s)`.
fn appended_rate(r: &RunReport, from_s: u64, to_s: u64) -> f64 {
    let span: Vec<_> = r
        .buckets
        .iter()
        .filter(|b| (from_s * 1000..to_s * 1000).contains(&b.start_ms))
        .collect();
    let events: u64 = span.iter().map(|b| b.appended).sum();
    events as f64 / (span.len() as f64 * r.bucket_ms as f64 / 1000.0)
}

#[test]
fn a_disk_slower_than_the_produce_rate_bounds_throughput() {
    let r = run(&Path::new(env!("CARGO_MANIFEST_DIR")).join(NEG));
    let res = &r.result;
    assert_eq!(res.verdict, Verdict::Violation);
    assert!(res.violations.iter().any(|v| v.invariant == "budget.ack_p99_ms"));
    assert_eq!(res.events_lost, 0, "throttling delays writes, it loses none");
    let pc = res.page_cache.expect("writes blocked at the dirty limit");
    assert!(pc.throttled_writes > 100, "{pc:?}");
    // At most dirty_ratio (20% of 1 GiB) plus the writes in flight when it was reached.
    assert!((150.0..260.0).contains(&pc.peak_dirty_mib), "{pc:?}");
    // Before the cache fills the log takes the offered 30,000/s; after, the disk's
    // 20 MB/s of 1 KiB records, about 19,500/s.
    let early = appended_rate(&r, 1, 9);
    assert!(
        (28_000.0..32_000.0).contains(&early),
        "appended {early}/s before the limit"
    );
    let disk_bound = 20e6 / 1024.0;
    let late = appended_rate(&r, 15, 30);
    assert!(
        (0.75 * disk_bound..1.1 * disk_bound).contains(&late),
        "appended {late}/s at the limit, the disk allows {disk_bound}/s"
    );
    // The broker panel shows why: the page cache at its limit and the disk busy.
    let saturated = r
        .buckets
        .iter()
        .filter(|b| (15_000..30_000).contains(&b.start_ms))
        .all(|b| b.brokers.iter().all(|u| u.dirty > 0.9 && u.disk > 0.9));
    assert!(
        saturated,
        "every broker's cache at its limit and disk busy from 15 s on"
    );
}

#[test]
fn the_same_load_on_fast_disks_passes_unthrottled() {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(NEG)).unwrap();
    let text = text
        .replace("disk_mb_per_s = 20", "disk_mb_per_s = 200")
        .replace("expect = \"violation\"", "expect = \"pass\"")
        .replace("expect_invariant = [\"budget.ack_p99_ms\", \"throughput\"]\n", "");
    let r = run(&scenario_file("fast-disks", &text));
    assert_eq!(r.result.verdict, Verdict::Pass, "{:?}", r.result.violations);
    assert_eq!(r.result.page_cache, None);
    let rate = appended_rate(&r, 15, 30);
    assert!((28_000.0..32_000.0).contains(&rate), "appended {rate}/s");
}

/// One broker without replicas, so a power loss shows exactly what its page cache held.
fn power_loss_case(expire_centisecs: u64) -> String {
    format!(
        r#"
name = "power-loss-page-cache"
expect = "violation"
duration_s = 30
[topology]
brokers = 1
partitions = 4
replication_factor = 1
gateways = 1
clients = 4
[log]
min_insync_replicas = 1
flush = "os"
[resources]
dirty_expire_centisecs = {expire_centisecs}
[workload]
rate = {{ kind = "constant", events_per_s = 1000 }}
[[faults]]
at_s = 20
kind = "crash"
target = "broker:0"
restart_after_s = 2
"#
    )
}

#[test]
fn a_power_loss_takes_what_the_kernel_had_not_written_back() {
    // Linux's 30 s expiry: at 20 s nothing has been written back, so everything goes.
    let r = run(&scenario_file("expire-30s", &power_loss_case(3_000))).result;
    assert_eq!(r.verdict, Verdict::Violation);
    assert!(r.events_lost > 18_000, "lost {} of the first 20 s", r.events_lost);
    // A 5 s expiry with the flusher every 5 s: at most about 10 s of writes are dirty.
    let r = run(&scenario_file("expire-5s", &power_loss_case(500))).result;
    assert_eq!(r.verdict, Verdict::Violation);
    assert!(
        (4_000..11_000).contains(&r.events_lost),
        "lost {} with a 5 s expiry",
        r.events_lost
    );
}
