//! The stack-level blocks: `stack` (settings), `dependency`, `output`, and `depends_on` targets.

use std::path::PathBuf;

use hcl::edit::Span;
use hcl::edit::expr::{Expression, TraversalOperator};
use hcl::edit::structure::{Block, Structure};
use serde_json::Value;

use super::eval::{Eval, as_bool, stringify};
use super::suggest::did_you_mean;
use super::unit::label_span;
use crate::diag::{Diagnostic, SourceSpan};
use crate::spec::Duration;
use crate::stack::{BackendKind, Gate, Output, StackSettings};

fn unknown(
    ev: &Eval<'_>,
    name: &str,
    range: Option<std::ops::Range<usize>>,
    block: &str,
    known: &[&str],
) -> Diagnostic {
    let mut d = Diagnostic::error(format!("unknown attribute or block `{name}` in `{block}`"))
        .with_span(ev.file.span_opt(range))
        .with_detail(format!("`{block}` has no `{name}`"));
    if let Some(s) = did_you_mean(name, known.iter().copied()) {
        d = d.with_help(format!("did you mean `{s}`?"));
    }
    d
}

fn string(ev: &mut Eval<'_>, e: &Expression, diags: &mut Vec<Diagnostic>) -> Option<String> {
    match ev.eval(e) {
        Ok(v) => match stringify(&v) {
            Some(s) => Some(s),
            None => {
                diags.push(
                    Diagnostic::error("invalid value")
                        .with_span(ev.span_of(e))
                        .with_detail(format!("expected a string, found {}", super::eval::type_name(&v))),
                );
                None
            }
        },
        Err(d) => {
            diags.push(d);
            None
        }
    }
}

/// Reads a duration attribute.
pub fn duration(ev: &mut Eval<'_>, e: &Expression, diags: &mut Vec<Diagnostic>) -> Option<Duration> {
    let s = string(ev, e, diags)?;
    match Duration::parse(&s) {
        Ok(d) => Some(d),
        Err(err) => {
            diags.push(
                Diagnostic::error("invalid duration")
                    .with_span(ev.span_of(e))
                    .with_detail(err.to_string())
                    .with_help("write a Go duration such as \"30s\", \"5m\" or \"1h30m\""),
            );
            None
        }
    }
}

/// Reads a gate name.
pub fn gate(ev: &mut Eval<'_>, e: &Expression, diags: &mut Vec<Diagnostic>) -> Option<Gate> {
    let s = string(ev, e, diags)?;
    let names = ["healthy", "complete", "registered", "running"];
    match s.as_str() {
        "healthy" => Some(Gate::Healthy),
        "complete" => Some(Gate::Complete),
        "registered" => Some(Gate::Registered),
        "running" => Some(Gate::Running),
        other => {
            let mut d = Diagnostic::error(format!("unknown gate `{other}`"))
                .with_span(ev.span_of(e))
                .with_detail("not a gate");
            d = d.with_help(match did_you_mean(other, names) {
                Some(x) => format!("did you mean `{x}`? gates: healthy, complete, registered, running"),
                None => "gates: healthy, complete, registered, running".into(),
            });
            diags.push(d);
            None
        }
    }
}

/// Reads the `stack {}` block.
pub fn settings(ev: &mut Eval<'_>, b: &Block, s: &mut StackSettings, diags: &mut Vec<Diagnostic>) {
    const KNOWN: &[&str] = &["name", "age_recipients", "backend", "state", "apply"];
    for st in b.body.iter() {
        match st {
            Structure::Attribute(a) => match a.key.value().as_str() {
                "name" => s.name = string(ev, &a.value, diags).unwrap_or_default(),
                "age_recipients" => match ev.eval(&a.value) {
                    Ok(Value::Array(items)) => {
                        s.age_recipients = items.iter().filter_map(stringify).collect()
                    }
                    Ok(other) => diags.push(
                        Diagnostic::error("invalid value for `age_recipients`")
                            .with_span(ev.span_of(&a.value))
                            .with_detail(format!(
                                "expected a list of strings, found {}",
                                super::eval::type_name(&other)
                            )),
                    ),
                    Err(d) => diags.push(d),
                },
                other => diags.push(unknown(ev, other, a.key.span(), "stack", KNOWN)),
            },
            Structure::Block(inner) => match inner.ident.value().as_str() {
                "backend" => backend(ev, inner, s, diags),
                "state" => state(ev, inner, s, diags),
                "apply" => {
                    for a in inner.body.attributes() {
                        match a.key.value().as_str() {
                            "parallelism" => match ev.eval(&a.value).ok().and_then(|v| v.as_u64()) {
                                Some(n) if n > 0 => s.parallelism = Some(n as usize),
                                _ => diags.push(
                                    Diagnostic::error("invalid value for `parallelism`")
                                        .with_span(ev.span_of(&a.value))
                                        .with_detail("expected a positive whole number"),
                                ),
                            },
                            "atomic" => {
                                s.atomic = ev.eval(&a.value).ok().and_then(|v| as_bool(&v)).unwrap_or(false)
                            }
                            "timeout" => s.timeout = duration(ev, &a.value, diags),
                            other => diags.push(unknown(
                                ev,
                                other,
                                a.key.span(),
                                "apply",
                                &["parallelism", "atomic", "timeout"],
                            )),
                        }
                    }
                }
                other => diags.push(unknown(ev, other, inner.ident.span(), "stack", KNOWN)),
            },
        }
    }
}

