//! ACL policy rules in Nomad's rule language, from HCL or JSON text.
//!
//! ```text
//!  rules text ─► syntax tree (HCL with byte spans, or JSON) ─► [`Item`]s ─► [`Rules`]
//!                                         every problem says where: line:col (HCL) or a key path (JSON)
//! ```
//!
//! `namespace "glob" { policy, capabilities, variables { path "glob" { capabilities } } }`,
//! `host_volume "glob" { policy, capabilities }` and `node`, `agent`, `operator`, `quota`,
//! `plugin` blocks with a `policy`. A coarse `policy` expands into capabilities
//! (`capability::expand_namespace_policy`) unioned with the listed ones.

use std::collections::BTreeSet;

use hcl::edit::Span;
use hcl::edit::expr::Expression;
use hcl::edit::structure::{BlockLabel, Body, Structure};
use serde_json::Value;

use super::capability::{
    HOST_VOLUME_CAPABILITIES, Level, NAMESPACE_CAPABILITIES, VARIABLE_CAPABILITIES,
    expand_host_volume_policy, expand_namespace_policy, expand_variable_capabilities,
};

/// The compiled content of one policy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rules {
    /// `namespace "glob"` rules, in source order.
    pub namespaces: Vec<NamespaceRule>,
    /// `host_volume "glob"` rules.
    pub host_volumes: Vec<GlobRule>,
    /// `node { policy }`.
    pub node: Option<Level>,
    /// `agent { policy }`.
    pub agent: Option<Level>,
    /// `operator { policy }`.
    pub operator: Option<Level>,
    /// `quota { policy }`.
    pub quota: Option<Level>,
    /// `plugin { policy }` (`list` allowed).
    pub plugin: Option<Level>,
}

/// A rule for the names a glob matches: its capabilities, `policy` already expanded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GlobRule {
    /// The name or glob.
    pub name: String,
    /// Capabilities granted (or `deny`).
    pub capabilities: BTreeSet<String>,
}

/// A `namespace` rule with its variable path rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NamespaceRule {
    /// Namespace name or glob, and its capabilities.
    pub rule: GlobRule,
    /// `variables { path "glob" { capabilities } }`, with `read`/`write` implying `list`.
    pub variables: Vec<GlobRule>,
}

/// A problem in a policy's rules, and where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{at}: {message}")]
pub struct PolicyError {
    /// `line:col` in HCL text, the key path in JSON text.
    pub at: String,
    /// What is wrong and what is allowed instead.
    pub message: String,
}

/// One attribute or block of the rule text, whichever syntax it came from.
enum Item {
    Attr {
        key: String,
        value: Val,
        at: String,
    },
    Block {
        ident: String,
        labels: Vec<String>,
        body: Vec<Item>,
        at: String,
    },
}

enum Val {
    Str(String),
    List(Vec<String>),
    Other,
}

/// Parses and checks a policy's rules (HCL, or JSON when the text starts with `{`).
pub fn parse(text: &str) -> Result<Rules, PolicyError> {
    let items = if text.trim_start().starts_with('{') {
        from_json(text)?
    } else {
        from_hcl(text)?
    };
    compile(&items)
}

fn err(at: &str, message: impl Into<String>) -> PolicyError {
    PolicyError {
        at: at.to_owned(),
        message: message.into(),
    }
}

fn from_hcl(text: &str) -> Result<Vec<Item>, PolicyError> {
    let body = hcl::edit::parser::parse_body(text).map_err(|e| {
        let l = e.location();
        err(&format!("{}:{}", l.line(), l.column()), e.message().to_owned())
    })?;
    Ok(hcl_items(text, &body))
}

fn line_col(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    let offset = span.map_or(0, |r| r.start).min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!("{line}:{col}")
}

fn hcl_items(text: &str, body: &Body) -> Vec<Item> {
    body.iter()
        .map(|s| match s {
            Structure::Attribute(a) => Item::Attr {
                key: a.key.value().to_string(),
                value: hcl_value(&a.value),
                at: line_col(text, a.span()),
            },
            Structure::Block(b) => Item::Block {
                ident: b.ident.value().to_string(),
                labels: b
                    .labels
                    .iter()
                    .map(|l| match l {
                        BlockLabel::Ident(i) => i.value().to_string(),
                        BlockLabel::String(s) => s.value().to_string(),
                    })
                    .collect(),
                body: hcl_items(text, &b.body),
                at: line_col(text, b.span()),
            },
        })
        .collect()
}

