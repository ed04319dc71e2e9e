//! Scaling: the policies of jobs' `scaling` blocks (`GET /v1/scaling/policies`, `GET
//! /v1/scaling/policy/:id`), changing a group's count (`POST /v1/job/:id/scale`: a new job
//! version, an evaluation and a scaling event, as Nomad's `Job.Scale`), and a job's scale
//! status (`GET /v1/job/:id/scale`).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::api::{ClientStatus, ScalingEvent, ScalingPolicyListStub, namespace_or_default, triggered_by};
use crate::cluster::fsm::scaling::policy_stub;
use crate::cluster::fsm::{Command, JobRegister, Outcome, State};
use crate::cluster::server::ClusterNode;
use crate::cluster::server::evals::{job_eval, now_nanos};
use crate::spec::{Job, ScalingPolicy};

use super::job_reads::job_deployments;
use super::jobs::job_written;
use super::{EndpointError, Indexed, JobWritten, ReadOptions};

/// A scaling action (`POST /v1/job/:id/scale`).
#[derive(Debug, Clone, Default)]
pub struct ScaleRequest {
    /// Namespace of the job.
    pub namespace: String,
    /// The job.
    pub job_id: String,
    /// The task group.
    pub group: String,
    /// The new count (none: only record the event).
    pub count: Option<i64>,
    /// Description.
    pub message: String,
    /// Whether the event reports an error.
    pub error: bool,
    /// Metadata kept with the event.
    pub meta: Option<BTreeMap<String, Value>>,
    /// Skip the policy's min/max check.
    pub policy_override: bool,
    /// Register only if the job's `JobModifyIndex` is this.
    pub enforce_index: Option<u64>,
}

/// The group `group` of `job`, or Nomad's 400.
fn group_policy<'j>(job: &'j Job, group: &str) -> Result<(i64, Option<&'j ScalingPolicy>), EndpointError> {
    let g = job
        .groups()
        .iter()
        .find(|g| g.name.as_deref() == Some(group))
        .ok_or_else(|| {
            EndpointError::bad_request(format!(
                "task group {group:?} specified for scaling does not exist in job"
            ))
        })?;
    Ok((g.count.unwrap_or(1), g.scaling.as_ref()))
}

/// Nomad's checks of a count against the group's policy and the job's deployment.
fn check_count(
    state: &State,
    job: &Job,
    req: &ScaleRequest,
    count: i64,
    policy: Option<&ScalingPolicy>,
) -> Result<(), EndpointError> {
    if let Some(p) = policy.filter(|_| !req.policy_override) {
        let min = p.min.unwrap_or(0);
        if count < min {
            return Err(EndpointError::bad_request(format!(
                "group count was less than scaling policy minimum: {count} < {min}"
            )));
        }
        if let Some(max) = p.max.filter(|max| count > *max) {
            return Err(EndpointError::bad_request(format!(
                "group count was greater than scaling policy maximum: {count} > {max}"
            )));
        }
    }
    let active = job_deployments(state, &req.namespace, &req.job_id)
        .first()
        .is_some_and(|d| d.status.is_active() && Some(d.job_create_index) == job.create_index);
    if active {
        return Err(EndpointError::bad_request(
            "job scaling blocked due to active deployment",
        ));
    }
    Ok(())
}

