//! Where allocations go: ranking (bin-pack, spread, affinity, spread blocks), the feasibility
//! chain beyond constraints (datacenter, pool, drivers, host volumes, ports, resources),
//! distinct_property, determinism and the candidate limit.

use std::collections::BTreeMap;

use super::harness::{Harness, constraint, group, job, node, task};
use crate::api::{Allocation, HostVolumeInfo};
use crate::cluster::scheduler::{Algorithm, SchedulerConfig};
use crate::spec::{Affinity, NetworkResource, Port, Spread, SpreadTarget, VolumeRequest};

fn per_node(plan_allocs: &[Allocation]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for a in plan_allocs {
        *m.entry(a.node_name.clone()).or_default() += 1;
    }
    m
}

#[test]
fn binpack_fills_one_node_spread_uses_all() {
    // Four single-allocation jobs on two nodes: job anti-affinity plays no part, so only
    // the fit score decides.
    let run = |algorithm| {
        let mut h = Harness::with_nodes((0..2).map(|i| node(&format!("n{i}"))).collect());
        h.config = SchedulerConfig { algorithm };
        let mut counts = BTreeMap::new();
        for i in 0..4 {
            let id = format!("job{i}");
            h.register(job(&id, "service", 1));
            let plan = h.run(&id);
            *counts.entry(plan.place[0].node_name.clone()).or_insert(0) += 1;
        }
        counts.into_values().collect::<Vec<usize>>()
    };
    assert_eq!(run(Algorithm::Binpack), vec![4]);
    assert_eq!(run(Algorithm::Spread), vec![2, 2]);
}

#[test]
fn service_anti_affinity_spreads_a_group_over_nodes() {
    let mut h = Harness::with_nodes((0..3).map(|i| node(&format!("n{i}"))).collect());
    h.register(job("web", "service", 3));
    let plan = h.eval("web");
    assert_eq!(per_node(&plan.place).len(), 3);
}

#[test]
fn datacenter_glob_node_pool_and_drivers() {
    let mut nodes: Vec<_> = (0..4).map(|i| node(&format!("n{i}"))).collect();
    nodes[0].datacenter = "us-east-1".into();
    nodes[1].datacenter = "eu-west-1".into();
    nodes[2].datacenter = "us-west-2".into();
    nodes[2].node_pool = "gpu".into();
    nodes[3].datacenter = "us-east-2".into();
    nodes[3].drivers.remove("docker");
    let mut h = Harness::with_nodes(nodes);
    let mut j = job("api", "service", 3);
    j.datacenters = Some(vec!["us-*".into()]);
    h.register(j);
    let plan = h.eval("api");
    assert!(plan.place.iter().all(|a| a.node_name == "n0"), "{:?}", per_node(&plan.place));
    assert_eq!(plan.place.len(), 3);
    let mut j = job("gpu", "service", 1);
    j.datacenters = Some(vec!["*".into()]);
    j.node_pool = Some("gpu".into());
    h.register(j);
    assert_eq!(h.eval("gpu").place[0].node_name, "n2");

    // Only the node without docker is left: the driver check names it.
    let mut j = job("nodocker", "service", 1);
    j.datacenters = Some(vec!["us-east-2".into()]);
    h.register(j);
    let plan = h.eval("nodocker");
    let m = &plan.failed_tg_allocs["app"];
    assert_eq!(m.constraint_filtered.as_ref().unwrap()["missing drivers"], 1);
    assert_eq!(m.nodes_available.as_ref().unwrap()["us-east-2"], 1);
    assert_eq!(m.nodes_in_pool, 3);
}

