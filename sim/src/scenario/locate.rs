//! Turning parser positions and field paths into places in the file, so
//! every scenario error shows the line and column a person has to fix.

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
                let k = k.trim();
                // Only a key as TOML writes one; a comment or garbage names nothing.
                if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || "_-.\"'".contains(c)) {
                    key = k.to_string();
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

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = floor_char(text, offset);
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    (
        line_of_offset(text, offset),
        text[line_start..offset].chars().count() + 1,
    )
}

/// The byte offset of a 1-based line and column (in characters), the
/// column held within its line; `None` past the last line.
pub fn offset_of(text: &str, line: usize, column: usize) -> Option<usize> {
    let mut start = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            let body = l.trim_end_matches(['\n', '\r']);
            let within = body
                .char_indices()
                .nth(column.saturating_sub(1))
                .map_or(body.len(), |(o, _)| o);
            return Some(start + within);
        }
        start += l.len();
    }
    (line == text.split_inclusive('\n').count() + 1).then_some(text.len())
}

/// Where the word (a key, a number, a quoted string's first word) that
/// starts at `start` ends: at least one character on, when there is one.
pub fn word_end(text: &str, start: usize) -> usize {
    let rest = &text[floor_char(text, start)..];
    let first = rest.chars().next().map_or(0, char::len_utf8);
    let len = rest
        .char_indices()
        .find(|&(i, c)| i >= first && (c.is_whitespace() || ",:]}#=".contains(c)))
        .map_or(rest.len(), |(i, _)| i);
    floor_char(text, start) + len
}

/// The nearest char boundary at or before `offset`, within the text.
pub fn floor_char(text: &str, offset: usize) -> usize {
    let mut o = offset.min(text.len());
    while !text.is_char_boundary(o) {
        o -= 1;
    }
    o
}

/// The byte range a dotted field path (`faults[1].target`) covers in the
/// file: `key = value` when written, else the header of its nearest
/// written table (a value left at its default is refused where its table is).
pub fn span_of_field(text: &str, field: &str) -> Option<Range<usize>> {
    let doc = toml_edit::ImDocument::parse(text).ok()?;
    let mut node: &dyn toml_edit::TableLike = doc.as_table();
    let mut best: Option<Range<usize>> = None;
    for seg in field.split('.') {
        let (name, index) = match seg.split_once('[') {
            Some((n, rest)) => (n, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (seg, None),
        };
        let Some((key, item)) = node.get_key_value(name) else {
            break;
        };
        best = entry_span(key, item).or(best);
        let next = match (index, item) {
            (Some(i), toml_edit::Item::ArrayOfTables(a)) => a.get(i).map(|t| {
                best = t.span().or(best.clone());
                t as &dyn toml_edit::TableLike
            }),
            (Some(i), _) => item.as_array().and_then(|a| a.get(i)).and_then(|v| {
                best = v.span().or(best.clone());
                v.as_inline_table().map(|t| t as &dyn toml_edit::TableLike)
            }),
            (None, _) => item.as_table_like(),
        };
        let Some(next) = next else { break };
        node = next;
    }
    best
}

/// `key = value` for a value, the header for a table.
fn entry_span(key: &toml_edit::Key, item: &toml_edit::Item) -> Option<Range<usize>> {
    if let Some(t) = item.as_table() {
        return t.span();
    }
    let k = key.span()?;
    let end = item.span().map_or(k.end, |v| v.end.max(k.end));
    Some(k.start..end)
}

/// The `key = value` entry, written in the file, that holds `offset`: the
/// innermost one, with the comma that joins it to an inline table's next
/// (or previous) entry, so the entry can be blanked and the rest re-read.
pub fn entry_at(text: &str, offset: usize) -> Option<Range<usize>> {
    let doc = toml_edit::ImDocument::parse(text).ok()?;
    let found = innermost(doc.as_table(), offset, 0)?;
    Some(with_comma(text, found))
}

/// Depth of tables searched for an entry; documents nest no deeper than
/// the parser's own limit, this only keeps the walk bounded regardless.
const MAX_DEPTH: usize = 256;

fn innermost(table: &dyn toml_edit::TableLike, offset: usize, depth: usize) -> Option<Range<usize>> {
    if depth > MAX_DEPTH {
        return None;
    }
    for (key, item) in table.iter() {
        let Some((k, it)) = table.get_key_value(key) else {
            continue;
        };
        let inner = match it {
            toml_edit::Item::Table(t) => innermost(t, offset, depth + 1),
            toml_edit::Item::ArrayOfTables(a) => a.iter().find_map(|t| innermost(t, offset, depth + 1)),
            toml_edit::Item::Value(v) => innermost_value(v, offset, depth + 1),
            toml_edit::Item::None => None,
        };
        if inner.is_some() {
            return inner;
        }
        if item.is_table() || item.is_array_of_tables() {
            continue;
        }
        if let Some(span) = entry_span(k, it) {
            if span.contains(&offset) || span.start == offset {
                return Some(span);
            }
        }
    }
    None
}

fn innermost_value(v: &toml_edit::Value, offset: usize, depth: usize) -> Option<Range<usize>> {
    if depth > MAX_DEPTH || !v.span().is_some_and(|s| s.contains(&offset)) {
        return None;
    }
    match v {
        toml_edit::Value::InlineTable(t) => innermost(t, offset, depth + 1),
        toml_edit::Value::Array(a) => a.iter().find_map(|x| innermost_value(x, offset, depth + 1)),
        _ => None,
    }
}

/// Widen an inline table's entry over the comma that separates it.
fn with_comma(text: &str, span: Range<usize>) -> Range<usize> {
    let after = &text[span.end..];
    let skipped = after.len() - after.trim_start_matches([' ', '\t']).len();
    if after[skipped..].starts_with(',') {
        return span.start..span.end + skipped + 1;
    }
    let before = &text[..span.start];
    let trimmed = before.trim_end_matches([' ', '\t']);
    if trimmed.ends_with(',') {
        return trimmed.len() - 1..span.end;
    }
    span
}

/// `text` with the bytes of `range` turned to spaces (line breaks kept), so
/// every other position in the file stays where it was.
pub fn blank(text: &str, range: Range<usize>) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, c) in text.char_indices() {
        if range.contains(&i) && c != '\n' && c != '\r' {
            out.extend(std::iter::repeat_n(' ', c.len_utf8()));
        } else {
            out.push(c);
        }
    }
    out
}

