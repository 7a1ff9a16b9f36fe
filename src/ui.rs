//! How the CLI speaks to a person: `--quiet`, and colour only where it
//! helps. Colour goes to a terminal alone (pipes, files and CI logs get
//! plain text) and never when `NO_COLOR` is set (no-color.org) or `TERM` is
//! `dumb`. clap's own help and errors follow the same rules through
//! anstream.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

static QUIET: AtomicBool = AtomicBool::new(false);

/// Sets `--quiet` for the whole process, once, from the command line.
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// Whether `--quiet` was given: no progress, no non-essential lines. What
/// a person needs to act on a failure (errors, replay commands) still
/// prints.
pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// Whether stdout gets colour.
pub fn color() -> bool {
    static COLOR: OnceLock<bool> = OnceLock::new();
    *COLOR.get_or_init(|| color_allowed() && std::io::stdout().is_terminal())
}

/// Whether stderr gets colour: errors go there, and may be piped apart
/// from a report on stdout.
pub fn color_stderr() -> bool {
    static COLOR: OnceLock<bool> = OnceLock::new();
    *COLOR.get_or_init(|| color_allowed() && std::io::stderr().is_terminal())
}

/// Colour unless the environment declines it (`NO_COLOR`, `TERM=dumb`).
fn color_allowed() -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
    !no_color && !dumb
}

/// A refused scenario file as stderr shows it: every problem with its
/// file, line, column and the text at fault, coloured on a terminal.
pub fn scenario_error(e: &streamsim_sim::ScenarioError) -> String {
    e.render(color_stderr())
}

/// An SGR colour for [`paint`].
#[derive(Clone, Copy)]
pub enum Tone {
    /// Bold red: violations, unexpected outcomes.
    Bad,
    /// Bold green: a pass.
    Good,
}

/// `text` in `tone` when stdout takes colour, else `text` unchanged.
pub fn paint(text: &str, tone: Tone) -> String {
    if !color() {
        return text.to_string();
    }
    let code = match tone {
        Tone::Bad => "1;31",
        Tone::Good => "1;32",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// A console report with its alarming words coloured: the verdict that
/// starts a run summary, exceeded budgets, and the headings of a sweep's
/// unexpected outcomes and unfinished runs.
pub fn highlight(report: &str) -> String {
    if !color() {
        return report.to_string();
    }
    let mut out = String::with_capacity(report.len() + 64);
    for line in report.split_inclusive('\n') {
        let line = if let Some(rest) = line.strip_prefix("VIOLATION") {
            format!("{}{rest}", paint("VIOLATION", Tone::Bad))
        } else if let Some(rest) = line.strip_prefix("PASS") {
            format!("{}{rest}", paint("PASS", Tone::Good))
        } else if line.starts_with("unexpected outcomes") || line.starts_with("runs that did not finish") {
            let (text, nl) = line.strip_suffix('\n').map_or((line, ""), |t| (t, "\n"));
            format!("{}{nl}", paint(text, Tone::Bad))
        } else {
            line.replace(": EXCEEDED", &format!(": {}", paint("EXCEEDED", Tone::Bad)))
        };
        out.push_str(&line);
    }
    out
}
