//! Machine profiles: the broker machines scenarios can name with
//! `[topology] machine = "i3en.2xlarge"` instead of spelling out CPU, disk,
//! NIC and memory. The profiles are data (`profiles/*.toml`, built into the
//! binary), each with its hourly price and where its figures come from.
//! Settings written in the scenario's `[resources]` override the profile's.

use crate::config::ResourceConfig;
use serde::{Deserialize, Serialize};

/// The profiles shipped with the project, as (file, text).
const BUILT_IN: [(&str, &str); 4] = [
    ("i3en.2xlarge.toml", include_str!("../../../profiles/i3en.2xlarge.toml")),
    ("i3en.6xlarge.toml", include_str!("../../../profiles/i3en.6xlarge.toml")),
    (
        "m5.2xlarge-gp3.toml",
        include_str!("../../../profiles/m5.2xlarge-gp3.toml"),
    ),
    (
        "three-cheap-machines-2014.toml",
        include_str!("../../../profiles/three-cheap-machines-2014.toml"),
    ),
];

/// OS and page tables, GiB: what neither the broker's heap nor the page cache gets.
const OS_GIB: u64 = 1;

/// Hours in an average month, as cloud price lists count them.
pub const HOURS_PER_MONTH: f64 = 730.0;

/// Log storage, GB over all replicas, that keeps `events_per_s` events of
/// `bytes_per_event` for `retention_s` seconds on `replicas` replicas.
pub fn retained_gb(events_per_s: f64, bytes_per_event: f64, retention_s: f64, replicas: usize) -> f64 {
    events_per_s * bytes_per_event * retention_s * replicas as f64 / 1e9
}

/// One broker machine.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MachineProfile {
    /// The name scenarios use.
    pub name: String,
    /// What the machine is.
    pub description: String,
    /// Cores (vCPUs) the broker can use.
    pub vcpus: usize,
    /// RAM, GiB.
    pub memory_gib: u64,
    /// The broker's JVM heap, GiB; the rest (less the OS) is page cache.
    pub broker_heap_gib: u64,
    /// CPU per request, µs.
    pub cpu_per_request_us: f64,
    /// CPU per KiB handled, µs.
    pub cpu_per_kib_us: f64,
    /// CPU per record handled, µs; the default's (docs/RESOURCES.md) when absent.
    #[serde(default)]
    pub cpu_per_record_us: Option<f64>,
    /// CPU per record batch handled, µs; the default's when absent.
    #[serde(default)]
    pub cpu_per_batch_us: Option<f64>,
    /// Sequential write bandwidth of the log disks together, MB/s.
    pub disk_mb_per_s: f64,
    /// One fsync, µs.
    pub fsync_us: u64,
    /// Log storage per broker, GB, when known.
    #[serde(default)]
    pub disk_capacity_gb: Option<f64>,
    /// NIC bandwidth, Gbit/s.
    pub nic_gbps: f64,
    /// On-demand price per broker-hour, USD; absent for owned hardware.
    #[serde(default)]
    pub price_per_hour_usd: Option<f64>,
    /// Price of log storage per GB-month, USD (0 when it comes with the machine).
    #[serde(default)]
    pub storage_per_gb_month_usd: f64,
    /// Where the price (and the machine's figures) come from, and when.
    pub price_source: String,
    /// Whether and to what the CPU and disk figures were fitted.
    pub fitted: String,
}

impl MachineProfile {
    /// The resource settings this machine stands for, Linux's page-cache defaults included.
    pub fn resources(&self) -> ResourceConfig {
        ResourceConfig {
            cores: self.vcpus,
            cpu_per_request_us: self.cpu_per_request_us,
            cpu_per_kib_us: self.cpu_per_kib_us,
            cpu_per_record_us: self
                .cpu_per_record_us
                .unwrap_or(crate::config::DEFAULT_CPU_PER_RECORD_US),
            cpu_per_batch_us: self.cpu_per_batch_us.unwrap_or(crate::config::DEFAULT_CPU_PER_BATCH_US),
            disk_mb_per_s: self.disk_mb_per_s,
            fsync_us: self.fsync_us,
            nic_gbps: self.nic_gbps,
            page_cache_mb: self.memory_gib.saturating_sub(self.broker_heap_gib + OS_GIB).max(1) * 1024,
            ..ResourceConfig::default()
        }
    }
}

/// Every built-in profile, in name order.
pub fn built_in() -> Vec<MachineProfile> {
    let mut v: Vec<MachineProfile> = BUILT_IN
        .iter()
        .map(|(file, text)| {
            toml::from_str(text).unwrap_or_else(|e| panic!("built-in profile profiles/{file} is malformed: {e}"))
        })
        .collect();
    v.sort_by(|a, b| a.name.cmp(&b.name));
    v
}

