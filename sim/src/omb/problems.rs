//! Every problem of a refused OMB workload or driver file at once.
//!
//! The files' readers stop at the first problem they meet. Rather than a
//! second copy of their rules, a refused file is mended where it was
//! refused and read again, until it is accepted or can be mended no more:
//! the offending line is blanked (the field falls back to its default, a
//! driver property to the project's setting), or, for a field that must be
//! given, its value is replaced by 1. Lines are blanked rather than removed,
//! so that every later problem keeps its own line number.
//!
//! A YAML syntax error ends the list: past it the parser's view of the file
//! is a guess. So does a problem with the file as a whole (a backlog too big
//! to build, say) once the file has been mended, since it may come from the
//! stand-in values rather than the file.

use std::path::Path;

use streamsim_workloads::{parse_omb_driver, parse_omb_workload, OmbError};

use super::{plan_at, whole_error, OmbOptions, OmbPlan};

/// At most this many problems are listed per run: a file that bad is not
/// worth reading further.
const MAX_PROBLEMS: usize = 50;

/// The texts of the files a plan is built from.
#[derive(Clone)]
struct Texts {
    workload: String,
    driver: Option<String>,
}

impl Texts {
    fn of_mut(&mut self, file: &Path, workload: &Path, driver: Option<&Path>) -> Option<&mut String> {
        if file == workload {
            Some(&mut self.workload)
        } else if driver == Some(file) {
            self.driver.as_mut()
        } else {
            None
        }
    }
}

/// How a refused line is mended.
#[derive(Clone, Copy)]
enum Mend {
    /// Blank the line: the field or property takes its default.
    Blank,
    /// Replace the value with 1, or add `field: 1` when the field is absent.
    One,
}

/// Builds the run of the OMB workload file `path` (and driver, if any), or
/// lists every problem found in the files, in the order found.
pub fn plan_all(path: &Path, options: &OmbOptions) -> Result<OmbPlan, Vec<OmbError>> {
    let read = |file: &Path, what: &str| {
        std::fs::read_to_string(file).map_err(|e| {
            vec![whole_error(
                file,
                format!("cannot read the OpenMessaging Benchmark {what}: {e}"),
            )]
        })
    };
    let driver_path = options.driver.as_deref();
    let mut texts = Texts {
        workload: read(path, "workload")?,
        driver: driver_path.map(|d| read(d, "driver")).transpose()?,
    };
    let mut problems: Vec<OmbError> = Vec::new();
    while problems.len() < MAX_PROBLEMS {
        let e = match attempt(path, options, &texts) {
            Ok(plan) if problems.is_empty() => return Ok(plan),
            Ok(_) => break,
            Err(e) => e,
        };
        // Syntax, or the file as a whole: after a mend, likely the mend's doing.
        let syntax = e.field.is_empty();
        if syntax && !problems.is_empty() {
            break;
        }
        let mended = if syntax {
            None
        } else {
            [Mend::Blank, Mend::One].into_iter().find_map(|how| {
                let mut next = texts.clone();
                let text = next.of_mut(&e.file, path, driver_path)?;
                *text = mend(text, &e, how)?;
                // A mend that only moves the refusal to the same field's
                // absence is no mend: try the next way.
                match attempt(path, options, &next) {
                    Err(again) if again.field == e.field && again.file == e.file => None,
                    _ => Some(next),
                }
            })
        };
        problems.push(e);
        match mended {
            Some(next) => texts = next,
            None => break,
        }
    }
    Err(problems)
}

/// One reading of the texts, stopping at the first problem.
fn attempt(path: &Path, options: &OmbOptions, texts: &Texts) -> Result<OmbPlan, OmbError> {
    let workload = parse_omb_workload(path, &texts.workload)?;
    let driver = match (options.driver.as_deref(), texts.driver.as_deref()) {
        (Some(p), Some(t)) => Some(parse_omb_driver(p, t)?),
        _ => None,
    };
    let rate = if workload.finds_max_rate() {
        streamsim_workloads::OMB_MAX_RATE_START
    } else {
        workload.producer_rate
    };
    plan_at(path, workload, driver, options, rate, None)
}

/// `text` mended at `e`'s place, or `None` when it cannot be (or would not change).
fn mend(text: &str, e: &OmbError, how: Mend) -> Option<String> {
    let Some(line) = e.line else {
        // An absent top-level field: add it at the end, where it moves no other line.
        let plain = !e.field.is_empty() && e.field.chars().all(|c| c.is_ascii_alphanumeric());
        return match how {
            Mend::One if plain => {
                let sep = if text.is_empty() || text.ends_with('\n') {
                    ""
                } else {
                    "\n"
                };
                Some(format!("{text}{sep}{}: 1\n", e.field))
            }
            _ => None,
        };
    };
    let mut out = String::with_capacity(text.len() + 2);
    let mut changed = false;
    for (i, raw) in text.split_inclusive('\n').enumerate() {
        if i + 1 != line {
            out.push_str(raw);
            continue;
        }
        let body = raw.trim_end_matches(['\n', '\r']);
        let ending = &raw[body.len()..];
        let replaced = match how {
            Mend::Blank => String::new(),
            Mend::One => {
                let start = e.column.unwrap_or(1).saturating_sub(1);
                if start == 0 || !body.is_char_boundary(start.min(body.len())) || start > body.len() {
                    return None;
                }
                format!("{}1", &body[..start])
            }
        };
        changed = replaced != body;
        out.push_str(&replaced);
        out.push_str(ending);
    }
    changed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn error(line: Option<usize>, column: Option<usize>, field: &str) -> OmbError {
        OmbError {
            file: PathBuf::from("w.yaml"),
            line,
            column,
            field: field.into(),
            message: String::new(),
        }
    }

    #[test]
    fn a_line_is_blanked_or_its_value_replaced_keeping_every_line_number() {
        let text = "topics: 1\npartitionsPerTopic: ten\nmessageSize: 10\n";
        let e = error(Some(2), Some(21), "partitionsPerTopic");
        assert_eq!(mend(text, &e, Mend::Blank).unwrap(), "topics: 1\n\nmessageSize: 10\n");
        assert_eq!(
            mend(text, &e, Mend::One).unwrap(),
            "topics: 1\npartitionsPerTopic: 1\nmessageSize: 10\n"
        );
        // An absent field is added at the end; a blank line is not blanked again.
        let absent = error(None, None, "testDurationMinutes");
        assert_eq!(
            mend(text, &absent, Mend::One).unwrap(),
            format!("{text}testDurationMinutes: 1\n")
        );
        assert!(mend("a: 1\n\n", &error(Some(2), Some(1), "b"), Mend::Blank).is_none());
    }
}
