//! Gates decided from allocation stubs alone.

use super::*;

#[test]
fn a_batch_gate_fails_on_a_nonzero_exit_code_even_before_the_client_says_failed() {
    let j = job("b", "batch", 1);
    let ev = crate::api::TaskEvent {
        r#type: "Terminated".into(),
        exit_code: 2,
        ..Default::default()
    };
    let state = crate::api::TaskState {
        state: "dead".into(),
        events: Some(vec![ev]),
        ..Default::default()
    };
    let a = crate::api::AllocListStub {
        id: "abcdef0123".into(),
        client_status: crate::api::ClientStatus::Complete,
        task_states: Some([("t".to_string(), state)].into()),
        ..Default::default()
    };
    match evaluate(crate::stack::Gate::Complete, &j, 0.into(), &[a], None) {
        GateStatus::Failed { reason, alloc_id, .. } => {
            assert!(reason.contains("exited with code 2"), "{reason}");
            assert_eq!(alloc_id.as_deref(), Some("abcdef0123"));
        }
        other => panic!("expected a failure, got {other:?}"),
    }
}

fn stub(id: &str, status: crate::api::ClientStatus) -> crate::api::AllocListStub {
    crate::api::AllocListStub {
        id: id.into(),
        client_status: status,
        ..Default::default()
    }
}

#[test]
fn a_sysbatch_gate_passes_once_every_placed_allocation_completed() {
    use crate::api::ClientStatus::{Complete, Running};
    let j = job("s", "sysbatch", 1);
    let gate = crate::stack::Gate::default_for(&j);
    assert_eq!(gate, crate::stack::Gate::Complete);
    let waiting = [stub("a1", Complete), stub("a2", Running), stub("a3", Complete)];
    assert!(matches!(evaluate(gate, &j, 0.into(), &waiting, None), GateStatus::Waiting(c) if c.desired == 3));
    let done = [stub("a1", Complete), stub("a2", Complete), stub("a3", Complete)];
    match evaluate(gate, &j, 0.into(), &done, None) {
        GateStatus::Passed(c, detail) => {
            assert_eq!((c.desired, c.healthy), (3, 3));
            assert!(detail.contains("3/3"), "{detail}");
        }
        other => panic!("expected a pass, got {other:?}"),
    }
    // Nothing placed yet is not a pass.
    assert!(matches!(
        evaluate(gate, &j, 0.into(), &[], None),
        GateStatus::Waiting(_)
    ));
}

#[test]
fn a_system_gate_passes_once_every_placed_allocation_runs() {
    use crate::api::ClientStatus::{Pending, Running};
    let j = job("d", "system", 1);
    let gate = crate::stack::Gate::default_for(&j);
    let waiting = [stub("a1", Running), stub("a2", Pending)];
    assert!(matches!(
        evaluate(gate, &j, 0.into(), &waiting, None),
        GateStatus::Waiting(_)
    ));
    let up = [stub("a1", Running), stub("a2", Running)];
    assert!(matches!(evaluate(gate, &j, 0.into(), &up, None), GateStatus::Passed(c, _) if c.desired == 2));
}

#[test]
fn healthy_canaries_stop_a_healthy_gate_at_awaiting_promotion() {
    use crate::api::{ClientStatus::Running, Deployment, DeploymentState, DeploymentStatus};
    let j = job("web", "service", 3);
    let canary = stub("c1", Running);
    let mut d = Deployment {
        id: "d1234567890".into(),
        job_version: 0,
        status: DeploymentStatus::Running,
        task_groups: [(
            "web".to_string(),
            DeploymentState {
                desired_canaries: 1,
                desired_total: 3,
                healthy_allocs: 0,
                ..Default::default()
            },
        )]
        .into(),
        ..Default::default()
    };
    let gate = crate::stack::Gate::Healthy;
    let waiting = evaluate(gate, &j, 0.into(), std::slice::from_ref(&canary), Some(&d));
    assert!(matches!(waiting, GateStatus::Waiting(_)), "{waiting:?}");
    d.task_groups.get_mut("web").unwrap().healthy_allocs = 1;
    match evaluate(gate, &j, 0.into(), std::slice::from_ref(&canary), Some(&d)) {
        GateStatus::AwaitingPromotion(c, id) => {
            assert_eq!(id, "d1234567890");
            assert_eq!((c.desired, c.running), (3, 1));
        }
        other => panic!("expected awaiting promotion, got {other:?}"),
    }
    d.task_groups.get_mut("web").unwrap().promoted = true;
    let after = evaluate(gate, &j, 0.into(), std::slice::from_ref(&canary), Some(&d));
    assert!(matches!(after, GateStatus::Waiting(_)), "{after:?}");
}

