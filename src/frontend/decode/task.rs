//! `task` and its blocks: resources, template, artifact, logs, lifecycle, vault, identity,
//! volume_mount, dispatch_payload, scaling, consul, action, and the free-form driver `config`.

use hcl::edit::Span;
use hcl::edit::structure::Block;
use serde_json::{Map, Value};

use super::network::NETWORK;
use super::placement::{AFFINITY, CONSTRAINT};
use super::policy::RESTART;
use super::schema::{Attr, BlockRule, BodyKind, Decoder, Kind, Label, Schema, Shape};
use super::service::SERVICE;

const fn one(hcl: &'static str, json: &'static str, s: &'static Schema) -> BlockRule {
    BlockRule {
        hcl,
        json,
        shape: Shape::One,
        label: Label::None,
        body: BodyKind::Schema(s),
    }
}

const fn list(hcl: &'static str, json: &'static str, s: &'static Schema) -> BlockRule {
    BlockRule {
        hcl,
        json,
        shape: Shape::List,
        label: Label::None,
        body: BodyKind::Schema(s),
    }
}

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
        BlockRule {
            hcl: "config",
            json: "Config",
            shape: Shape::One,
            label: Label::None,
            body: BodyKind::FreeForm,
        },
        BlockRule {
            hcl: "env",
            json: "Env",
            shape: Shape::One,
            label: Label::None,
            body: BodyKind::StrMap,
        },
        BlockRule {
            hcl: "meta",
            json: "Meta",
            shape: Shape::One,
            label: Label::None,
            body: BodyKind::StrMap,
        },
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
        BlockRule {
            hcl: "action",
            json: "Actions",
            shape: Shape::List,
            label: Label::Required("Name"),
            body: BodyKind::Schema(&ACTION),
        },
        BlockRule {
            hcl: "scaling",
            json: "ScalingPolicies",
            shape: Shape::List,
            label: Label::Required("__label"),
            body: BodyKind::Schema(&super::group::SCALING),
        },
        one("consul", "Consul", &super::group::CONSUL),
        BlockRule {
            hcl: "csi_plugin",
            json: "CSIPluginConfig",
            shape: Shape::One,
            label: Label::None,
            body: BodyKind::FreeForm,
        },
        BlockRule {
            hcl: "secret",
            json: "Secrets",
            shape: Shape::List,
            label: Label::Required("Name"),
            body: BodyKind::Schema(&SECRET),
        },
        BlockRule {
            hcl: "schedule",
            json: "Schedule",
            shape: Shape::One,
            label: Label::None,
            body: BodyKind::FreeForm,
        },
    ],
    post: Some(post_task),
};

fn post_task(d: &mut Decoder<'_, '_>, b: &Block, out: &mut Map<String, Value>) {
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
                    let range = block.and_then(|x| x.labels.first()).and_then(|l| match l {
                        hcl::edit::structure::BlockLabel::String(s) => s.span(),
                        hcl::edit::structure::BlockLabel::Ident(s) => s.span(),
                    });
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
        BlockRule {
            hcl: "device",
            json: "Devices",
            shape: Shape::List,
            label: Label::Required("Name"),
            body: BodyKind::Schema(&DEVICE),
        },
        list("network", "Networks", &NETWORK),
        BlockRule {
            hcl: "numa",
            json: "NUMA",
            shape: Shape::One,
            label: Label::None,
            body: BodyKind::FreeForm,
        },
    ],
    post: None,
};

static DEVICE: Schema = Schema {
    name: "device",
    attrs: &[Attr("count", "Count", Kind::Int)],
    blocks: &[
        list("constraint", "Constraints", &CONSTRAINT),
        list("affinity", "Affinities", &AFFINITY),
    ],
    post: None,
};

static LOGS: Schema = Schema {
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

fn post_logs(_d: &mut Decoder<'_, '_>, _b: &Block, out: &mut Map<String, Value>) {
    if let Some(Value::Bool(enabled)) = out.remove("__enabled") {
        out.entry("Disabled").or_insert(Value::Bool(!enabled));
    }
}

static ARTIFACT: Schema = Schema {
    name: "artifact",
    attrs: &[
        Attr("source", "GetterSource", Kind::Str),
        Attr("destination", "RelativeDest", Kind::Str),
        Attr("mode", "GetterMode", Kind::Str),
        Attr("chown", "Chown", Kind::Bool),
    ],
    blocks: &[
        BlockRule {
            hcl: "options",
            json: "GetterOptions",
            shape: Shape::One,
            label: Label::None,
            body: BodyKind::StrMap,
        },
        BlockRule {
            hcl: "headers",
            json: "GetterHeaders",
            shape: Shape::One,
            label: Label::None,
            body: BodyKind::StrMap,
        },
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

static TEMPLATE: Schema = Schema {
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

static WAIT: Schema = Schema {
    name: "wait",
    attrs: &[Attr("min", "Min", Kind::Dur), Attr("max", "Max", Kind::Dur)],
    blocks: &[],
    post: None,
};

static CHANGE_SCRIPT: Schema = Schema {
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

static DISPATCH_PAYLOAD: Schema = Schema {
    name: "dispatch_payload",
    attrs: &[Attr("file", "File", Kind::Str)],
    blocks: &[],
    post: None,
};

static VOLUME_MOUNT: Schema = Schema {
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

static LIFECYCLE: Schema = Schema {
    name: "lifecycle",
    attrs: &[
        Attr("hook", "Hook", Kind::Str),
        Attr("sidecar", "Sidecar", Kind::Bool),
    ],
    blocks: &[],
    post: None,
};

static IDENTITY: Schema = Schema {
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

static SECRET: Schema = Schema {
    name: "secret",
    attrs: &[
        Attr("provider", "Provider", Kind::Str),
        Attr("path", "Path", Kind::Str),
    ],
    blocks: &[
        BlockRule {
            hcl: "config",
            json: "Config",
            shape: Shape::One,
            label: Label::None,
            body: BodyKind::FreeForm,
        },
        BlockRule {
            hcl: "env",
            json: "Env",
            shape: Shape::One,
            label: Label::None,
            body: BodyKind::StrMap,
        },
    ],
    post: None,
};

static ACTION: Schema = Schema {
    name: "action",
    attrs: &[
        Attr("command", "Command", Kind::Str),
        Attr("args", "Args", Kind::StrList),
    ],
    blocks: &[],
    post: None,
};
