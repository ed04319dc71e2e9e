//! Launching work for an existing job: a new evaluation (`evaluate`), a periodic job's child
//! now (`periodic/force`), and a parameterized job's child (`dispatch`, idempotent by token).

use std::collections::BTreeMap;

use chrono::Utc;

use crate::api::triggered_by;
use crate::cluster::fsm::{Command, JobRegister, Outcome, PeriodicLaunch, State};
use crate::cluster::scheduler::{SchedRng, dispatch_child};
use crate::cluster::server::ClusterNode;
use crate::cluster::server::evals::{job_eval, new_eval, now_nanos};
use crate::cluster::server::periodic::child_registration;
use crate::spec::Job;

use super::EndpointError;

/// An evaluation created for a job.
#[derive(Debug, Clone)]
pub struct LaunchedEval {
    /// Raft index of the write.
    pub index: u64,
    /// The evaluation.
    pub eval_id: String,
    /// The job's `JobModifyIndex` (0 where the answer does not carry it).
    pub job_modify_index: u64,
}

/// A dispatch request.
#[derive(Debug, Clone, Default)]
pub struct DispatchRequest {
    /// The parameterized job.
    pub job_id: String,
    /// Its namespace.
    pub namespace: String,
    /// Decoded payload.
    pub payload: Vec<u8>,
    /// Meta for the child.
    pub meta: BTreeMap<String, String>,
    /// Prefix of the child's ID suffix.
    pub id_prefix_template: Option<String>,
    /// A token making the dispatch idempotent while the child lives.
    pub idempotency_token: Option<String>,
}

/// What a dispatch did.
#[derive(Debug, Clone)]
pub struct Dispatched {
    /// Raft index of the write (the jobs table's index when an earlier child was found).
    pub index: u64,
    /// The child's ID.
    pub dispatched_job_id: String,
    /// Its evaluation ("" when an earlier child was found).
    pub eval_id: String,
    /// Index the evaluation was created at.
    pub eval_create_index: u64,
    /// Index the child was created at (the earlier child's, when one was found).
    pub job_create_index: u64,
}

/// A dispatched child of `parent` with idempotency token `token` that is not dead.
fn live_dispatch<'s>(state: &'s State, ns: &str, parent: &str, token: &str) -> Option<&'s Job> {
    state.jobs.get(ns)?.values().map(|r| r.current()).find(|j| {
        j.parent_id.as_deref() == Some(parent)
            && j.dispatch_idempotency_token.as_deref() == Some(token)
            && j.status.as_deref() != Some("dead")
    })
}

/// The child job a dispatch registers, or an earlier live child with the same token.
fn dispatch_or_existing(
    state: &State,
    req: DispatchRequest,
) -> Result<Result<Job, Dispatched>, EndpointError> {
    let id = &req.job_id;
    let rec = state
        .job(&req.namespace, id)
        .ok_or_else(|| EndpointError::not_found("job not found"))?;
    if let Some(existing) = req
        .idempotency_token
        .as_deref()
        .and_then(|t| live_dispatch(state, &req.namespace, id, t))
    {
        // As Nomad: the earlier child's ID, create and modify indexes, and no evaluation.
        return Ok(Err(Dispatched {
            index: existing.modify_index.unwrap_or_default(),
            dispatched_job_id: existing.id().to_owned(),
            eval_id: String::new(),
            eval_create_index: 0,
            job_create_index: existing.create_index.unwrap_or_default(),
        }));
    }
    let now = Utc::now();
    let mut rng = SchedRng::seeded(now.timestamp_nanos_opt().unwrap_or(0) as u64 ^ state.index);
    let mut child = dispatch_child(rec.current(), &req.meta, &req.payload, now, &mut rng)
        .map_err(|e| EndpointError::BadRequest(e.to_string()))?;
    if let Some(prefix) = req.id_prefix_template.filter(|p| !p.is_empty()) {
        let suffix = child
            .id()
            .trim_start_matches(&format!("{id}/dispatch-"))
            .to_owned();
        child.id = Some(format!("{id}/dispatch-{prefix}-{suffix}"));
        child.name = child.id.clone();
    }
    child.dispatch_idempotency_token = req.idempotency_token;
    Ok(Ok(child))
}

impl ClusterNode {
    /// A new evaluation of the job's current version.
    pub async fn evaluate_job(&self, namespace: &str, id: &str) -> Result<LaunchedEval, EndpointError> {
        let (eval, job_modify_index) = self
            .read_now(|state| {
                let rec = state
                    .job(namespace, id)
                    .ok_or_else(|| EndpointError::not_found("job not found"))?;
                let job = rec.current();
                if job.is_periodic() || job.is_parameterized() {
                    return Err(EndpointError::bad_request(
                        "can't evaluate periodic or parameterized job",
                    ));
                }
                let mut eval = new_eval(job, triggered_by::JOB_EVAL, 0);
                eval.job_modify_index = rec.job_modify_index();
                Ok((eval, rec.job_modify_index()))
            })
            .await?;
        let eval_id = eval.id.clone();
        let resp = self.write(Command::EvalUpsert { evals: vec![eval] }).await?;
        Ok(LaunchedEval {
            index: resp.index,
            eval_id,
            job_modify_index,
        })
    }

    /// Launches a periodic job's child now.
    pub async fn force_periodic(&self, namespace: String, id: String) -> Result<LaunchedEval, EndpointError> {
        let reg = self
            .read_now(|state| {
                let rec = state
                    .job(&namespace, &id)
                    .ok_or_else(|| EndpointError::not_found("job not found"))?;
                let job = rec.current();
                if !job.is_periodic() {
                    return Err(EndpointError::bad_request("can't force launch non-periodic job"));
                }
                if job.stop == Some(true) {
                    return Err(EndpointError::bad_request("can't force launch a stopped job"));
                }
                Ok(child_registration(job, Utc::now()))
            })
            .await?;
        let eval_id = reg.eval.as_ref().map(|e| e.id.clone()).unwrap_or_default();
        let cmd = Command::PeriodicLaunch(Box::new(PeriodicLaunch {
            namespace,
            job_id: id,
            launch: now_nanos(),
            child: Some(Box::new(reg)),
        }));
        let resp = self.write(cmd).await?;
        match resp.outcome {
            Outcome::JobWritten { .. } => Ok(LaunchedEval {
                index: resp.index,
                eval_id,
                job_modify_index: 0,
            }),
            Outcome::JobIndexConflict { .. } => Err(EndpointError::bad_request(
                "a child of this periodic job was launched in this same second; try again",
            )),
            other => Err(EndpointError::unexpected(other)),
        }
    }

    /// Launches a parameterized job's child (or finds the live one with the same token).
    pub async fn dispatch_job(&self, req: DispatchRequest) -> Result<Dispatched, EndpointError> {
        let child = match self.read_now(|state| dispatch_or_existing(state, req)).await? {
            Ok(child) => child,
            Err(existing) => return Ok(existing),
        };
        let dispatched_job_id = child.id().to_owned();
        let eval = job_eval(&child, triggered_by::JOB_REGISTER, 0);
        let cmd = Command::JobRegister(Box::new(JobRegister {
            job: child,
            submission: None,
            enforce_index: Some(0),
            eval,
            submit_time: now_nanos(),
        }));
        let resp = self.write(cmd).await?;
        match resp.outcome {
            Outcome::JobWritten {
                eval_id,
                eval_create_index,
                ..
            } => Ok(Dispatched {
                index: resp.index,
                dispatched_job_id,
                eval_id,
                eval_create_index,
                job_create_index: resp.index,
            }),
            other => Err(EndpointError::unexpected(other)),
        }
    }
}
