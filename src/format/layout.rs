//! The canonical layout of a parsed HCL body, rewritten in place through hcl-edit's decor so
//! comments stay: two-space indent per block, `=` aligned in runs of one-line attributes,
//! single spaces around `=`, labels and operators, and multi-line lists and objects re-indented.
//! Strings and heredocs are never touched.

use hcl::edit::expr::{
    Array, Expression, FuncArgs, Object, ObjectKey, ObjectValueAssignment, ObjectValueTerminator,
};
use hcl::edit::structure::{Block, Body, Structure};
use hcl::edit::template::HeredocTemplate;
use hcl::edit::visit_mut::VisitMut;
use hcl::edit::{Decor, Decorate, RawString, Span};

use super::decor::{after_break, break_closing, has_comment, lines_before, lines_closing, trailing};

/// One level of indentation.
const INDENT: &str = "  ";

fn indent(depth: usize) -> String {
    INDENT.repeat(depth)
}

fn raw(r: Option<&RawString>) -> &str {
    r.map_or("", |r| r)
}

/// Clears decor that is only spaces (the encoder's defaults are the canonical spacing); decor
/// with a comment or a line break is the caller's to handle.
fn tidy(decor: &mut Decor) {
    let (p, s) = (raw(decor.prefix()), raw(decor.suffix()));
    if !has_comment(p) && !has_comment(s) && !p.contains('\n') && !s.contains('\n') {
        decor.clear();
    }
}

/// Lays out a whole file's body.
pub fn file(body: &mut Body) {
    let prefix = raw(body.decor().prefix()).to_owned();
    let suffix = raw(body.decor().suffix()).to_owned();
    structures(body, 0);
    let head = lines_before(&prefix, "", false);
    body.decor_mut().set_prefix(head);
    let tail = if body.is_empty() {
        lines_closing(&format!("{prefix}{suffix}"), "", "")
    } else {
        lines_closing(&suffix, "", "")
    };
    if body.is_empty() {
        body.decor_mut().set_prefix("");
    }
    body.decor_mut().set_suffix(tail);
    body.set_prefer_omit_trailing_newline(false);
}

/// Lays out the structures of a body at `depth` and aligns the `=` of attribute runs.
fn structures(body: &mut Body, depth: usize) {
    let ind = indent(depth);
    for i in 0..body.len() {
        let Some(s) = body.get_mut(i) else { continue };
        let before = lines_before(raw(s.decor().prefix()), &ind, i > 0);
        let after = trailing(raw(s.decor().suffix()));
        s.decor_mut().set_prefix(before);
        s.decor_mut().set_suffix(after);
        match s {
            Structure::Attribute(attr) => {
                tidy(attr.key.decor_mut());
                value(&mut attr.value, depth);
            }
            Structure::Block(block) => self::block(block, depth),
        }
    }
    align_attributes(body);
}

/// Pads attribute keys so the `=` of each run lines up. A run ends at a blank line, a block or
/// after an attribute whose value spans lines.
fn align_attributes(body: &mut Body) {
    let mut runs: Vec<Vec<usize>> = Vec::new();
    let mut open = false;
    for (i, s) in body.iter().enumerate() {
        let Some(attr) = s.as_attribute() else {
            open = false;
            continue;
        };
        let prefix = raw(s.decor().prefix());
        let blank_before = prefix.starts_with('\n') || prefix.contains("\n\n");
        if !open || blank_before {
            runs.push(Vec::new());
        }
        runs.last_mut().expect("a run was pushed").push(i);
        open = !attr.value.to_string().contains('\n');
    }
    for run in runs {
        let width = run
            .iter()
            .filter_map(|&i| key_width(body.get(i)?))
            .max()
            .unwrap_or(0);
        for i in run {
            if let Some(Structure::Attribute(attr)) = body.get_mut(i) {
                if has_comment(raw(attr.key.decor().suffix())) {
                    continue;
                }
                let pad = width - attr.key.as_str().chars().count() + 1;
                attr.key.decor_mut().set_suffix(" ".repeat(pad));
            }
        }
    }
}

fn key_width(s: &Structure) -> Option<usize> {
    s.as_attribute().map(|a| a.key.as_str().chars().count())
}

