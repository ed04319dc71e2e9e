//! The decode schema tables: for each block type of a jobspec (`job`, `group`, `task` and the
//! blocks nested in them), its attributes (HCL name → JSON field, kind), its nested blocks and
//! its post hook. Declarative, one place: the hooks live with their block's file (`job.rs`,
//! `group.rs`, `task.rs`), the walker in `schema.rs`.

use super::group::{post_group, post_group_scaling};
use super::job::post_job;
use super::network::NETWORK;
use super::placement::{AFFINITY, CONSTRAINT, PLACEMENT_RULES};
use super::policy::{DISCONNECT, MIGRATE, PARAMETERIZED, PERIODIC, RESCHEDULE, RESTART, UPDATE};
use super::schema::{Attr, BlockRule, BodyKind, Kind, Label, Schema, Shape};
use super::service::SERVICE;
use super::task::{post_logs, post_task};

/// A block read at most once, with a schema.
const fn one(hcl: &'static str, json: &'static str, s: &'static Schema) -> BlockRule {
    rule(hcl, json, Shape::One, Label::None, BodyKind::Schema(s))
}

/// A repeated unlabelled block, with a schema.
const fn list(hcl: &'static str, json: &'static str, s: &'static Schema) -> BlockRule {
    rule(hcl, json, Shape::List, Label::None, BodyKind::Schema(s))
}

/// A repeated block whose label is stored in the JSON field `label`.
const fn labelled(
    hcl: &'static str,
    json: &'static str,
    label: &'static str,
    s: &'static Schema,
) -> BlockRule {
    rule(
        hcl,
        json,
        Shape::List,
        Label::Required(label),
        BodyKind::Schema(s),
    )
}

/// A repeated block kept in a map under its label, which is also stored in `label`.
const fn keyed(hcl: &'static str, json: &'static str, label: &'static str, s: &'static Schema) -> BlockRule {
    rule(hcl, json, Shape::Map, Label::Required(label), BodyKind::Schema(s))
}

/// A block read at most once, kept as free-form JSON (driver config, ...).
const fn free_form(hcl: &'static str, json: &'static str) -> BlockRule {
    rule(hcl, json, Shape::One, Label::None, BodyKind::FreeForm)
}

/// A block read at most once whose attributes are all strings (meta, env).
const fn str_map(hcl: &'static str, json: &'static str) -> BlockRule {
    rule(hcl, json, Shape::One, Label::None, BodyKind::StrMap)
}

const fn rule(
    hcl: &'static str,
    json: &'static str,
    shape: Shape,
    label: Label,
    body: BodyKind,
) -> BlockRule {
    BlockRule {
        hcl,
        json,
        shape,
        label,
        body,
    }
}

/// `job "id" {}`.
pub static JOB: Schema = Schema {
    name: "job",
    attrs: &[
        Attr("name", "Name", Kind::Str),
        Attr("region", "Region", Kind::Str),
        Attr("namespace", "Namespace", Kind::Str),
        Attr("type", "Type", Kind::Str),
        Attr("priority", "Priority", Kind::Int),
        Attr("all_at_once", "AllAtOnce", Kind::Bool),
        Attr("datacenters", "Datacenters", Kind::StrList),
        Attr("node_pool", "NodePool", Kind::Str),
        Attr("vault_token", "VaultToken", Kind::Str),
        Attr("consul_token", "ConsulToken", Kind::Str),
        Attr("consul_namespace", "ConsulNamespace", Kind::Str),
        Attr("vault_namespace", "VaultNamespace", Kind::Str),
        Attr("id", "ID", Kind::Str),
    ],
    blocks: &[
        PLACEMENT_RULES[0],
        PLACEMENT_RULES[1],
        PLACEMENT_RULES[2],
        labelled("group", "TaskGroups", "Name", &GROUP),
        labelled("task", "__tasks", "Name", &TASK),
        str_map("meta", "Meta"),
        one("update", "Update", &UPDATE),
        one("periodic", "Periodic", &PERIODIC),
        one("parameterized", "ParameterizedJob", &PARAMETERIZED),
        one("reschedule", "Reschedule", &RESCHEDULE),
        one("migrate", "Migrate", &MIGRATE),
        one("ui", "UI", &UI),
        one("vault", "__vault", &VAULT),
        free_form("multiregion", "Multiregion"),
    ],
    post: Some(post_job),
};

pub static UI: Schema = Schema {
    name: "ui",
    attrs: &[Attr("description", "Description", Kind::Str)],
    blocks: &[list("link", "Links", &LINK)],
    post: None,
};

