//! A large file cut into pieces at its top-level lines, without parsing it, so that it can be
//! parsed and decoded piece by piece: memory then holds one piece's tree at a time instead of
//! the whole file's (a tree takes about ten times its text), and pieces can go to several
//! threads.
//!
//! ```text
//!  text ─► scan (strings, `${}` / `%{}`, heredocs, comments, brackets) ─► lines at depth 0
//!       ─► kind of each line: `job` block, another item, or blank/comment
//!       ─► pieces: runs of one kind, cut at about `max_bytes`
//! ```
//!
//! The scan only has to be right for valid files: a file it cannot follow (an unterminated
//! string, unbalanced brackets) gets no pieces, and a piece that does not parse, or whose items
//! are not of the kind the scan saw, sends the caller back to parsing the whole file, whose
//! errors are then the ones reported.

use std::ops::Range;

/// A run of whole top-level lines of one kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Piece {
    /// Byte range: from a line's start to the start of a later line (or the end).
    pub range: Range<usize>,
    /// True when its items are `job` blocks.
    pub jobs: bool,
}

/// The pieces of `text`, each at most about `max_bytes` (a piece holds at least one item);
/// `None` when the scan cannot follow the text.
pub fn pieces(text: &str, max_bytes: usize) -> Option<Vec<Piece>> {
    let mut out: Vec<Piece> = Vec::new();
    for line in top_level_lines(text)? {
        // Blank and comment lines stay in the piece before them (the first, at the start).
        let Some(jobs) = line_kind(&text[line.clone()]) else {
            continue;
        };
        match out.last_mut() {
            Some(p) if p.jobs == jobs && line.start - p.range.start < max_bytes => {}
            Some(p) => {
                p.range.end = line.start;
                out.push(Piece {
                    range: line.start..line.start,
                    jobs,
                });
            }
            None => out.push(Piece { range: 0..0, jobs }),
        }
    }
    if let Some(last) = out.last_mut() {
        last.range.end = text.len();
    }
    Some(out)
}

/// `Some(true)` for a line starting a `job` block, `Some(false)` for any other item, `None`
/// for a blank or comment line.
fn line_kind(line: &str) -> Option<bool> {
    let t = line.trim_start_matches([' ', '\t', '\r', '\n']);
    if t.is_empty() || t.starts_with('#') || t.starts_with("//") || t.starts_with("/*") {
        return None;
    }
    let ident_len = t
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .unwrap_or(t.len());
    let after = t[ident_len..].trim_start_matches([' ', '\t']);
    Some(
        &t[..ident_len] == "job"
            && (after.starts_with('"') || after.starts_with(|c: char| c.is_alphabetic())),
    )
}

/// What encloses the scan position.
#[derive(Clone, Copy)]
enum Ctx {
    /// A quoted string.
    Str,
    /// A `${` or `%{` inside a string, opened at this bracket depth.
    Interp(usize),
}

