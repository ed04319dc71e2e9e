//! A deterministic in-memory [`Backend`] for the executor's tests. Time is tokio's (paused in
//! tests), allocations are computed from when a job version was registered and the job's
//! scripted [`Behavior`], and every write is logged with its instant.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::gate::desired_allocs;
use crate::api::{
    AllocDeploymentStatus, AllocListStub, Allocation, ApiError, ClientStatus, Deployment, DeploymentStatus,
    DesiredStatus, EvalStatus, Evaluation, JobDeregisterResponse, JobPlanResponse, JobRegisterResponse,
    NodeListStub, QueryMeta, QueryOptions, TaskEvent, TaskState, Variable,
};
use crate::backend::{Backend, LiveJob};
use crate::spec::Job;

/// How a job's allocations behave once registered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behavior {
    /// Running and healthy after the delay.
    Run(Duration),
    /// Complete with this exit code after the delay (0: success).
    Exit(Duration, i64),
    /// Never leaves pending.
    Hang,
    /// Never leaves pending, and its evaluation is gone (404) as soon as it is created.
    EvalGone,
}

#[derive(Clone, Debug)]
struct FakeJob {
    versions: Vec<Job>,
    version: u64,
    modify_index: u64,
    since: Instant,
    stopped: bool,
}

#[derive(Default)]
struct Inner {
    index: u64,
    jobs: BTreeMap<String, FakeJob>,
    behaviors: BTreeMap<String, Behavior>,
    log: Vec<(Instant, String)>,
}

/// The prefix of evaluation IDs that read as gone (jobs behaving as [`Behavior::EvalGone`]).
const GONE_EVAL: &str = "gone";

/// The in-memory backend.
#[derive(Default)]
pub struct FakeBackend {
    inner: Mutex<Inner>,
}

fn conflict(msg: String) -> ApiError {
    ApiError::Status {
        method: "POST".into(),
        path: "/v1/jobs".into(),
        code: 400,
        message: msg,
        body: Vec::new(),
    }
}

impl FakeBackend {
    /// Scripts `job_id`'s allocations (default: running after 1s).
    pub fn behave(&self, job_id: &str, b: Behavior) {
        self.inner.lock().unwrap().behaviors.insert(job_id.to_string(), b);
    }

    /// Every write so far, as `(instant, "register api")`.
    pub fn log(&self) -> Vec<(Instant, String)> {
        self.inner.lock().unwrap().log.clone()
    }

    /// The live version of a job, if it runs.
    pub fn live_version(&self, job_id: &str) -> Option<u64> {
        let g = self.inner.lock().unwrap();
        g.jobs.get(job_id).filter(|j| !j.stopped).map(|j| j.version)
    }

    /// The live spec of a job, if it runs.
    pub fn live_spec(&self, job_id: &str) -> Option<Job> {
        let g = self.inner.lock().unwrap();
        g.jobs
            .get(job_id)
            .filter(|j| !j.stopped)
            .map(|j| j.versions[j.version as usize].clone())
    }

    fn stubs(&self, id: &str) -> Vec<AllocListStub> {
        let g = self.inner.lock().unwrap();
        let Some(j) = g.jobs.get(id) else {
            return Vec::new();
        };
        let job = &j.versions[j.version as usize];
        if job.is_periodic() || job.is_parameterized() {
            return Vec::new();
        }
        let behavior = g
            .behaviors
            .get(id)
            .copied()
            .unwrap_or(Behavior::Run(Duration::from_secs(1)));
        let n = desired_allocs(job).max(1);
        let elapsed = j.since.elapsed();
        (0..n)
            .map(|i| {
                let mut a = AllocListStub {
                    id: format!("{id:0<8}-{:04}-{i:04}", j.version),
                    name: format!("{id}.g[{i}]"),
                    node_name: format!("node-{i}"),
                    job_id: id.to_string(),
                    job_version: j.version,
                    desired_status: if j.stopped {
                        DesiredStatus::Stop
                    } else {
                        DesiredStatus::Run
                    },
                    ..Default::default()
                };
                let (status, exit) = match behavior {
                    _ if j.stopped => (ClientStatus::Complete, None),
                    Behavior::Hang | Behavior::EvalGone => (ClientStatus::Pending, None),
                    Behavior::Run(d) if elapsed >= d => (ClientStatus::Running, None),
                    Behavior::Exit(d, code) if elapsed >= d => (
                        if code == 0 {
                            ClientStatus::Complete
                        } else {
                            ClientStatus::Failed
                        },
                        Some(code),
                    ),
                    _ => (ClientStatus::Pending, None),
                };
                a.client_status = status;
                if status == ClientStatus::Running {
                    a.deployment_status = Some(AllocDeploymentStatus {
                        healthy: Some(true),
                        ..Default::default()
                    });
                }
                if let Some(code) = exit {
                    let ev = TaskEvent {
                        r#type: "Terminated".into(),
                        exit_code: code,
                        message: format!("exit {code}"),
                        ..Default::default()
                    };
                    let state = TaskState {
                        state: "dead".into(),
                        failed: code != 0,
                        events: Some(vec![ev]),
                        ..Default::default()
                    };
                    a.task_states = Some(BTreeMap::from([("t".to_string(), state)]));
                }
                a
            })
            .collect()
    }

