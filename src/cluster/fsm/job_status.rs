//! A job's `Status` as Nomad derives it (`getJobStatus` in Nomad's state store):
//!
//! ```text
//!  periodic or parameterized parent ── stopped? ── dead : running
//!  any allocation not terminal ──────────────────────── running
//!  any evaluation pending or blocked ────────────────── pending
//!  stopped, or has had allocations or evaluations ───── dead
//!  otherwise ────────────────────────────────────────── pending
//! ```
//!
//! So a job whose allocations all finished (and nothing is left to evaluate) is `dead`, and a
//! periodic or parameterized parent is `running` for as long as it is registered.

use super::state::State;
use crate::api::EvalStatus;
use crate::spec::Job;

/// Nomad's status of `job` given the state's allocations and evaluations of it.
pub fn derive_job_status(state: &State, job: &Job) -> &'static str {
    let stopped = job.stop == Some(true);
    if job.is_periodic() || job.is_parameterized() {
        return if stopped { "dead" } else { "running" };
    }
    let (ns, id) = (job.namespace(), job.id());
    let mut has_alloc = false;
    for a in state.allocs.of_job(ns, id) {
        if !a.is_terminal() {
            return "running";
        }
        has_alloc = true;
    }
    let mut has_eval = false;
    for e in state.evals.of_job(ns, id) {
        if matches!(e.status, EvalStatus::Pending | EvalStatus::Blocked) {
            return "pending";
        }
        has_eval = true;
    }
    if stopped || has_alloc || has_eval {
        "dead"
    } else {
        "pending"
    }
}

impl State {
    /// Sets the current version's `Status` of job `job_id` as Nomad derives it; bumps the
    /// jobs table when it changed.
    pub(super) fn refresh_job_status(&mut self, index: u64, namespace: &str, job_id: &str) {
        let Some(job) = self.job(namespace, job_id).map(|r| r.current()) else {
            return;
        };
        let status = derive_job_status(self, job);
        if job.status.as_deref() == Some(status) {
            return;
        }
        let rec = self.jobs.get_mut(namespace).and_then(|j| j.get_mut(job_id));
        if let Some(job) = rec.map(|r| r.current_mut()) {
            job.status = Some(status.to_owned());
            self.bump_table("jobs", index);
        }
    }

    /// Refreshes the status of each job in `jobs` (namespace, ID).
    pub(super) fn refresh_statuses_of(&mut self, index: u64, jobs: Vec<(String, String)>) {
        let jobs: std::collections::BTreeSet<(String, String)> = jobs
            .into_iter()
            .map(|(ns, id)| (crate::api::namespace_or_default(&ns).to_owned(), id))
            .collect();
        for (ns, id) in jobs {
            self.refresh_job_status(index, &ns, &id);
        }
    }

    /// Re-derives every job's status from its allocations and evaluations (`PUT
    /// /v1/system/reconcile/summaries`; the summaries themselves are computed from the
    /// allocations on every read).
    pub(super) fn apply_reconcile_summaries(&mut self, index: u64) -> super::command::Outcome {
        let all: Vec<(String, String)> = self
            .jobs
            .iter()
            .flat_map(|(ns, jobs)| jobs.keys().map(move |id| (ns.clone(), id.clone())))
            .collect();
        self.refresh_statuses_of(index, all);
        self.bump_table("job_summary", index);
        super::command::Outcome::Done
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::super::{Command, JobRegister, State};
    use crate::api::{Allocation, ClientStatus, EvalStatus, Evaluation};

    fn register(job: Value, eval: Option<Evaluation>) -> Command {
        Command::JobRegister(Box::new(JobRegister {
            job: serde_json::from_value(job).unwrap(),
            submission: None,
            enforce_index: None,
            eval,
            submit_time: 1,
        }))
    }

    fn eval(id: &str, job: &str, status: EvalStatus) -> Evaluation {
        Evaluation {
            id: id.into(),
            namespace: "default".into(),
            job_id: job.into(),
            status,
            ..Default::default()
        }
    }

    fn status(s: &State, id: &str) -> String {
        s.job("default", id)
            .unwrap()
            .current()
            .status
            .clone()
            .unwrap_or_default()
    }

    #[test]
    fn periodic_and_parameterized_parents_run_while_registered() {
        let mut s = State::default();
        let periodic = json!({"ID": "cron", "Type": "batch", "Periodic": {"Enabled": true, "Spec": "* * * * *"},
            "TaskGroups": [{"Name": "g", "Tasks": [{"Name": "t", "Driver": "exec"}]}]});
        let param = json!({"ID": "param", "Type": "batch", "ParameterizedJob": {},
            "TaskGroups": [{"Name": "g", "Tasks": [{"Name": "t", "Driver": "exec"}]}]});
        s.apply(1, register(periodic.clone(), None));
        s.apply(2, register(param, None));
        assert_eq!(
            (status(&s, "cron"), status(&s, "param")),
            ("running".into(), "running".into())
        );
        let mut stopped = periodic;
        stopped["Stop"] = json!(true);
        s.apply(3, register(stopped, None));
        assert_eq!(status(&s, "cron"), "dead");
    }

    #[test]
    fn a_job_is_pending_while_evaluated_running_with_live_allocations_dead_once_finished() {
        let mut s = State::default();
        let job = json!({"ID": "web", "Type": "service",
            "TaskGroups": [{"Name": "g", "Tasks": [{"Name": "t", "Driver": "exec"}]}]});
        s.apply(1, register(job, Some(eval("e1", "web", EvalStatus::Pending))));
        assert_eq!(status(&s, "web"), "pending");
        let alloc = Allocation {
            id: "a1".into(),
            namespace: "default".into(),
            job_id: "web".into(),
            task_group: "g".into(),
            client_status: ClientStatus::Running,
            ..Default::default()
        };
        s.apply(
            2,
            Command::AllocUpsert {
                allocs: vec![alloc.clone()],
            },
        );
        s.apply(
            3,
            Command::EvalUpsert {
                evals: vec![eval("e1", "web", EvalStatus::Complete)],
            },
        );
        assert_eq!(status(&s, "web"), "running");
        let done = Allocation {
            client_status: ClientStatus::Complete,
            ..alloc
        };
        s.apply(4, Command::AllocUpsert { allocs: vec![done] });
        assert_eq!(status(&s, "web"), "dead");
        s.apply(5, Command::ReconcileSummaries);
        assert_eq!(status(&s, "web"), "dead");
        s.apply(
            6,
            Command::EvalUpsert {
                evals: vec![eval("e2", "web", EvalStatus::Blocked)],
            },
        );
        assert_eq!(status(&s, "web"), "pending");
    }
}
