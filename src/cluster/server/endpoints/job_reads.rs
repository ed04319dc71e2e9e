//! Job reads: the job list with summaries, one job, its versions, the source a version was
//! submitted with, its summary and its deployments. Blocking where Nomad blocks.

use serde_json::{Value, json};

use crate::api::{Deployment, JobSubmission};
use crate::cluster::fsm::{JobRecord, State, SummaryIndex, job_summary};
use crate::cluster::server::ClusterNode;
use crate::spec::Job;

use super::{EndpointError, Indexed, ReadOptions};

/// Nomad's `JobListStub` for one job, with its summary.
fn job_stub(state: &State, index: &SummaryIndex<'_>, rec: &JobRecord) -> Value {
    let job = rec.current();
    let summary = index
        .summary(state, job.namespace(), job.id())
        .unwrap_or(Value::Null);
    json!({
        "ID": job.id(),
        "ParentID": job.parent_id.clone().unwrap_or_default(),
        "Name": job.name.clone().unwrap_or_else(|| job.id().to_owned()),
        "Namespace": job.namespace(),
        "Datacenters": job.datacenters.clone().unwrap_or_default(),
        "Type": job.job_type(),
        "Priority": job.priority.unwrap_or(50),
        "Periodic": job.periodic.is_some(),
        "ParameterizedJob": job.parameterized_job.is_some(),
        "Stop": job.stop.unwrap_or(false),
        "Status": job.status.clone().unwrap_or_default(),
        "StatusDescription": job.status_description.clone().unwrap_or_default(),
        "JobSummary": summary,
        "Version": job.version.unwrap_or(0),
        "CreateIndex": job.create_index.unwrap_or(0),
        "ModifyIndex": job.modify_index.unwrap_or(0),
        "JobModifyIndex": job.job_modify_index.unwrap_or(0),
        "SubmitTime": job.submit_time.unwrap_or(0),
        "Meta": job.meta,
    })
}

/// Deployments of one job, newest first.
pub(super) fn job_deployments<'s>(s: &'s State, ns: &str, id: &str) -> Vec<&'s Deployment> {
    let mut out: Vec<&Deployment> = s
        .deployments
        .values()
        .filter(|d| d.namespace == ns && d.job_id == id)
        .collect();
    out.sort_by_key(|d| std::cmp::Reverse(d.create_index));
    out
}

impl ClusterNode {
    /// Job stubs (with summaries) in `ns` whose ID starts with `prefix`.
    pub async fn job_stubs(
        &self,
        opts: &ReadOptions,
        ns: &str,
        prefix: &str,
    ) -> Result<Indexed<Vec<Value>>, EndpointError> {
        self.blocking_read(opts, |s| {
            let summaries = SummaryIndex::new(s);
            let stubs = s
                .jobs_with_prefix(ns, prefix)
                .map(|r| job_stub(s, &summaries, r))
                .collect();
            (s.table_index("jobs"), stubs)
        })
        .await
    }

    /// Reads the job's current version, or (with `versions`) every retained version, newest
    /// first; blocking on the job's own modify index.
    async fn job_read<T>(
        &self,
        opts: &ReadOptions,
        ns: &str,
        id: &str,
        pick: impl Fn(&JobRecord) -> T,
    ) -> Result<Indexed<T>, EndpointError> {
        let found = self
            .blocking_read(opts, |s| match s.job(ns, id) {
                Some(rec) => (rec.current().modify_index.unwrap_or(0), Some(pick(rec))),
                None => (s.table_index("jobs"), None),
            })
            .await?;
        let value = found
            .value
            .ok_or_else(|| EndpointError::not_found("job not found"))?;
        Ok(Indexed {
            index: found.index,
            value,
        })
    }

    /// The job's current version.
    pub async fn job(&self, opts: &ReadOptions, ns: &str, id: &str) -> Result<Indexed<Job>, EndpointError> {
        self.job_read(opts, ns, id, |rec| rec.current().clone()).await
    }

    /// The job's retained versions, newest first.
    pub async fn job_versions(
        &self,
        opts: &ReadOptions,
        ns: &str,
        id: &str,
    ) -> Result<Indexed<Vec<Job>>, EndpointError> {
        self.job_read(opts, ns, id, |rec| {
            rec.versions().into_iter().map(|v| v.job).collect()
        })
        .await
    }

    /// The source version `version` (default: the current one) was submitted with.
    pub async fn job_submission(
        &self,
        ns: &str,
        id: &str,
        version: Option<u64>,
    ) -> Result<Indexed<JobSubmission>, EndpointError> {
        self.read_now(|state| {
            let rec = state
                .job(ns, id)
                .ok_or_else(|| EndpointError::not_found("job not found"))?;
            let version = version.unwrap_or_else(|| rec.current().version.unwrap_or(0));
            let sub = rec
                .version(version)
                .and_then(|v| v.submission.clone())
                .ok_or_else(|| EndpointError::not_found("job source not found"))?;
            Ok(Indexed {
                index: state.table_index("jobs"),
                value: sub,
            })
        })
        .await
    }

    /// Nomad's `JobSummary` of one job, blocking on allocations.
    pub async fn job_summary(
        &self,
        opts: &ReadOptions,
        ns: &str,
        id: &str,
    ) -> Result<Indexed<Value>, EndpointError> {
        self.table_read(opts, "allocs", "job not found", |s| job_summary(s, ns, id))
            .await
    }

    /// The job's deployments, newest first.
    pub async fn job_deployments(
        &self,
        opts: &ReadOptions,
        ns: &str,
        id: &str,
    ) -> Result<Indexed<Vec<Deployment>>, EndpointError> {
        self.table_read(opts, "deployments", "job not found", |s| {
            s.job(ns, id)?;
            Some(job_deployments(s, ns, id).into_iter().cloned().collect())
        })
        .await
    }

    /// The job's newest deployment, if any.
    pub async fn job_latest_deployment(
        &self,
        opts: &ReadOptions,
        ns: &str,
        id: &str,
    ) -> Result<Indexed<Option<Deployment>>, EndpointError> {
        self.table_read(opts, "deployments", "job not found", |s| {
            s.job(ns, id)?;
            Some(job_deployments(s, ns, id).first().map(|d| (*d).clone()))
        })
        .await
    }
}
