//! Garbage collection picks only finished objects past their age, keeps what still runs, and
//! keeps the evaluation index in step.

use serde_json::json;

use super::*;
use crate::api::{ClientStatus, DeploymentStatus, DesiredStatus, EvalStatus};

const T0: i64 = 1_000;

fn job(id: &str, kind: &str, stop: bool, status: &str) -> JobRecord {
    let job: Job = serde_json::from_value(json!({
        "ID": id, "Name": id, "Type": kind, "Namespace": "default", "Stop": stop,
        "Status": status, "SubmitTime": T0, "JobModifyIndex": 1,
        "TaskGroups": [{"Name": "g", "Tasks": [{"Name": "t", "Driver": "raw_exec"}]}],
    }))
    .unwrap();
    JobRecord::new(JobVersion {
        job,
        submission: None,
    })
}

fn eval(id: &str, job: &str, status: EvalStatus, at: i64) -> Evaluation {
    Evaluation {
        id: id.into(),
        namespace: "default".into(),
        job_id: job.into(),
        status,
        modify_time: at,
        ..Default::default()
    }
}

fn alloc(id: &str, job: &str, eval: &str, client: ClientStatus, at: i64) -> Allocation {
    Allocation {
        id: id.into(),
        namespace: "default".into(),
        job_id: job.into(),
        eval_id: eval.into(),
        desired_status: DesiredStatus::Run,
        client_status: client,
        modify_time: at,
        ..Default::default()
    }
}

fn state() -> State {
    let mut s = State::default();
    let jobs = s.jobs.entry("default".into()).or_default();
    jobs.insert("web".into(), job("web", "service", false, "running"));
    jobs.insert("old".into(), job("old", "service", true, "dead"));
    jobs.insert(
        "cron/periodic-1".into(),
        job("cron/periodic-1", "batch", false, "dead"),
    );
    for e in [
        eval("e-web-old", "web", EvalStatus::Complete, T0),
        eval("e-web-new", "web", EvalStatus::Complete, T0 + 100),
        eval("e-web-pending", "web", EvalStatus::Pending, T0),
        eval("e-old", "old", EvalStatus::Complete, T0),
        eval("e-child", "cron/periodic-1", EvalStatus::Complete, T0),
        eval("e-purged", "purged", EvalStatus::Complete, T0),
    ] {
        s.evals.insert(e.id.clone(), e);
    }
    for a in [
        alloc("a-web-done", "web", "e-web-old", ClientStatus::Complete, T0),
        alloc("a-web-run", "web", "e-web-new", ClientStatus::Running, T0),
        alloc("a-old", "old", "e-old", ClientStatus::Complete, T0),
        alloc(
            "a-child",
            "cron/periodic-1",
            "e-child",
            ClientStatus::Complete,
            T0,
        ),
        alloc("a-purged", "purged", "e-purged", ClientStatus::Complete, T0),
    ] {
        s.allocs.insert(a.id.clone(), a);
    }
    s.deployments.insert(
        "d-done".into(),
        Deployment {
            id: "d-done".into(),
            namespace: "default".into(),
            job_id: "web".into(),
            status: DeploymentStatus::Successful,
            modify_index: 3,
            ..Default::default()
        },
    );
    s.deployments.insert(
        "d-live".into(),
        Deployment {
            id: "d-live".into(),
            job_id: "web".into(),
            status: DeploymentStatus::Running,
            modify_index: 3,
            ..Default::default()
        },
    );
    s
}

fn cutoffs(at: i64, deployment_index: u64) -> GcCutoffs {
    GcCutoffs {
        eval_before: at,
        batch_eval_before: at,
        job_before: at,
        deployment_before_index: deployment_index,
        force: false,
    }
}

#[test]
fn nothing_young_goes() {
    let gc = state().gc_candidates(&cutoffs(T0 - 1, 0));
    assert!(gc.is_empty(), "{gc:?}");
}

