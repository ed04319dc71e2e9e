//! The `nomad_variable "PATH" { namespace = "...", items = { KEY = value, ... } }` block: a
//! Nomad Variable the stack writes before the jobs that read it. Each item is evaluated on its
//! own, so only the items that come from sensitive variables are marked sensitive.

use std::collections::{BTreeMap, BTreeSet};

use hcl::edit::Span;
use hcl::edit::expr::{Expression, ObjectKey};
use hcl::edit::structure::Block;
use serde_json::Value;

use super::eval::{Eval, stringify, type_name};
use super::suggest::did_you_mean;
use super::unit::label_span;
use crate::diag::Diagnostic;
use crate::stack::{NomadVariable, StackJob, template_var_paths};

/// Longest variable path Nomad accepts.
const MAX_PATH: usize = 128;

/// Reads a `nomad_variable` block; `None` (with diagnostics) when it is not usable.
pub fn nomad_variable(ev: &mut Eval<'_>, b: &Block, ds: &mut Vec<Diagnostic>) -> Option<NomadVariable> {
    let span = ev
        .file
        .span_opt(b.labels.first().and_then(label_span).or_else(|| b.ident.span()));
    let Some(path) = b.labels.first().map(|l| l.as_str().to_string()) else {
        ds.push(
            Diagnostic::error("missing label on `nomad_variable` block")
                .with_span(span)
                .with_detail("the label is the variable's path")
                .with_help("write `nomad_variable \"nomad/jobs/NAME\" { items = { ... } }`"),
        );
        return None;
    };
    if let Some(why) = bad_path(&path) {
        ds.push(
            Diagnostic::error(format!("invalid variable path `{path}`"))
                .with_span(span.clone())
                .with_detail(why)
                .with_help("use letters, digits and `-_~/.`, such as nomad/jobs/NAME"),
        );
        return None;
    }
    let mut namespace = "default".to_string();
    let mut items = None;
    for a in b.body.attributes() {
        match a.key.value().as_str() {
            "namespace" => match ev.eval(&a.value).map(|v| stringify(&v)) {
                Ok(Some(s)) if !s.is_empty() => namespace = s,
                Ok(_) => ds.push(
                    Diagnostic::error("invalid value for `namespace`")
                        .with_span(ev.span_of(&a.value))
                        .with_detail("expected a non-empty string"),
                ),
                Err(d) => ds.push(d),
            },
            "items" => items = read_items(ev, &a.value, ds),
            other => {
                let mut d = Diagnostic::error(format!("unknown attribute `{other}` in `nomad_variable`"))
                    .with_span(ev.file.span_opt(a.key.span()))
                    .with_detail("`nomad_variable` takes `namespace` and `items`");
                if let Some(s) = did_you_mean(other, ["namespace", "items"]) {
                    d = d.with_help(format!("did you mean `{s}`?"));
                }
                ds.push(d);
            }
        }
    }
    if let Some(inner) = b.body.blocks().next() {
        ds.push(
            Diagnostic::error(format!(
                "unexpected block `{}` in `nomad_variable`",
                inner.ident.value()
            ))
            .with_span(ev.file.span_opt(inner.ident.span()))
            .with_help("write the items as an attribute: `items = { KEY = value }`"),
        );
    }
    let (items, sensitive_items) = match items {
        Some(i) if !i.0.is_empty() => i,
        Some(_) | None => {
            if !ds.iter().any(Diagnostic::is_error) {
                ds.push(
                    Diagnostic::error(format!("`nomad_variable \"{path}\"` has no items"))
                        .with_span(span)
                        .with_detail("Nomad stores a variable only with at least one item")
                        .with_help("add `items = { KEY = \"value\" }`"),
                );
            }
            return None;
        }
    };
    Some(NomadVariable {
        path,
        namespace,
        items,
        sensitive_items,
        read_by: Vec::new(),
        span,
    })
}

type Items = (BTreeMap<String, String>, BTreeSet<String>);

