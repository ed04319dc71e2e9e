//! [`Backend`] over the Nomad HTTP API: real Nomad or the built-in cluster.

use std::time::Duration;

use super::{Backend, LiveJob};
use crate::api::{
    AllocListStub, Allocation, ApiError, ClientConfig, Deployment, Evaluation, EventStream,
    JobDeregisterResponse, JobPlanRequest, JobPlanResponse, JobRegisterRequest, JobRegisterResponse,
    JobRevertRequest, Method, NodeListStub, NomadClient, QueryMeta, QueryOptions, Variable, encode_path,
};
use crate::spec::Job;
use crate::spec::diff::{DiffType, SensitivePaths, diff};
use crate::stack::BackendSettings;

/// The Nomad API backend.
#[derive(Clone, Debug)]
pub struct NomadBackend {
    client: NomadClient,
}

/// Stack settings first, then the `NOMAD_*` environment, as Nomad's CLI reads it. An address
/// left unset in both means the local built-in cluster.
pub fn resolve_client_config(
    settings: &BackendSettings,
    env: impl Fn(&str) -> Option<String>,
) -> ClientConfig {
    settings.connection.clone().or(ClientConfig::from_env(env))
}

fn ns_query(namespace: &str) -> Vec<(&'static str, String)> {
    vec![("namespace", namespace.to_string())]
}

impl NomadBackend {
    /// A backend over `client`.
    pub fn new(client: NomadClient) -> Self {
        NomadBackend { client }
    }

    /// The namespace a job goes to: its own, else the configured one, else `default`.
    pub fn namespace_of(&self, job: &Job) -> String {
        job.namespace
            .clone()
            .filter(|ns| !ns.is_empty())
            .or_else(|| self.client.config().namespace.clone())
            .unwrap_or_else(|| "default".to_string())
    }

    /// The underlying client.
    pub fn client(&self) -> &NomadClient {
        &self.client
    }

    async fn register_once(
        &self,
        job: &Job,
        check_index: Option<u64>,
        namespace: &str,
    ) -> Result<JobRegisterResponse, ApiError> {
        let body = JobRegisterRequest {
            job: job.clone(),
            enforce_index: check_index.is_some(),
            job_modify_index: check_index.unwrap_or(0),
            ..Default::default()
        };
        self.client
            .write(Method::Post, "/v1/jobs", &ns_query(namespace), &body)
            .await
    }

    /// The evaluation a registration at `job_modify_index` created, or empty when none is
    /// found (the gate then follows the allocations alone).
    async fn registration_eval(&self, namespace: &str, id: &str, job_modify_index: u64) -> String {
        let path = format!("/v1/job/{}/evaluations", encode_path(id));
        let evals: Vec<Evaluation> = match self
            .client
            .get(&path, &ns_query(namespace), QueryOptions::default())
            .await
        {
            Ok((e, _)) => e,
            Err(_) => return String::new(),
        };
        evals
            .into_iter()
            .filter(|e| e.job_modify_index == job_modify_index)
            .max_by_key(|e| e.create_index)
            .map(|e| e.id)
            .unwrap_or_default()
    }
}

/// Retries of a registration guarded by a check index after a transient failure.
const REGISTER_RETRIES: u32 = 4;

/// The server refused a registration because the job's modify index was not the one given
/// (Nomad: `Enforcing job modify index N: ...`).
fn is_index_conflict(e: &ApiError) -> bool {
    match e {
        ApiError::Status { code, message, .. } => {
            *code == 409
                || message.contains("Enforcing job modify index")
                || message.contains("conflicting job modify index")
        }
        _ => false,
    }
}

/// A failure that may pass: the connection, a busy or unavailable server, or no leader during
/// an election (Nomad answers `500 No cluster leader`). Other 500s (Nomad's answer to many
/// invalid requests) are final.
fn is_transient(e: &ApiError) -> bool {
    match e {
        ApiError::Transport(_) => true,
        ApiError::Status { code, message, .. } => {
            matches!(code, 429 | 502 | 503 | 504) || *code == 500 && message.to_lowercase().contains("leader")
        }
        _ => false,
    }
}

