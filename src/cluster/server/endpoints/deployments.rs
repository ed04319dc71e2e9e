//! Deployments: list and read, and the operator's actions (fail, pause or resume, promote
//! canaries). Actions go through Raft as one `DeploymentAction`; those that need the
//! scheduler carry an evaluation of the job.

use crate::api::{Deployment, DeploymentStatus, deployment_description, triggered_by};
use crate::cluster::fsm::{Command, DeploymentAction, Outcome};
use crate::cluster::server::ClusterNode;
use crate::cluster::server::evals::new_eval;

use super::{EndpointError, Indexed, ReadOptions, in_namespace};

/// Which canaries to promote.
#[derive(Debug, Clone, Default)]
pub struct PromoteRequest {
    /// Every group with canaries.
    pub all: bool,
    /// These groups.
    pub groups: Vec<String>,
}

/// What a deployment action committed.
#[derive(Debug, Clone)]
pub struct DeploymentActionDone {
    /// Raft index of the write.
    pub index: u64,
    /// The evaluation created ("" when none).
    pub eval_id: String,
    /// Index it was created at.
    pub eval_create_index: u64,
}

fn deployment_not_found(id: &str) -> EndpointError {
    EndpointError::NotFound(format!("deployment not found: {id}"))
}

impl ClusterNode {
    /// Deployments whose ID starts with `prefix` in `ns`, newest first.
    pub async fn deployments(
        &self,
        opts: &ReadOptions,
        ns: &str,
        prefix: &str,
    ) -> Result<Indexed<Vec<Deployment>>, EndpointError> {
        self.table_read(opts, "deployments", "", |s| {
            let mut out: Vec<&Deployment> = s
                .deployments
                .values()
                .filter(|d| d.id.starts_with(prefix) && in_namespace(ns, &d.namespace))
                .collect();
            out.sort_by_key(|d| std::cmp::Reverse(d.create_index));
            Some(out.into_iter().cloned().collect())
        })
        .await
    }

    /// One deployment.
    pub async fn deployment(
        &self,
        opts: &ReadOptions,
        id: &str,
    ) -> Result<Indexed<Deployment>, EndpointError> {
        self.table_read(opts, "deployments", "deployment not found", |s| {
            s.deployments.get(id).cloned()
        })
        .await
    }

    /// Marks a deployment failed.
    pub async fn fail_deployment(&self, id: &str) -> Result<DeploymentActionDone, EndpointError> {
        self.refuse_terminal(id, "fail").await?;
        let (status, text) = (DeploymentStatus::Failed, "Deployment marked as failed");
        self.deployment_action(id, status, text, Vec::new(), true).await
    }

    /// Pauses (`pause`) or resumes a deployment.
    pub async fn pause_deployment(
        &self,
        id: &str,
        pause: bool,
    ) -> Result<DeploymentActionDone, EndpointError> {
        self.refuse_terminal(id, if pause { "pause" } else { "resume" })
            .await?;
        match pause {
            true => {
                let (status, text) = (DeploymentStatus::Paused, "Deployment is paused");
                self.deployment_action(id, status, text, Vec::new(), false).await
            }
            false => {
                let (status, text) = (DeploymentStatus::Running, "Deployment is running");
                self.deployment_action(id, status, text, Vec::new(), true).await
            }
        }
    }

    /// Promotes the canaries of all or some groups. Refusals carry Nomad's texts and, as
    /// Nomad's do, answer 500: a terminal deployment, no canaries, unhealthy canaries.
    pub async fn promote_deployment(
        &self,
        id: &str,
        req: PromoteRequest,
    ) -> Result<DeploymentActionDone, EndpointError> {
        let groups = self
            .read_now(|state| {
                let d = state
                    .deployments
                    .get(id)
                    .ok_or_else(|| deployment_not_found(id))?;
                state
                    .promotion_groups(d, req.all, &req.groups)
                    .map_err(EndpointError::Internal)
            })
            .await?;
        let (status, text) = (DeploymentStatus::Running, deployment_description::RUNNING);
        match self.deployment_action(id, status, text, groups, true).await {
            Err(EndpointError::BadRequest(message)) => Err(EndpointError::Internal(message)),
            other => other,
        }
    }

    /// Only multiregion deployments block, and none do here: always refused.
    pub async fn unblock_deployment(&self, id: &str) -> Result<DeploymentActionDone, EndpointError> {
        let status = self
            .read_now(|state| {
                let d = state
                    .deployments
                    .get(id)
                    .ok_or_else(|| deployment_not_found(id))?;
                Ok(d.status.as_str().to_owned())
            })
            .await?;
        Err(EndpointError::BadRequest(format!(
            "deployment is not blocked (status {status})"
        )))
    }

    /// Nomad's refusal of `verb` on a deployment that has finished: its text and its 500
    /// (Nomad answers these as plain server errors).
    async fn refuse_terminal(&self, id: &str, verb: &str) -> Result<(), EndpointError> {
        self.read_now(|state| {
            let d = state
                .deployments
                .get(id)
                .ok_or_else(|| deployment_not_found(id))?;
            match d.status.is_active() {
                true => Ok(()),
                false => Err(EndpointError::Internal(format!(
                    "can't {verb} terminal deployment"
                ))),
            }
        })
        .await
    }

    async fn deployment_action(
        &self,
        id: &str,
        status: DeploymentStatus,
        description: &str,
        promote: Vec<String>,
        with_eval: bool,
    ) -> Result<DeploymentActionDone, EndpointError> {
        let eval = self
            .read_now(|state| {
                let d = state
                    .deployments
                    .get(id)
                    .ok_or_else(|| deployment_not_found(id))?;
                let job = state.job(&d.namespace, &d.job_id).map(|r| r.current());
                Ok(match job {
                    Some(job) if with_eval => {
                        let mut e = new_eval(job, triggered_by::DEPLOYMENT_WATCHER, 0);
                        e.deployment_id = id.to_owned();
                        Some(e)
                    }
                    _ => None,
                })
            })
            .await?;
        let cmd = Command::DeploymentAction(Box::new(DeploymentAction {
            deployment_id: id.to_owned(),
            status,
            description: description.to_owned(),
            promote,
            eval,
        }));
        let resp = self.write(cmd).await?;
        match resp.outcome {
            Outcome::JobWritten {
                eval_id,
                eval_create_index,
                ..
            } => Ok(DeploymentActionDone {
                index: resp.index,
                eval_id,
                eval_create_index,
            }),
            other => Err(EndpointError::unexpected(other)),
        }
    }
}