/// The items' strings, and the keys whose values read a sensitive variable.
fn read_items(ev: &mut Eval<'_>, e: &Expression, ds: &mut Vec<Diagnostic>) -> Option<Items> {
    let Expression::Object(obj) = e else {
        ds.push(
            Diagnostic::error("invalid value for `items`")
                .with_span(ev.span_of(e))
                .with_detail("expected an object written out: `{ KEY = value, ... }`"),
        );
        return None;
    };
    let (mut items, mut sensitive) = (BTreeMap::new(), BTreeSet::new());
    for (k, v) in obj.iter() {
        let key = match k {
            ObjectKey::Ident(id) => id.value().to_string(),
            ObjectKey::Expression(Expression::String(s)) => s.value().to_string(),
            ObjectKey::Expression(other) => {
                ds.push(
                    Diagnostic::error("invalid item key")
                        .with_span(ev.span_of(other))
                        .with_detail("an item key is a name or a quoted string"),
                );
                continue;
            }
        };
        ev.tainted = false;
        let value = match ev.eval(v.expr()) {
            Ok(value) => value,
            Err(d) => {
                ds.push(d);
                continue;
            }
        };
        let Some(text) = stringify(&value) else {
            ds.push(
                Diagnostic::error(format!("invalid value for item `{key}`"))
                    .with_span(ev.span_of(v.expr()))
                    .with_detail(format!(
                        "expected a string, number or bool, found {}",
                        type_name(&value)
                    )),
            );
            continue;
        };
        if ev.tainted {
            sensitive.insert(key.clone());
        }
        items.insert(key, text);
    }
    ev.tainted = false;
    Some((items, sensitive))
}

/// Why a path is not one Nomad accepts, or `None`.
fn bad_path(path: &str) -> Option<String> {
    if path.is_empty() || path.len() > MAX_PATH {
        return Some(format!("a path has 1 to {MAX_PATH} characters"));
    }
    if path.starts_with('/') || path.ends_with('/') || path.contains("//") {
        return Some("a path neither starts nor ends with `/`, nor holds `//`".into());
    }
    if path.split('/').any(|s| s == "." || s == "..") {
        return Some("a path has no `.` or `..` segment".into());
    }
    path.chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-_~/.".contains(*c)))
        .map(|c| format!("`{c}` is not allowed in a path"))
}

/// Fills each variable's `read_by` from the jobs' templates, sorts the variables and reports
/// two blocks for one path.
pub fn link_readers(vars: &mut [NomadVariable], jobs: &[StackJob], ds: &mut Vec<Diagnostic>) {
    vars.sort_by(|a, b| (&a.namespace, &a.path).cmp(&(&b.namespace, &b.path)));
    for w in vars.windows(2) {
        if (&w[0].namespace, &w[0].path) == (&w[1].namespace, &w[1].path) {
            ds.push(
                Diagnostic::error(format!("two `nomad_variable` blocks for `{}`", w[1].path))
                    .with_span(w[1].span.clone())
                    .with_detail(format!("the first is at {}", w[0].span))
                    .with_help("merge their items into one block"),
            );
        }
    }
    for j in jobs {
        let ns = j.job.namespace().to_string();
        let read = job_template_texts(&j.job)
            .iter()
            .flat_map(|t| template_var_paths(t))
            .collect::<BTreeSet<_>>();
        for v in vars.iter_mut() {
            if v.namespace == ns && read.contains(&v.path) {
                v.read_by.push(j.address.clone());
            }
        }
    }
    for v in vars.iter_mut() {
        v.read_by.sort();
        v.read_by.dedup();
    }
}

/// Every template text of a job (`EmbeddedTmpl`).
fn job_template_texts(job: &crate::spec::Job) -> Vec<String> {
    let mut out = Vec::new();
    let v = serde_json::to_value(job).unwrap_or_default();
    collect(&v, &mut out);
    out
}

fn collect(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("EmbeddedTmpl", Value::String(s)) => out.push(s.clone()),
                    _ => collect(x, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|x| collect(x, out)),
        _ => {}
    }
}
