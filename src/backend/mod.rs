//! Backends: where a stack's jobs run. Both kinds of server (real Nomad and the built-in
//! cluster) speak the Nomad HTTP API, so there is one implementation, [`NomadBackend`], over
//! [`crate::api::NomadClient`]; the trait keeps the apply engine testable without a server.
//!
//! ```text
//!  apply / plan ──► Backend ──► NomadBackend ──► NomadClient ──HTTP──► Nomad | deploy agent
//!                                   ▲
//!  stack settings, NOMAD_* ─► resolve ┘ (no address and nothing listening: start a local agent)
//! ```
//!
//! `plan` does not import this module: it asks through `plan::LiveSource`, which `apply`
//! implements for every [`Backend`].

mod day_two;
mod local;
mod nomad;

use std::future::Future;

use crate::api::{
    AllocListStub, Allocation, ApiError, Deployment, Evaluation, EventStream, JobDeregisterResponse,
    JobPlanResponse, JobRegisterResponse, NodeListStub, QueryMeta, QueryOptions, Variable,
};
use crate::spec::Job;

pub use day_two::{DispatchRequest, LogRequest};
pub use local::{
    LocalCluster, LocalClusterError, agent_status, ensure_local_agent, is_local_agent_address,
    local_agent_token, stop_local_agent,
};
pub use nomad::{NomadBackend, resolve_client_config};

/// A job as the backend has it now.
#[derive(Clone, Debug, PartialEq)]
pub struct LiveJob {
    /// The job as the server stores it (canonicalized by the server).
    pub job: Job,
    /// The server's version number.
    pub version: u64,
    /// `JobModifyIndex`: pass it back as the check index to register safely.
    pub job_modify_index: u64,
}

/// What `deploy` needs from a cluster.
pub trait Backend: Send + Sync {
    /// A short description for messages (`nomad at http://…`).
    fn describe(&self) -> String;

    /// The cluster's nodes.
    fn nodes(&self) -> impl Future<Output = Result<Vec<NodeListStub>, ApiError>> + Send;

    /// The job, or `None` when the backend has no such job.
    fn read_job(
        &self,
        namespace: &str,
        id: &str,
    ) -> impl Future<Output = Result<Option<LiveJob>, ApiError>> + Send;

    /// The server's dry-run of registering `job`: diff, annotations and placement failures.
    fn plan_job(&self, job: &Job) -> impl Future<Output = Result<JobPlanResponse, ApiError>> + Send;

    /// Registers `job`; with `check_index`, only if the job's modify index still equals it
    /// (0: only if the job does not exist).
    fn register_job(
        &self,
        job: &Job,
        check_index: Option<u64>,
    ) -> impl Future<Output = Result<JobRegisterResponse, ApiError>> + Send;

    /// Stops the job (and purges it with `purge`).
    fn deregister_job(
        &self,
        namespace: &str,
        id: &str,
        purge: bool,
    ) -> impl Future<Output = Result<JobDeregisterResponse, ApiError>> + Send;

    /// Every version the server keeps, newest first.
    fn job_versions(
        &self,
        namespace: &str,
        id: &str,
    ) -> impl Future<Output = Result<Vec<Job>, ApiError>> + Send;

    /// Reverts to `version`, if the current version is still `prior` (when given).
    fn revert_job(
        &self,
        namespace: &str,
        id: &str,
        version: u64,
        prior: Option<u64>,
    ) -> impl Future<Output = Result<JobDeregisterResponse, ApiError>> + Send;

    /// One evaluation, as a blocking query.
    fn evaluation(
        &self,
        id: &str,
        opts: QueryOptions,
    ) -> impl Future<Output = Result<(Evaluation, QueryMeta), ApiError>> + Send;

    /// The job's allocations, as a blocking query.
    fn job_allocations(
        &self,
        namespace: &str,
        id: &str,
        opts: QueryOptions,
    ) -> impl Future<Output = Result<(Vec<AllocListStub>, QueryMeta), ApiError>> + Send;

    /// One allocation with its task states.
    fn allocation(&self, id: &str) -> impl Future<Output = Result<Allocation, ApiError>> + Send;

    /// The job's most recent deployment, as a blocking query.
    fn latest_deployment(
        &self,
        namespace: &str,
        id: &str,
        opts: QueryOptions,
    ) -> impl Future<Output = Result<(Option<Deployment>, QueryMeta), ApiError>> + Send;

    /// Promotes the canaries of every group of deployment `id` (`POST
    /// /v1/deployment/promote/:id` with `All`).
    fn promote_deployment(
        &self,
        namespace: &str,
        id: &str,
    ) -> impl Future<Output = Result<(), ApiError>> + Send;

    /// The last `max_bytes` of a task's stdout or stderr.
    fn task_log_tail(
        &self,
        alloc_id: &str,
        task: &str,
        stderr: bool,
        max_bytes: usize,
    ) -> impl Future<Output = Result<String, ApiError>> + Send;

    /// A variable, or `None`.
    fn read_variable(
        &self,
        namespace: &str,
        path: &str,
    ) -> impl Future<Output = Result<Option<Variable>, ApiError>> + Send;

    /// Writes a variable; with `cas`, only if its modify index still equals it.
    fn put_variable(
        &self,
        var: &Variable,
        cas: Option<u64>,
    ) -> impl Future<Output = Result<Variable, ApiError>> + Send;

    /// Deletes a variable; with `cas`, only if its modify index still equals it. Deleting one
    /// that does not exist succeeds.
    fn delete_variable(
        &self,
        namespace: &str,
        path: &str,
        cas: Option<u64>,
    ) -> impl Future<Output = Result<(), ApiError>> + Send;

    /// The cluster's events of `topics` in every namespace, from the next change on (Nomad's
    /// `GET /v1/event/stream`). A backend without one answers 404, and its callers use
    /// blocking queries instead.
    fn event_stream(&self, topics: &[&str]) -> impl Future<Output = Result<EventStream, ApiError>> + Send {
        let path = format!("/v1/event/stream?topic={}", topics.join("&topic="));
        async move {
            Err(ApiError::Status {
                method: "GET".into(),
                path,
                code: 404,
                message: "this backend has no event stream".into(),
                body: Vec::new(),
            })
        }
    }
}
