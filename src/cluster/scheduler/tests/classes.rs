//! The computed-class cache of the static checks: nodes of one class share a verdict (the
//! checks run once per class), checks on unique attributes are decided per node, the first
//! rejection per node is the one chain order gives, and a class change is seen.

use std::cell::Cell;
use std::rc::Rc;

use super::harness::{Harness, constraint, job, node_with_meta};
use crate::api::Node;
use crate::cluster::scheduler::constraint::CompiledConstraint;
use crate::cluster::scheduler::feasible::{ConstraintChecker, FeasibilityChecker, PlanView, Rejection};
use crate::cluster::scheduler::static_checks::StaticChecks;

/// A checker that counts its runs and passes nodes whose `rack` meta is `r1`.
struct CountingRack(Rc<Cell<u32>>);

impl FeasibilityChecker for CountingRack {
    fn check(&self, node: &Node, _: Option<&PlanView<'_>>) -> Result<(), Rejection> {
        self.0.set(self.0.get() + 1);
        if node.meta.get("rack").map(String::as_str) == Some("r1") {
            return Ok(());
        }
        Err(Rejection {
            key: "rack".into(),
            reason: "not rack r1".into(),
        })
    }
}

fn classed(mut n: Node) -> Node {
    n.compute_class();
    n
}

fn checker(l: &str, op: &str, r: &str) -> Box<dyn FeasibilityChecker> {
    Box::new(ConstraintChecker {
        constraint: CompiledConstraint::compile(l, op, r),
    })
}

#[test]
fn nodes_of_one_class_share_a_verdict() {
    let runs = Rc::new(Cell::new(0));
    let mut checks = StaticChecks::new(vec![Box::new(CountingRack(runs.clone()))]);
    let a = classed(node_with_meta("a", &[("rack", "r1")]));
    let mut b = classed(node_with_meta("b", &[("rack", "r1")]));
    let c = classed(node_with_meta("c", &[("rack", "r2")]));
    assert_eq!(
        a.computed_class, b.computed_class,
        "names and unique attributes are not hashed"
    );
    assert_ne!(a.computed_class, c.computed_class);
    assert!(checks.verdict(0, &a).is_ok());
    // Same class: decided without running the check again, even though (to prove it) b's
    // meta no longer matches what its class stands for.
    b.meta.insert("rack".into(), "r9".into());
    assert!(checks.verdict(1, &b).is_ok());
    assert_eq!(runs.get(), 1);
    let r = checks.verdict(2, &c).unwrap_err().clone();
    assert_eq!(r.reason, "not rack r1");
    assert_eq!(runs.get(), 2);
    // A node without a class is checked on its own.
    let mut d = node_with_meta("d", &[("rack", "r1")]);
    d.computed_class.clear();
    assert!(checks.verdict(3, &d).is_ok());
    assert_eq!(runs.get(), 3);
    // Verdicts are remembered per node.
    assert!(checks.verdict(0, &a).is_ok());
    assert_eq!(checks.rejection(2), Some(&r));
    assert_eq!(runs.get(), 3);
}

#[test]
fn unique_attribute_constraints_are_decided_per_node() {
    for (l, r) in [
        ("${attr.unique.network.ip-address}", "10.0.0.1"),
        ("${node.unique.name}", "a"),
        ("${meta.unique.serial}", "s-a"),
    ] {
        let mut checks = StaticChecks::new(vec![checker(l, "=", r)]);
        let mut a = node_with_meta("a", &[("unique.serial", "s-a")]);
        let mut b = node_with_meta("b", &[("unique.serial", "s-b")]);
        a.attributes
            .insert("unique.network.ip-address".into(), "10.0.0.1".into());
        b.attributes
            .insert("unique.network.ip-address".into(), "10.0.0.2".into());
        let (a, b) = (classed(a), classed(b));
        assert_eq!(a.computed_class, b.computed_class);
        assert!(checks.verdict(0, &a).is_ok(), "{l}");
        let err = checks.verdict(1, &b).unwrap_err();
        assert_eq!(err.key, format!("{l} = {r}"));
        assert!(err.reason.contains("not satisfied"), "{}", err.reason);
    }
}

#[test]
fn the_first_rejection_follows_chain_order_across_escaping_checks() {
    // Chain: a unique constraint (per node), then a class constraint that fails for the
    // class. Node a fails the unique one first; node b passes it and reports the class one.
    let chain = || {
        vec![
            checker("${node.unique.name}", "!=", "a"),
            checker("${meta.rack}", "=", "r1"),
            checker("${node.unique.name}", "=", "never"),
        ]
    };
    let mut checks = StaticChecks::new(chain());
    let a = classed(node_with_meta("a", &[("rack", "r2")]));
    let b = classed(node_with_meta("b", &[("rack", "r2")]));
    let got_a = checks.verdict(0, &a).unwrap_err().key.clone();
    let got_b = checks.verdict(1, &b).unwrap_err().key.clone();
    assert_eq!(got_a, "${node.unique.name} != a");
    assert_eq!(got_b, "${meta.rack} = r1");
    // The same as running the whole chain on each node.
    for n in [&a, &b] {
        let want = chain().iter().find_map(|c| c.check(n, None).err()).unwrap();
        let mut fresh = StaticChecks::new(chain());
        assert_eq!(fresh.verdict(0, n).unwrap_err(), &want);
    }
    // A class that passes the class checks still runs the later unique check per node.
    let c = classed(node_with_meta("c", &[("rack", "r1")]));
    assert_eq!(
        checks.verdict(2, &c).unwrap_err().key,
        "${node.unique.name} = never"
    );
}

