//! How validation refuses a field: the (field, message) pair every check
//! returns, and the two refusals most of them share.

/// A refused setting: the dotted field and what is wrong with it.
pub(super) type Problem = (String, String);

/// Refuse `field` with `message`.
pub(super) fn fail<T>(field: impl Into<String>, message: impl Into<String>) -> Result<T, Problem> {
    Err((field.into(), message.into()))
}

/// Refuse anything but a finite number above zero.
pub(super) fn positive(field: &str, v: f64) -> Result<(), Problem> {
    if !(v.is_finite() && v > 0.0) {
        return fail(field, format!("must be a positive number, got {v}"));
    }
    Ok(())
}

/// Every refusal of one scenario, gathered so that a file reports all its
/// problems at once rather than one per run.
#[derive(Default)]
pub(super) struct Refusals(pub(super) Vec<Problem>);

impl Refusals {
    /// Refuse `field` with `message`.
    pub(super) fn fail(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push((field.into(), message.into()));
    }

    /// Keep the refusal of a check that stops at its first problem.
    pub(super) fn check(&mut self, result: Result<(), Problem>) {
        if let Err(p) = result {
            self.0.push(p);
        }
    }
}