/// Whether `live` shows that registering `job` (over `check_index`) is done: the job runs
/// (not stopped) with exactly this spec (plus what its server adds on registration),
/// registered after the check index.
pub fn registration_landed(job: &Job, check_index: Option<u64>, live: &LiveJob) -> bool {
    let landed = crate::spec::admission::without_admission(live.job.clone(), job);
    live.job.stop != Some(true)
        && check_index.is_none_or(|i| live.job_modify_index > i)
        && diff(Some(job), Some(&landed), &SensitivePaths::new()).r#type == DiffType::None
}

impl Backend for NomadBackend {
    fn describe(&self) -> String {
        format!("Nomad API at {}", self.client.config().address())
    }

    async fn nodes(&self) -> Result<Vec<NodeListStub>, ApiError> {
        self.client
            .get("/v1/nodes", &[], QueryOptions::default())
            .await
            .map(|(n, _)| n)
    }

    async fn read_job(&self, namespace: &str, id: &str) -> Result<Option<LiveJob>, ApiError> {
        let path = format!("/v1/job/{}", encode_path(id));
        let found: Option<(Job, QueryMeta)> = self
            .client
            .get_optional(&path, &ns_query(namespace), QueryOptions::default())
            .await?;
        Ok(found.map(|(job, _)| LiveJob {
            version: job.version.unwrap_or(0),
            job_modify_index: job.job_modify_index.unwrap_or(0),
            job,
        }))
    }

    async fn plan_job(&self, job: &Job) -> Result<JobPlanResponse, ApiError> {
        let path = format!("/v1/job/{}/plan", encode_path(job.id()));
        let body = JobPlanRequest {
            job: job.clone(),
            diff: true,
            policy_override: false,
        };
        self.client
            .write(Method::Post, &path, &ns_query(&self.namespace_of(job)), &body)
            .await
    }

    async fn register_job(
        &self,
        job: &Job,
        check_index: Option<u64>,
    ) -> Result<JobRegisterResponse, ApiError> {
        let namespace = self.namespace_of(job);
        let mut attempt = 0;
        loop {
            let err = match self.register_once(job, check_index, &namespace).await {
                Ok(r) => return Ok(r),
                Err(e) => e,
            };
            let conflict = is_index_conflict(&err);
            if !conflict && !is_transient(&err) {
                return Err(err);
            }
            // The answer may have been lost after the write was done (a leader killed after
            // committing, a connection broken on the way back): the job as the server has it
            // now tells, and a retry would only meet that write as a conflict.
            if let Ok(Some(live)) = self.read_job(&namespace, job.id()).await
                && registration_landed(job, check_index, &live)
            {
                let eval_id = self
                    .registration_eval(&namespace, job.id(), live.job_modify_index)
                    .await;
                return Ok(JobRegisterResponse {
                    eval_id,
                    job_modify_index: live.job_modify_index,
                    ..Default::default()
                });
            }
            // Only a write guarded by a check index is retried: it can never land twice.
            if conflict || check_index.is_none() || attempt >= REGISTER_RETRIES {
                return Err(err);
            }
            attempt += 1;
            tokio::time::sleep(Duration::from_millis(200u64 << attempt)).await;
        }
    }

    async fn deregister_job(
        &self,
        namespace: &str,
        id: &str,
        purge: bool,
    ) -> Result<JobDeregisterResponse, ApiError> {
        let path = format!("/v1/job/{}", encode_path(id));
        let mut query = ns_query(namespace);
        query.push(("purge", purge.to_string()));
        self.client
            .request::<(), JobDeregisterResponse>(
                Method::Delete,
                &path,
                &query,
                None,
                QueryOptions::default(),
            )
            .await
            .map(|(r, _)| r)
    }

