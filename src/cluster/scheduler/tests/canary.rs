//! Canary updates: canaries placed beside the old allocations, held until promotion, then a
//! rolling update of the rest; failed and superseded canaries stop.

use std::collections::BTreeMap;

use super::harness::{Harness, job, node, task};
use crate::api::{AllocDeploymentStatus, DeploymentStatus, deployment_description};
use crate::cluster::scheduler::{PlanResult, reason};
use crate::spec::{Job, UpdateStrategy};

/// A 3-node cluster running `web` (count `count`, `update { canary, max_parallel = 1 }`) at
/// version 0, with version 1 (a new image) registered.
fn updated(count: i64, canary: i64, auto_promote: bool) -> (Harness, Job) {
    let mut h = Harness::with_nodes((0..3).map(|i| node(&format!("n{i}"))).collect());
    let mut j = job("web", "service", count);
    j.update = Some(UpdateStrategy {
        max_parallel: Some(1),
        canary: Some(canary),
        auto_promote: Some(auto_promote),
        ..UpdateStrategy::default()
    });
    h.register(j.clone());
    h.run("web");
    task(&mut j).config = Some(BTreeMap::from([("image".into(), serde_json::json!("app:2"))]));
    h.register(j.clone());
    (h, j)
}

/// Marks every live allocation of version `version` healthy.
fn healthy(h: &mut Harness, version: u64) {
    for a in h.allocs.iter_mut().filter(|a| a.job_version == version) {
        let canary = a.deployment_status.as_ref().is_some_and(|d| d.canary);
        a.deployment_status = Some(AllocDeploymentStatus {
            healthy: Some(true),
            canary,
            ..AllocDeploymentStatus::default()
        });
    }
}

/// Promotes group `app` of the latest deployment.
fn promote(h: &mut Harness) {
    let d = h.deployments.last_mut().expect("a deployment");
    d.task_groups.get_mut("app").expect("group").promoted = true;
}

fn canary_names(plan: &PlanResult) -> Vec<String> {
    let mut v: Vec<String> = plan
        .place
        .iter()
        .filter(|a| a.deployment_status.as_ref().is_some_and(|d| d.canary))
        .map(|a| a.name.clone())
        .collect();
    v.sort();
    v
}

#[test]
fn a_destructive_update_places_canaries_beside_the_old_allocations() {
    let (mut h, _) = updated(3, 1, false);
    let plan = h.run("web");
    assert_eq!(canary_names(&plan), ["web.app[0]"]);
    assert_eq!(plan.place.len(), 1);
    assert!(
        plan.stop.is_empty(),
        "no old allocation stops before promotion: {plan:?}"
    );
    assert!(plan.place[0].previous_allocation.is_empty());
    let u = &plan.annotations.desired_tg_updates["app"];
    assert_eq!((u.canary, u.ignore, u.destructive_update), (1, 3, 0));
    let d = plan.deployment.as_ref().expect("a deployment");
    let g = &d.task_groups["app"];
    assert_eq!((g.desired_canaries, g.desired_total, g.promoted), (1, 3, false));
    assert_eq!(
        g.placed_canaries.as_deref(),
        Some(&[plan.place[0].id.clone()][..])
    );
    assert_eq!(d.status_description, deployment_description::NEEDS_PROMOTION);
    assert_eq!(plan.place[0].deployment_id, d.id);
    assert_eq!(h.live("web").len(), 4);
}

#[test]
fn canaries_are_held_until_promotion_even_when_healthy() {
    let (mut h, _) = updated(3, 1, false);
    h.run("web");
    healthy(&mut h, 1);
    let plan = h.eval("web");
    assert!(plan.place.is_empty() && plan.stop.is_empty(), "{plan:?}");
    assert!(plan.deployment.is_none(), "the canary deployment goes on");
}

