//! The one error type of this crate: a problem with one field of a workload.

use std::fmt;

/// Error naming the offending field by dotted path relative to the `[workload]`
/// table, e.g. `"keys.exponent"` or `"rate.profiles[1].events_per_s"`.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    /// Dotted path of the field, relative to the `[workload]` table (or to the top
    /// of an OpenMessaging Benchmark file for [`crate::from_omb_yaml`]).
    pub field: String,
    /// What is wrong with it, in words a scenario author can act on.
    pub message: String,
}

impl FieldError {
    /// A new error for `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "workload: {}", self.message)
        } else {
            write!(f, "workload field `{}`: {}", self.field, self.message)
        }
    }
}

impl std::error::Error for FieldError {}

/// Joins a parent path and a child name: `join("rate", "base")` is `"rate.base"`.
pub(crate) fn join(parent: &str, child: &str) -> String {
    if parent.is_empty() {
        child.to_string()
    } else {
        format!("{parent}.{child}")
    }
}

/// Rejects NaN, infinities and negative values.
pub(crate) fn non_negative(path: &str, name: &str, v: f64) -> Result<(), FieldError> {
    if !v.is_finite() || v < 0.0 {
        return Err(FieldError::new(
            join(path, name),
            format!("must be a finite number >= 0, got {v}"),
        ));
    }
    Ok(())
}

/// Rejects values outside `[0, 1]`.
pub(crate) fn fraction(path: &str, name: &str, v: f64) -> Result<(), FieldError> {
    if !(0.0..=1.0).contains(&v) {
        return Err(FieldError::new(
            join(path, name),
            format!("must be a fraction in [0, 1], got {v}"),
        ));
    }
    Ok(())
}

/// Rejects NaN, infinities, zero and negative values.
pub(crate) fn positive(path: &str, name: &str, v: f64) -> Result<(), FieldError> {
    if !v.is_finite() || v <= 0.0 {
        return Err(FieldError::new(
            join(path, name),
            format!("must be a finite number > 0, got {v}"),
        ));
    }
    Ok(())
}
