//! `-refresh-only`: a plan that changes nothing on the backend and only brings the recorded
//! state up to what runs, as Terraform's `-refresh-only` does.
//!
//! ```text
//!  Plan (drift per job) ─► refresh_only ─► Plan of the drifted recorded jobs, every action no-op
//!                                             apply: the record takes the live spec (or is
//!                                             removed where the job is gone); nothing registered
//! ```
//!
//! Only jobs the state already records are adopted: a live job the state never recorded may
//! belong to someone else, and taking it over is an explicit `-adopt`.

use super::model::{Action, Plan, Summary};

/// The reason every kept job shows.
const REASON: &str = "refresh-only: the record takes what runs on the backend; nothing is registered";

/// Keeps the jobs whose record differs from the live job (drift with a record), each a no-op
/// whose `drift` is what apply writes into the state.
pub fn refresh_only(mut plan: Plan) -> Plan {
    plan.jobs
        .retain(|j| j.drift.as_ref().is_some_and(|d| d.recorded.is_some()));
    for j in &mut plan.jobs {
        j.action = Action::Noop;
        j.reason = REASON.into();
        j.after = None;
        j.gate_not_passed = None;
        j.volatile.clear();
        j.placement = None;
    }
    // Nothing is written: the variables stay as recorded.
    plan.variables.clear();
    plan.summary = Summary {
        noop: plan.jobs.len(),
        ..Summary::default()
    };
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Drift, JobChange};
    use crate::spec::diff::{JobDiff, SensitivePaths, diff};
    use crate::stack::JobAddress;

    fn no_diff() -> JobDiff {
        let job = crate::spec::Job::default();
        diff(Some(&job), Some(&job), &SensitivePaths::new())
    }

    fn change(id: &str, drift: Option<Drift>, action: Action) -> JobChange {
        JobChange {
            address: JobAddress(format!("job.{id}")),
            action,
            reason: String::new(),
            diff: no_diff(),
            after: None,
            drift: drift.map(Box::new),
            gate_not_passed: Some("failed".into()),
            volatile: Vec::new(),
            placement: None,
            depends_on: Vec::new(),
            wave: 0,
            job_modify_index: None,
        }
    }

    #[test]
    fn keeps_only_recorded_jobs_that_drifted_and_changes_nothing() {
        let job = crate::spec::Job::default();
        let recorded_and_live = Drift {
            recorded: Some(job.clone()),
            live: Some(job.clone()),
            diff: no_diff(),
        };
        let never_recorded = Drift {
            recorded: None,
            live: Some(job),
            diff: no_diff(),
        };
        let plan = Plan {
            format_version: "1".into(),
            stack: "s".into(),
            destroy: false,
            refreshed: true,
            targets: Vec::new(),
            state: None,
            summary: Summary::default(),
            jobs: vec![
                change("a", Some(recorded_and_live), Action::Update),
                change("b", Some(never_recorded), Action::Create),
                change("c", None, Action::Update),
            ],
            variables: Vec::new(),
        };
        let p = refresh_only(plan);
        assert_eq!(p.jobs.len(), 1);
        assert_eq!(p.jobs[0].address.0, "job.a");
        assert_eq!(p.jobs[0].action, Action::Noop);
        assert!(p.jobs[0].gate_not_passed.is_none());
        assert!(p.has_changes(), "the drift is still work for apply");
        assert_eq!(p.summary.noop, 1);
    }
}
