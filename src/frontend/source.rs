//! `SourceFile`: one file's text, parsed body, and byte-offset → line/column mapping.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hcl::edit::structure::Body;

use crate::diag::{Diagnostic, SourceSpan};

/// A loaded HCL file.
#[derive(Debug)]
pub struct SourceFile {
    /// Path as found.
    pub path: PathBuf,
    /// The text.
    pub text: Arc<str>,
    line_starts: Vec<usize>,
}

impl SourceFile {
    /// Wraps a text.
    pub fn new(path: &Path, text: impl Into<Arc<str>>) -> Self {
        let text: Arc<str> = text.into();
        let mut line_starts = vec![0];
        // `match_indices` on a char searches with memchr: a byte-by-byte filter was a visible
        // share of loading a large file.
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        SourceFile {
            path: path.to_path_buf(),
            text,
            line_starts,
        }
    }

    /// Span for a byte range.
    pub fn span(&self, range: Range<usize>) -> SourceSpan {
        let start = range.start.min(self.text.len());
        let end = range.end.clamp(start, self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= start);
        let line_start = self.line_starts[line.saturating_sub(1)];
        let column = self
            .text
            .get(line_start..start)
            .map(|s| s.chars().count() + 1)
            .unwrap_or(start - line_start + 1);
        SourceSpan {
            file: self.path.clone(),
            line,
            column,
            offset: start,
            len: end - start,
        }
    }

    /// Span of an optional range (a zero-length span at the file start when unknown).
    pub fn span_opt(&self, range: Option<Range<usize>>) -> SourceSpan {
        self.span(range.unwrap_or(0..0))
    }

    /// The text of a byte range.
    pub fn slice(&self, range: Range<usize>) -> &str {
        self.text.get(range).unwrap_or("")
    }

    /// Parses the text as an HCL body.
    pub fn parse(&self) -> Result<Body, Diagnostic> {
        let text = super::heredoc::guard_indented_heredocs(&self.text);
        hcl::edit::parser::parse_body(&text).map_err(|e| {
            let loc = e.location();
            let offset = loc.offset().min(self.text.len());
            let span = self.span(offset..offset);
            let msg = e.message().trim();
            let (summary, detail) = match msg.split_once('\n') {
                Some((a, b)) => (a.trim().to_string(), b.trim().to_string()),
                None => (msg.to_string(), String::new()),
            };
            let summary = if summary.is_empty() {
                "invalid HCL syntax".to_string()
            } else {
                format!("invalid HCL syntax: {summary}")
            };
            let mut d = Diagnostic::error(summary).with_span(span);
            d = d.with_detail(if detail.is_empty() {
                "here".to_string()
            } else {
                detail
            });
            d
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_from_offsets() {
        let f = SourceFile::new(Path::new("a.hcl"), "ab\ncdé\nx");
        let s = f.span(0..1);
        assert_eq!((s.line, s.column), (1, 1));
        let s = f.span(4..5);
        assert_eq!((s.line, s.column), (2, 2));
        let s = f.span(8..9);
        assert_eq!((s.line, s.column), (3, 1));
    }
}