    fn write(&self, what: String) -> u64 {
        let mut g = self.inner.lock().unwrap();
        g.index += 1;
        g.log.push((Instant::now(), what));
        g.index
    }
}

impl Backend for FakeBackend {
    fn describe(&self) -> String {
        "in-memory test backend".into()
    }

    async fn nodes(&self) -> Result<Vec<NodeListStub>, ApiError> {
        Ok(Vec::new())
    }

    async fn read_job(&self, _namespace: &str, id: &str) -> Result<Option<LiveJob>, ApiError> {
        let g = self.inner.lock().unwrap();
        Ok(g.jobs.get(id).filter(|j| !j.stopped).map(|j| {
            let mut job = j.versions[j.version as usize].clone();
            job.version = Some(j.version);
            job.job_modify_index = Some(j.modify_index);
            LiveJob {
                job,
                version: j.version,
                job_modify_index: j.modify_index,
            }
        }))
    }

    async fn plan_job(&self, _job: &Job) -> Result<JobPlanResponse, ApiError> {
        Ok(JobPlanResponse::default())
    }

    async fn register_job(
        &self,
        job: &Job,
        check_index: Option<u64>,
    ) -> Result<JobRegisterResponse, ApiError> {
        let id = job.id().to_string();
        let index = self.write(format!("register {id}"));
        let mut g = self.inner.lock().unwrap();
        let current = g
            .jobs
            .get(&id)
            .filter(|j| !j.stopped)
            .map(|j| j.modify_index)
            .unwrap_or(0);
        if let Some(ci) = check_index
            && ci != current
        {
            {
                return Err(conflict(format!(
                    "job exists with conflicting job modify index: {current}"
                )));
            }
        }
        let now = Instant::now();
        match g.jobs.get_mut(&id) {
            Some(j) => {
                j.versions.push(job.clone());
                j.version = j.versions.len() as u64 - 1;
                j.modify_index = index;
                j.since = now;
                j.stopped = false;
            }
            None => {
                g.jobs.insert(
                    id.clone(),
                    FakeJob {
                        versions: vec![job.clone()],
                        version: 0,
                        modify_index: index,
                        since: now,
                        stopped: false,
                    },
                );
            }
        }
        let gone = g.behaviors.get(&id) == Some(&Behavior::EvalGone);
        Ok(JobRegisterResponse {
            eval_id: format!("{}-{index}", if gone { GONE_EVAL } else { "eval" }),
            job_modify_index: index,
            ..Default::default()
        })
    }

    async fn deregister_job(
        &self,
        _namespace: &str,
        id: &str,
        purge: bool,
    ) -> Result<JobDeregisterResponse, ApiError> {
        let index = self.write(format!("deregister {id}"));
        let mut g = self.inner.lock().unwrap();
        if purge {
            g.jobs.remove(id);
        } else if let Some(j) = g.jobs.get_mut(id) {
            j.stopped = true;
        }
        Ok(JobDeregisterResponse {
            eval_id: format!("eval-{index}"),
            ..Default::default()
        })
    }