fn hcl_value(e: &Expression) -> Val {
    match e {
        Expression::String(s) => Val::Str(s.value().to_string()),
        Expression::Array(a) => {
            let items: Option<Vec<String>> = a
                .iter()
                .map(|e| match e {
                    Expression::String(s) => Some(s.value().to_string()),
                    _ => None,
                })
                .collect();
            items.map_or(Val::Other, Val::List)
        }
        _ => Val::Other,
    }
}

fn from_json(text: &str) -> Result<Vec<Item>, PolicyError> {
    let v: Value = serde_json::from_str(text).map_err(|e| {
        err(
            &format!("{}:{}", e.line(), e.column()),
            format!("invalid JSON: {e}"),
        )
    })?;
    json_items(&v, "")
}

/// Blocks whose JSON form is an object keyed by their label.
const LABELLED: &[&str] = &["namespace", "host_volume", "path"];

fn json_items(v: &Value, at: &str) -> Result<Vec<Item>, PolicyError> {
    let Value::Object(map) = v else {
        return Err(err(at_or_top(at), "expected an object"));
    };
    let mut out = Vec::new();
    for (key, value) in map {
        let here = if at.is_empty() {
            key.clone()
        } else {
            format!("{at}.{key}")
        };
        // HCL1's JSON form allows a block written as a list of objects.
        let parts: Vec<&Value> = match value {
            Value::Array(a) if a.iter().all(Value::is_object) && !a.is_empty() => a.iter().collect(),
            other => vec![other],
        };
        for part in parts {
            match part {
                Value::Object(labelled) if LABELLED.contains(&key.as_str()) => {
                    for (label, body) in labelled {
                        let inner = format!("{here}.{label}");
                        out.push(Item::Block {
                            ident: key.clone(),
                            labels: vec![label.clone()],
                            body: json_items(body, &inner)?,
                            at: inner,
                        });
                    }
                }
                Value::Object(_) => out.push(Item::Block {
                    ident: key.clone(),
                    labels: Vec::new(),
                    body: json_items(part, &here)?,
                    at: here.clone(),
                }),
                other => out.push(Item::Attr {
                    key: key.clone(),
                    value: json_value(other),
                    at: here.clone(),
                }),
            }
        }
    }
    Ok(out)
}

fn at_or_top(at: &str) -> &str {
    if at.is_empty() { "top level" } else { at }
}

fn json_value(v: &Value) -> Val {
    match v {
        Value::String(s) => Val::Str(s.clone()),
        Value::Array(a) => a
            .iter()
            .map(|x| x.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .map_or(Val::Other, Val::List),
        _ => Val::Other,
    }
}

fn compile(items: &[Item]) -> Result<Rules, PolicyError> {
    let mut rules = Rules::default();
    for item in items {
        let (ident, labels, body, at) = match item {
            Item::Block {
                ident,
                labels,
                body,
                at,
            } => (ident, labels, body, at),
            Item::Attr { key, at, .. } => {
                return Err(err(
                    at,
                    format!(
                        "unexpected attribute `{key}`: a policy holds namespace, host_volume, node, agent, operator, quota and plugin blocks"
                    ),
                ));
            }
        };
        match ident.as_str() {
            "namespace" => rules
                .namespaces
                .push(namespace_rule(one_label(ident, labels, at)?, body, at)?),
            "host_volume" => {
                let name = one_label(ident, labels, at)?;
                let rule = glob_rule(
                    name,
                    body,
                    at,
                    HOST_VOLUME_CAPABILITIES,
                    expand_host_volume_policy,
                    &[],
                )?;
                rules.host_volumes.push(rule);
            }
            "node" | "agent" | "operator" | "quota" | "plugin" => {
                if !labels.is_empty() {
                    return Err(err(at, format!("`{ident}` takes no label")));
                }
                let level = Some(block_level(ident, body, at)?);
                let slot = match ident.as_str() {
                    "node" => &mut rules.node,
                    "agent" => &mut rules.agent,
                    "operator" => &mut rules.operator,
                    "quota" => &mut rules.quota,
                    _ => &mut rules.plugin,
                };
                *slot = Level::merge(*slot, level);
            }
            other => {
                return Err(err(
                    at,
                    format!(
                        "unknown block `{other}`: expected namespace, host_volume, node, agent, operator, quota or plugin"
                    ),
                ));
            }
        }
    }
    Ok(rules)
}

fn one_label<'a>(ident: &str, labels: &'a [String], at: &str) -> Result<&'a str, PolicyError> {
    match labels {
        [one] => Ok(one),
        _ => Err(err(
            at,
            format!("`{ident}` takes exactly one label, the name or glob it governs"),
        )),
    }
}

