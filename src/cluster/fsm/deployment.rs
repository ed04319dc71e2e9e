//! The deployment watcher's verdicts: per-group health counts and the deployment's status,
//! committed by the leader. A successful deployment marks its job version stable.

use super::command::Outcome;
use super::payload::DeploymentUpdate;
use super::state::State;
use crate::api::DeploymentStatus;

impl State {
    pub(super) fn apply_deployment_update(&mut self, index: u64, u: DeploymentUpdate) -> Outcome {
        let Some(d) = self.deployments.get_mut(&u.id) else {
            return Outcome::NotFound {
                message: format!("deployment {} not found", u.id),
            };
        };
        // A verdict on a deployment that ended meanwhile (cancelled by a newer version) is moot.
        if d.status != DeploymentStatus::Running {
            return Outcome::Done;
        }
        d.status = u.status;
        d.status_description = u.description;
        // An operator's promotion committed since the watcher read the state stands.
        let mut groups = u.task_groups;
        for (name, g) in groups.iter_mut() {
            g.promoted |= d.task_groups.get(name).is_some_and(|o| o.promoted);
        }
        d.task_groups = groups;
        d.modify_index = index;
        let (ns, job_id, version) = (d.namespace.clone(), d.job_id.clone(), d.job_version);
        self.bump_table("deployments", index);
        if u.status == DeploymentStatus::Successful {
            let rec = self.jobs.get_mut(&ns).and_then(|j| j.get_mut(&job_id));
            let v = rec.and_then(|r| {
                r.versions
                    .iter_mut()
                    .find(|v| v.job.version.unwrap_or(0) == version)
            });
            if let Some(v) = v {
                v.job.stable = Some(true);
                self.bump_table("jobs", index);
            }
        }
        if let Some(eval) = u.eval {
            self.apply_eval_upsert(index, vec![eval]);
        }
        Outcome::Done
    }
}