    async fn job_versions(&self, _namespace: &str, id: &str) -> Result<Vec<Job>, ApiError> {
        let g = self.inner.lock().unwrap();
        Ok(g.jobs
            .get(id)
            .map(|j| {
                j.versions
                    .iter()
                    .enumerate()
                    .rev()
                    .map(|(v, job)| Job {
                        version: Some(v as u64),
                        ..job.clone()
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn revert_job(
        &self,
        _namespace: &str,
        id: &str,
        version: u64,
        prior: Option<u64>,
    ) -> Result<JobDeregisterResponse, ApiError> {
        let index = self.write(format!("revert {id} {version}"));
        let mut g = self.inner.lock().unwrap();
        let Some(j) = g.jobs.get_mut(id) else {
            return Err(conflict(format!("job {id} not found")));
        };
        if prior.is_some_and(|p| p != j.version) || version as usize >= j.versions.len() {
            return Err(conflict(format!(
                "revert of {id} to {version}: current version is {}",
                j.version
            )));
        }
        let old = j.versions[version as usize].clone();
        j.versions.push(old);
        j.version = j.versions.len() as u64 - 1;
        j.modify_index = index;
        j.since = Instant::now();
        Ok(JobDeregisterResponse {
            eval_id: format!("eval-{index}"),
            ..Default::default()
        })
    }

    async fn evaluation(&self, id: &str, _opts: QueryOptions) -> Result<(Evaluation, QueryMeta), ApiError> {
        tokio::time::sleep(Duration::from_millis(10)).await;
        if id.starts_with(GONE_EVAL) {
            return Err(ApiError::Status {
                method: "GET".into(),
                path: format!("/v1/evaluation/{id}"),
                code: 404,
                message: "eval not found".into(),
                body: Vec::new(),
            });
        }
        let eval = Evaluation {
            id: id.to_string(),
            status: EvalStatus::Complete,
            ..Default::default()
        };
        Ok((
            eval,
            QueryMeta {
                last_index: 1,
                known_leader: true,
            },
        ))
    }

    async fn job_allocations(
        &self,
        _namespace: &str,
        id: &str,
        opts: QueryOptions,
    ) -> Result<(Vec<AllocListStub>, QueryMeta), ApiError> {
        if opts.index.is_some() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let index = self.inner.lock().unwrap().index;
        Ok((
            self.stubs(id),
            QueryMeta {
                last_index: index,
                known_leader: true,
            },
        ))
    }

    async fn allocation(&self, id: &str) -> Result<Allocation, ApiError> {
        let job = id.split('-').next().unwrap_or_default().trim_end_matches('0');
        let stub = self
            .stubs(job)
            .into_iter()
            .find(|a| a.id == id)
            .ok_or_else(|| conflict(format!("allocation {id} not found")))?;
        Ok(Allocation {
            id: stub.id,
            name: stub.name,
            node_name: stub.node_name,
            client_status: stub.client_status,
            task_states: stub.task_states,
            ..Default::default()
        })
    }

    async fn latest_deployment(
        &self,
        _namespace: &str,
        id: &str,
        _opts: QueryOptions,
    ) -> Result<(Option<Deployment>, QueryMeta), ApiError> {
        let stubs = self.stubs(id);
        let version = stubs.first().map(|a| a.job_version).unwrap_or(0);
        let healthy = !stubs.is_empty() && stubs.iter().all(|a| a.client_status == ClientStatus::Running);
        let d = Deployment {
            id: format!("deploy-{id}"),
            job_id: id.to_string(),
            job_version: version,
            status: if healthy {
                DeploymentStatus::Successful
            } else {
                DeploymentStatus::Running
            },
            ..Default::default()
        };
        Ok((Some(d), QueryMeta::default()))
    }

    async fn promote_deployment(&self, _namespace: &str, _id: &str) -> Result<(), ApiError> {
        Ok(())
    }

    async fn task_log_tail(
        &self,
        _alloc_id: &str,
        task: &str,
        stderr: bool,
        _max: usize,
    ) -> Result<String, ApiError> {
        Ok(if stderr {
            format!("starting {task}\nerror: the preflight check failed\n")
        } else {
            String::new()
        })
    }

    async fn read_variable(&self, _namespace: &str, _path: &str) -> Result<Option<Variable>, ApiError> {
        Ok(None)
    }

    async fn put_variable(&self, var: &Variable, _cas: Option<u64>) -> Result<Variable, ApiError> {
        Ok(var.clone())
    }

    async fn delete_variable(
        &self,
        _namespace: &str,
        _path: &str,
        _cas: Option<u64>,
    ) -> Result<(), ApiError> {
        Ok(())
    }
}
