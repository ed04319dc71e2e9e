//! `network`, `port` and `dns` blocks. A port with `static` is reserved, else dynamic.

use hcl::edit::Span;
use hcl::edit::structure::{Block, Structure};
use serde_json::{Map, Value};

use super::schema::{Attr, BlockRule, BodyKind, Decoder, Kind, Label, Schema, Shape};
use crate::frontend::unit::label_span;

/// `network {}`.
pub static NETWORK: Schema = Schema {
    name: "network",
    attrs: &[
        Attr("mode", "Mode", Kind::Str),
        Attr("hostname", "Hostname", Kind::Str),
        Attr("mbits", "MBits", Kind::Int),
        Attr("device", "Device", Kind::Str),
    ],
    blocks: &[
        BlockRule {
            hcl: "port",
            json: "__ports",
            shape: Shape::List,
            label: Label::Required("Label"),
            body: BodyKind::Schema(&PORT),
        },
        BlockRule {
            hcl: "dns",
            json: "DNS",
            shape: Shape::One,
            label: Label::None,
            body: BodyKind::Schema(&DNS),
        },
        BlockRule {
            hcl: "cni",
            json: "CNI",
            shape: Shape::One,
            label: Label::None,
            body: BodyKind::FreeForm,
        },
    ],
    post: Some(post_network),
};

static PORT: Schema = Schema {
    name: "port",
    attrs: &[
        Attr("static", "Value", Kind::Int),
        Attr("to", "To", Kind::Int),
        Attr("host_network", "HostNetwork", Kind::Str),
        Attr("ignore_collision", "IgnoreCollision", Kind::Bool),
    ],
    blocks: &[],
    post: Some(post_port),
};

static DNS: Schema = Schema {
    name: "dns",
    attrs: &[
        Attr("servers", "Servers", Kind::StrList),
        Attr("searches", "Searches", Kind::StrList),
        Attr("options", "Options", Kind::StrList),
    ],
    blocks: &[],
    post: None,
};

fn post_port(d: &mut Decoder<'_, '_>, b: &Block, out: &mut Map<String, Value>) {
    for (field, hcl, min) in [("Value", "static", 0), ("To", "to", -1)] {
        let Some(n) = out.get(field).and_then(Value::as_i64) else {
            continue;
        };
        if n < min || n > 65535 {
            let range = b.body.get_attribute(hcl).and_then(|a| a.value.span());
            d.error_at(
                range,
                format!("invalid port number {n}"),
                format!("`{hcl}` must be between {} and 65535", min.max(0)),
            )
            .help = Some("ports are 16-bit numbers; leave `static` out to let the scheduler pick one".into());
        }
    }
}

fn post_network(d: &mut Decoder<'_, '_>, b: &Block, out: &mut Map<String, Value>) {
    let Some(Value::Array(ports)) = out.remove("__ports") else {
        return;
    };
    let mut reserved = Vec::new();
    let mut dynamic = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    let port_blocks: Vec<&Block> = b
        .body
        .iter()
        .filter_map(Structure::as_block)
        .filter(|x| x.ident.value().as_str() == "port")
        .collect();
    for (i, p) in ports.into_iter().enumerate() {
        let label = p.get("Label").and_then(Value::as_str).unwrap_or("").to_string();
        if label.is_empty() {
            let range = port_blocks
                .get(i)
                .and_then(|pb| pb.labels.first())
                .and_then(label_span);
            d.error_at(range, "empty port label", "a port needs a name such as \"http\"");
        }
        if seen.contains(&label) {
            let range = port_blocks.get(i).and_then(|pb| pb.span());
            d.error_at(
                range,
                format!("duplicate port label `{label}`"),
                "each port of a network needs its own label",
            );
        }
        seen.push(label);
        if p.get("Value").and_then(Value::as_i64).is_some_and(|v| v > 0) {
            reserved.push(p);
        } else {
            dynamic.push(p);
        }
    }
    if !reserved.is_empty() {
        out.insert("ReservedPorts".into(), Value::Array(reserved));
    }
    if !dynamic.is_empty() {
        out.insert("DynamicPorts".into(), Value::Array(dynamic));
    }
}
