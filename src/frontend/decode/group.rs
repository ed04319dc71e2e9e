//! The `group` block's post hooks: a group-level `vault` inherited by its tasks, and a group's
//! `scaling` always horizontal. Its schema is `schemas::GROUP`.

use hcl::edit::Span;
use hcl::edit::structure::Block;
use serde_json::{Map, Value};

use super::schema::Decoder;

/// A group-level `vault` applies to every task of the group without its own.
pub(super) fn post_group(_d: &mut Decoder<'_, '_>, _b: &Block, out: &mut Map<String, Value>) {
    if let Some(v) = out.remove("__vault") {
        inherit_vault(out, &v);
    }
}

/// Sets `Vault` on every task of a group object that has none.
pub fn inherit_vault(group: &mut Map<String, Value>, vault: &Value) {
    if let Some(Value::Array(tasks)) = group.get_mut("Tasks") {
        for t in tasks.iter_mut().filter_map(Value::as_object_mut) {
            t.entry("Vault").or_insert_with(|| vault.clone());
        }
    }
}

/// A group scales horizontally: its `scaling` type defaults to, and must be, `horizontal`.
pub(super) fn post_group_scaling(d: &mut Decoder<'_, '_>, b: &Block, out: &mut Map<String, Value>) {
    match out.get("Type").and_then(Value::as_str) {
        None => {
            out.insert("Type".into(), Value::String("horizontal".into()));
        }
        Some("horizontal") => {}
        Some(other) => {
            let range = b.body.get_attribute("type").and_then(|a| a.value.span());
            d.error_at(
                range,
                format!("invalid scaling type `{other}` for a group"),
                "a group scales horizontally",
            )
            .help = Some("use `type = \"horizontal\"` or leave it out".into());
        }
    }
}