#[test]
fn host_volumes_must_exist_and_be_writable() {
    let mut nodes: Vec<_> = (0..3).map(|i| node(&format!("n{i}"))).collect();
    nodes[1].host_volumes.insert("pgdata".into(), HostVolumeInfo { name: "pgdata".into(), path: "/srv/pg".into(), read_only: true });
    nodes[2].host_volumes.insert("pgdata".into(), HostVolumeInfo { name: "pgdata".into(), path: "/srv/pg".into(), read_only: false });
    let mut h = Harness::with_nodes(nodes);
    let mut j = job("pg", "service", 1);
    let volume = VolumeRequest { name: "data".into(), r#type: "host".into(), source: "pgdata".into(), ..VolumeRequest::default() };
    group(&mut j).volumes = Some(BTreeMap::from([("data".into(), volume)]));
    h.register(j);
    let plan = h.eval("pg");
    assert_eq!(plan.place[0].node_name, "n2");
}

fn with_ports(id: &str, count: i64, static_port: Option<i64>) -> crate::spec::Job {
    let mut j = job(id, "service", count);
    group(&mut j).networks = Some(vec![NetworkResource {
        mode: "host".into(),
        reserved_ports: static_port.map(|p| vec![Port { label: "admin".into(), value: p, ..Port::default() }]),
        dynamic_ports: Some(vec![Port { label: "http".into(), to: 8080, ..Port::default() }]),
        ..NetworkResource::default()
    }]);
    j
}

#[test]
fn static_port_collisions_exhaust_nodes_and_dynamic_ports_are_distinct() {
    let mut h = Harness::with_nodes((0..2).map(|i| node(&format!("n{i}"))).collect());
    h.register(with_ports("proxy", 3, Some(8443)));
    let plan = h.run("proxy");
    assert_eq!(plan.place.len(), 2);
    let m = &plan.failed_tg_allocs["app"];
    assert_eq!(m.dimension_exhausted.as_ref().unwrap()["network: reserved port collision"], 2);
    for a in &plan.place {
        let ports = a.allocated_resources.as_ref().unwrap().shared.ports.clone().unwrap();
        assert_eq!(ports.iter().find(|p| p.label == "admin").unwrap().value, 8443);
        let http = ports.iter().find(|p| p.label == "http").unwrap();
        assert!((20000..=32000).contains(&http.value));
        assert_eq!(http.to, 8080);
    }

    // Dynamic ports only: many allocations on one node never share a port, and the node's
    // reserved host ports are never handed out.
    let mut n = node("solo");
    n.node_resources.min_dynamic_port = 30000;
    n.node_resources.max_dynamic_port = 30004;
    n.reserved_resources.networks.reserved_host_ports = "30000-30001".into();
    let mut h = Harness::with_nodes(vec![n]);
    h.register(with_ports("dyn", 4, None));
    let plan = h.eval("dyn");
    let mut ports: Vec<i64> = plan
        .place
        .iter()
        .map(|a| a.allocated_resources.as_ref().unwrap().shared.ports.as_ref().unwrap()[0].value)
        .collect();
    ports.sort();
    assert_eq!(ports, vec![30002, 30003, 30004]);
    assert_eq!(plan.failed_tg_allocs["app"].dimension_exhausted.as_ref().unwrap()["network: dynamic port selection failed"], 1);
}

#[test]
fn memory_and_cpu_exhaustion_are_reported_by_dimension() {
    let mut small = node("small");
    small.node_resources.memory.memory_mb = 200;
    let mut busy = node("busy");
    busy.reserved_resources.cpu.cpu_shares = 3800;
    let mut h = Harness::with_nodes(vec![small, busy]);
    h.register(job("big", "service", 1));
    let plan = h.eval("big");
    let m = &plan.failed_tg_allocs["app"];
    let dims = m.dimension_exhausted.as_ref().unwrap();
    assert_eq!((dims["memory"], dims["cpu"], m.nodes_exhausted), (1, 1, 2));
}

#[test]
fn affinity_prefers_matching_nodes() {
    let mut nodes: Vec<_> = (0..6).map(|i| node(&format!("n{i}"))).collect();
    nodes[4].meta.insert("ssd".into(), "true".into());
    let mut h = Harness::with_nodes(nodes);
    let mut j = job("cache", "service", 1);
    group(&mut j).affinities =
        Some(vec![Affinity { l_target: "${meta.ssd}".into(), operand: "=".into(), r_target: "true".into(), weight: Some(100) }]);
    h.register(j);
    assert_eq!(h.eval("cache").place[0].node_name, "n4");
}

#[test]
fn spread_targets_and_even_spread() {
    let nodes: Vec<_> = (0..6)
        .map(|i| {
            let mut n = node(&format!("n{i}"));
            n.datacenter = if i < 3 { "east".into() } else { "west".into() };
            n
        })
        .collect();
    let mut h = Harness::with_nodes(nodes.clone());
    let mut j = job("spread", "batch", 10);
    j.datacenters = Some(vec!["*".into()]);
    j.spreads = Some(vec![Spread {
        attribute: "${node.datacenter}".into(),
        weight: Some(100),
        spread_target: Some(vec![
            SpreadTarget { value: "east".into(), percent: 70 },
            SpreadTarget { value: "west".into(), percent: 30 },
        ]),
    }]);
    h.register(j);
    let plan = h.eval("spread");
    let east = plan.place.iter().filter(|a| a.node_name < "n3".to_string()).count();
    assert_eq!((east, plan.place.len() - east), (7, 3));

    let mut h = Harness::with_nodes(nodes);
    let mut j = job("even", "batch", 8);
    j.datacenters = Some(vec!["*".into()]);
    j.spreads = Some(vec![Spread { attribute: "${node.datacenter}".into(), weight: Some(100), spread_target: None }]);
    h.register(j);
    let plan = h.eval("even");
    let east = plan.place.iter().filter(|a| a.node_name < "n3".to_string()).count();
    assert_eq!(east, 4);
}

#[test]
fn distinct_property_limits_allocations_per_value() {
    let nodes: Vec<_> = (0..6)
        .map(|i| {
            let mut n = node(&format!("n{i}"));
            n.meta.insert("rack".into(), format!("r{}", i % 2));
            n
        })
        .collect();
    let mut h = Harness::with_nodes(nodes);
    let mut j = job("db", "service", 5);
    group(&mut j).constraints = Some(vec![constraint("${meta.rack}", "distinct_property", "2")]);
    h.register(j);
    let plan = h.eval("db");
    assert_eq!(plan.place.len(), 4);
    let m = &plan.failed_tg_allocs["app"];
    assert_eq!(m.constraint_filtered.as_ref().unwrap()["distinct_property ${meta.rack} 2"], 6);
}

#[test]
fn same_seed_same_plan_and_candidate_limit() {
    let nodes: Vec<_> = (0..64).map(|i| node(&format!("n{i:02}"))).collect();
    let mut a = Harness::with_nodes(nodes.clone());
    let mut b = Harness::with_nodes(nodes);
    for h in [&mut a, &mut b] {
        let mut j = job("web", "service", 10);
        task(&mut j).resources.as_mut().unwrap().cpu = Some(100);
        h.register(j);
    }
    let (pa, pb) = (a.eval("web"), b.eval("web"));
    assert_eq!(pa, pb);
    // log2(64) = 6 candidates per placement: far fewer than 64 nodes looked at.
    for alloc in &pa.place {
        assert!(alloc.metrics.as_ref().unwrap().nodes_evaluated <= 6 + 3);
    }
}
