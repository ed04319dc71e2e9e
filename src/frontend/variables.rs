//! `variable` and `locals` blocks of one scope: declarations, values, validation, locals.
//!
//! ```text
//!  given values (inputs.rs) ──► variable "x" { type default sensitive validation } ──► Scope.vars
//!                                                     locals { ... } (in dependency order) ──► Scope.locals
//! ```

use std::collections::{BTreeMap, BTreeSet};

use hcl::edit::Span;
use hcl::edit::expr::Expression;
use hcl::edit::structure::{Block, Body, Structure};
use serde_json::Value;

use super::eval::{Eval, Scope, TypeConstraint, as_bool, stringify};
use super::inputs::{GivenValue, RawValue};
use super::source::SourceFile;
use super::suggest::did_you_mean;
use super::unit::label_span;
use crate::diag::{Diagnostic, Diagnostics};
use crate::stack::VariableValue;

/// One parsed file of a scope.
pub struct ScopeFile<'a> {
    /// The file.
    pub file: &'a SourceFile,
    /// Its body.
    pub body: &'a Body,
}

const VARIABLE_ATTRS: &[&str] = &["type", "default", "description", "sensitive", "nullable"];

/// Fills `scope.vars`, `scope.sensitive` and `scope.locals` from the files' blocks.
/// Names taken from `given` are added to `used`. Returns the resolved variables.
pub fn resolve(
    files: &[ScopeFile<'_>],
    given: &BTreeMap<String, GivenValue>,
    used: &mut BTreeSet<String>,
    scope: &mut Scope,
    prefix: &str,
    diags: &mut Diagnostics,
) -> Vec<VariableValue> {
    let mut resolved = Vec::new();
    let mut declared: BTreeMap<String, (usize, std::ops::Range<usize>)> = BTreeMap::new();
    for (fi, sf) in files.iter().enumerate() {
        for b in sf
            .body
            .blocks()
            .filter(|b| b.ident.value().as_str() == "variable")
        {
            let Some(name) = single_label(sf.file, b, diags) else {
                continue;
            };
            if let Some((pf, _)) = declared.get(&name) {
                diags.push(
                    Diagnostic::error(format!("variable `{name}` is declared twice"))
                        .with_span(sf.file.span_opt(b.span()))
                        .with_detail("declared again here")
                        .with_help(format!(
                            "the first declaration is in {}",
                            files[*pf].file.path.display()
                        )),
                );
                continue;
            }
            declared.insert(name.clone(), (fi, b.span().unwrap_or(0..0)));
            scope.vars.insert(name.clone(), Value::Null);
            if given.contains_key(&name) {
                used.insert(name.clone());
            }
            scope.failed.insert(name.clone());
            if let Some((value, sensitive)) = variable(sf, b, &name, given.get(&name), diags) {
                scope.failed.remove(&name);
                if sensitive {
                    scope.sensitive.insert(name.clone());
                }
                resolved.push(VariableValue {
                    name: format!("{prefix}{name}"),
                    value: value.clone(),
                    sensitive,
                });
                scope.vars.insert(name, value);
            }
        }
    }
    // Validation sees every variable.
    for sf in files {
        for b in sf
            .body
            .blocks()
            .filter(|b| b.ident.value().as_str() == "variable")
        {
            let Some(name) = b.labels.first().map(|l| l.as_str().to_string()) else {
                continue;
            };
            if resolved.iter().any(|v| v.name == format!("{prefix}{name}")) {
                validate(sf, b, &name, scope, diags);
            }
        }
    }
    locals(files, scope, diags);
    resolved
}

fn single_label(file: &SourceFile, b: &Block, diags: &mut Diagnostics) -> Option<String> {
    match b.labels.len() {
        1 => Some(b.labels[0].as_str().to_string()),
        n => {
            let what = b.ident.value().to_string();
            diags.push(
                Diagnostic::error(format!(
                    "{} label on `{what}` block",
                    if n == 0 { "missing" } else { "extra" }
                ))
                .with_span(file.span_opt(b.ident.span()))
                .with_detail(format!("expected one name, found {n}"))
                .with_help(format!("write `{what} \"name\" {{ ... }}`")),
            );
            None
        }
    }
}

/// What a `variable` block declares.
struct Declaration {
    ty: TypeConstraint,
    /// The default, if any.
    default: Option<Value>,
    sensitive: bool,
}

fn variable(
    sf: &ScopeFile<'_>,
    b: &Block,
    name: &str,
    given: Option<&GivenValue>,
    diags: &mut Diagnostics,
) -> Option<(Value, bool)> {
    let label_range = b.labels.first().and_then(label_span).or_else(|| b.ident.span());
    let decl = declaration(sf, b, diags)?;
    let (value, from) = match (given, decl.default) {
        (Some(g), _) => {
            let v = match &g.value {
                RawValue::Value(v) => v.clone(),
                RawValue::Text(t) if decl.ty.takes_raw_string() || decl.ty.is_primitive() => {
                    Value::String(t.clone())
                }
                RawValue::Text(t) => match parse_text_value(t) {
                    Ok(v) => v,
                    Err(msg) => {
                        diags.push(
                            Diagnostic::error(format!(
                                "invalid value for variable `{name}` from {}",
                                g.origin.describe()
                            ))
                            .with_span(sf.file.span_opt(label_range.clone()))
                            .with_detail(msg),
                        );
                        return None;
                    }
                },
            };
            (v, format!("the value from {}", g.origin.describe()))
        }
        (None, Some(v)) => (v, "the default".to_string()),
        (None, None) => {
            diags.push(
                Diagnostic::error(format!("no value for required variable `{name}`"))
                    .with_span(sf.file.span_opt(label_range.clone()))
                    .with_detail("declared without a default")
                    .with_help(format!(
                        "pass -var {name}=..., set DEPLOY_VAR_{name}, or add `default = ...`"
                    )),
            );
            return None;
        }
    };
    match decl.ty.convert(value) {
        Ok(v) => Some((v, decl.sensitive)),
        Err(msg) => {
            diags.push(
                Diagnostic::error(format!("invalid value for variable `{name}`"))
                    .with_span(sf.file.span_opt(label_range))
                    .with_detail(format!("{from}: {msg}")),
            );
            None
        }
    }
}

/// Reads a `variable` block's type, default and sensitivity; `None` once any of it is wrong
/// (every problem reported).
fn declaration(sf: &ScopeFile<'_>, b: &Block, diags: &mut Diagnostics) -> Option<Declaration> {
    let scope = Scope {
        base_dir: sf.file.path.parent().map(|p| p.to_path_buf()).unwrap_or_default(),
        ..Scope::default()
    };
    let mut ev = Eval::new(&scope, sf.file);
    let mut decl = Declaration {
        ty: TypeConstraint::Any,
        default: None,
        sensitive: false,
    };
    let mut ok = true;
    for s in b.body.iter() {
        let Structure::Attribute(a) = s else {
            let Structure::Block(inner) = s else { continue };
            if inner.ident.value().as_str() != "validation" {
                diags.push(unknown(
                    sf.file,
                    inner.ident.value(),
                    inner.ident.span(),
                    &["validation"],
                    "block",
                ));
                ok = false;
            }
            continue;
        };
        match a.key.value().as_str() {
            "type" => match TypeConstraint::parse(&a.value) {
                Ok(t) => decl.ty = t,
                Err(msg) => {
                    diags.push(
                        Diagnostic::error("invalid type")
                            .with_span(sf.file.span_opt(a.value.span()))
                            .with_detail(msg),
                    );
                    ok = false;
                }
            },
            "default" => match ev.eval(&a.value) {
                Ok(v) => decl.default = Some(v),
                Err(d) => {
                    diags.push(d);
                    ok = false;
                }
            },
            "sensitive" => decl.sensitive = ev.eval(&a.value).ok().and_then(|v| as_bool(&v)).unwrap_or(false),
            "description" | "nullable" => {}
            other => {
                diags.push(unknown(sf.file, other, a.key.span(), VARIABLE_ATTRS, "attribute"));
                ok = false;
            }
        }
    }
    ok.then_some(decl)
}

/// A `-var` or environment text for a non-string variable: an HCL expression.
fn parse_text_value(text: &str) -> Result<Value, String> {
    let expr =
        hcl::edit::parser::parse_expr(text).map_err(|e| format!("not a valid HCL value: {}", e.message()))?;
    let file = SourceFile::new(std::path::Path::new("<value>"), text);
    let scope = Scope::default();
    Eval::new(&scope, &file).eval(&expr).map_err(|d| d.summary)
}

fn unknown(
    file: &SourceFile,
    name: &str,
    range: Option<std::ops::Range<usize>>,
    known: &[&str],
    what: &str,
) -> Diagnostic {
    let mut d = Diagnostic::error(format!("unknown {what} `{name}`"))
        .with_span(file.span_opt(range))
        .with_detail(format!("not a {what} of this block"));
    if let Some(s) = did_you_mean(name, known.iter().copied()) {
        d = d.with_help(format!("did you mean `{s}`?"));
    }
    d
}

fn validate(sf: &ScopeFile<'_>, b: &Block, name: &str, scope: &Scope, diags: &mut Diagnostics) {
    for v in b
        .body
        .blocks()
        .filter(|x| x.ident.value().as_str() == "validation")
    {
        let (Some(cond), msg) = (
            v.body.get_attribute("condition"),
            v.body.get_attribute("error_message"),
        ) else {
            diags.push(
                Diagnostic::error("validation without a condition")
                    .with_span(sf.file.span_opt(v.ident.span()))
                    .with_detail("`condition` is required"),
            );
            continue;
        };
        let mut ev = Eval::new(scope, sf.file);
        let message = msg
            .and_then(|m| ev.eval(&m.value).ok())
            .and_then(|m| stringify(&m))
            .unwrap_or_else(|| format!("invalid value for variable `{name}`"));
        match ev.eval(&cond.value) {
            Ok(r) if as_bool(&r) == Some(true) => {}
            Ok(r) if as_bool(&r) == Some(false) => diags.push(
                Diagnostic::error(format!("invalid value for variable `{name}`"))
                    .with_span(sf.file.span_opt(cond.value.span()))
                    .with_detail(message)
                    .with_help("this validation condition is false for the given value"),
            ),
            Ok(r) => diags.push(
                Diagnostic::error("validation condition is not a bool")
                    .with_span(sf.file.span_opt(cond.value.span()))
                    .with_detail(format!("found {}", super::eval::type_name(&r))),
            ),
            Err(d) => diags.push(d),
        }
    }
}

fn locals(files: &[ScopeFile<'_>], scope: &mut Scope, diags: &mut Diagnostics) {
    let mut pending: Vec<(&SourceFile, String, &Expression)> = Vec::new();
    for sf in files {
        for b in sf.body.blocks().filter(|b| b.ident.value().as_str() == "locals") {
            for a in b.body.attributes() {
                pending.push((sf.file, a.key.value().to_string(), &a.value));
            }
        }
    }
    loop {
        let mut progress = false;
        let mut still = Vec::new();
        let mut last_errors = Vec::new();
        for (file, name, expr) in pending {
            let mut ev = Eval::new(scope, file);
            let r = ev.eval(expr);
            let volatile = std::mem::take(&mut ev.volatile);
            match r {
                Ok(v) => {
                    if !volatile.is_empty() {
                        scope.volatile_locals.insert(name.clone(), volatile);
                    }
                    scope.locals.insert(name, v);
                    progress = true;
                }
                Err(d) => {
                    last_errors.push(d);
                    still.push((file, name, expr));
                }
            }
        }
        pending = still;
        if pending.is_empty() {
            return;
        }
        if !progress {
            for d in last_errors {
                diags.push(d);
            }
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frontend::inputs::Origin;

    fn run(src: &str, given: &[(&str, RawValue)]) -> (Scope, Diagnostics) {
        let file = SourceFile::new(std::path::Path::new("t.hcl"), src);
        let body = file.parse().expect("parses");
        let files = [ScopeFile {
            file: &file,
            body: &body,
        }];
        let given: BTreeMap<String, GivenValue> = given
            .iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    GivenValue {
                        value: v.clone(),
                        origin: Origin::Flag,
                    },
                )
            })
            .collect();
        let mut scope = Scope::default();
        let mut diags = Diagnostics::new();
        resolve(&files, &given, &mut BTreeSet::new(), &mut scope, "", &mut diags);
        (scope, diags)
    }

    #[test]
    fn given_value_beats_default_and_is_typed() {
        let (scope, diags) = run(
            "variable \"n\" {\n type = number\n default = 1\n}\n",
            &[("n", RawValue::Text("5".into()))],
        );
        assert!(!diags.has_errors());
        assert_eq!(scope.vars["n"], Value::from(5));
    }

    #[test]
    fn missing_value_is_an_error() {
        let (_, diags) = run("variable \"n\" {}\n", &[]);
        assert!(diags.has_errors());
    }

    #[test]
    fn locals_in_any_order() {
        let (scope, diags) = run(
            "locals {\n b = \"${local.a}-x\"\n a = var.v\n}\nvariable \"v\" { default = \"q\" }\n",
            &[],
        );
        assert!(!diags.has_errors(), "{diags}");
        assert_eq!(scope.locals["b"], Value::from("q-x"));
    }

    #[test]
    fn validation_failure_reports_message() {
        let src = "variable \"p\" {\n type = number\n default = 70000\n validation {\n condition = var.p < 65536\n error_message = \"port too big\"\n }\n}\n";
        let (_, diags) = run(src, &[]);
        assert!(diags.iter().any(|d| d.detail.as_deref() == Some("port too big")));
    }
}