/// The names a parser message offers instead of the one it refused
/// (``unknown field `x`, expected one of `a`, `b` ``), in order.
pub fn alternatives(msg: &str) -> Vec<String> {
    let Some((_, expected)) = msg.split_once(", expected ") else {
        return Vec::new();
    };
    expected.split('`').skip(1).step_by(2).map(str::to_string).collect()
}

/// The dotted path and span of a key named `name` written inside `span`
/// (an inline table or a whole `[[faults]]` table the parser points at as
/// a block), so an unknown key is shown and named where it is written.
pub fn key_within(text: &str, span: &Range<usize>, name: &str) -> Option<(String, Range<usize>)> {
    let doc = toml_edit::ImDocument::parse(text).ok()?;
    find_key(doc.as_table(), "", span, name, 0)
}

fn find_key(
    table: &dyn toml_edit::TableLike,
    path: &str,
    span: &Range<usize>,
    name: &str,
    depth: usize,
) -> Option<(String, Range<usize>)> {
    if depth > MAX_DEPTH {
        return None;
    }
    let join = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    for (key, _) in table.iter() {
        let Some((k, item)) = table.get_key_value(key) else {
            continue;
        };
        let here = join(key);
        if key == name {
            if let Some(ks) = k.span().filter(|ks| span.start <= ks.start && ks.end <= span.end) {
                return Some((here, ks));
            }
        }
        let inner = match item {
            toml_edit::Item::Table(t) => find_key(t, &here, span, name, depth + 1),
            toml_edit::Item::ArrayOfTables(a) => a
                .iter()
                .enumerate()
                .find_map(|(i, t)| find_key(t, &format!("{here}[{i}]"), span, name, depth + 1)),
            toml_edit::Item::Value(v) => find_in_value(v, &here, span, name, depth + 1),
            toml_edit::Item::None => None,
        };
        if inner.is_some() {
            return inner;
        }
    }
    None
}

fn find_in_value(
    v: &toml_edit::Value,
    path: &str,
    span: &Range<usize>,
    name: &str,
    depth: usize,
) -> Option<(String, Range<usize>)> {
    if depth > MAX_DEPTH {
        return None;
    }
    match v {
        toml_edit::Value::InlineTable(t) => find_key(t, path, span, name, depth + 1),
        toml_edit::Value::Array(a) => a
            .iter()
            .enumerate()
            .find_map(|(i, x)| find_in_value(x, &format!("{path}[{i}]"), span, name, depth + 1)),
        _ => None,
    }
}

/// What the parser objects to at `span`, for the few syntax errors whose
/// message is empty (a control character in a comment, say).
pub fn describe_at(text: &str, span: Option<&Range<usize>>) -> String {
    let c = span
        .and_then(|s| text.get(floor_char(text, s.start)..))
        .and_then(|t| t.chars().next());
    match c {
        Some(c) if c.is_control() && c != '\n' => {
            format!("a control character (U+{:04X}) is not allowed in TOML", c as u32)
        }
        Some(c) => format!("not valid TOML at `{}`", c.escape_default()),
        None => "not valid TOML: the file ends too early".to_string(),
    }
}
