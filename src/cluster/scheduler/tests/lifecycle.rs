//! A job over time: count changes, in-place and destructive updates, drains, down nodes,
//! batch completion and failure, stops, deployments, and plan verification.

use std::collections::BTreeMap;

use super::harness::{Harness, group, job, node, task};
use crate::api::{ClientStatus, DrainStrategy, NodeStatus};
use crate::cluster::scheduler::{Conflict, reason, verify_plan};
use crate::spec::{Duration, NetworkResource, Port, ReschedulePolicy, UpdateStrategy};

fn cluster(n: usize) -> Harness {
    Harness::with_nodes((0..n).map(|i| node(&format!("n{i}"))).collect())
}

fn names(h: &Harness, job: &str) -> Vec<String> {
    let mut v: Vec<String> = h.live(job).iter().map(|a| a.name.clone()).collect();
    v.sort();
    v
}

#[test]
fn count_increase_places_new_indexes_and_decrease_stops_highest() {
    let mut h = cluster(3);
    h.register(job("web", "service", 2));
    h.run("web");
    assert_eq!(names(&h, "web"), ["web.app[0]", "web.app[1]"]);

    let mut j = job("web", "service", 4);
    j.meta = Some(BTreeMap::new());
    h.register(j);
    let plan = h.run("web");
    let u = &plan.annotations.desired_tg_updates["app"];
    assert_eq!((u.place, u.in_place_update), (2, 2));
    assert_eq!(
        names(&h, "web"),
        ["web.app[0]", "web.app[1]", "web.app[2]", "web.app[3]"]
    );

    h.register(job("web", "service", 1));
    let plan = h.run("web");
    assert_eq!(plan.annotations.desired_tg_updates["app"].stop, 3);
    assert!(plan.stop.iter().all(|s| s.description == reason::NOT_NEEDED));
    assert_eq!(names(&h, "web"), ["web.app[0]"]);
}

#[test]
fn unchanged_job_is_a_no_op() {
    let mut h = cluster(2);
    h.register(job("web", "service", 2));
    h.run("web");
    let plan = h.eval("web");
    assert!(plan.is_no_op(), "{plan:?}");
    assert_eq!(plan.annotations.desired_tg_updates["app"].ignore, 2);
}

#[test]
fn in_place_for_count_meta_and_update_strategy() {
    let mut h = cluster(2);
    h.register(job("web", "service", 2));
    h.run("web");
    let mut j = job("web", "service", 2);
    j.meta = Some(BTreeMap::from([("owner".into(), "team-a".into())]));
    j.update = Some(UpdateStrategy {
        max_parallel: Some(2),
        ..UpdateStrategy::default()
    });
    h.register(j);
    let plan = h.eval("web");
    assert_eq!(plan.in_place.len(), 2);
    assert!(plan.place.is_empty() && plan.stop.is_empty());
    assert!(plan.in_place.iter().all(|a| a.job_version == 1));
    assert!(
        plan.deployment.is_some(),
        "a spec change of a service job opens a deployment"
    );
}

#[test]
fn destructive_update_respects_max_parallel() {
    let mut h = cluster(3);
    let mut j = job("web", "service", 3);
    j.update = Some(UpdateStrategy {
        max_parallel: Some(1),
        ..UpdateStrategy::default()
    });
    h.register(j.clone());
    h.run("web");
    task(&mut j).config = Some(BTreeMap::from([("image".into(), serde_json::json!("app:2"))]));
    h.register(j);
    let plan = h.eval("web");
    let u = &plan.annotations.desired_tg_updates["app"];
    assert_eq!((u.destructive_update, u.ignore), (1, 2));
    assert_eq!(plan.place.len(), 1);
    assert_eq!(plan.stop.len(), 1);
    assert_eq!(plan.stop[0].description, reason::UPDATING);
    assert_eq!(plan.place[0].previous_allocation, plan.stop[0].alloc_id);
    assert_eq!(plan.place[0].name, "web.app[0]");
    let d = plan.deployment.as_ref().expect("deployment");
    assert_eq!(d.job_version, 1);
    assert_eq!(d.task_groups["app"].desired_total, 3);
    assert_eq!(d.task_groups["app"].placed_allocs, 1);
    assert_eq!(plan.place[0].deployment_id, d.id);
}

