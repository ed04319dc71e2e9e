//! `SourceFile`: one file's text, parsed body, and byte-offset → line/column mapping. A
//! [`SourceFile::piece`] is a byte range of a file parsed on its own: its spans and slices are
//! offsets into the piece, mapped back to the whole file's, so diagnostics point where they did.

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
    line_starts: Arc<[usize]>,
    /// The byte range this value parses: the whole text, or one piece of it.
    range: Range<usize>,
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
            range: 0..text.len(),
            text,
            line_starts: line_starts.into(),
        }
    }

    /// The bytes `range` of this file (which must start and end on lines' starts or the end of
    /// the text), parsed on their own; the text and its line index are shared, not copied.
    pub fn piece(&self, range: Range<usize>) -> SourceFile {
        let end = range.end.min(self.text.len());
        SourceFile {
            path: self.path.clone(),
            text: Arc::clone(&self.text),
            line_starts: Arc::clone(&self.line_starts),
            range: range.start.min(end)..end,
        }
    }

    /// The text this value parses: the whole file's, or its piece's.
    pub fn parsed_text(&self) -> &str {
        self.text.get(self.range.clone()).unwrap_or("")
    }

    /// Span for a byte range of the parsed text.
    pub fn span(&self, range: Range<usize>) -> SourceSpan {
        let base = self.range.start;
        let start = (range.start + base).min(self.text.len());
        let end = (range.end + base).clamp(start, self.text.len());
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

    /// The text of a byte range of the parsed text.
    pub fn slice(&self, range: Range<usize>) -> &str {
        self.parsed_text().get(range).unwrap_or("")
    }

    /// Parses the text (or the piece) as an HCL body.
    pub fn parse(&self) -> Result<Body, Diagnostic> {
        let text = super::heredoc::guard_indented_heredocs(self.parsed_text());
        hcl::edit::parser::parse_body(&text).map_err(|e| {
            let loc = e.location();
            let offset = loc.offset().min(self.range.len());
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

    #[test]
    fn a_piece_maps_its_offsets_to_the_whole_file() {
        let f = SourceFile::new(Path::new("a.hcl"), "x = 1\ny = \"é\"\nz = 3\n");
        let p = f.piece(6..15);
        assert_eq!(p.parsed_text(), "y = \"é\"\n");
        let s = p.span(4..8);
        assert_eq!((s.line, s.column, s.offset, s.len), (2, 5, 10, 4));
        assert_eq!(p.slice(0..1), "y");
        assert!(p.parse().is_ok());
    }
}
