//! Actions on one job beyond register and stop: `stable`, `evaluate`, `periodic/force`,
//! `dispatch`, and the read-only `summary`, `deployments` and `deployment`.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Path, Query};
use base64::Engine;
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};

use super::Ctx;
use super::body::{JsonBody, JsonOrEmpty};
use super::error::{ApiError, ApiResult};
use super::jobs::{job_eval, now_nanos, write_response};
use super::query::{QueryParams, indexed_json};
use super::read::blocking;
use crate::api::{Allocation, ClientStatus, Deployment, EvalStatus, Evaluation, triggered_by};
use crate::cluster::fsm::{Command, JobRegister, Outcome, PeriodicLaunch, State};
use crate::cluster::scheduler::{SchedRng, dispatch_child};
use crate::cluster::server::evals::new_eval;
use crate::cluster::server::periodic::child_registration;

/// Body of `POST /v1/job/:id/stable`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StableRequest {
    /// Must match the path when given.
    #[serde(default, rename = "JobID")]
    pub job_id: String,
    /// The version to mark.
    #[serde(default)]
    pub job_version: u64,
    /// Stable or not.
    #[serde(default)]
    pub stable: bool,
    /// Namespace (also accepted as a query parameter).
    #[serde(default)]
    pub namespace: Option<String>,
}

/// `POST|PUT /v1/job/:id/stable`.
pub async fn stable(
    ctx: Ctx,
    Path(id): Path<String>,
    Query(q): Query<QueryParams>,
    JsonBody(req): JsonBody<StableRequest>,
) -> ApiResult {
    if !req.job_id.is_empty() && req.job_id != id {
        return Err(ApiError::bad_request("Job ID does not match"));
    }
    let namespace = req.namespace.unwrap_or_else(|| q.namespace().to_owned());
    let cmd = Command::JobStable {
        namespace,
        job_id: id,
        version: req.job_version,
        stable: req.stable,
    };
    let resp = ctx.node.write(cmd).await?;
    match resp.outcome {
        Outcome::JobWritten { .. } => Ok(indexed_json(
            resp.index,
            &json!({ "JobModifyIndex": resp.index, "Index": resp.index }),
        )),
        other => write_response(resp.index, other),
    }
}

/// Body of `POST /v1/job/:id/evaluate`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EvaluateRequest {
    /// Must match the path when given. (`EvalOptions.ForceReschedule` is accepted and has no
    /// effect: failed allocations are rescheduled by their policy.)
    #[serde(default, rename = "JobID")]
    pub job_id: String,
}

/// `POST|PUT /v1/job/:id/evaluate`: a new evaluation of the current job.
pub async fn evaluate(
    ctx: Ctx,
    Path(id): Path<String>,
    Query(q): Query<QueryParams>,
    JsonOrEmpty(req): JsonOrEmpty<EvaluateRequest>,
) -> ApiResult {
    if !req.job_id.is_empty() && req.job_id != id {
        return Err(ApiError::bad_request("Job ID does not match"));
    }
    ctx.node.read_barrier().await?;
    let (eval, job_modify_index) = {
        let state = ctx.node.state().read();
        let rec = state
            .job(q.namespace(), &id)
            .ok_or_else(|| ApiError::not_found("job not found"))?;
        let job = rec.current();
        if job.is_periodic() || job.is_parameterized() {
            return Err(ApiError::bad_request(
                "can't evaluate periodic or parameterized job",
            ));
        }
        let mut eval = new_eval(job, triggered_by::JOB_EVAL, 0);
        eval.job_modify_index = rec.job_modify_index();
        (eval, rec.job_modify_index())
    };
    let resp = ctx
        .node
        .write(Command::EvalUpsert {
            evals: vec![eval.clone()],
        })
        .await?;
    Ok(indexed_json(
        resp.index,
        &json!({
            "EvalID": eval.id,
            "EvalCreateIndex": resp.index,
            "JobModifyIndex": job_modify_index,
            "Index": resp.index,
        }),
    ))
}

