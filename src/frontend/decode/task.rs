//! The `task` block's post hooks: `identity` blocks split into the default identity and named
//! ones, `scaling "cpu"`/`"mem"` checked against their type, and `logs { enabled }` as Nomad's
//! `Disabled`. Its schema is `schemas::TASK`.

use hcl::edit::Span;
use hcl::edit::structure::Block;
use serde_json::{Map, Value};

use super::schema::Decoder;
use crate::frontend::unit::label_span;

/// Splits identities, and checks and types each task scaling policy by its label.
pub(super) fn post_task(d: &mut Decoder<'_, '_>, b: &Block, out: &mut Map<String, Value>) {
    if let Some(Value::Array(ids)) = out.remove("__identities") {
        let mut extra = Vec::new();
        for id in ids {
            let named = id
                .get("Name")
                .and_then(Value::as_str)
                .is_some_and(|n| !n.is_empty() && n != "default");
            if named || out.contains_key("Identity") {
                extra.push(id);
            } else {
                out.insert("Identity".into(), id);
            }
        }
        if !extra.is_empty() {
            out.insert("Identities".into(), Value::Array(extra));
        }
    }
    let scaling_blocks: Vec<&Block> = b
        .body
        .blocks()
        .filter(|x| x.ident.value().as_str() == "scaling")
        .collect();
    if let Some(Value::Array(policies)) = out.get_mut("ScalingPolicies") {
        for (i, p) in policies.iter_mut().enumerate() {
            let Value::Object(m) = p else { continue };
            let label = m
                .remove("__label")
                .and_then(|l| l.as_str().map(str::to_string))
                .unwrap_or_default();
            let block = scaling_blocks.get(i).copied();
            let kind = match label.as_str() {
                "cpu" => "vertical_cpu",
                "mem" => "vertical_mem",
                other => {
                    let range = block.and_then(|x| x.labels.first()).and_then(label_span);
                    d.error_at(
                        range,
                        format!("invalid task scaling resource `{other}`"),
                        "a task scales `cpu` or `mem`",
                    )
                    .help = Some("write `scaling \"cpu\" { ... }` or `scaling \"mem\" { ... }`".into());
                    continue;
                }
            };
            match m.get("Type").and_then(Value::as_str) {
                None => {
                    m.insert("Type".into(), Value::String(kind.to_string()));
                }
                Some(t) if t == kind => {}
                Some(t) => {
                    let range = block
                        .and_then(|x| x.body.get_attribute("type"))
                        .and_then(|a| a.value.span());
                    d.error_at(
                        range,
                        format!("scaling type `{t}` does not match `scaling \"{label}\"`"),
                        format!("expected `{kind}`"),
                    );
                }
            }
        }
    }
}

/// `logs { enabled = false }` is Nomad's `Disabled = true`.
pub(super) fn post_logs(_d: &mut Decoder<'_, '_>, _b: &Block, out: &mut Map<String, Value>) {
    if let Some(Value::Bool(enabled)) = out.remove("__enabled") {
        out.entry("Disabled").or_insert(Value::Bool(!enabled));
    }
}
