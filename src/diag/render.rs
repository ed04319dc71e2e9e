//! Rendering a diagnostic like rustc does, through miette's graphical handler.

use std::fmt;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource};

use super::diagnostic::{Diagnostic, Severity};

/// How to render.
#[derive(Clone, Copy, Debug)]
pub struct RenderOptions {
    /// ANSI colours.
    pub color: bool,
    /// Line width.
    pub width: usize,
}

impl RenderOptions {
    /// No colour, 100 columns (tests, pipes, `NO_COLOR`).
    pub fn plain() -> Self {
        RenderOptions {
            color: false,
            width: 100,
        }
    }

    /// Colour when stderr is a terminal and `NO_COLOR` is unset.
    pub fn for_stderr() -> Self {
        use std::io::IsTerminal;
        let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        RenderOptions { color, width: 100 }
    }
}

/// Renders one diagnostic; `source` is the text of the file its span points into.
pub fn render_diagnostic(diagnostic: &Diagnostic, source: Option<&str>, options: &RenderOptions) -> String {
    let theme = if options.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(options.width);
    let report = Report::new(diagnostic, source);
    let mut out = String::new();
    if handler.render_report(&mut out, &report).is_err() {
        out = format!("{}: {}\n", severity_word(diagnostic.severity), diagnostic.summary);
    }
    out
}

fn severity_word(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// Adapter from our plain data to miette's trait.
struct Report<'a> {
    diagnostic: &'a Diagnostic,
    source: Option<NamedSource<String>>,
    labels: Vec<LabeledSpan>,
}

impl<'a> Report<'a> {
    fn new(diagnostic: &'a Diagnostic, source: Option<&str>) -> Self {
        let mut labels = Vec::new();
        let mut named = None;
        if let (Some(span), Some(text)) = (&diagnostic.span, source) {
            let clamp = |off: usize, len: usize| {
                let off = off.min(text.len());
                (off, len.min(text.len() - off))
            };
            let (off, len) = clamp(span.offset, span.len);
            let label = diagnostic.detail.clone().or_else(|| Some("here".to_string()));
            labels.push(LabeledSpan::new_primary_with_span(label, (off, len)));
            for l in &diagnostic.labels {
                if l.span.file == span.file {
                    let (o, n) = clamp(l.span.offset, l.span.len);
                    labels.push(LabeledSpan::new_with_span(Some(l.message.clone()), (o, n)));
                }
            }
            named = Some(NamedSource::new(
                span.file.display().to_string(),
                text.to_string(),
            ));
        }
        Report {
            diagnostic,
            source: named,
            labels,
        }
    }
}

impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diagnostic.summary)
    }
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diagnostic.summary)
    }
}

impl std::error::Error for Report<'_> {}

impl miette::Diagnostic for Report<'_> {
    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diagnostic.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        let mut text = String::new();
        if self.source.is_none() {
            if let Some(span) = &self.diagnostic.span {
                text.push_str(&format!("at {span}"));
            }
            if let Some(detail) = &self.diagnostic.detail {
                if !text.is_empty() {
                    text.push_str(": ");
                }
                text.push_str(detail);
            }
        }
        for l in &self.diagnostic.labels {
            let same_file = self
                .diagnostic
                .span
                .as_ref()
                .is_some_and(|s| s.file == l.span.file);
            if self.source.is_none() || !same_file {
                if !text.is_empty() {
                    text.push('\n');
                }
                text.push_str(&format!("{}: {}", l.span, l.message));
            }
        }
        if let Some(help) = &self.diagnostic.help {
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(help);
        }
        if text.is_empty() {
            None
        } else {
            Some(Box::new(text))
        }
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            None
        } else {
            Some(Box::new(self.labels.iter().cloned()))
        }
    }
}