/// `POST /v1/job/:id/periodic/force`: launch a periodic job's child now.
pub async fn periodic_force(ctx: Ctx, Path(id): Path<String>, Query(q): Query<QueryParams>) -> ApiResult {
    ctx.node.read_barrier().await?;
    let namespace = q.namespace().to_owned();
    let reg = {
        let state = ctx.node.state().read();
        let rec = state
            .job(&namespace, &id)
            .ok_or_else(|| ApiError::not_found("job not found"))?;
        let job = rec.current();
        if !job.is_periodic() {
            return Err(ApiError::bad_request("can't force launch non-periodic job"));
        }
        if job.stop == Some(true) {
            return Err(ApiError::bad_request("can't force launch a stopped job"));
        }
        child_registration(job, Utc::now())
    };
    let eval_id = reg.eval.as_ref().map(|e| e.id.clone()).unwrap_or_default();
    let cmd = Command::PeriodicLaunch(Box::new(PeriodicLaunch {
        namespace,
        job_id: id,
        launch: now_nanos(),
        child: Some(Box::new(reg)),
    }));
    let resp = ctx.node.write(cmd).await?;
    match resp.outcome {
        Outcome::JobWritten { .. } => Ok(indexed_json(
            resp.index,
            &json!({ "EvalID": eval_id, "EvalCreateIndex": resp.index, "Index": resp.index }),
        )),
        Outcome::JobIndexConflict { .. } => Err(ApiError::bad_request(
            "a child of this periodic job was launched in this same second; try again",
        )),
        other => write_response(resp.index, other),
    }
}

/// Body of `POST /v1/job/:id/dispatch`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DispatchRequest {
    /// Must match the path when given.
    #[serde(default, rename = "JobID")]
    pub job_id: String,
    /// Base64 payload (at most 16 KiB decoded).
    #[serde(default)]
    pub payload: Option<String>,
    /// Meta for the child.
    #[serde(default)]
    pub meta: Option<BTreeMap<String, String>>,
    /// Prefix of the child's ID suffix.
    #[serde(default)]
    pub id_prefix_template: Option<String>,
}

/// Query of `POST /v1/job/:id/dispatch`.
#[derive(Debug, Default, Deserialize)]
pub struct DispatchQuery {
    namespace: Option<String>,
    idempotency_token: Option<String>,
}

/// `POST|PUT /v1/job/:id/dispatch`: launch a parameterized job's child.
pub async fn dispatch(
    ctx: Ctx,
    Path(id): Path<String>,
    Query(q): Query<DispatchQuery>,
    JsonBody(req): JsonBody<DispatchRequest>,
) -> ApiResult {
    if !req.job_id.is_empty() && req.job_id != id {
        return Err(ApiError::bad_request("Job ID does not match"));
    }
    let payload = match req.payload.as_deref().filter(|p| !p.is_empty()) {
        Some(p) => base64::engine::general_purpose::STANDARD
            .decode(p)
            .map_err(|e| ApiError::bad_request(format!("Payload is not valid base64: {e}")))?,
        None => Vec::new(),
    };
    let namespace = q
        .namespace
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "default".into());
    let token = q.idempotency_token.filter(|t| !t.is_empty());
    ctx.node.read_barrier().await?;
    let child = {
        let state = ctx.node.state().read();
        let rec = state
            .job(&namespace, &id)
            .ok_or_else(|| ApiError::not_found("job not found"))?;
        if let Some(existing) = token
            .as_deref()
            .and_then(|t| live_dispatch(&state, &namespace, &id, t))
        {
            return Ok(indexed_json(
                state.table_index("jobs"),
                &json!({
                    "DispatchedJobID": existing,
                    "EvalID": "",
                    "EvalCreateIndex": 0,
                    "JobCreateIndex": 0,
                    "Index": state.table_index("jobs"),
                }),
            ));
        }
        let now = Utc::now();
        let mut rng = SchedRng::seeded(now.timestamp_nanos_opt().unwrap_or(0) as u64 ^ state.index);
        let mut child = dispatch_child(
            rec.current(),
            &req.meta.unwrap_or_default(),
            &payload,
            now,
            &mut rng,
        )
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
        if let Some(prefix) = req.id_prefix_template.filter(|p| !p.is_empty()) {
            let suffix = child
                .id()
                .trim_start_matches(&format!("{id}/dispatch-"))
                .to_owned();
            child.id = Some(format!("{id}/dispatch-{prefix}-{suffix}"));
            child.name = child.id.clone();
        }
        child.dispatch_idempotency_token = token;
        child
    };
    let dispatched_id = child.id().to_owned();
    let eval = job_eval(&child, triggered_by::JOB_REGISTER, 0);
    let cmd = Command::JobRegister(Box::new(JobRegister {
        job: child,
        submission: None,
        enforce_index: Some(0),
        eval,
        submit_time: now_nanos(),
    }));
    let resp = ctx.node.write(cmd).await?;
    match resp.outcome {
        Outcome::JobWritten {
            eval_id,
            eval_create_index,
            ..
        } => Ok(indexed_json(
            resp.index,
            &json!({
                "DispatchedJobID": dispatched_id,
                "EvalID": eval_id,
                "EvalCreateIndex": eval_create_index,
                "JobCreateIndex": resp.index,
                "Index": resp.index,
            }),
        )),
        other => write_response(resp.index, other),
    }
}

