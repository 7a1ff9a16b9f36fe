//! `sweep.json`: the machine-readable result of a sweep or of one shard of
//! it, which `streamsim merge` joins. It names the sweep it belongs to (seed
//! range, shard, scenarios and a digest of each file) so that a merge can
//! refuse shards of different sweeps instead of mixing them.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use streamsim_reports::sweep::{relative_link, SweepRunError};
use streamsim_reports::{RunResult, SweepEntry};

use crate::seeds::{SeedRange, Shard};

/// Name of the file in a sweep directory.
pub const FILE_NAME: &str = "sweep.json";

/// Format tag; bumped when a reader of the old format could misread the new.
pub const FORMAT: &str = "streamsim-sweep/1";

/// A scenario of a sweep.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScenarioRef {
    /// Name from the file.
    pub name: String,
    /// Path as given on the command line.
    pub path: String,
    /// FNV-1a digest of the file's text, hex: equal names with different
    /// digests are different scenarios.
    pub digest: String,
}

/// One finished run: its result (the `--json` object, flattened) and where
/// its report is, relative to the sweep directory, when one was written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Whether the run is as its scenario expects, judged over the runs of
    /// this file (a negative control's passing seed is fine once another seed
    /// caught it; see `streamsim_reports::sweep::is_unexpected`).
    pub matches_expect: bool,
    /// The run's result.
    #[serde(flatten)]
    pub result: RunResult,
    /// Report directory of the run, relative to the sweep directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_dir: Option<String>,
}

/// Shard `index` of `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardRef {
    /// K, 1-based.
    pub index: u64,
    /// N.
    pub count: u64,
}

/// The whole file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepFile {
    /// [`FORMAT`].
    pub format: String,
    /// Version of the streamsim that ran it, with its git commit: `merge`
    /// refuses shards of different builds, whose runs are not comparable.
    pub streamsim_version: String,
    /// The sweep's seed range, half-open (`0..32`), before sharding.
    pub seeds: String,
    /// Which shard this is; `None` for a merge of shards.
    pub shard: Option<ShardRef>,
    /// Shards a merge joined (empty for a sweep).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged_shards: Vec<ShardRef>,
    /// False when `--fail-fast` stopped scheduling runs before the end.
    pub complete: bool,
    /// Scenarios, in the order given.
    pub scenarios: Vec<ScenarioRef>,
    /// Finished runs, by scenario then seed.
    pub entries: Vec<Entry>,
    /// Runs that did not finish, by scenario then seed.
    pub errors: Vec<SweepRunError>,
}

impl SweepFile {
    /// A new file for one shard of a sweep.
    pub fn new(seeds: SeedRange, shard: Shard, scenarios: Vec<ScenarioRef>) -> SweepFile {
        SweepFile {
            format: FORMAT.to_string(),
            streamsim_version: crate::VERSION.to_string(),
            seeds: seeds.to_string(),
            shard: Some(ShardRef {
                index: shard.index,
                count: shard.count,
            }),
            merged_shards: Vec::new(),
            complete: true,
            scenarios,
            entries: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// Sets the runs, with report directories made relative to `dir`, the
    /// sweep directory the file is written to.
    pub fn set_runs(&mut self, entries: &[SweepEntry], errors: &[SweepRunError], dir: &Path) {
        let caught = streamsim_reports::sweep::caught_scenarios(entries);
        self.entries = entries
            .iter()
            .map(|e| Entry {
                matches_expect: !streamsim_reports::sweep::is_unexpected(e, &caught),
                result: e.result.clone(),
                report_dir: e.report_dir.as_deref().map(|d| relative_link(d, dir)),
            })
            .collect();
        self.errors = errors.to_vec();
    }

    /// The runs as the reports crate takes them, with report directories
    /// resolved against `dir`, the directory the file was read from.
    pub fn sweep_entries(&self, dir: &Path) -> Vec<SweepEntry> {
        self.entries
            .iter()
            .map(|e| SweepEntry {
                result: e.result.clone(),
                report_dir: e.report_dir.as_deref().map(|r| resolve(dir, r)),
            })
            .collect()
    }

    /// Writes `dir/sweep.json`.
    pub fn write(&self, dir: &Path) -> std::io::Result<PathBuf> {
        let path = dir.join(FILE_NAME);
        let json = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        fs::write(&path, format!("{json}\n"))?;
        Ok(path)
    }

    /// Reads `DIR/sweep.json` (or the file itself when given a file), with
    /// errors that say which file and what is wrong with it.
    pub fn read(input: &Path) -> Result<(SweepFile, PathBuf), String> {
        let (dir, path) = if input.is_dir() {
            (input.to_path_buf(), input.join(FILE_NAME))
        } else {
            let dir = input.parent().map(Path::to_path_buf).unwrap_or_default();
            (dir, input.to_path_buf())
        };
        let text = fs::read_to_string(&path).map_err(|e| {
            if input.is_dir() {
                format!(
                    "{}: no {FILE_NAME} ({e}); give the --out directory of a `streamsim sweep`",
                    input.display()
                )
            } else {
                format!("{}: cannot read it: {e}", path.display())
            }
        })?;
        // Check the tag before the body, so a file of another format is
        // named as such rather than as a missing field.
        let tag = serde_json::from_str::<serde_json::Value>(&text)
            .map_err(|e| format!("{}: not JSON: {e}", path.display()))?
            .get("format")
            .and_then(|f| f.as_str().map(str::to_string));
        if tag.as_deref() != Some(FORMAT) {
            return Err(format!(
                "{}: not a streamsim sweep result (format {}, expected {FORMAT})",
                path.display(),
                tag.map_or("missing".to_string(), |t| format!("{t:?}"))
            ));
        }
        let file: SweepFile = serde_json::from_str(&text).map_err(|e| {
            format!(
                "{}: not a sweep result this streamsim can read ({e}); merge shards run by the same version",
                path.display()
            )
        })?;
        Ok((file, dir))
    }
}

/// `rel` (from a sweep file) against the directory it is relative to.
fn resolve(dir: &Path, rel: &str) -> PathBuf {
    if rel.starts_with('/') {
        PathBuf::from(rel)
    } else {
        dir.join(rel)
    }
}

/// The digest of a scenario file's text.
pub fn digest(text: &str) -> String {
    format!("{:016x}", streamsim_workloads::fnv1a64(text.as_bytes()))
}