/// The `state` block: `path`, `backend` (local, cluster or nomad), `prefix`, `lock_ttl`,
/// `lock_delay`.
fn state(ev: &mut Eval<'_>, b: &Block, s: &mut StackSettings, diags: &mut Vec<Diagnostic>) {
    const KNOWN: &[&str] = &["path", "backend", "prefix", "lock_ttl", "lock_delay"];
    for a in b.body.attributes() {
        match a.key.value().as_str() {
            "path" => s.state_dir = string(ev, &a.value, diags).map(PathBuf::from),
            "backend" => match string(ev, &a.value, diags).as_deref() {
                Some("local") => s.state.backend = crate::stack::StateBackendKind::Local,
                Some("cluster") => s.state.backend = crate::stack::StateBackendKind::Cluster,
                Some("nomad") => s.state.backend = crate::stack::StateBackendKind::Nomad,
                Some(other) => diags.push(
                    Diagnostic::error("invalid value for `backend`")
                        .with_span(ev.span_of(&a.value))
                        .with_detail(format!(
                            "state backend {other:?} is not known; use \"local\", \"cluster\" or \"nomad\""
                        )),
                ),
                None => {}
            },
            "prefix" => {
                if let Some(p) = string(ev, &a.value, diags) {
                    match crate::state::check_prefix(&p) {
                        Ok(()) => s.state.prefix = Some(p),
                        Err(detail) => diags.push(
                            Diagnostic::error("invalid value for `prefix`")
                                .with_span(ev.span_of(&a.value))
                                .with_detail(detail),
                        ),
                    }
                }
            }
            "lock_ttl" => s.state.lock_ttl = duration(ev, &a.value, diags),
            "lock_delay" => s.state.lock_delay = duration(ev, &a.value, diags),
            other => diags.push(unknown(ev, other, a.key.span(), "state", KNOWN)),
        }
    }
}

fn backend(ev: &mut Eval<'_>, b: &Block, s: &mut StackSettings, diags: &mut Vec<Diagnostic>) {
    let kind = b.labels.first().map(|l| l.as_str().to_string());
    s.backend.kind = match kind.as_deref() {
        Some("nomad") => BackendKind::Nomad,
        Some("builtin") => BackendKind::Builtin,
        other => {
            diags.push(
                Diagnostic::error(format!(
                    "unknown backend {}",
                    other
                        .map(|o| format!("`{o}`"))
                        .unwrap_or_else(|| "(no label)".into())
                ))
                .with_span(ev.file.span_opt(b.ident.span()))
                .with_detail("expected `backend \"nomad\"` or `backend \"builtin\"`"),
            );
            return;
        }
    };
    const KNOWN: &[&str] = &[
        "address",
        "token",
        "namespace",
        "region",
        "ca_file",
        "ca_path",
        "cert_file",
        "key_file",
        "tls_server_name",
        "skip_verify",
        "ca_cert",
        "client_cert",
        "client_key",
    ];
    for a in b.body.attributes() {
        let c = &mut s.backend.connection;
        let key = a.key.value().as_str();
        if key == "skip_verify" {
            c.skip_verify = ev.eval(&a.value).ok().and_then(|v| as_bool(&v));
            continue;
        }
        let value = string(ev, &a.value, diags);
        match key {
            "address" => c.address = value,
            "token" => c.token = value,
            "namespace" => c.namespace = value,
            "region" => c.region = value,
            // `ca_file`, `cert_file`, `key_file` as the agent's `tls {}` block names them; the
            // `NOMAD_*`-style names are kept as aliases.
            "ca_file" | "ca_cert" => c.ca_cert = value.map(PathBuf::from),
            "ca_path" => c.ca_path = value.map(PathBuf::from),
            "cert_file" | "client_cert" => c.client_cert = value.map(PathBuf::from),
            "key_file" | "client_key" => c.client_key = value.map(PathBuf::from),
            "tls_server_name" => c.tls_server_name = value,
            other => diags.push(unknown(ev, other, a.key.span(), "backend", KNOWN)),
        }
    }
}

