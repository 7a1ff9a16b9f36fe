//! Turning parser positions and field paths into file lines, so every
//! scenario error names the line a person has to fix.

use std::ops::Range;

/// 1-based line number of a byte offset.
pub fn line_of_offset(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Pull a field name out of serde's messages (`unknown field `x``,
/// `missing field `x``) so it can be reported as the field.
pub fn split_toml_message(msg: &str) -> (Option<String>, String) {
    let msg = msg.trim().to_string();
    for prefix in ["unknown field `", "missing field `", "duplicate field `"] {
        if let Some(rest) = msg.strip_prefix(prefix) {
            if let Some(end) = rest.find('`') {
                return (Some(rest[..end].to_string()), msg);
            }
        }
    }
    (None, msg)
}

/// The dotted path of the key at a parser position, from the table headers
/// above it (`[log]`, `[[faults]]`) and the key on its line.
pub fn field_at(text: &str, span: Option<Range<usize>>) -> String {
    let Some(span) = span else {
        return String::new();
    };
    let target_line = line_of_offset(text, span.start);
    let mut table = String::new();
    let mut array_counts: std::collections::BTreeMap<String, usize> = Default::default();
    let mut key = String::new();
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.starts_with("[[") {
            let name = l.trim_start_matches("[[").split("]]").next().unwrap_or("").trim();
            let n = array_counts.entry(name.to_string()).or_insert(0);
            table = format!("{name}[{n}]");
            *n += 1;
        } else if l.starts_with('[') {
            table = l
                .trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or("")
                .trim()
                .to_string();
        }
        if i + 1 == target_line {
            if let Some((k, _)) = l.split_once('=') {
                if !l.starts_with('[') {
                    key = k.trim().to_string();
                }
            }
            break;
        }
    }
    match (table.is_empty(), key.is_empty()) {
        (true, _) => key,
        (false, true) => table,
        (false, false) => format!("{table}.{key}"),
    }
}

/// The line where a dotted field path (`faults[1].target`) is written, or
/// where its nearest written parent is, for values left at their default.
pub fn line_of_field(text: &str, field: &str) -> Option<usize> {
    let doc = toml_edit::ImDocument::parse(text).ok()?;
    let mut item: &toml_edit::Item = doc.as_item();
    let mut best: Option<usize> = None;
    for seg in field.split('.') {
        let (name, index) = match seg.split_once('[') {
            Some((n, rest)) => (n, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (seg, None),
        };
        let Some(next) = item.get(name) else { break };
        item = next;
        if let Some(span) = item.span() {
            best = Some(span.start);
        } else if let Some(t) = item.as_table() {
            best = t.span().map(|s| s.start).or(best);
        }
        if let Some(i) = index {
            let Some(next) = item.get(i) else { break };
            item = next;
            if let Some(span) = item.span().or_else(|| item.as_table().and_then(|t| t.span())) {
                best = Some(span.start);
            }
        }
    }
    best.map(|o| line_of_offset(text, o))
}

/// The quoted words of a parser message (`"leader:x"`, `` `meteor` ``).
fn quoted(msg: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for q in ['"', '`'] {
        let mut parts = msg.split(q);
        parts.next();
        while let (Some(inside), Some(_)) = (parts.next(), parts.next()) {
            if !inside.is_empty() {
                out.push(inside);
            }
        }
    }
    out
}

/// When an error's span covers several lines (a whole table), the span of
/// the first key line inside it that holds a word the message quotes: the
/// value or key at fault. Otherwise the span as it was.
pub fn narrow_span(text: &str, span: Option<Range<usize>>, msg: &str) -> Option<Range<usize>> {
    let sp = span?;
    let body = text.get(sp.clone())?;
    if !body.trim_end().contains('\n') {
        return Some(sp);
    }
    // The first quoted word is the culprit; later ones list alternatives.
    for w in quoted(msg) {
        let mut offset = sp.start;
        for line in body.split_inclusive('\n') {
            let start = offset;
            offset += line.len();
            let l = line.trim_start();
            // Headers name the table, comments nothing.
            if !(l.starts_with('[') || l.starts_with('#')) && line.contains(w) {
                return Some(start..start + line.trim_end().len());
            }
        }
    }
    Some(sp)
}

/// A field name from a parser message (`unknown field `x``) with its table
/// (`faults[0].x`) when the span points at the line of that key.
pub fn qualify(text: &str, span: Option<Range<usize>>, field: String) -> String {
    let at = field_at(text, span);
    if !at.is_empty() && at.ends_with(&format!(".{field}")) {
        at
    } else {
        field
    }
}
