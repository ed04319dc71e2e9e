//! The deployment watcher's rules, checked on plain state values.

use super::*;
use crate::api::{AllocDeploymentStatus, Allocation};

const SEC: i64 = 1_000_000_000;

fn deployment(desired: i64, progress_deadline: i64) -> Deployment {
    Deployment {
        id: "d1".into(),
        namespace: "default".into(),
        job_id: "web".into(),
        status: DeploymentStatus::Running,
        task_groups: BTreeMap::from([(
            "web".into(),
            DeploymentState {
                desired_total: desired,
                progress_deadline,
                ..Default::default()
            },
        )]),
        ..Default::default()
    }
}

fn alloc(id: &str, healthy: Option<bool>) -> Allocation {
    Allocation {
        id: id.into(),
        namespace: "default".into(),
        job_id: "web".into(),
        task_group: "web".into(),
        deployment_id: "d1".into(),
        deployment_status: healthy.map(|h| AllocDeploymentStatus {
            healthy: Some(h),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn state(allocs: &[Allocation]) -> State {
    let mut s = State::default();
    for a in allocs {
        s.allocs.insert(a.id.clone(), a.clone());
    }
    s
}

#[test]
fn all_healthy_is_successful() {
    let s = state(&[alloc("a", Some(true)), alloc("b", Some(true))]);
    let u = review(&s, &deployment(2, 0), 10 * SEC).unwrap();
    assert_eq!(u.status, DeploymentStatus::Successful);
    assert_eq!(u.description, DESC_SUCCESSFUL);
    assert_eq!(u.task_groups["web"].healthy_allocs, 2);
    assert_eq!(u.task_groups["web"].placed_allocs, 2);
    assert!(u.eval.is_none());
}

#[test]
fn one_unhealthy_fails_it() {
    let s = state(&[alloc("a", Some(true)), alloc("b", Some(false))]);
    let u = review(&s, &deployment(2, 0), 10 * SEC).unwrap();
    assert_eq!(u.status, DeploymentStatus::Failed);
    assert_eq!(u.description, DESC_UNHEALTHY);
    assert_eq!(u.task_groups["web"].unhealthy_allocs, 1);
}

#[test]
fn progress_asks_for_the_next_batch_and_moves_the_deadline() {
    let mut d = deployment(3, 60 * SEC);
    d.task_groups.get_mut("web").unwrap().require_progress_by = Some(format_time(50 * SEC));
    let mut s = state(&[alloc("a", Some(true)), alloc("b", None)]);
    register(&mut s, 10, "app:1");
    let u = review(&s, &d, 10 * SEC).unwrap();
    assert_eq!(u.status, DeploymentStatus::Running);
    let eval = u.eval.expect("an evaluation for the next batch");
    assert_eq!(eval.triggered_by, triggered_by::DEPLOYMENT_WATCHER);
    assert_eq!(eval.deployment_id, "d1");
    assert_eq!(
        u.task_groups["web"]
            .require_progress_by
            .as_deref()
            .and_then(parse_time),
        Some(70 * SEC)
    );
}

#[test]
fn no_progress_by_the_deadline_fails_it() {
    let mut d = deployment(2, 60 * SEC);
    let s = state(&[alloc("a", None), alloc("b", None)]);
    // The first review sets the deadline; nothing changes before it passes.
    let u = review(&s, &d, 0).unwrap();
    assert_eq!(u.status, DeploymentStatus::Running);
    d.task_groups = u.task_groups;
    assert!(review(&s, &d, 30 * SEC).is_none());
    let u = review(&s, &d, 61 * SEC).unwrap();
    assert_eq!(u.status, DeploymentStatus::Failed);
    assert_eq!(u.description, DESC_PROGRESS);
}

/// Registers version `image` of job `web` at Raft index `index`.
fn register(s: &mut State, index: u64, image: &str) {
    let mut job: crate::spec::Job = serde_json::from_value(serde_json::json!({
        "ID": "web", "Type": "service",
        "TaskGroups": [{"Name": "web", "Tasks": [{"Name": "t", "Driver": "docker",
                        "Config": {"image": image}}]}],
    }))
    .unwrap();
    job.namespace = Some("default".into());
    let reg = JobRegister {
        job,
        submission: None,
        enforce_index: None,
        eval: None,
        submit_time: 0,
    };
    s.apply(index, Command::JobRegister(Box::new(reg)));
}

#[test]
fn a_failed_auto_revert_deployment_reverts_to_the_latest_stable_version() {
    let mut s = state(&[alloc("a", Some(false))]);
    register(&mut s, 10, "app:1");
    register(&mut s, 11, "app:2");
    let v0 = s.jobs.get_mut("default").unwrap().get_mut("web").unwrap();
    assert!(v0.set_stable(0, true, None));
    let mut d = deployment(1, 0);
    d.job_version = 1;
    d.task_groups.get_mut("web").unwrap().auto_revert = true;
    let u = review(&s, &d, 0).unwrap();
    assert_eq!(u.status, DeploymentStatus::Failed);
    assert_eq!(
        u.description,
        format!("{DESC_UNHEALTHY} - rolling back to job version 0")
    );
    let Some(Command::JobRegister(reg)) = revert_command(&s, &d, 0) else {
        panic!("a revert");
    };
    assert_eq!(reg.job.version, Some(0));
    assert_eq!(reg.enforce_index, Some(11));
    s.apply(12, Command::JobRegister(reg));
    let cur = s.job("default", "web").unwrap().current();
    assert_eq!(cur.version, Some(2));
    let image = &cur.task_groups.as_ref().unwrap()[0].tasks.as_ref().unwrap()[0].config;
    assert_eq!(image.as_ref().unwrap()["image"], "app:1");
}

#[test]
fn finished_deployments_are_left_alone() {
    let mut d = deployment(1, 0);
    d.status = DeploymentStatus::Cancelled;
    assert!(review(&state(&[alloc("a", Some(false))]), &d, 0).is_none());
}

/// A deployment of 3 wanting `canaries` canaries, and allocation `id` as one of them.
fn canary_deployment(canaries: i64, auto_promote: bool) -> Deployment {
    let mut d = deployment(3, 60 * SEC);
    let g = d.task_groups.get_mut("web").unwrap();
    g.desired_canaries = canaries;
    g.auto_promote = auto_promote;
    d
}

fn canary(id: &str, healthy: Option<bool>) -> Allocation {
    let mut a = alloc(id, healthy);
    a.deployment_status.get_or_insert_with(Default::default).canary = true;
    a
}

#[test]
fn healthy_canaries_wait_for_manual_promotion_past_the_progress_deadline() {
    let mut s = state(&[canary("c1", Some(true))]);
    register(&mut s, 10, "app:1");
    let mut d = canary_deployment(1, false);
    d.status_description = deployment_description::NEEDS_PROMOTION.into();
    let u = review(&s, &d, 0).unwrap();
    assert_eq!(u.status, DeploymentStatus::Running);
    let g = &u.task_groups["web"];
    assert_eq!(g.placed_canaries.as_deref(), Some(&["c1".to_string()][..]));
    assert!(!g.promoted);
    assert_eq!(u.description, deployment_description::NEEDS_PROMOTION);
    d.task_groups = u.task_groups;
    assert!(
        review(&s, &d, 3600 * SEC).is_none(),
        "no deadline while awaiting promotion"
    );
}

#[test]
fn auto_promote_promotes_once_every_canary_is_healthy_and_asks_for_the_rest() {
    let mut s = state(&[canary("c1", Some(true)), canary("c2", None)]);
    register(&mut s, 10, "app:1");
    let d = canary_deployment(2, true);
    let u = review(&s, &d, 0).unwrap();
    assert!(!u.task_groups["web"].promoted, "one canary is not healthy yet");
    s.allocs.get_mut("c2").unwrap().deployment_status = canary("c2", Some(true)).deployment_status;
    let u = review(&s, &d, SEC).unwrap();
    assert!(u.task_groups["web"].promoted);
    assert_eq!(u.status, DeploymentStatus::Running);
    assert_eq!(u.description, deployment_description::RUNNING);
    assert!(u.eval.is_some(), "an evaluation places the rest");
}

#[test]
fn auto_promote_waits_for_every_canary_group_to_ask_for_it() {
    let mut s = state(&[canary("c1", Some(true))]);
    register(&mut s, 10, "app:1");
    let mut d = canary_deployment(1, true);
    let other = DeploymentState {
        desired_canaries: 1,
        desired_total: 1,
        ..Default::default()
    };
    d.task_groups.insert("api".into(), other);
    let u = review(&s, &d, 0).unwrap();
    assert!(!u.task_groups["web"].promoted);
}

#[test]
fn promoted_canaries_count_toward_success() {
    let s = state(&[
        canary("c1", Some(true)),
        alloc("b", Some(true)),
        alloc("c", Some(true)),
    ]);
    let mut d = canary_deployment(1, false);
    let u = review(&s, &d, 0).unwrap();
    assert_eq!(u.status, DeploymentStatus::Running, "3 healthy but not promoted");
    d.task_groups.get_mut("web").unwrap().promoted = true;
    let u = review(&s, &d, 0).unwrap();
    assert_eq!(u.status, DeploymentStatus::Successful);
}

#[test]
fn an_unhealthy_canary_fails_the_deployment() {
    let s = state(&[canary("c1", Some(false))]);
    let u = review(&s, &canary_deployment(1, true), 0).unwrap();
    assert_eq!(u.status, DeploymentStatus::Failed);
    assert_eq!(u.description, DESC_UNHEALTHY);
}
