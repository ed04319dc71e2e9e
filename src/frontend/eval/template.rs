//! String templates: interpolations, `%{if}` / `%{for}` directives, strip markers, and
//! runtime interpolations kept literally.
//!
//! An interpolation whose expression refers to a root other than `var`, `local`, `module`,
//! `job` (or a `%{for}` variable) is a Nomad runtime interpolation (`${NOMAD_ALLOC_ID}`,
//! `${node.unique.name}`, `${attr.kernel.name}`): its source text is copied unchanged.

use std::ops::Range;

use hcl::edit::Span;
use hcl::edit::expr::{Expression, ObjectKey, TraversalOperator};
use hcl::edit::template::{Directive, Element, Strip, Template};
use serde_json::Value;

use super::value::iteration_pairs;
use super::{EVALUATED_ROOTS, Eval, as_bool, type_name};
use crate::diag::Diagnostic;

/// Evaluates a template to its string.
pub fn eval_template(ev: &mut Eval<'_>, t: &Template, dedent: Option<usize>) -> Result<String, Diagnostic> {
    let mut out = Out {
        dedent,
        ..Out::default()
    };
    render(ev, t, &mut out, false)?;
    Ok(out.text)
}

#[derive(Default)]
struct Out {
    text: String,
    strip_next: bool,
    /// `<<-` heredocs: indentation to strip from lines inside directives (the parser
    /// dedents only the top-level literals).
    dedent: Option<usize>,
}

impl Out {
    fn literal(&mut self, s: &str, nested: bool) {
        let owned;
        let s = match self.dedent.filter(|n| nested && *n > 0) {
            Some(n) => {
                owned = dedent_lines(s, n, self.text.is_empty() || self.text.ends_with('\n'));
                owned.as_str()
            }
            None => s,
        };
        if self.strip_next {
            self.text.push_str(s.trim_start());
        } else {
            self.text.push_str(s);
        }
        self.strip_next = false;
    }

    fn value(&mut self, s: &str, strip: Strip) {
        if strip.strip_start() {
            let n = self.text.trim_end().len();
            self.text.truncate(n);
        }
        self.text.push_str(s);
        self.strip_next = strip.strip_end();
    }

    fn marker(&mut self, strip: Strip) {
        self.value("", strip);
    }
}

fn dedent_lines(s: &str, n: usize, at_line_start: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, line) in s.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if i > 0 || at_line_start {
            let strip = line.bytes().take(n).take_while(|b| *b == b' ').count();
            out.push_str(&line[strip..]);
        } else {
            out.push_str(line);
        }
    }
    out
}

fn render(ev: &mut Eval<'_>, t: &Template, out: &mut Out, nested: bool) -> Result<(), Diagnostic> {
    for el in t.iter() {
        match el {
            Element::Literal(s) => out.literal(s.value(), nested),
            Element::Interpolation(i) => {
                if is_runtime(ev, &i.expr) {
                    let raw = raw_text(ev, i.span(), &i.expr);
                    out.value(&raw, Strip::None);
                    continue;
                }
                let v = ev.eval(&i.expr)?;
                let s = stringify(&v).ok_or_else(|| {
                    Diagnostic::error("cannot interpolate this value")
                        .with_span(ev.span_of(&i.expr))
                        .with_detail(format!(
                            "expected a string, number or bool, found {}",
                            type_name(&v)
                        ))
                })?;
                out.value(&s, i.strip);
            }
            Element::Directive(d) => match &**d {
                Directive::If(ifd) => {
                    if is_runtime(ev, &ifd.if_expr.cond_expr) {
                        out.value(&raw_text(ev, ifd.span(), &ifd.if_expr.cond_expr), Strip::None);
                        continue;
                    }
                    let c = ev.eval(&ifd.if_expr.cond_expr)?;
                    let Some(c) = as_bool(&c) else {
                        return Err(Diagnostic::error("condition is not a bool")
                            .with_span(ev.span_of(&ifd.if_expr.cond_expr))
                            .with_detail(format!("expected a bool, found {}", type_name(&c))));
                    };
                    out.marker(ifd.if_expr.strip);
                    if c {
                        render(ev, &ifd.if_expr.template, out, true)?;
                        if let Some(e) = &ifd.else_expr {
                            out.marker(e.strip);
                        }
                    } else if let Some(e) = &ifd.else_expr {
                        out.marker(e.strip);
                        render(ev, &e.template, out, true)?;
                    }
                    out.marker(ifd.endif_expr.strip);
                }
                Directive::For(fd) => {
                    let fe = &fd.for_expr;
                    if is_runtime(ev, &fe.collection_expr) {
                        out.value(&raw_text(ev, fd.span(), &fe.collection_expr), Strip::None);
                        continue;
                    }
                    let coll = ev.eval(&fe.collection_expr)?;
                    let pairs = match iteration_pairs(coll) {
                        Ok(pairs) => pairs,
                        Err(other) => {
                            return Err(Diagnostic::error("cannot iterate")
                                .with_span(ev.span_of(&fe.collection_expr))
                                .with_detail(format!(
                                    "expected a list or an object, found {}",
                                    type_name(&other)
                                )));
                        }
                    };
                    out.marker(fe.strip);
                    for (k, v) in pairs {
                        let depth = ev.iter_vars.len();
                        if let Some(kv) = &fe.key_var {
                            ev.iter_vars.push((kv.value().to_string(), k));
                        }
                        ev.iter_vars.push((fe.value_var.value().to_string(), v));
                        let r = render(ev, &fe.template, out, true);
                        ev.iter_vars.truncate(depth);
                        r?;
                        out.marker(fd.endfor_expr.strip);
                    }
                }
            },
        }
    }
    Ok(())
}

