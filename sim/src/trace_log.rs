//! The replay timeline as data: `--trace FILE` writes every timeline entry
//! as one JSON object per line (`at_ms`, `kind`, `text`, then the entry's
//! named fields, or its trace `words` when it has none). Entries come in
//! virtual-time order and hold no wall-clock values, so the file is the
//! same, byte for byte, for the same binary, scenario and seed.

use crate::world::{Shared, TimelineEntry, TimelineKind};
use serde_json::{json, Value};
use std::io::Write;
use streamsim_reports::Violation;

/// `FaultStart` -> `fault_start`: the kind's name in the trace.
pub fn kind_name(k: TimelineKind) -> String {
    let debug = format!("{k:?}");
    let mut out = String::with_capacity(debug.len() + 4);
    for (i, c) in debug.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// One entry as a line of JSON: `at_ms`, `kind`, `text` first, then the
/// fields in the order the entry gave them (written by hand because
/// serde_json's map would sort the keys).
pub fn entry_line(e: &TimelineEntry) -> String {
    let s = |v: &Value| serde_json::to_string(v).expect("JSON values serialise");
    let mut out = format!(
        "{{\"at_ms\":{},\"kind\":{},\"text\":{}",
        e.at_ms,
        s(&json!(kind_name(e.kind))),
        s(&json!(e.text))
    );
    let mut seen = vec!["at_ms", "kind", "text"];
    if e.fields.is_empty() && !e.words.is_empty() {
        out.push_str(&format!(",\"words\":{}", s(&json!(e.words))));
    }
    for (k, v) in &e.fields {
        // A field cannot overwrite the common keys, nor appear twice.
        if seen.contains(&k.as_str()) {
            continue;
        }
        seen.push(k);
        out.push_str(&format!(",{}:{}", s(&json!(k)), s(v)));
    }
    out.push('}');
    out
}

/// Write the timeline as JSON lines.
pub fn write_jsonl(timeline: &[TimelineEntry], mut w: impl Write) -> std::io::Result<()> {
    for e in timeline {
        w.write_all(entry_line(e).as_bytes())?;
        w.write_all(b"\n")?;
    }
    w.flush()
}

/// Write the timeline as JSON lines to a file.
pub fn write_file(timeline: &[TimelineEntry], path: &std::path::Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let f = std::fs::File::create(path)?;
    write_jsonl(timeline, std::io::BufWriter::new(f))
}

/// Put the first violation, with its witness, at the end of the timeline.
pub fn note_violation(sh: &Shared, violations: &[Violation]) {
    let Some(v) = violations.first() else { return };
    let more = if violations.len() > 1 {
        format!(
            " (and {} more: {})",
            violations.len() - 1,
            violations[1..]
                .iter()
                .map(|v| v.invariant.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    } else {
        String::new()
    };
    sh.timeline_with(
        TimelineKind::Violation,
        &format!("VIOLATION {}: {}{more}", v.invariant, v.detail),
        &[v.at_ms, violations.len() as u64],
        vec![
            ("invariant".into(), json!(v.invariant)),
            ("detail".into(), json!(v.detail)),
            ("violated_at_ms".into(), json!(v.at_ms)),
            (
                "others".into(),
                json!(violations[1..].iter().map(|v| v.invariant.clone()).collect::<Vec<_>>()),
            ),
        ],
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_snake_case() {
        assert_eq!(kind_name(TimelineKind::FaultStart), "fault_start");
        assert_eq!(kind_name(TimelineKind::HwStall), "hw_stall");
        assert_eq!(kind_name(TimelineKind::Drain), "drain");
    }

    #[test]
    fn an_entry_is_one_line_with_its_fields() {
        let e = TimelineEntry {
            at_ms: 12,
            kind: TimelineKind::IsrExpand,
            text: "x".into(),
            words: vec![1, 2],
            fields: vec![("partition".into(), json!(3)), ("text".into(), json!("no"))],
        };
        let mut buf = Vec::new();
        write_jsonl(&[e], &mut buf).unwrap();
        let s = String::from_utf8(buf).unwrap();
        assert_eq!(
            s,
            "{\"at_ms\":12,\"kind\":\"isr_expand\",\"text\":\"x\",\"partition\":3}\n"
        );
    }
}
