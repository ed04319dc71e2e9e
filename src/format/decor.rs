//! The whitespace and comments around HCL syntax (hcl-edit's "decor"), rewritten to the
//! canonical layout: comment lines re-indented, runs of blank lines collapsed to one, trailing
//! spaces dropped. Comments are kept word for word.

/// One line of decor: a blank line or a comment (a `/* */` comment may span lines).
#[derive(Debug, PartialEq)]
enum Piece {
    Blank,
    Comment(String),
}

/// Whether decor holds a comment (then it is left as written: a `#` comment runs to the end of
/// its line, so moving what follows it could comment code out).
pub fn has_comment(raw: &str) -> bool {
    raw.contains('#') || raw.contains("//") || raw.contains("/*")
}

/// Splits decor into its whole lines and the text after its last newline.
fn pieces(raw: &str) -> (Vec<Piece>, &str) {
    let (lines, tail) = match raw.rfind('\n') {
        Some(at) => (&raw[..at], &raw[at + 1..]),
        None => return (Vec::new(), raw),
    };
    let mut out = Vec::new();
    let mut open: Option<String> = None;
    for line in lines.split('\n') {
        if let Some(mut comment) = open.take() {
            comment.push('\n');
            comment.push_str(line.trim_end());
            if line.contains("*/") {
                out.push(Piece::Comment(comment));
            } else {
                open = Some(comment);
            }
            continue;
        }
        let text = line.trim();
        if text.is_empty() {
            out.push(Piece::Blank);
        } else if text.starts_with("/*") && !text[2..].contains("*/") {
            open = Some(text.to_owned());
        } else {
            out.push(Piece::Comment(text.to_owned()));
        }
    }
    if let Some(comment) = open {
        out.push(Piece::Comment(comment));
    }
    (out, tail)
}

/// The decor before a structure or item that starts its own line: its comment lines at
/// `indent`, at most one blank line between things, and `indent` last. A blank line before
/// the first comment is kept only with `keep_leading`.
pub fn lines_before(raw: &str, indent: &str, keep_leading: bool) -> String {
    let (pieces, tail) = pieces(raw);
    let mut out = String::new();
    let mut emitted = keep_leading;
    let mut blank = false;
    for piece in pieces {
        match piece {
            Piece::Blank => blank = true,
            Piece::Comment(c) => {
                if blank && emitted {
                    out.push('\n');
                }
                blank = false;
                emitted = true;
                out.push_str(indent);
                out.push_str(&c);
                out.push('\n');
            }
        }
    }
    if blank && emitted {
        out.push('\n');
    }
    out.push_str(indent);
    let tail = tail.trim();
    if !tail.is_empty() {
        out.push_str(tail);
        out.push(' ');
    }
    out
}

/// The decor before a closing `}` or `]` (or the end of the file): its comment lines at
/// `inner`, no blank line first or last, and `indent` for the closing token.
pub fn lines_closing(raw: &str, inner: &str, indent: &str) -> String {
    let (mut pieces, tail) = pieces(raw);
    let tail = tail.trim();
    if !tail.is_empty() {
        pieces.push(Piece::Comment(tail.to_owned()));
    }
    while pieces.last() == Some(&Piece::Blank) {
        pieces.pop();
    }
    let mut out = lines_before(&join(&pieces), inner, false);
    out.truncate(out.len() - inner.len());
    out.push_str(indent);
    out
}

fn join(pieces: &[Piece]) -> String {
    let mut s = String::new();
    for p in pieces {
        if let Piece::Comment(c) = p {
            s.push_str(c);
        }
        s.push('\n');
    }
    s
}

/// The decor after a token that ends a line: a trailing comment, one space before it.
pub fn trailing(raw: &str) -> String {
    let text = raw.trim();
    if text.is_empty() {
        String::new()
    } else {
        format!(" {text}")
    }
}

/// The decor before an item that starts a new line after `[`, `(`, `{` or `,`: what stays on
/// the line before (a trailing comment), then the lines before the item at `indent`.
pub fn after_break(raw: &str, indent: &str, keep_leading: bool) -> String {
    let Some(at) = raw.find('\n') else {
        return format!("\n{indent}");
    };
    let mut out = trailing(&raw[..at]);
    out.push('\n');
    out.push_str(&lines_before(&raw[at + 1..], indent, keep_leading));
    out
}

/// The decor before a closing token that goes on its own line, after an item that did not end
/// its line: a trailing comment stays on the item's line.
pub fn break_closing(raw: &str, inner: &str, indent: &str) -> String {
    let Some(at) = raw.find('\n') else {
        return format!("\n{indent}");
    };
    format!(
        "{}\n{}",
        trailing(&raw[..at]),
        lines_closing(&raw[at + 1..], inner, indent)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_are_reindented_and_blank_runs_collapse() {
        let raw = "\n\n\n    # one\n\n\n# two\n      ";
        assert_eq!(lines_before(raw, "  ", true), "\n  # one\n\n  # two\n  ");
        assert_eq!(lines_before(raw, "  ", false), "  # one\n\n  # two\n  ");
        assert_eq!(lines_before("\n\n   ", "", false), "");
    }

    #[test]
    fn block_comments_keep_their_inner_lines() {
        let raw = "  /* a\n     b */\n  ";
        assert_eq!(lines_before(raw, "    ", false), "    /* a\n     b */\n    ");
    }

    #[test]
    fn closing_decor_drops_edge_blank_lines() {
        assert_eq!(lines_closing("\n\n  # end\n\n", "    ", "  "), "    # end\n  ");
        assert_eq!(lines_closing("   ", "    ", "  "), "  ");
        assert_eq!(lines_closing("# last", "", ""), "# last\n");
    }
}
