//! `Diagnostic` and the `Diagnostics` collection.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::render::{RenderOptions, render_diagnostic};
use super::span::SourceSpan;

/// How bad a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Stops the operation.
    Error,
    /// Reported, the operation goes on.
    Warning,
}

/// A secondary place shown with a message under it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    /// Where.
    pub span: SourceSpan,
    /// The text under the span.
    pub message: String,
}

/// One problem, in a sentence, at a place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// One-line summary.
    pub summary: String,
    /// Longer explanation (shown as the primary label's text when there is a span).
    pub detail: Option<String>,
    /// The primary place.
    pub span: Option<SourceSpan>,
    /// Further places.
    pub labels: Vec<Label>,
    /// What to do about it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error with a summary.
    pub fn error(summary: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            summary: summary.into(),
            detail: None,
            span: None,
            labels: Vec::new(),
            help: None,
        }
    }

    /// A warning with a summary.
    pub fn warning(summary: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(summary)
        }
    }

    /// Sets the primary span.
    pub fn with_span(mut self, span: SourceSpan) -> Self {
        self.span = Some(span);
        self
    }

    /// Sets the detail text.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// Adds a secondary label.
    pub fn with_label(mut self, span: SourceSpan, message: impl Into<String>) -> Self {
        self.labels.push(Label {
            span,
            message: message.into(),
        });
        self
    }

    /// Sets the help text.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Diagnostics of one run, in the order found, with the texts of the files they point into.
#[derive(Clone, Debug, Default)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
    sources: BTreeMap<PathBuf, Arc<str>>,
}

impl Diagnostics {
    /// Empty.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.items.push(diagnostic);
    }

    /// Moves every diagnostic and source of `other` into `self`.
    pub fn extend(&mut self, other: Diagnostics) {
        self.items.extend(other.items);
        self.sources.extend(other.sources);
    }

    /// Remembers a file's text so spans into it can be rendered.
    pub fn add_source(&mut self, path: &Path, text: Arc<str>) {
        self.sources.insert(path.to_path_buf(), text);
    }

    /// The text of a remembered file.
    pub fn source(&self, path: &Path) -> Option<&str> {
        self.sources.get(path).map(|s| &**s)
    }

    /// Shows every path relative to `base` (for output that does not depend on where the
    /// stack lives).
    pub fn relativize(&mut self, base: &Path) {
        let rel = |p: &mut PathBuf| {
            if let Ok(r) = p.strip_prefix(base) {
                *p = r.to_path_buf();
            }
        };
        for d in &mut self.items {
            if let Some(s) = &mut d.span {
                rel(&mut s.file);
            }
            for l in &mut d.labels {
                rel(&mut l.span.file);
            }
        }
        let sources = std::mem::take(&mut self.sources);
        for (mut p, t) in sources {
            rel(&mut p);
            self.sources.insert(p, t);
        }
    }

    /// Keeps the diagnostics for which `keep` is true.
    pub fn retain(&mut self, keep: impl FnMut(&Diagnostic) -> bool) {
        self.items.retain(keep);
    }

    /// True when any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    /// Number of diagnostics.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when there is none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The diagnostics.
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.items.iter()
    }

    /// Keeps only the warnings (used when a run succeeded).
    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter().filter(|d| !d.is_error())
    }

    /// Renders every diagnostic, separated by blank lines.
    pub fn render(&self, options: &RenderOptions) -> String {
        let mut out = String::new();
        for d in &self.items {
            let source = d.span.as_ref().and_then(|s| self.source(&s.file));
            out.push_str(&render_diagnostic(d, source, options));
        }
        out
    }
}

impl std::fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.render(&RenderOptions::plain()))
    }
}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        let mut all = Diagnostics::new();
        all.push(d);
        all
    }
}
