//! Telling an OMB file from a scenario by its content, so that a workload
//! file runs whatever its extension and never gets a TOML error.

use std::path::Path;

use serde_norway::Value;

/// What kind of OMB file a text is, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OmbFileKind {
    /// A workload file (`topics`, `partitionsPerTopic`, `messageSize`, ...).
    Workload,
    /// A driver file (`driverClass`, `producerConfig`, ...).
    Driver,
}

/// Keys only an OMB workload file has.
const WORKLOAD_KEYS: [&str; 5] = [
    "partitionsPerTopic",
    "messageSize",
    "producerRate",
    "testDurationMinutes",
    "producersPerTopic",
];

/// Keys only an OMB driver file has.
const DRIVER_KEYS: [&str; 4] = ["driverClass", "producerConfig", "consumerConfig", "replicationFactor"];

/// Whether `text` (of the file `path`) is an OMB file, judged by its content:
/// a YAML map with OMB's keys. A file that is not valid YAML counts as an OMB
/// workload when it has a `.yaml`/`.yml` extension or a line starting with
/// one of OMB's keys, so its YAML error is reported rather than a TOML one.
pub fn omb_file_kind(path: &Path, text: &str) -> Option<OmbFileKind> {
    let has = |keys: &[&str], map: &serde_norway::Mapping| keys.iter().any(|k| map.contains_key(*k));
    match serde_norway::from_str::<Value>(text) {
        Ok(Value::Mapping(m)) if has(&WORKLOAD_KEYS, &m) => Some(OmbFileKind::Workload),
        Ok(Value::Mapping(m)) if has(&DRIVER_KEYS, &m) => Some(OmbFileKind::Driver),
        Ok(_) => None,
        Err(_) => {
            let yaml_ext = path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
            let omb_line = text.lines().any(|l| {
                WORKLOAD_KEYS
                    .iter()
                    .any(|k| l.strip_prefix(k).is_some_and(|r| r.trim_start().starts_with(':')))
            });
            (yaml_ext || omb_line).then_some(OmbFileKind::Workload)
        }
    }
}
