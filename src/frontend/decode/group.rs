//! `group` and its own blocks: volume, ephemeral_disk, scaling, consul.

use super::network::NETWORK;
use super::placement::PLACEMENT_RULES;
use super::policy::{DISCONNECT, MIGRATE, RESCHEDULE, RESTART, UPDATE};
use super::schema::{Attr, BlockRule, BodyKind, Kind, Label, Schema, Shape};
use super::service::SERVICE;
use super::task::TASK;

const fn one(hcl: &'static str, json: &'static str, s: &'static Schema) -> BlockRule {
    BlockRule { hcl, json, shape: Shape::One, label: Label::None, body: BodyKind::Schema(s) }
}

/// `group "name" {}`.
pub static GROUP: Schema = Schema {
    name: "group",
    attrs: &[
        Attr("count", "Count", Kind::Int),
        Attr("shutdown_delay", "ShutdownDelay", Kind::Dur),
        Attr("stop_after_client_disconnect", "StopAfterClientDisconnect", Kind::Dur),
        Attr("max_client_disconnect", "MaxClientDisconnect", Kind::Dur),
        Attr("prevent_reschedule_on_lost", "PreventRescheduleOnLost", Kind::Bool),
    ],
    blocks: &[
        PLACEMENT_RULES[0],
        PLACEMENT_RULES[1],
        PLACEMENT_RULES[2],
        BlockRule { hcl: "task", json: "Tasks", shape: Shape::List, label: Label::Required("Name"), body: BodyKind::Schema(&TASK) },
        BlockRule { hcl: "network", json: "Networks", shape: Shape::List, label: Label::None, body: BodyKind::Schema(&NETWORK) },
        BlockRule { hcl: "service", json: "Services", shape: Shape::List, label: Label::None, body: BodyKind::Schema(&SERVICE) },
        BlockRule { hcl: "volume", json: "Volumes", shape: Shape::Map, label: Label::Required("Name"), body: BodyKind::Schema(&VOLUME) },
        BlockRule { hcl: "meta", json: "Meta", shape: Shape::One, label: Label::None, body: BodyKind::StrMap },
        one("restart", "RestartPolicy", &RESTART),
        one("reschedule", "ReschedulePolicy", &RESCHEDULE),
        one("update", "Update", &UPDATE),
        one("migrate", "Migrate", &MIGRATE),
        one("disconnect", "Disconnect", &DISCONNECT),
        one("ephemeral_disk", "EphemeralDisk", &EPHEMERAL_DISK),
        one("scaling", "Scaling", &SCALING),
        one("consul", "Consul", &CONSUL),
    ],
    post: None,
};

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
    blocks: &[BlockRule { hcl: "mount_options", json: "MountOptions", shape: Shape::One, label: Label::None, body: BodyKind::FreeForm }],
    post: None,
};

static EPHEMERAL_DISK: Schema = Schema {
    name: "ephemeral_disk",
    attrs: &[Attr("sticky", "Sticky", Kind::Bool), Attr("migrate", "Migrate", Kind::Bool), Attr("size", "SizeMB", Kind::Int)],
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
    blocks: &[BlockRule { hcl: "policy", json: "Policy", shape: Shape::One, label: Label::None, body: BodyKind::FreeForm }],
    post: None,
};

/// `consul {}` (group or task).
pub static CONSUL: Schema = Schema {
    name: "consul",
    attrs: &[Attr("cluster", "Cluster", Kind::Str), Attr("namespace", "Namespace", Kind::Str), Attr("partition", "Partition", Kind::Str)],
    blocks: &[],
    post: None,
};
