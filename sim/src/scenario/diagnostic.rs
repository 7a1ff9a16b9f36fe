//! What a refused scenario file looks like to a person: every problem at
//! once, each with the file, line and column, the offending text underlined
//! and, for a misspelt name, the nearest valid one. Rendered by
//! annotate-snippets, the renderer of rustc's and cargo's own errors.

use super::locate;
use annotate_snippets::{AnnotationKind, Group, Level, Origin, Renderer, Snippet};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// One problem in a scenario file.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    /// Dotted field path, e.g. `log.min_insync_replicas` or `faults[1].target`;
    /// empty when the problem is the file's syntax or the file as a whole.
    pub field: String,
    /// What is wrong.
    pub message: String,
    /// The offending bytes of the file, when they can be placed.
    pub span: Option<Range<usize>>,
    /// 1-based line of the span's start.
    pub line: Option<usize>,
    /// 1-based column (in characters) of the span's start.
    pub column: Option<usize>,
    /// A hint, e.g. "did you mean `partitions`?".
    pub help: Option<String>,
}

impl Diagnostic {
    /// A problem at `span` of `text` (line and column follow from it).
    pub fn at(text: &str, span: Option<Range<usize>>, field: String, message: String) -> Diagnostic {
        let span = span.map(|s| {
            let start = locate::floor_char(text, s.start);
            start..locate::floor_char(text, s.end.max(start))
        });
        let (line, column) = match &span {
            Some(s) => {
                let (l, c) = locate::line_col(text, s.start);
                (Some(l), Some(c))
            }
            None => (None, None),
        };
        Diagnostic {
            field,
            message,
            span,
            line,
            column,
            help: None,
        }
    }

    /// A problem at a 1-based line and column (in characters) of `text`, for
    /// parsers that report places rather than byte offsets (YAML's): the
    /// word that starts there is underlined.
    pub fn at_line_column(text: &str, line: usize, column: usize, field: String, message: String) -> Diagnostic {
        let span = locate::offset_of(text, line, column).map(|start| start..locate::word_end(text, start));
        Diagnostic::at(text, span, field, message)
    }

    /// A problem with the file as a whole (it cannot be read, say).
    pub fn whole_file(message: String) -> Diagnostic {
        Diagnostic::at("", None, String::new(), message)
    }

    fn title(&self) -> String {
        if self.field.is_empty() {
            self.message.clone()
        } else {
            format!("field `{}`: {}", self.field, self.message)
        }
    }
}

/// A refused scenario file: every problem found in it, in file order for
/// those the parser found, then those validation found.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioError {
    /// The file.
    pub file: PathBuf,
    /// Its text, for showing the lines at fault (empty if it could not be read).
    pub text: String,
    /// Every problem; never empty.
    pub problems: Vec<Diagnostic>,
}

impl ScenarioError {
    /// An error with one problem.
    pub fn one(file: &Path, text: &str, problem: Diagnostic) -> ScenarioError {
        ScenarioError {
            file: file.to_path_buf(),
            text: text.to_string(),
            problems: vec![problem],
        }
    }

    fn first(&self) -> Option<&Diagnostic> {
        self.problems.first()
    }

    /// Line of the first problem.
    pub fn line(&self) -> Option<usize> {
        self.first().and_then(|d| d.line)
    }

    /// Field of the first problem.
    pub fn field(&self) -> &str {
        self.first().map_or("", |d| d.field.as_str())
    }

    /// Message of the first problem.
    pub fn message(&self) -> &str {
        self.first().map_or("", |d| d.message.as_str())
    }

    /// Every problem, rendered with the lines at fault; ANSI colour when
    /// `color` (the caller knows whether its stream is a terminal).
    pub fn render(&self, color: bool) -> String {
        let renderer = if color { Renderer::styled() } else { Renderer::plain() };
        let path = self.file.display().to_string();
        let mut out = Vec::with_capacity(self.problems.len() + 1);
        for d in &self.problems {
            let title = d.title();
            let mut group = Group::with_title(Level::ERROR.primary_title(title.as_str()));
            group = match (&d.span, d.line) {
                (Some(span), _) if !self.text.is_empty() => group.element(
                    Snippet::source(self.text.as_str())
                        .path(path.as_str())
                        .fold(true)
                        .annotation(AnnotationKind::Primary.span(span.clone())),
                ),
                (_, Some(line)) => group.element(Origin::path(path.as_str()).line(line)),
                _ => group.element(Origin::path(path.as_str())),
            };
            if let Some(help) = &d.help {
                group = group.element(Level::HELP.message(help.as_str()));
            }
            out.push(renderer.render(&[group]));
        }
        if self.problems.len() > 1 {
            let summary = format!("{} problems in {path}", self.problems.len());
            out.push(renderer.render(&[Group::with_title(Level::ERROR.primary_title(summary.as_str()))]));
        }
        out.join("\n\n")
    }
}

impl ScenarioError {
    /// The plain rendering without its leading `error: `, for a message
    /// that its printer prefixes itself.
    pub fn without_prefix(&self) -> String {
        let shown = self.render(false);
        shown.strip_prefix("error: ").map(str::to_string).unwrap_or(shown)
    }
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
    }
}

impl std::error::Error for ScenarioError {}