#[test]
fn promotion_retires_the_replaced_allocation_and_rolls_the_rest_under_max_parallel() {
    let (mut h, _) = updated(3, 1, false);
    let first = h.run("web");
    let canary = first.place[0].clone();
    healthy(&mut h, 1);
    promote(&mut h);
    let plan = h.run("web");
    let old_zero = h
        .allocs
        .iter()
        .find(|a| a.job_version == 0 && a.name == "web.app[0]")
        .expect("the old web.app[0]");
    let retired = plan
        .stop
        .iter()
        .find(|s| s.alloc_id == old_zero.id)
        .expect("old [0] stops");
    assert_eq!(retired.description, reason::NOT_NEEDED);
    assert_eq!(plan.stop.len(), 2, "[0] retired, one more replaced: {plan:?}");
    assert_eq!(plan.place.len(), 1);
    assert_eq!(plan.place[0].deployment_id, canary.deployment_id);
    assert!(
        plan.stop.iter().all(|s| s.alloc_id != canary.id),
        "the canary stays"
    );
    assert!(canary_names(&plan).is_empty());
    // The last old allocation follows once the new one is healthy.
    healthy(&mut h, 1);
    let plan = h.run("web");
    assert_eq!((plan.stop.len(), plan.place.len()), (1, 1));
    let mut names: Vec<String> = h.live("web").iter().map(|a| a.name.clone()).collect();
    names.sort();
    assert_eq!(names, ["web.app[0]", "web.app[1]", "web.app[2]"]);
    assert!(h.live("web").iter().all(|a| a.job_version == 1));
}

#[test]
fn as_many_canaries_as_the_count_is_blue_green() {
    let (mut h, _) = updated(3, 3, true);
    let plan = h.run("web");
    assert_eq!(canary_names(&plan), ["web.app[0]", "web.app[1]", "web.app[2]"]);
    let d = plan.deployment.as_ref().expect("a deployment");
    assert_eq!(d.status_description, deployment_description::AUTO_PROMOTION);
    healthy(&mut h, 1);
    promote(&mut h);
    let plan = h.run("web");
    assert_eq!((plan.stop.len(), plan.place.len()), (3, 0), "{plan:?}");
    assert!(plan.stop.iter().all(|s| s.description == reason::NOT_NEEDED));
    assert_eq!(h.live("web").len(), 3);
}

#[test]
fn a_failed_canary_deployment_stops_its_canaries_and_places_none() {
    let (mut h, _) = updated(3, 2, false);
    let first = h.run("web");
    assert_eq!(first.place.len(), 2);
    h.deployments.last_mut().expect("deployment").status = DeploymentStatus::Failed;
    let plan = h.run("web");
    assert_eq!(plan.stop.len(), 2, "{plan:?}");
    assert!(plan.place.is_empty(), "{plan:?}");
    assert!(h.live("web").iter().all(|a| a.job_version == 0));
    assert_eq!(h.live("web").len(), 3);
}

#[test]
fn a_newer_version_stops_the_unpromoted_canaries_of_the_last() {
    let (mut h, mut j) = updated(2, 1, false);
    let first = h.run("web");
    task(&mut j).config = Some(BTreeMap::from([("image".into(), serde_json::json!("app:3"))]));
    h.register(j);
    let plan = h.run("web");
    assert!(
        plan.stop.iter().any(|s| s.alloc_id == first.place[0].id),
        "{plan:?}"
    );
    assert_eq!(canary_names(&plan), ["web.app[0]"]);
    assert_eq!(plan.place[0].job_version, 2);
    assert_eq!(
        h.live("web").len(),
        3,
        "two of version 0 and one canary of version 2"
    );
}

#[test]
fn no_canaries_for_a_first_registration_or_an_in_place_change() {
    let mut h = Harness::with_nodes(vec![node("n0")]);
    let mut j = job("web", "service", 2);
    j.update = Some(UpdateStrategy {
        canary: Some(1),
        ..UpdateStrategy::default()
    });
    h.register(j.clone());
    let plan = h.run("web");
    assert_eq!(plan.place.len(), 2);
    assert!(canary_names(&plan).is_empty());
    let d = plan.deployment.as_ref().expect("a deployment");
    assert_eq!(d.task_groups["app"].desired_canaries, 0);
    assert_eq!(d.status_description, deployment_description::RUNNING);
    j.meta = Some(BTreeMap::from([("owner".into(), "ops".into())]));
    h.register(j);
    let plan = h.run("web");
    assert!(plan.place.is_empty() && plan.stop.is_empty());
    assert_eq!(plan.in_place.len(), 2);
}

#[test]
fn batch_jobs_ignore_canary() {
    let mut h = Harness::with_nodes(vec![node("n0")]);
    let mut j = job("b", "batch", 1);
    j.update = Some(UpdateStrategy {
        canary: Some(1),
        ..UpdateStrategy::default()
    });
    h.register(j.clone());
    h.run("b");
    task(&mut j).config = Some(BTreeMap::from([("image".into(), serde_json::json!("app:2"))]));
    h.register(j);
    let plan = h.run("b");
    assert!(canary_names(&plan).is_empty());
    assert_eq!((plan.stop.len(), plan.place.len()), (1, 1));
}
