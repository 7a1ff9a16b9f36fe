//! Reading a scenario file's TOML into a [`Scenario`], collecting every
//! problem the parser finds rather than the first: after each refusal the
//! entry at fault is blanked (its bytes become spaces, so every other
//! position stays put) and the file is read again.

use super::diagnostic::Diagnostic;
use super::model::Scenario;
use super::{locate, suggest};

/// Most problems one file reports: past a screenful nobody reads on, and a
/// file of random bytes must not take long to refuse.
pub const MAX_PROBLEMS: usize = 50;

/// What reading found: the scenario, when the file describes one, and the
/// parser's problems. A scenario comes back alongside problems only when
/// they were all unknown keys, whose removal changes nothing else, so that
/// validation can add its own to the same report.
pub struct Read {
    /// The scenario, as written less any unknown keys.
    pub scenario: Option<Scenario>,
    /// The parser's problems, in the order found.
    pub problems: Vec<Diagnostic>,
}

/// Read `text`; see [`Read`].
pub fn read(text: &str) -> Read {
    let mut work = text.to_string();
    let mut problems = Vec::new();
    // Keys blanked for a bad value: their "missing field" that follows is
    // an echo of the first problem, not a second one.
    let mut dropped: Vec<String> = Vec::new();
    let mut only_unknown_keys = true;
    loop {
        let err = match toml::from_str::<Scenario>(&work) {
            Ok(s) => {
                return Read {
                    scenario: only_unknown_keys.then_some(s),
                    problems,
                }
            }
            Err(e) => e,
        };
        // Errors inside a `[[faults]]` table come with the whole table's
        // span (serde buffers flattened fields); narrow it to the key's line.
        let mut span = locate::narrow_span(&work, err.span(), err.message());
        let (name, mut message) = locate::split_toml_message(err.message());
        if message.is_empty() {
            message = locate::describe_at(&work, span.as_ref());
        }
        let unknown_key = message.starts_with("unknown field");
        let missing = message.starts_with("missing field");
        if missing && name.as_ref().is_some_and(|n| dropped.contains(n)) {
            break;
        }
        let mut field = match &name {
            Some(n) => locate::qualify(&work, span.clone(), n.clone()),
            None => locate::field_at(&work, span.clone()),
        };
        if let (true, Some(n), Some(s)) = (unknown_key, &name, &span) {
            // A block (an inline table, a flattened fault) is pointed at
            // whole: find the key itself inside it.
            if let Some((path, key)) = locate::key_within(&work, s, n) {
                (field, span) = (path, Some(key));
            }
        }
        if missing {
            // A key missing from the top level has no place in the file.
            span = span.filter(|s| !s.is_empty());
            if let Some(n) = &name {
                let table = locate::field_at(&work, span.clone());
                if !table.is_empty() && !field.contains('.') {
                    field = format!("{table}.{n}");
                }
            }
        }
        let mut d = Diagnostic::at(text, span.clone(), field.clone(), message);
        // A stand-in value the parser refuses again adds nothing.
        if problems
            .last()
            .is_some_and(|p: &Diagnostic| p.span == d.span && p.field == d.field)
        {
            break;
        }
        d.help = suggestion(&d.message);
        let said = d.message.clone();
        problems.push(d);
        only_unknown_keys &= unknown_key;
        if problems.len() >= MAX_PROBLEMS {
            break;
        }
        let next = match span.as_ref().and_then(|s| stand_in(&work, s, &said)) {
            // A value of the wrong type is replaced by one of the right type,
            // so that a required key stays and the rest of its table reads.
            Some(next) => next,
            None => {
                let Some(entry) = span.and_then(|s| locate::entry_at(&work, s.start)) else {
                    break;
                };
                if !unknown_key {
                    dropped.push(field.rsplit('.').next().unwrap_or(&field).to_string());
                }
                locate::blank(&work, entry)
            }
        };
        // A file the blanking broke (or did not change) has nothing more to tell.
        if next == work || next.parse::<toml::Table>().is_err() {
            break;
        }
        work = next;
    }
    Read {
        scenario: None,
        problems,
    }
}

