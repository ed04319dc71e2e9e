//! `service`, `check`, `check_restart`; `connect` and service `identity` pass through as JSON.

use super::schema::{Attr, BlockRule, BodyKind, Kind, Label, Schema, Shape};

/// `service {}`.
pub static SERVICE: Schema = Schema {
    name: "service",
    attrs: &[
        Attr("name", "Name", Kind::Str),
        Attr("port", "PortLabel", Kind::Str),
        Attr("tags", "Tags", Kind::StrList),
        Attr("canary_tags", "CanaryTags", Kind::StrList),
        Attr("enable_tag_override", "EnableTagOverride", Kind::Bool),
        Attr("address_mode", "AddressMode", Kind::Str),
        Attr("address", "Address", Kind::Str),
        Attr("task", "TaskName", Kind::Str),
        Attr("on_update", "OnUpdate", Kind::Str),
        Attr("provider", "Provider", Kind::Str),
        Attr("cluster", "Cluster", Kind::Str),
        Attr("kind", "Kind", Kind::Str),
        Attr("tagged_addresses", "TaggedAddresses", Kind::StrMap),
    ],
    blocks: &[
        BlockRule {
            hcl: "check",
            json: "Checks",
            shape: Shape::List,
            label: Label::None,
            body: BodyKind::Schema(&CHECK),
        },
        BlockRule {
            hcl: "check_restart",
            json: "CheckRestart",
            shape: Shape::One,
            label: Label::None,
            body: BodyKind::Schema(&CHECK_RESTART),
        },
        BlockRule {
            hcl: "connect",
            json: "Connect",
            shape: Shape::One,
            label: Label::None,
            body: BodyKind::FreeForm,
        },
        BlockRule {
            hcl: "meta",
            json: "Meta",
            shape: Shape::One,
            label: Label::None,
            body: BodyKind::StrMap,
        },
        BlockRule {
            hcl: "canary_meta",
            json: "CanaryMeta",
            shape: Shape::One,
            label: Label::None,
            body: BodyKind::StrMap,
        },
        BlockRule {
            hcl: "tagged_addresses",
            json: "TaggedAddresses",
            shape: Shape::One,
            label: Label::None,
            body: BodyKind::StrMap,
        },
        BlockRule {
            hcl: "identity",
            json: "Identity",
            shape: Shape::One,
            label: Label::None,
            body: BodyKind::FreeForm,
        },
        BlockRule {
            hcl: "weights",
            json: "Weights",
            shape: Shape::One,
            label: Label::None,
            body: BodyKind::FreeForm,
        },
    ],
    post: None,
};

/// `check {}`.
pub static CHECK: Schema = Schema {
    name: "check",
    attrs: &[
        Attr("name", "Name", Kind::Str),
        Attr("type", "Type", Kind::Str),
        Attr("command", "Command", Kind::Str),
        Attr("args", "Args", Kind::StrList),
        Attr("path", "Path", Kind::Str),
        Attr("protocol", "Protocol", Kind::Str),
        Attr("port", "PortLabel", Kind::Str),
        Attr("expose", "Expose", Kind::Bool),
        Attr("address_mode", "AddressMode", Kind::Str),
        Attr("advertise", "Advertise", Kind::Str),
        Attr("interval", "Interval", Kind::Dur),
        Attr("timeout", "Timeout", Kind::Dur),
        Attr("initial_status", "InitialStatus", Kind::Str),
        Attr("notes", "Notes", Kind::Str),
        Attr("tls_server_name", "TLSServerName", Kind::Str),
        Attr("tls_skip_verify", "TLSSkipVerify", Kind::Bool),
        Attr("method", "Method", Kind::Str),
        Attr("grpc_service", "GRPCService", Kind::Str),
        Attr("grpc_use_tls", "GRPCUseTLS", Kind::Bool),
        Attr("task", "TaskName", Kind::Str),
        Attr("success_before_passing", "SuccessBeforePassing", Kind::Int),
        Attr("failures_before_critical", "FailuresBeforeCritical", Kind::Int),
        Attr("failures_before_warning", "FailuresBeforeWarning", Kind::Int),
        Attr("body", "Body", Kind::Str),
        Attr("on_update", "OnUpdate", Kind::Str),
    ],
    blocks: &[
        BlockRule {
            hcl: "check_restart",
            json: "CheckRestart",
            shape: Shape::One,
            label: Label::None,
            body: BodyKind::Schema(&CHECK_RESTART),
        },
        BlockRule {
            hcl: "header",
            json: "Header",
            shape: Shape::One,
            label: Label::None,
            body: BodyKind::StrListMap,
        },
    ],
    post: None,
};

/// `check_restart {}`.
pub static CHECK_RESTART: Schema = Schema {
    name: "check_restart",
    attrs: &[
        Attr("limit", "Limit", Kind::Int),
        Attr("grace", "Grace", Kind::Dur),
        Attr("ignore_warnings", "IgnoreWarnings", Kind::Bool),
    ],
    blocks: &[],
    post: None,
};