    async fn job_versions(&self, namespace: &str, id: &str) -> Result<Vec<Job>, ApiError> {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Versions {
            versions: Vec<Job>,
        }
        let path = format!("/v1/job/{}/versions", encode_path(id));
        let (v, _): (Versions, _) = self
            .client
            .get(&path, &ns_query(namespace), QueryOptions::default())
            .await?;
        Ok(v.versions)
    }

    async fn revert_job(
        &self,
        namespace: &str,
        id: &str,
        version: u64,
        prior: Option<u64>,
    ) -> Result<JobDeregisterResponse, ApiError> {
        let path = format!("/v1/job/{}/revert", encode_path(id));
        let body = JobRevertRequest {
            job_id: id.to_string(),
            job_version: version,
            enforce_prior_version: prior,
        };
        self.client
            .write(Method::Post, &path, &ns_query(namespace), &body)
            .await
    }

    async fn evaluation(&self, id: &str, opts: QueryOptions) -> Result<(Evaluation, QueryMeta), ApiError> {
        self.client
            .get(&format!("/v1/evaluation/{}", encode_path(id)), &[], opts)
            .await
    }

    async fn job_allocations(
        &self,
        namespace: &str,
        id: &str,
        opts: QueryOptions,
    ) -> Result<(Vec<AllocListStub>, QueryMeta), ApiError> {
        let path = format!("/v1/job/{}/allocations", encode_path(id));
        self.client.get(&path, &ns_query(namespace), opts).await
    }

    async fn allocation(&self, id: &str) -> Result<Allocation, ApiError> {
        self.client
            .get(
                &format!("/v1/allocation/{}", encode_path(id)),
                &[],
                QueryOptions::default(),
            )
            .await
            .map(|(a, _)| a)
    }

    async fn latest_deployment(
        &self,
        namespace: &str,
        id: &str,
        opts: QueryOptions,
    ) -> Result<(Option<Deployment>, QueryMeta), ApiError> {
        let path = format!("/v1/job/{}/deployment", encode_path(id));
        // Nomad answers `null` when the job has no deployment.
        self.client.get(&path, &ns_query(namespace), opts).await
    }

    async fn promote_deployment(&self, namespace: &str, id: &str) -> Result<(), ApiError> {
        let path = format!("/v1/deployment/promote/{}", encode_path(id));
        let body = serde_json::json!({ "DeploymentID": id, "All": true });
        let _: serde_json::Value = self
            .client
            .write(Method::Post, &path, &ns_query(namespace), &body)
            .await?;
        Ok(())
    }

