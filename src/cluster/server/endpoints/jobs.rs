//! Job writes: register (with check-index), stop or purge, revert to an earlier version, and
//! marking a version stable. Each goes through Raft with the evaluation it creates.

use crate::api::{JobSubmission, triggered_by};
use crate::cluster::fsm::{Command, JobDeregister, JobRegister, Outcome};
use crate::cluster::server::ClusterNode;
use crate::cluster::server::evals::{job_eval, now_nanos};
use crate::spec::admission::admit;
use crate::spec::{Job, canonicalize, validate};

use super::EndpointError;

/// A registration as the API receives it.
#[derive(Debug, Clone)]
pub struct JobRegistration {
    /// The job.
    pub job: Job,
    /// Original source.
    pub submission: Option<JobSubmission>,
    /// Register only if the job's `JobModifyIndex` is this (0: only if it does not exist).
    pub enforce_index: Option<u64>,
    /// Evaluation priority override (0: the job's).
    pub eval_priority: i64,
    /// The job ID the request's path names, which must match the job's.
    pub path_id: Option<String>,
    /// The request's namespace, used when the job names none.
    pub namespace: Option<String>,
}

/// What a job write committed.
#[derive(Debug, Clone)]
pub struct JobWritten {
    /// Raft index of the write.
    pub index: u64,
    /// The job's new `JobModifyIndex`.
    pub job_modify_index: u64,
    /// The evaluation created ("" when none).
    pub eval_id: String,
    /// Index the evaluation was created at (0 when none).
    pub eval_create_index: u64,
}

/// A revert request.
#[derive(Debug, Clone)]
pub struct RevertRequest {
    /// The job.
    pub job_id: String,
    /// Its namespace.
    pub namespace: String,
    /// The version to go back to.
    pub job_version: u64,
    /// Revert only if the current version is this one.
    pub enforce_prior_version: Option<u64>,
}

/// Nomad's multi-error text: `1 error occurred:\n\t* ...\n\n`.
pub fn multierror(errors: &[String]) -> String {
    let head = match errors.len() {
        1 => "1 error occurred:".to_owned(),
        n => format!("{n} errors occurred:"),
    };
    let items: String = errors.iter().map(|e| format!("\t* {e}\n")).collect();
    format!("{head}\n{items}\n")
}

/// The problems `validate` finds in `job`, as Nomad words them.
pub fn job_errors(job: &Job) -> Vec<String> {
    let mut errors: Vec<String> = validate(&canonicalize(job))
        .iter()
        .map(ToString::to_string)
        .collect();
    if job.id().is_empty() {
        errors.insert(0, "Missing job ID".into());
    }
    errors
}

/// The answer to a job write, or the error its outcome stands for.
pub(crate) fn job_written(index: u64, outcome: Outcome) -> Result<JobWritten, EndpointError> {
    match outcome {
        Outcome::JobWritten {
            job_modify_index,
            eval_id,
            eval_create_index,
        } => Ok(JobWritten {
            index,
            job_modify_index,
            eval_id,
            eval_create_index,
        }),
        other => Err(EndpointError::unexpected(other)),
    }
}

impl ClusterNode {
    /// Registers a job (a new version when it changed) with its evaluation.
    pub async fn register_job(&self, reg: JobRegistration) -> Result<JobWritten, EndpointError> {
        let mut job = reg.job;
        if job.id().is_empty() {
            return Err(EndpointError::bad_request("Job ID must be specified"));
        }
        if let Some(path_id) = reg.path_id.as_deref()
            && path_id != job.id()
        {
            return Err(EndpointError::bad_request("Job ID does not match name"));
        }
        if let Some(ns) = reg.namespace.filter(|n| !n.is_empty())
            && job.namespace.as_deref().is_none_or(str::is_empty)
        {
            job.namespace = Some(ns);
        }
        // As Nomad's HTTP API (`ApiJobToStructJob` canonicalizes first): a service group with
        // no `update` block gets the default strategy, so it has a deployment whose health
        // is tracked, and the job reads back with every default filled in.
        crate::spec::canonicalize_in_place(&mut job);
        let errors = job_errors(&job);
        if !errors.is_empty() {
            return Err(EndpointError::BadRequest(multierror(&errors)));
        }
        // As Nomad's admission hook: the implicit constraints of what the job uses, so it
        // reads back as Nomad's would.
        let job = admit(job);
        let eval = job_eval(&job, triggered_by::JOB_REGISTER, reg.eval_priority);
        let cmd = Command::JobRegister(Box::new(JobRegister {
            enforce_index: reg.enforce_index,
            submission: reg.submission,
            eval,
            submit_time: now_nanos(),
            job,
        }));
        let resp = self.write(cmd).await?;
        job_written(resp.index, resp.outcome)
    }