/// A dispatched child of `parent` with idempotency token `token` that is not dead.
fn live_dispatch(state: &State, ns: &str, parent: &str, token: &str) -> Option<String> {
    state.jobs.get(ns)?.values().map(|r| r.current()).find_map(|j| {
        let same = j.parent_id.as_deref() == Some(parent)
            && j.dispatch_idempotency_token.as_deref() == Some(token)
            && j.status.as_deref() != Some("dead");
        same.then(|| j.id().to_owned())
    })
}

/// What job summaries are computed from, grouped by job in one pass over the state, so that
/// listing every job's summary does not walk every allocation once per job.
pub struct SummaryIndex<'s> {
    allocs: HashMap<(&'s str, &'s str), Vec<&'s Allocation>>,
    newest_eval: HashMap<(&'s str, &'s str), &'s Evaluation>,
    children: HashMap<(&'s str, &'s str), [u64; 3]>,
}

impl<'s> SummaryIndex<'s> {
    /// Indexes allocations, the newest live evaluation and child statuses per job.
    pub fn new(state: &'s State) -> Self {
        let mut allocs: HashMap<(&str, &str), Vec<&Allocation>> = HashMap::new();
        for a in state.allocs.values() {
            allocs.entry((&a.namespace, &a.job_id)).or_default().push(a);
        }
        let mut newest_eval: HashMap<(&str, &str), &Evaluation> = HashMap::new();
        for e in state.evals.values().filter(|e| e.status != EvalStatus::Canceled) {
            let slot = newest_eval.entry((&e.namespace, &e.job_id)).or_insert(e);
            if e.create_index > slot.create_index {
                *slot = e;
            }
        }
        let mut children: HashMap<(&str, &str), [u64; 3]> = HashMap::new();
        for (ns, jobs) in &state.jobs {
            for child in jobs.values().map(|r| r.current()) {
                let Some(parent) = child.parent_id.as_deref() else {
                    continue;
                };
                let slot = match child.status.as_deref() {
                    Some("running") => 1,
                    Some("dead") => 2,
                    _ => 0,
                };
                children.entry((ns, parent)).or_default()[slot] += 1;
            }
        }
        Self {
            allocs,
            newest_eval,
            children,
        }
    }

    /// Nomad's `JobSummary` of job `id`: allocations by group and client status, what the
    /// newest evaluation could not place yet, and children by status.
    pub fn summary(&self, state: &State, ns: &str, id: &str) -> Option<Value> {
        let job = state.job(ns, id)?.current();
        let mut groups: BTreeMap<String, BTreeMap<&str, u64>> = job
            .groups()
            .iter()
            .map(|g| (g.name.clone().unwrap_or_default(), BTreeMap::new()))
            .collect();
        for a in self.allocs.get(&(ns, id)).into_iter().flatten() {
            let key = match a.client_status {
                ClientStatus::Pending => "Starting",
                ClientStatus::Running => "Running",
                ClientStatus::Complete => "Complete",
                ClientStatus::Failed => "Failed",
                ClientStatus::Lost => "Lost",
                _ => "Unknown",
            };
            *groups
                .entry(a.task_group.clone())
                .or_default()
                .entry(key)
                .or_default() += 1;
        }
        let queued = self
            .newest_eval
            .get(&(ns, id))
            .and_then(|e| e.queued_allocations.as_ref());
        for (g, n) in queued.into_iter().flatten() {
            *groups.entry(g.clone()).or_default().entry("Queued").or_default() += n;
        }
        let summary: serde_json::Map<String, Value> = groups
            .into_iter()
            .map(|(g, counts)| {
                let get = |k: &str| counts.get(k).copied().unwrap_or(0);
                let v = json!({
                    "Queued": get("Queued"), "Complete": get("Complete"), "Failed": get("Failed"),
                    "Running": get("Running"), "Starting": get("Starting"), "Lost": get("Lost"),
                    "Unknown": get("Unknown"),
                });
                (g, v)
            })
            .collect();
        let [pending, running, dead] = self.children.get(&(ns, id)).copied().unwrap_or_default();
        Some(json!({
            "JobID": id,
            "Namespace": ns,
            "Summary": summary,
            "Children": {"Pending": pending, "Running": running, "Dead": dead},
            "CreateIndex": job.create_index.unwrap_or(0),
            "ModifyIndex": state.table_index("allocs").max(job.modify_index.unwrap_or(0)),
        }))
    }
}

