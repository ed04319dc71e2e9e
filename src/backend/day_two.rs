//! Day-two calls of [`NomadBackend`] that apply and plan do not need: dispatching a
//! parameterized job and streaming a task's log.

use std::collections::BTreeMap;

use base64::Engine;

use super::NomadBackend;
use crate::api::{ApiError, ByteStream, JobDispatchResponse, Method, encode_path};

/// A dispatch of a parameterized job.
#[derive(Clone, Debug, Default)]
pub struct DispatchRequest {
    /// The parameterized job's namespace.
    pub namespace: String,
    /// Its ID.
    pub job_id: String,
    /// Meta for the child (keys the job's `meta_required` / `meta_optional` allow).
    pub meta: BTreeMap<String, String>,
    /// The payload (sent base64-encoded).
    pub payload: Vec<u8>,
    /// Makes the dispatch idempotent while the child with this token lives.
    pub idempotency_token: Option<String>,
}

/// Where a task's log is read from.
#[derive(Clone, Debug)]
pub struct LogRequest {
    /// The allocation.
    pub alloc_id: String,
    /// The task.
    pub task: String,
    /// stderr instead of stdout.
    pub stderr: bool,
    /// Start this many bytes before the end (`origin=end`); `None`: from the start.
    pub tail_bytes: Option<u64>,
    /// Keep the response open and stream what the task writes next.
    pub follow: bool,
}

impl NomadBackend {
    /// `POST /v1/job/:id/dispatch`.
    pub async fn dispatch_job(&self, req: &DispatchRequest) -> Result<JobDispatchResponse, ApiError> {
        let path = format!("/v1/job/{}/dispatch", encode_path(&req.job_id));
        let mut query = vec![("namespace", req.namespace.clone())];
        if let Some(token) = &req.idempotency_token {
            query.push(("idempotency_token", token.clone()));
        }
        let body = serde_json::json!({
            "JobID": req.job_id,
            "Meta": req.meta,
            "Payload": base64::engine::general_purpose::STANDARD.encode(&req.payload),
        });
        self.client().write(Method::Post, &path, &query, &body).await
    }

    /// `GET /v1/client/fs/logs/:alloc` in plain form, read as it arrives.
    pub async fn task_log_stream(&self, req: &LogRequest) -> Result<ByteStream, ApiError> {
        let path = format!("/v1/client/fs/logs/{}", encode_path(&req.alloc_id));
        let query = [
            ("task", req.task.clone()),
            ("type", if req.stderr { "stderr" } else { "stdout" }.to_string()),
            (
                "origin",
                if req.tail_bytes.is_some() { "end" } else { "start" }.to_string(),
            ),
            ("offset", req.tail_bytes.unwrap_or(0).to_string()),
            ("plain", "true".to_string()),
            ("follow", req.follow.to_string()),
        ];
        self.client().get_stream(&path, &query).await
    }
}
