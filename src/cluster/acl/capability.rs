//! Nomad's capability vocabulary: the namespace and variable capabilities a rule may name,
//! how a coarse `policy = "..."` expands into them, the levels of the `node`, `agent`,
//! `operator`, `quota` and `plugin` blocks, and glob matching of rule names.

use std::collections::BTreeSet;

/// `deny`: overrides every other capability granted for the same name.
pub const DENY: &str = "deny";

/// Every namespace capability a rule may list (Nomad's names).
pub const NAMESPACE_CAPABILITIES: &[&str] = &[
    "deny",
    "parse-job",
    "list-jobs",
    "read-job",
    "submit-job",
    "dispatch-job",
    "read-logs",
    "read-fs",
    "alloc-exec",
    "alloc-node-exec",
    "alloc-lifecycle",
    "csi-register-plugin",
    "csi-write-volume",
    "csi-read-volume",
    "csi-list-volume",
    "csi-mount-volume",
    "list-scaling-policies",
    "read-scaling-policy",
    "read-job-scaling",
    "scale-job",
    "submit-recommendation",
    "sentinel-override",
    "host-volume-create",
    "host-volume-register",
    "host-volume-read",
    "host-volume-write",
    "host-volume-delete",
];

/// Capabilities of a `variables { path "..." { capabilities = [...] } }` rule.
pub const VARIABLE_CAPABILITIES: &[&str] = &["write", "read", "list", "destroy", "deny"];

/// Capabilities of a `host_volume "..." { capabilities = [...] }` rule.
pub const HOST_VOLUME_CAPABILITIES: &[&str] = &["deny", "mount-readonly", "mount-readwrite"];

const NS_READ: &[&str] = &[
    "list-jobs",
    "parse-job",
    "read-job",
    "csi-list-volume",
    "csi-read-volume",
    "read-job-scaling",
    "list-scaling-policies",
    "read-scaling-policy",
    "host-volume-read",
];

const NS_WRITE_EXTRA: &[&str] = &[
    "scale-job",
    "submit-job",
    "dispatch-job",
    "read-logs",
    "read-fs",
    "alloc-exec",
    "alloc-lifecycle",
    "csi-mount-volume",
    "csi-write-volume",
    "submit-recommendation",
];

const NS_SCALE: &[&str] = &[
    "list-scaling-policies",
    "read-scaling-policy",
    "read-job-scaling",
    "scale-job",
];

/// The capabilities a namespace `policy` value stands for, or `None` for an unknown value.
pub fn expand_namespace_policy(policy: &str) -> Option<Vec<&'static str>> {
    Some(match policy {
        "deny" => vec![DENY],
        "read" => NS_READ.to_vec(),
        "write" => NS_READ.iter().chain(NS_WRITE_EXTRA).copied().collect(),
        "scale" => NS_SCALE.to_vec(),
        _ => return None,
    })
}

/// The capabilities a `host_volume` `policy` value stands for.
pub fn expand_host_volume_policy(policy: &str) -> Option<Vec<&'static str>> {
    Some(match policy {
        "deny" => vec![DENY],
        "read" => vec!["mount-readonly"],
        "write" => vec!["mount-readonly", "mount-readwrite"],
        _ => return None,
    })
}

/// A variable capability set with Nomad's implications: `read` and `write` each include
/// `list`.
pub fn expand_variable_capabilities(caps: &BTreeSet<String>) -> BTreeSet<String> {
    let mut out = caps.clone();
    if caps.contains("read") || caps.contains("write") {
        out.insert("list".into());
    }
    out
}

/// The level of a `node`, `agent`, `operator`, `quota` or `plugin` block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum Level {
    /// `list` (plugin only): below read.
    List,
    /// `read`.
    Read,
    /// `write` (implies read).
    Write,
    /// `deny`: wins over any grant from another policy.
    Deny,
}

impl Level {
    /// Parses a block's `policy` value; `plugin` also accepts `list`.
    pub fn parse(value: &str, allow_list: bool) -> Option<Level> {
        match value {
            "deny" => Some(Level::Deny),
            "read" => Some(Level::Read),
            "write" => Some(Level::Write),
            "list" if allow_list => Some(Level::List),
            _ => None,
        }
    }

