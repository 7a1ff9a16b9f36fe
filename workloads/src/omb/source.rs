//! Where in an OpenMessaging Benchmark file a problem is: errors that name
//! the file, the line and the column, and the fields a simulation does not
//! model, each with the reason it is left out.
//!
//! OMB files are flat YAML maps (plus, in driver files, `key=value`
//! properties inside block scalars), so a field is placed by finding its key
//! at the start of a line rather than by keeping spans through the parser.

use std::fmt;
use std::path::{Path, PathBuf};

/// A problem with an OMB workload or driver file.
#[derive(Debug, Clone, PartialEq)]
pub struct OmbError {
    /// The file.
    pub file: PathBuf,
    /// 1-based line, when the problem can be placed.
    pub line: Option<usize>,
    /// 1-based column of the offending value (or key), when placed.
    pub column: Option<usize>,
    /// The OMB field, e.g. `producerRate` or `producerConfig.acks`; empty for the whole file.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for OmbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        if self.field.is_empty() {
            write!(f, ": {}", self.message)
        } else {
            write!(f, ": field `{}`: {}", self.field, self.message)
        }
    }
}

impl std::error::Error for OmbError {}

/// A field of an OMB file that the simulation reads but does not model.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OmbIgnored {
    /// The field, as the file names it (`useRandomizedPayloads`, `consumerConfig.isolation.level`).
    pub field: String,
    /// Why it does not change the run.
    pub reason: String,
}

impl OmbIgnored {
    /// A new entry.
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> OmbIgnored {
        OmbIgnored {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// The text of one OMB file, for placing errors.
pub(crate) struct Source<'a> {
    pub(crate) file: &'a Path,
    pub(crate) text: &'a str,
}

impl Source<'_> {
    /// An error on a top-level field, placed at its value.
    pub(crate) fn error(&self, field: &str, message: impl Into<String>) -> OmbError {
        let (line, column) = match self.key_position(field) {
            Some((l, c)) => (Some(l), Some(c)),
            None => (None, None),
        };
        OmbError {
            file: self.file.to_path_buf(),
            line,
            column,
            field: field.to_string(),
            message: message.into(),
        }
    }

    /// An error at a known place.
    pub(crate) fn error_at(&self, line: usize, column: usize, field: &str, message: impl Into<String>) -> OmbError {
        OmbError {
            file: self.file.to_path_buf(),
            line: Some(line),
            column: Some(column),
            field: field.to_string(),
            message: message.into(),
        }
    }

    /// The YAML parser's own complaint, placed where it points.
    pub(crate) fn yaml_error(&self, e: &serde_norway::Error) -> OmbError {
        let (line, column) = match e.location() {
            Some(l) => (Some(l.line()), Some(l.column())),
            None => (None, None),
        };
        // The parser appends "at line L column C" itself; the place is already in front.
        let text = e.to_string();
        let message = match text.find(" at line ") {
            Some(i) => text[..i].to_string(),
            None => text,
        };
        OmbError {
            file: self.file.to_path_buf(),
            line,
            column,
            field: String::new(),
            message: format!("not valid YAML: {message}"),
        }
    }

    /// Line and column (1-based) of the value of top-level `key:`, or of the
    /// key when the value is on the next lines (a block scalar).
    pub(crate) fn key_position(&self, key: &str) -> Option<(usize, usize)> {
        for (i, line) in self.text.lines().enumerate() {
            let Some(rest) = line.strip_prefix(key) else { continue };
            let after = rest.trim_start();
            if !after.starts_with(':') {
                continue;
            }
            let value = after[1..].trim_start();
            let col = if value.is_empty() || value.starts_with('#') {
                1
            } else {
                line.len() - value.len() + 1
            };
            return Some((i + 1, col));
        }
        None
    }
}