fn block(block: &mut Block, depth: usize) {
    tidy(block.ident.decor_mut());
    for label in &mut block.labels {
        tidy(label.decor_mut());
    }
    let body = &mut block.body;
    let single_attribute = body.len() == 1 && body.get(0).is_some_and(Structure::is_attribute);
    if body.prefer_oneline() && (body.is_empty() || single_attribute) {
        tidy(body.decor_mut());
        if let Some(Structure::Attribute(attr)) = body.get_mut(0) {
            tidy(attr.decor_mut());
            tidy(attr.key.decor_mut());
            value(&mut attr.value, depth);
        }
        return;
    }
    let open = trailing(raw(body.decor().prefix()));
    let close = lines_closing(raw(body.decor().suffix()), &indent(depth + 1), &indent(depth));
    structures(body, depth + 1);
    body.decor_mut().set_prefix(open);
    body.decor_mut().set_suffix(close);
}

/// An attribute's value: one space after `=`, nothing after it but a comment.
fn value(v: &mut Expression, depth: usize) {
    let decor = v.decor_mut();
    if !has_comment(raw(decor.prefix())) {
        decor.set_prefix(" ");
    }
    if !has_comment(raw(decor.suffix())) {
        decor.set_suffix("");
    }
    expression(v, depth);
}

/// Lays out the parts of an expression whose own line starts at `depth`.
fn expression(e: &mut Expression, depth: usize) {
    match e {
        Expression::Array(a) => array(a, depth),
        Expression::Object(o) => object(o, depth),
        Expression::FuncCall(call) => {
            tidy(call.name.name.decor_mut());
            args(&mut call.args, depth);
        }
        Expression::Parenthesis(p) => sub(p.inner_mut(), depth),
        Expression::Conditional(c) => {
            sub(&mut c.cond_expr, depth);
            sub(&mut c.true_expr, depth);
            sub(&mut c.false_expr, depth);
        }
        Expression::BinaryOp(op) => {
            sub(&mut op.lhs_expr, depth);
            tidy(op.operator.decor_mut());
            sub(&mut op.rhs_expr, depth);
        }
        Expression::UnaryOp(op) => sub(&mut op.expr, depth),
        _ => {}
    }
}

/// A sub-expression: its spacing tidied, its own parts laid out.
fn sub(e: &mut Expression, depth: usize) {
    tidy(e.decor_mut());
    expression(e, depth);
}

/// Whether a list's items are laid out one per line (the first item starts a new line).
fn starts_new_line<'a>(mut items: impl Iterator<Item = &'a Expression>) -> bool {
    items
        .next()
        .is_some_and(|first| raw(first.decor().prefix()).contains('\n'))
}

fn array(a: &mut Array, depth: usize) {
    let multi = starts_new_line(a.iter());
    for (i, item) in a.iter_mut().enumerate() {
        list_item(item, i, multi, depth);
    }
    let close = list_close(a.trailing(), multi, depth);
    a.set_trailing(close);
}

fn args(a: &mut FuncArgs, depth: usize) {
    tidy(a.decor_mut());
    let multi = starts_new_line(a.iter());
    for (i, item) in a.iter_mut().enumerate() {
        list_item(item, i, multi, depth);
    }
    let close = list_close(a.trailing(), multi, depth);
    a.set_trailing(close);
}

/// An item of a list or of a call's arguments.
fn list_item(item: &mut Expression, i: usize, multi: bool, depth: usize) {
    let decor = item.decor_mut();
    let (p, s) = (raw(decor.prefix()).to_owned(), raw(decor.suffix()).to_owned());
    if multi && !has_comment(&s) {
        decor.set_prefix(after_break(&p, &indent(depth + 1), i > 0));
        decor.set_suffix("");
    } else if !multi {
        tidy(decor);
    }
    expression(item, if multi { depth + 1 } else { depth });
}

/// The decor before a list's closing bracket.
fn list_close(raw_close: &RawString, multi: bool, depth: usize) -> String {
    let close: &str = raw_close;
    if has_comment(close) && !multi {
        close.to_owned()
    } else if multi {
        break_closing(close, &indent(depth + 1), &indent(depth))
    } else {
        String::new()
    }
}

