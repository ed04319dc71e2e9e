//! What a token may do: its policies' rules merged into one [`Acl`], and the check of one
//! [`Need`] against it.
//!
//! Merging follows Nomad: rules for the same name from several policies union their
//! capabilities, and a `deny` among them leaves only the deny. A lookup takes the exact name,
//! else the most specific matching glob (`capability::closest`); a deny among equally specific
//! globs wins.

use std::collections::{BTreeMap, BTreeSet};

use super::capability::{DENY, Level, closest};
use super::need::Need;
use super::policy::Rules;

/// The merged rights of one token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acl {
    /// A management token: everything.
    Management,
    /// A client token's (or the anonymous policy's) merged rules.
    Rules(Box<Merged>),
}

/// Capabilities by name or glob.
type Caps = BTreeMap<String, BTreeSet<String>>;

/// Several policies' rules merged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Merged {
    namespaces: Caps,
    variables: BTreeMap<String, Caps>,
    host_volumes: Caps,
    node: Option<Level>,
    agent: Option<Level>,
    operator: Option<Level>,
    quota: Option<Level>,
    plugin: Option<Level>,
}

fn add(into: &mut Caps, name: &str, caps: &BTreeSet<String>) {
    let set = into.entry(name.to_owned()).or_default();
    set.extend(caps.iter().cloned());
    if set.contains(DENY) {
        *set = BTreeSet::from([DENY.to_owned()]);
    }
}

/// Whether the rules governing `name` grant `cap` (a deny among them refuses).
fn granted(caps: &Caps, name: &str, cap: &str) -> bool {
    let rules = closest(caps.iter().map(|(k, v)| (k.as_str(), v)), name);
    !rules.iter().any(|r| r.contains(DENY)) && rules.iter().any(|r| r.contains(cap))
}

impl Acl {
    /// The merged rights of a client token holding `policies`.
    pub fn from_rules<'a>(policies: impl IntoIterator<Item = &'a Rules>) -> Acl {
        let mut m = Merged::default();
        for rules in policies {
            for ns in &rules.namespaces {
                add(&mut m.namespaces, &ns.rule.name, &ns.rule.capabilities);
                let vars = m.variables.entry(ns.rule.name.clone()).or_default();
                for path in &ns.variables {
                    add(vars, &path.name, &path.capabilities);
                }
            }
            for hv in &rules.host_volumes {
                add(&mut m.host_volumes, &hv.name, &hv.capabilities);
            }
            m.node = Level::merge(m.node, rules.node);
            m.agent = Level::merge(m.agent, rules.agent);
            m.operator = Level::merge(m.operator, rules.operator);
            m.quota = Level::merge(m.quota, rules.quota);
            m.plugin = Level::merge(m.plugin, rules.plugin);
        }
        Acl::Rules(Box::new(m))
    }

    /// Whether this ACL grants `need` for a request in `namespace` (and, for variables, at
    /// `var_path`). `Need::None` and `Need::Token` are the caller's to decide: a valid token
    /// (or none, for `None`) already passed; here they are always granted.
    pub fn allows(&self, need: &Need, namespace: &str, var_path: &str) -> bool {
        let m = match self {
            Acl::Management => return true,
            Acl::Rules(m) => m,
        };
        match need {
            Need::None | Need::Token => true,
            Need::Management => false,
            Need::Namespace(any) => any.iter().any(|c| granted(&m.namespaces, namespace, c)),
            Need::Variables(cap) => m.variable_granted(namespace, var_path, cap),
            Need::Node(l) => m.node.is_some_and(|h| h.grants(*l)),
            Need::Agent(l) => m.agent.is_some_and(|h| h.grants(*l)),
            Need::Operator(l) => m.operator.is_some_and(|h| h.grants(*l)),
            Need::NodeAndNamespace(l, cap) => {
                m.node.is_some_and(|h| h.grants(*l)) && granted(&m.namespaces, namespace, cap)
            }
        }
    }
}

impl Merged {
    fn variable_granted(&self, namespace: &str, path: &str, cap: &str) -> bool {
        let ns_rules = closest(
            self.namespaces.iter().map(|(k, v)| (k.as_str(), (k, v))),
            namespace,
        );
        if ns_rules.iter().any(|(_, caps)| caps.contains(DENY)) {
            return false;
        }
        let mut paths = Caps::new();
        for (name, _) in ns_rules {
            for (p, caps) in self.variables.get(name).into_iter().flatten() {
                add(&mut paths, p, caps);
            }
        }
        granted(&paths, path, cap)
    }
}
