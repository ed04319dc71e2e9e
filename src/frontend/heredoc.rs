//! A guard for hcl-edit's `<<-` dedent. HCL strips the least indentation of all the heredoc's
//! lines, which is none as soon as one line starts at column 0; hcl-edit 0.10 skips the
//! literal pieces that hold such a line and strips the least indentation of the others, so a
//! script like
//!
//! ```text
//! args = [<<-EOS
//! for i in $(seq 1 60); do
//!   ... '${var.db}' ...
//!   psql ...
//! EOS
//! ]
//! ```
//!
//! lost two characters of every line (`r i in`, `ne`). Such a heredoc strips nothing, so it is
//! read as a plain `<<` heredoc: `<<-` becomes ` <<`, which keeps every byte offset (and so
//! every diagnostic's position) where it was.

use std::borrow::Cow;

/// The text with every `<<-MARK` heredoc that has a line at column 0 read as `<<MARK`.
pub fn guard_indented_heredocs(text: &str) -> Cow<'_, str> {
    let mut starts = Vec::new();
    let mut from = 0;
    while let Some(i) = text[from..].find("<<-") {
        let at = from + i;
        from = at + 3;
        if let Some((marker, body_start)) = marker_line(text, at + 3)
            && has_unindented_line(text, marker, body_start)
        {
            starts.push(at);
        }
    }
    if starts.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for at in starts {
        out.push_str(&text[last..at]);
        out.push_str(" <<");
        last = at + 3;
    }
    out.push_str(&text[last..]);
    Cow::Owned(out)
}

/// The heredoc's marker and where its body starts when `<<-` just before `after` opens one:
/// an identifier, then the end of the line.
fn marker_line(text: &str, after: usize) -> Option<(&str, usize)> {
    let rest = &text[after..];
    let len = rest
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
        .unwrap_or(rest.len());
    let tail = &rest[len..];
    let newline = if tail.starts_with("\r\n") {
        2
    } else if tail.starts_with('\n') {
        1
    } else {
        return None;
    };
    (len > 0).then(|| (&rest[..len], after + len + newline))
}

/// Whether a non-empty line of the body (up to the closing `marker` line) starts at column 0.
fn has_unindented_line(text: &str, marker: &str, body_start: usize) -> bool {
    for line in text[body_start..].lines() {
        if line.trim() == marker {
            return false;
        }
        if line.starts_with(|c: char| !c.is_whitespace()) {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_heredoc_with_a_line_at_column_0_is_read_as_is() {
        let src = "args = [<<-EOS\nfor i in 1; do\n  echo '${x}' \\\n  ok\ndone\nEOS\n]\n";
        let guarded = guard_indented_heredocs(src);
        assert_eq!(guarded.len(), src.len());
        assert_eq!(
            guarded,
            "args = [ <<EOS\nfor i in 1; do\n  echo '${x}' \\\n  ok\ndone\nEOS\n]\n"
        );
        let body = hcl::edit::parser::parse_body(&guarded).expect("parses");
        let attr = body.get_attribute("args").expect("args");
        let hcl::edit::expr::Expression::Array(items) = &attr.value else {
            panic!("an array: {:?}", attr.value);
        };
        let Some(hcl::edit::expr::Expression::HeredocTemplate(h)) = items.iter().next() else {
            panic!("a heredoc: {items:?}");
        };
        let literals: String = h
            .template
            .iter()
            .filter_map(|e| match e {
                hcl::edit::template::Element::Literal(l) => Some(l.value().as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(literals, "for i in 1; do\n  echo '' \\\n  ok\ndone\n");
    }

    #[test]
    fn an_indented_heredoc_is_left_to_dedent() {
        let src = "data = <<-EOT\n    a ${x}\n      b\n    EOT\nafter = <<-EOT\nEOT\n";
        assert!(matches!(guard_indented_heredocs(src), Cow::Borrowed(_)));
        assert!(matches!(
            guard_indented_heredocs("a = \"<<-\"\n"),
            Cow::Borrowed(_)
        ));
    }
}
