//! [`Need`]: what a route asks of the request's token, as Nomad's API docs name it in their
//! "ACL Required" column (`namespace:read-job`, `node:write`, `management`, `none`).

use std::fmt;

use super::capability::Level;

/// The capability a route requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// No token needed (the exempt list: status, bootstrap).
    None,
    /// Any valid token, whatever its policies (`/v1/acl/token/self`).
    Token,
    /// A management token.
    Management,
    /// Any one of these capabilities in the request's namespace.
    Namespace(&'static [&'static str]),
    /// This variable capability at the request's variable path, in its namespace.
    Variables(&'static str),
    /// The `node` block at this level.
    Node(Level),
    /// The `agent` block at this level.
    Agent(Level),
    /// The `operator` block at this level.
    Operator(Level),
    /// The `node` block at this level and a namespace capability.
    NodeAndNamespace(Level, &'static str),
}

fn level(l: Level) -> &'static str {
    match l {
        Level::List => "list",
        Level::Read => "read",
        Level::Write => "write",
        Level::Deny => "deny",
    }
}

impl fmt::Display for Need {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Need::None => f.write_str("none"),
            Need::Token => f.write_str("any valid token"),
            Need::Management => f.write_str("management"),
            Need::Namespace(caps) => {
                let all: Vec<String> = caps.iter().map(|c| format!("namespace:{c}")).collect();
                f.write_str(&all.join(" or "))
            }
            Need::Variables(cap) => write!(f, "variables:{cap}"),
            Need::Node(l) => write!(f, "node:{}", level(*l)),
            Need::Agent(l) => write!(f, "agent:{}", level(*l)),
            Need::Operator(l) => write!(f, "operator:{}", level(*l)),
            Need::NodeAndNamespace(l, cap) => write!(f, "node:{} and namespace:{cap}", level(*l)),
        }
    }
}
