//! Placement rules of the seed stacks, with the job values built in code: tv-goldviewfx's
//! node meta constraints and JAM DUNA's validators (`${meta.jamduna} = true` + distinct_hosts).

use super::harness::{Harness, constraint, group, job, node_with_meta};
use crate::api::NodeStatus;
use crate::spec::Job;

/// JAM DUNA's validator job: count 6, one per tagged host.
fn jamduna_validators() -> Job {
    let mut j = job("duna", "service", 6);
    group(&mut j).constraints = Some(vec![
        constraint("${meta.jamduna}", "=", "true"),
        constraint("", "distinct_hosts", "true"),
    ]);
    j
}

fn jamduna_cluster(tagged: usize, total: usize) -> Harness {
    let nodes = (0..total)
        .map(|i| {
            let flag = if i < tagged { "true" } else { "false" };
            node_with_meta(&format!("duna-{i}"), &[("jamduna", flag)])
        })
        .collect();
    Harness::with_nodes(nodes)
}

#[test]
fn jamduna_six_validators_one_per_tagged_host() {
    let mut h = jamduna_cluster(6, 8);
    h.register(jamduna_validators());
    let plan = h.run("duna");
    assert!(plan.failed_tg_allocs.is_empty(), "{:?}", plan.failed_tg_allocs);
    assert_eq!(plan.place.len(), 6);
    let want: Vec<String> = (0..6).map(|i| format!("duna-{i}")).collect();
    assert_eq!(h.live_node_names("duna"), want);
    let mut names: Vec<_> = plan.place.iter().map(|a| a.name.clone()).collect();
    names.sort();
    assert_eq!(names, (0..6).map(|i| format!("duna.app[{i}]")).collect::<Vec<_>>());
}

#[test]
fn jamduna_on_five_tagged_hosts_explains_the_sixth() {
    let mut h = jamduna_cluster(5, 8);
    h.register(jamduna_validators());
    let plan = h.run("duna");
    assert_eq!(plan.place.len(), 5);
    assert_eq!(h.live_node_names("duna"), (0..5).map(|i| format!("duna-{i}")).collect::<Vec<_>>());
    let m = &plan.failed_tg_allocs["app"];
    assert_eq!(m.nodes_evaluated, 8);
    assert_eq!(m.nodes_filtered, 8);
    let filtered = m.constraint_filtered.as_ref().unwrap();
    assert_eq!(filtered["${meta.jamduna} = true"], 3);
    assert_eq!(filtered["distinct_hosts"], 5);
    assert_eq!(m.nodes_exhausted, 0);
    assert_eq!(m.coalesced_failures, 0);
    assert_eq!(plan.queued_allocations["app"], 1);
    assert!(m.node_reasons["id-duna-0"].contains("already runs an allocation"));
    assert!(m.node_reasons["id-duna-7"].contains("${meta.jamduna} = true"));
}

#[test]
fn distinct_hosts_three_nodes_count_five() {
    let mut h = Harness::with_nodes((0..3).map(|i| node_with_meta(&format!("n{i}"), &[])).collect());
    let mut j = job("web", "service", 5);
    j.constraints = Some(vec![constraint("", "distinct_hosts", "true")]);
    h.register(j);
    let plan = h.eval("web");
    assert_eq!(plan.place.len(), 3);
    let m = &plan.failed_tg_allocs["app"];
    assert_eq!((m.nodes_evaluated, m.nodes_filtered, m.nodes_exhausted), (3, 3, 0));
    assert_eq!(m.constraint_filtered.as_ref().unwrap()["distinct_hosts"], 3);
    assert_eq!(m.coalesced_failures, 1, "the fifth failure is folded into the fourth");
    assert_eq!(plan.queued_allocations["app"], 2);
    assert_eq!(plan.annotations.desired_tg_updates["app"].place, 5);
}