    /// Two policies' levels for the same block: deny wins, else the higher grant.
    pub fn merge(a: Option<Level>, b: Option<Level>) -> Option<Level> {
        match (a, b) {
            (Some(Level::Deny), _) | (_, Some(Level::Deny)) => Some(Level::Deny),
            (x, y) => x.max(y),
        }
    }

    /// Whether holding `self` grants `want` (`write` ⊇ `read` ⊇ `list`; `deny` grants nothing).
    pub fn grants(self, want: Level) -> bool {
        self != Level::Deny && want != Level::Deny && self >= want
    }
}

/// Glob match with `*` matching any run of characters (Nomad's rule names).
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let (p, n) = (pattern.as_bytes(), name.as_bytes());
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ni));
            pi += 1;
        } else if pi < p.len() && p[pi] == n[ni] {
            pi += 1;
            ni += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&b| b == b'*')
}

/// The rule that governs `name` among `patterns`, as Nomad chooses: an exact name first, else
/// the matching glob with the fewest characters left to the wildcards (the most specific);
/// ties go to every tied rule, so the caller can let a deny among them win.
pub fn closest<'a, T>(rules: impl IntoIterator<Item = (&'a str, T)>, name: &str) -> Vec<T> {
    let mut best: Option<usize> = None;
    let mut out = Vec::new();
    for (pattern, rule) in rules {
        if pattern == name {
            return vec![rule];
        }
        if !pattern.contains('*') || !glob_match(pattern, name) {
            continue;
        }
        let literal = pattern.chars().filter(|&c| c != '*').count();
        let distance = name.chars().count().saturating_sub(literal);
        match best {
            Some(b) if distance > b => continue,
            Some(b) if distance == b => out.push(rule),
            _ => {
                best = Some(distance);
                out = vec![rule];
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_as_nomad() {
        assert!(glob_match("*", ""));
        assert!(glob_match("*", "default"));
        assert!(glob_match("prod-*", "prod-api"));
        assert!(!glob_match("prod-*", "dev-api"));
        assert!(glob_match("*-api", "prod-api"));
        assert!(glob_match("p*d*", "prod"));
        assert!(!glob_match("prod", "prod-api"));
        assert!(glob_match("system/*", "system/"));
        assert!(!glob_match("system/*", "system"));
    }

    #[test]
    fn closest_prefers_exact_then_specific() {
        let rules = [("*", 1), ("prod-*", 2), ("prod-api", 3)];
        assert_eq!(closest(rules, "prod-api"), vec![3]);
        assert_eq!(closest(rules, "prod-web"), vec![2]);
        assert_eq!(closest(rules, "dev"), vec![1]);
        assert_eq!(closest([("a*", 1), ("*a", 2)], "ab"), vec![1]);
        assert_eq!(closest([("a*", 1), ("*b", 2)], "ab"), vec![1, 2]);
        assert!(closest([("x", 1)], "y").is_empty());
    }

    #[test]
    fn policies_expand() {
        let write = expand_namespace_policy("write").unwrap();
        assert!(write.contains(&"submit-job") && write.contains(&"read-job"));
        let read = expand_namespace_policy("read").unwrap();
        assert!(read.contains(&"list-jobs") && !read.contains(&"submit-job"));
        assert_eq!(expand_namespace_policy("deny").unwrap(), vec!["deny"]);
        assert!(expand_namespace_policy("admin").is_none());
        for cap in write.iter().chain(&read) {
            assert!(NAMESPACE_CAPABILITIES.contains(cap), "{cap}");
        }
    }

    #[test]
    fn levels_merge_with_deny_winning() {
        assert_eq!(
            Level::merge(Some(Level::Write), Some(Level::Deny)),
            Some(Level::Deny)
        );
        assert_eq!(
            Level::merge(Some(Level::Read), Some(Level::Write)),
            Some(Level::Write)
        );
        assert!(Level::Write.grants(Level::Read));
        assert!(!Level::Read.grants(Level::Write));
        assert!(!Level::Deny.grants(Level::List));
    }
}