fn object(o: &mut Object, depth: usize) {
    let multi = o.iter().next().is_some_and(|(k, _)| {
        let decor = match k {
            ObjectKey::Ident(i) => i.decor(),
            ObjectKey::Expression(e) => e.decor(),
        };
        raw(decor.prefix()).contains('\n')
    });
    let inner = indent(depth + 1);
    let mut widths = Vec::new();
    let mut prev_newline = false;
    for (i, (mut key, val)) in o.iter_mut().enumerate() {
        let p = raw(key.decor().prefix()).to_owned();
        let prefix = if !multi {
            " ".to_owned()
        } else if prev_newline {
            lines_before(&p, &inner, true)
        } else {
            after_break(&p, &inner, i > 0)
        };
        if !has_comment(&p) || multi {
            key.decor_mut().set_prefix(prefix);
        }
        if !has_comment(raw(key.decor().suffix())) {
            key.decor_mut().set_suffix(" ");
        }
        widths.push(key_text_width(key.get()));
        prev_newline = val.terminator() == ObjectValueTerminator::Newline;
        sub(val.expr_mut(), if multi { depth + 1 } else { depth });
        let decor = val.expr_mut().decor_mut();
        if !has_comment(raw(decor.prefix())) {
            decor.set_prefix(" ");
        }
    }
    if multi {
        align_object(o, &widths);
    }
    let close: &str = o.trailing();
    if !has_comment(close) || multi {
        let close = if !multi {
            " ".to_owned()
        } else if prev_newline {
            lines_closing(close, &inner, &indent(depth))
        } else {
            break_closing(close, &inner, &indent(depth))
        };
        let close = if o.is_empty() { String::new() } else { close };
        o.set_trailing(close);
    }
}

/// Pads the keys of each run of one-line `key = value` items so their `=` line up.
fn align_object(o: &mut Object, widths: &[usize]) {
    let mut run_start = 0;
    let mut ends = Vec::new();
    for (i, (key, val)) in o.iter().enumerate() {
        let prefix = match key {
            ObjectKey::Ident(k) => raw(k.decor().prefix()),
            ObjectKey::Expression(e) => raw(e.decor().prefix()),
        };
        if i > run_start && (prefix.starts_with('\n') || prefix.contains("\n\n")) {
            ends.push((run_start, i));
            run_start = i;
        }
        if val.expr().to_string().contains('\n') || val.assignment() != ObjectValueAssignment::Equals {
            ends.push((run_start, i + 1));
            run_start = i + 1;
        }
    }
    ends.push((run_start, widths.len()));
    for (start, end) in ends {
        let width = widths[start..end].iter().copied().max().unwrap_or(0);
        for (i, (mut key, _)) in o.iter_mut().enumerate() {
            if i >= start && i < end && !has_comment(raw(key.decor().suffix())) {
                key.decor_mut().set_suffix(" ".repeat(width - widths[i] + 1));
            }
        }
    }
}

/// How wide an object key is printed.
fn key_text_width(key: &ObjectKey) -> usize {
    match key {
        ObjectKey::Ident(i) => i.as_str().chars().count(),
        ObjectKey::Expression(e) => e.to_string().trim().chars().count(),
    }
}

/// Keeps `<<-` on heredocs whose lines have no common indent: hcl-edit records the `-` only as
/// the indent it stripped, so without this a `<<-EOT` with nothing to strip would print as
/// `<<EOT`.
pub fn keep_heredoc_markers(body: &mut Body, src: &str) {
    struct Markers<'a>(&'a str);
    impl VisitMut for Markers<'_> {
        fn visit_heredoc_template_mut(&mut self, node: &mut HeredocTemplate) {
            if node.indent().is_none() && opens_with_dash(node, self.0) {
                node.set_indent(0);
            }
        }
    }
    Markers(src).visit_body_mut(body);
}

fn opens_with_dash(node: &HeredocTemplate, src: &str) -> bool {
    let at = |r: std::ops::Range<usize>| src.get(r.start..).is_some_and(|s| s.starts_with("<<-"));
    if node.span().is_some_and(at) {
        return true;
    }
    // The template's span starts after `<<-DELIM\n`.
    node.template.span().is_some_and(|r| {
        src.get(..r.start).is_some_and(|before| {
            let head = before.trim_end_matches(['\n', '\r']);
            let head = head.strip_suffix(node.delimiter.as_str()).unwrap_or("");
            head.ends_with("<<-")
        })
    })
}
