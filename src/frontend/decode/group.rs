//! `group` and its own blocks: volume, ephemeral_disk, scaling, consul.

use hcl::edit::Span;
use hcl::edit::structure::Block;
use serde_json::{Map, Value};

use super::network::NETWORK;
use super::placement::PLACEMENT_RULES;
use super::policy::{DISCONNECT, MIGRATE, RESCHEDULE, RESTART, UPDATE};
use super::schema::{Attr, BlockRule, BodyKind, Decoder, Kind, Label, Schema, Shape};
use super::service::SERVICE;
use super::task::TASK;

const fn one(hcl: &'static str, json: &'static str, s: &'static Schema) -> BlockRule {
    BlockRule {
        hcl,
        json,
        shape: Shape::One,
        label: Label::None,
        body: BodyKind::Schema(s),
    }
}

/// `group "name" {}`.
pub static GROUP: Schema = Schema {
    name: "group",
    attrs: &[
        Attr("count", "Count", Kind::Int),
        Attr("shutdown_delay", "ShutdownDelay", Kind::Dur),
        Attr(
            "stop_after_client_disconnect",
            "StopAfterClientDisconnect",
            Kind::Dur,
        ),
        Attr("max_client_disconnect", "MaxClientDisconnect", Kind::Dur),
        Attr(
            "prevent_reschedule_on_lost",
            "PreventRescheduleOnLost",
            Kind::Bool,
        ),
        Attr("max_run_duration", "MaxRunDuration", Kind::Dur),
    ],
    blocks: &[
        PLACEMENT_RULES[0],
        PLACEMENT_RULES[1],
        PLACEMENT_RULES[2],
        BlockRule {
            hcl: "task",
            json: "Tasks",
            shape: Shape::List,
            label: Label::Required("Name"),
            body: BodyKind::Schema(&TASK),
        },
        BlockRule {
            hcl: "network",
            json: "Networks",
            shape: Shape::List,
            label: Label::None,
            body: BodyKind::Schema(&NETWORK),
        },
        BlockRule {
            hcl: "service",
            json: "Services",
            shape: Shape::List,
            label: Label::None,
            body: BodyKind::Schema(&SERVICE),
        },
        BlockRule {
            hcl: "volume",
            json: "Volumes",
            shape: Shape::Map,
            label: Label::Required("Name"),
            body: BodyKind::Schema(&VOLUME),
        },
        BlockRule {
            hcl: "meta",
            json: "Meta",
            shape: Shape::One,
            label: Label::None,
            body: BodyKind::StrMap,
        },
        one("restart", "RestartPolicy", &RESTART),
        one("reschedule", "ReschedulePolicy", &RESCHEDULE),
        one("update", "Update", &UPDATE),
        one("migrate", "Migrate", &MIGRATE),
        one("disconnect", "Disconnect", &DISCONNECT),
        one("ephemeral_disk", "EphemeralDisk", &EPHEMERAL_DISK),
        one("scaling", "Scaling", &GROUP_SCALING),
        one("consul", "Consul", &CONSUL),
        one("vault", "__vault", &super::task::VAULT),
    ],
    post: Some(post_group),
};

/// A group-level `vault` applies to every task of the group without its own.
fn post_group(_d: &mut Decoder<'_, '_>, _b: &Block, out: &mut Map<String, Value>) {
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

static VOLUME: Schema = Schema {
    name: "volume",
    attrs: &[
        Attr("type", "Type", Kind::Str),
        Attr("source", "Source", Kind::Str),
        Attr("read_only", "ReadOnly", Kind::Bool),
        Attr("sticky", "Sticky", Kind::Bool),
        Attr("access_mode", "AccessMode", Kind::Str),
        Attr("attachment_mode", "AttachmentMode", Kind::Str),
        Attr("per_alloc", "PerAlloc", Kind::Bool),
    ],
    blocks: &[BlockRule {
        hcl: "mount_options",
        json: "MountOptions",
        shape: Shape::One,
        label: Label::None,
        body: BodyKind::FreeForm,
    }],
    post: None,
};

static EPHEMERAL_DISK: Schema = Schema {
    name: "ephemeral_disk",
    attrs: &[
        Attr("sticky", "Sticky", Kind::Bool),
        Attr("migrate", "Migrate", Kind::Bool),
        Attr("size", "SizeMB", Kind::Int),
    ],
    blocks: &[],
    post: None,
};

/// `scaling {}` (group) and `scaling "cpu" {}` (task).
pub static SCALING: Schema = Schema {
    name: "scaling",
    attrs: &[
        Attr("min", "Min", Kind::Int),
        Attr("max", "Max", Kind::Int),
        Attr("enabled", "Enabled", Kind::Bool),
        Attr("type", "Type", Kind::Str),
    ],
    blocks: &[BlockRule {
        hcl: "policy",
        json: "Policy",
        shape: Shape::One,
        label: Label::None,
        body: BodyKind::FreeForm,
    }],
    post: None,
};

static GROUP_SCALING: Schema = Schema {
    name: "scaling",
    attrs: SCALING.attrs,
    blocks: SCALING.blocks,
    post: Some(post_group_scaling),
};

fn post_group_scaling(d: &mut Decoder<'_, '_>, b: &Block, out: &mut Map<String, Value>) {
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

/// `consul {}` (group or task).
pub static CONSUL: Schema = Schema {
    name: "consul",
    attrs: &[
        Attr("cluster", "Cluster", Kind::Str),
        Attr("namespace", "Namespace", Kind::Str),
        Attr("partition", "Partition", Kind::Str),
    ],
    blocks: &[],
    post: None,
};
