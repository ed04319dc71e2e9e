//! Allocation health set by an operator (`POST /v1/deployment/allocation-health/:id`, Nomad's
//! `Deployment.SetAllocHealth`): each allocation's `DeploymentStatus.Healthy`, the deployment
//! failed when one is unhealthy, and an evaluation that carries the deployment on. The
//! deployment watcher then counts the health as it counts a client's.

use super::command::Outcome;
use super::payload::AllocHealth;
use super::state::State;
use crate::api::{AllocDeploymentStatus, DeploymentStatus};

/// Nomad's refusal for a deployment that has finished.
pub const TERMINAL_NO_SET_HEALTH: &str = "can't set health of allocations for a terminal deployment";

impl State {
    /// Checks an allocation-health request against the state: Nomad's texts for each refusal.
    pub fn check_alloc_health(
        &self,
        deployment_id: &str,
        healthy: &[String],
        unhealthy: &[String],
    ) -> Result<(), String> {
        let Some(d) = self.deployments.get(deployment_id) else {
            return Err(format!("deployment not found: {deployment_id}"));
        };
        if !d.status.is_active() {
            return Err(TERMINAL_NO_SET_HEALTH.into());
        }
        if healthy.is_empty() && unhealthy.is_empty() {
            return Err("must specify at least one healthy/unhealthy allocation ID".into());
        }
        for id in healthy.iter().chain(unhealthy) {
            match self.allocs.get(id) {
                None => return Err(format!("unknown alloc {id:?}")),
                Some(a) if a.deployment_id != deployment_id => {
                    return Err(format!("alloc {id:?} is not part of deployment"));
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    pub(super) fn apply_alloc_health(&mut self, index: u64, req: AllocHealth) -> Outcome {
        if let Err(message) = self.check_alloc_health(&req.deployment_id, &req.healthy, &req.unhealthy) {
            return Outcome::Refused { message };
        }
        let verdicts = req
            .healthy
            .iter()
            .map(|id| (id, true))
            .chain(req.unhealthy.iter().map(|id| (id, false)));
        for (id, healthy) in verdicts {
            if let Some(a) = self.allocs.get_mut(id) {
                let ds = a
                    .deployment_status
                    .get_or_insert_with(AllocDeploymentStatus::default);
                ds.healthy = Some(healthy);
                ds.timestamp = Some(req.timestamp.clone());
                ds.modify_index = index;
                a.modify_index = index;
            }
        }
        self.bump_table("allocs", index);
        let failed = req.fail.is_some_and(|description| {
            let Some(mut d) = self.deployments.get_mut(&req.deployment_id) else {
                return false;
            };
            d.status = DeploymentStatus::Failed;
            d.status_description = description;
            d.modify_index = index;
            true
        });
        if failed {
            self.bump_table("deployments", index);
        }
        let job_modify_index = req.eval.job_modify_index;
        let (eval_id, eval_create_index) = self.insert_job_eval(index, Some(req.eval), job_modify_index);
        Outcome::JobWritten {
            job_modify_index: 0,
            eval_id,
            eval_create_index,
        }
    }
}
