//! How validation refuses a field: the (field, message) pair every check
//! returns, and the refusals many of them share.

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

/// Largest CPU cost, µs, that one charge (per request, per KiB, per record,
/// per batch) may have: a second is far beyond any real machine, and keeps
/// a request's cost, summed, within the CPU queue's clock.
const MAX_CPU_COST_US: f64 = 1_000_000.0;

/// Refuse a CPU cost that is negative, not a number, or so large that the
/// CPU queue's clock would overflow.
pub(super) fn cpu_cost(field: &str, v: f64) -> Result<(), Problem> {
    if !(v.is_finite() && v >= 0.0) {
        return fail(field, format!("must be a finite number of µs, 0 or more, got {v}"));
    }
    if v > MAX_CPU_COST_US {
        return fail(
            field,
            format!("{v} µs is more than a second of CPU; at most {MAX_CPU_COST_US} (the CPU's clock would overflow)"),
        );
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
