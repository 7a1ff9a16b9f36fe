//! Rewriting a scenario file's text: put a fault schedule in place of the
//! `faults` section, change the workload's length and rate. Everything
//! else stays as its author wrote it, comments included, so a drawn
//! (`schedule.toml`) or shrunk scenario reads like its original.

use crate::scenario::FaultSpec;
use serde::Serialize;
use std::path::Path;
use toml_edit::{value, DocumentMut, Item};

/// A scenario file being rewritten.
#[derive(Clone, Debug)]
pub struct ScenarioText {
    doc: DocumentMut,
}

#[derive(Serialize)]
struct FaultList<'a> {
    faults: &'a [FaultSpec],
}

/// The rate fields that scale with the event rate, by rate kind. Kinds
/// not listed (a CSV series, an OMB import) are left alone by [`ScenarioText::scale_rate`].
const RATE_FIELDS: &[(&str, &[&str])] = &[
    ("constant", &["events_per_s"]),
    ("ramp", &["from_per_s", "to_per_s"]),
    ("diurnal", &["events_per_day"]),
];

impl ScenarioText {
    /// Parse a scenario file's text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let doc = text.parse::<DocumentMut>().map_err(|e| e.to_string())?;
        Ok(ScenarioText { doc })
    }

    /// Replace the `faults` section (scheduled list or swarm bounds) by `faults` as `[[faults]]` tables.
    pub fn set_faults(&mut self, faults: &[FaultSpec]) {
        self.doc.remove("faults");
        if faults.is_empty() {
            return;
        }
        let text = toml::to_string(&FaultList { faults }).expect("fault specs serialise to TOML");
        let parsed = text.parse::<DocumentMut>().expect("serialised faults parse");
        let Some(mut item) = parsed.get("faults").cloned() else {
            return;
        };
        // After every other table, each behind a blank line, as a person writes them.
        let last = self
            .doc
            .iter()
            .filter_map(|(_, v)| v.as_table().and_then(|t| t.position()))
            .max();
        if let Some(tables) = item.as_array_of_tables_mut() {
            for (i, t) in tables.iter_mut().enumerate() {
                t.set_position(last.unwrap_or(0) + 1 + i);
                t.decor_mut().set_prefix("\n");
            }
        }
        self.doc.insert("faults", item);
    }

    /// Set a top-level number (`duration_s`).
    pub fn set_top(&mut self, key: &str, v: f64) {
        self.doc[key] = value(v);
    }

    /// Set a top-level string (`name`, `description`).
    pub fn set_str(&mut self, key: &str, v: &str) {
        self.doc[key] = value(v);
    }

    /// Multiply the workload's rate by `factor`; false if its kind does not scale.
    pub fn scale_rate(&mut self, factor: f64) -> bool {
        let Some(rate) = self.doc.get_mut("workload").and_then(|w| w.get_mut("rate")) else {
            return false;
        };
        let kind = rate.get("kind").and_then(|k| k.as_str()).unwrap_or("").to_string();
        if kind == "step" {
            let Some(steps) = rate.get_mut("steps").and_then(|s| s.as_array_mut()) else {
                return false;
            };
            for st in steps.iter_mut() {
                let Some(t) = st.as_inline_table_mut() else {
                    return false;
                };
                if !scale_in(t.get_mut("events_per_s"), factor) {
                    return false;
                }
            }
            return true;
        }
        let Some((_, fields)) = RATE_FIELDS.iter().find(|(k, _)| *k == kind) else {
            return false;
        };
        for f in *fields {
            let Some(v) = rate.get_mut(f) else { continue };
            let Some(x) = number(v) else { return false };
            *v = value(x * factor);
        }
        true
    }

    /// Make a relative CSV rate path absolute against `base`, so the file
    /// still finds its series when written elsewhere.
    pub fn absolutize_paths(&mut self, base: &Path) {
        let Some(rate) = self.doc.get_mut("workload").and_then(|w| w.get_mut("rate")) else {
            return;
        };
        let Some(p) = rate.get("path").and_then(|p| p.as_str()).map(str::to_string) else {
            return;
        };
        if Path::new(&p).is_relative() {
            let joined = base.join(&p);
            let abs = std::path::absolute(&joined).unwrap_or(joined);
            rate["path"] = value(abs.display().to_string());
        }
    }

    /// The text, after a comment `header` (each line prefixed with `# `).
    pub fn render(&self, header: &str) -> String {
        let mut out = String::new();
        for line in header.lines() {
            out.push_str("# ");
            out.push_str(line);
            out.push('\n');
        }
        out.push_str(&self.doc.to_string());
        out
    }
}

fn number(v: &Item) -> Option<f64> {
    v.as_float().or_else(|| v.as_integer().map(|i| i as f64))
}

fn scale_in(v: Option<&mut toml_edit::Value>, factor: f64) -> bool {
    let Some(v) = v else { return false };
    let Some(x) = v.as_float().or_else(|| v.as_integer().map(|i| i as f64)) else {
        return false;
    };
    *v = toml_edit::Value::from(x * factor);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{FaultKind, Target};

    const TEXT: &str = "# a comment\nname = \"x\"\nexpect = \"pass\"\nduration_s = 30\n\n[workload]\nrate = { kind = \"constant\", events_per_s = 1000 }\n\n[faults]\nmode = \"swarm\"\nkinds = [\"crash\"]\n";

    #[test]
    fn faults_duration_and_rate_are_replaced_and_the_rest_kept() {
        let mut t = ScenarioText::parse(TEXT).unwrap();
        t.set_faults(&[FaultSpec {
            at_s: 1.5,
            kind: FaultKind::Crash {
                target: Target::LeaderOf(0),
                restart_after_s: Some(2.0),
            },
        }]);
        t.set_top("duration_s", 12.0);
        assert!(t.scale_rate(0.5));
        let out = t.render("drawn");
        assert!(out.starts_with("# drawn\n# a comment\n"), "{out}");
        let s: crate::scenario::Scenario = toml::from_str(&out).unwrap();
        assert_eq!(s.duration_s, 12.0);
        assert_eq!(s.faults.len(), 1);
        assert_eq!(s.faults[0].at_s, 1.5);
        assert_eq!(
            s.workload.rate,
            streamsim_workloads::RateSpec::Constant { events_per_s: 500.0 }
        );
    }
}
