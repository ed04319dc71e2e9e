//! Every constraint operator, true and false, against one node; and through `schedule`, the
//! filtered count keyed by the constraint's text.

use super::harness::{Harness, constraint, group, job, node};
use crate::cluster::scheduler::CompiledConstraint;
use crate::spec::CONSTRAINT_OPERATORS;

fn test_node() -> crate::api::Node {
    let mut n = node("alpha");
    n.node_class = "compute".into();
    for (k, v) in [("nomad.version", "1.7.3"), ("cpu.numcores", "8"), ("os.version", "22.04"), ("driver.docker.version", "24.0.7")] {
        n.attributes.insert(k.into(), v.into());
    }
    for (k, v) in [("role", "db"), ("tags", "ssd, gpu ,fast"), ("zone", "b")] {
        n.meta.insert(k.into(), v.into());
    }
    n
}

#[test]
fn every_operator_true_and_false() {
    let n = test_node();
    let cases: &[(&str, &str, &str, bool)] = &[
        ("${attr.kernel.name}", "=", "linux", true),
        ("${attr.kernel.name}", "=", "windows", false),
        ("${attr.kernel.name}", "", "linux", true),
        ("${meta.absent}", "=", "", false),
        ("${meta.role}", "==", "db", true),
        ("${meta.role}", "==", "web", false),
        ("${node.class}", "is", "compute", true),
        ("${node.class}", "is", "storage", false),
        ("${meta.role}", "!=", "witness", true),
        ("${meta.role}", "!=", "db", false),
        ("${meta.absent}", "!=", "witness", true),
        ("${node.datacenter}", "not", "dc2", true),
        ("${node.datacenter}", "not", "dc1", false),
        ("${attr.cpu.numcores}", ">", "4", true),
        ("${attr.cpu.numcores}", ">", "16", false),
        ("${attr.cpu.numcores}", ">=", "8", true),
        ("${attr.cpu.numcores}", ">=", "9", false),
        ("${attr.cpu.numcores}", "<", "10", true),
        ("${attr.cpu.numcores}", "<", "8", false),
        ("${attr.cpu.numcores}", "<=", "8", true),
        ("${attr.cpu.numcores}", "<=", "7", false),
        ("${meta.zone}", ">", "a", true),
        ("${meta.zone}", "<", "a", false),
        ("${meta.absent}", ">", "1", false),
        ("${attr.kernel.name}", "regexp", "^lin", true),
        ("${attr.kernel.name}", "regexp", "^win", false),
        ("${attr.kernel.name}", "regexp", "([", false),
        ("${attr.nomad.version}", "version", ">= 1.6, < 2.0", true),
        ("${attr.nomad.version}", "version", "~> 1.8", false),
        ("${attr.os.version}", "version", ">= 20.04", true),
        ("${attr.driver.docker.version}", "semver", ">= 24.0.0", true),
        ("${attr.os.version}", "semver", ">= 20.0.0", false),
        ("${meta.tags}", "set_contains", "gpu,ssd", true),
        ("${meta.tags}", "set_contains", "gpu,nvme", false),
        ("${meta.tags}", "set_contains_all", "fast", true),
        ("${meta.tags}", "set_contains_all", "slow", false),
        ("${meta.tags}", "set_contains_any", "nvme,gpu", true),
        ("${meta.tags}", "set_contains_any", "nvme,hdd", false),
        ("${meta.role}", "is_set", "", true),
        ("${meta.absent}", "is_set", "", false),
        ("${meta.absent}", "is_not_set", "", true),
        ("${meta.role}", "is_not_set", "", false),
        ("${node.unique.id}", "=", "id-alpha", true),
        ("${node.unique.name}", "=", "beta", false),
        ("${node.pool}", "=", "default", true),
        ("${attr.kernel.name}", "=", "${attr.kernel.name}", true),
        ("${attr.kernel.name}", "bogus", "linux", false),
    ];
    for (l, op, r, want) in cases {
        let c = CompiledConstraint::compile(l, op, r);
        assert_eq!(c.matches(&n), *want, "{l} {op} {r}");
    }
    // Every node operator of Nomad appears above; distinct_* are checked against the plan.
    for op in CONSTRAINT_OPERATORS.iter().filter(|o| !o.starts_with("distinct")) {
        assert!(cases.iter().any(|(_, o, _, t)| o == op && *t), "no true case for {op}");
        assert!(cases.iter().any(|(_, o, _, t)| o == op && !*t), "no false case for {op}");
    }
}

#[test]
fn filtered_nodes_are_counted_under_the_constraint_text() {
    let mut nodes: Vec<_> = (0..4).map(|i| node(&format!("n{i}"))).collect();
    nodes[3].meta.insert("role".into(), "db".into());
    nodes[3].node_resources.cpu.cpu_shares = 700; // room for one 500 MHz allocation
    let mut h = Harness::with_nodes(nodes);
    let mut j = job("db", "service", 2);
    group(&mut j).constraints = Some(vec![constraint("${meta.role}", "=", "db")]);
    h.register(j);
    let plan = h.eval("db");
    assert_eq!(plan.place.len(), 1);
    assert_eq!(plan.place[0].node_name, "n3");
    let m = &plan.failed_tg_allocs["app"];
    assert_eq!(m.nodes_evaluated, 4);
    assert_eq!(m.nodes_filtered, 3);
    assert_eq!(m.constraint_filtered.as_ref().unwrap()["${meta.role} = db"], 3);
    assert_eq!(m.nodes_exhausted, 1);
    assert_eq!(m.dimension_exhausted.as_ref().unwrap()["cpu"], 1);
    assert_eq!(m.node_reasons.len(), 4);
    assert!(m.node_reasons["id-n0"].contains("${meta.role} = db"), "{:?}", m.node_reasons);
    assert!(m.node_reasons["id-n3"].starts_with("cpu exhausted"), "{:?}", m.node_reasons);
    assert_eq!(plan.queued_allocations["app"], 1);
}
