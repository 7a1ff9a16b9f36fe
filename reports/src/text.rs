//! Number formatting and escaping shared by the text renderers.
//!
//! Violation details are free text from the checker and may hold anything a
//! witness prints (`<`, `|`, backticks, newlines), so every renderer escapes
//! for its own format rather than trusting the source.

use crate::model::Verdict;

/// `pass` or `violation`, as in the JSON form.
pub fn verdict_str(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "pass",
        Verdict::Violation => "violation",
    }
}

/// A count with thousands separators, e.g. `1,234,567`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A decimal with at most `places` decimals and no trailing zeros.
pub fn decimal(v: f64, places: usize) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    let s = format!("{v:.places$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    if s == "-0" {
        "0".to_string()
    } else {
        s
    }
}

/// Milliseconds for people: microsecond precision at most, which is what the
/// histograms hold.
pub fn ms(v: f64) -> String {
    format!("{} ms", decimal(v, 3))
}

/// A virtual time given in ms, shown in seconds.
pub fn at_s(at_ms: u64) -> String {
    format!("{} s", decimal(at_ms as f64 / 1000.0, 3))
}

/// Escapes text for HTML element content and attribute values.
pub fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Escapes text for one cell of a GitHub-flavoured markdown table: no
/// markup survives, pipes do not split the cell and newlines become `<br>`.
pub fn md_cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '|' => out.push_str("\\|"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '#' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '\r' => {}
            '\n' => out.push_str("<br>"),
            _ => out.push(c),
        }
    }
    out
}

/// A fenced markdown code block that no backtick run inside `body` can close.
pub fn md_code_block(lang: &str, body: &str) -> String {
    let longest = longest_run(body, '`');
    let fence = "`".repeat(longest.max(2) + 1);
    format!("{fence}{lang}\n{}\n{fence}\n", body.trim_end_matches('\n'))
}

/// An inline markdown code span safe inside a table cell.
pub fn md_code_span(s: &str) -> String {
    let one_line = s.replace(['\r', '\n'], " ");
    let ticks = "`".repeat(longest_run(&one_line, '`') + 1);
    // GitHub splits table cells on `|` even inside code spans; `\|` is the
    // documented way to keep it, and it renders as a plain pipe.
    let body = one_line.replace('|', "\\|");
    let pad = if body.starts_with('`') || body.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{ticks}{pad}{body}{pad}{ticks}")
}

fn longest_run(s: &str, ch: char) -> usize {
    let (mut best, mut cur) = (0, 0);
    for c in s.chars() {
        if c == ch {
            cur += 1;
            best = best.max(cur);
        } else {
            cur = 0;
        }
    }
    best
}

/// Removes characters XML 1.0 cannot carry even escaped (most C0 controls),
/// so a witness that printed raw bytes still yields a parseable JUnit file.
pub fn xml_safe(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => c,
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => '\u{FFFD}',
            c => c,
        })
        .collect()
}

/// Median of a slice sorted ascending (mean of the middle two for even lengths).
pub fn median_sorted(v: &[f64]) -> f64 {
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_decimals() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1_000), "1,000");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(decimal(12.400, 3), "12.4");
        assert_eq!(decimal(1.0, 3), "1");
        assert_eq!(decimal(-0.0001, 3), "0");
        assert_eq!(at_s(12_345), "12.345 s");
    }

    #[test]
    fn markdown_escapes() {
        assert_eq!(md_cell("a|b<c>\nd"), "a\\|b&lt;c&gt;<br>d");
        assert_eq!(md_code_span("x`y|z"), "``x`y\\|z``");
        assert!(md_code_block("sh", "a ``` b").starts_with("````sh\n"));
    }
}
