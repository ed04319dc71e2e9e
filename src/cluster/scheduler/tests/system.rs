//! System and sysbatch jobs: one allocation per feasible node.

use super::harness::{Harness, constraint, group, job, node};
use crate::api::{ClientStatus, NodeStatus};
use crate::cluster::scheduler::reason;

#[test]
fn system_job_runs_on_every_feasible_node() {
    let mut nodes: Vec<_> = (0..5).map(|i| node(&format!("n{i}"))).collect();
    nodes[3].status = NodeStatus::Down;
    nodes[4].attributes.insert("kernel.name".into(), "windows".into());
    let mut h = Harness::with_nodes(nodes);
    let mut j = job("agent", "system", 1);
    group(&mut j).constraints = Some(vec![constraint("${attr.kernel.name}", "=", "linux")]);
    h.register(j);
    let plan = h.run("agent");
    assert_eq!(h.live_node_names("agent"), ["n0", "n1", "n2"]);
    assert!(plan.place.iter().all(|a| a.name == "agent.app[0]"));
    assert!(plan.failed_tg_allocs.is_empty());
    assert!(h.eval("agent").is_no_op());

    // A new node gets one; a node going down loses its allocation.
    h.nodes.push(node("n5"));
    h.node_mut("n0").status = NodeStatus::Down;
    let plan = h.run("agent");
    assert_eq!(plan.place.len(), 1);
    assert_eq!(plan.place[0].node_name, "n5");
    assert_eq!(plan.stop.len(), 1);
    assert_eq!((plan.stop[0].description.as_str(), plan.stop[0].client_status), (reason::LOST, Some(ClientStatus::Lost)));
    assert_eq!(h.live_node_names("agent"), ["n1", "n2", "n5"]);
}

#[test]
fn system_job_reports_nodes_without_room() {
    let mut nodes: Vec<_> = (0..3).map(|i| node(&format!("n{i}"))).collect();
    nodes[1].node_resources.memory.memory_mb = 100;
    let mut h = Harness::with_nodes(nodes);
    h.register(job("agent", "system", 1));
    let plan = h.eval("agent");
    assert_eq!(plan.place.len(), 2);
    let m = &plan.failed_tg_allocs["app"];
    assert_eq!(m.dimension_exhausted.as_ref().unwrap()["memory"], 1);
    assert!(m.node_reasons["id-n1"].starts_with("memory exhausted"));
    assert_eq!(plan.queued_allocations["app"], 1);
}

#[test]
fn sysbatch_does_not_rerun_finished_nodes() {
    let mut h = Harness::with_nodes((0..2).map(|i| node(&format!("n{i}"))).collect());
    h.register(job("gc", "sysbatch", 1));
    h.run("gc");
    for a in h.allocs.iter_mut() {
        a.client_status = ClientStatus::Complete;
    }
    assert!(h.eval("gc").place.is_empty());
}
