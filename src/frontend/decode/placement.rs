//! `constraint`, `affinity` and `spread` blocks, with Nomad's operator sugar
//! (`distinct_hosts = true`, `version = ">= 1.2"`, `regexp = "..."`, ...).

use hcl::edit::Span;
use hcl::edit::structure::Block;
use serde_json::{Map, Value};

use super::schema::{Attr, BlockRule, BodyKind, Decoder, Kind, Label, Schema, Shape};
use crate::spec::{AFFINITY_OPERATORS, CONSTRAINT_OPERATORS};

const SUGAR: &[&str] = &[
    "distinct_hosts",
    "distinct_property",
    "version",
    "semver",
    "regexp",
    "set_contains",
    "set_contains_any",
    "set_contains_all",
];

const CONSTRAINT_ATTRS: &[Attr] = &[
    Attr("attribute", "LTarget", Kind::Str),
    Attr("operator", "Operand", Kind::Str),
    Attr("value", "RTarget", Kind::Str),
    Attr("distinct_hosts", "distinct_hosts", Kind::Bool),
    Attr("distinct_property", "distinct_property", Kind::Str),
    Attr("version", "version", Kind::Str),
    Attr("semver", "semver", Kind::Str),
    Attr("regexp", "regexp", Kind::Str),
    Attr("set_contains", "set_contains", Kind::Str),
    Attr("set_contains_any", "set_contains_any", Kind::Str),
    Attr("set_contains_all", "set_contains_all", Kind::Str),
];

/// `constraint {}`.
pub static CONSTRAINT: Schema = Schema {
    name: "constraint",
    attrs: CONSTRAINT_ATTRS,
    blocks: &[],
    post: Some(post_constraint),
};

/// `affinity {}`.
pub static AFFINITY: Schema = Schema {
    name: "affinity",
    attrs: &[
        Attr("attribute", "LTarget", Kind::Str),
        Attr("operator", "Operand", Kind::Str),
        Attr("value", "RTarget", Kind::Str),
        Attr("weight", "Weight", Kind::Int),
        Attr("version", "version", Kind::Str),
        Attr("semver", "semver", Kind::Str),
        Attr("regexp", "regexp", Kind::Str),
        Attr("set_contains", "set_contains", Kind::Str),
        Attr("set_contains_any", "set_contains_any", Kind::Str),
        Attr("set_contains_all", "set_contains_all", Kind::Str),
    ],
    blocks: &[],
    post: Some(post_affinity),
};

/// `spread {}`.
pub static SPREAD: Schema = Schema {
    name: "spread",
    attrs: &[
        Attr("attribute", "Attribute", Kind::Str),
        Attr("weight", "Weight", Kind::Int),
    ],
    blocks: &[BlockRule {
        hcl: "target",
        json: "SpreadTarget",
        shape: Shape::List,
        label: Label::Required("Value"),
        body: BodyKind::Schema(&SPREAD_TARGET),
    }],
    post: None,
};

static SPREAD_TARGET: Schema = Schema {
    name: "target",
    attrs: &[
        Attr("value", "Value", Kind::Str),
        Attr("percent", "Percent", Kind::Int),
    ],
    blocks: &[],
    post: None,
};

/// The `constraint`/`affinity`/`spread` rules shared by job, group, task and device.
pub const PLACEMENT_RULES: [BlockRule; 3] = [
    BlockRule {
        hcl: "constraint",
        json: "Constraints",
        shape: Shape::List,
        label: Label::None,
        body: BodyKind::Schema(&CONSTRAINT),
    },
    BlockRule {
        hcl: "affinity",
        json: "Affinities",
        shape: Shape::List,
        label: Label::None,
        body: BodyKind::Schema(&AFFINITY),
    },
    BlockRule {
        hcl: "spread",
        json: "Spreads",
        shape: Shape::List,
        label: Label::None,
        body: BodyKind::Schema(&SPREAD),
    },
];

fn post_constraint(d: &mut Decoder<'_, '_>, b: &Block, out: &mut Map<String, Value>) {
    desugar(d, b, out, CONSTRAINT_OPERATORS, "constraint");
}

fn post_affinity(d: &mut Decoder<'_, '_>, b: &Block, out: &mut Map<String, Value>) {
    desugar(d, b, out, AFFINITY_OPERATORS, "affinity");
}

fn desugar(d: &mut Decoder<'_, '_>, b: &Block, out: &mut Map<String, Value>, allowed: &[&str], what: &str) {
    for op in SUGAR {
        let Some(v) = out.remove(*op) else { continue };
        match *op {
            "distinct_hosts" => {
                if v == Value::Bool(true) {
                    out.insert("Operand".into(), Value::String("distinct_hosts".into()));
                }
            }
            "distinct_property" => {
                out.insert("Operand".into(), Value::String("distinct_property".into()));
                out.insert("LTarget".into(), v);
            }
            _ => {
                out.insert("Operand".into(), Value::String((*op).to_string()));
                out.insert("RTarget".into(), v);
            }
        }
    }
    let operand = out
        .get("Operand")
        .and_then(Value::as_str)
        .unwrap_or("=")
        .to_string();
    if !allowed.contains(&operand.as_str()) {
        let range = b
            .body
            .get_attribute("operator")
            .and_then(|a| a.value.span())
            .or_else(|| b.ident.span());
        let suggestion = super::super::suggest::did_you_mean(&operand, allowed.iter().copied());
        let diag = d.error_at(
            range,
            format!("invalid {what} operator `{operand}`"),
            "not an operator Nomad knows",
        );
        diag.help = Some(match suggestion {
            Some(s) => format!("did you mean `{s}`? valid operators: {}", allowed.join(" ")),
            None => format!("valid operators: {}", allowed.join(" ")),
        });
    }
}