#[test]
fn draining_node_migrates_and_down_node_loses() {
    let mut h = cluster(3);
    h.register(job("web", "service", 3));
    h.run("web");
    let on_n0 = h.live("web").iter().filter(|a| a.node_name == "n0").count();
    assert!(on_n0 >= 1, "anti-affinity puts one on each node");

    h.node_mut("n0").drain_strategy = Some(DrainStrategy::default());
    let plan = h.run("web");
    let u = &plan.annotations.desired_tg_updates["app"];
    assert_eq!(u.migrate, on_n0 as u64);
    assert!(plan.stop.iter().all(|s| s.description == reason::MIGRATING));
    assert!(plan.place.iter().all(|a| a.node_name != "n0"));
    assert!(h.live("web").iter().all(|a| a.node_name != "n0"));
    assert_eq!(names(&h, "web"), ["web.app[0]", "web.app[1]", "web.app[2]"]);

    h.node_mut("n1").status = NodeStatus::Down;
    let lost: Vec<String> = h
        .live("web")
        .iter()
        .filter(|a| a.node_name == "n1")
        .map(|a| a.id.clone())
        .collect();
    let plan = h.run("web");
    assert_eq!(plan.stop.len(), lost.len());
    assert!(
        plan.stop
            .iter()
            .all(|s| s.description == reason::LOST && s.client_status == Some(ClientStatus::Lost))
    );
    assert!(
        plan.place
            .iter()
            .all(|a| a.node_name == "n2" && lost.contains(&a.previous_allocation))
    );
    assert_eq!(names(&h, "web"), ["web.app[0]", "web.app[1]", "web.app[2]"]);
}

#[test]
fn batch_complete_is_not_replaced_failed_is_rescheduled_once() {
    let mut h = cluster(2);
    h.register(job("etl", "batch", 2));
    h.run("etl");
    let ids: Vec<String> = h.live("etl").iter().map(|a| a.id.clone()).collect();
    h.allocs
        .iter_mut()
        .find(|a| a.id == ids[0])
        .unwrap()
        .client_status = ClientStatus::Complete;
    h.allocs
        .iter_mut()
        .find(|a| a.id == ids[1])
        .unwrap()
        .client_status = ClientStatus::Failed;
    let plan = h.run("etl");
    assert_eq!(plan.place.len(), 1, "only the failed one comes back");
    let again = &plan.place[0];
    assert_eq!(again.previous_allocation, ids[1]);
    assert_eq!(
        again
            .reschedule_tracker
            .as_ref()
            .unwrap()
            .events
            .as_ref()
            .unwrap()
            .len(),
        1
    );
    // Batch default: one reschedule per 24 h, so a second failure stays failed.
    let again_id = again.id.clone();
    h.allocs
        .iter_mut()
        .find(|a| a.id == again_id)
        .unwrap()
        .client_status = ClientStatus::Failed;
    let plan = h.eval("etl");
    assert!(plan.place.is_empty(), "{:?}", plan.place);

    // Unlimited policy: a failure is rescheduled every time.
    let mut h = cluster(2);
    let mut j = job("etl", "batch", 1);
    j.reschedule = Some(ReschedulePolicy {
        unlimited: Some(true),
        delay: Some(Duration::from_secs(5)),
        ..ReschedulePolicy::default()
    });
    h.register(j);
    h.run("etl");
    for round in 1..=2 {
        let id = h.live("etl")[0].id.clone();
        h.allocs.iter_mut().find(|a| a.id == id).unwrap().client_status = ClientStatus::Failed;
        let plan = h.run("etl");
        assert_eq!(plan.place.len(), 1, "round {round}");
        assert_eq!(plan.place[0].previous_allocation, id);
        assert_eq!(
            plan.stop
                .iter()
                .filter(|s| s.description == reason::RESCHEDULED)
                .count(),
            1
        );
    }
}

#[test]
fn a_new_version_of_a_batch_job_runs_again() {
    let mut h = cluster(2);
    h.register(job("etl", "batch", 2));
    h.run("etl");
    for a in h.allocs.iter_mut() {
        a.client_status = ClientStatus::Complete;
    }
    assert!(h.eval("etl").place.is_empty(), "finished at this version");
    let mut j = job("etl", "batch", 2);
    j.meta = Some([("run".to_string(), "2".to_string())].into());
    h.register(j);
    let plan = h.eval("etl");
    assert_eq!(plan.place.len(), 2, "both run again at version 1");
    assert!(plan.place.iter().all(|a| a.job_version == 1));
    assert!(plan.stop.is_empty(), "finished allocations are left as history");
}

#[test]
fn stopped_job_stops_everything() {
    let mut h = cluster(2);
    h.register(job("web", "service", 2));
    h.run("web");
    let mut j = job("web", "service", 2);
    j.stop = Some(true);
    h.register(j);
    let plan = h.eval("web");
    assert_eq!(plan.stop.len(), 2);
    assert!(plan.stop.iter().all(|s| s.description == reason::JOB_STOPPED));
    assert!(plan.place.is_empty());
}