/// `work` with the value at `span` replaced by a neutral one of the type the
/// parser expected (`0`, `""`, `false`, `[]`), padded with spaces so every
/// other position stays put; `None` when the message names no such type,
/// the span is not a value, or the stand-in does not fit in it.
fn stand_in(work: &str, span: &std::ops::Range<usize>, message: &str) -> Option<String> {
    if !(message.starts_with("invalid type:") || message.starts_with("invalid value:")) {
        return None;
    }
    let expected = message.rsplit_once("expected ")?.1;
    let value = if [
        "f64", "u64", "usize", "u32", "u16", "u8", "i64", "integer", "number", "float",
    ]
    .iter()
    .any(|t| expected.contains(t))
    {
        "0"
    } else if expected.contains("string") {
        "\"\""
    } else if expected.contains("bool") {
        "false"
    } else if expected.contains("sequence") || expected.contains("array") {
        "[]"
    } else {
        return None;
    };
    let old = work.get(span.clone())?;
    if old.len() < value.len() || old.get(..value.len())?.contains('\n') || old.parse::<toml_edit::Value>().is_err() {
        return None;
    }
    let mut next = locate::blank(work, span.clone());
    next.replace_range(span.start..span.start + value.len(), value);
    Some(next)
}

/// "did you mean `x`?" for a misspelt key or value, from the names the
/// parser's message lists as valid there.
fn suggestion(message: &str) -> Option<String> {
    let refused = ["unknown field `", "unknown variant `"]
        .iter()
        .find_map(|p| message.strip_prefix(p))?
        .split('`')
        .next()?;
    let valid = locate::alternatives(message);
    suggest::nearest(refused, &valid).map(|n| format!("did you mean `{n}`?"))
}

#[cfg(test)]
mod tests {
    use crate::scenario::{parse_scenario, Expect, ScenarioError, DEFAULT_DURATION_S};
    use std::path::Path;

    const WORKLOAD: &str = "[workload]\nrate = { kind = \"constant\", events_per_s = 100 }\n";

    fn refuse(text: &str) -> ScenarioError {
        parse_scenario(Path::new("dir/s.toml"), text).expect_err("refused")
    }

    #[test]
    fn a_typo_is_placed_at_line_and_column_with_the_nearest_key() {
        let e = refuse(&format!("{WORKLOAD}[topology]\n  partitons = 6\n"));
        let d = &e.problems[0];
        assert_eq!(
            (d.field.as_str(), d.line, d.column),
            ("topology.partitons", Some(4), Some(3))
        );
        assert_eq!(d.help.as_deref(), Some("did you mean `partitions`?"));
        let shown = e.to_string();
        assert!(
            shown.contains("dir/s.toml:4:3") && shown.contains("partitons = 6"),
            "{shown}"
        );
        assert!(
            shown.contains("^^^^^^^^^") && shown.contains("did you mean `partitions`?"),
            "{shown}"
        );
        // Negative control: a key like no valid one gets no guess.
        let e = refuse(&format!("{WORKLOAD}[topology]\nflavour = 6\n"));
        assert_eq!(e.problems[0].help, None, "{e}");
        assert!(e.message().contains("expected one of `brokers`"), "{e}");
    }

    #[test]
    fn a_misspelt_value_gets_the_nearest_variant() {
        let e = refuse(&format!(
            "{WORKLOAD}[[faults]]\nat_s = 1\nkind = \"crsh\"\ntarget = \"broker:0\"\n"
        ));
        assert_eq!(e.field(), "faults[0].kind");
        assert_eq!(e.problems[0].help.as_deref(), Some("did you mean `crash`?"));
    }

