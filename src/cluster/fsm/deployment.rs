//! The deployment watcher's verdicts: per-group health counts and the deployment's status,
//! committed by the leader. A successful deployment marks its job version stable.

use super::command::Outcome;
use super::payload::DeploymentUpdate;
use super::state::State;
use crate::api::{Deployment, DeploymentState, DeploymentStatus, deployment_description};

impl State {
    pub(super) fn apply_deployment_update(&mut self, index: u64, u: DeploymentUpdate) -> Outcome {
        let Some(mut d) = self.deployments.get_mut(&u.id) else {
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
        let promoted_since = !groups.values().any(DeploymentState::awaits_promotion)
            && [
                deployment_description::NEEDS_PROMOTION,
                deployment_description::AUTO_PROMOTION,
            ]
            .contains(&d.status_description.as_str());
        if promoted_since {
            d.status_description = deployment_description::RUNNING.to_owned();
        }
        d.task_groups = groups;
        d.modify_index = index;
        let (ns, job_id, version) = (d.namespace.clone(), d.job_id.clone(), d.job_version);
        drop(d);
        self.bump_table("deployments", index);
        if u.status == DeploymentStatus::Successful {
            let rec = self.jobs.get_mut(&ns).and_then(|j| j.get_mut(&job_id));
            if rec.is_some_and(|r| r.set_stable(version, true, None)) {
                self.bump_table("jobs", index);
            }
        }
        if let Some(eval) = u.eval {
            self.apply_eval_upsert(index, vec![eval]);
        }
        Outcome::Done
    }
}

/// Nomad's answer to promoting a deployment that ended.
pub const PROMOTE_TERMINAL: &str = "can't promote terminal deployment";
/// Nomad's answer to promoting a deployment without canaries.
pub const PROMOTE_NO_CANARIES: &str = "deployment has no canaries to promote";

impl State {
    /// The groups a promotion of `d` covers (`all`, or `groups`), or why it is refused in
    /// Nomad's words: a terminal deployment, no canaries, or canaries not all healthy.
    pub fn promotion_groups(
        &self,
        d: &Deployment,
        all: bool,
        groups: &[String],
    ) -> Result<Vec<String>, String> {
        if !d.status.is_active() {
            return Err(PROMOTE_TERMINAL.to_owned());
        }
        if let Some(unknown) = groups.iter().find(|g| !d.task_groups.contains_key(*g)) {
            return Err(format!("deployment does not include task group {unknown:?}"));
        }
        let chosen: Vec<(&String, &DeploymentState)> = d
            .task_groups
            .iter()
            .filter(|(name, g)| (all || groups.contains(name)) && g.desired_canaries > 0)
            .collect();
        if chosen.is_empty() {
            return Err(PROMOTE_NO_CANARIES.to_owned());
        }
        let unhealthy: Vec<String> = chosen
            .iter()
            .filter_map(|(name, g)| {
                let healthy = self.healthy_canaries(&d.id, name);
                (healthy < g.desired_canaries).then(|| {
                    format!(
                        "Task group {name:?} has {healthy}/{} healthy allocations",
                        g.desired_canaries
                    )
                })
            })
            .collect();
        if !unhealthy.is_empty() {
            let items: Vec<String> = unhealthy.iter().map(|e| format!("* {e}")).collect();
            return Err(format!(
                "{} error(s) occurred:\n\n{}",
                unhealthy.len(),
                items.join("\n")
            ));
        }
        Ok(chosen.into_iter().map(|(name, _)| name.clone()).collect())
    }

    /// Healthy canaries of `group` in deployment `id`.
    fn healthy_canaries(&self, id: &str, group: &str) -> i64 {
        self.allocs
            .values()
            .filter(|a| a.deployment_id == id && a.task_group == group)
            .filter_map(|a| a.deployment_status.as_ref())
            .filter(|s| s.canary && s.healthy == Some(true))
            .count() as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{AllocDeploymentStatus, Allocation};

    fn state(healthy: &[Option<bool>]) -> (State, Deployment) {
        let mut s = State::default();
        for (i, h) in healthy.iter().enumerate() {
            let a = Allocation {
                id: format!("c{i}"),
                task_group: "web".into(),
                deployment_id: "d1".into(),
                deployment_status: Some(AllocDeploymentStatus {
                    healthy: *h,
                    canary: true,
                    ..Default::default()
                }),
                ..Default::default()
            };
            s.allocs.insert(a.id.clone(), a);
        }
        let web = DeploymentState {
            desired_canaries: 2,
            desired_total: 3,
            ..Default::default()
        };
        let api = DeploymentState {
            desired_total: 1,
            ..Default::default()
        };
        let d = Deployment {
            id: "d1".into(),
            task_groups: [("web".into(), web), ("api".into(), api)].into(),
            ..Default::default()
        };
        (s, d)
    }

    #[test]
    fn promotion_covers_the_groups_with_healthy_canaries() {
        let (s, d) = state(&[Some(true), Some(true)]);
        assert_eq!(s.promotion_groups(&d, true, &[]), Ok(vec!["web".to_string()]));
        assert_eq!(
            s.promotion_groups(&d, false, &["web".into()]),
            Ok(vec!["web".to_string()])
        );
    }

    #[test]
    fn promotion_refusals_use_nomads_words() {
        let (s, mut d) = state(&[Some(true), None]);
        assert_eq!(
            s.promotion_groups(&d, true, &[]),
            Err("1 error(s) occurred:\n\n* Task group \"web\" has 1/2 healthy allocations".into())
        );
        assert_eq!(
            s.promotion_groups(&d, false, &["api".into()]),
            Err(PROMOTE_NO_CANARIES.into())
        );
        assert_eq!(
            s.promotion_groups(&d, false, &["db".into()]),
            Err("deployment does not include task group \"db\"".into())
        );
        d.status = DeploymentStatus::Successful;
        assert_eq!(s.promotion_groups(&d, true, &[]), Err(PROMOTE_TERMINAL.into()));
    }

    #[test]
    fn a_stale_watcher_verdict_keeps_an_operators_promotion() {
        let (mut s, mut d) = state(&[Some(true), Some(true)]);
        d.status_description = deployment_description::NEEDS_PROMOTION.into();
        let stale = d.task_groups.clone();
        d.task_groups.get_mut("web").unwrap().promoted = true;
        s.deployments.insert(d.id.clone(), d);
        let u = crate::cluster::fsm::DeploymentUpdate {
            id: "d1".into(),
            status: DeploymentStatus::Running,
            description: deployment_description::NEEDS_PROMOTION.into(),
            task_groups: stale,
            eval: None,
        };
        s.apply(5, crate::cluster::fsm::Command::DeploymentUpdate(Box::new(u)));
        let d = &s.deployments["d1"];
        assert!(d.task_groups["web"].promoted);
        assert_eq!(d.status_description, deployment_description::RUNNING);
    }
}
