//! A failed placement in words: one line per cause (a constraint that filtered nodes, a
//! resource that ran out, no eligible node at all), read from the scheduler's metrics, so a
//! plan says *why* nothing would be placed rather than only counts.

use super::model::PlacementFailure;

/// The text that per-node reasons carry when a constraint's attribute is missing on a node.
const UNSET: &str = "left side is unset";

/// One line per cause of `f`, most telling first: constraints, then exhausted resources.
pub fn causes(f: &PlacementFailure) -> Vec<String> {
    let total = f.nodes_evaluated;
    let mut lines = Vec::new();
    for (constraint, &n) in &f.constraint_filtered {
        lines.push(constraint_cause(f, constraint, n, total));
    }
    for (dimension, n) in &f.dimension_exhausted {
        lines.push(format!(
            "resource `{dimension}` exhausted on {}",
            nodes(*n, total)
        ));
    }
    if lines.is_empty() && total == 0 {
        lines.push("no node is eligible (none ready in the job's datacenters and node pool)".to_string());
    }
    lines
}

fn constraint_cause(f: &PlacementFailure, constraint: &str, n: u64, total: u64) -> String {
    let unset = f
        .per_node_reasons
        .values()
        .filter(|r| r.contains(constraint) && r.contains(UNSET))
        .count() as u64;
    if n == 0 || unset < n {
        return format!("constraint `{constraint}`: not met on {}", nodes(n, total));
    }
    let mut line = format!("constraint `{constraint}`: unset on {}", nodes(n, total));
    if n == total
        && let Some(missing) = missing_integration(constraint)
    {
        line.push_str(&format!(": this cluster has no {missing}"));
    }
    line
}

/// The integration whose fingerprint sets the constraint's attribute, when no node has it.
fn missing_integration(constraint: &str) -> Option<&'static str> {
    if constraint.starts_with("${attr.vault.") {
        Some("Vault")
    } else if constraint.starts_with("${attr.consul.") {
        Some("Consul")
    } else {
        None
    }
}

/// "all 3 nodes", "2 of 5 nodes", "the only node", "1 node".
fn nodes(n: u64, total: u64) -> String {
    let noun = |k: u64| if k == 1 { "node" } else { "nodes" };
    if n == 1 && total == 1 {
        "the only node".to_string()
    } else if total == 0 || n > total {
        format!("{n} {}", noun(n))
    } else if n == total {
        format!("all {n} {}", noun(n))
    } else {
        format!("{n} of {total} {}", noun(total))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn vault_failure(unset_on: usize, nodes_evaluated: u64) -> PlacementFailure {
        let key = "${attr.vault.version} semver >= 0.6.1";
        PlacementFailure {
            group: "app".into(),
            unplaced: 1,
            constraint_filtered: BTreeMap::from([(key.to_string(), unset_on as u64)]),
            nodes_evaluated,
            nodes_filtered: unset_on as u64,
            per_node_reasons: (0..unset_on)
                .map(|i| {
                    (
                        format!("node-{i}"),
                        format!("constraint `{key}` not satisfied (left side is unset)"),
                    )
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn a_vault_constraint_on_a_cluster_without_vault_says_so() {
        assert_eq!(
            causes(&vault_failure(3, 3)),
            [
                "constraint `${attr.vault.version} semver >= 0.6.1`: unset on all 3 nodes: this cluster has no Vault"
            ]
        );
    }

    #[test]
    fn a_constraint_unset_on_some_nodes_names_the_share() {
        assert_eq!(
            causes(&vault_failure(2, 5)),
            ["constraint `${attr.vault.version} semver >= 0.6.1`: unset on 2 of 5 nodes"]
        );
    }

    #[test]
    fn without_per_node_reasons_a_constraint_is_not_met() {
        // Nomad itself reports counts only.
        let mut f = vault_failure(3, 3);
        f.per_node_reasons.clear();
        f.dimension_exhausted.insert("memory".into(), 1);
        assert_eq!(
            causes(&f),
            [
                "constraint `${attr.vault.version} semver >= 0.6.1`: not met on all 3 nodes",
                "resource `memory` exhausted on 1 of 3 nodes",
            ]
        );
    }

    #[test]
    fn no_node_at_all_is_a_cause() {
        let f = PlacementFailure {
            group: "app".into(),
            unplaced: 2,
            ..Default::default()
        };
        assert_eq!(causes(&f).len(), 1);
        assert!(causes(&f)[0].starts_with("no node is eligible"));
    }
}