#[test]
fn verify_plan_catches_a_node_filled_meanwhile() {
    let mut n = node("only");
    n.node_resources.cpu.cpu_shares = 1000;
    let mut h = Harness::with_nodes(vec![n]);
    h.register(job("a", "service", 1));
    h.register(job("b", "service", 1));
    let plan_a = h.eval("a");
    let plan_b = h.eval("b");
    assert_eq!(verify_plan(&h, &plan_a), Ok(()));
    h.apply(&plan_a);
    assert_eq!(
        verify_plan(&h, &plan_b),
        Ok(()),
        "two 500 MHz allocations fit 1000 MHz"
    );
    h.apply(&plan_b);
    h.register(job("c", "service", 1));
    let plan_c = h.eval("c");
    assert_eq!(plan_c.place.len(), 0);
    // A plan made before the node filled up no longer fits.
    let mut h2 = Harness::with_nodes(h.nodes.clone());
    h2.register(job("c", "service", 1));
    let stale = h2.eval("c");
    assert!(matches!(
        verify_plan(&h, &stale),
        Err(Conflict::Exhausted { dimension: "cpu", .. })
    ));
    h.node_mut("only").status = NodeStatus::Down;
    assert_eq!(
        verify_plan(&h, &stale),
        Err(Conflict::NodeNotReady("id-only".into()))
    );
}

#[test]
fn verify_plan_counts_the_room_its_own_stops_free() {
    // One node, one allocation filling its CPU and holding static port 8080; a destructive
    // update replaces it on the same node, which fits only once the old one stops.
    let mut n = node("only");
    n.node_resources.cpu.cpu_shares = 1000;
    let mut h = Harness::with_nodes(vec![n]);
    let mut j = job("web", "service", 1);
    task(&mut j).resources.as_mut().unwrap().cpu = Some(1000);
    group(&mut j).networks = Some(vec![NetworkResource {
        mode: "host".into(),
        reserved_ports: Some(vec![Port {
            label: "http".into(),
            value: 8080,
            ..Port::default()
        }]),
        ..NetworkResource::default()
    }]);
    h.register(j.clone());
    h.run("web");
    task(&mut j).config = Some(BTreeMap::from([("image".into(), serde_json::json!("app:2"))]));
    h.register(j);
    let plan = h.eval("web");
    assert_eq!((plan.stop.len(), plan.place.len()), (1, 1));
    assert_eq!(plan.place[0].node_name, "only");
    assert_eq!(verify_plan(&h, &plan), Ok(()));
    let mut without_stop = plan.clone();
    without_stop.stop.clear();
    assert_eq!(
        verify_plan(&h, &without_stop),
        Err(Conflict::PortCollision {
            node: "id-only".into(),
            port: 8080
        })
    );
}

#[test]
fn rolling_update_waits_for_the_batch_in_flight_to_be_healthy() {
    let mut h = cluster(3);
    let mut j = job("web", "service", 3);
    j.update = Some(UpdateStrategy {
        max_parallel: Some(1),
        ..UpdateStrategy::default()
    });
    h.register(j.clone());
    h.run("web");
    task(&mut j).config = Some(BTreeMap::from([("image".into(), serde_json::json!("app:2"))]));
    h.register(j);
    let first = h.run("web");
    assert_eq!(first.place.len(), 1);
    let deployment = first.deployment.as_ref().expect("deployment").clone();

    // The new allocation has not reported health: the next evaluation places nothing more.
    let plan = h.eval("web");
    assert!(plan.place.is_empty() && plan.stop.is_empty(), "{plan:?}");

    // Once it is healthy, the next one goes, in the same deployment.
    let id = first.place[0].id.clone();
    let a = h.allocs.iter_mut().find(|a| a.id == id).unwrap();
    a.deployment_status = Some(crate::api::AllocDeploymentStatus {
        healthy: Some(true),
        ..Default::default()
    });
    let plan = h.eval("web");
    assert_eq!((plan.place.len(), plan.stop.len()), (1, 1));
    assert!(plan.deployment.is_none(), "the running deployment continues");
    assert_eq!(plan.place[0].deployment_id, deployment.id);
}

#[test]
fn lost_allocation_on_a_returning_node_is_stopped_and_replaced() {
    let mut h = cluster(2);
    h.register(job("web", "service", 1));
    h.run("web");
    let id = h.live("web")[0].id.clone();
    // The node was declared down (allocation lost) and is ready again before the evaluation.
    h.allocs.iter_mut().find(|a| a.id == id).unwrap().client_status = ClientStatus::Lost;
    let plan = h.eval("web");
    assert_eq!(plan.stop.len(), 1);
    assert_eq!(plan.stop[0].alloc_id, id);
    assert_eq!(plan.stop[0].description, reason::LOST);
    assert_eq!(plan.place.len(), 1);
    assert_eq!(plan.place[0].previous_allocation, id);
}
