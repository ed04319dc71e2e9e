//! The `job` block: the root of a Nomad jobspec.

use hcl::edit::structure::Block;
use serde_json::{Map, Value};

use super::group::GROUP;
use super::placement::PLACEMENT_RULES;
use super::policy::{MIGRATE, PARAMETERIZED, PERIODIC, RESCHEDULE, UPDATE};
use super::schema::{Attr, BlockRule, BodyKind, Decoder, Kind, Label, Schema, Shape};

const fn one(hcl: &'static str, json: &'static str, s: &'static Schema) -> BlockRule {
    BlockRule {
        hcl,
        json,
        shape: Shape::One,
        label: Label::None,
        body: BodyKind::Schema(s),
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
        BlockRule {
            hcl: "group",
            json: "TaskGroups",
            shape: Shape::List,
            label: Label::Required("Name"),
            body: BodyKind::Schema(&GROUP),
        },
        BlockRule {
            hcl: "task",
            json: "__tasks",
            shape: Shape::List,
            label: Label::Required("Name"),
            body: BodyKind::Schema(&super::task::TASK),
        },
        BlockRule {
            hcl: "meta",
            json: "Meta",
            shape: Shape::One,
            label: Label::None,
            body: BodyKind::StrMap,
        },
        one("update", "Update", &UPDATE),
        one("periodic", "Periodic", &PERIODIC),
        one("parameterized", "ParameterizedJob", &PARAMETERIZED),
        one("reschedule", "Reschedule", &RESCHEDULE),
        one("migrate", "Migrate", &MIGRATE),
        one("ui", "UI", &UI),
        one("vault", "__vault", &super::task::VAULT),
        BlockRule {
            hcl: "multiregion",
            json: "Multiregion",
            shape: Shape::One,
            label: Label::None,
            body: BodyKind::FreeForm,
        },
    ],
    post: Some(post_job),
};

/// HCL1 allowed `task` directly in `job`: each becomes a group of one task with its name.
fn post_job(_d: &mut Decoder<'_, '_>, _b: &Block, out: &mut Map<String, Value>) {
    let vault = out.remove("__vault");
    if let Some(Value::Array(tasks)) = out.remove("__tasks") {
        let groups = out.entry("TaskGroups").or_insert_with(|| Value::Array(vec![]));
        if let Value::Array(g) = groups {
            for t in tasks {
                let name = t.get("Name").cloned().unwrap_or(Value::Null);
                let mut m = Map::new();
                m.insert("Name".into(), name);
                m.insert("Tasks".into(), Value::Array(vec![t]));
                g.push(Value::Object(m));
            }
        }
    }
    if let (Some(v), Some(Value::Array(groups))) = (vault, out.get_mut("TaskGroups")) {
        for g in groups.iter_mut().filter_map(Value::as_object_mut) {
            super::group::inherit_vault(g, &v);
        }
    }
}

static UI: Schema = Schema {
    name: "ui",
    attrs: &[Attr("description", "Description", Kind::Str)],
    blocks: &[BlockRule {
        hcl: "link",
        json: "Links",
        shape: Shape::List,
        label: Label::None,
        body: BodyKind::Schema(&LINK),
    }],
    post: None,
};

static LINK: Schema = Schema {
    name: "link",
    attrs: &[Attr("label", "Label", Kind::Str), Attr("url", "URL", Kind::Str)],
    blocks: &[],
    post: None,
};