    /// Stops a job (or purges it) with an evaluation that stops its allocations.
    pub async fn deregister_job(
        &self,
        namespace: String,
        id: String,
        purge: bool,
    ) -> Result<JobWritten, EndpointError> {
        let eval = {
            let state = self.state().read();
            let rec = state
                .job(&namespace, &id)
                .ok_or_else(|| EndpointError::not_found("job not found"))?;
            job_eval(rec.current(), triggered_by::JOB_DEREGISTER, 0)
        };
        let cmd = Command::JobDeregister(Box::new(JobDeregister {
            namespace,
            id,
            purge,
            eval,
            submit_time: now_nanos(),
        }));
        let resp = self.write(cmd).await?;
        job_written(resp.index, resp.outcome)
    }

    /// Re-registers a retained earlier version as the newest one, through Raft like any
    /// registration, so the job gets a new version and an evaluation.
    pub async fn revert_job(&self, req: RevertRequest) -> Result<JobWritten, EndpointError> {
        let id = &req.job_id;
        let (job, submission, job_modify_index) = self
            .read_now(|state| {
                let rec = state
                    .job(&req.namespace, id)
                    .ok_or_else(|| EndpointError::not_found("job not found"))?;
                let current = rec.current().version.unwrap_or(0);
                if let Some(prior) = req.enforce_prior_version
                    && prior != current
                {
                    return Err(EndpointError::BadRequest(format!(
                        "Current job has version {current}; enforcing version {prior}"
                    )));
                }
                if req.job_version == current {
                    return Err(EndpointError::BadRequest(format!(
                        "can't revert to current version {current}"
                    )));
                }
                let old = rec.version(req.job_version).ok_or_else(|| {
                    EndpointError::BadRequest(format!("job {id:?} at version {} not found", req.job_version))
                })?;
                let old = old.into_owned();
                Ok((old.job, old.submission, rec.job_modify_index()))
            })
            .await?;
        let eval = job_eval(&job, triggered_by::JOB_REGISTER, 0);
        let cmd = Command::JobRegister(Box::new(JobRegister {
            job,
            submission,
            // The current version must still be the one checked above.
            enforce_index: Some(job_modify_index),
            eval,
            submit_time: now_nanos(),
        }));
        let resp = self.write(cmd).await?;
        job_written(resp.index, resp.outcome)
    }

    /// Marks a version of a job stable or not; answers the write's index.
    pub async fn set_job_stability(
        &self,
        namespace: String,
        job_id: String,
        version: u64,
        stable: bool,
    ) -> Result<u64, EndpointError> {
        let cmd = Command::JobStable {
            namespace,
            job_id,
            version,
            stable,
        };
        let resp = self.write(cmd).await?;
        match resp.outcome {
            Outcome::JobWritten { .. } => Ok(resp.index),
            other => Err(EndpointError::unexpected(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multierror_reads_like_nomads() {
        assert_eq!(multierror(&["a".into()]), "1 error occurred:\n\t* a\n\n");
        assert_eq!(
            multierror(&["a".into(), "b".into()]),
            "2 errors occurred:\n\t* a\n\t* b\n\n"
        );
    }
}
