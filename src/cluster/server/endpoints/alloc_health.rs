//! `POST /v1/deployment/allocation-health/:id` (Nomad's `Deployment.SetAllocHealth`): an
//! operator marks allocations of a running deployment healthy or unhealthy. An unhealthy one
//! fails the deployment (and, with `auto_revert`, reverts the job to its latest stable
//! version); healthy ones count toward the deployment as a client's report would.

use chrono::Utc;

use crate::api::{namespace_or_default, triggered_by};
use crate::cluster::fsm::alloc_health::TERMINAL_NO_SET_HEALTH;
use crate::cluster::fsm::{AllocHealth, Command, Outcome};
use crate::cluster::server::ClusterNode;
use crate::cluster::server::deployment_watcher::{DESC_UNHEALTHY, revert_command, stable_version};
use crate::cluster::server::evals::{new_eval, now_nanos};

use super::{DeploymentActionDone, EndpointError};

/// What setting allocation health committed.
#[derive(Debug, Clone)]
pub struct AllocHealthDone {
    /// The write, its evaluation.
    pub done: DeploymentActionDone,
    /// The job version the deployment's failure reverted to.
    pub reverted_job_version: Option<u64>,
}

/// Nomad's status for each refusal: an unknown deployment 404, the rest 500 (Nomad answers
/// them as RPC errors).
fn refusal(message: String) -> EndpointError {
    match message.starts_with("deployment not found") {
        true => EndpointError::NotFound(message),
        false => EndpointError::Internal(message),
    }
}

impl ClusterNode {
    /// Marks allocations of deployment `id` healthy or unhealthy.
    pub async fn set_alloc_health(
        &self,
        id: &str,
        healthy: Vec<String>,
        unhealthy: Vec<String>,
    ) -> Result<AllocHealthDone, EndpointError> {
        let (eval, revert_to) = self
            .read_now(|state| {
                state
                    .check_alloc_health(id, &healthy, &unhealthy)
                    .map_err(refusal)?;
                let d = &state.deployments[id];
                let job = state
                    .job(namespace_or_default(&d.namespace), &d.job_id)
                    .map(|r| r.current())
                    .ok_or_else(|| EndpointError::Internal(TERMINAL_NO_SET_HEALTH.into()))?;
                let mut eval = new_eval(job, triggered_by::DEPLOYMENT_WATCHER, 0);
                eval.deployment_id = id.to_owned();
                let auto_revert = d.task_groups.values().any(|g| g.auto_revert);
                let revert_to = auto_revert.then(|| stable_version(state, d)).flatten();
                Ok((eval, revert_to))
            })
            .await?;
        let fail = (!unhealthy.is_empty()).then(|| match revert_to {
            Some(v) => format!("{DESC_UNHEALTHY} - rolling back to job version {v}"),
            None => DESC_UNHEALTHY.to_owned(),
        });
        let failing = fail.is_some();
        let cmd = Command::AllocHealth(Box::new(AllocHealth {
            deployment_id: id.to_owned(),
            healthy,
            unhealthy,
            timestamp: Utc::now().to_rfc3339(),
            fail,
            eval,
        }));
        let resp = self.write(cmd).await?;
        let (eval_id, eval_create_index) = match resp.outcome {
            Outcome::JobWritten {
                eval_id,
                eval_create_index,
                ..
            } => (eval_id, eval_create_index),
            Outcome::Refused { message } => return Err(refusal(message)),
            other => return Err(EndpointError::unexpected(other)),
        };
        let mut reverted_job_version = None;
        if failing {
            let revert = self.read_now(|state| {
                Ok::<_, EndpointError>(
                    state
                        .deployments
                        .get(id)
                        .and_then(|d| revert_command(state, d, now_nanos())),
                )
            });
            if let Some(cmd) = revert.await? {
                self.write(cmd).await?;
                reverted_job_version = revert_to;
            }
        }
        Ok(AllocHealthDone {
            done: DeploymentActionDone {
                index: resp.index,
                eval_id,
                eval_create_index,
            },
            reverted_job_version,
        })
    }
}