/// Nomad's `JobSummary` of one job.
pub fn job_summary(state: &State, ns: &str, id: &str) -> Option<Value> {
    SummaryIndex::new(state).summary(state, ns, id)
}

/// `GET /v1/job/:id/summary`.
pub async fn summary(ctx: Ctx, Path(id): Path<String>, Query(q): Query<QueryParams>) -> ApiResult {
    let ns = q.namespace().to_owned();
    blocking(&ctx, &q, "allocs", "job not found", |s| job_summary(s, &ns, &id)).await
}

fn job_deployments<'s>(s: &'s State, ns: &str, id: &str) -> Vec<&'s Deployment> {
    let mut out: Vec<&Deployment> = s
        .deployments
        .values()
        .filter(|d| d.namespace == ns && d.job_id == id)
        .collect();
    out.sort_by_key(|d| std::cmp::Reverse(d.create_index));
    out
}

/// `GET /v1/job/:id/deployments`: newest first.
pub async fn deployments(ctx: Ctx, Path(id): Path<String>, Query(q): Query<QueryParams>) -> ApiResult {
    let ns = q.namespace().to_owned();
    blocking(&ctx, &q, "deployments", "job not found", |s| {
        s.job(&ns, &id)?;
        Some(
            job_deployments(s, &ns, &id)
                .into_iter()
                .cloned()
                .collect::<Vec<_>>(),
        )
    })
    .await
}

/// `GET /v1/job/:id/deployment`: the newest deployment, `null` when there is none.
pub async fn latest_deployment(ctx: Ctx, Path(id): Path<String>, Query(q): Query<QueryParams>) -> ApiResult {
    let ns = q.namespace().to_owned();
    blocking(&ctx, &q, "deployments", "job not found", |s| {
        s.job(&ns, &id)?;
        Some(job_deployments(s, &ns, &id).first().map(|d| (*d).clone()))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Job, TaskGroup};

    #[test]
    fn summary_counts_allocations_by_group_and_children_by_status() {
        let mut state = State::default();
        let job = Job {
            id: Some("web".into()),
            task_groups: Some(vec![TaskGroup {
                name: Some("app".into()),
                ..TaskGroup::default()
            }]),
            ..Job::default()
        };
        let reg = JobRegister {
            job,
            submission: None,
            enforce_index: None,
            eval: None,
            submit_time: 1,
        };
        state.apply(5, Command::JobRegister(Box::new(reg)));
        for (i, status) in [ClientStatus::Running, ClientStatus::Running, ClientStatus::Failed]
            .into_iter()
            .enumerate()
        {
            let a = Allocation {
                id: format!("a{i}"),
                namespace: "default".into(),
                job_id: "web".into(),
                task_group: "app".into(),
                client_status: status,
                ..Allocation::default()
            };
            state.allocs.insert(a.id.clone(), a);
        }
        let s = job_summary(&state, "default", "web").unwrap();
        assert_eq!(s["Summary"]["app"]["Running"], 2);
        assert_eq!(s["Summary"]["app"]["Failed"], 1);
        assert_eq!(s["Summary"]["app"]["Queued"], 0);
        assert_eq!(s["Children"]["Pending"], 0);
        assert!(job_summary(&state, "default", "nope").is_none());
    }
}