pub static LINK: Schema = Schema {
    name: "link",
    attrs: &[Attr("label", "Label", Kind::Str), Attr("url", "URL", Kind::Str)],
    blocks: &[],
    post: None,
};

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
        labelled("task", "Tasks", "Name", &TASK),
        list("network", "Networks", &NETWORK),
        list("service", "Services", &SERVICE),
        keyed("volume", "Volumes", "Name", &VOLUME),
        str_map("meta", "Meta"),
        one("restart", "RestartPolicy", &RESTART),
        one("reschedule", "ReschedulePolicy", &RESCHEDULE),
        one("update", "Update", &UPDATE),
        one("migrate", "Migrate", &MIGRATE),
        one("disconnect", "Disconnect", &DISCONNECT),
        one("ephemeral_disk", "EphemeralDisk", &EPHEMERAL_DISK),
        one("scaling", "Scaling", &GROUP_SCALING),
        one("consul", "Consul", &CONSUL),
        one("vault", "__vault", &VAULT),
    ],
    post: Some(post_group),
};

pub static VOLUME: Schema = Schema {
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
    blocks: &[free_form("mount_options", "MountOptions")],
    post: None,
};

pub static EPHEMERAL_DISK: Schema = Schema {
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
    blocks: &[free_form("policy", "Policy")],
    post: None,
};

pub static GROUP_SCALING: Schema = Schema {
    name: "scaling",
    attrs: SCALING.attrs,
    blocks: SCALING.blocks,
    post: Some(post_group_scaling),
};

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

/// `task "name" {}`.
pub static TASK: Schema = Schema {
    name: "task",
    attrs: &[
        Attr("driver", "Driver", Kind::Str),
        Attr("user", "User", Kind::Str),
        Attr("leader", "Leader", Kind::Bool),
        Attr("kill_timeout", "KillTimeout", Kind::Dur),
        Attr("kill_signal", "KillSignal", Kind::Str),
        Attr("shutdown_delay", "ShutdownDelay", Kind::Dur),
        Attr("kind", "Kind", Kind::Str),
    ],
    blocks: &[
        free_form("config", "Config"),
        str_map("env", "Env"),
        str_map("meta", "Meta"),
        list("constraint", "Constraints", &CONSTRAINT),
        list("affinity", "Affinities", &AFFINITY),
        list("service", "Services", &SERVICE),
        one("resources", "Resources", &RESOURCES),
        one("restart", "RestartPolicy", &RESTART),
        one("logs", "LogConfig", &LOGS),
        list("artifact", "Artifacts", &ARTIFACT),
        one("vault", "Vault", &VAULT),
        list("template", "Templates", &TEMPLATE),
        one("dispatch_payload", "DispatchPayload", &DISPATCH_PAYLOAD),
        list("volume_mount", "VolumeMounts", &VOLUME_MOUNT),
        one("lifecycle", "Lifecycle", &LIFECYCLE),
        list("identity", "__identities", &IDENTITY),
        labelled("action", "Actions", "Name", &ACTION),
        labelled("scaling", "ScalingPolicies", "__label", &SCALING),
        one("consul", "Consul", &CONSUL),
        free_form("csi_plugin", "CSIPluginConfig"),
        labelled("secret", "Secrets", "Name", &SECRET),
        free_form("schedule", "Schedule"),
    ],
    post: Some(post_task),
};

/// `resources {}`.
pub static RESOURCES: Schema = Schema {
    name: "resources",
    attrs: &[
        Attr("cpu", "CPU", Kind::Int),
        Attr("cores", "Cores", Kind::Int),
        Attr("memory", "MemoryMB", Kind::Int),
        Attr("memory_max", "MemoryMaxMB", Kind::Int),
        Attr("disk", "DiskMB", Kind::Int),
        Attr("iops", "IOPS", Kind::Int),
        Attr("secrets", "SecretsMB", Kind::Int),
    ],
    blocks: &[
        labelled("device", "Devices", "Name", &DEVICE),
        list("network", "Networks", &NETWORK),
        free_form("numa", "NUMA"),
    ],
    post: None,
};

pub static DEVICE: Schema = Schema {
    name: "device",
    attrs: &[Attr("count", "Count", Kind::Int)],
    blocks: &[
        list("constraint", "Constraints", &CONSTRAINT),
        list("affinity", "Affinities", &AFFINITY),
    ],
    post: None,
};

pub static LOGS: Schema = Schema {
    name: "logs",
    attrs: &[
        Attr("max_files", "MaxFiles", Kind::Int),
        Attr("max_file_size", "MaxFileSizeMB", Kind::Int),
        Attr("disabled", "Disabled", Kind::Bool),
        Attr("enabled", "__enabled", Kind::Bool),
    ],
    blocks: &[],
    post: Some(post_logs),
};

pub static ARTIFACT: Schema = Schema {
    name: "artifact",
    attrs: &[
        Attr("source", "GetterSource", Kind::Str),
        Attr("destination", "RelativeDest", Kind::Str),
        Attr("mode", "GetterMode", Kind::Str),
        Attr("chown", "Chown", Kind::Bool),
    ],
    blocks: &[
        str_map("options", "GetterOptions"),
        str_map("headers", "GetterHeaders"),
    ],
    post: None,
};

