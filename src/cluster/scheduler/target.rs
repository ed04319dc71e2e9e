//! `Target`: one side of a constraint, affinity or spread, resolved against a node.
//!
//! `${attr.X}`, `${meta.X}`, `${node.unique.id}`, `${node.unique.name}`, `${node.datacenter}`,
//! `${node.class}`, `${node.pool}`, `${node.region}`; anything else is a literal.

use crate::api::Node;

/// A parsed constraint operand.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// Text as written.
    Literal(String),
    /// `${attr.NAME}`.
    Attr(String),
    /// `${meta.NAME}`.
    Meta(String),
    /// `${node.unique.id}`.
    NodeId,
    /// `${node.unique.name}`.
    NodeName,
    /// `${node.datacenter}`.
    Datacenter,
    /// `${node.class}`.
    Class,
    /// `${node.pool}`.
    Pool,
    /// `${node.region}` (the node's `nomad.region` attribute, default `global`).
    Region,
    /// A `${...}` this scheduler cannot resolve: never found.
    Unresolvable(String),
}

impl Target {
    /// Parses an operand.
    pub fn parse(text: &str) -> Target {
        let Some(inner) = text.strip_prefix("${").and_then(|t| t.strip_suffix('}')) else {
            return Target::Literal(text.to_string());
        };
        let inner = inner.trim();
        if let Some(name) = inner.strip_prefix("attr.") {
            return Target::Attr(name.to_string());
        }
        if let Some(name) = inner.strip_prefix("meta.") {
            return Target::Meta(name.to_string());
        }
        match inner {
            "node.unique.id" => Target::NodeId,
            "node.unique.name" => Target::NodeName,
            "node.datacenter" => Target::Datacenter,
            "node.class" => Target::Class,
            "node.pool" => Target::Pool,
            "node.region" => Target::Region,
            other => Target::Unresolvable(other.to_string()),
        }
    }

    /// Whether the value is unique to a node (`${node.unique.*}`, `${attr.unique.*}`,
    /// `${meta.unique.*}`): a check that reads it cannot be decided per computed class.
    pub fn escapes_class(&self) -> bool {
        match self {
            Target::NodeId | Target::NodeName => true,
            Target::Attr(name) | Target::Meta(name) => Node::is_unique_key(name),
            Target::Unresolvable(name) => name.starts_with("node.unique."),
            Target::Literal(_) | Target::Datacenter | Target::Class | Target::Pool | Target::Region => false,
        }
    }

    /// The value on `node`, or `None` when the node does not have it.
    pub fn resolve<'n>(&'n self, node: &'n Node) -> Option<&'n str> {
        match self {
            Target::Literal(s) => Some(s),
            Target::Attr(name) => node.attributes.get(name).map(String::as_str),
            Target::Meta(name) => node.meta.get(name).map(String::as_str),
            Target::NodeId => Some(&node.id),
            Target::NodeName => Some(&node.name),
            Target::Datacenter => Some(&node.datacenter),
            Target::Class => Some(&node.node_class),
            Target::Pool => Some(node.pool()),
            Target::Region => Some(
                node.attributes
                    .get("nomad.region")
                    .map(String::as_str)
                    .unwrap_or("global"),
            ),
            Target::Unresolvable(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_every_kind() {
        let mut node = Node {
            id: "n1".into(),
            name: "host-1".into(),
            datacenter: "dc1".into(),
            node_class: "gpu".into(),
            ..Node::default()
        };
        node.attributes.insert("kernel.name".into(), "linux".into());
        node.meta.insert("rack".into(), "r1".into());
        let cases = [
            ("${attr.kernel.name}", Some("linux")),
            ("${meta.rack}", Some("r1")),
            ("${meta.absent}", None),
            ("${node.unique.id}", Some("n1")),
            ("${node.unique.name}", Some("host-1")),
            ("${node.datacenter}", Some("dc1")),
            ("${node.class}", Some("gpu")),
            ("${node.pool}", Some("default")),
            ("${node.region}", Some("global")),
            ("${unknown.thing}", None),
            ("plain", Some("plain")),
        ];
        for (text, want) in cases {
            let target = Target::parse(text);
            assert_eq!(target.resolve(&node), want, "{text}");
        }
    }
}