/// The byte ranges of the file's lines at bracket depth 0 outside strings, heredocs and block
/// comments: a top-level item starts at the start of one of them (and may run over several,
/// inside brackets). Each range ends after its newline.
fn top_level_lines(text: &str) -> Option<Vec<Range<usize>>> {
    let b = text.as_bytes();
    let mut lines = Vec::new();
    let mut line_start = 0;
    let mut depth = 0usize;
    let mut stack: Vec<Ctx> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if let Some(Ctx::Str) = stack.last() {
            match c {
                b'\\' => i += 1,
                b'"' => {
                    stack.pop();
                }
                b'\n' => return None,
                b'$' | b'%' if b.get(i + 1) == Some(&c) && b.get(i + 2) == Some(&b'{') => i += 2,
                b'$' | b'%' if b.get(i + 1) == Some(&b'{') => {
                    stack.push(Ctx::Interp(depth));
                    depth += 1;
                    i += 1;
                }
                _ => {}
            }
            i += 1;
            continue;
        }
        match c {
            b'"' => stack.push(Ctx::Str),
            b'{' | b'[' | b'(' => depth += 1,
            b'}' | b']' | b')' => {
                depth = depth.checked_sub(1)?;
                if let Some(Ctx::Interp(d)) = stack.last()
                    && *d == depth
                {
                    stack.pop();
                }
            }
            b'#' => i = line_end(b, i) - 1,
            b'/' if b.get(i + 1) == Some(&b'/') => i = line_end(b, i) - 1,
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = text[i + 2..].find("*/").map(|e| i + 2 + e + 1)?;
            }
            b'<' if b.get(i + 1) == Some(&b'<') => i = heredoc_end(text, i + 2)? - 1,
            b'\n' if depth == 0 && stack.is_empty() => {
                lines.push(line_start..i + 1);
                line_start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if depth != 0 || !stack.is_empty() {
        return None;
    }
    if line_start < b.len() {
        lines.push(line_start..b.len());
    }
    Some(lines)
}

/// The index of the newline ending the line at `i` (or the text's length).
fn line_end(b: &[u8], i: usize) -> usize {
    b[i..].iter().position(|&c| c == b'\n').map_or(b.len(), |p| i + p)
}

/// After `<<` at `after`: `-`, a marker and a newline open a heredoc; returns the index just
/// past its closing marker (the newline after it stays for the line scan).
fn heredoc_end(text: &str, after: usize) -> Option<usize> {
    let rest = &text[after..];
    let rest = rest.strip_prefix('-').unwrap_or(rest);
    let len = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    let marker = &rest[..len];
    let body_start = text.len() - rest.len() + len;
    let body_start = if text[body_start..].starts_with("\r\n") {
        body_start + 2
    } else if text[body_start..].starts_with('\n') {
        body_start + 1
    } else {
        return None;
    };
    if marker.is_empty() {
        return None;
    }
    let mut at = body_start;
    while at < text.len() {
        let end = text[at..].find('\n').map_or(text.len(), |p| at + p);
        if text[at..end].trim_matches([' ', '\t', '\r']) == marker {
            return Some(end);
        }
        at = end + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str, max: usize) -> Vec<(&str, bool)> {
        pieces(text, max)
            .expect("scanned")
            .into_iter()
            .map(|p| (&text[p.range], p.jobs))
            .collect()
    }

    #[test]
    fn jobs_and_other_items_go_to_separate_pieces() {
        let text = "# head\nvariable \"a\" {\n  default = \"}\"\n}\n\njob \"x\" {\n  a = \"${var.a}\"\n}\njob \"y\" {}\nlocals {\n  b = <<EOT\n}\n  job \"z\" {\nEOT\n}\n";
        assert_eq!(
            kinds(text, 1 << 20),
            vec![
                ("# head\nvariable \"a\" {\n  default = \"}\"\n}\n\n", false),
                ("job \"x\" {\n  a = \"${var.a}\"\n}\njob \"y\" {}\n", true),
                ("locals {\n  b = <<EOT\n}\n  job \"z\" {\nEOT\n}\n", false),
            ]
        );
    }

    #[test]
    fn pieces_are_cut_at_the_size_at_item_starts() {
        let text = "job \"a\" {\n  x = 1\n}\n// c\njob \"b\" {\n}\njob \"c\" {\n}\n";
        assert_eq!(
            kinds(text, 5),
            vec![
                ("job \"a\" {\n  x = 1\n}\n// c\n", true),
                ("job \"b\" {\n}\n", true),
                ("job \"c\" {\n}\n", true),
            ]
        );
        assert_eq!(kinds(text, 1 << 20).len(), 1);
    }

    #[test]
    fn templates_comments_and_escapes_do_not_end_items() {
        let text = "job \"a\" {\n  x = \"${ {\"k\" = \"}\"}[\"k\"] } %{ if true }y%{ endif } $${z} \\\" }\"\n  /* }\n */ y = 1 # }\n}\njob \"b\" {}";
        let p = kinds(text, 1);
        assert_eq!(p.len(), 2);
        assert!(p[1].0.starts_with("job \"b\""));
    }

    #[test]
    fn what_the_scan_cannot_follow_has_no_pieces() {
        assert_eq!(pieces("job \"a\" {\n", 10), None);
        assert_eq!(pieces("job \"a\" {\n x = \"abc\n}\n", 10), None);
        assert_eq!(pieces("x = <<EOT\nabc\n", 10), None);
        assert_eq!(pieces("}\n", 10), None);
        assert_eq!(pieces("", 10), Some(Vec::new()));
    }
}
