//! Committing a scheduler plan: one command carries everything an evaluation decided
//! (placements, stops, in-place updates, a deployment, the evaluation's final status and an
//! optional blocked follow-up evaluation), applied all at once or not at all.
//!
//! Apply refuses a plan whose evaluation is no longer `pending` (a plan already committed by
//! an earlier leader, or an evaluation cancelled meanwhile): plans are never applied twice.

use super::command::Outcome;
use super::payload::{PlanApply, PlanStop};
use super::state::{CAPACITY, State};
use crate::api::{Allocation, Deployment, DeploymentStatus, DesiredStatus, EvalStatus, Evaluation};

impl State {
    pub(super) fn apply_plan(&mut self, index: u64, plan: PlanApply) -> Outcome {
        let pending = self
            .evals
            .get(&plan.eval.id)
            .is_some_and(|e| e.status == EvalStatus::Pending);
        if !pending {
            return Outcome::NotFound {
                message: format!("evaluation {} is not pending", plan.eval.id),
            };
        }
        let PlanApply {
            eval,
            blocked_eval,
            place,
            stop,
            in_place,
            deployment,
            now,
        } = plan;
        let (namespace, job_id) = (eval.namespace.clone(), eval.job_id.clone());
        self.stop_allocs(index, now, stop);
        self.update_allocs_in_place(index, now, in_place);
        self.place_allocs(index, now, place);
        self.bump_table("allocs", index);
        if let Some(d) = deployment {
            self.start_deployment(index, d);
        }
        self.cancel_superseded_blocked(index, now, &eval);
        self.finish_eval(index, eval, blocked_eval);
        self.refresh_job_status(index, &namespace, &job_id);
        Outcome::Done
    }

    fn stop_allocs(&mut self, index: u64, now: i64, stop: Vec<PlanStop>) {
        let mut freed = false;
        for s in stop {
            if let Some(a) = self.allocs.get_mut(&s.alloc_id) {
                if a.desired_status != DesiredStatus::Stop {
                    a.alloc_modify_index = index;
                }
                freed |= !a.is_terminal();
                a.desired_status = DesiredStatus::Stop;
                a.desired_description = s.description;
                if let Some(cs) = s.client_status {
                    a.client_status = cs;
                }
                a.modify_index = index;
                a.modify_time = now;
            }
        }
        if freed {
            self.bump_table(CAPACITY, index);
        }
    }

    /// In-place updates keep what the client reported and when the allocation was created.
    fn update_allocs_in_place(&mut self, index: u64, now: i64, in_place: Vec<Allocation>) {
        for mut a in in_place {
            if let Some(old) = self.allocs.get(&a.id) {
                a.client_status = old.client_status;
                a.client_description = old.client_description.clone();
                a.task_states = old.task_states.clone();
                a.deployment_status = old.deployment_status.clone();
                a.create_index = old.create_index;
                a.create_time = old.create_time;
            }
            a.job = None;
            a.modify_index = index;
            a.alloc_modify_index = index;
            a.modify_time = now;
            self.allocs.insert(a.id.clone(), a);
        }
    }

    fn place_allocs(&mut self, index: u64, now: i64, place: Vec<Allocation>) {
        for mut a in place {
            a.job = None;
            a.create_index = index;
            a.modify_index = index;
            a.alloc_modify_index = index;
            a.create_time = now;
            a.modify_time = now;
            if let Some(prev) = self.allocs.get_mut(&a.previous_allocation) {
                prev.next_allocation = a.id.clone();
            }
            self.allocs.insert(a.id.clone(), a);
        }
    }

    /// A new deployment cancels the job's running one, as Nomad's does.
    fn start_deployment(&mut self, index: u64, mut d: Deployment) {
        for id in self.deployments.ids_of_job(&d.namespace, &d.job_id) {
            let Some(mut old) = self.deployments.get_mut(&id) else {
                continue;
            };
            if old.status == DeploymentStatus::Running {
                old.status = DeploymentStatus::Cancelled;
                old.status_description = "Cancelled due to newer version of job".into();
                old.modify_index = index;
            }
        }
        d.create_index = index;
        d.modify_index = index;
        self.deployments.insert(d.id.clone(), d);
        self.bump_table("deployments", index);
    }

    /// A newer plan for the job supersedes any evaluation still blocked for it.
    fn cancel_superseded_blocked(&mut self, index: u64, now: i64, eval: &Evaluation) {
        let superseded: Vec<String> = self
            .evals
            .of_job(&eval.namespace, &eval.job_id)
            .filter(|o| o.status == EvalStatus::Blocked && o.id != eval.id)
            .map(|o| o.id.clone())
            .collect();
        for id in superseded {
            self.evals.modify(&id, |other| {
                other.status = EvalStatus::Canceled;
                other.status_description = "superseded by a newer evaluation".into();
                other.modify_index = index;
                other.modify_time = now;
            });
        }
    }

    /// Records the evaluation as the plan left it, and its blocked follow-up if any.
    fn finish_eval(&mut self, index: u64, mut eval: Evaluation, blocked_eval: Option<Evaluation>) {
        if let Some(mut b) = blocked_eval {
            eval.blocked_eval = b.id.clone();
            b.create_index = index;
            b.modify_index = index;
            self.evals.insert(b.id.clone(), b);
        }
        eval.create_index = self.evals.get(&eval.id).map_or(index, |e| e.create_index);
        eval.modify_index = index;
        self.evals.insert(eval.id.clone(), eval);
        self.bump_table("evals", index);
    }
}