/// A `depends_on` item, read syntactically.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// `job.ID` (relative to the current module).
    Job(String),
    /// `module.NAME`: every job of that module.
    Module(String),
    /// `module.NAME.job.ID`.
    ModuleJob(String, String),
}

/// Reads the items of a `depends_on = [...]` list.
pub fn depends_on(ev: &Eval<'_>, e: &Expression, diags: &mut Vec<Diagnostic>) -> Vec<(Target, SourceSpan)> {
    let Expression::Array(items) = e else {
        diags.push(
            Diagnostic::error("invalid `depends_on`")
                .with_span(ev.span_of(e))
                .with_detail("expected a list such as [job.db, module.data]"),
        );
        return vec![];
    };
    let mut out = Vec::new();
    for item in items.iter() {
        match target(item) {
            Some(t) => out.push((t, ev.span_of(item))),
            None => diags.push(
                Diagnostic::error("invalid `depends_on` item")
                    .with_span(ev.span_of(item))
                    .with_detail("expected job.ID, module.NAME or module.NAME.job.ID"),
            ),
        }
    }
    out
}

/// Parses a dependency label: `ID`, `job.ID` or `module.x.job.ID`.
pub fn label_target(label: &str) -> Target {
    let parts: Vec<&str> = label.split('.').collect();
    match parts[..] {
        ["job", id] => Target::Job(id.to_string()),
        ["module", m, "job", id] => Target::ModuleJob(m.to_string(), id.to_string()),
        _ => Target::Job(label.to_string()),
    }
}

fn target(e: &Expression) -> Option<Target> {
    let Expression::Traversal(t) = e else { return None };
    let Expression::Variable(root) = &t.expr else {
        return None;
    };
    let names: Option<Vec<String>> = t
        .operators
        .iter()
        .map(|op| match op.value() {
            TraversalOperator::GetAttr(i) => Some(i.value().to_string()),
            TraversalOperator::Index(Expression::String(s)) => Some(s.value().to_string()),
            _ => None,
        })
        .collect();
    let names = names?;
    match (root.value().as_str(), &names[..]) {
        ("job", [id]) => Some(Target::Job(id.clone())),
        ("module", [m]) => Some(Target::Module(m.clone())),
        ("module", [m, j, id]) if j == "job" => Some(Target::ModuleJob(m.clone(), id.clone())),
        _ => None,
    }
}

/// Reads an `output "name" {}` block.
pub fn output(ev: &mut Eval<'_>, b: &Block, prefix: &str, ds: &mut Vec<Diagnostic>) -> Option<Output> {
    let name = b.labels.first().map(|l| l.as_str().to_string());
    let span = ev
        .file
        .span_opt(b.labels.first().and_then(label_span).or_else(|| b.ident.span()));
    let Some(name) = name else {
        ds.push(
            Diagnostic::error("missing label on `output` block")
                .with_span(span)
                .with_detail("an output name is required"),
        );
        return None;
    };
    let mut value = None;
    let mut sensitive = false;
    let mut description = None;
    for a in b.body.attributes() {
        ev.tainted = false;
        match a.key.value().as_str() {
            "value" => match ev.eval(&a.value) {
                Ok(v) => {
                    sensitive |= ev.tainted;
                    value = Some(v);
                }
                Err(d) => ds.push(d),
            },
            "sensitive" => sensitive |= ev.eval(&a.value).ok().and_then(|v| as_bool(&v)).unwrap_or(false),
            "description" => description = ev.eval(&a.value).ok().and_then(|v| stringify(&v)),
            other => {
                let mut d = Diagnostic::error(format!("unknown attribute `{other}` in `output`"))
                    .with_span(ev.file.span_opt(a.key.span()))
                    .with_detail("not an output attribute");
                if let Some(s) = did_you_mean(other, ["value", "sensitive", "description"]) {
                    d = d.with_help(format!("did you mean `{s}`?"));
                }
                ds.push(d);
            }
        }
    }
    let Some(value) = value else {
        if !ds.iter().any(|d| d.is_error()) {
            ds.push(
                Diagnostic::error(format!("output `{name}` has no `value`"))
                    .with_span(span)
                    .with_detail("`value` is required"),
            );
        }
        return None;
    };
    Some(Output {
        name: format!("{prefix}{name}"),
        value,
        sensitive,
        description,
        span,
    })
}