/// The tv-goldviewfx fleet: EPYC (gpu, primary RL tier, stateful, standby), OptiPlex
/// (stateful, standby), Mac mini (gpu, secondary tier, arm64), a general laptop, a witness,
/// and an egress worker.
fn gvfx_fleet() -> Harness {
    let mut nodes = vec![
        node_with_meta("epyc", &[("role", "standby"), ("gpu", "true"), ("rl_tier", "primary"), ("stateful", "true")]),
        node_with_meta("optiplex", &[("role", "standby"), ("stateful", "true")]),
        node_with_meta("macmini", &[("role", "standby"), ("gpu", "true"), ("rl_tier", "secondary")]),
        node_with_meta("mbp", &[("role", "general"), ("machine", "mbp-m3max")]),
        node_with_meta("witness", &[("role", "witness"), ("gpu", "true"), ("rl_tier", "primary")]),
        node_with_meta("egress", &[("role", "standby"), ("egress_worker", "true")]),
    ];
    nodes[2].attributes.insert("cpu.arch".into(), "arm64".into());
    nodes[3].attributes.insert("kernel.name".into(), "darwin".into());
    Harness::with_nodes(nodes)
}

fn with_constraints(id: &str, cs: &[(&str, &str, &str)]) -> Job {
    let mut j = job(id, "service", 1);
    group(&mut j).constraints = Some(cs.iter().map(|(l, o, r)| constraint(l, o, r)).collect());
    j
}

#[test]
fn gvfx_jobs_land_where_their_meta_constraints_say() {
    let not_witness = ("${meta.role}", "!=", "witness");
    let cases: Vec<(Job, Vec<&str>)> = vec![
        (
            with_constraints(
                "gvfx-api",
                &[not_witness, ("${meta.gpu}", "=", "true"), ("${attr.cpu.arch}", "=", "amd64"), ("${meta.rl_tier}", "=", "primary"), ("", "distinct_hosts", "true")],
            ),
            vec!["epyc"],
        ),
        (with_constraints("gvfx-rl-service", &[not_witness, ("${meta.gpu}", "=", "true"), ("${attr.cpu.arch}", "=", "amd64")]), vec!["epyc"]),
        (
            with_constraints("gvfx-postgres", &[not_witness, ("${meta.stateful}", "=", "true"), ("${meta.role}", "=", "standby")]),
            vec!["epyc", "optiplex"],
        ),
        (
            with_constraints(
                "gvfx-worker",
                &[not_witness, ("${meta.egress_worker}", "=", "true"), ("${meta.role}", "=", "standby"), ("${attr.kernel.name}", "=", "linux")],
            ),
            vec!["egress"],
        ),
        (with_constraints("gvfx-frontend", &[not_witness, ("${meta.rl_tier}", "=", "primary"), ("", "distinct_hosts", "true")]), vec!["epyc"]),
    ];
    for (j, allowed) in cases {
        let id = j.id().to_string();
        let mut h = gvfx_fleet();
        h.register(j);
        let plan = h.run(&id);
        assert!(plan.failed_tg_allocs.is_empty(), "{id}: {:?}", plan.failed_tg_allocs);
        let names = h.live_node_names(&id);
        assert_eq!(names.len(), 1, "{id}");
        assert!(allowed.contains(&names[0].as_str()), "{id} landed on {names:?}");
    }
}

#[test]
fn gvfx_api_with_its_only_host_down_is_explained() {
    let mut h = gvfx_fleet();
    h.node_mut("epyc").status = NodeStatus::Down;
    let not_witness = ("${meta.role}", "!=", "witness");
    h.register(with_constraints(
        "gvfx-api",
        &[not_witness, ("${meta.gpu}", "=", "true"), ("${attr.cpu.arch}", "=", "amd64"), ("${meta.rl_tier}", "=", "primary")],
    ));
    let plan = h.eval("gvfx-api");
    assert!(plan.place.is_empty());
    let m = &plan.failed_tg_allocs["app"];
    assert_eq!(m.nodes_evaluated, 5, "the down node is not a candidate");
    let f = m.constraint_filtered.as_ref().unwrap();
    assert_eq!(f["${meta.role} != witness"], 1);
    assert_eq!(f["${meta.gpu} = true"], 3, "optiplex, mbp, egress");
    assert_eq!(f["${attr.cpu.arch} = amd64"], 1, "macmini");
    assert_eq!(m.node_reasons["id-epyc"], "node is down");
    assert_eq!(m.node_reasons.len(), 6);
}