/// The exact source text of an interpolation or directive.
fn raw_text(ev: &Eval<'_>, span: Option<Range<usize>>, inner: &Expression) -> String {
    match span {
        Some(r) => ev.file.slice(r).to_string(),
        None => match inner.span() {
            Some(r) => format!("${{{}}}", ev.file.slice(r)),
            None => String::new(),
        },
    }
}

/// A value as interpolated text.
pub fn stringify(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// True when the expression refers to a root that is only known at run time.
pub fn is_runtime(ev: &Eval<'_>, expr: &Expression) -> bool {
    let mut bound: Vec<String> = ev.iter_vars.iter().map(|(n, _)| n.clone()).collect();
    runtime_rooted(expr, &mut bound)
}

fn runtime_rooted(expr: &Expression, bound: &mut Vec<String>) -> bool {
    let root_is_runtime = |name: &str, bound: &Vec<String>| {
        !EVALUATED_ROOTS.contains(&name) && !bound.iter().any(|b| b == name)
    };
    match expr {
        Expression::Variable(v) => root_is_runtime(v.value().as_str(), bound),
        Expression::Traversal(t) => {
            runtime_rooted(&t.expr, bound)
                || t.operators.iter().any(|op| matches!(op.value(), TraversalOperator::Index(i) if runtime_rooted(i, bound)))
        }
        Expression::Array(a) => a.iter().any(|e| runtime_rooted(e, bound)),
        Expression::Object(o) => o.iter().any(|(k, v)| {
            matches!(k, ObjectKey::Expression(e) if !matches!(e, Expression::Variable(_)) && runtime_rooted(e, bound))
                || runtime_rooted(v.expr(), bound)
        }),
        Expression::StringTemplate(t) => template_runtime(t, bound),
        Expression::HeredocTemplate(h) => template_runtime(&h.template, bound),
        Expression::Parenthesis(p) => runtime_rooted(p.inner(), bound),
        Expression::Conditional(c) => {
            runtime_rooted(&c.cond_expr, bound) || runtime_rooted(&c.true_expr, bound) || runtime_rooted(&c.false_expr, bound)
        }
        Expression::FuncCall(f) => f.args.iter().any(|a| runtime_rooted(a, bound)),
        Expression::UnaryOp(u) => runtime_rooted(&u.expr, bound),
        Expression::BinaryOp(b) => runtime_rooted(&b.lhs_expr, bound) || runtime_rooted(&b.rhs_expr, bound),
        Expression::ForExpr(f) => {
            if runtime_rooted(&f.intro.collection_expr, bound) {
                return true;
            }
            let depth = bound.len();
            if let Some(k) = &f.intro.key_var {
                bound.push(k.value().to_string());
            }
            bound.push(f.intro.value_var.value().to_string());
            let r = f.key_expr.as_ref().is_some_and(|k| runtime_rooted(k, bound))
                || runtime_rooted(&f.value_expr, bound)
                || f.cond.as_ref().is_some_and(|c| runtime_rooted(&c.expr, bound));
            bound.truncate(depth);
            r
        }
        Expression::Null(_) | Expression::Bool(_) | Expression::Number(_) | Expression::String(_) => false,
    }
}

fn template_runtime(t: &Template, bound: &mut Vec<String>) -> bool {
    t.iter().any(|el| match el {
        Element::Literal(_) => false,
        Element::Interpolation(i) => runtime_rooted(&i.expr, bound),
        Element::Directive(_) => false,
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::{Eval, Scope};
    use crate::frontend::source::SourceFile;
    use serde_json::Value;

    fn eval_attr(src: &str, vars: &[(&str, Value)]) -> String {
        let file = SourceFile::new(Path::new("t.hcl"), src);
        let body = file.parse().expect("parses");
        let attr = body.get_attribute("x").expect("attribute x");
        let mut scope = Scope::default();
        for (k, v) in vars {
            scope.vars.insert(k.to_string(), v.clone());
        }
        let mut ev = Eval::new(&scope, &file);
        match ev.eval(&attr.value) {
            Ok(Value::String(s)) => s,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn runtime_interpolations_are_kept_and_vars_evaluated() {
        let s = eval_attr(
            "x = \"${var.image}-${node.unique.name}/${NOMAD_ALLOC_ID}\"\n",
            &[("image", "redis".into())],
        );
        assert_eq!(s, "redis-${node.unique.name}/${NOMAD_ALLOC_ID}");
    }

    #[test]
    fn escapes_unescape_like_nomad() {
        assert_eq!(
            eval_attr("x = \"$${NOMAD_TASK_DIR} %%{ if }\"\n", &[]),
            "${NOMAD_TASK_DIR} %{ if }"
        );
    }

    #[test]
    fn heredoc_with_directives_and_runtime_refs() {
        let src =
            "x = <<-EOT\n  %{ for n in var.names ~}\n  ${n}=${attr.kernel.name}\n  %{ endfor ~}\n  EOT\n";
        let s = eval_attr(src, &[("names", serde_json::json!(["a", "b"]))]);
        assert_eq!(s, "a=${attr.kernel.name}\nb=${attr.kernel.name}\n");
    }

    #[test]
    fn function_of_evaluable_args_is_evaluated() {
        assert_eq!(
            eval_attr("x = \"${upper(var.a)}-${env.HOME}\"\n", &[("a", "q".into())]),
            "Q-${env.HOME}"
        );
    }

    #[test]
    fn if_directive_on_a_runtime_value_is_kept() {
        assert_eq!(
            eval_attr("x = \"%{ if meta.x == \"1\" }yes%{ endif }\"\n", &[]),
            "%{ if meta.x == \"1\" }yes%{ endif }"
        );
    }
}