impl ClusterNode {
    /// Policies in `ns` (`*`: all), of job `job` and of type `kind` when given, by ID.
    pub async fn scaling_policies(
        &self,
        opts: &ReadOptions,
        ns: &str,
        job: &str,
        kind: &str,
    ) -> Result<Indexed<Vec<ScalingPolicyListStub>>, EndpointError> {
        self.table_read(opts, "jobs", "", |s| {
            let mut out: Vec<ScalingPolicyListStub> = s
                .scaling_policies(ns)
                .map(policy_stub)
                .filter(|p| job.is_empty() || p.target.get("Job").map(String::as_str) == Some(job))
                .filter(|p| kind.is_empty() || p.r#type.starts_with(kind))
                .collect();
            out.sort_by(|a, b| a.id.cmp(&b.id));
            Some(out)
        })
        .await
    }

    /// The policy with ID `id`.
    pub async fn scaling_policy(
        &self,
        opts: &ReadOptions,
        id: &str,
    ) -> Result<Indexed<ScalingPolicy>, EndpointError> {
        self.table_read(opts, "jobs", "scaling policy not found", |s| {
            s.scaling_policy(id).cloned()
        })
        .await
    }

    /// Changes a group's count (a new job version and an evaluation) and records the event.
    pub async fn scale_job(&self, req: ScaleRequest) -> Result<JobWritten, EndpointError> {
        if req.group.is_empty() {
            return Err(EndpointError::bad_request(
                "missing task group name for scaling action",
            ));
        }
        if let Some(count) = req.count {
            if count < 0 {
                return Err(EndpointError::bad_request(
                    "scaling action count can't be negative",
                ));
            }
            if req.error {
                return Err(EndpointError::bad_request(
                    "scaling action should not contain count if error is true",
                ));
            }
        }
        let (job, previous_count) = self
            .read_now(|state| {
                let rec = state
                    .job(&req.namespace, &req.job_id)
                    .ok_or_else(|| EndpointError::NotFound(format!("job {:?} not found", req.job_id)))?;
                let job = rec.current();
                let (previous, policy) = group_policy(job, &req.group)?;
                if let Some(count) = req.count {
                    check_count(state, job, &req, count, policy)?;
                }
                Ok((job.clone(), previous))
            })
            .await?;
        let now = now_nanos();
        let mut written = JobWritten {
            index: 0,
            // Without a count change Nomad answers the job's ModifyIndex here.
            job_modify_index: job.modify_index.unwrap_or_default(),
            eval_id: String::new(),
            eval_create_index: 0,
        };
        if let Some(count) = req.count {
            written = self.register_count(job, &req, count, now).await?;
        }
        let event = ScalingEvent {
            time: now,
            count: req.count,
            previous_count,
            error: req.error,
            message: req.message.clone(),
            meta: req.meta.clone(),
            eval_id: (!written.eval_id.is_empty()).then(|| written.eval_id.clone()),
            create_index: 0,
        };
        let cmd = Command::ScalingEvent {
            namespace: req.namespace,
            job_id: req.job_id,
            group: req.group,
            event: Box::new(event),
        };
        let resp = self.write(cmd).await?;
        if let Outcome::NotFound { message } = resp.outcome {
            return Err(EndpointError::NotFound(message));
        }
        written.index = resp.index;
        Ok(written)
    }

    async fn register_count(
        &self,
        mut job: Job,
        req: &ScaleRequest,
        count: i64,
        now: i64,
    ) -> Result<JobWritten, EndpointError> {
        for g in job.task_groups.iter_mut().flatten() {
            if g.name.as_deref() == Some(req.group.as_str()) {
                g.count = Some(count);
            }
        }
        let eval = job_eval(&job, triggered_by::JOB_SCALING, 0);
        let cmd = Command::JobRegister(Box::new(JobRegister {
            job,
            submission: None,
            enforce_index: req.enforce_index,
            eval,
            submit_time: now,
        }));
        let resp = self.write(cmd).await?;
        job_written(resp.index, resp.outcome)
    }

    /// Nomad's `JobScaleStatus` of job `id`.
    pub async fn job_scale_status(
        &self,
        opts: &ReadOptions,
        ns: &str,
        id: &str,
    ) -> Result<Indexed<Value>, EndpointError> {
        self.table_read(opts, "jobs", "job not found", |s| scale_status(s, ns, id))
            .await
    }
}

/// Per group: the count asked for, what the newest deployment placed and found (un)healthy,
/// what runs, and the scaling events.
fn scale_status(s: &State, ns: &str, id: &str) -> Option<Value> {
    let job = s.job(ns, id)?.current();
    let deployment = job_deployments(s, ns, id).first().copied();
    let events = s.scaling_events_of(ns, id);
    let mut groups = serde_json::Map::new();
    for g in job.groups() {
        let name = g.name.clone().unwrap_or_default();
        let ds = deployment.and_then(|d| d.task_groups.get(&name));
        let running = s
            .allocs
            .values()
            .filter(|a| a.job_id == id && namespace_or_default(&a.namespace) == ns && a.task_group == name)
            .filter(|a| a.client_status == ClientStatus::Running)
            .count();
        let group_events = events.and_then(|e| e.get(&name));
        groups.insert(
            name,
            json!({
                "Desired": g.count.unwrap_or(1),
                "Placed": ds.map_or(0, |d| d.placed_allocs),
                "Running": running,
                "Healthy": ds.map_or(0, |d| d.healthy_allocs),
                "Unhealthy": ds.map_or(0, |d| d.unhealthy_allocs),
                "Events": group_events,
            }),
        );
    }
    Some(json!({
        "JobID": id,
        "Namespace": ns,
        "JobCreateIndex": job.create_index.unwrap_or_default(),
        "JobModifyIndex": job.modify_index.unwrap_or_default(),
        "JobStopped": job.stop == Some(true),
        "TaskGroups": groups,
    }))
}
