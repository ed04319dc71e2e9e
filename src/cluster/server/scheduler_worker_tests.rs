//! The scheduler worker's unit tests: giving up, commit groups, and blocking again.

use std::time::Duration;

use super::*;
use crate::cluster::scheduler::{SchedulerConfig, SchedulerState};

/// A state with one job and nothing else.
struct OneJob(crate::spec::Job);

impl SchedulerState for OneJob {
    fn nodes(&self) -> &[crate::api::Node] {
        &[]
    }
    fn node(&self, _: &str) -> Option<&crate::api::Node> {
        None
    }
    fn job(&self, _: &str, _: &str) -> Option<&crate::spec::Job> {
        Some(&self.0)
    }
    fn job_version(&self, _: &str, _: &str, _: u64) -> Option<&crate::spec::Job> {
        Some(&self.0)
    }
    fn allocs_by_job(&self, _: &str, _: &str) -> Vec<&crate::api::Allocation> {
        Vec::new()
    }
    fn node_allocated(&self, _: &str) -> crate::cluster::scheduler::NodeAllocated {
        crate::cluster::scheduler::NodeAllocated::default()
    }
    fn latest_deployment(&self, _: &str, _: &str) -> Option<&crate::api::Deployment> {
        None
    }
    fn config(&self) -> SchedulerConfig {
        SchedulerConfig::default()
    }
}

#[test]
fn an_evaluation_out_of_budget_three_times_is_failed_with_the_reason() {
    let job: crate::spec::Job = serde_json::from_value(serde_json::json!({
        "ID": "web", "Type": "service",
        "TaskGroups": [{"Name": "g", "Count": 3, "Tasks": [{"Name": "t", "Driver": "exec"}]}],
    }))
    .expect("job");
    let eval = Evaluation {
        id: "e1".into(),
        job_id: "web".into(),
        status: EvalStatus::Pending,
        ..Evaluation::default()
    };
    let mut strikes = Strikes::default();
    for attempt in 1..=MAX_ATTEMPTS {
        let mut rng = SchedRng::seeded(1);
        let budget = Budget::of(Duration::ZERO);
        let gave_up = schedule_within(&OneJob(job.clone()), &eval, &mut rng, &budget).unwrap_err();
        let verdict = strikes.give_up(&eval, &gave_up.to_string());
        match verdict {
            None => assert!(attempt < MAX_ATTEMPTS),
            Some(Command::PlanApply(plan)) => {
                assert_eq!(attempt, MAX_ATTEMPTS);
                assert_eq!(plan.eval.status, EvalStatus::Failed);
                assert_eq!(
                    plan.eval.status_description,
                    "gave up after 3 attempts: planning exceeded its time budget of 0ns"
                );
                assert!(plan.place.is_empty() && plan.stop.is_empty());
            }
            Some(other) => panic!("unexpected {other:?}"),
        }
    }
    assert!(strikes.0.is_empty(), "a failed evaluation is forgotten");
}

#[test]
fn plans_are_committed_in_groups_of_bounded_allocations_in_order() {
    let plan = |id: &str, placed: usize| {
        let eval = Evaluation {
            id: id.into(),
            ..Evaluation::default()
        };
        let mut cmd = failed(&eval, String::new());
        if let Command::PlanApply(p) = &mut cmd {
            p.place = (0..placed).map(|_| Allocation::default()).collect();
        }
        cmd
    };
    let cmds = vec![
        plan("a", 3),
        plan("b", 2),
        plan("c", 9),
        plan("d", 1),
        plan("e", 0),
    ];
    let groups: Vec<Vec<String>> = commit_groups(cmds, 5)
        .iter()
        .map(|g| {
            g.iter()
                .map(|c| match c {
                    Command::PlanApply(p) => p.eval.id.clone(),
                    other => panic!("unexpected {other:?}"),
                })
                .collect()
        })
        .collect();
    // A plan over the bound goes alone; the order is kept.
    assert_eq!(groups, [vec!["a", "b"], vec!["c"], vec!["d", "e"]]);
    assert!(commit_groups(Vec::new(), 5).is_empty());
}

#[test]
fn a_woken_blocked_evaluation_that_still_finds_no_room_is_blocked_again_as_itself() {
    let mut metric = crate::api::AllocMetric::default();
    metric.count_exhausted("cpu");
    let plan = || PlanResult {
        failed_tg_allocs: [("g".to_owned(), metric.clone())].into(),
        ..PlanResult::default()
    };
    let eval = |id: &str, trigger: &str| Evaluation {
        id: id.into(),
        job_id: "web".into(),
        triggered_by: trigger.into(),
        status: EvalStatus::Pending,
        ..Evaluation::default()
    };
    let mut rng = SchedRng::seeded(1);

    // The job's own evaluation completes and leaves a blocked one behind.
    let first = to_command(&eval("e1", triggered_by::JOB_REGISTER), plan(), 3, &mut rng);
    assert_eq!(first.eval.status, EvalStatus::Complete);
    let blocked = first.blocked_eval.expect("a blocked evaluation");
    assert_eq!(blocked.status, EvalStatus::Blocked);
    assert_eq!(blocked.triggered_by, triggered_by::QUEUED_ALLOCS);

    // Woken (pending again) and still without room: blocked under its own ID, no new one.
    let woken = Evaluation {
        status: EvalStatus::Pending,
        ..blocked.clone()
    };
    let again = to_command(&woken, plan(), 9, &mut rng);
    assert_eq!(again.eval.id, blocked.id);
    assert_eq!(again.eval.status, EvalStatus::Blocked);
    assert!(again.blocked_eval.is_none());
    assert!(again.eval.failed_tg_allocs.is_some());

    // Woken with room: complete.
    let placed = to_command(&woken, PlanResult::default(), 12, &mut rng);
    assert_eq!(placed.eval.status, EvalStatus::Complete);
    assert!(placed.blocked_eval.is_none());
}