/// A service of one allocation whose group checks health with a 5m `healthy_deadline`, its
/// task's last events `Terminated` (exit 3) then `Restarting` after `delay_secs`.
fn restarting(delay_secs: i64) -> (Job, crate::api::AllocListStub) {
    let mut v = serde_json::to_value(job("api", "service", 1)).unwrap();
    v["TaskGroups"][0]["Update"] = json!({"MaxParallel": 1, "HealthyDeadline": 300_000_000_000i64});
    let j: Job = serde_json::from_value(v).unwrap();
    let group = j.groups()[0].name.clone().unwrap_or_default();
    let events = vec![
        crate::api::TaskEvent {
            r#type: "Terminated".into(),
            exit_code: 3,
            ..Default::default()
        },
        crate::api::TaskEvent {
            r#type: "Restarting".into(),
            start_delay: delay_secs * 1_000_000_000,
            ..Default::default()
        },
    ];
    let state = crate::api::TaskState {
        state: "pending".into(),
        restarts: 5,
        events: Some(events),
        ..Default::default()
    };
    let a = crate::api::AllocListStub {
        id: "0123456789ab".into(),
        name: "api.api[0]".into(),
        task_group: group,
        client_status: crate::api::ClientStatus::Running,
        desired_status: crate::api::DesiredStatus::Run,
        task_states: Some([("api".to_string(), state)].into()),
        ..Default::default()
    };
    (j, a)
}

#[test]
fn a_healthy_gate_fails_once_the_next_restart_comes_after_the_healthy_deadline() {
    let gate = crate::stack::Gate::Healthy;
    // Within the policy's attempts (15s delay): the task may still come up healthy.
    let (j, a) = restarting(15);
    assert!(matches!(
        evaluate(gate, &j, 0.into(), &[a], None),
        GateStatus::Waiting(_)
    ));
    // Attempts used up in delay mode: the next start waits out the 30m interval.
    let (j, a) = restarting(1_700);
    match evaluate(gate, &j, 0.into(), &[a], None) {
        GateStatus::Failed { reason, alloc_id, .. } => {
            assert!(reason.contains("task api of allocation 01234567"), "{reason}");
            assert!(reason.contains("exited with code 3"), "{reason}");
            assert!(reason.contains("28m20s away"), "{reason}");
            assert!(reason.contains("healthy_deadline of 5m0s"), "{reason}");
            assert_eq!(alloc_id.as_deref(), Some("0123456789ab"));
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    // Health once reported stands (a poststart task may keep failing after it).
    let (j, mut a) = restarting(1_700);
    a.deployment_status = Some(crate::api::AllocDeploymentStatus {
        healthy: Some(true),
        ..Default::default()
    });
    assert!(!matches!(
        evaluate(gate, &j, 0.into(), &[a], None),
        GateStatus::Failed { .. }
    ));
    // A poststart task that keeps failing is not what the allocation's health waits for.
    let (j, mut a) = restarting(1_700);
    let mut v = serde_json::to_value(&j).unwrap();
    v["TaskGroups"][0]["Tasks"][0]["Name"] = json!("api");
    let tasks = v["TaskGroups"][0]["Tasks"].as_array_mut().unwrap();
    tasks.push(json!({"Name": "bootstrap", "Driver": "raw_exec",
        "Lifecycle": {"Hook": "poststart", "Sidecar": false}}));
    let j: Job = serde_json::from_value(v).unwrap();
    let states = a.task_states.as_mut().unwrap();
    let restarting_state = states.remove("api").unwrap();
    states.insert("bootstrap".into(), restarting_state);
    assert!(!matches!(
        evaluate(gate, &j, 0.into(), &[a], None),
        GateStatus::Failed { .. }
    ));
    // A `running` gate has no health deadline to miss.
    let (j, a) = restarting(1_700);
    assert!(!matches!(
        evaluate(crate::stack::Gate::Running, &j, 0.into(), &[a], None),
        GateStatus::Failed { .. }
    ));
}

fn at(version: u64, since: u64) -> Applied {
    Applied { version, since }
}

#[test]
fn an_allocation_that_failed_during_the_step_fails_the_gate_even_once_replaced() {
    use crate::api::{ClientStatus, DesiredStatus};
    let j = job("web", "service", 1);
    let gate = crate::stack::Gate::default_for(&j);
    // The scheduler stopped the failed allocation as it placed its replacement, which runs.
    let replaced = crate::api::AllocListStub {
        desired_status: DesiredStatus::Stop,
        job_version: 3,
        modify_index: 40,
        ..stub("failed01", ClientStatus::Failed)
    };
    let replacement = crate::api::AllocListStub {
        job_version: 3,
        modify_index: 41,
        ..stub("running1", ClientStatus::Running)
    };
    let allocs = [replaced, replacement];
    let during = at(3, 30);
    match evaluate(gate, &j, during, &allocs, None) {
        GateStatus::Failed {
            reason,
            alloc_id,
            counts,
        } => {
            assert!(reason.contains("failed01"), "{reason}");
            assert_eq!(alloc_id.as_deref(), Some("failed01"));
            assert_eq!(
                (counts.placed, counts.running),
                (1, 1),
                "only the wanted one counts"
            );
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    // A failure from before the step (a check of a job that has since recovered) is history.
    let before = at(3, 40);
    assert!(matches!(
        evaluate(gate, &j, before, &allocs, None),
        GateStatus::Passed(..)
    ));
    // So is one of another version.
    let other_version = at(4, 30);
    assert!(matches!(
        evaluate(gate, &j, other_version, &allocs, None),
        GateStatus::Waiting(..)
    ));
}