#[test]
fn a_class_change_is_seen() {
    // Two evaluations of one job: between them node b is re-registered with other meta
    // (a new class, as the FSM computes it), and the scheduler follows.
    let mut h = Harness::with_nodes(vec![
        classed(node_with_meta("a", &[("tier", "web")])),
        classed(node_with_meta("b", &[("tier", "web")])),
        classed(node_with_meta("c", &[("tier", "batch")])),
    ]);
    let mut j = job("web", "service", 2);
    j.constraints = Some(vec![constraint("${meta.tier}", "=", "web")]);
    h.register(j.clone());
    let plan = h.eval("web");
    let mut names: Vec<_> = plan.place.iter().map(|a| a.node_name.clone()).collect();
    names.sort();
    assert_eq!(names, ["a", "b"]);
    let old = h.node_mut("b").computed_class.clone();
    let b = h.node_mut("b");
    b.meta.insert("tier".into(), "batch".into());
    b.compute_class();
    assert_ne!(b.computed_class, old);
    let c = h.node_mut("c");
    c.meta.insert("tier".into(), "web".into());
    c.compute_class();
    let plan = h.eval("web");
    let mut names: Vec<_> = plan.place.iter().map(|a| a.node_name.clone()).collect();
    names.sort();
    assert_eq!(names, ["a", "c"]);
}

#[test]
fn failed_placements_report_each_node_reason_through_the_class_cache() {
    // Eight nodes in two classes plus a unique constraint: the failure lists every node's
    // first reason, as an uncached chain would.
    let nodes: Vec<Node> = (0..8)
        .map(|i| {
            let rack = if i % 2 == 0 { "r1" } else { "r2" };
            classed(node_with_meta(&format!("n{i}"), &[("rack", rack)]))
        })
        .collect();
    let mut h = Harness::with_nodes(nodes.clone());
    let mut j = job("db", "service", 1);
    j.constraints = Some(vec![
        constraint("${node.unique.name}", "!=", "n0"),
        constraint("${meta.rack}", "=", "r3"),
    ]);
    h.register(j);
    let plan = h.eval("db");
    let m = &plan.failed_tg_allocs["app"];
    assert_eq!(m.nodes_evaluated, 8);
    assert_eq!(m.nodes_filtered, 8);
    let filtered = m.constraint_filtered.as_ref().unwrap();
    assert_eq!(filtered["${node.unique.name} != n0"], 1);
    assert_eq!(filtered["${meta.rack} = r3"], 7);
    assert_eq!(m.node_reasons.len(), 8);
    assert!(m.node_reasons["id-n0"].contains("${node.unique.name} != n0"));
    for n in &nodes[1..] {
        let reason = &m.node_reasons[&n.id];
        assert!(reason.contains("${meta.rack} = r3"), "{reason}");
        let rack = &n.meta["rack"];
        assert!(reason.contains(&format!("{rack:?}")), "{reason}");
    }
}

#[test]
fn plans_are_the_same_with_and_without_classes() {
    // A small copy of the benchmark's cluster (versions, tiers, datacenters, one draining
    // node, one without docker) and jobs that fill it until placements fail, with a unique
    // constraint and a version range: every plan, metrics and reasons included, is the same
    // whether static checks are decided per class or per node.
    let nodes: Vec<Node> = (0..60)
        .map(|i| {
            let tier = if i % 3 == 0 { "batch" } else { "web" };
            let mut n = node_with_meta(&format!("n{i:02}"), &[("tier", tier)]);
            n.datacenter = ["dc1", "dc2", "dc3", "dc4"][i % 4].into();
            n.attributes
                .insert("nomad.version".into(), format!("1.{}.{}", 5 + i % 4, i % 7));
            n.attributes
                .insert("unique.network.ip-address".into(), format!("10.0.0.{i}"));
            n.node_resources.cpu.cpu_shares = 1000;
            if i == 7 {
                n.drivers.remove("docker");
            }
            if i == 11 {
                n.drain = true;
            }
            n
        })
        .collect();
    let run = |without_classes: bool| {
        let mut h = Harness::with_nodes(nodes.clone());
        h.without_classes = without_classes;
        let mut plans = Vec::new();
        for i in 0..12 {
            let id = format!("job{i}");
            let mut j = job(&id, "service", 6);
            j.datacenters = Some(vec!["dc1".into(), "dc2".into(), "dc3".into()]);
            j.constraints = Some(vec![
                constraint("${meta.tier}", "=", "web"),
                constraint("${attr.nomad.version}", "version", ">= 1.6"),
                constraint("${attr.unique.network.ip-address}", "!=", "10.0.0.13"),
            ]);
            h.register(j);
            plans.push(h.run(&id));
        }
        plans
    };
    let (with, without) = (run(false), run(true));
    assert!(
        with.iter().any(|p| !p.failed_tg_allocs.is_empty()),
        "the cluster fills up"
    );
    assert!(
        with.iter()
            .all(|p| !p.place.is_empty() || !p.failed_tg_allocs.is_empty())
    );
    assert_eq!(with, without);
}
