//! Lifecycle policy blocks: `restart`, `reschedule`, `update`, `migrate`, `disconnect`,
//! `periodic`, `parameterized`.

use hcl::edit::structure::Block;
use serde_json::{Map, Value};

use super::schema::{Attr, Decoder, Kind, Schema};

/// `restart {}`.
pub static RESTART: Schema = Schema {
    name: "restart",
    attrs: &[
        Attr("attempts", "Attempts", Kind::Int),
        Attr("interval", "Interval", Kind::Dur),
        Attr("delay", "Delay", Kind::Dur),
        Attr("mode", "Mode", Kind::Str),
        Attr("render_templates", "RenderTemplates", Kind::Bool),
    ],
    blocks: &[],
    post: None,
};

/// `reschedule {}`.
pub static RESCHEDULE: Schema = Schema {
    name: "reschedule",
    attrs: &[
        Attr("attempts", "Attempts", Kind::Int),
        Attr("interval", "Interval", Kind::Dur),
        Attr("delay", "Delay", Kind::Dur),
        Attr("delay_function", "DelayFunction", Kind::Str),
        Attr("max_delay", "MaxDelay", Kind::Dur),
        Attr("unlimited", "Unlimited", Kind::Bool),
    ],
    blocks: &[],
    post: None,
};

/// `update {}`.
pub static UPDATE: Schema = Schema {
    name: "update",
    attrs: &[
        Attr("stagger", "Stagger", Kind::Dur),
        Attr("max_parallel", "MaxParallel", Kind::Int),
        Attr("health_check", "HealthCheck", Kind::Str),
        Attr("min_healthy_time", "MinHealthyTime", Kind::Dur),
        Attr("healthy_deadline", "HealthyDeadline", Kind::Dur),
        Attr("progress_deadline", "ProgressDeadline", Kind::Dur),
        Attr("canary", "Canary", Kind::Int),
        Attr("auto_revert", "AutoRevert", Kind::Bool),
        Attr("auto_promote", "AutoPromote", Kind::Bool),
    ],
    blocks: &[],
    post: None,
};

/// `migrate {}`.
pub static MIGRATE: Schema = Schema {
    name: "migrate",
    attrs: &[
        Attr("max_parallel", "MaxParallel", Kind::Int),
        Attr("health_check", "HealthCheck", Kind::Str),
        Attr("min_healthy_time", "MinHealthyTime", Kind::Dur),
        Attr("healthy_deadline", "HealthyDeadline", Kind::Dur),
    ],
    blocks: &[],
    post: None,
};

/// `disconnect {}`.
pub static DISCONNECT: Schema = Schema {
    name: "disconnect",
    attrs: &[
        Attr("lost_after", "LostAfter", Kind::Dur),
        Attr("replace", "Replace", Kind::Bool),
        Attr("reconcile", "Reconcile", Kind::Str),
        Attr("stop_on_client_after", "StopOnClientAfter", Kind::Dur),
    ],
    blocks: &[],
    post: None,
};

/// `periodic {}`: `cron` (deprecated) or `crons`, or the older `spec`.
pub static PERIODIC: Schema = Schema {
    name: "periodic",
    attrs: &[
        Attr("cron", "Spec", Kind::Str),
        Attr("spec", "Spec", Kind::Str),
        Attr("crons", "Specs", Kind::StrList),
        Attr("prohibit_overlap", "ProhibitOverlap", Kind::Bool),
        Attr("time_zone", "TimeZone", Kind::Str),
        Attr("enabled", "Enabled", Kind::Bool),
    ],
    blocks: &[],
    post: Some(post_periodic),
};

fn post_periodic(_d: &mut Decoder<'_, '_>, _b: &Block, out: &mut Map<String, Value>) {
    out.insert("SpecType".into(), Value::String("cron".into()));
}

/// `parameterized {}`.
pub static PARAMETERIZED: Schema = Schema {
    name: "parameterized",
    attrs: &[
        Attr("payload", "Payload", Kind::Str),
        Attr("meta_required", "MetaRequired", Kind::StrList),
        Attr("meta_optional", "MetaOptional", Kind::StrList),
    ],
    blocks: &[],
    post: None,
};
