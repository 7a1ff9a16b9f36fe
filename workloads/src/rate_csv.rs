//! Reading a rate series from CSV, with errors that name the file and line.

use std::path::Path;

use crate::error::FieldError;

/// Name of the time column of a rate series.
pub const TIME_COLUMN: &str = "t_s";

/// Loads `(t_s, rate)` pairs from `file`, reading the rate from `column`.
/// Errors are reported against `field` (the spec's `path` field).
pub(crate) fn load_series(file: &Path, column: &str, field: &str) -> Result<(Vec<f64>, Vec<f64>), FieldError> {
    let shown = file.display();
    let err = |msg: String| FieldError::new(field, msg);
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_path(file)
        .map_err(|e| err(format!("cannot read rate series `{shown}`: {e}")))?;
    let headers = rdr
        .headers()
        .map_err(|e| err(format!("`{shown}`: cannot read the header row: {e}")))?
        .clone();
    let find = |name: &str| {
        headers.iter().position(|h| h == name).ok_or_else(|| {
            let have: Vec<&str> = headers.iter().collect();
            err(format!(
                "`{shown}`: no column `{name}` in the header row (columns: {have:?})"
            ))
        })
    };
    let ti = find(TIME_COLUMN)?;
    let vi = find(column)?;
    let (mut ts, mut vs) = (Vec::new(), Vec::new());
    for rec in rdr.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map(|p| p.line()).unwrap_or(0);
            err(format!("`{shown}` line {line}: {e}"))
        })?;
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        let cell = |i: usize, name: &str| -> Result<f64, FieldError> {
            let raw = rec.get(i).unwrap_or("");
            let v: f64 = raw
                .parse()
                .map_err(|_| err(format!("`{shown}` line {line}: `{name}` is not a number: {raw:?}")))?;
            if !v.is_finite() || v < 0.0 {
                return Err(err(format!(
                    "`{shown}` line {line}: `{name}` must be a finite number >= 0, got {raw}"
                )));
            }
            Ok(v)
        };
        let t = cell(ti, TIME_COLUMN)?;
        let v = cell(vi, column)?;
        if let Some(&prev) = ts.last() {
            if t <= prev {
                return Err(err(format!(
                    "`{shown}` line {line}: `{TIME_COLUMN}` must increase strictly, got {t} after {prev}"
                )));
            }
        }
        ts.push(t);
        vs.push(v);
    }
    if ts.is_empty() {
        return Err(err(format!("`{shown}`: the rate series has no rows")));
    }
    Ok((ts, vs))
}
