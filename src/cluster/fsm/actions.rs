//! Operator actions on existing objects: mark a job version stable, stop allocations so the
//! scheduler replaces them, and launch a periodic job's child (recording the launch time so a
//! new leader neither repeats nor skips it).

use super::command::Outcome;
use super::payload::{DeploymentAction, PeriodicLaunch};
use super::state::State;
use crate::api::Evaluation;

impl State {
    /// Sets `Stable` on one retained version of a job.
    pub(super) fn apply_job_stable(
        &mut self,
        index: u64,
        namespace: &str,
        job_id: &str,
        version: u64,
        stable: bool,
    ) -> Outcome {
        let Some(rec) = self.jobs.get_mut(namespace).and_then(|j| j.get_mut(job_id)) else {
            return Outcome::NotFound {
                message: format!("job {job_id:?} not found"),
            };
        };
        if !rec.set_stable(version, stable, Some(index)) {
            return Outcome::NotFound {
                message: format!("job {job_id:?} at version {version} not found"),
            };
        }
        let job_modify_index = rec.job_modify_index();
        self.written_jobs.note(namespace, job_id);
        self.bump_table("jobs", index);
        Outcome::JobWritten {
            job_modify_index,
            eval_id: String::new(),
            eval_create_index: 0,
        }
    }

    /// Marks allocations to migrate (the scheduler stops and replaces them) and stores the
    /// evaluation that makes it do so.
    pub(super) fn apply_alloc_stop(&mut self, index: u64, alloc_ids: &[String], eval: Evaluation) -> Outcome {
        for id in alloc_ids {
            if !self.allocs.contains_key(id) {
                return Outcome::NotFound {
                    message: format!("alloc not found: {id}"),
                };
            }
        }
        for id in alloc_ids {
            if let Some(a) = self.allocs.get_mut(id) {
                a.desired_transition.migrate = Some(true);
                a.modify_index = index;
            }
        }
        self.bump_table("allocs", index);
        let job_modify_index = eval.job_modify_index;
        let (eval_id, eval_create_index) = self.insert_job_eval(index, Some(eval), job_modify_index);
        Outcome::JobWritten {
            job_modify_index: 0,
            eval_id,
            eval_create_index,
        }
    }

    /// Records the launch and registers the child; nothing is recorded if the child exists.
    pub(super) fn apply_periodic_launch(&mut self, index: u64, launch: PeriodicLaunch) -> Outcome {
        let PeriodicLaunch {
            namespace,
            job_id,
            launch,
            child,
        } = launch;
        if self.job(&namespace, &job_id).is_none() {
            return Outcome::NotFound {
                message: format!("job {job_id:?} not found"),
            };
        }
        let outcome = match child {
            Some(child) => self.apply_job_register(index, *child),
            None => Outcome::Done,
        };
        if matches!(outcome, Outcome::JobWritten { .. } | Outcome::Done) {
            self.periodic_launches
                .entry(namespace)
                .or_default()
                .insert(job_id, launch);
        }
        outcome
    }

    /// Applies an operator's change to an active deployment.
    pub(super) fn apply_deployment_action(&mut self, index: u64, action: DeploymentAction) -> Outcome {
        let Some(d) = self.deployments.get(&action.deployment_id) else {
            return Outcome::NotFound {
                message: format!("deployment not found: {}", action.deployment_id),
            };
        };
        if !action.promote.is_empty() {
            // Checked again here: the canaries' health may have changed since the request.
            if let Err(message) = self.promotion_groups(d, false, &action.promote) {
                return Outcome::Refused { message };
            }
        } else if !d.status.is_active() {
            return Outcome::Refused {
                message: format!("can't change terminal deployment (status {})", d.status.as_str()),
            };
        }
        let Some(mut d) = self.deployments.get_mut(&action.deployment_id) else {
            return Outcome::Done;
        };
        d.status = action.status;
        d.status_description = action.description;
        for g in &action.promote {
            if let Some(state) = d.task_groups.get_mut(g) {
                state.promoted = true;
            }
        }
        d.modify_index = index;
        drop(d);
        self.bump_table("deployments", index);
        let job_modify_index = action.eval.as_ref().map_or(0, |e| e.job_modify_index);
        let (eval_id, eval_create_index) = self.insert_job_eval(index, action.eval, job_modify_index);
        Outcome::JobWritten {
            job_modify_index: 0,
            eval_id,
            eval_create_index,
        }
    }

    /// The last recorded launch of periodic job `job_id`, Unix nanoseconds.
    pub fn last_launch(&self, namespace: &str, job_id: &str) -> Option<i64> {
        self.periodic_launches.get(namespace)?.get(job_id).copied()
    }
}