#[test]
fn old_finished_objects_go_and_running_ones_stay() {
    let s = state();
    let gc = s.gc_candidates(&cutoffs(T0, 3));
    let jobs: Vec<&str> = gc.jobs.iter().map(|j| j.id.as_str()).collect();
    assert_eq!(jobs, ["cron/periodic-1", "old"]);
    assert_eq!(gc.evals, ["e-child", "e-old", "e-purged", "e-web-old"]);
    assert_eq!(gc.allocs, ["a-child", "a-old", "a-purged", "a-web-done"]);
    assert_eq!(gc.deployments, ["d-done"]);

    let mut after = s.clone();
    after.apply(10, Command::GcCollect(Box::new(gc)));
    assert!(after.job("default", "web").is_some());
    assert!(after.job("default", "old").is_none());
    assert!(after.allocs.contains_key("a-web-run"));
    assert_eq!(after.allocs.len(), 1);
    let pending: Vec<&str> = after.evals.pending().map(|e| e.id.as_str()).collect();
    assert_eq!(pending, ["e-web-pending"]);
    assert_eq!(after.evals.len(), 2);
    assert_eq!(after.deployments.len(), 1);
    assert_eq!(after.table_index("evals"), 10);
}

#[test]
fn forced_collection_ignores_age_but_not_state() {
    let gc = state().gc_candidates(&GcCutoffs::force());
    assert!(!gc.allocs.contains(&"a-web-run".to_owned()));
    assert!(!gc.evals.contains(&"e-web-pending".to_owned()));
    assert!(
        !gc.evals.contains(&"e-web-new".to_owned()),
        "its allocation still runs"
    );
    assert!(!gc.jobs.iter().any(|j| j.id == "web"));
}

#[test]
fn apply_keeps_what_changed_since_it_was_chosen() {
    let mut s = state();
    let gc = s.gc_candidates(&GcCutoffs::force());
    // The job is registered again and the allocation restarts before the removal commits.
    s.jobs
        .get_mut("default")
        .unwrap()
        .get_mut("old")
        .unwrap()
        .current_mut()
        .job_modify_index = Some(9);
    s.allocs.get_mut("a-purged").unwrap().client_status = ClientStatus::Running;
    s.apply(10, Command::GcCollect(Box::new(gc)));
    assert!(s.job("default", "old").is_some());
    assert!(s.allocs.contains_key("a-purged"));
    assert!(!s.allocs.contains_key("a-child"));
}

#[test]
fn a_live_batch_job_keeps_only_its_current_versions_finished_allocations() {
    let mut s = state();
    let jobs = s.jobs.get_mut("default").unwrap();
    let mut b = job("b", "batch", false, "running");
    b.current_mut().job_modify_index = Some(5);
    jobs.insert("b".into(), b);
    s.evals
        .insert("e-b1".into(), eval("e-b1", "b", EvalStatus::Complete, T0));
    s.evals
        .insert("e-b2".into(), eval("e-b2", "b", EvalStatus::Complete, T0));
    s.evals
        .insert("e-b3".into(), eval("e-b3", "b", EvalStatus::Pending, T0));
    let mut old = alloc("a-b-old", "b", "e-b1", ClientStatus::Complete, T0);
    old.create_index = 2;
    let mut current = alloc("a-b-now", "b", "e-b2", ClientStatus::Complete, T0);
    current.create_index = 6;
    s.allocs.insert(old.id.clone(), old);
    s.allocs.insert(current.id.clone(), current);
    let gc = s.gc_candidates(&GcCutoffs::force());
    assert!(gc.evals.contains(&"e-b1".to_owned()));
    assert!(gc.allocs.contains(&"a-b-old".to_owned()));
    assert!(!gc.evals.contains(&"e-b2".to_owned()), "its allocation stays");
    assert!(!gc.allocs.contains(&"a-b-now".to_owned()));
}