fn string_list(v: &Val, at: &str, allowed: &[&str]) -> Result<BTreeSet<String>, PolicyError> {
    let Val::List(list) = v else {
        return Err(err(at, "`capabilities` must be a list of strings"));
    };
    let mut out = BTreeSet::new();
    for cap in list {
        if !allowed.contains(&cap.as_str()) {
            return Err(err(
                at,
                format!("unknown capability {cap:?}; allowed: {}", allowed.join(", ")),
            ));
        }
        out.insert(cap.clone());
    }
    Ok(out)
}

type Expand = fn(&str) -> Option<Vec<&'static str>>;

/// A labelled rule's `policy` and `capabilities`; blocks named in `nested` are left to the caller.
fn glob_rule(
    name: &str,
    body: &[Item],
    at: &str,
    allowed: &[&str],
    expand: Expand,
    nested: &[&str],
) -> Result<GlobRule, PolicyError> {
    let mut rule = GlobRule {
        name: name.to_owned(),
        capabilities: BTreeSet::new(),
    };
    for item in body {
        match item {
            Item::Attr { key, value, at } if key == "policy" => {
                let Val::Str(p) = value else {
                    return Err(err(at, "`policy` must be a string"));
                };
                let caps = expand(p).ok_or_else(|| {
                    err(
                        at,
                        format!("unknown policy {p:?}; expected deny, read, write or scale"),
                    )
                })?;
                rule.capabilities.extend(caps.into_iter().map(str::to_owned));
            }
            Item::Attr { key, value, at } if key == "capabilities" => {
                rule.capabilities.extend(string_list(value, at, allowed)?);
            }
            Item::Block { ident, .. } if nested.contains(&ident.as_str()) => {}
            Item::Attr { key, at, .. } | Item::Block { ident: key, at, .. } => {
                return Err(err(
                    at,
                    format!("unexpected `{key}` in a rule for {name:?}: expected policy or capabilities"),
                ));
            }
        }
    }
    let _ = at;
    Ok(rule)
}

fn namespace_rule(name: &str, body: &[Item], at: &str) -> Result<NamespaceRule, PolicyError> {
    let rule = glob_rule(
        name,
        body,
        at,
        NAMESPACE_CAPABILITIES,
        expand_namespace_policy,
        &["variables"],
    )?;
    let mut variables = Vec::new();
    for item in body {
        let Item::Block {
            ident,
            body: vars,
            at,
            ..
        } = item
        else {
            continue;
        };
        if ident != "variables" {
            continue;
        }
        for path in vars {
            let Item::Block {
                ident,
                labels,
                body,
                at,
            } = path
            else {
                return Err(err(
                    at,
                    "`variables` holds only `path \"glob\" { capabilities = [...] }` blocks",
                ));
            };
            if ident != "path" {
                return Err(err(
                    at,
                    format!("unexpected `{ident}` in variables: expected path blocks"),
                ));
            }
            let glob = one_label(ident, labels, at)?;
            let mut r = glob_rule(glob, body, at, VARIABLE_CAPABILITIES, |_| None, &[])?;
            r.capabilities = expand_variable_capabilities(&r.capabilities);
            variables.push(r);
        }
        let _ = at;
    }
    Ok(NamespaceRule { rule, variables })
}

fn block_level(ident: &str, body: &[Item], at: &str) -> Result<Level, PolicyError> {
    let mut level = None;
    for item in body {
        match item {
            Item::Attr {
                key,
                value: Val::Str(p),
                at,
            } if key == "policy" => {
                let allow_list = ident == "plugin";
                level = Some(Level::parse(p, allow_list).ok_or_else(|| {
                    let allowed = if allow_list {
                        "deny, list, read or write"
                    } else {
                        "deny, read or write"
                    };
                    err(at, format!("unknown {ident} policy {p:?}; expected {allowed}"))
                })?);
            }
            Item::Attr { key, at, .. } | Item::Block { ident: key, at, .. } => {
                return Err(err(
                    at,
                    format!("unexpected `{key}` in `{ident}`: expected policy = \"...\""),
                ));
            }
        }
    }
    level.ok_or_else(|| err(at, format!("`{ident}` needs a policy")))
}