/// `vault {}` (task; job and group levels are inherited by tasks).
pub static VAULT: Schema = Schema {
    name: "vault",
    attrs: &[
        Attr("policies", "Policies", Kind::StrList),
        Attr("role", "Role", Kind::Str),
        Attr("namespace", "Namespace", Kind::Str),
        Attr("cluster", "Cluster", Kind::Str),
        Attr("env", "Env", Kind::Bool),
        Attr("disable_file", "DisableFile", Kind::Bool),
        Attr("change_mode", "ChangeMode", Kind::Str),
        Attr("change_signal", "ChangeSignal", Kind::Str),
        Attr("allow_token_expiration", "AllowTokenExpiration", Kind::Bool),
    ],
    blocks: &[],
    post: None,
};

pub static TEMPLATE: Schema = Schema {
    name: "template",
    attrs: &[
        Attr("source", "SourcePath", Kind::Str),
        Attr("destination", "DestPath", Kind::Str),
        Attr("data", "EmbeddedTmpl", Kind::Str),
        Attr("change_mode", "ChangeMode", Kind::Str),
        Attr("change_signal", "ChangeSignal", Kind::Str),
        Attr("splay", "Splay", Kind::Dur),
        Attr("perms", "Perms", Kind::Str),
        Attr("uid", "Uid", Kind::Int),
        Attr("gid", "Gid", Kind::Int),
        Attr("left_delimiter", "LeftDelim", Kind::Str),
        Attr("right_delimiter", "RightDelim", Kind::Str),
        Attr("env", "Envvars", Kind::Bool),
        Attr("vault_grace", "VaultGrace", Kind::Dur),
        Attr("error_on_missing_key", "ErrMissingKey", Kind::Bool),
        Attr("once", "Once", Kind::Bool),
    ],
    blocks: &[
        one("wait", "Wait", &WAIT),
        one("change_script", "ChangeScript", &CHANGE_SCRIPT),
    ],
    post: None,
};

pub static WAIT: Schema = Schema {
    name: "wait",
    attrs: &[Attr("min", "Min", Kind::Dur), Attr("max", "Max", Kind::Dur)],
    blocks: &[],
    post: None,
};

pub static CHANGE_SCRIPT: Schema = Schema {
    name: "change_script",
    attrs: &[
        Attr("command", "Command", Kind::Str),
        Attr("args", "Args", Kind::StrList),
        Attr("timeout", "Timeout", Kind::Dur),
        Attr("fail_on_error", "FailOnError", Kind::Bool),
    ],
    blocks: &[],
    post: None,
};

pub static DISPATCH_PAYLOAD: Schema = Schema {
    name: "dispatch_payload",
    attrs: &[Attr("file", "File", Kind::Str)],
    blocks: &[],
    post: None,
};

pub static VOLUME_MOUNT: Schema = Schema {
    name: "volume_mount",
    attrs: &[
        Attr("volume", "Volume", Kind::Str),
        Attr("destination", "Destination", Kind::Str),
        Attr("read_only", "ReadOnly", Kind::Bool),
        Attr("propagation_mode", "PropagationMode", Kind::Str),
        Attr("selinux_label", "SELinuxLabel", Kind::Str),
    ],
    blocks: &[],
    post: None,
};

pub static LIFECYCLE: Schema = Schema {
    name: "lifecycle",
    attrs: &[
        Attr("hook", "Hook", Kind::Str),
        Attr("sidecar", "Sidecar", Kind::Bool),
    ],
    blocks: &[],
    post: None,
};

pub static IDENTITY: Schema = Schema {
    name: "identity",
    attrs: &[
        Attr("name", "Name", Kind::Str),
        Attr("aud", "Audience", Kind::StrList),
        Attr("change_mode", "ChangeMode", Kind::Str),
        Attr("change_signal", "ChangeSignal", Kind::Str),
        Attr("env", "Env", Kind::Bool),
        Attr("file", "File", Kind::Bool),
        Attr("filepath", "Filepath", Kind::Str),
        Attr("ttl", "TTL", Kind::Dur),
    ],
    blocks: &[],
    post: None,
};

pub static SECRET: Schema = Schema {
    name: "secret",
    attrs: &[
        Attr("provider", "Provider", Kind::Str),
        Attr("path", "Path", Kind::Str),
    ],
    blocks: &[free_form("config", "Config"), str_map("env", "Env")],
    post: None,
};

pub static ACTION: Schema = Schema {
    name: "action",
    attrs: &[
        Attr("command", "Command", Kind::Str),
        Attr("args", "Args", Kind::StrList),
    ],
    blocks: &[],
    post: None,
};