    async fn task_log_tail(
        &self,
        alloc_id: &str,
        task: &str,
        stderr: bool,
        max_bytes: usize,
    ) -> Result<String, ApiError> {
        let path = format!("/v1/client/fs/logs/{}", encode_path(alloc_id));
        let query = [
            ("task", task.to_string()),
            ("type", if stderr { "stderr" } else { "stdout" }.to_string()),
            ("origin", "end".to_string()),
            ("offset", max_bytes.to_string()),
            ("plain", "true".to_string()),
        ];
        let opts = QueryOptions {
            index: None,
            wait: Some(Duration::from_secs(2)),
        };
        let (bytes, _) = self
            .client
            .request_raw::<()>(Method::Get, &path, &query, None, opts)
            .await?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    async fn read_variable(&self, namespace: &str, path: &str) -> Result<Option<Variable>, ApiError> {
        let url = format!(
            "/v1/var/{}",
            path.split('/').map(encode_path).collect::<Vec<_>>().join("/")
        );
        Ok(self
            .client
            .get_optional(&url, &ns_query(namespace), QueryOptions::default())
            .await?
            .map(|(v, _)| v))
    }

    async fn put_variable(&self, var: &Variable, cas: Option<u64>) -> Result<Variable, ApiError> {
        let url = format!(
            "/v1/var/{}",
            var.path.split('/').map(encode_path).collect::<Vec<_>>().join("/")
        );
        let mut query = ns_query(if var.namespace.is_empty() {
            "default"
        } else {
            &var.namespace
        });
        if let Some(cas) = cas {
            query.push(("cas", cas.to_string()));
        }
        self.client.write(Method::Put, &url, &query, var).await
    }

    async fn delete_variable(&self, namespace: &str, path: &str, cas: Option<u64>) -> Result<(), ApiError> {
        let url = format!(
            "/v1/var/{}",
            path.split('/').map(encode_path).collect::<Vec<_>>().join("/")
        );
        let mut query = ns_query(namespace);
        if let Some(cas) = cas {
            query.push(("cas", cas.to_string()));
        }
        match self
            .client
            .request_raw::<()>(Method::Delete, &url, &query, None, QueryOptions::default())
            .await
        {
            Ok(_) => Ok(()),
            Err(ApiError::Status { code: 404, .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn event_stream(&self, topics: &[&str]) -> Result<EventStream, ApiError> {
        let mut query: Vec<(&str, String)> = topics.iter().map(|t| ("topic", t.to_string())).collect();
        query.push(("namespace", "*".into()));
        let body = self.client.get_stream("/v1/event/stream", &query).await?;
        Ok(EventStream::new(body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16, message: &str) -> ApiError {
        ApiError::Status {
            method: "POST".into(),
            path: "/v1/jobs".into(),
            code,
            message: message.into(),
            body: Vec::new(),
        }
    }

    fn job(image: &str) -> Job {
        let mut j: Job = serde_json::from_value(serde_json::json!({
            "ID": "web", "Name": "web", "Type": "service",
            "TaskGroups": [{"Name": "g", "Tasks": [{"Name": "t", "Driver": "docker", "Config": {"image": image}}]}]
        }))
        .unwrap();
        j = crate::spec::canonicalize(&j);
        j
    }

    fn live(job: Job, index: u64, stop: bool) -> LiveJob {
        let mut job = job;
        job.stop = Some(stop);
        LiveJob {
            job,
            version: 0,
            job_modify_index: index,
        }
    }

    #[test]
    fn a_registration_landed_when_the_job_runs_this_spec_after_the_check_index() {
        let want = job("nginx:1");
        // Created by the lost write: check index 0, the job exists with our spec.
        assert!(registration_landed(
            &want,
            Some(0),
            &live(want.clone(), 12, false)
        ));
        // Updated by it: a newer index.
        assert!(registration_landed(
            &want,
            Some(10),
            &live(want.clone(), 12, false)
        ));
        // Not landed: the index is the one we checked against, the spec differs, or stopped.
        assert!(!registration_landed(
            &want,
            Some(12),
            &live(want.clone(), 12, false)
        ));
        assert!(!registration_landed(
            &want,
            Some(0),
            &live(job("nginx:2"), 12, false)
        ));
        assert!(!registration_landed(
            &want,
            Some(0),
            &live(want.clone(), 12, true)
        ));
        // Without a check index: the spec alone.
        assert!(registration_landed(&want, None, &live(want.clone(), 3, false)));
    }

    #[test]
    fn conflicts_and_transient_failures_are_told_apart() {
        let conflict = status(
            500,
            "Enforcing job modify index 0: job exists with conflicting job modify index: 12",
        );
        assert!(is_index_conflict(&conflict));
        assert!(is_index_conflict(&status(409, "conflict")));
        assert!(!is_transient(&status(400, "job validation failed")));
        assert!(!is_transient(&status(500, "job validation failed")));
        assert!(is_transient(&status(500, "No cluster leader")));
        assert!(is_transient(&status(503, "")));
        assert!(is_transient(&ApiError::Transport("connection reset".into())));
        assert!(!is_index_conflict(&status(500, "No cluster leader")));
    }
}
