//! OMB's Kafka driver file (`driver-kafka/kafka-*.yaml`): the replication
//! factor and the topic, common, producer and consumer configs, which OMB
//! writes as Java properties (`key=value` lines) inside YAML block scalars.
//!
//! This module only reads the file and remembers where each property is;
//! which of them the simulated log models is decided where the scenario is
//! built, so that this crate needs to know nothing of the log's settings.

use std::path::{Path, PathBuf};

use serde_norway::Value;

use super::source::{OmbError, OmbIgnored, Source};

/// The config sections of a Kafka driver file, in the order OMB applies them.
pub const DRIVER_SECTIONS: [&str; 4] = ["topicConfig", "commonConfig", "producerConfig", "consumerConfig"];

/// One `key=value` line of a driver's config section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OmbProperty {
    /// The section, e.g. `producerConfig`.
    pub section: String,
    /// The property name, e.g. `acks`.
    pub key: String,
    /// Its value, trimmed.
    pub value: String,
    /// 1-based line in the driver file.
    pub line: usize,
    /// 1-based column of the value.
    pub column: usize,
}

impl OmbProperty {
    /// `section.key`, as warnings and `ignored_fields` name it.
    pub fn field(&self) -> String {
        format!("{}.{}", self.section, self.key)
    }
}

/// An OMB driver file as read.
#[derive(Debug, Clone, PartialEq)]
pub struct OmbDriver {
    /// The file.
    pub path: PathBuf,
    /// `name` (OMB writes it into its result files as `driver`).
    pub name: String,
    /// `driverClass`, when given.
    pub driver_class: Option<String>,
    /// `replicationFactor`, when given.
    pub replication_factor: Option<u32>,
    /// The properties of every section, in file order.
    pub properties: Vec<OmbProperty>,
    /// Top-level fields read but not modelled, with why.
    pub ignored: Vec<OmbIgnored>,
}

impl OmbDriver {
    /// The last value of `key` in `section` (later lines win, as in Java's `Properties`).
    pub fn get(&self, section: &str, key: &str) -> Option<&OmbProperty> {
        self.properties
            .iter()
            .rev()
            .find(|p| p.section == section && p.key == key)
    }

    /// Whether the driver is OMB's Kafka driver (or names no class at all).
    pub fn is_kafka(&self) -> bool {
        self.driver_class.as_deref().is_none_or(|c| c.contains(".kafka."))
    }

    /// An error on a property, at its value.
    pub fn error_at(&self, p: &OmbProperty, message: impl Into<String>) -> OmbError {
        OmbError {
            file: self.path.clone(),
            line: Some(p.line),
            column: Some(p.column),
            field: p.field(),
            message: message.into(),
        }
    }
}

/// Reads an OMB driver file; errors name the file, line, column and field.
pub fn read_omb_driver(path: &Path) -> Result<OmbDriver, OmbError> {
    let text = std::fs::read_to_string(path).map_err(|e| OmbError {
        file: path.to_path_buf(),
        line: None,
        column: None,
        field: String::new(),
        message: format!("cannot read the OpenMessaging Benchmark driver: {e}"),
    })?;
    parse_omb_driver(path, &text)
}

/// Parses the text of the OMB driver file `path`.
pub fn parse_omb_driver(path: &Path, text: &str) -> Result<OmbDriver, OmbError> {
    let src = Source { file: path, text };
    let doc: Value = serde_norway::from_str(text).map_err(|e| src.yaml_error(&e))?;
    let Some(map) = doc.as_mapping() else {
        return Err(src.error_at(
            1,
            1,
            "",
            "an OpenMessaging Benchmark driver must be a YAML map of fields",
        ));
    };
    let mut ignored = Vec::new();
    for k in map.keys() {
        let name = k.as_str().unwrap_or_default();
        match name {
            "name" | "driverClass" | "replicationFactor" => {}
            s if DRIVER_SECTIONS.contains(&s) => {}
            "reset" => ignored.push(OmbIgnored::new(
                "reset",
                "every simulated run starts from an empty cluster",
            )),
            other => ignored.push(OmbIgnored::new(other, "not a field of OMB's Kafka driver file")),
        }
    }
    let string = |field: &str| -> Result<Option<String>, OmbError> {
        match doc.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(src.error(field, "must be a string")),
        }
    };
    let name = string("name")?.unwrap_or_else(|| "Kafka".into());
    let driver_class = string("driverClass")?;
    let replication_factor = match doc.get("replicationFactor") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .filter(|&n| n >= 1)
                .ok_or_else(|| src.error("replicationFactor", "must be a whole number >= 1"))?,
        ),
    };
    let mut properties = Vec::new();
    for section in DRIVER_SECTIONS {
        let Some(body) = string(section)? else { continue };
        properties.extend(properties_of(&src, section, &body)?);
    }
    Ok(OmbDriver {
        path: path.to_path_buf(),
        name,
        driver_class,
        replication_factor,
        properties,
        ignored,
    })
}

/// The `key=value` lines of one section, each placed in the file: the
/// section's lines follow its key, in order, so each is looked for after
/// the previous one.
fn properties_of(src: &Source<'_>, section: &str, body: &str) -> Result<Vec<OmbProperty>, OmbError> {
    let lines: Vec<&str> = src.text.lines().collect();
    let mut cursor = src.key_position(section).map_or(0, |(l, _)| l - 1);
    let mut out = Vec::new();
    for raw in body.lines() {
        let t = raw.trim();
        if t.is_empty() || t.starts_with('#') || t.starts_with('!') {
            continue;
        }
        // The line in the file that holds it; a section written inline
        // (`"acks=1\nlinger.ms=1"`) stays on the section's own line.
        let at = (cursor..lines.len()).find(|&i| lines[i].trim() == t);
        let (line_no, indent) = match at {
            Some(i) => {
                cursor = i + 1;
                (i + 1, lines[i].len() - lines[i].trim_start().len())
            }
            None => (cursor.max(1), 0),
        };
        // Java properties split at the first `=` or `:` (or white space).
        let split = t.find(['=', ':']).or_else(|| t.find(char::is_whitespace));
        let Some(i) = split else {
            return Err(src.error_at(
                line_no,
                indent + 1,
                &format!("{section}.{t}"),
                "has no value: write key=value",
            ));
        };
        let key = t[..i].trim().to_string();
        let rest = &t[i + 1..];
        let value = rest.trim().to_string();
        let value_col = indent + i + 1 + (rest.len() - rest.trim_start().len()) + 1;
        out.push(OmbProperty {
            section: section.to_string(),
            key,
            value,
            line: line_no,
            column: value_col,
        });
    }
    Ok(out)
}