/// The built-in profile called `name`, or an error that lists the names there are.
pub fn find(name: &str) -> Result<MachineProfile, String> {
    let all = built_in();
    all.iter().find(|m| m.name == name).cloned().ok_or_else(|| {
        let names: Vec<String> = all.iter().map(|m| format!("\"{}\"", m.name)).collect();
        format!("unknown machine \"{name}\": the profiles are {}", names.join(", "))
    })
}

/// The scenario's resources: the profile's, with every key the scenario's own
/// `[resources]` table sets (`explicit`) taken from `parsed` instead.
pub fn overlay(profile: &MachineProfile, parsed: &ResourceConfig, explicit: &[String]) -> ResourceConfig {
    let base = toml::Table::try_from(profile.resources()).expect("resources serialise");
    let own = toml::Table::try_from(parsed).expect("resources serialise");
    let mut merged = base;
    for key in explicit {
        if let Some(v) = own.get(key) {
            merged.insert(key.clone(), v.clone());
        }
    }
    merged
        .try_into()
        .expect("a merge of two valid resource tables is valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_profile_loads_and_is_named_as_its_file() {
        let all = built_in();
        assert_eq!(all.len(), BUILT_IN.len());
        for (file, _) in BUILT_IN {
            let name = file.trim_end_matches(".toml");
            let m = find(name).unwrap();
            assert!(m.vcpus > 0 && m.disk_mb_per_s > 0.0 && m.nic_gbps > 0.0, "{m:?}");
            assert!(
                m.memory_gib > m.broker_heap_gib + OS_GIB,
                "{name}: no room for a page cache"
            );
        }
    }

    #[test]
    fn an_unknown_machine_names_the_known_ones() {
        let e = find("i3en.huge").unwrap_err();
        assert!(
            e.contains("i3en.2xlarge") && e.contains("three-cheap-machines-2014"),
            "{e}"
        );
    }

    #[test]
    fn explicit_settings_override_the_profile() {
        let m = find("m5.2xlarge-gp3").unwrap();
        let parsed = ResourceConfig {
            disk_mb_per_s: 500.0,
            ..ResourceConfig::default()
        };
        let r = overlay(&m, &parsed, &["disk_mb_per_s".to_string()]);
        assert_eq!(r.disk_mb_per_s, 500.0);
        assert_eq!(r.cores, 8);
        assert_eq!(r.nic_gbps, 10.0);
        assert_eq!(r.page_cache_mb, 25 * 1024);
    }

    #[test]
    fn a_profile_without_record_costs_takes_the_defaults_and_a_scenario_overrides_them() {
        let m = find("i3en.2xlarge").unwrap();
        assert_eq!(m.cpu_per_record_us, None, "the profile sets no per-record cost");
        let defaults = ResourceConfig::default();
        let r = m.resources();
        assert_eq!(r.cpu_per_record_us, defaults.cpu_per_record_us);
        assert_eq!(r.cpu_per_batch_us, defaults.cpu_per_batch_us);
        let parsed = ResourceConfig {
            cpu_per_record_us: 3.0,
            ..ResourceConfig::default()
        };
        let r = overlay(&m, &parsed, &["cpu_per_record_us".to_string()]);
        assert_eq!(r.cpu_per_record_us, 3.0);
        assert_eq!(r.cpu_per_batch_us, defaults.cpu_per_batch_us);
        assert_eq!(r.disk_mb_per_s, 659.0, "the profile's other figures stay");
    }
}

#[cfg(test)]
mod refusals {
    use crate::scenario::parse_scenario;
    use std::path::Path;

    /// The error for `section` added to a minimal scenario.
    fn refusal(section: &str) -> crate::scenario::ScenarioError {
        let text = format!(
            "name = \"x\"\nexpect = \"pass\"\nduration_s = 5\n[workload]\nrate = {{ kind = \"constant\", events_per_s = 10 }}\n{section}"
        );
        parse_scenario(Path::new("x.toml"), &text).expect_err("refused")
    }

    #[test]
    fn an_unknown_machine_is_refused_at_its_line() {
        let e = refusal("[topology]\nmachine = \"i3en.huge\"\n");
        assert_eq!(e.field(), "topology.machine");
        assert_eq!(e.line(), Some(7));
        assert!(e.message().contains("i3en.2xlarge"), "{e}");
    }

    #[test]
    fn impossible_page_cache_settings_are_refused_with_their_field() {
        let cases = [
            (
                "dirty_background_ratio = 20\ndirty_ratio = 20\n",
                "resources.dirty_background_ratio",
            ),
            ("dirty_ratio = 0\n", "resources.dirty_ratio"),
            ("page_cache_mb = 0\n", "resources.page_cache_mb"),
            ("dirty_expire_centisecs = 0\n", "resources.dirty_expire_centisecs"),
            ("dirty_writeback_centisecs = 0\n", "resources.dirty_writeback_centisecs"),
        ];
        for (settings, field) in cases {
            let e = refusal(&format!("[resources]\n{settings}"));
            assert_eq!(e.field(), field, "{e}");
            assert!(e.line().is_some(), "{e}");
        }
    }
}