    #[test]
    fn every_problem_of_a_file_is_reported_at_once() {
        let text = format!(
            "{WORKLOAD}[topology]\npartitons = 6\nreplication_factor = 3\n[log]\nmin_isr = 2\nmin_insync_replicas = 4\n\
             replica_lag_time_max_ms = 0\n[budgets]\nack_p99_ms = 0.5\n"
        );
        let e = refuse(&text);
        let fields: Vec<&str> = e.problems.iter().map(|d| d.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "topology.partitons",
                "log.min_isr",
                "log.min_insync_replicas",
                "log.replica_lag_time_max_ms",
                "budgets.ack_p99_ms"
            ],
            "{e}"
        );
        assert!(
            e.problems.iter().all(|d| d.line.is_some() && d.column == Some(1)),
            "{e}"
        );
        assert!(e.to_string().ends_with("error: 5 problems in dir/s.toml"), "{e}");
        // Negative control: one problem, one report and no count.
        let e = refuse(&format!("{WORKLOAD}[log]\nmin_insync_replicas = 4\n"));
        assert_eq!(e.problems.len(), 1, "{e}");
        assert!(!e.to_string().contains("problems in"), "{e}");
    }

    #[test]
    fn bad_values_are_collected_with_unknown_keys_in_inline_tables() {
        let e = refuse(
            "[topology]\nbrokers = \"three\"\n[workload]\nrate = { kind = \"constant\", events_per_s = 100, burst = 3 }\n",
        );
        let placed: Vec<_> = e
            .problems
            .iter()
            .map(|d| (d.field.as_str(), d.line, d.column))
            .collect();
        assert_eq!(
            placed,
            [
                ("topology.brokers", Some(2), Some(11)),
                ("workload.rate.burst", Some(4), Some(49))
            ],
            "{e}"
        );
    }

    #[test]
    fn a_bad_required_value_does_not_hide_the_problems_after_it() {
        let e = refuse(&format!(
            "{WORKLOAD}[[faults]]\nat_s = \"soon\"\nkind = \"crash\"\ntarget = \"broker:0\"\n             [[faults]]\nat_s = 2\nkind = \"crash\"\ntarget = \"broker:1\"\ncolour = 3\n"
        ));
        let fields: Vec<&str> = e.problems.iter().map(|d| d.field.as_str()).collect();
        assert_eq!(fields, ["faults[0].at_s", "faults[1].colour"], "{e}");
    }

    #[test]
    fn a_syntax_error_is_placed_and_stops_there() {
        let e = refuse("[workload]\nrate = { kind = \"constant\", events_per_s = 100\n");
        assert_eq!(e.problems.len(), 1, "{e}");
        assert_eq!(e.line(), Some(2));
    }

    #[test]
    fn name_expect_and_duration_have_defaults() {
        let l = parse_scenario(Path::new("dir/quick-look.toml"), WORKLOAD).expect("a workload is enough");
        assert_eq!(l.scenario.name, "quick-look");
        assert_eq!(l.scenario.expect, Expect::Pass);
        assert_eq!(l.scenario.duration_s, DEFAULT_DURATION_S);
        // A name written empty is still refused, not replaced.
        let e = refuse(&format!("name = \"\"\n{WORKLOAD}"));
        assert_eq!((e.field(), e.line()), ("name", Some(1)), "{e}");
    }

    #[test]
    fn a_place_given_as_line_and_column_underlines_its_word() {
        use crate::scenario::Diagnostic;
        let text = "topics: 1\npartitionsPerTopic: lots\n";
        let d = Diagnostic::at_line_column(text, 2, 21, "partitionsPerTopic".into(), "not a number".into());
        assert_eq!((d.line, d.column), (Some(2), Some(21)));
        assert_eq!(&text[d.span.clone().unwrap()], "lots");
        // Past the file: placed nowhere rather than somewhere wrong.
        assert_eq!(
            Diagnostic::at_line_column(text, 9, 1, String::new(), "x".into()).span,
            None
        );
    }

    #[test]
    fn colour_is_the_callers_choice() {
        let e = refuse(&format!("{WORKLOAD}[log]\nmin_insync_replicas = 4\n"));
        assert!(e.render(true).contains('\x1b'));
        assert!(!e.render(false).contains('\x1b'));
    }
}
